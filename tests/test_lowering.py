"""Accelerator lowering without a device (issue 19 §1–2).

Every kernel of ``tests/kernel_registry.py`` is jitted and lowered for the CUDA platform on
this CPU-only machine (``jax.jit(f).trace(x).lower(lowering_platforms=("cuda",))``; with jax
0.9.2 this needs no GPU and no CUDA plugin) in float64 and float32, and the StableHLO is
walked (MLIR operations, following ``func.call`` into private functions) to assert:

* it lowers, and contains no CPU-only custom call (``lapack_*``, ``ducc_*``, ``cpu_*``);
* the float32 program does no float64 / complex128 arithmetic (no silent promotion; constants
  converted to float32 and pure data movement, which XLA folds, are not counted);
* every float32 matrix product (``stablehlo.dot_general``) carries ``precision = HIGHEST``
  (issue 19 §2: on Ampere/Hopper, XLA runs DEFAULT-precision f32 products in TF32, ~1e-3);
* no host callback sits inside a loop body (``stablehlo.while``), and registry entries that
  do not call their kernel with ``throw=True`` have none at all (see the policy below).

Host callbacks cannot be lowered for CUDA without a CUDA backend: jax needs the backend
object to register the Python callback, and fails with "ValueError: the platform for the
specified backend cpu is different from the lowering platform cuda" (recorded in
benchmarks/RESULTS.md). ``eqx.error_if`` (``throw=True``) lowers, with the default
``EQX_ON_ERROR=raise``, to ``lax.cond(pred, pure_callback(raise), identity)``. So the CUDA
lowering is done in one fresh subprocess with ``EQX_ON_ERROR=nan`` (what ``EQX_ON_ERROR=nan`` gives:
a failed check returns NaN, no callback — the setting recommended for GPU sweeps in the
README), and the host-callback checks read the CPU lowering, which has the same callbacks at
the same places.

Host-callback policy. The callback of an ``eqx.error_if`` runs only when an error occurred,
but the conditional's predicate must reach the host, one device→host synchronisation per
check. A check is therefore acceptable only off the hot path: outside every loop (once per
call of a user-facing kernel) and never in the ``throw=False`` form that sweeps and batched
calls use. The vmapped-chunk test below checks a ``throw=False`` kernel has none.

Default suite vs ``make test-all`` (issue 20 §3): the per-kernel checks run by default for the
representative kernels ``kernel_registry.DEFAULT`` (one per family: green_tensor,
mie_coefficients, tweezer_fields, optical_forces, linearize_far_field, steady_state,
cooling_steady_state), lowered for CUDA in one subprocess; the full registry (a second
subprocess) and the user-level ``JAX_DEFAULT_MATMUL_PRECISION=highest`` check (its four
kernels use lineax internals and are none of the representatives; the representatives'
own products are checked for ``precision = HIGHEST`` by default) are marked ``slow``. The
policy tests at the end (callbacks with and without ``throw``, the sweep chunk) run by default.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax._src import config as jax_config
from jax._src.interpreters import mlir

import jaxbind as jb

from kernel_registry import REGISTRY, in_default

CPU_ONLY = re.compile(r"^(lapack_|ducc_|cpu_|xla_ffi_python_cpu|xla_python_cpu)")
CALLBACK = re.compile(r"callback")
F64 = re.compile(r"\bf64\b|complex<f64>")

# ops that only move or convert data (XLA folds convert(broadcast(constant)) at compile time);
# everything else on a float64 value in a float32 program is float64 arithmetic
STRUCTURAL = {"stablehlo.constant", "stablehlo.convert", "stablehlo.broadcast_in_dim", "stablehlo.reshape",
              "func.call", "func.return", "stablehlo.return"}


def _heavy(name) -> bool:
    """Entries outside the default representative subset (``kernel_registry.DEFAULT``, one
    kernel per family, issue 20 §3) or marked ``slow`` (heavy programs): their lowering checks
    run in ``make test-all``; the default suite traces and lowers only the representatives."""
    return not in_default(name)


def _param(name, check):
    k = REGISTRY[name]
    marks = [pytest.mark.slow] if _heavy(name) else []
    if check in k.xfail:
        marks.append(pytest.mark.xfail(strict=True, reason=k.xfail[check]))
    return pytest.param(name, marks=marks, id=name)


@functools.cache
def lowered(name: str, dtype=jnp.float64, platform: str = "cpu"):
    """The jitted kernel lowered in this process (default equinox error mode)."""
    k = REGISTRY[name]
    # deeper debug locations, so that the jaxbind line of an op survives equinox's frames
    with jax_config.traceback_in_locations_limit(60):
        return jax.jit(k.fn).trace(jnp.asarray(k.x0, dtype)).lower(lowering_platforms=(platform,))


def summarize(lowering) -> dict:
    """What the tests assert on, from one lowering (JSON-serialisable)."""
    ops = _ops(lowering)
    dots = [o for o in ops if o.name in ("stablehlo.dot_general", "stablehlo.dot")]
    return {
        "custom_calls": sorted({_target(o) for o in custom_calls(ops)}),
        "callbacks": sorted({_where(o) for o in custom_calls(ops) if CALLBACK.search(_target(o))}),
        "f64_ops": sorted({f"{o.name} at {_where(o)}" for o in ops if any(F64.search(t) for t in o.types)}),
        "dots_default_precision": sorted({_where(o) for o in dots
                                          if "HIGHEST" not in o.attrs.get("precision_config", "")}),
        "n_dots": len(dots),
    }


def cuda_summaries() -> dict:
    """{name: {"f64"|"f32": summary or {"error": message}}} for every registry kernel lowered
    for CUDA, computed in fresh subprocesses with ``EQX_ON_ERROR=nan`` (a fresh process so
    that no jaxpr traced earlier with the raise mode is reused from jax's caches): one for the
    default-suite kernels, one for the heavy (``slow``) ones."""
    return {n: v for heavy in (False, True) for n, v in _cuda_summaries(_group(heavy), None).items()}


def _group(heavy: bool) -> tuple:
    return tuple(n for n in REGISTRY if _heavy(n) == heavy)


@functools.cache
def _cuda_summaries(names, precision):
    here = pathlib.Path(__file__).parent
    env = {**os.environ, "EQX_ON_ERROR": "nan", "JAX_ENABLE_X64": "1", "JAX_PLATFORMS": "cpu",
           **({"JAX_DEFAULT_MATMUL_PRECISION": precision} if precision else {}),
           "PYTHONPATH": os.pathsep.join([str(here.parent), str(here), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, __file__, *names], env=env, capture_output=True, text=True,
                         timeout=1200)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _main(names):
    res = {}
    for name in names:
        res[name] = {}
        for label, dt in (("f64", jnp.float64), ("f32", jnp.float32)):
            try:
                res[name][label] = summarize(lowered(name, dt, "cuda"))
            except Exception as e:  # noqa: BLE001 - reported by the test that reads it
                res[name][label] = {"error": f"{type(e).__name__}: {str(e)[:2000]}"}
    print(json.dumps(res))


# ---------------------------------------------------------------------------------------
# walking the StableHLO module
# ---------------------------------------------------------------------------------------


_ATTRS = {"stablehlo.custom_call": ("call_target_name",), "func.call": ("callee",),
          "stablehlo.dot_general": ("precision_config",), "stablehlo.dot": ("precision_config",)}


class Op:
    """A flattened view of one MLIR operation: name, text, whether it is inside a loop body,
    and the function it belongs to."""

    def __init__(self, op, func, in_loop):
        self.name = op.name
        self.func = func
        self.in_loop = in_loop
        # only the attributes the checks read (str() of some dense complex constants aborts
        # in the MLIR Python bindings of jaxlib 0.9.2)
        keys = _ATTRS.get(op.name, ())
        self.attrs = {a: str(op.attributes[a]) for a in keys if a in op.attributes}
        self.types = [str(r.type) for r in op.results] + [str(v.type) for v in op.operands]
        self.location = str(op.location)


def _ops(lowering) -> list[Op]:
    """All operations reachable from the entry function, with ``in_loop`` set for those in a
    ``stablehlo.while`` body or in a function called (transitively) from one."""
    with mlir.make_ir_context():
        module = mlir.ir.Module.parse(lowering.as_text(debug_info=True))
        funcs = {}
        for op in module.body.operations:
            if op.operation.name == "func.func":
                funcs[str(op.attributes["sym_name"]).strip('"')] = op.operation
        out, seen = [], set()

        def walk(op, fname, in_loop):
            for region in op.regions:
                for block in region.blocks:
                    for child in block.operations:
                        child = child.operation
                        rec = Op(child, fname, in_loop)
                        out.append(rec)
                        if child.name == "func.call":
                            callee = rec.attrs["callee"].lstrip("@")
                            if (callee, in_loop) not in seen and callee in funcs:
                                seen.add((callee, in_loop))
                                walk(funcs[callee], callee, in_loop)
                        walk(child, fname, in_loop or child.name == "stablehlo.while")

        walk(funcs["main"], "main", False)
        return out


def custom_calls(ops):
    return [o for o in ops if o.name == "stablehlo.custom_call"]


def _target(o):
    return o.attrs.get("call_target_name", "").strip('"')


_SRC = re.compile(r'"([^"]*jaxbind/[^"]+\.py)":(\d+)')


def _where(o):
    """The innermost jaxbind source line of an operation (from its debug location)."""
    hits = _SRC.findall(o.location)
    if hits:
        path, line = hits[0]
        return f"{path[path.rindex('jaxbind/'):]}:{line}"
    return o.location[:120]


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------

NAMES = list(REGISTRY)


def _cuda(name, dtype_label, precision=None):
    names = _group(_heavy(name))
    if precision is not None:
        names = tuple(n for n in HIGHEST_CHECK if n in names)
    s = _cuda_summaries(names, precision)[name][dtype_label]
    assert "error" not in s, f"{name} ({dtype_label}) does not lower for CUDA: {s.get('error')}"
    return s


@pytest.mark.parametrize("dtype", ["f64", "f32"])
@pytest.mark.parametrize("name", [_param(n, "lower") for n in NAMES])
def test_lowers_for_cuda_without_cpu_only_custom_calls(name, dtype):
    s = _cuda(name, dtype)
    bad = [t for t in s["custom_calls"] if CPU_ONLY.match(t)]
    assert not bad, f"{name}: CPU-only custom calls in the CUDA lowering: {bad}"
    assert not s["callbacks"], f"{name}: host callbacks with EQX_ON_ERROR=nan: {s['callbacks']}"


@pytest.mark.parametrize("name", [_param(n, "callbacks") for n in NAMES])
def test_no_host_callback_inside_loops(name):
    """From the CPU lowering in the default (raise) error mode: the same callbacks, same places
    (float64 only: the checks do not depend on the dtype)."""
    for dtype in (jnp.float64,):
        ops = _ops(lowered(name, dtype, "cpu"))
        cbs = [o for o in custom_calls(ops) if CALLBACK.search(_target(o))]
        looped = [f"{_target(o)} at {_where(o)}" for o in cbs if o.in_loop]
        assert not looped, f"{name}: host callbacks inside loop bodies: {looped}"
        if not REGISTRY[name].throws:
            assert not cbs, f"{name} (throw=False path): host callbacks at {[_where(o) for o in cbs]}"


@pytest.mark.parametrize("name", [_param(n, "f64_in_f32") for n in NAMES])
def test_float32_program_has_no_float64(name):
    bad = [o for o in _cuda(name, "f32")["f64_ops"] if o.split(" at ")[0] not in STRUCTURAL]
    assert not bad, f"{name}: float64 values in the float32 program: {bad[:12]}"


@pytest.mark.parametrize("name", [_param(n, "precision") for n in NAMES])
def test_float32_matrix_products_request_full_precision(name):
    bad = _cuda(name, "f32")["dots_default_precision"]
    assert not bad, f"{name}: float32 dot_general without precision=HIGHEST (TF32 on GPUs) at {bad}"


HIGHEST_CHECK = ("solve_dipoles_gmres", "linearize_exact", "evolve", "fock_steady_state_iterative")


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if _heavy(n) else [], id=n)
                                  for n in HIGHEST_CHECK])
def test_user_level_highest_precision_reaches_every_product(name):
    """The README's recipe for float32 on a GPU today: JAX_DEFAULT_MATMUL_PRECISION=highest
    (or jax.config.update("jax_default_matmul_precision", "highest")) gives every product of
    the program — lineax's GMRES and Krylov internals included — precision=HIGHEST."""
    s = _cuda(name, "f32", "highest")
    assert s["n_dots"] > 0 and not s["dots_default_precision"], s["dots_default_precision"]


def test_cuda_lowering_uses_gpu_linear_algebra():
    """Sanity of the method: the dense dipole solve (inside optical_forces, a default-suite
    representative, so no extra lowering) lowers to cuSOLVER on CUDA and to LAPACK on the CPU
    (so the CPU-only pattern above does match what it should)."""
    cuda = set(_cuda("optical_forces", "f64")["custom_calls"])
    cpu = {_target(o) for o in custom_calls(_ops(lowered("optical_forces", jnp.float64, "cpu")))}
    assert any(t.startswith("cusolver") for t in cuda), cuda
    assert any(CPU_ONLY.match(t) for t in cpu), cpu


def _callbacks(fn, x, platform="cpu"):
    """Host-callback targets of ``fn`` (a function, or a ``jax.jit(...).trace(x)`` result,
    which can be lowered for several platforms without re-tracing) lowered for ``platform``."""
    traced = fn if hasattr(fn, "lower") else jax.jit(fn).trace(x)
    lw = traced.lower(lowering_platforms=(platform,))
    return [_target(o) for o in custom_calls(_ops(lw)) if CALLBACK.search(_target(o))]


def test_error_checks_lower_to_host_callbacks_and_throw_false_removes_them():
    """Documents the policy on ``steady_state``: with throw=True its checks lower to host
    callbacks (outside loops); with throw=False there are none; and a host callback cannot
    be lowered for CUDA without a CUDA backend (the reason for the "nan" subprocess above)."""
    from kernel_registry import _system

    x = jnp.asarray(REGISTRY["steady_state"].x0)

    def f(throw):  # traced once per form, lowered for both platforms
        return jax.jit(lambda x: jb.steady_state(_system(x), throw=throw).cov).trace(x)

    with_checks, without = f(True), f(False)
    assert _callbacks(with_checks, x), "expected eqx.error_if to lower to a host callback"
    assert not _callbacks(without, x)
    assert not _callbacks(without, x, "cuda")
    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(ValueError, match="different from the lowering platform cuda"):
            _callbacks(with_checks, x, "cuda")


def test_dipole_solve_without_throw_has_no_host_callbacks():
    """solve_dipoles(throw=False): the input checks of the preparation, fields and
    polarizabilities are NaN masks under jit (jaxbind._checks.nan_if), so a sweep of dipole
    solves never syncs with the host."""
    from kernel_registry import _scene

    x = jnp.asarray(REGISTRY["solve_dipoles_direct"].x0)
    cbs = _callbacks(lambda x: jb.solve_dipoles(*_scene(x, model=jb.ClausiusMossotti()), throw=False).p, x)
    assert not cbs, f"{len(cbs)} host callbacks"


def test_sweep_chunk_program_has_no_host_callbacks():
    """A vmapped chunk of a throw=False kernel, as ``jb.sweep`` compiles per chunk, lowered
    for CUDA: no host callbacks at all (progress reporting stays on the host)."""
    from kernel_registry import _system

    def point(w):
        s = jb.steady_state(_system(jnp.stack([w, 1.1 * w, 0.05 * w, 0.1 * w, 2 * w, 0.5 * w])))
        return {"n": s.cov[0, 0], "status": s.status}

    chunk = jax.vmap(point)
    lw = jax.jit(chunk).trace(jnp.linspace(0.9, 1.1, 8)).lower(lowering_platforms=("cuda",))
    cbs = [_target(o) for o in custom_calls(_ops(lw)) if CALLBACK.search(_target(o))]
    assert not cbs, cbs


if __name__ == "__main__":  # the CUDA-lowering subprocess (see cuda_summaries)
    jax.config.update("jax_enable_x64", True)
    _main(sys.argv[1:])
