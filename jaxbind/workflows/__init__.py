"""jaxbind.workflows: what runs on top of the physics layers, split by concept.

* :mod:`jaxbind.workflows.sweep` — parameter sweeps: grids, the chunked / sharded /
  distributed sweep driver, chunk evaluation, verified stores, executors and the registry of
  functions a config may sweep;
* :mod:`jaxbind.workflows.design` — gradient-based design: optax loops (``optimize``),
  constraints, the objective library and the ``jaxbind optimize`` config;
* the command line: :mod:`~jaxbind.workflows.cli` (``jaxbind``), :mod:`~jaxbind.workflows.config`
  (TOML sweep configs), :mod:`~jaxbind.workflows.report` (running a config and writing its
  outputs) and :mod:`~jaxbind.workflows.demo`.

Submodules and their public names are imported lazily on first use (``lazy_loader``), so the
command line starts without importing JAX. The old flat module paths
(``jaxbind.workflows.optimize``, ``.grid``, ``.store``, ...) still import, for one release,
with a ``DeprecationWarning`` naming the new path (:mod:`jaxbind.workflows._moved`).
"""

import lazy_loader as _lazy

from ._moved import MOVED_MODULES as _MOVED_MODULES

_getattr, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["sweep", "design", "config", "report", "demo", "cli"],
    submod_attrs={
        "sweep": ["Grid", "SweepInterrupted", "verify_store"],
        "design": ["optimize_restarts", "OptimizeResult"],
    },
)


def __getattr__(name: str):
    if name in _MOVED_MODULES:
        from ._moved import moved_module

        return moved_module(name)
    return _getattr(name)
