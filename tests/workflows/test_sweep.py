"""Tests of jaxbind.workflows.sweep: grids, chunking, status, store/resume, sharding, executors."""

import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import subprocess
import threading
import sys
import textwrap
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxbind.workflows.sweep.grid import Grid
from jaxbind.results import RESULTS, code, code_table, message
from jaxbind.workflows.sweep.store import (ERROR, KERNEL_STATUS, NONFINITE, OK, PENDING, SweepStoreError,
                                     ZarrSink)
from jaxbind.workflows.sweep import sweep

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# module-level kernels: picklable for executors and the subprocess tests
def wave(x, y):
    """A cheap kernel with a closed form, a complex vector output and a log singularity."""
    return {"a": jnp.sin(x) * y, "c": jnp.exp(1j * x) * jnp.array([1.0, 2.0]), "s": jnp.log(y)}


def wave_np(x, y):
    return np.sin(x) * y, np.exp(1j * x)[..., None] * np.array([1.0, 2.0]), np.log(y)


def with_status(x):
    """Kernel reporting its own status: 7 where x < 0 (and a garbage NaN value there)."""
    return {"v": jnp.where(x < 0, jnp.nan, jnp.sqrt(jnp.abs(x))), "status": jnp.where(x < 0, 7, 0)}


def raising(x):
    """Kernel using eqx.error_if (single-point API): x == 2 is 'invalid'."""
    y = eqx.error_if(x * 3.0, x == 2.0, "x must not be 2")
    return {"y": y}


def oscillator(w, nbar):
    """A lineax-based physics kernel (Gaussian steady state of a damped oscillator in a thermal
    bath): its occupation is n̄ exactly, for any frequency."""
    from jaxbind.quantum.gaussian import LinearSystem, steady_state
    from jaxbind.quantum.models import add_thermal_bath
    from jaxbind.quantum.observables import occupations

    h = jnp.reshape(w, (1, 1)).astype(jnp.result_type(w, 1j))
    ss = steady_state(add_thermal_bath(LinearSystem.from_modes(h), 0, 0.1, nbar))
    res = getattr(ss, "result", None)
    return {"n": occupations(ss.cov)[0], **({"status": ss.status} if res is None else {"result": res})}


def _xy():
    return np.linspace(0.0, 1.0, 7), np.linspace(0.5, 2.0, 5)


def test_cartesian_values_coords_complex_and_status():
    xs, ys = _xy()
    ds = sweep(wave, {"x": xs, "y": ys}, chunk_size=6, progress=False, output_dims={"c": ("pol",)})
    assert ds.sizes == {"x": 7, "y": 5, "pol": 2}
    np.testing.assert_array_equal(ds.x.values, xs)
    np.testing.assert_array_equal(ds.y.values, ys)
    assert ds.c.dtype == np.complex128
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    a, c, s = wave_np(X, Y)
    bad = ~np.isfinite(s)  # y = 0.5 … log fine; none bad here
    assert not bad.any()
    np.testing.assert_allclose(ds.a.values, a, rtol=1e-14)
    np.testing.assert_allclose(ds.c.values, c, rtol=1e-14)
    np.testing.assert_allclose(ds.s.values, s, rtol=1e-14)
    assert (ds.status.values == OK).all()
    stats = json.loads(ds.attrs["sweep_stats"])
    assert stats["n_chunks"] == 7 and stats["chunks_computed"] == 7


def test_status_codes_are_the_results_table():
    assert (OK, NONFINITE, ERROR, PENDING, KERNEL_STATUS) == tuple(int(code(r)) for r in (
        RESULTS.successful, RESULTS.nonfinite, RESULTS.kernel_error, RESULTS.not_computed,
        RESULTS.kernel_status))


def test_nonfinite_point_gets_status_and_nan_in_every_output():
    """A bad point reads NaN (NaN+NaNj for complex) in every output, also the finite ones;
    the code table travels with the Dataset."""
    ds = sweep(wave, {"x": [0.1, 0.2], "y": [0.0, 1.0]}, progress=False)
    np.testing.assert_array_equal(ds.status.values, [[NONFINITE, OK], [NONFINITE, OK]])
    for v in ("a", "c", "s"):
        assert np.all(np.isnan(ds[v].values[:, 0]))
        assert np.all(np.isfinite(ds[v].values[:, 1]))
    assert np.all(np.isnan(ds.c.values[:, 0].imag))
    np.testing.assert_allclose(ds.a.values[:, 1], np.sin([0.1, 0.2]), rtol=1e-14)
    table = json.loads(ds.attrs["result_codes"])
    assert table == {str(k): (m or "successful") for k, m in code_table().items()}
    assert table[str(NONFINITE)] == message(NONFINITE)
    # an explicit fill_value is still honoured
    z = sweep(wave, {"x": [0.1, 0.2], "y": [0.0, 1.0]}, progress=False, fill_value=0.0)
    assert np.all(z.a.values[:, 0] == 0)


def with_result(x):
    """A kernel returning a RESULTS item (NaN output at its bad points, as jaxbind kernels)."""
    bad = x < 0
    return {"v": jnp.where(bad, jnp.nan, jnp.sqrt(jnp.abs(x))), "n": jnp.where(bad, 0, 1).astype(jnp.int32),
            "result": RESULTS.where(bad, RESULTS.unstable, RESULTS.successful)}


def test_result_leaf_is_the_status_and_integer_outputs_get_the_sentinel():
    ds = sweep(with_result, {"x": [-1.0, 4.0, -2.0, 9.0]}, chunk_size=2, progress=False)
    u = int(code(RESULTS.unstable))
    np.testing.assert_array_equal(ds.status.values, [u, OK, u, OK])
    np.testing.assert_array_equal(ds.v.values, [np.nan, 2.0, np.nan, 3.0])
    np.testing.assert_array_equal(ds.n.values, [np.iinfo(np.int32).min, 1, np.iinfo(np.int32).min, 1])
    assert set(ds.data_vars) == {"v", "n", "status"}
    assert json.loads(ds.attrs["sweep_stats"])["chunks_fallback"] == 0


def test_legacy_status_leaf_maps_to_kernel_status_and_keeps_the_raw_code():
    ds = sweep(with_status, {"x": [-1.0, 4.0, -2.0, 9.0]}, progress=False)
    np.testing.assert_array_equal(ds.status.values, [KERNEL_STATUS, OK, KERNEL_STATUS, OK])
    np.testing.assert_array_equal(ds.kernel_status.values, [7, 0, 7, 0])
    np.testing.assert_array_equal(ds.v.values, [np.nan, 2.0, np.nan, 3.0])
    assert set(ds.data_vars) == {"v", "kernel_status", "status"}


def test_error_if_in_one_point_isolated_and_rest_exact():
    xs = np.arange(0.0, 9.0)  # x = 2 raises; chunks of 4 points
    ds = sweep(raising, {"x": xs}, chunk_size=4, progress=False)
    expect = np.where(xs == 2.0, ERROR, OK)
    np.testing.assert_array_equal(ds.status.values, expect)
    np.testing.assert_array_equal(ds.y.values, np.where(xs == 2.0, np.nan, 3.0 * xs))
    stats = json.loads(ds.attrs["sweep_stats"])
    # the check is evaluated per point inside the compiled chunk: no fallback at all
    assert stats["chunks_fallback"] == 0 and not stats["errors"]


def raising_in_loop(x):
    """eqx.error_if inside a loop body (not rewritten to a per-point flag): a chunk holding
    x == 2 raises as a whole and goes through the bisection fallback."""
    def body(i, c):
        return eqx.error_if(c + x, x == 2.0, "x must not be 2")

    return {"y": jax.lax.fori_loop(0, 3, body, jnp.zeros_like(x))}


def test_error_if_inside_a_loop_isolated_by_bisection_and_rest_exact():
    xs = np.arange(0.0, 9.0)
    ds = sweep(raising_in_loop, {"x": xs}, chunk_size=4, progress=False)
    np.testing.assert_array_equal(ds.status.values, np.where(xs == 2.0, ERROR, OK))
    np.testing.assert_array_equal(ds.y.values, np.where(xs == 2.0, np.nan, 3.0 * xs))
    stats = json.loads(ds.attrs["sweep_stats"])
    assert stats["chunks_fallback"] == 1 and "x must not be 2" in stats["errors"][0]


def test_real_kernel_green_tensor_closed_form_and_singular_point():
    from jaxbind.optics.green import green_tensor

    def g(x, k):
        return {"G": green_tensor(jnp.stack([x, 0.0 * x, 0.0 * x]), k)}

    xs = np.array([0.0, 0.3, 1.0, 2.5])
    ks = np.array([1.0, 3.0])
    ds = sweep(g, {"x": xs, "k": ks}, progress=False, output_dims={"G": ("i", "j")})
    # kr = 0 is singular: the kernel NaN-masks it inside the compiled chunk (no host callback,
    # no point-by-point fallback), so the point reads NONFINITE and NaN
    assert ds.status.values[0].tolist() == [NONFINITE, NONFINITE]
    assert np.isnan(ds.G.values[0]).all()
    X, K = np.meshgrid(xs[1:], ks, indexing="ij")
    # r ∥ e_x: Ḡ_xx = e^{ikr}(2 − 2ikr)/(4π r³), Ḡ_yy = e^{ikr}(k²r² + ikr − 1)/(4π r³)
    e = np.exp(1j * K * X) / (4 * np.pi * X**3)
    np.testing.assert_allclose(ds.G.values[1:, :, 0, 0], e * (2 - 2j * K * X), rtol=1e-12)
    np.testing.assert_allclose(ds.G.values[1:, :, 1, 1], e * ((K * X) ** 2 + 1j * K * X - 1), rtol=1e-12)
    assert (ds.status.values[1:] == OK).all()


def test_real_kernel_mie_against_miepython():
    miepython = pytest.importorskip("miepython")
    from jaxbind.workflows.sweep.registry import mie_efficiency_point

    ms, xs = np.array([1.33, 1.5, 2.0]), np.array([0.3, 1.0, 3.0])
    ds = sweep(partial(mie_efficiency_point, m_imag=0.01, n_max=12), {"m_real": ms, "x": xs}, progress=False)
    assert (ds.status.values == OK).all()
    for i, m in enumerate(ms):
        for j, x in enumerate(xs):
            qext, qsca = miepython.efficiencies_mx(m - 0.01j, x)[:2]
            np.testing.assert_allclose(ds.qext.values[i, j], qext, rtol=1e-10)
            np.testing.assert_allclose(ds.qsca.values[i, j], qsca, rtol=1e-10)


def test_one_trace_one_compile_many_chunks():
    counted = eqx.debug.assert_max_traces(wave, max_traces=1)
    xs, ys = _xy()
    ds = sweep(counted, {"x": xs, "y": ys}, chunk_size=5, progress=False)
    assert eqx.debug.get_num_traces(counted) == 1
    assert json.loads(ds.attrs["sweep_stats"])["n_chunks"] == 7


def test_batch_size_and_budget_give_same_values_and_respect_budget():
    xs, ys = np.linspace(0, 3, 40), np.linspace(0.5, 2.0, 30)
    ref = sweep(wave, {"x": xs, "y": ys}, progress=False)
    b = sweep(wave, {"x": xs, "y": ys}, batch_size=16, memory_budget=20_000, progress=False)
    st = json.loads(b.attrs["sweep_stats"])
    assert st["n_chunks"] > 1 and st["device_bytes_per_chunk"] <= 20_000
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(b[v].values, ref[v].values)


def test_zipped_random_sobol_grids():
    g = Grid.zip("pair", x=[0.5, 1.0, 2.0], y=[1.5, 2.0, 3.0]) * Grid.product(k=[1.0, 2.0])
    ds = sweep(lambda x, y, k: jnp.sin(k * x) + y, g, progress=False)
    assert ds.value.dims == ("pair", "k")
    np.testing.assert_array_equal(ds.x.values, [0.5, 1.0, 2.0])
    np.testing.assert_allclose(ds.value.values, np.sin(np.outer([0.5, 1, 2], [1, 2])) + [[1.5], [2], [3]])
    r = Grid.random(50, seed=3, x=(0.1, 10.0), y=(1.0, 2.0), log="x")
    vx = r.factors[0].params[0][1]
    assert vx.min() >= 0.1 and vx.max() <= 10.0 and (np.log(vx) < np.log(10) / 2).mean() > 0.3
    s = Grid.sobol(64, seed=1, x=(0.0, 1.0), y=(0.5, 1.0))
    ds = sweep(wave, s, progress=False)
    assert ds.sizes["sample"] == 64 and (ds.status.values == OK).all()
    np.testing.assert_allclose(ds.a.values, np.sin(ds.x.values) * ds.y.values, rtol=1e-14)


@pytest.mark.parametrize("grid, msg", [
    ({}, "empty grid"),
    ({"x": []}, "'x' is empty"),
    ({"x": [1.0, np.nan]}, "non-finite value nan at index 1"),
    ({"x": ["a", "b"]}, "must be numeric"),
    ({"x": [[1.0, 2.0]]}, "one-dimensional"),
    ({"x": [1.0], "q": [2.0]}, "not arguments of fn"),
    ({"y": [1.0]}, "needs argument"),
])
def test_bad_grids_fail_before_compute(grid, msg):
    calls = []

    def fn(x, y=1.0):
        calls.append(1)
        return x * y

    with pytest.raises((ValueError, TypeError), match=msg):
        sweep(fn, grid, progress=False)
    assert not calls


def test_bad_zip_and_box():
    with pytest.raises(ValueError, match="different lengths"):
        Grid.zip("pair", a=[1.0, 2.0], b=[1.0])
    with pytest.raises(ValueError, match="low < high"):
        Grid.random(4, x=(1.0, 0.0))
    with pytest.raises(ValueError, match="power of 2"):
        Grid.sobol(10, x=(0.0, 1.0))
    with pytest.raises(ValueError, match="appears twice"):
        Grid.product(x=[1.0]) * Grid.zip("p", x=[1.0])


# --- store, resume ---------------------------------------------------------------------------


def test_store_equals_memory_resume_and_refusals(tmp_path):
    xs, ys = _xy()
    path = tmp_path / "r.zarr"
    mem = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, progress=False)
    ds = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, store=path, progress=False)
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(ds[v].values, mem[v].values)
    assert ds.c.dtype == np.complex128
    again = sweep(wave, {"x": xs, "y": ys}, store=path, progress=False)  # budget ignored: stored plan
    st = json.loads(again.attrs["sweep_stats"])
    assert st["chunks_resumed"] == st["n_chunks"] and st["chunks_computed"] == 0
    with pytest.raises(ValueError, match="different grid"):
        sweep(wave, {"x": xs, "y": ys + 1}, store=path, progress=False)
    with pytest.raises(ValueError, match="different function"):
        sweep(lambda x, y: wave(x, 2 * y), {"x": xs, "y": ys}, store=path, progress=False)
    with pytest.raises(FileExistsError, match="resume=True"):
        sweep(wave, {"x": xs, "y": ys}, store=path, resume=False, progress=False)
    (tmp_path / "other").mkdir()
    with pytest.raises(SweepStoreError, match="not a"):
        sweep(wave, {"x": xs, "y": ys}, store=tmp_path / "other", progress=False)
    fresh = sweep(wave, {"x": xs, "y": ys + 1}, store=path, overwrite=True, progress=False)
    assert json.loads(fresh.attrs["sweep_stats"])["chunks_computed"] > 0


def test_unwritable_store_and_disk_full_keep_finished_chunks(tmp_path, monkeypatch):
    xs, ys = _xy()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SweepStoreError, match="cannot create sweep store"):
        sweep(wave, {"x": xs, "y": ys}, store=blocker / "r.zarr", progress=False)
    path = tmp_path / "r.zarr"
    real_write = ZarrSink.write
    n = {"writes": 0}

    def failing(self, b, values, status):
        if n["writes"] == 3:
            raise OSError(28, "No space left on device")
        n["writes"] += 1
        return real_write(self, b, values, status)

    monkeypatch.setattr(ZarrSink, "write", failing)
    with pytest.raises(OSError, match="No space left"):
        sweep(wave, {"x": xs, "y": ys}, chunk_size=5, store=path, progress=False)
    monkeypatch.setattr(ZarrSink, "write", real_write)
    part = ZarrSink.read_meta(path)
    assert part is not None
    ds = sweep(wave, {"x": xs, "y": ys}, store=path, progress=False)
    st = json.loads(ds.attrs["sweep_stats"])
    assert st["chunks_resumed"] == 3 and st["chunks_computed"] == 4
    np.testing.assert_array_equal(ds.a.values, sweep(wave, {"x": xs, "y": ys}, progress=False).a.values)


_KILL_SCRIPT = """
import sys, time, jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)  # as tests/conftest.py
import numpy as np
sys.path.insert(0, {testdir!r})
from test_sweep import wave
from jaxbind.workflows.sweep import sweep
def hook(done, total):
    print("chunk", done, flush=True)
    time.sleep(0.3)
sweep(wave, {{"x": np.linspace(0, 1, 12), "y": np.linspace(0.5, 2, 5)}}, chunk_size=5,
      store={store!r}, progress=hook)
print("finished", flush=True)
"""


def test_sigkill_mid_sweep_then_resume_is_identical(tmp_path):
    store = str(tmp_path / "k.zarr")
    script = tmp_path / "run.py"
    script.write_text(_KILL_SCRIPT.format(testdir=os.path.dirname(__file__), store=store))
    p = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    watchdog = threading.Timer(120, p.kill)  # a hung child must not hang the test
    watchdog.start()
    seen = 0
    for line in p.stdout:
        if line.startswith("chunk"):
            seen += 1
            if seen == 3:
                p.send_signal(signal.SIGKILL)
                break
    p.wait(timeout=60)
    watchdog.cancel()
    assert p.returncode == -signal.SIGKILL and seen == 3
    import zarr

    done = int(np.asarray(zarr.open_group(store, mode="r")["_jaxbind"]["done"][:]).sum())
    assert 3 <= done < 12
    grid = {"x": np.linspace(0, 1, 12), "y": np.linspace(0.5, 2, 5)}
    ds = sweep(wave, grid, store=store, progress=False)
    st = json.loads(ds.attrs["sweep_stats"])
    assert st["chunks_resumed"] == done and st["chunks_computed"] == 12 - done
    ref = sweep(wave, grid, chunk_size=5, progress=False)
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(ds[v].values, ref[v].values)
    assert PENDING not in ds.status.values


_SHARD_SCRIPT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
import sys, jax, json
jax.config.update("jax_cpu_enable_async_dispatch", False)  # as tests/conftest.py
import numpy as np
sys.path.insert(0, {testdir!r})
from test_sweep import wave, wave_np, raising, oscillator
from jaxbind.workflows.sweep import sweep
assert len(jax.devices()) == 4
grid = {{"x": np.linspace(0, 1, 7).astype(np.float32), "y": np.linspace(0.5, 2, 5).astype(np.float32)}}
d4 = sweep(wave, grid, chunk_size=9, progress=False)          # 7 chunks of 5 points, padded to 8
d1 = sweep(wave, grid, chunk_size=9, devices=1, progress=False)
same = all(np.array_equal(d4[v].values, d1[v].values) for v in ("a", "c", "s", "status"))
X, Y = np.meshgrid(np.linspace(0, 1, 7), np.linspace(0.5, 2, 5), indexing="ij")
a, c, s = wave_np(X, Y)
err = max(float(np.max(np.abs(d4.a.values - a))), float(np.max(np.abs(d4.c.values - c))))
e = sweep(raising, {{"x": np.arange(10.0, dtype=np.float32)}}, chunk_size=8, progress=False)
# a kernel built on lineax solves (jax.shard_map over it directly fails with lineax 0.1.0,
# lineax#185; the sweep shards the traced jaxpr, so it must work)
nb = np.linspace(0, 3, 5).astype(np.float32)
o = sweep(oscillator, {{"w": np.linspace(0.5, 2, 7).astype(np.float32), "nbar": nb}}, chunk_size=9,
          progress=False)
print(json.dumps({{"same": same, "dtype": str(d4.a.dtype), "err": err, "devices": json.loads(
    d4.attrs["sweep_stats"])["devices"], "status": e.status.values.tolist(), "y": e.y.values.tolist(),
    "osc_err": float(np.abs(o.n.values - nb[None]).max()), "osc_status": int(np.abs(o.status.values).sum()),
    "osc_dtype": str(o.n.dtype)}}))
"""


def test_sharded_over_4_cpu_devices_float32(tmp_path):
    script = tmp_path / "shard.py"
    script.write_text(_SHARD_SCRIPT.format(testdir=os.path.dirname(__file__)))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["same"] and r["dtype"] == "float32" and len(r["devices"]) == 4
    assert r["err"] < 1e-6  # float32 vs the float64 closed form
    assert r["status"] == [0, 0, ERROR] + [0] * 7
    np.testing.assert_allclose(r["y"], [0, 3, np.nan, 9, 12, 15, 18, 21, 24, 27], rtol=1e-6)
    assert r["osc_status"] == 0 and r["osc_dtype"] == "float32" and r["osc_err"] < 1e-5


# --- executors ----------------------------------------------------------------------------------


class FlakyExecutor(cf.ThreadPoolExecutor):
    """Every chunk's first submission dies (a worker lost), later ones run."""

    def __init__(self):
        super().__init__(max_workers=2)
        self.seen = set()
        self.failures = 0

    def submit(self, fn, *args, **kw):
        key = args[0][0].tobytes() + np.asarray(args[0][1]).tobytes()
        if key not in self.seen:
            self.seen.add(key)
            self.failures += 1
            f = cf.Future()
            f.set_exception(ConnectionError("worker died"))
            return f
        return super().submit(fn, *args, **kw)


def test_executor_retries_failed_chunks_and_matches_local(tmp_path):
    xs, ys = _xy()
    ref = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, progress=False)
    with FlakyExecutor() as ex:
        ds = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, executor=ex, store=tmp_path / "e.zarr",
                   progress=False)
        assert ex.failures == json.loads(ds.attrs["sweep_stats"])["n_chunks"]
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(ds[v].values, ref[v].values)
    with FlakyExecutor() as ex, pytest.raises(RuntimeError, match="failed 1 times"):
        sweep(wave, {"x": xs, "y": ys}, chunk_size=10, executor=ex, max_retries=0, progress=False)


def test_fork_executor_and_unpicklable_fn_are_refused():
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as ex:
        with pytest.raises(ValueError, match="spawn"):
            sweep(wave, {"x": [1.0], "y": [1.0]}, executor=ex, progress=False)
    with cf.ThreadPoolExecutor(1) as ex:
        with pytest.raises(TypeError, match="picklable"):
            sweep(lambda x: x, {"x": [1.0]}, executor=ex, progress=False)


@pytest.mark.slow
def test_spawn_process_pool_and_dask_local_cluster_identical():
    distributed = pytest.importorskip("distributed")
    xs, ys = _xy()
    grid = {"x": xs, "y": ys}
    ref = sweep(wave, grid, chunk_size=10, progress=False)
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as ex:
        pp = sweep(wave, grid, chunk_size=10, executor=ex, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dk = sweep(wave, grid, chunk_size=10, executor=client, progress=False)
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(pp[v].values, ref[v].values)
        np.testing.assert_array_equal(dk[v].values, ref[v].values)


def test_progress_callable_and_tqdm(capsys):
    seen = []
    sweep(wave, {"x": [0.1, 0.2, 0.3], "y": [1.0]}, chunk_size=1, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    sweep(wave, {"x": [0.1, 0.2], "y": [1.0]}, progress=True)
    assert "pt/s" in capsys.readouterr().err


def nan_parts(x):
    """Non-finite values hidden in single components: the imaginary part of a complex scalar
    (x = 3) and one element of a vector output (x = 7, +inf)."""
    c = jnp.where(x == 3.0, jax.lax.complex(x, jnp.nan), jax.lax.complex(x, -x))
    v = jnp.array([x, jnp.where(x == 7.0, jnp.inf, 2.0 * x)])
    return {"c": c, "v": v}


def test_nonfinite_component_detected_per_point_across_chunks(monkeypatch):
    """Status comes from every component (complex imag part, one vector element) of only the
    bad points, in whichever chunk they fall; all-OK chunks stay OK (CPU host-side check)."""
    xs = np.arange(10.0)
    ds = sweep(nan_parts, {"x": xs}, chunk_size=4, progress=False, fill_value=-1.0)
    bad = (xs == 3.0) | (xs == 7.0)
    np.testing.assert_array_equal(ds.status.values, np.where(bad, NONFINITE, OK))
    assert ds.status.dtype == np.int32
    np.testing.assert_array_equal(ds.c.values, np.where(bad, -1.0, xs - 1j * xs))
    np.testing.assert_array_equal(ds.v.values[:, 1], np.where(bad, -1.0, 2.0 * xs))
    # the same with the finiteness check compiled into the chunk (the accelerator path)
    from jaxbind.workflows.sweep import _chunks

    monkeypatch.setattr(_chunks, "_HOST_CHECK_PLATFORMS", ())
    monkeypatch.setattr(_chunks, "_EVAL_CACHE", {})
    dev = sweep(nan_parts, {"x": xs}, chunk_size=4, progress=False, fill_value=-1.0)
    for v in ("c", "v", "status"):
        np.testing.assert_array_equal(dev[v].values, ds[v].values)


def test_cpu_chunks_are_cache_sized_unless_chunk_size_given(monkeypatch):
    """On CPU the budget-derived chunk is capped to _CPU_CHUNK_BYTES of inputs+outputs (not
    when chunk_size is explicit); the values do not depend on the chunking."""
    from jaxbind.workflows.sweep import driver as sweep_mod

    xs, ys = np.linspace(0, 3, 40), np.linspace(0.5, 2.0, 30)
    one = sweep(wave, {"x": xs, "y": ys}, progress=False)
    assert json.loads(one.attrs["sweep_stats"])["n_chunks"] == 1
    monkeypatch.setattr(sweep_mod, "_CPU_CHUNK_BYTES", 64 * 30 * 8)  # ~ a few rows of y
    capped = sweep(wave, {"x": xs, "y": ys}, progress=False)
    st = json.loads(capped.attrs["sweep_stats"])
    io = 2 * 8 + 8 + 2 * 16 + 8  # x, y, a, c (2 complex), s: bytes per point
    assert st["n_chunks"] > 1 and st["chunk_points"] * io <= sweep_mod._CPU_CHUNK_BYTES
    explicit = sweep(wave, {"x": xs, "y": ys}, chunk_size=xs.size * ys.size, progress=False)
    assert json.loads(explicit.attrs["sweep_stats"])["n_chunks"] == 1
    for v in ("a", "c", "s", "status"):
        np.testing.assert_array_equal(capped[v].values, one[v].values)


def test_grid_array_mutated_between_sweeps_is_not_served_stale():
    """Device copies of grid arrays are reused across chunks of one sweep only."""
    xs, ys = np.linspace(0.1, 1.0, 6), np.linspace(0.5, 2.0, 5)
    a = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, progress=False)
    ys *= 2.0  # same object, same shape: the cached executable is reused
    b = sweep(wave, {"x": xs, "y": ys}, chunk_size=10, progress=False)
    np.testing.assert_allclose(a.a.values, np.sin(xs)[:, None] * (ys / 2.0), rtol=1e-14)
    np.testing.assert_allclose(b.a.values, np.sin(xs)[:, None] * ys, rtol=1e-14)


def test_raising_kernel_bad_points_found_by_bisection_not_point_by_point(monkeypatch):
    """One bad point in a 64-point chunk costs O(log n) vectorised evaluations, not 64 calls;
    all other points get exactly their vectorised values."""
    from jaxbind.workflows.sweep import _chunks

    calls = []
    real = _chunks.Evaluator._run_flat

    def counting(self, flat):
        calls.append(1)
        return real(self, flat)

    monkeypatch.setattr(_chunks.Evaluator, "_run_flat", counting)
    xs = np.arange(0.0, 64.0)
    ds = sweep(raising_in_loop, {"x": xs}, chunk_size=64, progress=False)
    np.testing.assert_array_equal(ds.status.values, np.where(xs == 2.0, ERROR, OK))
    np.testing.assert_array_equal(ds.y.values, np.where(xs == 2.0, np.nan, 3.0 * xs))
    assert len(calls) <= 2 * 6 + 1, len(calls)


def scaled(x):
    return {"y": 2.0 * x}


def test_compiler_options_reach_the_chunk_compilation():
    """An argument or a declared ``fn.compiler_options`` (also through partial) is passed to
    XLA on CPU: an unknown flag is rejected by XLA; the pair kernel's options give the same
    numbers."""
    from jaxbind.contrib import CPU_COMPILER_OPTIONS

    bogus = {"xla_this_flag_does_not_exist": True}
    with pytest.raises(Exception, match="xla_this_flag_does_not_exist"):
        sweep(scaled, {"x": [1.0, 2.0]}, compiler_options=bogus, progress=False)

    def declared(x, k=1.0):
        return {"y": k * x}

    declared.compiler_options = bogus
    with pytest.raises(Exception, match="xla_this_flag_does_not_exist"):
        sweep(partial(declared, k=3.0), {"x": [1.0, 2.0]}, progress=False)
    declared.compiler_options = CPU_COMPILER_OPTIONS
    ds = sweep(partial(declared, k=3.0), {"x": [1.0, 2.0]}, progress=False)
    np.testing.assert_array_equal(ds.y.values, [3.0, 6.0])


def test_a_chunk_of_mostly_bad_points_is_bounded_by_point_by_point_cost(monkeypatch):
    """Bisection stops after its budget of chunk evaluations; the rest go point by point."""
    from jaxbind.workflows.sweep import _chunks

    calls = []
    real = _chunks.Evaluator._run_flat

    def counting(self, flat):
        calls.append(1)
        return real(self, flat)

    monkeypatch.setattr(_chunks.Evaluator, "_run_flat", counting)

    def mostly_bad(x):
        def body(i, c):
            return eqx.error_if(c + x, x % 4 != 1, "bad")
        return {"y": jax.lax.fori_loop(0, 2, body, jnp.zeros_like(x))}

    xs = np.arange(0.0, 64.0)
    ds = sweep(mostly_bad, {"x": xs}, chunk_size=64, progress=False)
    good = xs % 4 == 1
    np.testing.assert_array_equal(ds.status.values, np.where(good, OK, ERROR))
    np.testing.assert_allclose(ds.y.values, np.where(good, 2.0 * xs, np.nan))
    assert len(calls) == 16 * 7
