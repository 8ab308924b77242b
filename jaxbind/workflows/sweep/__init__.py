"""jaxbind.workflows.sweep: large parameter sweeps.

* :mod:`~jaxbind.workflows.sweep.grid` — parameter grids (``Grid``);
* :mod:`~jaxbind.workflows.sweep.driver` — ``sweep(fn, grid)``: chunked, sharded,
  distributed, checkpointed (its docstring is the contract for ``fn``);
* :mod:`~jaxbind.workflows.sweep._chunks` — tracing and evaluation of one chunk (internal);
* :mod:`~jaxbind.workflows.sweep.store` — in-memory and verified zarr result stores, per-point
  status codes, store locks;
* :mod:`~jaxbind.workflows.sweep.executors` — running chunks on a ``concurrent.futures`` or
  Dask executor, with retries;
* :mod:`~jaxbind.workflows.sweep.registry` — the functions a TOML config may sweep, by name.

``from jaxbind.workflows.sweep import sweep`` (the module path before the split) still works:
this package re-exports the old module's public names. Imports are lazy.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["grid", "driver", "store", "executors", "registry"],
    submod_attrs={
        "driver": ["sweep", "SweepInterrupted"],
        "grid": ["Grid", "as_grid"],
        "store": ["verify_store", "OK", "NONFINITE", "ERROR", "PENDING", "MemorySink", "ZarrSink",
                  "SweepStoreError", "StoreLockedError"],
    },
)
