"""Where sweep results land: an in-memory sink or a zarr store written chunk by chunk.

Layout of a sweep store (zarr format 3, readable with ``xarray.open_zarr``):

* one array per grid parameter (coordinates: ``dim`` for an axis, non-dimension coordinates
  for zipped/sampled dimensions, listed in each variable's ``coordinates`` attribute);
* one array per output leaf, dims = grid dims + per-point dims (``<name>_d0`` … unless
  ``output_dims`` names them), complex outputs stored as complex;
* ``status`` (int32, zarr fill value ``PENDING`` = −3 so never-written chunks read as pending);
* the group ``_jaxbind`` with ``done`` (uint8, one zarr chunk per sweep chunk). A sweep chunk
  is one rectangular block of the grid and exactly one zarr chunk of every variable, so
  chunks never share a file; ``done[b] = 1`` is written *after* the chunk's data, and the
  local zarr store writes files atomically (temp file + rename), so a SIGKILL at any moment
  leaves every chunk either complete-and-marked or recomputed on resume;
* root attribute ``jaxbind_sweep`` (JSON): grid/function/output fingerprints and the chunk
  plan. Resuming with a different grid, function or outputs is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from dataclasses import dataclass

import numpy as np

from .grid import Grid

OK, NONFINITE, ERROR, PENDING = 0, -1, -2, -3
STATUS_CODES = {
    "0": "ok",
    ">0": "kernel-reported status code (outputs replaced by fill_value)",
    str(NONFINITE): "non-finite output (NaN/inf) replaced by fill_value",
    str(ERROR): "kernel raised (e.g. eqx.error_if) when evaluated alone; outputs are fill_value",
    str(PENDING): "not computed yet (unfinished store)",
}


class SweepStoreError(OSError):
    """The result store cannot be created, opened or written."""


@dataclass(frozen=True)
class VarSpec:
    name: str
    shape: tuple  # per-point shape
    dtype: str
    dims: tuple  # per-point dims


def _require(mod):
    try:
        return __import__(mod)
    except ImportError as err:  # pragma: no cover - both are in the 'distributed' extra
        raise ImportError(f"sweep results need {mod} (pip install 'jaxbind[distributed]')") from err


def _coords(grid: Grid) -> dict:
    out = {}
    for f in grid.factors:
        for n, v in f.params:
            out[n] = ((f.dim,), v)
    return out


def _block_region(plan, b) -> tuple:
    """Slices (one per grid dim) covered by sweep chunk ``b``."""
    lead = np.unravel_index(b, plan.block_grid) if plan.block_grid else ()
    reg = []
    for j in range(len(plan.shape)):
        if j < plan.k:
            reg.append(slice(int(lead[j]), int(lead[j]) + 1))
        elif j == plan.k:
            s = int(lead[j]) * plan.block[0]
            reg.append(slice(s, min(s + plan.block[0], plan.shape[j])))
        else:
            reg.append(slice(0, plan.shape[j]))
    return tuple(reg)


def _attrs(meta: dict) -> dict:
    return {"jaxbind_sweep": json.dumps(meta, sort_keys=True),
            "status_codes": json.dumps(STATUS_CODES)}


class MemorySink:
    """Preallocated NumPy arrays shaped like the grid; becomes an xarray Dataset."""

    def __init__(self, grid: Grid, variables: list, plan, meta: dict, fill_value):
        self.grid, self.vars, self.plan, self.meta = grid, variables, plan, meta
        # every chunk is written before the Dataset is returned, so no initial fill is needed;
        # a single chunk is kept as fetched (no copy). ``status`` starts as np.zeros (OK == 0):
        # large zero arrays come from calloc/mmap, so untouched pages cost nothing, and only
        # chunks with a non-OK point are written — an all-OK sweep never touches its status.
        self.single = plan.n_blocks == 1
        self.data = {} if self.single else {v.name: np.empty(grid.shape + v.shape, dtype=v.dtype)
                                            for v in variables}
        self.status = np.zeros(grid.shape, dtype=np.int32)
        self.done = np.zeros(plan.n_blocks, dtype=bool)

    def write(self, b: int, values: dict, status: np.ndarray) -> None:
        if self.single:
            self.data = dict(values)
            if status.any():
                self.status[...] = status
        else:
            reg = _block_region(self.plan, b)
            for name, arr in values.items():
                self.data[name][reg] = arr
            if status.any():
                self.status[reg] = status
        self.done[b] = True

    def dataset(self):
        xr = _require("xarray")
        dims = self.grid.dims
        data_vars = {v.name: (dims + v.dims, self.data[v.name]) for v in self.vars}
        data_vars["status"] = (dims, self.status)
        return xr.Dataset(data_vars, coords=_coords(self.grid), attrs=_attrs(self.meta))


class ZarrSink:
    """A zarr store written one sweep chunk at a time (see the module docstring)."""

    def __init__(self, path, grid: Grid, variables: list, plan, meta: dict, fill_value, *, create: bool):
        _require("xarray")
        zarr = _require("zarr")
        self.path, self.grid, self.vars, self.plan = os.fspath(path), grid, variables, plan
        if create:
            self._create(zarr, meta, fill_value)
        try:
            self.group = zarr.open_group(self.path, mode="r+")
            self.done_arr = self.group["_jaxbind"]["done"]
            self.done = np.asarray(self.done_arr[:]).astype(bool)
        except Exception as err:
            raise SweepStoreError(f"cannot open sweep store {self.path!r}: {err}") from err
        self.arrays = {v.name: self.group[v.name] for v in variables}
        self.status_arr = self.group["status"]

    def _create(self, zarr, meta, fill_value) -> None:
        g, plan = self.grid, self.plan
        zchunk = tuple(1 if j < plan.k else (plan.block[0] if j == plan.k else g.shape[j])
                       for j in range(len(g.shape)))
        try:
            if os.path.exists(self.path):
                shutil.rmtree(self.path)
            root = zarr.open_group(self.path, mode="w", zarr_format=3)
            coords = _coords(g)
            for n, (dims, v) in coords.items():
                a = root.create_array(n, shape=v.shape, chunks=v.shape, dtype=v.dtype,
                                      fill_value=0, dimension_names=dims)
                a[:] = v
            nondim = " ".join(n for n, (dims, _) in coords.items() if dims != (n,))
            for v in self.vars:
                a = root.create_array(v.name, shape=g.shape + v.shape, chunks=zchunk + v.shape,
                                      dtype=v.dtype, fill_value=np.asarray(fill_value).astype(v.dtype).item(),
                                      dimension_names=g.dims + v.dims)
                if nondim:
                    a.attrs["coordinates"] = nondim
            s = root.create_array("status", shape=g.shape, chunks=zchunk, dtype="int32",
                                  fill_value=PENDING, dimension_names=g.dims)
            s.attrs["flag_meanings"] = json.dumps(STATUS_CODES)
            if nondim:
                s.attrs["coordinates"] = nondim
            sub = root.create_group("_jaxbind")
            sub.create_array("done", shape=(plan.n_blocks,), chunks=(1,), dtype="uint8", fill_value=0)
            root.attrs.update(_attrs(meta))
            with warnings.catch_warnings():  # zarr warns that v3 consolidation is an extension
                warnings.simplefilter("ignore")
                zarr.consolidate_metadata(self.path)  # metadata is final: only chunks change later
        except OSError as err:
            raise SweepStoreError(f"cannot create sweep store {self.path!r}: {err}") from err

    @staticmethod
    def read_meta(path) -> dict | None:
        """The ``jaxbind_sweep`` attribute of an existing store, or None if there is none."""
        path = os.fspath(path)
        if not os.path.exists(path):
            return None
        zarr = _require("zarr")
        try:
            attrs = dict(zarr.open_group(path, mode="r").attrs)
        except Exception as err:
            raise SweepStoreError(f"{path!r} exists but is not a zarr store ({err}); "
                                  "choose another path or pass overwrite=True") from err
        if "jaxbind_sweep" not in attrs:
            raise SweepStoreError(f"{path!r} is a zarr store but not a jaxbind sweep store; "
                                  "choose another path or pass overwrite=True")
        return json.loads(attrs["jaxbind_sweep"])

    def write(self, b: int, values: dict, status: np.ndarray) -> None:
        reg = _block_region(self.plan, b)
        try:
            for name, arr in values.items():
                self.arrays[name][reg] = arr
            self.status_arr[reg] = np.asarray(status, dtype=np.int32)
            self.done_arr[b] = 1  # the commit marker: written last
        except OSError as err:
            n = int(self.done.sum())
            raise SweepStoreError(
                f"writing chunk {b} to sweep store {self.path!r} failed: {err}. "
                f"{n} of {self.plan.n_blocks} chunks are complete in the store; rerunning the same "
                "sweep resumes from them") from err
        self.done[b] = True

    def dataset(self):
        import xarray as xr

        return xr.open_zarr(self.path)


def check_resume(meta_old: dict, meta_new: dict, path) -> None:
    """Refuse to resume into a store written by a different sweep (names what differs)."""
    for key, what in (("grid", "grid (parameter names, values or order)"),
                      ("function", "function (its traced computation or dtypes)"),
                      ("outputs", "outputs (names, shapes or dtypes)"),
                      ("fill_value", "fill_value")):
        if meta_old.get(key) != meta_new.get(key):
            raise ValueError(
                f"cannot resume into {os.fspath(path)!r}: it was written by a sweep with a different "
                f"{what}. Use another store path, or overwrite=True to discard it")
