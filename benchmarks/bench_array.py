"""Benchmarks for jaxbind.mechanics (issue 4).

1. Regime map of paper 000 Fig. 3a on an n×n (φ, kd) grid: rates (eq. 6, 8) + RWA
   eigenfrequencies (eq. 12) + classification. jaxbind's grid kernel ``regime_map`` (trig on
   the 1-D axes, one fused real elementwise pass per output) vs the same formulas vectorized
   in NumPy with the same separable trick (trig on 1-D arrays, broadcasting), both evaluated
   in row chunks written into one preallocated host array (memory bounded by the chunk),
   after compilation; plus one call on the whole grid with fresh outputs for both. Wall and
   CPU time (``time.process_time``: other jobs share the cores) and the peak RSS of each
   path (VmHWM reset through /proc/self/clear_refs before each).
2. ``linearize(method="exact")`` for N particles (``--model cm`` electric or ``mie`` electric +
   magnetic dipoles; implicit-function Jacobian through the
   dipole solve: one LU for all tangents, O(N²) closed-form pair derivatives) vs central
   finite differences of the same forces and dipoles (2N displaced solves, vmapped and
   jitted: the strongest FD baseline) and ``jax.jacfwd`` through the solve (the generic path),
   all followed by the same diffusion assembly.

OpenBLAS threads: jaxlib's CPU LAPACK kernels (LU, triangular solves) run on scipy's OpenBLAS,
whose worker threads busy-wait after each call. On the shared 2-core development machine this
made the same compiled program take 1 ms or 150 ms depending on the process (measured,
N = 48). The script therefore sets OPENBLAS_NUM_THREADS=1 unless it is already set; it
applies to both sides of every comparison (the NumPy regime baseline uses no BLAS).

Usage: python benchmarks/bench_array.py [--grid 4096] [--chunk 256] [--n 100] [--quick]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind.mechanics.array import TweezerArray, linearize  # noqa: E402
from jaxbind.mechanics.exact import _exact_diffusion_scaled  # noqa: E402
from jaxbind.mechanics.regimes import regime_map  # noqa: E402
from jaxbind.optics.dipoles import solve_dipoles  # noqa: E402
from jaxbind.optics.forces import dipole_forces, isolated_forces  # noqa: E402
from jaxbind.optics.scatterers import ClausiusMossotti, MieDipole  # noqa: E402
from _timing import best_wall_cpu as best_of  # noqa: E402


def rss_mb():
    """Peak resident set size (MB) since the last reset_peak_rss()."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


# ------------------------------------------------------------------ 1. regime map


def numpy_regime_rows(phi, kd, dw):
    """NumPy transcription of regime_point on a (rows, n) block."""
    P, Q = phi[:, None], kd[None, :]
    g = 1.0 / Q
    gr = g * np.cos(Q) * np.cos(P)
    ga = g * np.sin(Q) * np.sin(P)
    rd = np.abs(g * np.sin(Q) * np.cos(P))
    disc = dw**2 - 4 * ga * dw + 4 * gr**2
    growth = 0.5 * np.sqrt(np.maximum(-disc, 0.0))  # max Im of ±½√disc (eq. 12)
    s, d = np.abs(gr + ga), np.abs(gr - ga)
    ar, aa = np.abs(gr), np.abs(ga)
    code = np.zeros(P.shape[:1] + Q.shape[1:], np.int8)
    code[(ar > aa) & (ar > rd)] = 1
    code[(aa > ar) & (aa > rd)] = 3
    code[(s > 2 * d) | (d > 2 * s)] = 2
    code[rd > 2 * np.maximum(s, d)] = 4
    return code, growth


def bench_regime(n, chunk, repeats, dw=0.3):
    phis = np.linspace(0.0, np.pi, n)
    kds = np.linspace(0.01, 4 * np.pi, n)
    rows = jax.jit(regime_map)  # rows = phase chunk × all kd
    kd_j = jnp.asarray(kds)
    ph_chunks = [jnp.asarray(phis[i:i + chunk]) for i in range(0, n, chunk)]
    out_c = np.empty((n, n), np.int8)
    out_g = np.empty((n, n))

    def run_jax():
        for j, ph in enumerate(ph_chunks):
            c, g = rows(ph, kd_j, dw)
            out_c[j * chunk:(j + 1) * chunk] = np.asarray(c)
            out_g[j * chunk:(j + 1) * chunk] = np.asarray(g)

    def run_np():
        for i in range(0, n, chunk):
            c, g = numpy_regime_rows(phis[i:i + chunk], kds, dw)
            out_c[i:i + chunk] = c
            out_g[i:i + chunk] = g

    whole = jax.jit(regime_map)
    ph_all = jnp.asarray(phis)

    def run_jax_whole():
        jax.block_until_ready(whole(ph_all, kd_j, dw))

    def run_np_whole():
        c = np.empty((n, n), np.int8)
        g = np.empty((n, n))
        for i in range(0, n, chunk):
            c[i:i + chunk], g[i:i + chunk] = numpy_regime_rows(phis[i:i + chunk], kds, dw)

    run_jax()  # compile
    run_jax_whole()
    ref_c, ref_g = out_c.copy(), out_g.copy()
    reset_peak_rss()
    base = rss_mb()
    t_jax = best_of(run_jax, repeats)
    rss_jax = rss_mb() - base
    run_np()
    agree = np.mean(out_c == ref_c)
    np.testing.assert_allclose(out_g, ref_g, atol=1e-12)
    reset_peak_rss()
    base = rss_mb()
    t_np = best_of(run_np, repeats)
    rss_np = rss_mb() - base
    t_jw = best_of(run_jax_whole, repeats)
    t_nw = best_of(run_np_whole, repeats)
    return t_jax, t_np, t_jw, t_nw, agree, rss_jax, rss_np


# ------------------------------------------------------------------ 2. exact linearize


def make_array(n, lam=1550e-9, model="cm"):
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    rng = np.random.default_rng(0)
    pos = (grid * 3.0 + rng.uniform(-0.5, 0.5, (n, 2))) * 1e-6
    # "cm": electric dipoles (ClausiusMossotti, 3N unknowns); "mie": the default MieDipole
    # (electric + magnetic dipoles, 6N unknowns), which took jacfwd through the solve before
    # the structured Jacobian covered it (the third column below)
    return TweezerArray(pos, powers=0.3, wavelength=lam, NA=0.6, phases=rng.uniform(0, 6, n),
                        polarization_angles=np.pi / 2, radii=50e-9, index=1.45, density=2200.0,
                        model=ClausiusMossotti() if model == "cm" else MieDipole())


def _moments_and_forces(arr):
    """x ↦ (F_z, F_iso,z, q̃) for z displacements x (N,) of the particles (q̃ = p̃ or (p̃, m̃))."""
    beam, base = arr.beam(), arr.particles()

    def f(x):
        pos = arr.positions.at[:, 2].add(x)
        ps = base.with_positions(pos)
        sol = solve_dipoles(ps, beam)
        q = sol.p if sol.m is None else jnp.concatenate([sol.p, sol.m], axis=-1)
        return (dipole_forces(ps, beam, sol)[:, 2], isolated_forces(ps, beam)[:, 2], q)

    return f


def fd_linearize(arr, h=1e-10):
    """Central finite differences of the same forces/dipoles as linearize(method='exact')."""
    n, k = arr.n, arr.k
    f = _moments_and_forces(arr)
    E = jnp.eye(n) * h
    Fp, Fip, pp = jax.vmap(f)(E)
    Fm, Fim, pm = jax.vmap(f)(-E)
    JF = ((Fp - Fm) / (2 * h)).T
    JFi = ((Fip - Fim) / (2 * h)).T
    dp = jnp.moveaxis((pp - pm) / (2 * h), 0, -1) / k
    _, _, p0 = f(jnp.zeros(n))
    T = _exact_diffusion_scaled(arr.positions * k, p0, dp, (2,))
    return JF, JFi, T


def jacfwd_linearize(arr):
    """The generic path: jax.jacfwd through solve_dipoles and the forces (what MieDipole arrays
    used before the structured Jacobian covered magnetic dipoles)."""
    n, k = arr.n, arr.k
    f = _moments_and_forces(arr)
    (JF, JFi, Jq), (_, _, q) = jax.jacfwd(lambda x: (f(x), f(x)), has_aux=True)(jnp.zeros(n))
    T = _exact_diffusion_scaled(arr.positions * k, q, Jq / k, (2,))
    return JF, JFi, T


def bench_exact(n, repeats, model="cm"):
    arr = make_array(n, model=model)
    ours = eqx.filter_jit(lambda a: linearize(a, "exact"))
    fd = eqx.filter_jit(fd_linearize)
    jf = eqx.filter_jit(jacfwd_linearize)
    lin = ours(arr)
    jax.block_until_ready(lin)
    JF, _, _ = fd(arr)
    jax.block_until_ready(JF)
    C_fd = JF - jnp.diag(jnp.diagonal(JF))
    err = float(jnp.max(jnp.abs(C_fd - lin.C)) / jnp.max(jnp.abs(lin.C)))
    JFj, _, _ = jf(arr)
    C_j = JFj - jnp.diag(jnp.diagonal(JFj))
    err_j = float(jnp.max(jnp.abs(C_j - lin.C)) / jnp.max(jnp.abs(lin.C)))
    t_ad = best_of(lambda: jax.block_until_ready(ours(arr)), max(repeats, 5))
    t_fd = best_of(lambda: jax.block_until_ready(fd(arr)), repeats)
    t_jf = best_of(lambda: jax.block_until_ready(jf(arr)), repeats)
    return t_ad, t_fd, err, t_jf, err_j


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, default=4096)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="grid 512, N = 16")
    ap.add_argument("--skip-regime", action="store_true")
    ap.add_argument("--skip-exact", action="store_true")
    ap.add_argument("--model", choices=("cm", "mie"), default="cm",
                    help="exact section: ClausiusMossotti (electric) or MieDipole (+ magnetic)")
    a = ap.parse_args()
    if a.quick:
        a.grid, a.n, a.chunk = 512, 16, 128
    print(f"hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, devices "
          f"{jax.devices()}, x64, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if not a.skip_regime:
            regime_section(a)
    if not a.skip_exact:
        exact_section(a)


def regime_section(a):
    t_jax, t_np, t_jw, t_nw, agree, r1, r2 = bench_regime(a.grid, a.chunk, a.repeats)
    pts = a.grid**2
    print(f"\n[regime map {a.grid}x{a.grid}, chunks of {a.chunk} rows into one host array]")
    print(f"{'':24s}{'wall (s)':>10s}{'CPU (s)':>10s}{'ns/pt (CPU)':>13s}{'peak RSS +MB':>14s}")
    print(f"{'jaxbind regime_map':24s}{t_jax[0]:10.4f}{t_jax[1]:10.4f}{1e9 * t_jax[1] / pts:13.2f}{r1:14.0f}")
    print(f"{'NumPy vectorized':24s}{t_np[0]:10.4f}{t_np[1]:10.4f}{1e9 * t_np[1] / pts:13.2f}{r2:14.0f}")
    print(f"ratio NumPy/jaxbind = {t_np[0] / t_jax[0]:.2f}x wall, {t_np[1] / t_jax[1]:.2f}x CPU"
          f"   (codes agree on {100 * agree:.4f}% of points)")
    print(f"one call on the whole grid, fresh outputs: jaxbind {t_jw[0]:.4f} s wall / {t_jw[1]:.4f} s CPU,"
          f" NumPy {t_nw[0]:.4f} / {t_nw[1]:.4f} -> {t_nw[0] / t_jw[0]:.2f}x wall, {t_nw[1] / t_jw[1]:.2f}x CPU")


def exact_section(a):
    t_ad, t_fd, err, t_jf, err_j = bench_exact(a.n, a.repeats, a.model)
    print(f"\n[linearize(method='exact'), N = {a.n}, model {a.model}]")
    print(f"{'':22s}{'wall (s)':>10s}{'CPU (s)':>10s}")
    print(f"{'autodiff (implicit)':22s}{t_ad[0]:10.4f}{t_ad[1]:10.4f}")
    print(f"{'finite differences':22s}{t_fd[0]:10.4f}{t_fd[1]:10.4f}   (2N vmapped solves, h = 0.1 nm)")
    print(f"{'jacfwd through solve':22s}{t_jf[0]:10.4f}{t_jf[1]:10.4f}")
    print(f"ratio FD/autodiff = {t_fd[0] / t_ad[0]:.1f}x wall, {t_fd[1] / t_ad[1]:.1f}x CPU"
          f"   (max |C_FD − C_AD|/max|C| = {err:.2e})")
    print(f"ratio jacfwd/implicit = {t_jf[0] / t_ad[0]:.1f}x wall, {t_jf[1] / t_ad[1]:.1f}x CPU"
          f"   (max |C_jacfwd − C_AD|/max|C| = {err_j:.2e})")


if __name__ == "__main__":
    main()
