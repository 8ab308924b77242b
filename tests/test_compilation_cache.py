"""jaxbind.enable_compilation_cache and the first-call benchmark (issue 15 §10)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

import jaxbind as jb
from jaxbind import _compilation_cache as cc

REPO = Path(__file__).resolve().parents[1]
_KEYS = ("jax_enable_compilation_cache", "jax_compilation_cache_dir",
         "jax_persistent_cache_min_compile_time_secs")


def _read(name):
    return getattr(jax.config, name)


@pytest.fixture
def restore_jax_cache_config():
    from jax.experimental.compilation_cache import compilation_cache as jcc

    old = {k: _read(k) for k in _KEYS}
    yield
    for k, v in old.items():
        jax.config.update(k, v)
    jcc.reset_cache()


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env.update(extra)
    return env


def test_default_dir_respects_env(monkeypatch, tmp_path):
    monkeypatch.delenv(cc.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cc.default_cache_dir() == tmp_path / "xdg" / "jaxbind" / "xla"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cc.default_cache_dir() == tmp_path / "home" / ".cache" / "jaxbind" / "xla"
    monkeypatch.setenv(cc.ENV_VAR, str(tmp_path / "mine"))
    assert cc.default_cache_dir() == tmp_path / "mine"


def test_enable_sets_config_and_creates_dir(tmp_path, monkeypatch, restore_jax_cache_config):
    d = tmp_path / "a" / "b"
    got = jb.enable_compilation_cache(d, min_compile_time_secs=0.25)
    assert got == d.resolve() and d.is_dir()
    assert _read("jax_compilation_cache_dir") == str(d.resolve())
    assert _read("jax_persistent_cache_min_compile_time_secs") == 0.25
    assert _read("jax_enable_compilation_cache") is True
    monkeypatch.setenv(cc.ENV_VAR, str(tmp_path / "env"))
    assert jb.enable_compilation_cache() == (tmp_path / "env").resolve()
    assert _read("jax_compilation_cache_dir") == str((tmp_path / "env").resolve())


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_enable_rejects_bad_threshold(tmp_path, bad):
    with pytest.raises(ValueError, match="min_compile_time_secs"):
        jb.enable_compilation_cache(tmp_path, min_compile_time_secs=bad)


_CHILD = """
import sys, jax, jax.numpy as jnp
from jax import monitoring
hits = []
monitoring.register_event_listener(
    lambda e, **k: hits.append(e) if e == '/jax/compilation_cache/cache_hits' else None)
jnp.zeros(3).block_until_ready()       # compile something BEFORE enabling: must still work
from jaxbind._compilation_cache import enable_compilation_cache
enable_compilation_cache(sys.argv[1], min_compile_time_secs=0.0)
f = jax.jit(lambda x: jnp.linalg.solve(x @ x.T + jnp.eye(4), jnp.sin(x).sum(1)))
print(float(f(jnp.arange(16.0).reshape(4, 4) / 16).sum()), len(hits))
"""


def test_second_process_hits_the_cache(tmp_path):
    """A fresh process reloads the first process's program from the cache directory."""
    outs = []
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], capture_output=True,
                           text=True, env=_env(), timeout=120)
        assert p.returncode == 0, p.stderr
        outs.append(p.stdout.split())
    (v1, hits1), (v2, hits2) = outs
    assert v1 == v2
    assert int(hits1) == 0 and int(hits2) >= 1
    assert any(tmp_path.iterdir())


_CHILD_KERNELS = """
import json, logging, sys
import numpy as np
import jax
from jax import monitoring
jax.config.update("jax_explain_cache_misses", True)
counts = {"compiles": 0, "hits": 0}
refused = []
monitoring.register_event_duration_secs_listener(
    lambda e, d, **k: counts.__setitem__("compiles", counts["compiles"] + 1)
    if e == "/jax/core/compile/backend_compile_duration" else None)
monitoring.register_event_listener(
    lambda e, **k: counts.__setitem__("hits", counts["hits"] + 1)
    if e == "/jax/compilation_cache/cache_hits" else None)
class H(logging.Handler):
    def emit(self, r):
        m = r.getMessage()
        if "Not writing" in m and "host callbacks" in m:
            refused.append(m.split("'")[1])
logging.getLogger("jax._src.compiler").addHandler(H())
import jaxbind as jb
jb.enable_compilation_cache(sys.argv[1], min_compile_time_secs=0.0)
arr = jb.TweezerArray(np.array([[0.0, 0.0], [2e-6, 0.0]]), powers=0.1, wavelength=1064e-9,
                      NA=0.6, radii=50e-9, index=1.45, density=2200.0)
lin = jb.linearize(arr)                 # eager, throw=True (the default)
rates = jb.two_particle_rates(arr)
jax.block_until_ready((lin.omega, rates.g))
print(json.dumps({**counts, "refused": refused, "omega": float(lin.omega[0])}))
"""


# two fresh processes (~4 CPU-s); default coverage of the persistent cache round trip:
# test_second_process_hits_the_cache
@pytest.mark.slow
def test_eager_linearize_and_rates_are_written_to_and_read_from_the_cache(tmp_path):
    """Eager ``linearize`` (default ``throw=True``) and ``two_particle_rates`` compile
    programs without host callbacks (the throw=True raise happens on the host from
    ``result``), so JAX writes them to the persistent cache and a second fresh process
    reloads every program instead of compiling it."""
    runs = []
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", _CHILD_KERNELS, str(tmp_path)], capture_output=True,
                           text=True, env=_env(), timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    first, second = runs
    assert first["refused"] == [], f"not cached (host callbacks): {first['refused']}"
    assert first["hits"] == 0 and first["compiles"] >= 2
    assert second["hits"] == second["compiles"] >= 2  # every program came from the cache
    assert second["omega"] == first["omega"]


@pytest.mark.slow  # ~4 CPU-s of fresh processes; the compile counts it reports are tested below
def test_bench_compile_quick_runs(tmp_path):
    """benchmarks/bench_compile.py --quick: each case in a fresh process, table + JSON."""
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_compile.py"), "--quick",
                        "--json", str(out)], capture_output=True, text=True, env=_env(),
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    rows = json.loads(out.read_text())["cases"]
    assert [r["kernel"] for r in rows] == ["green_tensor", "occupations_6x6"]
    for r in rows:
        assert r["compiles"] >= 1 and r["cpu_s"] > 0 and r["wall_s"] > 0
        assert r["second_compiles"] == 0  # the second identical call re-uses every program
    assert "| green_tensor |" in p.stdout


# ---------------------------------------------------------------- first-call compilations

_COMPILES = []


def _on_duration(event, duration, **_):
    if event == "/jax/core/compile/backend_compile_duration":
        _COMPILES.append(duration)


jax.monitoring.register_event_duration_secs_listener(_on_duration)


def _n_compiles(fn):
    n0 = len(_COMPILES)
    jax.block_until_ready(jax.tree_util.tree_leaves(fn()))
    return len(_COMPILES) - n0


def test_new_python_scalars_do_not_recompile_mie_or_beams():
    """Issue 15 §10: new Python-scalar values reuse the compiled programs (no re-trace),
    and the public entry points run as a few whole programs, not op by op."""
    import jax.numpy as jnp

    def beam_and_fields(power, na, z):
        beam = jb.CoherentBeams.from_tweezers(
            powers=jnp.array([power, power]), wavelength=1064e-9, NA=na,
            foci=jnp.array([[0.0, 0.0, 0.0], [2e-6, 0.0, 0.0]]), phases=0.3)
        return beam.fields(jnp.array([1e-6, 0.0, z])), beam.field_gradients(jnp.array([0.0, 0.0, z]))

    _n_compiles(lambda: jb.dipole_polarizabilities(1.45, 100e-9, 1064e-9))
    assert _n_compiles(lambda: jb.dipole_polarizabilities(1.5, 120e-9, 1550e-9)) == 0
    _n_compiles(lambda: jb.mie_coefficients(1.45, 0.6, 3))
    assert _n_compiles(lambda: jb.mie_coefficients(1.7, 0.9, 3)) == 0
    # The test's own `jnp.array([...])` of Python lists compiles a conversion per new shape:
    # warm those first, so that only the library's programs are counted (they were counted
    # by luck of test order before each module's caches were cleared, tests/conftest.py).
    jnp.array([0.1, 0.1]), jnp.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), jnp.array([0.0, 0.0, 0.1])
    first = _n_compiles(lambda: beam_and_fields(0.2, 0.6, 1e-7))
    assert first <= 6  # fields + gradients programs and a few array constructions
    assert _n_compiles(lambda: beam_and_fields(0.3, 0.5, 2e-7)) == 0
    xs = jnp.linspace(-1e-6, 1e-6, 5)
    beam = jb.PlaneWave(1064e-9, 1e9, polarization=(0.0, 1.0, 0.0))
    _n_compiles(lambda: jb.beams.intensity_map(beam, xs, xs, z=0.0))
    assert _n_compiles(lambda: jb.beams.intensity_map(beam, xs, xs, z=1e-7)) == 0
    assert _n_compiles(lambda: jb.PlaneWave(532e-9, 2e9, direction=(0.0, 1.0, 0.0),
                                            polarization=(1.0, 0.0, 1j))) == 0


def test_materials_and_ellipsoids_run_as_one_program():
    import jax.numpy as jnp

    _n_compiles(lambda: jb.clausius_mossotti(2.1 + 0.1j, 100e-9, 5.9e6))
    assert _n_compiles(lambda: jb.clausius_mossotti(2.3 + 0.2j, 120e-9, 6.1e6)) == 0
    _n_compiles(lambda: jb.ellipsoids.rotation_matrix(0.1, 0.2, 0.3))
    assert _n_compiles(lambda: jb.ellipsoids.rotation_matrix(0.4, 0.5, 0.6)) == 0
    _n_compiles(lambda: jb.ellipsoids.depolarization_factors(jnp.array([1.0, 2.0, 3.0])))
    assert _n_compiles(lambda: jb.ellipsoids.depolarization_factors(jnp.array([1.0, 1.5, 4.0]))) == 0
    assert _n_compiles(lambda: jb.ellipsoids.susceptibility_tensor(2.1, jnp.array([0.2, 0.3, 0.5]))) <= 1
    # concrete bad input is still a ValueError naming the argument (host-side check)
    with pytest.raises(ValueError, match="radius"):
        jb.clausius_mossotti(2.1, -1e-7, 5.9e6)
    with pytest.raises(ValueError, match="semi_axes"):
        jb.ellipsoids.depolarization_factors(jnp.array([1.0, 0.0, 3.0]))
