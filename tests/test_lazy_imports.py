"""``import jaxbind`` is lazy, so a module may be imported for the first time inside a JAX
trace (e.g. a sweep kernel with a local import). No module may then keep a traced value in
its globals (a module-level ``jnp`` constant would be a leaked tracer)."""

import subprocess
import sys

CODE = r"""
import importlib, pkgutil, sys
import jax, jax.numpy as jnp
import jaxbind

names = [m.name for m in pkgutil.walk_packages(jaxbind.__path__, "jaxbind.")
         if ".cli" not in m.name and "demo" not in m.name]

def inside(x):
    for n in names:
        importlib.import_module(n)
    return x + 1.0

jax.jit(inside)(1.0)
leaks = []
for n in names:
    mod = sys.modules[n]
    for k, v in vars(mod).items():
        objs = [v] + (list(vars(v).values()) if isinstance(v, type) else [])
        if any(isinstance(o, jax.core.Tracer) for o in objs):
            leaks.append(f"{n}.{k}")
print("LEAKS", leaks)
assert not leaks, leaks
"""


def test_modules_first_imported_inside_a_trace_leak_no_tracers():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
