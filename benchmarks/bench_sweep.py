"""Sweep overhead: jaxbind sweep vs a hand-written jit(vmap) over the same points.

1. A cheap kernel over N points (default 10^7, a 1000 x 10^4 cartesian grid): the hand-written
   baseline builds the grid inside one ``jit(vmap(f))`` call and copies the result to the host;
   ``sweep`` adds chunking, status/non-finite checks, placeholders and the xarray Dataset.
   Run once with an "auto" memory budget and once with a small budget (many chunks).
   Device memory per call is XLA's ``memory_analysis`` (temp + arguments + outputs).
2. Dask LocalCluster (2 worker processes) vs local execution of the same sweep (default 10^6
   points): correctness and overhead, not speed-up (2 CPU cores shared here).

Usage: python benchmarks/bench_sweep.py [--points N] [--dask-points M] [--quick] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxbind.workflows.sweep import sweep


def kernel(x, y):
    """Cheap kernel: a damped oscillation and a complex phase."""
    return {"u": jnp.sin(3.0 * x) * jnp.exp(-y) + x * y, "w": jnp.exp(1j * x * y)}


def best(f, repeats):
    ts = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=10**7, help="points of the overhead benchmark")
    ap.add_argument("--dask-points", type=int, default=10**6, help="points of the Dask comparison")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10^5 / 10^4 points, 2 repeats")
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.points, a.dask_points, a.repeats = 10**5, 10**4, 2
    nx = 1000 if a.points >= 10**6 else 100
    ny = a.points // nx
    xs = np.linspace(0.0, 2.0, nx, dtype=np.float32)
    ys = np.linspace(0.0, 1.0, ny, dtype=np.float32)
    n = nx * ny
    print(f"hardware: {platform.processor() or platform.machine()}, {jax.devices()}, "
          f"x64={jax.config.jax_enable_x64}")

    @jax.jit
    def baseline(xs, ys):
        X, Y = jnp.meshgrid(xs, ys, indexing="ij")
        return jax.vmap(kernel)(X.ravel(), Y.ravel())

    comp = baseline.lower(xs, ys).compile()
    m = comp.memory_analysis()
    base_bytes = m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes

    def run_base():
        out = jax.device_get(comp(xs, ys))
        return {k: v.reshape(nx, ny) for k, v in out.items()}

    run_base()
    t_base, ref = best(run_base, a.repeats)
    rows = [("jit(vmap) by hand", t_base, base_bytes, 1, 1.0)]
    diff = 0.0
    small = max(n * 12 // 16, 1)  # ~1/16 of the data per chunk → many chunks
    for label, budget in (("sweep, budget auto", "auto"), (f"sweep, budget {small // 1024} KiB", small)):
        sweep(kernel, {"x": xs, "y": ys}, memory_budget=budget, progress=False)  # warm-up (compile)
        t, ds = best(lambda: sweep(kernel, {"x": xs, "y": ys}, memory_budget=budget, progress=False), a.repeats)
        st = json.loads(ds.attrs["sweep_stats"])
        np.testing.assert_allclose(ds.u.values, ref["u"], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ds.w.values, ref["w"], rtol=1e-5, atol=1e-6)
        diff = max(diff, float(np.max(np.abs(ds.u.values - ref["u"]))))
        rows.append((label, t, st["device_bytes_per_chunk"], st["n_chunks"], t / t_base))
    print(f"\n1) cheap kernel over {n:.2e} points (float32), best of {a.repeats}; "
          f"max |Δu| vs baseline {diff:.1e} (XLA fuses differently; float32 ulp level)")
    print(f"{'method':<28}{'time (s)':>10}{'Mpts/s':>9}{'device MB/call':>16}{'chunks':>8}{'ratio':>8}")
    for label, t, b, c, r in rows:
        print(f"{label:<28}{t:>10.3f}{n / t / 1e6:>9.1f}{b / 2**20:>16.1f}{c:>8d}{r:>8.2f}")

    if a.no_dask:
        return
    import distributed

    nd = max(a.dask_points // 1000, 1)
    g = {"x": np.linspace(0.0, 2.0, 1000, dtype=np.float32), "y": np.linspace(0.0, 1.0, nd, dtype=np.float32)}
    chunk = max(a.dask_points // 8, 1)
    sweep(kernel, g, chunk_size=chunk, progress=False)
    t_loc, loc = best(lambda: sweep(kernel, g, chunk_size=chunk, progress=False), a.repeats)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cl, distributed.Client(cl) as client:
        t0 = time.perf_counter()
        sweep(kernel, g, chunk_size=chunk, executor=client, progress=False)  # workers compile once
        t_first = time.perf_counter() - t0
        t_dask, dk = best(lambda: sweep(kernel, g, chunk_size=chunk, executor=client, progress=False),
                          a.repeats)
    same = all(np.array_equal(loc[v].values, dk[v].values) for v in ("u", "w", "status"))
    print(f"\n2) {1000 * nd:.1e} points in 8 chunks: Dask LocalCluster (2 processes) vs local")
    print(f"{'method':<34}{'time (s)':>10}{'ratio':>8}")
    print(f"{'local (this process)':<34}{t_loc:>10.3f}{1.0:>8.2f}")
    print(f"{'dask, first call (worker compile)':<34}{t_first:>10.3f}{t_first / t_loc:>8.2f}")
    print(f"{'dask, warm workers':<34}{t_dask:>10.3f}{t_dask / t_loc:>8.2f}")
    print(f"results identical: {same}")


if __name__ == "__main__":
    main()
