"""Sharding a kernel yourself over local devices (README "Scale"): ``jax.jit`` with a
``NamedSharding`` over the batch axis of a vmapped kernel — lineax-based solves included —
runs on every device and gives the single-device result. Runs in a subprocess with two CPU
devices (the device count is fixed when JAX starts)."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SCRIPT = r'''
import json
import sys
import jax
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_enable_async_dispatch", False)  # as tests/conftest.py
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from jaxbind import GaussianState, LinearSystem, Particles, PlaneWave, evolve, solve_dipoles, steady_state
from jaxbind.quantum.models import add_thermal_bath

assert len(jax.devices()) == 2
sh = NamedSharding(Mesh(np.array(jax.devices()), ("b",)), P("b"))
lam = 1064e-9
beam = PlaneWave(lam, 1e9, direction=(0.0, 0.0, 1.0), polarization=(1.0, 0.0, 0.0))


def dipoles(d, method):
    pos = jnp.stack([jnp.zeros(3), jnp.array([1.0, 0.0, 0.0]) * d])
    ps = Particles(pos, 20e-9, alpha_e=jnp.full(2, 1e-32 + 1e-34j))
    return solve_dipoles(ps, beam, method, throw=False).dipole_moments


def oscillator(w):
    s = add_thermal_bath(LinearSystem.from_modes(jnp.reshape(w, (1, 1)).astype(complex)), 0, 0.1, 0.5)
    return steady_state(s).cov, evolve(s, GaussianState.vacuum(1), jnp.array([0.0, 5.0])).cov[-1]


out = {}
ds = jnp.linspace(0.5, 2.0, 8) * lam
ws = jnp.linspace(0.5, 2.0, 8)
cases = (("direct", lambda d: dipoles(d, "direct"), ds), ("gmres", lambda d: dipoles(d, "gmres"), ds),
         ("oscillator", oscillator, ws))
for name, fn, x in (c for c in cases if c[0] in sys.argv[1:]):
    ref = jax.tree_util.tree_leaves(jax.jit(jax.vmap(fn))(x))
    got = jax.tree_util.tree_leaves(
        jax.jit(jax.vmap(fn), in_shardings=sh, out_shardings=sh)(jax.device_put(x, sh)))
    out[name] = {
        "rel": max(float(np.max(np.abs(np.asarray(g) - np.asarray(r))) / np.max(np.abs(np.asarray(r))))
                   for g, r in zip(got, ref)),
        "finite": all(bool(np.all(np.isfinite(np.asarray(g)))) for g in got),
        "devices": min(len(g.sharding.device_set) for g in got),
    }
print(json.dumps(out))
'''


# Both in `make test-all` (a fresh process with two devices, ~6 CPU-s for the oscillator, the
# dipole solves ~2/3 more); default coverage of jitted, sharded lineax-based Gaussian kernels:
# tests/workflows/test_sweep.py::test_sharded_over_4_cpu_devices_float32 (steady state of a
# thermal oscillator sharded over 4 CPU devices, against the closed form).
@pytest.mark.parametrize("cases", [pytest.param(("oscillator",), id="oscillator", marks=pytest.mark.slow),
                                   pytest.param(("direct", "gmres"), id="dipoles", marks=pytest.mark.slow)])
def test_jit_sharded_kernels_over_two_cpu_devices(tmp_path, cases):
    script = tmp_path / "jit_shard.py"
    script.write_text(_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    out = subprocess.run([sys.executable, str(script), *cases], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(r) == set(cases)
    for name, v in r.items():
        assert v["devices"] == 2, name
        assert v["finite"], name
        assert v["rel"] < 1e-12, (name, v["rel"])
