"""Test configuration: x64 on for the default run, seeded PRNG keys, jaxtyping checks."""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
os.environ.setdefault("MPLBACKEND", "Agg")
# jaxlib's CPU LAPACK calls run on SciPy's OpenBLAS, whose worker threads busy-wait after
# each call: with two pytest workers on two cores that made identical programs 10–100×
# slower. One BLAS thread per worker (read when OpenBLAS loads, so before numpy/scipy).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
# jax-ml/jax#25861: with asynchronous dispatch on the CPU client, programs that contain host
# callbacks (eqx.error_if uses one) can deadlock — all threads waiting, no CPU used — which we
# saw on the 2-core machine under load. Inline dispatch avoids it (tests only; the library
# never changes global config).
jax.config.update("jax_cpu_enable_async_dispatch", False)

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def key():
    """A fixed PRNG key: every random test is reproducible."""
    return jax.random.PRNGKey(20261121)


@pytest.fixture
def rng():
    """A seeded NumPy generator for reference computations."""
    return np.random.default_rng(20261121)
