"""Where sweep results land: an in-memory sink or a verified zarr store written chunk by chunk.

Layout of a sweep store (zarr format 3, readable with ``xarray.open_zarr``):

* one array per grid parameter (coordinates: ``dim`` for an axis, non-dimension coordinates
  for zipped/sampled dimensions, listed in each variable's ``coordinates`` attribute);
* one array per output leaf, dims = grid dims + per-point dims (named by the sweep's
  ``output_dims``/the function's declaration, ``<name>_d0`` … otherwise), with a ``units``
  attribute where the function declares one; complex outputs stored as complex;
* ``status`` (int32): the :data:`jaxbind.RESULTS` code of every point (0 = successful), zarr
  fill value ``RESULTS.not_computed`` so a never-written chunk reads as not computed;
* the group ``_jaxbind`` with ``done`` (uint8, one zarr chunk per sweep chunk).

Integrity. Every array is written with the ``zstd`` compressor followed by zarr 3's
``crc32c`` checksum codec, so a flipped bit, random bytes or a truncated file fail to
decode instead of yielding numbers. A sweep chunk is one rectangular block of the grid and
exactly one zarr chunk of every variable; it counts as *done* only if its ``done`` flag is
set **and** the chunk file of every variable exists and verifies. :func:`verify_store`
(``jaxbind verify STORE``) checks that for every chunk and names each missing or damaged
file; resuming a sweep runs the same check and recomputes what fails (never reads a missing
chunk as fill values). ``done[b] = 1`` is written *after* the chunk's data, and the local zarr
store writes files atomically (temp file + rename), so a SIGKILL at any moment leaves every
chunk either complete-and-marked or recomputed on resume.

Values of points that did not succeed (status ≠ 0) and of points not computed are NaN in
float outputs (NaN + NaN·j in complex ones); integer outputs use the sentinel of
:func:`fill_for` (the most negative value of a signed type, the largest of an unsigned one,
False for booleans).

Attributes: ``jaxbind_sweep`` (JSON: grid/function/output fingerprints, the chunk plan) —
resuming with a different grid, function or outputs is refused; ``result_codes`` (JSON
``{code: message}`` from :func:`jaxbind.results.code_table`), also on ``status`` as
``flag_values``/``flag_meanings``, so a stored code can be decoded by anyone who opens it.

Ownership. While a sweep writes a store it holds ``<store>.lock`` (:class:`StoreLock`: owner
host, pid, the sweep's fingerprint, a heartbeat refreshed every few seconds). A second sweep
on the same store is refused while the owner is alive; a lock whose process is gone (same
host) or whose heartbeat is older than :data:`STALE_AFTER` seconds is taken over.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from jaxbind.results import RESULTS, code, code_table, index as result_index

from .grid import Grid

OK = result_index(RESULTS.successful)
NONFINITE = result_index(RESULTS.nonfinite)
ERROR = result_index(RESULTS.kernel_error)
PENDING = result_index(RESULTS.not_computed)
KERNEL_STATUS = result_index(RESULTS.kernel_status)
FORMAT = 2  # store layout version (1: zero fills, negative sweep codes, no checksums)

# {code: message} of every status code (kept for readers of format-1 summaries)
STATUS_CODES = {str(c): (m or "successful") for c, m in code_table().items()}

HEARTBEAT = 5.0  # seconds between lock heartbeats
STALE_AFTER = 60.0  # a lock whose heartbeat is older than this is stale


class SweepStoreError(OSError):
    """The result store cannot be created, opened, locked or written."""


class StoreLockedError(SweepStoreError):
    """Another sweep holds the store's lock."""


@dataclass(frozen=True)
class VarSpec:
    name: str
    shape: tuple  # per-point shape
    dtype: str
    dims: tuple  # per-point dims
    units: str | None = None


def fill_for(dtype, fill_value=None):
    """Value stored for points without a successful result, by dtype (see module docstring)."""
    dt = np.dtype(dtype)
    if fill_value is not None:
        return np.asarray(fill_value).astype(dt)[()]
    if np.issubdtype(dt, np.complexfloating):
        return dt.type(complex(np.nan, np.nan))
    if np.issubdtype(dt, np.floating):
        return dt.type(np.nan)
    if dt == np.bool_:
        return np.False_
    if np.issubdtype(dt, np.signedinteger):
        return dt.type(np.iinfo(dt).min)
    if np.issubdtype(dt, np.unsignedinteger):
        return dt.type(np.iinfo(dt).max)
    raise TypeError(f"sweep outputs must be numeric, got dtype {dt}")


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


def _block_coords(plan, b) -> tuple:
    """zarr chunk coordinates (over the grid dims) of sweep chunk ``b``."""
    lead = np.unravel_index(b, plan.block_grid) if plan.block_grid else ()
    return tuple(int(lead[j]) if j <= plan.k else 0 for j in range(len(plan.shape)))


def result_attrs() -> dict:
    table = code_table()
    return {"result_codes": json.dumps({str(c): (m or "successful") for c, m in table.items()})}


def _attrs(meta: dict) -> dict:
    return {"jaxbind_sweep": json.dumps(meta, sort_keys=True), **result_attrs()}


def _status_attrs() -> dict:
    table = code_table()
    return {"flag_values": list(table), "flag_meanings": json.dumps([m or "successful" for m in table.values()]),
            "long_name": "jaxbind.RESULTS code of the point (0 = successful)"}


def _var_attrs(v: VarSpec) -> dict:
    return {} if v.units is None else {"units": v.units}


class MemorySink:
    """Preallocated NumPy arrays shaped like the grid; becomes an xarray Dataset."""

    def __init__(self, grid: Grid, variables: list, plan, meta: dict):
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
        self.damaged: list = []

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
        data_vars = {v.name: (dims + v.dims, self.data[v.name], _var_attrs(v)) for v in self.vars}
        data_vars["status"] = (dims, self.status, _status_attrs())
        return xr.Dataset(data_vars, coords=_coords(self.grid), attrs=_attrs(self.meta))


def _codecs():
    from zarr.codecs import Crc32cCodec, ZstdCodec

    return [ZstdCodec(level=3), Crc32cCodec()]


def _one_line(err) -> str:
    msg = " ".join(str(err).split())
    return f"{type(err).__name__}: {msg}"[:200]


class _Checker:
    """Checks that the chunk files of one sweep chunk exist and decode (checksums)."""

    def __init__(self, path, group, names, plan):
        self.path, self.plan = path, plan
        self.arrays = {n: group[n] for n in names}

    def files(self, b):
        coords = _block_coords(self.plan, b)
        for n, a in self.arrays.items():
            c = coords + (0,) * (a.ndim - len(coords))
            yield n, a, c, os.path.join(self.path, n, *a.metadata.encode_chunk_key(c).split("/"))

    def check(self, b) -> list:
        """[(file, problem)] of chunk ``b`` (empty: every file exists and verifies)."""
        bad = []
        for n, a, c, f in self.files(b):
            if not os.path.isfile(f):
                bad.append((f, "missing"))
                continue
            try:
                a.get_block_selection(c)
            except Exception as err:  # noqa: BLE001 - any decode failure is damage
                bad.append((f, "damaged (" + _one_line(err) + ")"))
        return bad


def _check_coord(path, arr, name, expect=None):
    """(file, problem) if coordinate ``name`` is missing, damaged or (given ``expect``) wrong."""
    f = os.path.join(path, name, *arr.metadata.encode_chunk_key((0,)).split("/"))
    if not os.path.isfile(f):
        return (f, "missing")
    try:
        got = arr[:]
    except Exception as err:  # noqa: BLE001
        return (f, "damaged (" + _one_line(err) + ")")
    if expect is not None and not np.array_equal(got, expect):
        return (f, "damaged (coordinate values differ from the sweep's grid)")
    return None


def _read_done(group, n_blocks, path) -> tuple:
    """The done flags; a flag chunk that is missing reads 0, a damaged one is reported."""
    arr = group["_jaxbind"]["done"]
    try:
        return np.asarray(arr[:]).astype(bool), []
    except Exception:  # noqa: BLE001 - a damaged flag chunk: read flag by flag
        done, bad = np.zeros(n_blocks, bool), []
        for b in range(n_blocks):
            try:
                done[b] = bool(arr[b])
            except Exception as err:  # noqa: BLE001
                bad.append((os.path.join(path, "_jaxbind", "done", *arr.metadata.encode_chunk_key((b,))
                                         .split("/")), "damaged (" + _one_line(err) + ")"))
        return done, bad


class ZarrSink:
    """A zarr store written one sweep chunk at a time (see the module docstring)."""

    def __init__(self, path, grid: Grid, variables: list, plan, meta: dict, *, create: bool):
        _require("xarray")
        zarr = _require("zarr")
        self.path, self.grid, self.vars, self.plan = os.fspath(path), grid, variables, plan
        if create:
            self._create(zarr, meta)
        try:
            self.group = zarr.open_group(self.path, mode="r+")
            self.done_arr = self.group["_jaxbind"]["done"]
            self.arrays = {v.name: self.group[v.name] for v in variables}
            self.status_arr = self.group["status"]
        except Exception as err:
            raise SweepStoreError(f"cannot open sweep store {self.path!r}: {_one_line(err)}") from err
        self.done, self.damaged = _read_done(self.group, plan.n_blocks, self.path)
        if not create:  # resume: coordinates rewritten if damaged; a chunk is done only if all
            # of its files exist and verify
            for n, (_, v) in _coords(grid).items():
                bad = _check_coord(self.path, self.group[n], n, v)
                if bad:
                    self.damaged.append(bad)
                    self.group[n][:] = v
            checker = _Checker(self.path, self.group, [v.name for v in variables] + ["status"], plan)
            for b in np.flatnonzero(self.done):
                bad = checker.check(int(b))
                if bad:
                    self.done[b] = False
                    self.damaged += bad

    def _create(self, zarr, meta) -> None:
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
                                      fill_value=0, dimension_names=dims, compressors=_codecs())
                a[:] = v
            nondim = " ".join(n for n, (dims, _) in coords.items() if dims != (n,))
            for v in self.vars:
                a = root.create_array(v.name, shape=g.shape + v.shape, chunks=zchunk + v.shape,
                                      dtype=v.dtype, fill_value=fill_for(v.dtype, meta.get("fill")).item(),
                                      dimension_names=g.dims + v.dims, compressors=_codecs())
                attrs = _var_attrs(v)
                if nondim:
                    attrs["coordinates"] = nondim
                a.attrs.update(attrs)
            s = root.create_array("status", shape=g.shape, chunks=zchunk, dtype="int32",
                                  fill_value=PENDING, dimension_names=g.dims, compressors=_codecs())
            s.attrs.update(_status_attrs())
            if nondim:
                s.attrs["coordinates"] = nondim
            sub = root.create_group("_jaxbind")
            sub.create_array("done", shape=(plan.n_blocks,), chunks=(1,), dtype="uint8", fill_value=0,
                             compressors=_codecs())
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
            raise SweepStoreError(f"{path!r} exists but is not a zarr store ({_one_line(err)}); "
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
    if meta_old.get("format") != meta_new.get("format"):
        raise ValueError(
            f"cannot resume into {os.fspath(path)!r}: it has store format {meta_old.get('format')} "
            f"(this jaxbind writes format {meta_new.get('format')}: NaN fills, RESULTS codes, "
            "checksums). Use another store path, or overwrite=True to discard it")
    for key, what in (("grid", "grid (parameter names, values or order)"),
                      ("function", "function (its traced computation or dtypes)"),
                      ("outputs", "outputs (names, shapes, dtypes, dims or units)"),
                      ("fill", "fill_value")):
        if meta_old.get(key) != meta_new.get(key):
            raise ValueError(
                f"cannot resume into {os.fspath(path)!r}: it was written by a sweep with a different "
                f"{what}. Use another store path, or overwrite=True to discard it")


# --- verification ------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """Result of :func:`verify_store`: ``ok`` iff every chunk flagged done verifies."""

    path: str
    n_chunks: int = 0
    n_done: int = 0
    n_verified: int = 0
    problems: list = field(default_factory=list)  # (file, problem)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list:
        head = (f"{self.path}: {self.n_verified} of {self.n_chunks} chunks complete and verified"
                + ("" if self.n_done == self.n_chunks else f" ({self.n_chunks - self.n_done} not computed)"))
        return [head] + [f"{f}: {p}" for f, p in self.problems]


@dataclass(frozen=True)
class ChunkGeometry:
    """Chunks are blocks (1, …, 1, c_k, n_{k+1}, …, n_last) of a grid of ``shape`` (C order);
    ``block`` = (c_k, n_{k+1}, …). The sweep's plan and a stored store share this geometry."""

    shape: tuple
    k: int
    block: tuple

    @property
    def block_grid(self) -> tuple:
        return self.shape[: self.k] + (-(-self.shape[self.k] // self.block[0]),)

    @property
    def n_blocks(self) -> int:
        return math.prod(self.block_grid)


def names_of(meta) -> list:
    return [o[0] for o in meta["outputs"]]


def verify_store(path: str | os.PathLike) -> VerifyReport:
    """Check every chunk of a sweep store: done flags, existence and checksums of each file.

    Returns a :class:`VerifyReport` naming each missing or damaged chunk file (data of a
    chunk flagged done, a coordinate array, or a damaged done flag). Rerunning the sweep recomputes them.
    Raises :class:`SweepStoreError` if ``path`` is not a jaxbind sweep store.
    """
    path = os.fspath(path)
    meta = ZarrSink.read_meta(path)
    if meta is None:
        raise SweepStoreError(f"{path!r} does not exist")
    zarr = _require("zarr")
    group = zarr.open_group(path, mode="r")
    plan = ChunkGeometry(tuple(group["status"].shape), meta["plan"]["k"], tuple(meta["plan"]["block"]))
    rep = VerifyReport(path, plan.n_blocks)
    done, rep.problems = _read_done(group, plan.n_blocks, path)
    rep.n_done = int(done.sum())
    for n, a in group.arrays():
        if "/" not in n and n not in names_of(meta) and n != "status":
            bad = _check_coord(path, a, n)
            if bad:
                rep.problems.append(bad)
    names = [o[0] for o in meta["outputs"]] + ["status"]
    checker = _Checker(path, group, names, plan)
    for b in np.flatnonzero(done):
        bad = checker.check(int(b))
        rep.problems += bad
        rep.n_verified += not bad
    return rep


# --- the store lock ----------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class StoreLock:
    """``<store>.lock``: one writer per store (owner, fingerprint, heartbeat; see module doc).

    ``acquire()`` creates the file atomically (``O_EXCL``); an existing lock is taken over only
    if it is stale (its process is gone on this host, or no heartbeat for ``STALE_AFTER``
    seconds); otherwise :class:`StoreLockedError` names the owner. A daemon thread refreshes
    the heartbeat until ``release()``.
    """

    def __init__(self, store, fingerprint: str):
        self.path = os.path.normpath(os.fspath(store)) + ".lock"
        self.fingerprint = fingerprint
        self.info = {"host": socket.gethostname(), "pid": os.getpid(), "sweep": fingerprint,
                     "started": time.time()}
        self._stop = threading.Event()
        self._thread = None

    def _write(self, fd=None):
        data = json.dumps({**self.info, "heartbeat": time.time()}).encode()
        if fd is not None:
            os.write(fd, data)
            os.close(fd)
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, self.path)

    def _read(self):
        try:
            with open(self.path, encoding="utf-8") as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return None

    def _stale(self, other) -> bool:
        if other is None:  # unreadable or being written: stale only if old
            try:
                return time.time() - os.path.getmtime(self.path) > STALE_AFTER
            except OSError:
                return True
        if other.get("host") == self.info["host"] and not _pid_alive(int(other.get("pid", -1))):
            return True
        return time.time() - float(other.get("heartbeat", 0)) > STALE_AFTER

    def acquire(self):
        parent = os.path.dirname(self.path) or "."
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as err:
            raise SweepStoreError(f"cannot create sweep store {self.path[:-5]!r}: {err}") from err
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                other = self._read()
                if not self._stale(other):
                    who = other or {}
                    same = who.get("sweep") == self.fingerprint
                    raise StoreLockedError(
                        f"sweep store {self.path[:-5]!r} is in use by {'the same' if same else 'a different'} "
                        f"sweep (pid {who.get('pid')} on {who.get('host')}, started "
                        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(who.get('started', 0)))}); "
                        f"wait for it or use another store. If that process is gone, the lock is "
                        f"released {STALE_AFTER:.0f} s after its last heartbeat (or delete {self.path})")
                self._remove_stale(other)
                continue
            except OSError as err:
                raise SweepStoreError(f"cannot lock sweep store {self.path[:-5]!r}: {err}") from err
            self._write(fd)
            self._thread = threading.Thread(target=self._beat, name="jaxbind-store-lock", daemon=True)
            self._thread.start()
            return self
        raise StoreLockedError(f"cannot lock sweep store {self.path[:-5]!r}: the lock keeps changing owner")

    def _remove_stale(self, seen):
        """Move the stale lock aside atomically; if what was moved is not the lock judged
        stale (another process took it over meanwhile), put it back."""
        tomb = f"{self.path}.stale.{os.getpid()}"
        try:
            os.rename(self.path, tomb)
        except FileNotFoundError:
            return
        try:
            with open(tomb, encoding="utf-8") as fh:
                moved = json.load(fh)
        except (OSError, ValueError):
            moved = None
        if seen is not None and moved != seen:
            try:
                os.link(tomb, self.path)  # fails if a new lock exists: then that one stands
            except OSError:
                pass
        try:
            os.unlink(tomb)
        except FileNotFoundError:
            pass

    def _beat(self):
        while not self._stop.wait(HEARTBEAT):
            other = self._read()
            if other is not None and other.get("pid") != self.info["pid"]:
                return  # taken over (we were considered stale): never overwrite another owner
            try:
                self._write()
            except OSError:
                pass

    def release(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        other = self._read()
        if other is None or (other.get("pid") == self.info["pid"] and other.get("host") == self.info["host"]):
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
