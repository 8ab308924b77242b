"""jaxbind.workflows: sweeps (chunked, sharded, distributed, verified stores), optax design
loops with constraints and an objective library, configs and the ``jaxbind`` CLI.

Submodules and their public names are imported lazily on first use (``lazy_loader``), so the
command line starts without importing JAX.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["sweep", "store", "grid", "executors", "optimize", "constraints", "objectives",
                "objectives_kerker", "config", "optimize_config", "registry", "report", "demo",
                "cli"],
    submod_attrs={
        "sweep": ["sweep", "SweepInterrupted"],
        "store": ["verify_store"],
        "grid": ["Grid"],
        "optimize": ["optimize", "optimize_restarts", "OptimizeResult"],
    },
)
