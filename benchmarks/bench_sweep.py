"""Sweep overhead: jaxbind sweep vs a hand-written jit(vmap) over the same points.

1. A cheap kernel over N points (default 10^7, a 1000 x 10^4 cartesian grid, float32).
   Every method ends with the full results as host NumPy arrays (a user needs the numbers on
   the host), compilation excluded (warm-up call first), methods interleaved, best of repeats:
   * "jit(vmap) by hand": one ``jit(vmap(kernel))`` call building the grid inside, then
     ``device_get`` (zero-copy on CPU) and a reshape to the grid — the issue's baseline;
   * "jit(vmap), hand-chunked": the same jit over the sweep's chunks, copied into a
     preallocated array (what chunking alone costs, without status/Dataset);
   * "sweep, …": the whole ``sweep`` call — grid validation, tracing, chunk plan, per-point
     status (finiteness check + placeholders), copy into the result, ``xarray.Dataset``.
   Columns: wall and process CPU time (all threads) in s; device MiB/call = XLA
   ``memory_analysis`` (temp + arguments + outputs) of one compiled call (a chunk for the
   sweep), compared with the memory budget; peak RSS Δ = peak resident memory during the call
   minus that before it (via /proc/self/clear_refs), which includes the result itself.
   The machine is shared: wall times are noisy (CPU times less so).
2. Dask LocalCluster (2 worker processes) vs local execution of the same sweep (default 10^6
   points): correctness and overhead, not speed-up (2 CPU cores shared here).
3. The singular-point cliff (issue 20): a 100 001-point Green-tensor scan over kr ∈ [0, 20]
   whose first point (kr = 0) is singular, float64. Rows: the same scan without the singular
   point (reference); the registry kernel, whose ``eqx.error_if`` check the sweep evaluates
   per point inside the compiled chunk; the same check inside a loop body (not rewritten: the
   chunk raises and its bad point is found by bisection); the former point-by-point fallback
   of the chunk holding kr = 0 (emulated: one call of the compiled single-point function per
   point, as the code before this change did, plus the reference time of the other chunks);
   and a kernel returning a ``result`` leaf (status computed by the kernel, no fallback).

   Measured (2-core CPU shared by other jobs, load ≈ 11, jax 0.9.2, float64, 4 chunks of
   27 594 points, best of 7): reference 0.066 s; eqx.error_if kernel 0.054 s (0.8×, no
   fallback); error_if in a loop, bisection 0.101 s (1.5×); the former point-by-point
   fallback 2.2 s (34×; the issue measured 20.7 s with smaller chunks); result-leaf kernel
   0.069 s (1.0×). Bad points now cost what good points cost.

Usage: python benchmarks/bench_sweep.py [--points N] [--dask-points M] [--quick] [--no-dask]
       python benchmarks/bench_sweep.py --cliff-only [--cliff-points N]
"""

from __future__ import annotations

import argparse
import ctypes
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


def _rss_mib(field):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def measure(f):
    """(wall s, CPU s, peak RSS increase MiB, result) of one call of ``f``."""
    try:  # hand freed heap pages back to the OS, so that the peak counts this call's memory
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # reset the peak-RSS high-water mark
            fh.write("5")
    except OSError:
        pass
    rss0 = _rss_mib("VmRSS")
    c0, t0 = time.process_time(), time.perf_counter()
    out = f()
    t, c = time.perf_counter() - t0, time.process_time() - c0
    return t, c, _rss_mib("VmHWM") - rss0, out


def green_result(kr):
    """The registry's Green-tensor kernel with a result leaf instead of raising at kr = 0."""
    from jaxbind.results import RESULTS
    from jaxbind.workflows.sweep.registry import green_scan

    bad = kr == 0
    g = green_scan(jnp.where(bad, 1.0, kr))["g"]
    return {"g": jnp.where(bad, jnp.nan, g), "result": RESULTS.where(bad, RESULTS.overlap, RESULTS.successful)}


def green_in_loop(kr):
    """The same kernel with its eqx.error_if inside a loop body: not rewritten to a per-point
    flag, so a chunk holding kr = 0 raises and goes through the bisection fallback."""
    from jaxbind.workflows.sweep.registry import green_scan

    g0 = jnp.zeros((3, 3), jnp.result_type(kr, 1j))
    return {"g": jax.lax.fori_loop(0, 1, lambda i, c: c + green_scan(kr)["g"], g0)}


def cliff(n_points, repeats):
    from jaxbind.workflows.sweep import _chunks
    from jaxbind.workflows.sweep.registry import green_scan

    kr = np.linspace(0.0, 20.0, n_points)
    rows = []
    t, good = best(lambda: sweep(green_scan, {"kr": kr[1:]}, progress=False), repeats)
    rows.append(("no singular point (reference)", t, json.loads(good.attrs["sweep_stats"])))
    sweep(green_scan, {"kr": kr}, progress=False)
    t, ds = best(lambda: sweep(green_scan, {"kr": kr}, progress=False), repeats)
    st = json.loads(ds.attrs["sweep_stats"])
    assert ds.status.values[0] != 0 and (ds.status.values[1:] == 0).all()
    np.testing.assert_array_equal(ds.g.values[1:], good.g.values)
    rows.append(("eqx.error_if kernel (in-chunk flag)", t, st))
    sweep(green_in_loop, {"kr": kr}, progress=False)  # compiles the bisection program
    t, dl = best(lambda: sweep(green_in_loop, {"kr": kr}, progress=False), repeats)
    assert dl.status.values[0] != 0 and (dl.status.values[1:] == 0).all()
    np.testing.assert_allclose(dl.g.values[1:], good.g.values, rtol=1e-12)
    rows.append(("error_if in a loop (bisection fallback)", t, json.loads(dl.attrs["sweep_stats"])))
    # the former fallback: every point of the chunk that raised, one compiled call each
    ev = next(e for e in _chunks._EVAL_CACHE.values() if e.spec.fingerprint == json.loads(
        ds.attrs["jaxbind_sweep"])["function"])
    point = jax.jit(_chunks._point_fn(ev.traced)).lower(jax.ShapeDtypeStruct((), kr.dtype)).compile()
    n = st["chunk_points"]

    def old():
        with _chunks.quiet_callbacks():
            for x in kr[:n]:
                try:
                    jax.device_get(point(x))
                except Exception:  # noqa: BLE001
                    pass

    t_old, _ = best(old, 1)
    t_rest = rows[0][1] * (n_points - n) / (n_points - 1)
    rows.append(("raising kernel, former point-by-point", t_old + t_rest, {"chunks_fallback": 1}))
    sweep(green_result, {"kr": kr}, progress=False)
    t, dr = best(lambda: sweep(green_result, {"kr": kr}, progress=False), repeats)
    assert dr.status.values[0] != 0 and (dr.status.values[1:] == 0).all()
    np.testing.assert_array_equal(dr.g.values[1:], good.g.values)
    rows.append(("result-leaf kernel (in-chunk status)", t, json.loads(dr.attrs["sweep_stats"])))
    print(f"\n3) Green-tensor scan, {n_points} points, kr = 0 singular; {st['n_chunks']} chunks of "
          f"{n} points; best of {repeats} (the former fallback: one run, compiled call per point of the "
          "bad chunk + the reference time of the rest)")
    print(f"{'method':<40}{'time (s)':>10}{'× reference':>13}{'fallback chunks':>17}")
    for label, t, stt in rows:
        print(f"{label:<40}{t:>10.3f}{t / rows[0][1]:>13.1f}{stt.get('chunks_fallback', 0):>17d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=10**7, help="points of the overhead benchmark")
    ap.add_argument("--dask-points", type=int, default=10**6, help="points of the Dask comparison")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="10^5 / 10^4 points, 3 repeats")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--cliff-points", type=int, default=100_001)
    ap.add_argument("--cliff-only", action="store_true", help="only the singular-point benchmark (3)")
    a = ap.parse_args()
    if a.cliff_only:
        jax.config.update("jax_enable_x64", True)
        cliff(a.cliff_points, 7)
        return
    if a.quick:
        a.points, a.dask_points, a.repeats = 10**5, 10**4, 3
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

    def dev_mib(comp):
        m = comp.memory_analysis()
        return (m.temp_size_in_bytes + m.argument_size_in_bytes + m.output_size_in_bytes) / 2**20

    comp = baseline.lower(xs, ys).compile()

    def run_base():
        out = jax.device_get(comp(xs, ys))
        return {k: v.reshape(nx, ny) for k, v in out.items()}

    ref = run_base()
    # the sweep's own chunking (cache-sized on CPU) for the hand-chunked loop
    probe = json.loads(sweep(kernel, {"x": xs, "y": ys}, progress=False).attrs["sweep_stats"])
    rows_per = max(probe["chunk_points"] // ny, 1)
    comp_c = baseline.lower(xs[:rows_per], ys).compile()

    def run_chunked():
        out = {"u": np.empty((nx, ny), np.float32), "w": np.empty((nx, ny), np.complex64)}
        nxt = comp_c(xs[:rows_per], ys)
        for i in range(0, nx, rows_per):
            cur = nxt
            if i + rows_per < nx:  # dispatch the next chunk before copying this one
                sl = xs[i + rows_per: i + 2 * rows_per]
                nxt = comp_c(np.pad(sl, (0, rows_per - sl.size), mode="edge"), ys)
            r = min(rows_per, nx - i)
            for k, v in jax.device_get(cur).items():
                out[k][i:i + r] = v.reshape(rows_per, ny)[:r]
        return out

    small = 1 << 20
    sweeps = [("sweep, budget auto", dict()),
              (f"sweep, budget {small >> 20} MiB", dict(memory_budget=small)),
              ("sweep, one chunk", dict(chunk_size=n, memory_budget="8GiB"))]
    methods = [("jit(vmap) by hand", run_base, dev_mib(comp), 1),
               (f"jit(vmap), hand-chunked", run_chunked, dev_mib(comp_c), -(-nx // rows_per))]
    budgets = {}
    for label, kw in sweeps:
        st = json.loads(sweep(kernel, {"x": xs, "y": ys}, progress=False, **kw).attrs["sweep_stats"])
        budgets[label] = st["memory_budget_bytes"] / 2**20
        methods.append((label, lambda kw=kw: sweep(kernel, {"x": xs, "y": ys}, progress=False, **kw),
                        st["device_bytes_per_chunk"] / 2**20, st["n_chunks"]))
    res = {m[0]: [] for m in methods}
    diff = 0.0
    for _ in range(a.repeats):  # interleaved: load changes hit every method alike
        for label, f, _, _ in methods:
            t, c, peak, out = measure(f)
            res[label].append((t, c, peak))
            if label.startswith("sweep"):
                out = {"u": out.u.values, "w": out.w.values, "status": out.status.values}
                assert not out["status"].any()
            for k in ("u", "w"):  # XLA fuses/vectorises differently per chunk shape: ulp level
                np.testing.assert_allclose(out[k], ref[k], rtol=1e-5, atol=1e-6)
                diff = max(diff, float(np.max(np.abs(out[k] - ref[k]))))
            del out
    t_base = min(r[0] for r in res["jit(vmap) by hand"])
    c_base = min(r[1] for r in res["jit(vmap) by hand"])
    print(f"\n1) cheap kernel over {n:.2e} points (float32), best of {a.repeats} interleaved; "
          f"max |Δ| vs baseline {diff:.1e} (float32 ulp level); result arrays "
          f"{(ref['u'].nbytes + ref['w'].nbytes) / 2**20:.0f} MiB (+ int32 status for sweeps)")
    print(f"{'method':<27}{'wall s':>8}{'CPU s':>8}{'Mpts/s':>8}{'dev MiB/call':>13}{'budget':>8}"
          f"{'peak RSS Δ':>11}{'chunks':>7}{'wall ×':>8}{'CPU ×':>7}")
    for label, _, dmib, nch in methods:
        t = min(r[0] for r in res[label])
        c = min(r[1] for r in res[label])
        peak = min(r[2] for r in res[label])
        bud = f"{budgets[label]:.0f}" if label in budgets else "-"
        print(f"{label:<27}{t:>8.3f}{c:>8.3f}{n / t / 1e6:>8.1f}{dmib:>13.1f}{bud:>8}{peak:>11.0f}"
              f"{nch:>7d}{t / t_base:>8.2f}{c / c_base:>7.2f}")
    print("budget, dev MiB/call and peak RSS Δ in MiB; ratios vs 'jit(vmap) by hand'")

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
    with jax.enable_x64(True):
        cliff(a.cliff_points if not a.quick else 10_001, 3)


if __name__ == "__main__":
    main()
