"""Benchmark: coupled-dipole solve + forces (issue 3 §5), ours vs the NumPy a user would write.

1. N electric dipoles (default N = 2000, a 6000×6000 complex system) trapped in an N-tweezer
   array: ours = ``optical_forces(..., Direct())`` jitted — assembly of the matrix,
   incident fields of all N tweezers at all N particles, LU solve (lineax), forces —
   vs ``numpy.linalg.solve`` *alone* on the same matrix. Target: ours ≤ 1.5× NumPy's solve.
2. Pair sweep: interparticle forces on an ideal 2nd-Kerker pair (paper 003 Fig. 3) at 10⁶
   distances, ``jax.lax.map`` over chunks of 4096 (vmap inside) + ``jax.jit``, vs a
   NumPy-vectorized implementation of paper 003 eqs. 3–5 (scalar fields; the exact case as
   a batched 4 × 4 ``numpy.linalg.solve``). Ours = the closed-form pair kernel
   :func:`jaxbind.optics.pair.pair_forces` (full 3-D vector physics, any pair orientation and
   beam, called exactly as a user would: ``Particles`` → ``pair_forces(...).f[:, 0]``), and for
   reference the general N-particle ``interparticle_forces``. Both the one-scattering-event
   (paper 003) and the self-consistent forces. Target: ≥ 5× faster (CPU time). First row:
   :func:`jaxbind.contrib.pair_forces_axial` (the pair on the x axis, as in the paper).

Pair-sweep status (session 3, second pass): BOTH TARGETS MET. 2-core AMD EPYC (Zen 5,
AVX-512) host shared with the lead's jobs, load average 2.4–3.0, OPENBLAS_NUM_THREADS=1,
float64, 10⁶ distances, best of 10 interleaved rounds, CPU ns per distance
(time.process_time; wall printed too):

                        NumPy eqs. 3–5   pair_forces_axial     pair_forces (any geometry)  general
    Born-1 (paper 003)  126–131          9.1–9.4 (13.8–13.9×) ✓  23–24 (5.5×)                1200–1260
    exact               440–480          32–38   (12.4–13.9×) ✓  54–57 (8.3–8.9×)            2680–2800

(development runs of Born-1: NumPy 128–158, pair_forces_axial 9.4–16.6 → 8–17×.) The
headline row is :func:`jaxbind.contrib.pair_forces_axial`, the pair kernel for a pair on
a fixed lab axis — the geometry of paper 003 and of the NumPy reference, which also hardcodes
it — with the same vector physics (any beam, both orders; tested against the N-particle
engine to 1e-10 for pairs along x, y, z). What removed the waste (measured one at a time):
  * ``xla_cpu_prefer_vector_width=512`` added to ``CPU_COMPILER_OPTIONS``: XLA CPU asks
    LLVM for 256-bit vectors even on AVX-512 hardware; the kernel is compute-bound, so
    Born-1 went 37 → 23 ns (pair_forces) with identical results;
  * the fixed pair frame of ``pair_forces_axial`` (Python-float rotation applied
    symbolically): no normalisation / transverse-axis construction (≈ 5.5 ns) and, because
    the frame is a constant, XLA dead-code-eliminates every pair-frame component the sweep
    does not read (only f_x of both particles here: the y', z' force components, their
    scattered-field gradients and recoil terms go away): 23 → 9.4 ns;
  * tried and reverted: one shared reciprocal 1/ρ instead of the frame's divisions (≈ 1–2 ns
    with ``CPU_COMPILER_OPTIONS``, but XLA's default MLIR emitters then re-evaluated the
    shared value per use: Born-1 with default options 45 → 1240 ns per distance).
The default XLA options row shows why ``CPU_COMPILER_OPTIONS`` matters (2–2.8× slower for
Born-1, ~3·10⁵ ns per distance for the exact kernel, see below; pair_forces_axial Born-1
with default options measured ≈ 95 ns). Left: the kernel still
evaluates the undriven axial and second transverse blocks (their incident amplitudes are
zeros known only as values, and XLA does not fold x·0 for floats).

Why the session-1 engine could not get there (kept for reference): it carries 12 complex
unknowns in 3-D, 3 × 3 tensor gradients and tiny batched dots, ≈ 400 complex
multiply-adds for Born-1; profiled at ≈ 830–1390 ns/point. The pair kernel uses the
pair-frame block structure (axial 1 × 1, transverse 2 × 2 shared by both polarisations),
carries complex numbers as real pairs (XLA CPU does not vectorise complex arithmetic inside
large fusions) and keeps every operation element-wise.

XLA CPU pitfall found here: with the default (MLIR) fusion emitters, the self-consistent
kernel with more than one output element takes ≈ 285 000 ns per distance (printed row,
timed on 4096 distances): the emitter outlines every shared sub-expression of the big
fusion into a function and re-evaluates it per use, exponentially in the depth of the
closed-form DAG (compile time also grows to ~10 s). Compiling with
``jaxbind.contrib.CPU_COMPILER_OPTIONS`` (``xla_cpu_use_fusion_emitters=False``, a per-
executable option: ``jax.jit(f, compiler_options=...)``) uses the classic elemental emitter
and gives the 88–100 ns above; Born-1 is fast with either emitter (the table prints both).
``lax.optimization_barrier`` does not help (XLA CPU removes it before fusion).
Related cost on CPU: every extra output of the vmapped kernel (all of ``f`` (2, 3) instead of
f_x, or ``nrf0`` and ``status`` as well) is fused as a separate branch that re-derives the
shared moments: ≈ 460 (Born-1) and ≈ 1140 (exact) ns per distance for the full ``f``
(measured with ``CPU_COMPILER_OPTIONS``), ≈ 1000–1600 ns in the notebook's four-output sweep.

    python benchmarks/bench_dipoles.py                 # N = 2000, 10⁶ distances, float64
    python benchmarks/bench_dipoles.py --quick         # N = 300, 10⁵ distances
    python benchmarks/bench_dipoles.py --n 4096 --f32  # the GPU size (also float32)
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind import constants as C  # noqa: E402
from jaxbind.optics.beams import CoherentBeams, PlaneWave  # noqa: E402
from jaxbind.optics.dipoles import dipole_system  # noqa: E402
from jaxbind.optics.forces import interparticle_forces, optical_forces  # noqa: E402
from jaxbind.contrib import CPU_COMPILER_OPTIONS, pair_forces_axial  # noqa: E402
from jaxbind.optics.pair import pair_forces  # noqa: E402
from jaxbind.solvers import Born, Direct  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402
from _timing import best_wall as best_of  # noqa: E402


# --------------------------------------------------------------------------------------
# 1. N dipoles in a tweezer array
# --------------------------------------------------------------------------------------


def tweezer_array(n, dtype):
    lam = 1064e-9
    side = int(np.ceil(np.sqrt(n)))
    ij = np.stack(np.meshgrid(np.arange(side), np.arange(side), indexing="ij"), -1).reshape(-1, 2)[:n]
    foci = np.zeros((n, 3))
    foci[:, :2] = ij * 2.0e-6
    rng = np.random.default_rng(0)
    pos = foci + rng.normal(scale=20e-9, size=foci.shape)
    beam = CoherentBeams.from_tweezers(np.full(n, 0.05), lam, foci, waist=0.8e-6,
                                       phases=rng.uniform(0, 2 * np.pi, n),
                                       polarization_angles=np.pi / 2)
    k = 2 * np.pi / lam
    at = 0.05 / (1 - 2j / 3 * 0.05)  # ~100-nm silica sphere, radiative correction
    ps = Particles(jnp.asarray(pos, dtype), jnp.asarray(50e-9, dtype),
                   alpha_e=jnp.asarray(C.unscale_polarizability(at, k)).astype(
                       jnp.complex64 if dtype == jnp.float32 else jnp.complex128))
    if dtype == jnp.float32:
        beam = jax.tree_util.tree_map(
            lambda x: x.astype(jnp.float32) if jnp.issubdtype(x.dtype, jnp.floating) else x, beam)
    return ps, beam


def bench_array(n, repeats, f32):
    print(f"\n[1] N = {n} electric dipoles in an {n}-tweezer array: {3 * n}×{3 * n} complex system")
    ps, beam = tweezer_array(n, jnp.float64)
    ours = jax.jit(lambda p, b: optical_forces(p, b, Direct()))
    F = ours(ps, beam).block_until_ready()  # compile
    t_ours = best_of(lambda: ours(ps, beam).block_until_ready(), repeats)

    system = dipole_system(ps, beam, throw=False)
    A = np.asarray(system.matrix())
    b = np.asarray(system.rhs().reshape(-1))
    t_np = best_of(lambda: np.linalg.solve(A, b), repeats)
    x_np = np.linalg.solve(A, b)
    # consistency: our dipoles equal NumPy's solution of the same system
    from jaxbind.optics.dipoles import solve_dipoles

    x_ours = np.asarray(jax.jit(lambda p, bb: solve_dipoles(p, bb).p)(ps, beam)).reshape(-1)
    err = np.max(np.abs(x_ours - x_np)) / np.max(np.abs(x_np))
    del A
    rows = [("numpy.linalg.solve alone (float64)", t_np, None),
            ("ours assemble+solve+forces (float64)", t_ours, t_ours / t_np)]
    if f32:
        ps32, beam32 = tweezer_array(n, jnp.float32)
        F32 = ours(ps32, beam32).block_until_ready()
        t32 = best_of(lambda: ours(ps32, beam32).block_until_ready(), repeats)
        rows.append(("ours assemble+solve+forces (float32)", t32, t32 / t_np))
        rel32 = np.max(np.abs(np.asarray(F32) - np.asarray(F))) / np.max(np.abs(np.asarray(F)))
    print(f"{'':40s} {'time (s)':>10s} {'ours/numpy':>11s}")
    for name, t, r in rows:
        print(f"{name:40s} {t:10.3f} {'' if r is None else f'{r:11.2f}'}")
    print(f"max |p_ours − p_numpy| / max |p| = {err:.1e}  (target ours/numpy ≤ 1.5)")
    if f32:
        print(f"float32 vs float64 forces: max rel. difference {rel32:.1e}")
    return t_ours / t_np


# --------------------------------------------------------------------------------------
# 2. pair sweep, paper 003 eqs. 3–5
# --------------------------------------------------------------------------------------


def paper003_numpy(L, alpha_e, alpha_m, lam, intensity, order):
    """NumPy-vectorized paper 003 eqs. 3–5 (scalar): (f_A, f_B) at distances L (array)."""
    eps, mu, eta = C.epsilon0, C.mu0, C.Z0
    k = 2 * np.pi / lam
    E0 = np.sqrt(2 * intensity / (C.c * eps))
    ph = np.exp(1j * k * L)
    c1, c2 = 1 / (4 * np.pi * eps), 1 / (4 * np.pi * np.sqrt(mu * eps))
    inv = 1 / L
    phi = c1 * (-inv**3 + 1j * k * inv**2 + k**2 * inv) * ph
    psi = c2 * (1j * k * inv**2 + k**2 * inv) * ph
    dphi = c1 * (3 * inv**4 - 3j * k * inv**3 - 2 * k**2 * inv**2 + 1j * k**3 * inv) * ph
    dpsi = c2 * (-2j * k * inv**3 - 2 * k**2 * inv**2 + 1j * k**3 * inv) * ph
    ae, am = alpha_e, alpha_m
    EA0, EB0 = E0, E0 * ph
    HA0, HB0 = EA0 / eta, EB0 / eta
    if order == 1:
        sEA, sEB, sHA, sHB = EA0, EB0, HA0, HB0
        EA = EA0 + ae * EB0 * phi - mu * am * HB0 * psi
        EB = EB0 + ae * EA0 * phi + mu * am * HA0 * psi
        HA = HA0 - ae * EB0 * psi + eps * am * HB0 * phi
        HB = HB0 + ae * EA0 * psi + eps * am * HA0 * phi
    else:
        # eq. 4 as a batched 4×4 solve per distance (what a NumPy user would write)
        A = np.zeros(L.shape + (4, 4), complex)
        A[..., 0, 0] = A[..., 1, 1] = A[..., 2, 2] = A[..., 3, 3] = 1
        A[..., 0, 1], A[..., 0, 3] = -ae * phi, mu * am * psi
        A[..., 1, 0], A[..., 1, 2] = -ae * phi, -mu * am * psi
        A[..., 2, 1], A[..., 2, 3] = ae * psi, -eps * am * phi
        A[..., 3, 0], A[..., 3, 2] = -ae * psi, -eps * am * phi
        rhs = np.stack(np.broadcast_arrays(EA0, EB0, HA0, HB0), -1)[..., None]
        EA, EB, HA, HB = np.moveaxis(np.linalg.solve(A, rhs)[..., 0], -1, 0)
        sEA, sEB, sHA, sHB = EA, EB, HA, HB
    dEA = 1j * k * EA0 - ae * sEB * dphi + mu * am * sHB * dpsi
    dHA = 1j * k * HA0 + ae * sEB * dpsi - eps * am * sHB * dphi
    dEB = 1j * k * EB0 + ae * sEA * dphi + mu * am * sHA * dpsi
    dHB = 1j * k * HB0 + ae * sEA * dpsi + eps * am * sHA * dphi
    rec = eta * k**4 / (12 * np.pi)

    def force(E, H, dE, dH):
        p, m = ae * E, am * H
        return 0.5 * np.real(np.conj(p) * dE) + 0.5 * mu * np.real(np.conj(m) * dH) \
            - rec * np.real(np.conj(p) * m)

    iso = force(EA0, HA0, 1j * k * EA0, 1j * k * HA0)
    return force(EA, HA, dEA, dHA) - iso, force(EB, HB, dEB, dHB) - iso


def bench_pair(n_dist, repeats, chunk=4096, general=True):
    lam, inten, a = 420e-9, 1.3e9, 45e-9
    n_si = 5.1 + 0.2j
    ae = 4 * np.pi * C.epsilon0 * a**3 * (n_si**2 - 1) / (n_si**2 + 2)
    am = -ae / C.epsilon0
    beam = PlaneWave(lam, inten, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
    Ls = np.linspace(0.3 * lam, 5 * lam, n_dist)
    Lj = jnp.asarray(Ls)
    print(f"\n[2] ideal 2nd-Kerker pair, interparticle forces at {n_dist:,} distances (float64); "
          f"best of {repeats} interleaved rounds")
    print(f"{'':44s} {'wall s':>8s} {'CPU s':>8s} {'CPU ns/pt':>10s} {'NumPy/ours CPU':>15s} "
          f"{'max rel diff':>12s}")
    ratios = {}
    for label, order in (("one scattering event (paper 003)", 1), ("self-consistent (exact)", None)):
        fa, fb = paper003_numpy(Ls, ae, am, lam, inten, order)
        scale = np.max(np.abs(fa))

        def axial_one(L):
            # the pair lies on the x axis: pair_forces_axial (constant pair frame)
            ps = Particles(jnp.zeros((2, 3)), a, alpha_e=ae, alpha_m=am)
            return pair_forces_axial(ps, beam, L, order=order, throw=False).f[:, 0]

        def pair_one(L):
            pos = jnp.zeros((2, 3)).at[1, 0].set(L)
            return pair_forces(Particles(pos, a, alpha_e=ae, alpha_m=am), beam, order=order,
                               throw=False).f[:, 0]

        # vmap in cache-sized chunks (docs/architecture.md, "Scale-out")
        sweep = lambda one: (lambda x: jax.lax.map(one, x, batch_size=chunk))  # noqa: E731
        variants = [("pair_forces_axial (pair on the x axis)", axial_one, CPU_COMPILER_OPTIONS),
                    ("pair_forces (any geometry)", pair_one, CPU_COMPILER_OPTIONS),
                    ("pair_forces, default XLA options", pair_one, None)]
        if general:
            solver = Born(1) if order == 1 else Direct()

            def gen_one(L):
                pos = jnp.zeros((2, 3)).at[1, 0].set(L)
                return interparticle_forces(Particles(pos, a, alpha_e=ae, alpha_m=am), beam,
                                            solver, throw=False)[:, 0]

            variants.append(("general interparticle_forces", gen_one, None))
        fns = {f"NumPy eqs. 3–5, {label}": (lambda: paper003_numpy(Ls, ae, am, lam, inten, order),
                                             None, n_dist)}
        for name, one, opts in variants:
            if order is None and opts is None and name.startswith("pair"):
                # the MLIR fusion emitters re-evaluate outlined sub-expressions: ~10⁵ ns per
                # point for the exact kernel (pair.py, CPU_COMPILER_OPTIONS); time 4096 points
                n_small = 4096
                f = jax.jit(sweep(one))
                x_small = Lj[:n_small]
                f(x_small).block_until_ready()
                fns[name + f" ({n_small} pts)"] = (
                    (lambda f=f, x=x_small: f(x).block_until_ready()), None, n_small)
                continue
            f = jax.jit(sweep(one), compiler_options=opts or {})
            out = np.asarray(f(Lj).block_until_ready())
            diff = max(np.max(np.abs(out[:, 0] - fa)), np.max(np.abs(out[:, 1] - fb))) / scale
            fns[name] = ((lambda f=f: f(Lj).block_until_ready()), diff, n_dist)
        # interleaved rounds: load from the other processes on the shared CPU hits all rows
        # alike; slow rows (general engine, default options) only in the first round
        walls = {k: [] for k in fns}
        cpus = {k: [] for k in fns}
        for r in range(repeats):
            for name, (fn, _, _) in fns.items():
                if r >= 1 and (name.startswith("general") or "default" in name):
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                walls[name].append(time.perf_counter() - t0)
                cpus[name].append(time.process_time() - c0)
        rows = []
        for name, (_, diff, n_pts) in fns.items():
            w, c = min(walls[name]) * n_dist / n_pts, min(cpus[name]) * n_dist / n_pts
            rows.append((name, (w, c), diff))
        t_np = rows[0][1]
        for name, (w, c), diff in rows:
            ratio = t_np[1] / c
            print(f"{name:44s} {w:8.3f} {c:8.3f} {c * 1e9 / n_dist:10.1f} {ratio:14.2f}× "
                  f"{'' if diff is None else f'{diff:12.1e}'}")
        ratios[order] = t_np[1] / rows[1][1][1]
    print("(target: NumPy/ours ≥ 5×; CPU time of this process, best of the rounds; "
          f"load average {os.getloadavg()})")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="dipoles in the array (default 2000)")
    parser.add_argument("--distances", type=int, default=1_000_000, help="pair-sweep size")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best taken")
    parser.add_argument("--pair-repeats", type=int, default=10,
                        help="interleaved timing rounds of the pair sweep, best taken")
    parser.add_argument("--quick", action="store_true", help="N = 300, 10⁵ distances")
    parser.add_argument("--f32", action="store_true", help="also time the array in float32")
    parser.add_argument("--skip-array", action="store_true")
    parser.add_argument("--skip-pair", action="store_true")
    parser.add_argument("--skip-general", action="store_true",
                        help="pair sweep: do not time the general N-particle engine")
    args = parser.parse_args()
    n = 300 if args.quick else args.n
    nd = 100_000 if args.quick else args.distances
    print(f"platform: {platform.platform()}, processor: {platform.processor() or 'n/a'}, "
          f"jax devices: {jax.devices()}")
    if not args.skip_array:
        bench_array(n, args.repeats, args.f32)
    if not args.skip_pair:
        bench_pair(nd, args.pair_repeats, general=not args.skip_general)


if __name__ == "__main__":
    main()
