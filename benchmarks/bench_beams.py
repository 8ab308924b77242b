"""Benchmark: vectorial focal fields + gradients (Richards–Wolf) at many points.

Ours: ``jaxbind.optics.focused.FocusedBeam.fields_and_gradients_scaled`` under ``jax.jit`` ∘
``jax.vmap`` over the points (E, H̃ and their 3×3 gradients, complex128).
Baseline: the vectorised NumPy + ``scipy.special.jv`` implementation of the same quadrature a
user would otherwise write (:func:`numpy_focal_fields`: Gauss–Legendre in θ, the analytic φ
integral as J_m(u) e^{imφ}, gradients from the Bessel recurrences), evaluated in chunks of
points.  Both use the same ``order`` and agree to ~1e-13.

Also printed: the first-call compile time, the float32 deviation, and the Gauss–Legendre order
needed for 1e-6 (relative to the focal amplitude) within 3 λ of the focus at NA 0.9 (found by
comparing with order 400, using the NumPy implementation).

    python benchmarks/bench_beams.py            # 10⁶ points (issue target: ≥ 3× on CPU)
    python benchmarks/bench_beams.py --quick    # 2·10⁴ points
    python benchmarks/bench_beams.py --pupil    # also: SLM patterns, SampledPupil vs callables

``--pupil``: fields at 1000 points for 8 different pupil phase patterns (a design loop or an
SLM scan): ``SampledPupil`` arrays (one compilation, the pattern is data) vs the static
callable ``pupil_mask`` a user would otherwise write (one closure, hence one compilation, per
pattern); prints both totals, the ratio and the first-call compile time.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.special import jv  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from _timing import best_wall_cpu  # noqa: E402

from jaxbind.optics.focused import FocusedBeam, SampledPupil  # noqa: E402
from jaxbind.optics.pupil import pupil_grid  # noqa: E402

LAM = 1064e-9


def numpy_focal_fields(pts, NA, n=1.0, f0=1.0, pol=(1.0, 0.0), order=64, chunk=4096):
    """E, H̃ (P, 3) and ∂E, ∂H̃ (P, 3, 3) (scaled, ρ = k0 r) in NumPy/SciPy, same quadrature."""
    sm = NA / n
    tm = np.arcsin(sm)
    x, w = np.polynomial.legendre.leggauss(order)
    th = tm * 0.5 * (x + 1)
    s, c = np.sin(th), np.cos(th)
    N = sm**2 * 0.5 * f0**2 * (-np.expm1(-1 / f0**2))
    wt = tm * 0.5 * w * s * np.exp(-(s / (f0 * sm)) ** 2) * np.sqrt(c) / N
    px, py = np.asarray(pol, complex) / np.linalg.norm(pol)
    # refracted amplitudes sampled at 8 azimuths → harmonics m = −2 … 2
    phi = 2 * np.pi * np.arange(8) / 8
    cp, sp = np.cos(phi)[None], np.sin(phi)[None]
    al = -px * sp + py * cp
    be = px * cp + py * sp
    e_phi = np.stack(np.broadcast_arrays(-sp, cp, 0 * cp), -1)
    e_th = np.stack(np.broadcast_arrays(c[:, None] * cp, c[:, None] * sp, -s[:, None] + 0 * cp), -1)
    a = al[..., None] * e_phi + be[..., None] * e_th  # (T, 8, 3)
    b = n * (be[..., None] * e_phi - al[..., None] * e_th)
    m = np.arange(-2, 3)
    D = np.exp(-2j * np.pi * m[:, None] * np.arange(8)[None] / 8) / 8
    am = np.einsum("mj,tjc->tmc", D, a) * (1j ** m)[None, :, None]
    bm = np.einsum("mj,tjc->tmc", D, b) * (1j ** m)[None, :, None]
    q = n * s
    outs = []
    for i in range(0, len(pts), chunk):
        p = pts[i:i + chunk]
        r = np.hypot(p[:, 0], p[:, 1])
        ph = np.arctan2(p[:, 1], p[:, 0])
        u = r[:, None] * q[None]  # (P, T)
        J = np.stack([jv(k, u) for k in range(4)])  # (4, P, T)
        ms = np.arange(-3, 4)
        sign = np.where((ms < 0) & (np.abs(ms) % 2 == 1), -1.0, 1.0)
        Cm = sign[:, None, None] * J[np.abs(ms)] * np.exp(1j * ms[:, None, None] * ph[None, :, None])
        Cm = np.moveaxis(Cm, 0, -1)  # (P, T, 7)
        pz = wt[None] * np.exp(1j * n * c[None] * p[:, 2:3])  # (P, T)
        mid, lo, hi = Cm[..., 1:6], Cm[..., 0:5], Cm[..., 2:7]
        G = np.stack([0.5 * q[None, :, None] * (lo - hi), 0.5j * q[None, :, None] * (lo + hi),
                      1j * n * c[None, :, None] * mid], -1)  # (P, T, 5, 3)
        E = np.einsum("pt,ptm,tmc->pc", pz, mid, am)
        H = np.einsum("pt,ptm,tmc->pc", pz, mid, bm)
        dE = np.einsum("pt,ptmj,tmc->pcj", pz, G, am)
        dH = np.einsum("pt,ptmj,tmc->pcj", pz, G, bm)
        outs.append((E, H, dE, dH))
    return tuple(np.concatenate(o) for o in zip(*outs))


def order_for(tol, NA=0.9, extent_lambdas=3.0, f0=1.0, n_pts=200, seed=1):
    """Smallest even order whose fields+gradients are within ``tol`` (relative to the focal
    amplitude) of order 400 at random points within ``extent_lambdas`` of the focus."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n_pts, 3))
    d *= (2 * np.pi * extent_lambdas * rng.uniform(0, 1, (n_pts, 1)) ** (1 / 3)
          / np.linalg.norm(d, axis=1, keepdims=True))
    ref = numpy_focal_fields(d, NA, f0=f0, order=400)
    scale = np.abs(numpy_focal_fields(np.zeros((1, 3)), NA, f0=f0, order=400)[0]).max()
    for order in range(8, 400, 2):
        got = numpy_focal_fields(d, NA, f0=f0, order=order)
        err = max(np.abs(g - r).max() for g, r in zip(got, ref)) / scale
        if err < tol:
            return order
    return None


def bench_pupil(n_patterns=8, n_pts=1000, m=32):
    """Seconds for ``n_patterns`` SLM patterns: (SampledPupil total, callable total, compile)."""
    rng = np.random.default_rng(2)
    pts = jnp.asarray(rng.uniform(-1, 1, (n_pts, 3)) * 2 * np.pi)
    u = np.asarray(pupil_grid(m))
    U, V = np.meshgrid(u, u, indexing="ij")
    coefs = rng.normal(size=(n_patterns, 3))
    phases = [c[0] * U + c[1] * V + c[2] * (U * U + V * V) for c in coefs]
    kw = dict(filling=1.0, order=32, extent=2 * LAM, azimuthal_order=48)

    @jax.jit
    def fields(b, p):
        return jax.vmap(lambda q: b.fields_scaled(q)[0])(p)

    t0 = time.perf_counter()
    jax.block_until_ready(fields(FocusedBeam(0.1, LAM, 0.9, pupil_mask=SampledPupil(phases[0]),
                                             **kw), pts))
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for ph in phases:
        jax.block_until_ready(fields(FocusedBeam(0.1, LAM, 0.9, pupil_mask=SampledPupil(ph), **kw), pts))
    t_sampled = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in coefs:
        mask = lambda uu, vv, c=c: jnp.exp(1j * (c[0] * uu + c[1] * vv + c[2] * (uu * uu + vv * vv)))  # noqa
        jax.block_until_ready(fields(FocusedBeam(0.1, LAM, 0.9, pupil_mask=mask, **kw), pts))
    t_callable = time.perf_counter() - t0
    return t_sampled, t_callable, compile_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="number of points")
    parser.add_argument("--order", type=int, default=48, help="Gauss–Legendre order in θ")
    parser.add_argument("--batch", type=int, default=256,
                        help="points per vectorised block of ours (lax.map; cache-sized)")
    parser.add_argument("--np-chunk", type=int, default=4096, help="points per NumPy chunk")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2·10⁴ points")
    parser.add_argument("--pupil", action="store_true",
                        help="also time SLM patterns: SampledPupil vs callable masks")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.n

    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (n, 3)) * np.array([2.0, 2.0, 4.0]) * LAM * 2 * np.pi / LAM
    beam = FocusedBeam(0.1, LAM, 0.9, filling=1.0, order=args.order, extent=4 * LAM)

    @jax.jit
    def f(b, p):
        one = lambda q: b.fields_and_gradients_scaled(q)  # noqa: E731
        return jax.lax.map(one, p, batch_size=min(args.batch, p.shape[0]))
    p64 = jnp.asarray(pts)
    t0 = time.perf_counter()
    ours = jax.block_until_ready(f(beam, p64[:8]))
    compile_s = time.perf_counter() - t0
    ours = jax.block_until_ready(f(beam, p64))  # compile for the full size
    m = min(n, 20_000)
    ref_small = numpy_focal_fields(pts[:m], 0.9, order=args.order)
    err = max(np.abs(np.asarray(o[:m]) - r).max() for o, r in zip(ours, ref_small))
    b32 = jax.tree_util.tree_map(lambda x: x.astype(jnp.float32) if x.dtype == jnp.float64 else
                                 x.astype(jnp.complex64) if x.dtype == jnp.complex128 else x, beam)
    o32 = f(b32, jnp.asarray(pts[:m], jnp.float32))
    err32 = max(np.abs(np.asarray(a) - np.asarray(b[:m])).max() / np.abs(np.asarray(b[:m])).max()
                for a, b in zip(o32, ours))
    del ours

    t_ours, c_ours = best_wall_cpu(lambda: f(beam, p64), args.repeats)
    t_np, c_np = best_wall_cpu(lambda: numpy_focal_fields(pts, 0.9, order=args.order,
                                                          chunk=args.np_chunk),
                               max(1, args.repeats - 1))
    need = order_for(1e-6)

    print(f"# bench_beams: focal E, H + gradients at {n} points, NA 0.9, order {args.order}")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"jax {jax.__version__} on {jax.default_backend()}")
    print(f"first call (compile) : {compile_s:8.2f} s")
    print(f"ours (jit, f64)      : {t_ours:8.3f} s wall  {c_ours:8.3f} s CPU")
    print(f"NumPy/SciPy baseline : {t_np:8.3f} s wall  {c_np:8.3f} s CPU")
    print(f"speed-up             : {t_np / t_ours:8.2f}× wall, {c_np / c_ours:.2f}× CPU")
    print(f"max |ours − NumPy|   : {err:.2e}   float32 vs float64 (rel. to max): {err32:.2e}")
    print(f"order for 1e-6 within 3 λ at NA 0.9: {need}")
    if args.pupil:
        ts, tc, cs = bench_pupil()
        print(f"8 SLM patterns × 1000 points: SampledPupil {ts:.2f} s (first call {cs:.2f} s), "
              f"callable masks {tc:.2f} s (a compile each): {tc / ts:.1f}× ")


if __name__ == "__main__":
    main()
