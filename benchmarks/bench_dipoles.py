"""Benchmark: coupled-dipole solve + forces (issue 3 §5), ours vs the NumPy a user would write.

1. N electric dipoles (default N = 2000, a 6000×6000 complex system) trapped in an N-tweezer
   array: ours = ``optical_forces(..., method="direct")`` jitted — assembly of the matrix,
   incident fields of all N tweezers at all N particles, LU solve (lineax), forces —
   vs ``numpy.linalg.solve`` *alone* on the same matrix. Target: ours ≤ 1.5× NumPy's solve.
2. Pair sweep: interparticle forces on an ideal 2nd-Kerker pair (paper 003 Fig. 3) at 10⁶
   distances, ``jax.lax.map`` over chunks of 4096 (vmap inside) + ``jax.jit``, vs a
   NumPy-vectorized implementation of paper 003 eqs. 3–5 (scalar fields; the exact case as
   a batched 4 × 4 ``numpy.linalg.solve``). Ours = the closed-form pair kernel
   :func:`jaxbind.optics.pair.pair_forces` (full 3-D vector physics, any pair orientation and
   beam, called exactly as a user would: ``Particles`` → ``pair_forces(...).f[:, 0]``), and for
   reference the general N-particle ``interparticle_forces``. Both the one-scattering-event
   (paper 003) and the self-consistent forces. Target: ≥ 5× faster (CPU time).

Pair-sweep status (session 2, 2-core AMD EPYC host shared with other agents, load 3–4,
float64, 10⁶ distances, CPU ns per distance from time.process_time; wall and CPU printed):

                           NumPy eqs. 3–5   pair_forces            general engine
    Born-1 (paper 003)     178–285          38–60  (3.0–5.6×)     1390  (0.13×)
    exact                  660–845          88–100 (7.5–8.5×) ✓   3080  (0.22×)

The exact target is met. Born-1 is at the edge (4.2–5.6× over five runs; the ratio moves
with the load because NumPy's 178–285 ns are memory-bound ≈ 130 full-array passes while ours
is compute-bound). Where the ≈ 40 ns of Born-1 go (CPU ns per distance, same chunked sweep,
measured piecewise, ±30 % load noise): chunked-map overhead ≈ 2; three e^{iθ} (incident
phase at A and B, propagator) ≈ 5 with the vectorised ``pair.sincos`` (``jnp.sin`` +
``jnp.cos`` would cost ≈ 36: XLA CPU calls scalar libm, 12 ns/point each pair); pair frame
(normalisation, transverse axes) + rotation of the incident wave into it ≈ 15–20; the
8 complex radial functions ≈ 3 beyond their sincos; Born-1 moments and the two forces of
all four blocks ≈ 15–20 (the kernel does not know that the axial and the second transverse
block are not driven in this geometry). The paper's scalar NumPy code skips the frame and
the undriven blocks; reaching 5× robustly would need either a kernel specialised to that
geometry (not general vector physics) or a cheaper frame (e.g. a fixed frame when the axis
is a coordinate axis) — left for later.

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
``jaxbind.optics.pair.CPU_COMPILER_OPTIONS`` (``xla_cpu_use_fusion_emitters=False``, a per-
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
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind import constants as C  # noqa: E402
from jaxbind.optics.beams import CoherentBeams, PlaneWave  # noqa: E402
from jaxbind.optics.dipoles import _dense_interaction, _dense_system, _prepare  # noqa: E402
from jaxbind.optics.forces import interparticle_forces, optical_forces  # noqa: E402
from jaxbind.optics.pair import CPU_COMPILER_OPTIONS, pair_forces  # noqa: E402
from jaxbind.optics.particles import Particles  # noqa: E402


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


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
    ours = jax.jit(lambda p, b: optical_forces(p, b, "direct"))
    F = ours(ps, beam).block_until_ready()  # compile
    t_ours = best_of(lambda: ours(ps, beam).block_until_ready(), repeats)

    prob = _prepare(ps, beam, throw=False)
    A = np.asarray(_dense_system(prob, _dense_interaction(prob)))
    b = np.asarray((prob.alpha[:, None] * prob.y).reshape(-1))
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


def timed(fn, repeats):
    """(best wall s, best CPU s) over ``repeats`` calls (CPU time = time.process_time, all
    threads of this process: other agents share the 2 cores, so wall time is noisy)."""
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(wall), min(cpu)


def bench_pair(n_dist, repeats, chunk=4096, general=True):
    lam, inten, a = 420e-9, 1.3e9, 45e-9
    n_si = 5.1 + 0.2j
    ae = 4 * np.pi * C.epsilon0 * a**3 * (n_si**2 - 1) / (n_si**2 + 2)
    am = -ae / C.epsilon0
    beam = PlaneWave(lam, inten, direction=(1.0, 0.0, 0.0), polarization=(0.0, 1.0, 0.0))
    Ls = np.linspace(0.3 * lam, 5 * lam, n_dist)
    Lj = jnp.asarray(Ls)
    print(f"\n[2] ideal 2nd-Kerker pair, interparticle forces at {n_dist:,} distances (float64)")
    print(f"{'':44s} {'wall s':>8s} {'CPU s':>8s} {'CPU ns/pt':>10s} {'NumPy/ours CPU':>15s} "
          f"{'max rel diff':>12s}")
    ratios = {}
    for label, order in (("one scattering event (paper 003)", 1), ("self-consistent (exact)", None)):
        t_np = timed(lambda: paper003_numpy(Ls, ae, am, lam, inten, order), repeats)
        fa, fb = paper003_numpy(Ls, ae, am, lam, inten, order)
        scale = np.max(np.abs(fa))
        rows = [(f"NumPy eqs. 3–5, {label}", t_np, None)]

        def pair_one(L):
            pos = jnp.zeros((2, 3)).at[1, 0].set(L)
            return pair_forces(Particles(pos, a, alpha_e=ae, alpha_m=am), beam, order=order,
                               throw=False).f[:, 0]

        # vmap in cache-sized chunks (DESIGN.md "Scale-out")
        sweep = lambda one: (lambda x: jax.lax.map(one, x, batch_size=chunk))  # noqa: E731
        variants = [("pair_forces", pair_one, CPU_COMPILER_OPTIONS),
                    ("pair_forces, default XLA emitters", pair_one, None)]
        if general:
            method = "born" if order == 1 else "direct"

            def gen_one(L):
                pos = jnp.zeros((2, 3)).at[1, 0].set(L)
                return interparticle_forces(Particles(pos, a, alpha_e=ae, alpha_m=am), beam,
                                            method, order=1, throw=False)[:, 0]

            variants.append(("general interparticle_forces", gen_one, None))
        for name, one, opts in variants:
            if order is None and opts is None and name.startswith("pair"):
                # the MLIR fusion emitters re-evaluate outlined sub-expressions: ~10⁵ ns per
                # point for the exact kernel (pair.py, CPU_COMPILER_OPTIONS); time 4096 points
                n_small = 4096
                f = jax.jit(sweep(one))
                x_small = Lj[:n_small]
                f(x_small).block_until_ready()
                w, c = timed(lambda: f(x_small).block_until_ready(), 1)
                rows.append((name + f" ({n_small} pts)", (w * n_dist / n_small, c * n_dist / n_small),
                             None))
                continue
            f = jax.jit(sweep(one), compiler_options=opts or {})
            out = np.asarray(f(Lj).block_until_ready())
            t = timed(lambda: f(Lj).block_until_ready(), repeats)
            diff = max(np.max(np.abs(out[:, 0] - fa)), np.max(np.abs(out[:, 1] - fb))) / scale
            rows.append((name, t, diff))
        for name, (w, c), diff in rows:
            ratio = t_np[1] / c
            print(f"{name:44s} {w:8.3f} {c:8.3f} {c * 1e9 / n_dist:10.1f} {ratio:14.2f}× "
                  f"{'' if diff is None else f'{diff:12.1e}'}")
        ratios[order] = t_np[1] / rows[1][1][1]
    print("(target: NumPy/ours ≥ 5×; CPU time of this process, best of the repeats)")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000, help="dipoles in the array (default 2000)")
    parser.add_argument("--distances", type=int, default=1_000_000, help="pair-sweep size")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best taken")
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
        bench_pair(nd, args.repeats, general=not args.skip_general)


if __name__ == "__main__":
    main()
