"""Benchmark: Mie efficiencies (Q_ext, Q_sca, Q_back, g) over many (m, x) points.

Ours: ``jaxbind.optics.mie.mie_efficiencies`` jitted and mapped over the points with
``lax.map(..., batch_size=B)`` (vmap inside chunks), one static n_max from the largest x
(Wiscombe) and one static recurrence start for the largest |m x|; timed after compilation,
on one XLA CPU device and split over one device per core with ``shard_map``.
Baselines (same process, same points): miepython 3.x with its numba backend
(``MIEPYTHON_USE_JIT=1``), (1) its array API ``efficiencies_mx(m, x)`` — what a user calls —
and (2) a ``numba.prange`` loop over miepython's own jitted single-sphere kernel, its fastest
path on all cores. miepython takes m = n − iκ, so it gets conj(m).

The miepython rows are timed on the first ``--baseline-points`` points and extrapolated
linearly to the full count (its cost per point is independent of the batch); the output
says so. Both wall and process-CPU time are reported: on a shared machine the CPU time is
the more stable measure.

    python benchmarks/bench_mie.py            # 1e6 points, x ∈ [0.1, 10] (issue target ≥ 3×)
    python benchmarks/bench_mie.py --quick    # 65 536 points, smoke run
"""

from __future__ import annotations

import os

os.environ.setdefault("MIEPYTHON_USE_JIT", "1")  # must precede the miepython import
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    # one XLA CPU device per core, for the shard_map row (must precede the jax import)
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + f" --xla_force_host_platform_device_count={os.cpu_count()}"
    )

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import miepython  # noqa: E402
from jax.sharding import Mesh, PartitionSpec  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

from jaxbind.optics.mie import mie_efficiencies, required_n_start, wiscombe_n_max  # noqa: E402
from _timing import best_wall_cpu as best_of  # noqa: E402

try:  # miepython's numba kernel for one sphere (the one efficiencies_mx loops over)
    from miepython.mie_jit import _single_sphere_nb
except ImportError:  # pragma: no cover - other miepython layouts
    _single_sphere_nb = None


if _single_sphere_nb is not None:

    @numba.njit(parallel=True)
    def _miepython_prange(m, x, out):
        for i in numba.prange(m.shape[0]):
            qext, qsca, qback, g = _single_sphere_nb(m[i], x[i], 0, True)
            out[i, 0] = qext
            out[i, 1] = qsca
            out[i, 2] = qback
            out[i, 3] = g


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="number of (m, x) points")
    parser.add_argument("--baseline-points", type=int, default=200_000, help="points timed for miepython")
    parser.add_argument("--x-min", type=float, default=0.1)
    parser.add_argument("--x-max", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=1024, help="lax.map chunk (vmap inside)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats, best taken")
    parser.add_argument("--quick", action="store_true", help="65 536 points, 20 000 for miepython")
    args = parser.parse_args()
    n_pts = 65_536 if args.quick else args.points
    n_pts -= n_pts % len(jax.devices())  # shard_map splits the points evenly
    n_base = min(n_pts, 20_000 if args.quick else args.baseline_points)

    rng = np.random.default_rng(0)
    x = rng.uniform(args.x_min, args.x_max, n_pts)
    m = rng.uniform(1.1, 2.0, n_pts) + 1j * rng.uniform(0.0, 0.1, n_pts)  # n + iκ
    n_max = wiscombe_n_max(x.max())
    n_start = required_n_start(np.max(np.abs(m) * x), n_max)

    def ours(mm, xx):
        eff = jax.lax.map(
            lambda p: mie_efficiencies(p[0], p[1], n_max, n_start=n_start), (mm, xx), batch_size=args.batch_size
        )
        return jnp.stack([eff.qext, eff.qsca, eff.qback, eff.g], axis=-1)

    f = jax.jit(ours)
    mesh = Mesh(np.array(jax.devices()), ("d",))
    spec = PartitionSpec("d")
    # check_vma=False: eqx.error_if's lax.cond does not annotate varying manual axes.
    f_sharded = jax.jit(jax.shard_map(ours, mesh=mesh, in_specs=(spec, spec), out_specs=spec, check_vma=False))
    m64, x64 = jnp.asarray(m), jnp.asarray(x)
    m32, x32 = m64.astype(jnp.complex64), x64.astype(jnp.float32)
    t0 = time.perf_counter()
    q64 = np.asarray(f(m64, x64))
    compile_s = time.perf_counter() - t0
    q32 = np.asarray(f(m32, x32))
    q64s = np.asarray(f_sharded(m64, x64))
    assert np.array_equal(q64s, q64), "sharded and single-device results differ"

    mb, xb = np.conj(m[:n_base]), x[:n_base]
    miepython.efficiencies_mx(mb[:8], xb[:8])  # load the numba cache
    ref = np.stack(miepython.efficiencies_mx(mb, xb), axis=-1)
    out = np.empty((n_base, 4))
    if _single_sphere_nb is not None:
        _miepython_prange(mb[:8].copy(), xb[:8].copy(), out[:8])  # compile

    def err(q):
        return np.max(np.abs(q[:n_base] - ref) / np.maximum(np.abs(ref), 1e-12), axis=0)

    scale = n_pts / n_base
    rows = []  # (name, wall, cpu, note)
    w, c = best_of(lambda: f(m64, x64).block_until_ready(), args.repeats)
    rows.append(("jaxbind mie_efficiencies f64 (jit, lax.map)", w, c, ""))
    w, c = best_of(lambda: f(m32, x32).block_until_ready(), args.repeats)
    rows.append(("jaxbind mie_efficiencies f32 (jit, lax.map)", w, c, ""))
    w, c = best_of(lambda: f_sharded(m64, x64).block_until_ready(), args.repeats)
    rows.append((f"jaxbind f64, shard_map over {len(jax.devices())} CPU devices", w, c, ""))
    w, c = best_of(lambda: miepython.efficiencies_mx(mb, xb), args.repeats)
    note = f"×{scale:.2f} extrapolated from {n_base} points" if scale != 1 else ""
    rows.append(("miepython efficiencies_mx (numba backend)", w * scale, c * scale, note))
    if _single_sphere_nb is not None:
        w, c = best_of(lambda: _miepython_prange(mb, xb, out), args.repeats)
        rows.append((f"miepython kernel, numba prange ({numba.get_num_threads()} thr)", w * scale, c * scale, note))

    print(f"Mie efficiencies of {n_pts} spheres: x ∈ [{args.x_min}, {args.x_max}], m = n + iκ,")
    print(f"  n ∈ [1.1, 2.0], κ ∈ [0, 0.1]; n_max = {n_max} (Wiscombe, largest x), n_start = {n_start},")
    print(f"  lax.map batch {args.batch_size}; best of {args.repeats}; jaxbind compile {compile_s:.1f} s (excluded)")
    print(f"hardware: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load avg "
          f"{os.getloadavg()[0]:.1f}; jax {jax.__version__} devices {jax.devices()}; miepython "
          f"{miepython.__version__} (USE_JIT={miepython.USE_JIT}), numba {numba.__version__}")
    e64, e32 = err(q64), err(q32)
    print(f"max rel. difference vs miepython on {n_base} points (qext, qsca, qback, g): "
          f"f64 {', '.join(f'{v:.1e}' for v in e64)}; f32 {', '.join(f'{v:.1e}' for v in e32)}")
    base_w, base_c = rows[3][1], rows[3][2]
    print(f"{'implementation':<50}{'wall [s]':>10}{'µs/pt':>8}{'speed-up':>10}{'CPU [s]':>10}{'CPU ratio':>11}")
    for name, w, c, note in rows:
        print(f"{name:<50}{w:>10.3f}{w / n_pts * 1e6:>8.2f}{base_w / w:>10.2f}{c:>10.3f}{base_c / c:>11.2f}  {note}")
    print("(speed-up / CPU ratio = miepython efficiencies_mx wall / CPU time ÷ the row's; CPU time is summed"
          " over threads)")


if __name__ == "__main__":
    main()
