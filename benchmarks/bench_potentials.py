"""Benchmark: thermal Casimir–Polder energy of two silica spheres (paper 002 eqs. 25–26, C2).

Ours: ``jaxbind.optics.casimir.casimir_polder`` (U/k_BT) — Matsubara sum (128 exact terms +
Euler–Maclaurin tail by 96-node Gauss–Legendre), vmapped over separations × temperatures and
jitted; timed after compilation, best of several repeats.

Baseline: what a user would otherwise write — the real-frequency integral of paper 002
eq. (26)/(C2) with the lossy Drude–Lorentz α(ω), per point with ``scipy.integrate.quad``
(made absolutely convergent by rotating the contour to the ray ω = s e^{iπ/4}, plus the n = 0
half-residue), epsrel = 1e-10. The baseline is timed on a random subset of the points and
extrapolated linearly to the full grid (stated in the output). The accuracy column is the
max relative difference between ours and the baseline on that subset.

    python benchmarks/bench_potentials.py            # 10^5 separations × 2 temperatures
    python benchmarks/bench_potentials.py --quick    # 10^3 × 2
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import integrate  # noqa: E402

from jaxbind import constants as C  # noqa: E402
from jaxbind.optics.casimir import casimir_polder  # noqa: E402
from _timing import best_wall as _best  # noqa: E402

WP = np.array([1.75e14, 2.96e16])
WT = np.array([1.32e14, 2.72e16])
GAM = np.array([4.28e13, 8.09e15])
R = 100e-9


def _cm(w):
    eps = 1.0 + np.sum(WP**2 / (WT**2 - w**2 - 1j * GAM * w))
    return (eps - 1.0) / (eps + 2.0)


def scipy_energy(r: float, T: float, epsrel: float = 1e-10) -> float:
    """Reference U/(k_B T): real-frequency integral (rotated ray θ = π/4) with scipy quad."""
    theta = math.pi / 4
    xi1 = 2 * math.pi * C.k_B * T / C.hbar
    tau = 2 * math.pi * C.k_B * T * r / (C.hbar * C.c)
    ph = complex(math.cos(theta), math.sin(theta))

    def integrand(t):
        y = math.exp(t)
        z = y * ph
        u = tau * z
        q = 6 - 12j * u - 10 * u**2 + 4j * u**3 + 2 * u**4
        val = ph / np.tanh(math.pi * z) * _cm(xi1 * z) ** 2 * np.exp(2j * u) * q
        return val.imag * y

    tmax = math.log(min(60 / (tau * math.sin(theta)), 1e6 * WT[1] / xi1))
    pts = [math.log(w / xi1) for w in WT if -30 < math.log(w / xi1) < tmax]
    val, _ = integrate.quad(integrand, -30, tmax, points=pts or None, limit=500, epsabs=0,
                            epsrel=epsrel)
    s = val + 6 * theta / math.pi * _cm(0.0).real ** 2
    return -((R / r) ** 6) * s  # U/(k_B T) = −(R/r)⁶ S


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sep", type=int, default=100_000, help="number of separations")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[77.0, 300.0])
    ap.add_argument("--n-ref", type=int, default=200, help="points timed with scipy")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.n_sep, a.n_ref, a.repeats = 1000, 40, 3

    rs = np.geomspace(2.05e-7, 1e-4, a.n_sep)
    Ts = np.asarray(a.temperatures)
    npts = rs.size * Ts.size

    # U/(k_B T) is the scaled output (U in J underflows float32 beyond r ≈ 50 µm).
    f = jax.jit(jax.vmap(jax.vmap(lambda r, T: casimir_polder(r, T, R).energy_kT, (0, None)),
                         (None, 0)))
    rj, Tj = jnp.asarray(rs), jnp.asarray(Ts)
    out = f(rj, Tj).block_until_ready()
    t_ours = _best(lambda: f(rj, Tj).block_until_ready(), a.repeats)
    f32 = jax.jit(jax.vmap(jax.vmap(lambda r, T: casimir_polder(r, T, jnp.float32(R)).energy_kT,
                                    (0, None)), (None, 0)))
    r32, T32 = rj.astype(jnp.float32), Tj.astype(jnp.float32)
    out32 = f32(r32, T32).block_until_ready()
    t_ours32 = _best(lambda: f32(r32, T32).block_until_ready(), a.repeats)

    rng = np.random.default_rng(0)
    idx = rng.choice(npts, size=min(a.n_ref, npts), replace=False)
    pairs = [(rs[i % rs.size], Ts[i // rs.size]) for i in idx]
    t0 = time.perf_counter()
    ref = np.array([scipy_energy(r, T) for r, T in pairs])
    t_ref_subset = time.perf_counter() - t0
    t_ref = t_ref_subset * npts / len(pairs)
    ours_sub = np.asarray(out).reshape(-1)[idx]
    ours32_sub = np.asarray(out32, dtype=float).reshape(-1)[idx]
    err = np.max(np.abs(ours_sub / ref - 1))
    err32 = np.max(np.abs(ours32_sub / ref - 1))

    print(f"hardware: {platform.processor() or platform.machine()}, jax devices: {jax.devices()}")
    print(f"grid: {rs.size} separations ({rs[0]:.3g}–{rs[-1]:.3g} m) × {Ts.size} temperatures "
          f"{[float(t) for t in Ts]} K = {npts} points; R = 100 nm silica (paper 002 eq. 35)")
    print(f"scipy reference timed on {len(pairs)} random points ({t_ref_subset:.2f} s), "
          f"extrapolated linearly to {npts} points")
    print(f"{'method':46s} {'time [s]':>12s} {'speed-up':>10s} {'max rel. diff':>14s}")
    print(f"{'scipy quad, real-frequency (epsrel 1e-10)':46s} {t_ref:12.3f} {1.0:10.1f} {'—':>14s}")
    print(f"{'jaxbind Matsubara sum, float64 (jit+vmap)':46s} {t_ours:12.4f} "
          f"{t_ref / t_ours:10.1f} {err:14.2e}")
    print(f"{'jaxbind Matsubara sum, float32 (jit+vmap)':46s} {t_ours32:12.4f} "
          f"{t_ref / t_ours32:10.1f} {err32:14.2e}")
    print("(timings on a shared CPU are noisy; best of", a.repeats, "repeats for jaxbind)")


if __name__ == "__main__":
    main()
