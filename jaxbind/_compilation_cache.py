"""JAX's persistent compilation cache, set up for jaxbind (issue 15 §10).

The first call of a jaxbind kernel in a fresh Python process traces it and compiles its
XLA program; on a 2-core CPU that is seconds per kernel (``benchmarks/bench_compile.py``
measures it).  JAX can store compiled programs on disk and reload them in the next process
(the *persistent compilation cache*); :func:`enable_compilation_cache` switches it on with a
per-user default directory, so a notebook kernel restart or a second CLI run reloads the
programs instead of recompiling them.  The ``jaxbind`` command-line interface calls it by
default; in a notebook call it once, before the first kernel::

    import jaxbind as jb
    jb.enable_compilation_cache()            # ~/.cache/jaxbind/xla (or see below)

A cached program is keyed by the traced computation, the jax/jaxlib versions, the backend
and the compiler options, so a cache entry is never reused for a different program; an
upgrade of jax simply misses the cache.  The directory may be deleted at any time.

Limits (jax 0.9.2, measured on the development CPU, ``benchmarks/RESULTS.md``): JAX does not
write programs that contain host callbacks, and ``eqx.error_if`` (the runtime checks behind
``throw=True``) is one, so only callback-free programs are cached; tracing and lowering are
not cached (they are ~40 % of a first call on CPU).  On AVX-512 CPUs XLA logs a
``cpu_aot_loader ... +prefer-no-gather`` error line on each reload (jax issue #38445); the
program loads and runs.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_cache_dir", "enable_compilation_cache"]

#: Environment variable naming the cache directory (overrides the XDG default).
ENV_VAR = "JAXBIND_CACHE_DIR"


def default_cache_dir() -> Path:
    """The default persistent-cache directory.

    ``$JAXBIND_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/jaxbind/xla``, else
    ``~/.cache/jaxbind/xla``.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "jaxbind" / "xla"


def enable_compilation_cache(path: str | os.PathLike | None = None, *,
                             min_compile_time_secs: float = 0.1) -> Path:
    """Store compiled XLA programs on disk and reuse them in later processes.

    Sets JAX's ``jax_compilation_cache_dir`` and lowers
    ``jax_persistent_cache_min_compile_time_secs`` (JAX's default, 1 s, would skip most of
    jaxbind's programs, which compile in 0.1–1 s each on a CPU but add up); programs that
    compile faster than ``min_compile_time_secs`` are not written (reloading them would cost
    about as much as compiling).  Safe to call more than once and after jax has already
    compiled something (the cache is re-initialised).

    Args:
        path: cache directory; default :func:`default_cache_dir` (``$JAXBIND_CACHE_DIR``,
            ``$XDG_CACHE_HOME/jaxbind/xla`` or ``~/.cache/jaxbind/xla``).  Created if missing.
        min_compile_time_secs: the smallest compile time (s) worth caching, ≥ 0.
    Returns:
        The cache directory (absolute).
    Raises:
        ValueError: ``min_compile_time_secs`` negative or not finite.
        OSError: the directory cannot be created.
    """
    import math

    import jax
    from jax.experimental.compilation_cache import compilation_cache as _cc

    t = float(min_compile_time_secs)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"min_compile_time_secs must be finite and >= 0, got {min_compile_time_secs!r}")
    d = Path(path).expanduser() if path is not None else default_cache_dir()
    d = d.resolve()
    d.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_enable_compilation_cache", True)
    jax.config.update("jax_compilation_cache_dir", str(d))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", t)
    # JAX decides once per process whether the cache is in use (at the first compile);
    # reset that decision so a call after some compilation still takes effect.
    _cc.reset_cache()
    return d
