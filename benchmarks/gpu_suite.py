"""One command for every GPU row of benchmarks/RESULTS.md (issue 19 §4).

    python benchmarks/gpu_suite.py               # on a GPU machine: full sizes, < 8 min on one H100
    python benchmarks/gpu_suite.py --smoke       # tiny sizes, any backend (run by the test suite)
    python benchmarks/gpu_suite.py --only mie,sweep --json out.json

Rows (full size / smoke size):

* ``dipoles_f64``, ``dipoles_f32``: N = 4096 tweezer array (12288×12288 complex system),
  assemble + dense solve + forces, one ``jax.jit(optical_forces)`` call (``bench_dipoles.py``).
* ``steady_6x6``: 10⁵ three-mode (6×6) Gaussian steady states, ``jit(vmap(steady_state))``
  incl. building the systems (``bench_gaussian.py``).
* ``chain``: chain of N = 100 particles (200×200) steady state, sign method.
* ``mie``: Q_ext, Q_sca, Q_back, g at 10⁶ (m, x), x ∈ [0.1, 10], f64 (``bench_mie.py``).
* ``regime``: paper 000 Fig. 3a regime map, 4096 × 4096 (φ, kd), whole grid in one call.
* ``sweep``: ``jb.sweep`` of the cheap kernel of ``bench_sweep.py`` over 10⁸ points
  (float32, results on the host).
* ``trajectories``: ``jb.dynamics.simulate`` (``diffrax.Euler``, f64) of the tweezer pair of
  ``bench_trajectories.py``, 10⁴ trajectories × 10³ steps (issue 18; size = trajectory-steps).

Each row reports the compile time (``jit(f).lower(...).compile()``, the first-call cost a
user pays), the best-of-``repeats`` run time, the baseline and the ratio baseline/ours where
a baseline exists, and the target. Baselines are the figures recorded in RESULTS.md for the
code a user would otherwise run (NumPy/SciPy/miepython on the 2-core development CPU, or the
published GPU figure of a Julia coupled-dipole code), scaled linearly to the row's size where
the sizes differ (marked); at smoke sizes no ratio is printed. The table names the device;
``--json`` writes every row (device, jax version, sizes) for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jaxbind as jb  # noqa: E402
from _timing import best_wall  # noqa: E402

FULL = dict(dipoles=4096, steady=100_000, chain=100, mie=1_000_000, regime=4096, sweep=100_000_000,
            trajectories=(10_000, 1000))
SMOKE = dict(dipoles=8, steady=64, chain=4, mie=256, regime=32, sweep=4096, trajectories=(8, 10))

# baselines recorded in RESULTS.md: (seconds, at size, what); None where there is none
BASELINES = {
    "dipoles": (10.7, 4096, "Julia CDA on a GPU, solve alone (published)"),
    "steady_6x6": (2.98, 100_000, "SciPy solve_continuous_lyapunov loop, 2-core CPU"),
    "chain": (0.017, 100, "SciPy solve_continuous_lyapunov, 2-core CPU"),
    "mie": (2.65, 1_000_000, "miepython 3.3 efficiencies_mx (numba), 2-core CPU"),
    "regime": (0.52, 4096 * 4096, "NumPy, same formulas, 2-core CPU"),
    "sweep": (0.312, 10_000_000, "hand-written jit(vmap) on the 2-core CPU, 10⁷ points"),
    "trajectories": (51.8, 10_000_000, "NumPy forces + Euler–Maruyama loop, 2-core CPU"),
}
TARGETS = {"dipoles": "≤ 1 s", "steady_6x6": "≤ 10 ms", "chain": "≤ 2× SciPy", "mie": "≥ 3× miepython",
           "regime": "≥ 3× NumPy", "sweep": "≥ 10⁹ points/s",
           "trajectories": "≥ 10× NumPy", "compile": "≤ 5 s per kernel"}


def _compile_and_time(fn, args, repeats):
    """(compile seconds, best run seconds, output) for ``jax.jit(fn)`` on ``args``."""
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    t_compile = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(*args))
    return t_compile, best_wall(lambda: compiled(*args), repeats), out


# --------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------


def _tweezer_array(n, dtype):
    """The N-dipole tweezer-array scene of bench_dipoles.py (the CPU row it is compared with)."""
    from bench_dipoles import tweezer_array

    return tweezer_array(n, dtype)


def row_dipoles(n, repeats, dtype):
    ps, beam = _tweezer_array(n, dtype)
    tc, t, F = _compile_and_time(lambda p, b: jb.optical_forces(p, b, throw=False), (ps, beam), repeats)
    ok = bool(np.all(np.isfinite(np.asarray(F))))
    return dict(case=f"dipoles N = {n}, assemble + solve + forces ({jnp.dtype(dtype).name})", size=n,
                compile_s=tc, time_s=t, check=f"finite forces: {ok}", ok=ok)


def _three_modes(p):
    """Three oscillators with beam splitters and thermal baths (6×6), as bench_gaussian.py."""
    from jaxbind.quantum.models import add_thermal_bath

    w1, w2, w3, g12, g23, k = (p[i] for i in range(6))
    h = jnp.diag(jnp.stack([w1, w2, w3])).astype(jnp.result_type(p.dtype, jnp.complex64))
    h = h.at[0, 1].set(g12).at[1, 0].set(g12).at[1, 2].set(g23).at[2, 1].set(g23)
    s = jb.LinearSystem.from_modes(h)
    for j, nb in enumerate((0.3, 0.1, 0.2)):
        s = add_thermal_bath(s, j, k, nb)
    return s


def row_steady(b, repeats):
    rng = np.random.default_rng(0)
    P = jnp.asarray(np.column_stack([1 + 0.1 * rng.random(b), 1.1 + 0.1 * rng.random(b), 0.9 + 0.1 * rng.random(b),
                                     0.02 + 0.03 * rng.random(b), 0.02 + 0.03 * rng.random(b),
                                     0.05 + 0.05 * rng.random(b)]))
    f = jax.vmap(lambda p: jb.steady_state(_three_modes(p)).cov)
    tc, t, V = _compile_and_time(f, (P,), repeats)
    ok = bool(np.all(np.isfinite(np.asarray(V))))
    return dict(case=f"{b} × 6×6 Gaussian steady states (f64)", size=b, compile_s=tc, time_s=t,
                check=f"finite covariances: {ok}", ok=ok)


def _chain(n, g=0.05, k=0.02):
    H = np.zeros((2 * n, 2 * n))
    w = 1.0 + 0.1 * np.sin(np.arange(n))
    for j in range(n):
        H[2 * j, 2 * j] = H[2 * j + 1, 2 * j + 1] = w[j]
        for d, c in ((1, g), (2, 0.3 * g)):
            if j + d < n:
                H[2 * j, 2 * (j + d)] = H[2 * (j + d), 2 * j] = c
    s = jb.LinearSystem.from_lindblad(jnp.asarray(H))
    A = np.asarray(s.A) - 0.5 * k * np.eye(2 * n)
    D = 0.5 * k * np.eye(2 * n) * (1 + np.linspace(0, 1, 2 * n))
    return jnp.asarray(A), jnp.asarray(D)


def row_chain(n, repeats):
    A, D = _chain(n)
    tc, t, V = _compile_and_time(lambda A, D: jb.steady_state(jb.LinearSystem(A, D), jb.Sign()).cov,
                                 (A, D), repeats)
    # Lyapunov residual A V + V Aᵀ + D = 0, relative
    Vn, An, Dn = (np.asarray(v) for v in (V, A, D))
    res = np.abs(An @ Vn + Vn @ An.T + Dn).max() / np.abs(Dn).max()
    return dict(case=f"chain N = {n} ({2 * n}×{2 * n}) steady state, sign (f64)", size=n, compile_s=tc,
                time_s=t, check=f"Lyapunov residual {res:.1e}", ok=bool(res < 1e-8))


def row_mie(n, repeats):
    rng = np.random.default_rng(0)
    m = jnp.asarray(rng.uniform(1.3, 2.0, n) + 1j * rng.uniform(0.0, 0.1, n))
    x = jnp.asarray(rng.uniform(0.1, 10.0, n))
    n_max = jb.mie.wiscombe_n_max(10.0)
    n_start = jb.mie.required_n_start(float(np.max(np.abs(np.asarray(m) * np.asarray(x)))), n_max)

    def f(m, x):
        e = jax.lax.map(lambda mx: jb.mie_efficiencies(mx[0], mx[1], n_max, n_start=n_start),
                        (m, x), batch_size=min(n, 1 << 16))
        return e.qext, e.qsca, e.qback, e.g

    tc, t, out = _compile_and_time(f, (m, x), repeats)
    ok = bool(all(np.all(np.isfinite(np.asarray(o))) for o in out))
    return dict(case=f"Mie Q_ext, Q_sca, Q_back, g at {n} (m, x) (f64)", size=n, compile_s=tc, time_s=t,
                check=f"finite: {ok}", ok=ok)


def row_regime(n, repeats):
    phis = jnp.linspace(0.0, np.pi, n)
    kds = jnp.linspace(0.01, 4 * np.pi, n)
    tc, t, (codes, growth) = _compile_and_time(lambda p, k: jb.regimes.regime_map(p, k, 0.3), (phis, kds), repeats)
    ok = bool(np.all(np.isfinite(np.asarray(growth))))
    return dict(case=f"regime map {n} × {n} (φ, kd) (f64)", size=n * n, compile_s=tc, time_s=t,
                check=f"finite growth rates: {ok}", ok=ok)


def _cheap_kernel(x, y):
    """The cheap kernel of bench_sweep.py."""
    return {"u": jnp.sin(3.0 * x) * jnp.exp(-y) + x * y, "w": jnp.exp(1j * x * y)}


def row_sweep(n, repeats):
    nx = int(round(np.sqrt(n)))
    ny = n // nx
    xs = np.linspace(0.0, 1.0, nx, dtype=np.float32)
    ys = np.linspace(0.0, 1.0, ny, dtype=np.float32)
    t0 = time.perf_counter()
    ds = jb.sweep(_cheap_kernel, {"x": xs, "y": ys}, progress=False)
    t_first = time.perf_counter() - t0  # trace + compile + run
    t = best_wall(lambda: jb.sweep(_cheap_kernel, {"x": xs, "y": ys}, progress=False), repeats)
    ok = bool(np.isfinite(ds["u"].values).all())
    return dict(case=f"sweep of a cheap kernel, {nx * ny:.2e} points (f32, results on host)", size=nx * ny,
                compile_s=max(t_first - t, 0.0), time_s=t, check=f"{nx * ny / t:.2e} points/s", ok=ok)


def row_trajectories(size, repeats):
    import diffrax
    from bench_trajectories import pair_array

    n_traj, n_steps = size
    model = jb.dynamics.LangevinModel.from_array(pair_array())
    dt = 2 * np.pi / float(np.max(np.asarray(model.omega))) / 40

    def go():
        return jb.dynamics.simulate(model, n_steps * dt, dt, key=jax.random.PRNGKey(0),
                                    n_traj=n_traj, solver=diffrax.Euler(), save_every=n_steps).x

    t0 = time.perf_counter()
    x = jax.block_until_ready(go())
    t_first = time.perf_counter() - t0  # trace + compile + run
    t = best_wall(go, repeats)
    ok = bool(np.all(np.isfinite(np.asarray(x))))
    return dict(case=f"tweezer-pair trajectories {n_traj} × {n_steps} steps, Euler (f64)",
                size=n_traj * n_steps, compile_s=max(t_first - t, 0.0), time_s=t,
                check=f"{1e9 * t / (n_traj * n_steps):.3g} ns per trajectory-step, finite: {ok}",
                ok=ok)


ROWS = {
    "dipoles_f64": lambda s, r: row_dipoles(s["dipoles"], r, jnp.float64),
    "dipoles_f32": lambda s, r: row_dipoles(s["dipoles"], r, jnp.float32),
    "steady_6x6": lambda s, r: row_steady(s["steady"], r),
    "chain": lambda s, r: row_chain(s["chain"], r),
    "mie": lambda s, r: row_mie(s["mie"], r),
    "regime": lambda s, r: row_regime(s["regime"], r),
    "sweep": lambda s, r: row_sweep(s["sweep"], r),
    "trajectories": lambda s, r: row_trajectories(s["trajectories"], r),
}


def _baseline(key, size, smoke):
    base = BASELINES.get(key.split("_f")[0] if key.startswith("dipoles") else key)
    if base is None or smoke:
        return None, None
    t, at, what = base
    scaled = t * size / at if size != at else t
    return scaled, what + ("" if size == at else f" (scaled ×{size / at:.3g} from {at})")


def device_name():
    d = jax.devices()[0]
    return f"{d.platform}: {getattr(d, 'device_kind', '?')} ×{jax.device_count()} ({platform.machine()})"


def run(only=None, smoke=False, repeats=None):
    sizes = SMOKE if smoke else FULL
    repeats = repeats or (1 if smoke else 3)
    rows = []
    for key, fn in ROWS.items():
        if only and key not in only:
            continue
        t0 = time.perf_counter()
        try:
            r = fn(sizes, repeats)
        except Exception as e:  # noqa: BLE001 - a failing row is reported, the suite goes on
            r = dict(case=key, error=f"{type(e).__name__}: {str(e)[:500]}", ok=False)
        r["row"] = key
        r["wall_s"] = time.perf_counter() - t0
        r["baseline_s"], r["baseline"] = _baseline(key, r.get("size", 0), smoke)
        if r["baseline_s"] and r.get("time_s"):
            r["ratio"] = r["baseline_s"] / r["time_s"]
        r["target"] = TARGETS.get(key.split("_f")[0] if key.startswith("dipoles") else key, "")
        rows.append(r)
        print(_fmt(r), flush=True)
    return rows


def _fmt(r):
    if "error" in r:
        return f"{r['row']:12s} ERROR {r['error']}"
    ratio = f"{r['ratio']:8.2f}×" if r.get("ratio") else " " * 9
    base = f"{r['baseline_s']:.3g} s" if r.get("baseline_s") else "—"
    return (f"{r['row']:12s} {r['compile_s']:8.2f} {r['time_s']:10.4f} {base:>10s} {ratio}  "
            f"{r['case']}; {r['check']}; target {r['target']}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (CPU, seconds)")
    ap.add_argument("--only", default="", help=f"comma-separated rows of {', '.join(ROWS)}")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--json", default=None, help="write the rows here (default gpu_suite.json, none with --smoke)")
    a = ap.parse_args(argv)
    only = {s for s in a.only.split(",") if s}
    unknown = only - set(ROWS)
    if unknown:
        ap.error(f"unknown rows {sorted(unknown)}; choose from {', '.join(ROWS)}")
    print(f"jaxbind GPU suite — device {device_name()}, jax {jax.__version__}, "
          f"{'SMOKE sizes' if a.smoke else 'full sizes'}")
    print(f"{'row':12s} {'compile s':>8s} {'run s':>10s} {'baseline':>10s} {'ratio':>9s}  case; check; target")
    rows = run(only, a.smoke, a.repeats)
    path = a.json or (None if a.smoke else "gpu_suite.json")
    if path:
        with open(path, "w") as f:
            json.dump(dict(device=device_name(), jax=jax.__version__, smoke=a.smoke, rows=rows), f, indent=1)
        print(f"wrote {path}")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
