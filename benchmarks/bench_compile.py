"""First-call (compile + run) cost of the main public kernels, each in a fresh process.

A notebook user pays a kernel's first call at every kernel restart: tracing, XLA
compilation of every jitted program it touches, and any op-by-op eager dispatch (each
eager ``jnp`` op on a new shape/dtype compiles its own tiny XLA program).  This script runs
every case in a FRESH subprocess (``python bench_compile.py --worker NAME``) so that no
in-process cache hides that cost, and reports per case

* ``compiles``: the number of XLA backend compilations (``jax.monitoring`` event
  ``/jax/core/compile/backend_compile_duration``, less persistent-cache hits) of the setup
  (constructors a user calls) plus the first call,
* ``cpu s`` / ``wall s``: CPU (all threads, ``time.process_time``) and wall seconds of
  setup + first call (import of jax/jaxbind excluded, it is reported once),
* ``2nd ms``: wall milliseconds of a second, identical call (setup + call),
* the issue-15 §10 target: ≤ 5 s CPU per main kernel's first call on the 2-core
  development CPU.

``--cache DIR`` enables :func:`jaxbind.enable_compilation_cache` in every worker: run it
twice with the same DIR (the script does so with ``--with-cache``) and the second run shows
what a first call costs once the persistent cache holds the programs.

Usage::

    python benchmarks/bench_compile.py                 # all cases, table + JSON
    python benchmarks/bench_compile.py --quick         # two cheap cases (smoke test)
    python benchmarks/bench_compile.py --only steady_state linearize_exact
    python benchmarks/bench_compile.py --with-cache    # also cold/warm persistent cache
    python benchmarks/bench_compile.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_CPU_S = 5.0

# --------------------------------------------------------------------------------------
# Cases: (setup code, call code).  Setup builds the inputs a user would build (constructors
# included: their eager work is part of the first-call cost); call runs the kernel.  Both
# run in a namespace with ``jax``, ``jnp``, ``np`` and ``jb`` imported.  The call's value
# is passed to ``jax.block_until_ready``.
# --------------------------------------------------------------------------------------

_TWEEZERS = """
lam = 1064e-9
beam = jb.CoherentBeams.from_tweezers(powers=jnp.array([0.2, 0.2]), wavelength=lam, NA=0.6,
                                      foci=jnp.array([[0.0, 0, 0], [2e-6, 0, 0]]),
                                      phases=jnp.array([0.0, jnp.pi / 4]))
particles = jb.Particles(jnp.array([[0.0, 0, 0], [2e-6, 0, 0]]), 100e-9, index=1.45, model=jb.MieDipole())
"""

_ARRAY16 = """
n = 16
pos = np.stack([np.arange(n) * 1.5e-6, np.zeros(n)], axis=1)
arr = jb.TweezerArray(pos, powers=0.1, wavelength=1064e-9, NA=0.6, radius=50e-9,
                      index=1.45, density=2200.0, gamma=1e-3, temperature=300.0)
"""

_ARRAY2 = """
arr = jb.TweezerArray(np.array([[0.0, 0.0], [2e-6, 0.0]]), powers=0.1, wavelength=1064e-9,
                      NA=0.6, radius=50e-9, index=1.45, density=2200.0)
"""

_SYS6 = """
rng = np.random.default_rng(0)
M = rng.normal(size=(6, 6))
A = -np.eye(6) + 0.3 * (M - M.T)
D = np.eye(6)
system = jb.LinearSystem(A, D)
"""

_README = """  # README.md "Example", verbatim
lam = 1064e-9
k = 2 * jnp.pi / lam
G = jb.green_tensor(jnp.array([2e-6, 0.0, 0.0]), k)
alpha_e, alpha_m = jb.dipole_polarizabilities(1.45, 100e-9, lam)
beam = jb.CoherentBeams.from_tweezers(powers=jnp.array([0.2, 0.2]), wavelength=lam, NA=0.6,
                                      foci=jnp.array([[0.0, 0, 0], [2e-6, 0, 0]]),
                                      phases=jnp.array([0.0, jnp.pi / 4]))
particles = jb.Particles(jnp.array([[0.0, 0, 0], [2e-6, 0, 0]]), 100e-9, index=1.45, model=jb.MieDipole())
F = jb.optical_forces(particles, beam)
K = jb.stiffness_matrix(particles, beam)
dF = jax.jit(jax.grad(lambda d: jb.optical_forces(particles.with_positions(
        jnp.array([[0.0, 0, 0], [d, 0, 0]])), beam)[1, 0]))(2e-6)
"""

_PAIR_LC = """
jax.config.update("jax_enable_x64", True)
LAM = 1550e-9  # the PT-broken tweezer pair of tests/dynamics/test_limit_cycles_pair.py
arr = jb.TweezerArray([[0, 0], [1.25 * LAM, 0]], powers=[0.3 * 0.994, 0.3 * 1.006], wavelength=LAM,
                      NA=0.6, phases=[np.pi / 2, 0.0], polarization_angles=np.pi / 2, radii=50e-9,
                      index=1.45, density=2200.0, gamma=200.0, temperature=0.0)
model = jb.dynamics.LangevinModel.from_array(arr, recoil=False)
"""

# a point near the cycle (find_limit_cycle(model) on the development machine, rounded to 3
# digits): the first call's run is a few Newton steps, as in a continuation step
_PAIR_GUESS = """
x0 = np.array([6.35e-9, 0.0, 2.06e-7, -4.70e-9, 0.0, -1.59e-7])
v0 = np.array([2.28e-3, 0.0, 6.89e-2, -2.55e-3, 0.0, -7.37e-2])
period = 1.494e-5
"""

CASES: dict[str, tuple[str, str]] = {
    "green_tensor": ("r = jnp.array([2e-6, 0.0, 0.0]); k = 2 * jnp.pi / 1064e-9",
                     "jb.green_tensor(r, k)"),
    "mie_coefficients": ("", "jb.mie_coefficients(1.45 + 0.01j, 0.6, 3)"),
    "dipole_polarizabilities": ("", "jb.dipole_polarizabilities(1.45, 100e-9, 1064e-9)"),
    "beam_fields": (_TWEEZERS, "beam.fields(jnp.array([1e-6, 0.0, 0.1e-6]))"),
    "tweezer_constructors": ("", _TWEEZERS + "\n(beam, particles)"),
    "solve_dipoles_n16": (
        _TWEEZERS.replace("[0.2, 0.2]", "np.full(16, 0.1)").replace(
            "jnp.array([[0.0, 0, 0], [2e-6, 0, 0]])",
            "np.stack([np.arange(16) * 1.5e-6, np.zeros(16), np.zeros(16)], 1)").replace(
            "jnp.array([0.0, jnp.pi / 4])", "0.0"),
        "jb.solve_dipoles(particles, beam)"),
    "optical_forces": (_TWEEZERS, "jb.optical_forces(particles, beam)"),
    "stiffness_matrix": (_TWEEZERS, "jb.stiffness_matrix(particles, beam)"),
    "pair_forces": (_TWEEZERS, "jb.pair.pair_forces(particles, beam)"),
    "linearize_far_field_n16": (_ARRAY16, "jb.linearize(arr)"),
    "linearize_exact_n16": (_ARRAY16, "jb.linearize(arr, method='exact')"),
    "linearize_exact_n16_xyz": (_ARRAY16, "jb.linearize(arr, method='exact', axis='xyz')"),
    "linearize_exact_n16_cm": (_ARRAY16.replace("temperature=300.0", "temperature=300.0, "
                                                "model=jb.ClausiusMossotti()"),
                               "jb.linearize(arr, method='exact', axis='xyz')"),
    "two_particle_rates": (_ARRAY2, "jb.two_particle_rates(arr)"),
    "steady_state_6x6": (_SYS6, "jb.steady_state(system)"),
    "evolve_6x6": (_SYS6 + "\nstate = jb.GaussianState(None, np.eye(6))\nts = np.linspace(0, 1, 5)",
                   "jb.evolve(system, state, ts)"),
    "spectrum_6x6": (_SYS6, "jb.quantum.response.spectrum(system, 0.5)"),
    "occupations_6x6": ("V = np.eye(6) * 1.5", "jb.occupations(V)"),
    "fock_steady_state": (
        "model = jb.fock.three_mode_model(0.1, 0.0, 0.05, gamma=1.0, kappa_a=1e-2, kappa_b=1e-2, "
        "nbar_a=0.5, nbar_b=0.5, dims=(4, 4, 2))",
        "jb.fock.steady_state(model)"),
    "cooling_steady_state": ("p = jb.cooling.CoolingParams(0.05, 0.02, 0.1)", "jb.cooling.steady_state_occupations(p)"),
    "sweep_grid": (
        "def fn(x, y):\n    return {'f': jnp.sin(x) * jnp.cos(y)}\n"
        "grid = {'x': np.linspace(0, 1, 8), 'y': np.linspace(0, 1, 4)}",
        "jb.sweep(fn, grid, progress=False)"),
    "sweep_green_tensor": (
        "k = 2 * jnp.pi / 1064e-9\n"
        "def fn(d):\n    return {'G': jb.green_tensor(jnp.stack([d, 0.0 * d, 0.0 * d]), k)}\n"
        "grid = {'d': np.linspace(1e-6, 3e-6, 64)}",
        "jb.sweep(fn, grid, progress=False)"),
    "optimize_5_steps": (
        "def loss(p):\n    return jnp.sum((p - 1.0) ** 2)\np0 = jnp.zeros(3)",
        "jb.optimize(loss, p0, steps=5)"),
    "langevin_model_pair": (_PAIR_LC.split("model = ")[0],
                            "jb.dynamics.LangevinModel.from_array(arr, recoil=False)"),
    "periodic_orbit_pair": (_PAIR_LC + _PAIR_GUESS,
                            "jb.dynamics.periodic_orbit(model, x0, v0, period, steps=160, throw=False)"),
    "find_limit_cycle_pair": (_PAIR_LC, "jb.dynamics.find_limit_cycle(model)"),
    "limit_cycle_amplitude_grad": (
        _PAIR_LC + _PAIR_GUESS + "import equinox as eqx\n"
        "def amp(g):\n"
        "    mg = eqx.tree_at(lambda m: m.gamma, model, jnp.full((2,), 1.0) * g)\n"
        "    return jb.dynamics.periodic_orbit(mg, x0, v0, period, steps=160, throw=False).amplitude[2]\n"
        "damp_grad = jax.jit(jax.grad(amp))",
        "damp_grad(200.0)"),
    "simulate_pair": (_PAIR_LC.replace("temperature=0.0", "temperature=300.0"),
                      "jb.dynamics.simulate(model, 200e-7, 1e-7, key=jax.random.PRNGKey(0), n_traj=4).x"),
    "readme_example": ("", _README + "\n(G, alpha_e, alpha_m, F, K, dF)"),
}

QUICK = ("green_tensor", "occupations_6x6")


# --------------------------------------------------------------------------------------
# Worker (runs in a fresh process)
# --------------------------------------------------------------------------------------


def _block(x):
    import jax

    leaves = [v for v in jax.tree_util.tree_leaves(x) if hasattr(v, "block_until_ready")]
    jax.block_until_ready(leaves)
    return x


def _worker(name: str, cache: str | None, cache_min: float = 0.1) -> dict:
    t0w, t0c = time.perf_counter(), time.process_time()
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax import monitoring

    import jaxbind as jb

    import_wall, import_cpu = time.perf_counter() - t0w, time.process_time() - t0c
    if cache:
        jb.enable_compilation_cache(cache, min_compile_time_secs=cache_min)
    counts = {"compiles": 0, "compile_s": 0.0, "cache_hits": 0}

    def on_duration(event, duration, **_):
        if event == "/jax/core/compile/backend_compile_duration":
            counts["compiles"] += 1
            counts["compile_s"] += duration

    def on_event(event, **_):
        if event == "/jax/compilation_cache/cache_hits":
            counts["cache_hits"] += 1

    monitoring.register_event_duration_secs_listener(on_duration)
    monitoring.register_event_listener(on_event)

    setup, call = CASES[name]
    ns = {"jax": jax, "jnp": jnp, "np": np, "jb": jb}

    def run():
        exec(compile(setup, f"<{name}:setup>", "exec"), ns)
        code = call.strip().splitlines()
        body, last = "\n".join(code[:-1]), code[-1]
        if body:
            exec(compile(body, f"<{name}:call>", "exec"), ns)
        return _block(eval(compile(last, f"<{name}:call>", "eval"), ns))

    w0, c0 = time.perf_counter(), time.process_time()
    run()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    first = dict(counts)
    w1 = time.perf_counter()
    run()
    second_ms = 1e3 * (time.perf_counter() - w1)
    return {
        # a persistent-cache hit also emits the backend-compile event: count real compiles
        "kernel": name, "compiles": first["compiles"] - first["cache_hits"],
        "compile_s": round(first["compile_s"], 3),
        "cache_hits": first["cache_hits"], "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
        "second_ms": round(second_ms, 2),
        "second_compiles": (counts["compiles"] - counts["cache_hits"]) - (first["compiles"] - first["cache_hits"]),
        "import_cpu_s": round(import_cpu, 3), "import_wall_s": round(import_wall, 3),
    }


# --------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------


def run_case(name: str, cache: str | None = None, timeout: float = 1800.0,
             cache_min: float | None = None) -> dict:
    """Run one case in a fresh Python process; returns its result dict."""
    env = dict(os.environ)
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # see bench_array.py: spinning BLAS threads
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name]
    if cache:
        cmd += ["--cache", cache]
    if cache_min is not None:
        cmd += ["--cache-min-time", str(cache_min)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        return {"kernel": name, "error": proc.stderr.strip().splitlines()[-1:] or ["?"]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(r: dict, tag: str = "") -> str:
    if "error" in r:
        return f"| {r['kernel']}{tag} | error: {r['error'][0][:80]} | | | | |"
    ok = "✓" if r["cpu_s"] <= TARGET_CPU_S else "✗"
    return (f"| {r['kernel']}{tag} | {r['compiles']} | {r['cpu_s']:.2f} | {r['wall_s']:.2f} | "
            f"{r['second_ms']:.1f} | {ok} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help="persistent compilation cache directory for the workers")
    ap.add_argument("--cache-min-time", type=float, default=0.1,
                    help="min_compile_time_secs for enable_compilation_cache (default 0.1)")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--only", nargs="+", help="case names to run", choices=sorted(CASES))
    ap.add_argument("--with-cache", action="store_true",
                    help="also run every case twice with a fresh persistent cache (cold, warm)")
    ap.add_argument("--json", help="write the results to this JSON file")
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(args.worker, args.cache, args.cache_min_time)))
        return 0

    names = list(QUICK) if args.quick else (args.only or list(CASES))
    print(f"# first-call cost, one fresh process per case ({platform.machine()}, "
          f"{os.cpu_count()} cores, python {platform.python_version()})")
    header = ("| kernel | compilations | first call CPU s | wall s | 2nd call ms | ≤ 5 s CPU |\n"
              "|---|---|---|---|---|---|")
    print(header, flush=True)
    results = []
    for name in names:
        r = run_case(name, args.cache, cache_min=args.cache_min_time)
        results.append(r)
        print(_row(r), flush=True)
    out = {"cases": results}
    if args.with_cache:
        with tempfile.TemporaryDirectory(prefix="jaxbind-xla-") as d:
            for phase in ("cold", "warm"):
                print(f"\n# persistent compilation cache, {phase} ({d})\n{header}", flush=True)
                rs = []
                for name in names:
                    r = run_case(name, d, cache_min=args.cache_min_time)
                    rs.append(r)
                    print(_row(r, f" ({phase}, {r.get('cache_hits', 0)} hits)"), flush=True)
                out[f"cache_{phase}"] = rs
    ok = [r for r in results if "error" not in r]
    if ok:
        print(f"\nimport jax + jaxbind: {ok[0]['import_cpu_s']:.2f} s CPU, "
              f"{ok[0]['import_wall_s']:.2f} s wall (not included above)")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
