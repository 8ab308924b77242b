"""Benchmarks for jaxbind.mechanics (issue 4).

1. Regime map of paper 000 Fig. 3a on an n×n (φ, kd) grid: rates (eq. 6, 8) + RWA
   eigenfrequencies (eq. 12) + classification, jitted/vmapped JAX vs the same formulas
   vectorized in NumPy, both chunked by rows (memory bounded), after compilation.
2. ``linearize(method="exact")`` for N particles (Jacobian through the dipole solve by
   forward-mode autodiff) vs central finite differences of the same forces and dipoles
   (2N displaced solves, vmapped and jitted: the strongest FD baseline), both followed by the
   same diffusion assembly.

Usage: python benchmarks/bench_array.py [--grid 4096] [--chunk 256] [--n 100] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind.mechanics.array import TweezerArray, linearize  # noqa: E402
from jaxbind.mechanics.exact import _exact_diffusion_scaled  # noqa: E402
from jaxbind.mechanics.regimes import regime_point  # noqa: E402
from jaxbind.optics.dipoles import solve_dipoles  # noqa: E402
from jaxbind.optics.forces import dipole_forces, isolated_forces  # noqa: E402


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_of(f, repeats):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return min(ts)


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
    rows = jax.jit(jax.vmap(jax.vmap(regime_point, in_axes=(None, 0, None)), in_axes=(0, None, None)))
    kd_j = jnp.asarray(kds)
    out_c = np.empty((n, n), np.int8)
    out_g = np.empty((n, n))

    def run_jax():
        for i in range(0, n, chunk):
            c, g = rows(jnp.asarray(phis[i:i + chunk]), kd_j, dw)
            out_c[i:i + chunk] = np.asarray(c)
            out_g[i:i + chunk] = np.asarray(g)

    def run_np():
        for i in range(0, n, chunk):
            c, g = numpy_regime_rows(phis[i:i + chunk], kds, dw)
            out_c[i:i + chunk] = c
            out_g[i:i + chunk] = g

    run_jax()  # compile
    ref_c, ref_g = out_c.copy(), out_g.copy()
    t_jax = best_of(run_jax, repeats)
    rss_jax = rss_mb()
    run_np()
    agree = np.mean(out_c == ref_c)
    np.testing.assert_allclose(out_g, ref_g, atol=1e-12)
    t_np = best_of(run_np, repeats)
    rss_np = rss_mb()
    return t_jax, t_np, agree, rss_jax, rss_np


# ------------------------------------------------------------------ 2. exact linearize


def make_array(n, lam=1550e-9):
    side = int(np.ceil(np.sqrt(n)))
    grid = np.stack(np.meshgrid(np.arange(side), np.arange(side)), -1).reshape(-1, 2)[:n]
    rng = np.random.default_rng(0)
    pos = (grid * 3.0 + rng.uniform(-0.5, 0.5, (n, 2))) * 1e-6
    return TweezerArray(pos, powers=0.3, wavelength=lam, NA=0.6, phases=rng.uniform(0, 6, n),
                        polarization_angles=np.pi / 2, radius=50e-9, index=1.45, density=2200.0)


def fd_linearize(arr, h=1e-10):
    """Central finite differences of the same forces/dipoles as linearize(method='exact')."""
    n = arr.n
    beam, base = arr.beam(), arr.particles()
    k = arr.k

    def f(x):
        pos = arr.positions.at[:, 2].add(x)
        ps = base.with_positions(pos)
        sol = solve_dipoles(ps, beam, "direct")
        return (dipole_forces(ps, beam, sol)[:, 2], isolated_forces(ps, beam)[:, 2], sol.p)

    E = jnp.eye(n) * h
    Fp, Fip, pp = jax.vmap(f)(E)
    Fm, Fim, pm = jax.vmap(f)(-E)
    JF = ((Fp - Fm) / (2 * h)).T
    JFi = ((Fip - Fim) / (2 * h)).T
    dp = jnp.moveaxis((pp - pm) / (2 * h), 0, -1) / k
    _, _, p0 = f(jnp.zeros(n))
    T = _exact_diffusion_scaled(arr.positions * k, p0, dp, (2,))
    return JF, JFi, T


def bench_exact(n, repeats):
    arr = make_array(n)
    ours = eqx.filter_jit(lambda a: linearize(a, "exact"))
    fd = eqx.filter_jit(fd_linearize)
    lin = ours(arr)
    jax.block_until_ready(lin)
    JF, _, _ = fd(arr)
    jax.block_until_ready(JF)
    C_fd = JF - jnp.diag(jnp.diagonal(JF))
    err = float(jnp.max(jnp.abs(C_fd - lin.C)) / jnp.max(jnp.abs(lin.C)))
    t_ad = best_of(lambda: jax.block_until_ready(ours(arr)), repeats)
    t_fd = best_of(lambda: jax.block_until_ready(fd(arr)), repeats)
    return t_ad, t_fd, err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", type=int, default=4096)
    ap.add_argument("--chunk", type=int, default=256)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="grid 512, N = 16")
    a = ap.parse_args()
    if a.quick:
        a.grid, a.n, a.chunk = 512, 16, 128
    print(f"hardware: {platform.processor() or platform.machine()}, devices {jax.devices()}, x64")
    t_jax, t_np, agree, r1, r2 = bench_regime(a.grid, a.chunk, a.repeats)
    pts = a.grid**2
    print(f"\n[regime map {a.grid}x{a.grid}, chunks of {a.chunk} rows]")
    print(f"{'':22s}{'time (s)':>10s}{'points/s':>14s}{'peak RSS (MB)':>15s}")
    print(f"{'jaxbind (jit+vmap)':22s}{t_jax:10.3f}{pts / t_jax:14.3e}{r1:15.0f}")
    print(f"{'NumPy vectorized':22s}{t_np:10.3f}{pts / t_np:14.3e}{r2:15.0f}")
    print(f"ratio NumPy/jaxbind = {t_np / t_jax:.2f}x   (codes agree on {100 * agree:.4f}% of points)")
    t_ad, t_fd, err = bench_exact(a.n, a.repeats)
    print(f"\n[linearize(method='exact'), N = {a.n}]")
    print(f"{'autodiff (jacfwd)':22s}{t_ad:10.3f} s")
    print(f"{'finite differences':22s}{t_fd:10.3f} s   (2N vmapped solves, h = 0.1 nm)")
    print(f"ratio FD/autodiff = {t_fd / t_ad:.2f}x   (max |C_FD − C_AD|/max|C| = {err:.2e})")


if __name__ == "__main__":
    main()
