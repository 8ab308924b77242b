"""Test configuration: runtime type checking, x64 on for the default run, seeded PRNG keys,
per-test time limits."""

import faulthandler
import os
import sys

# Compile time is most of the suite's cost (hundreds of small programs, each compiled once),
# so the tests ask XLA's CPU backend for cheaper compilation:
#  * LLVM -O0 without its expensive passes (~25-30 % less CPU per file, measured). Only LLVM's
#    code generation changes: XLA runs the same HLO passes and no fast-math at any level, so
#    results agree with the default build to round-off (≤ 1.2e-15 relative on nine registry
#    kernels and their gradients, measured; most bitwise).
#  * XLA's older (LLVM IR) fusion emitters instead of the MLIR-based ones it uses by default
#    (`--xla_cpu_use_fusion_emitters=false`): backend compilation of the whole default suite
#    226 → 92 CPU-s, the suite 432 → 280 CPU-s (session 10, quiet 2-core machine). The same
#    HLO is emitted by another code generator, so values agree to round-off: every registry
#    kernel's outputs and the gradient of their sum, 134 arrays, differ by ≤ 8e-14 of each
#    array's largest entry (53 bitwise equal; the one larger difference is a gradient that is
#    zero analytically, 1e-24 against entries of 3e-8); one test's atol went 1e-15 → 1e-14
#    (tests/mechanics/test_regimes.py). jaxlib versions that no longer know the flag would abort on it, so it is added only
#    after a child process has accepted it (skipped for the jaxlib it was measured with).
# The library never sets these flags; set XLA_FLAGS yourself to test the default build.
_XLA_TEST_FLAGS = ("--xla_force_host_platform_device_count=1 --xla_backend_optimization_level=0 "
                   "--xla_llvm_disable_expensive_passes=true")
_LEGACY_FUSION = "--xla_cpu_use_fusion_emitters=false"


def _xla_accepts(flags: str) -> bool:
    """Whether this jaxlib's XLA starts with ``flags`` (an unknown flag aborts the process)."""
    import subprocess

    probe = "import jax.numpy as jnp; jnp.zeros(2).block_until_ready()"
    r = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "XLA_FLAGS": flags},
                       capture_output=True, timeout=120)
    return r.returncode == 0


if "XLA_FLAGS" not in os.environ:  # pytest-xdist workers inherit the controller's choice
    from importlib.metadata import version as _version

    _with_legacy = f"{_XLA_TEST_FLAGS} {_LEGACY_FUSION}"
    _known = _version("jaxlib") == "0.9.2"  # measured with it: no child process needed
    os.environ["XLA_FLAGS"] = (_with_legacy if _known or _xla_accepts(_with_legacy)
                               else _XLA_TEST_FLAGS)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JAXBIND_NO_CACHE", "1")  # CLI tests: no persistent XLA cache in $HOME
# jaxlib's CPU LAPACK calls run on SciPy's OpenBLAS, whose worker threads busy-wait after
# each call: with two pytest workers on two cores that made identical programs 10–100×
# slower. One BLAS thread per worker (read when OpenBLAS loads, so before numpy/scipy).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# --- runtime type checking ---------------------------------------------------------------------
# The jaxtyping annotations of the modules below are checked at run time in every test:
# jaxtyping's import hook wraps each function and dataclass / eqx.Module of these modules in
# `@jaxtyped(typechecker=beartype)` as they are imported (so before any test imports jaxbind;
# under `jit` the checks run once per trace). PEP 484's numeric tower: a `float` parameter
# accepts an int. (The hook is installed here rather than through jaxtyping's pytest option
# `--jaxtyping-packages`, whose parser cannot combine several packages with a configured
# checker.) The whole package is checked: every module's tests pass under the check (a module
# whose tests do not may be listed separately instead of "jaxbind" until they do).
# `JAXBIND_TYPECHECK=0` turns the checks off (e.g. to time them), `JAXBIND_TYPECHECK=<modules>`
# (a comma-separated list) checks other modules; tests that feed deliberately wrong types or
# shapes to check the library's own error messages are marked `@pytest.mark.unchecked`.
TYPECHECKED = ("jaxbind",)
TYPECHECKER = "beartype.beartype(conf=beartype.BeartypeConf(is_pep484_tower=True))"
_CHECK = os.environ.get("JAXBIND_TYPECHECK", "1")
if _CHECK not in ("0", "1"):  # e.g. JAXBIND_TYPECHECK=jaxbind.optics: check other modules
    TYPECHECKED = tuple(m.strip() for m in _CHECK.split(",") if m.strip())
if _CHECK != "0":
    _early = sorted(m for m in sys.modules if m.startswith(TYPECHECKED))
    if _early:  # pragma: no cover - a plugin imported jaxbind before this file
        raise RuntimeError(f"runtime type checks cannot wrap modules already imported: {_early}")
    from jaxtyping import install_import_hook

    install_import_hook(TYPECHECKED, TYPECHECKER)

# Python's cyclic garbage collector: tracing and lowering allocate millions of short-lived
# objects, and with the default thresholds (700, 10, 10) the collector ran ~2800 times in two
# test files, 3.2 of their 43.8 CPU-s (7 %); at (50000, 20, 20) it runs 18 times, 0.9 s
# (measured with gc.callbacks). Reference counting still frees everything acyclic at once.
import gc  # noqa: E402

gc.set_threshold(50_000, 20, 20)

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
# jax-ml/jax#25861: with asynchronous dispatch on the CPU client, programs that contain host
# callbacks (eqx.error_if uses one) can deadlock — all threads waiting, no CPU used — which we
# saw on the 2-core machine under load. Inline dispatch avoids it (tests only; the library
# never changes global config).
jax.config.update("jax_cpu_enable_async_dispatch", False)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _runtime_type_checks(request):
    """Tests marked ``unchecked`` run without the runtime type checks: they pass wrong types
    or shapes on purpose, to test the library's own error messages."""
    if request.node.get_closest_marker("unchecked") is None:
        yield
        return
    import jaxtyping

    before = jaxtyping.config.jaxtyping_disable
    jaxtyping.config.update("jaxtyping_disable", True)
    try:
        yield
    finally:
        jaxtyping.config.update("jaxtyping_disable", before)


@pytest.fixture(scope="module", autouse=True)
def _free_compiled_programs():
    """Drop JAX's compiled programs and trace caches after each test module.

    A pytest worker otherwise keeps every program it ever compiled: with `--dist loadfile`
    one worker runs half the suite and grew to 5.6 GB resident (session 9, 2-core machine),
    enough for the kernel's OOM killer to end it ("node down") on a 24-GB machine shared
    with other jobs — let alone an 8-GB laptop. Programs are rarely shared across test
    files, so clearing costs little CPU (measured in the session-9 note)."""
    yield
    jax.clear_caches()


# --- what each test costs (`make test-cost`) ----------------------------------------------------
# With JAXBIND_TEST_COST=<dir>, every worker appends one JSON line per test to <dir>/<worker>.jsonl:
# the test's process CPU seconds (user + sys, setup + call + teardown), JAX's trace / lower /
# backend-compile counts and seconds (jax.monitoring), and the programs XLA compiled, each named
# with the innermost jaxbind frame and test frame that asked for it. `benchmarks/suite_cost.py`
# summarises the files. Most of the suite's CPU is XLA compilation (one per distinct program):
# this is how to see which tests and which library entry points pay for it.
_COST_DIR = os.environ.get("JAXBIND_TEST_COST")
_cost_events: dict = {}
_cost_programs: list = []


def _cost_setup():  # pragma: no cover - measurement mode only
    import logging
    import traceback

    import jax.monitoring

    def on_duration(event, seconds, **_):
        n_s = _cost_events.setdefault(event.rsplit("/", 1)[-1], [0, 0.0])
        n_s[0] += 1
        n_s[1] += seconds

    jax.monitoring.register_event_duration_secs_listener(on_duration)

    class _Compiles(logging.Handler):
        def emit(self, record):
            msg = record.getMessage()
            if not msg.startswith("Compiling "):
                return
            lib = test = None
            for fr in traceback.extract_stack():
                if "/jaxbind/" in fr.filename and "site-packages" not in fr.filename:
                    lib = f"{fr.filename.rsplit('/jaxbind/', 1)[1]}:{fr.name}"
                elif "/tests/" in fr.filename and not fr.filename.endswith("conftest.py"):
                    test = f"{fr.filename.rsplit('/tests/', 1)[1]}:{fr.lineno}"
            _cost_programs.append([msg.split(" ")[1], lib, test])

    jax.config.update("jax_log_compiles", True)
    logger = logging.getLogger("jax")
    logger.addHandler(_Compiles(logging.DEBUG))
    logger.propagate = False  # the compile log goes to the handler only, not to the test output


if _COST_DIR:  # pragma: no cover
    _cost_setup()


@pytest.hookimpl(hookwrapper=True, specname="pytest_runtest_protocol")
def pytest_runtest_protocol_cost(item, nextitem):  # (pytest registers only pytest_* names)
    if not _COST_DIR:
        yield
        return
    import json
    import resource
    import time

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    _cost_events.clear()
    _cost_programs.clear()
    c0, t0 = cpu(), time.perf_counter()
    yield
    rec = {"test": item.nodeid, "cpu_s": cpu() - c0, "wall_s": time.perf_counter() - t0,
           "events": dict(_cost_events), "programs": list(_cost_programs)}
    os.makedirs(_COST_DIR, exist_ok=True)
    with open(os.path.join(_COST_DIR, f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl"),
              "a") as f:
        f.write(json.dumps(rec) + "\n")


@pytest.fixture
def key():
    """A fixed PRNG key: every random test is reproducible."""
    return jax.random.PRNGKey(20261121)


@pytest.fixture
def rng():
    """A seeded NumPy generator for reference computations."""
    return np.random.default_rng(20261121)


# --- time limits ---------------------------------------------------------------------------
# Two limits per test (pyproject.toml sets `timeout` and `timeout_method = "signal"`):
#  1. pytest-timeout's SIGALRM: after `timeout` seconds (wall clock) the test FAILS with
#     "Timeout (>Ns) from pytest-timeout" and the stacks of its threads; the worker lives on
#     and runs the next test. A Python signal handler runs once the interpreter regains
#     control, i.e. after the XLA call in progress returns — so a slow test (a busy machine)
#     fails cleanly, at most one compile/execute later.
#  2. A hang backstop for what a signal handler cannot end: a deadlock inside XLA's C++
#     runtime (all threads idle, the main thread never returns to Python). faulthandler's
#     watchdog thread (C, needs no GIL) dumps every thread's stack to the real stderr and
#     exits the worker `HANG_GRACE_S` after the timeout ("Timeout (h:mm:ss)!", then the
#     stacks: the test function is in the main thread's); xdist reports that test as crashed
#     (a failure — nothing is rerun).
HANG_GRACE_S = float(os.environ.get("JAXBIND_TEST_HANG_GRACE_S", 300.0))
_STDERR = None  # a dup of the real stderr (fd 2 is redirected to a file while tests run)


def pytest_configure(config):
    global _STDERR
    try:
        _STDERR = os.fdopen(os.dup(sys.__stderr__.fileno()), "w")
    except (AttributeError, OSError, ValueError):  # no usable stderr: no backstop
        _STDERR = None


def pytest_unconfigure(config):
    global _STDERR
    import faulthandler

    faulthandler.cancel_dump_traceback_later()
    if _STDERR is not None:
        _STDERR.close()
        _STDERR = None


def _timeout_s(item) -> float:
    """The pytest-timeout limit in force for ``item`` (marker, then --timeout, then ini)."""
    m = item.get_closest_marker("timeout")
    if m is not None and (m.args or "timeout" in m.kwargs):
        t = m.args[0] if m.args else m.kwargs["timeout"]
    else:
        t = item.config.getoption("timeout", None)
        if t is None:
            try:
                t = item.config.getini("timeout")
            except ValueError:  # pytest-timeout not installed
                t = None
    try:
        return float(t or 0.0)
    except (TypeError, ValueError):
        return 0.0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    t = _timeout_s(item)
    armed = t > 0 and _STDERR is not None
    if armed:
        faulthandler.dump_traceback_later(t + HANG_GRACE_S, exit=True, file=_STDERR)
    try:
        yield
    finally:
        if armed:
            faulthandler.cancel_dump_traceback_later()
