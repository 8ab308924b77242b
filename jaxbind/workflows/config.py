"""TOML sweep configs for ``jaxbind sweep CONFIG.toml``: parsing and validation.

A config is data only (``tomllib``; nothing is imported or evaluated from it except the
registry name of the function). The whole config is validated before any work: the tables
against a pydantic (v2) schema with strict scalar types, ``[fixed]`` values against the types
of the function's parameter defaults (an integer parameter refuses ``2.5``, a number refuses
``"zero"``), the grid's size against this machine's memory (before any array is made), and
``[output] plot`` against the function's outputs (traced once, abstractly). Every error names
the file, line, table, key and value. Unknown tables or keys are errors. Schema (only ``[sweep]`` and one of ``[grid]``/``[zip.*]``/
``[sample]`` are required)::

    [sweep]
    function = "mie_efficiencies"   # a name in jaxbind.workflows.sweep.registry.REGISTRY
    title = "Mie efficiency map"     # optional, used in the figure / summary

    [fixed]                          # fixed keyword arguments of the function
    m_imag = 0.0

    [grid]                           # cartesian axes, in file order (last varies fastest)
    m_real = { linspace = [1.1, 2.5, 50] }   # also logspace = [e0, e1, n] (10^e), arange
    x = [0.5, 1.0, 2.0]                      # or an explicit list / { values = [...] }

    [zip.pair]                       # a dimension "pair" with parameters varying together
    a = [1.0, 2.0]
    b = [3.0, 4.0]

    [sample]                         # random or Sobol points in a box (dimension "sample")
    method = "sobol"                 # or "random"
    n = 1024
    seed = 0
    log = ["x"]                      # optional: log-uniform parameters
    bounds = { x = [0.1, 10.0] }

    [run]                            # optional: arguments of sweep()
    memory_budget = "512MB"
    batch_size = 1024
    chunk_size = 100000
    devices = 1
    resume = true
    progress = true
    executor = "local"               # or "dask" (dask_address = "tcp://…" or dask_workers = 2)

    [output]                         # optional
    dir = "sweep-out"
    name = "mie"
    netcdf = false
    figure = true
    plot = "qext"
    norm = "auto"                    # or "linear", "log", "symlog"
    summary = true

Complete, parsed-in-the-tests files: ``examples/sweep_all_options.toml`` (every key) and
``examples/sweep_zip_sample.toml`` (``[zip]`` and ``[sample]``).
"""

from __future__ import annotations

import inspect
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from .sweep import registry
from .sweep.grid import Grid

__all__ = ["ConfigError", "SweepConfig", "load_config", "parse_config"]


class ConfigError(ValueError):
    """An invalid sweep config (the message names file, line, key and value)."""


@dataclass
class SweepConfig:
    """A validated config: what to call, on which grid, with which sweep options."""

    path: str
    function: str
    title: str
    fn: object
    grid: Grid
    fixed: dict
    run: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)  # output name -> (per-point shape, dtype)

    def result_bytes(self) -> int:
        """Bytes of the sweep's results (outputs at the traced dtypes + int32 status)."""
        per = 4 + sum(int(np.prod(s)) * np.dtype(d).itemsize for s, d in self.outputs.values())
        return self.grid.size * per


class _Lines:
    """Line numbers of ``key = …`` per table header (tomllib does not report them)."""

    def __init__(self, text: str):
        self.map: dict = {}
        self.tables: dict = {}
        table = ()
        for i, line in enumerate(text.splitlines(), 1):
            s = line.split("#", 1)[0].strip()
            m = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?", s)
            if m:
                table = tuple(p.strip().strip('"') for p in m.group(1).split("."))
                self.tables.setdefault(table, i)
                continue
            m = re.match(r"([A-Za-z0-9_\-\"'.]+)\s*=", s)
            if m:
                key = tuple(p.strip().strip('"\'') for p in m.group(1).split("."))
                self.map.setdefault(table + key, i)

    def line(self, *path) -> int | None:
        path = tuple(path)
        while path:
            if path in self.map:
                return self.map[path]
            if path in self.tables:
                return self.tables[path]
            path = path[:-1]
        return None


class _Ctx:
    def __init__(self, path, text):
        self.path, self.lines = path, _Lines(text)

    def fail(self, where: tuple, msg: str, value=None):
        line = self.lines.line(*where)
        loc = f"{self.path}:{line}" if line else str(self.path)
        key = ".".join(where)
        val = "" if value is None else f" = {value!r}"
        raise ConfigError(f"{loc}: [{key}]{val}: {msg}")

    def from_pydantic(self, err: ValidationError, data, prefix=()):
        """The first error of a pydantic validation as a ``file:line [table.key] = value`` one."""
        e = err.errors(include_url=False)[0]
        where, node = [], data
        for p in e["loc"]:  # keep the parts that are keys of the input (drop union tags)
            if isinstance(node, dict) and isinstance(p, str) and p in node:
                where.append(p)
                node = node[p]
            elif isinstance(node, list) and isinstance(p, int) and p < len(node):
                node = node[p]
        where = prefix + tuple(where)
        val = e.get("input")
        msg = _MESSAGES.get(where[-2:]) or _TYPE_MESSAGES.get(e["type"]) or e["msg"].replace("Value error, ", "")
        self.fail(where, msg, None if e["type"] == "missing" or isinstance(val, dict) else val)


_TYPE_MESSAGES = {
    "missing": "required",
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be finite",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "greater_than": "must be a positive integer",
    "too_short": "empty axis: give at least one value",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a table",
    "model_type": "must be a table",
}
_MESSAGES = {
    ("run", "memory_budget"): "expected bytes or a size like '512MB', '2GiB', 'auto'",
    ("output", "name"): "must be a plain file name (letters, digits, _ . -)",
    ("sample", "n"): "required: a positive integer number of samples",
}


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_keys(ctx, where, table, allowed):
    if not isinstance(table, dict):
        ctx.fail(where, "must be a table", table)
    for k in table:
        if allowed is not None and k not in allowed:
            ctx.fail(where + (k,), f"unknown key; allowed: {sorted(allowed)}", table[k])


# --- the schema (pydantic v2, strict: no silent coercion of strings, bools or floats to ints) ---

Num = Annotated[float, Field(strict=True, allow_inf_nan=False)]  # int or finite float
PosInt = Annotated[int, Field(strict=True, gt=0)]
Int = Annotated[int, Field(strict=True)]
Str = Annotated[str, Field(strict=True)]
Bool = Annotated[bool, Field(strict=True)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid")  # scalar types below are strict themselves


class _SweepTable(_Table):
    function: Str
    title: Optional[Str] = None


class _Axis(_Table):
    """One axis: a list of numbers or ONE of {linspace|logspace = [a, b, n], arange = [a, b, step],
    values = [...]}."""

    linspace: Optional[tuple[Num, Num, PosInt]] = None
    logspace: Optional[tuple[Num, Num, PosInt]] = None
    arange: Optional[tuple[Num, Num, Num]] = None
    values: Optional[list[Num]] = Field(default=None, min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _list_form(cls, v):
        if isinstance(v, list):
            return {"values": v}
        if not isinstance(v, dict):
            raise ValueError("an axis must be a list of numbers or a table like { linspace = [a, b, n] }")
        return v

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("linspace", "logspace", "arange", "values") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("an axis is a list or ONE of {linspace, logspace, arange, values}")
        if self.arange is not None:
            a, b, st = self.arange
            if st == 0 or (b - a) / st <= 0:
                raise ValueError("arange: step must be non-zero and go from start to stop")
        return self

    def size(self) -> int:
        if self.values is not None:
            return len(self.values)
        if self.arange is not None:
            a, b, st = self.arange
            return max(0, math.ceil((b - a) / st))
        return (self.linspace or self.logspace)[2]

    def array(self) -> np.ndarray:
        if self.values is not None:
            return np.asarray(self.values, dtype=float)
        if self.arange is not None:
            return np.arange(*self.arange, dtype=float)
        if self.linspace is not None:
            return np.linspace(*self.linspace)
        return np.logspace(*self.logspace)


class _SampleTable(_Table):
    method: Literal["random", "sobol"] = "random"
    n: PosInt
    seed: Int = 0
    log: list[Str] = []
    bounds: dict[str, tuple[Num, Num]] = Field(min_length=1)
    dim: Str = "sample"


_BUDGET = re.compile(r"\s*[0-9.]+\s*([KMGT]?i?B?)\s*|auto", re.I)


class _RunTable(_Table):
    memory_budget: Union[Annotated[float, Field(strict=True, gt=0)], Annotated[str, Field(strict=True, pattern=_BUDGET.pattern)]] = None
    batch_size: Optional[PosInt] = None
    chunk_size: Optional[PosInt] = None
    devices: Optional[PosInt] = None
    dask_workers: Optional[PosInt] = None
    resume: Optional[Bool] = None
    progress: Optional[Bool] = None
    overwrite: Optional[Bool] = None
    fill_value: Optional[Num] = None
    executor: Literal["local", "dask"] = "local"
    dask_address: Optional[Str] = None

    @model_validator(mode="after")
    def _dask(self):
        if self.executor == "local" and (self.dask_address is not None or self.dask_workers is not None):
            raise ValueError("dask_address/dask_workers need executor = 'dask'")
        return self


class _OutputTable(_Table):
    dir: Optional[Str] = None
    name: Optional[Annotated[str, Field(strict=True, pattern=r"^[\w.-]+$")]] = None
    netcdf: Optional[Bool] = None
    figure: Optional[Bool] = None
    plot: Optional[Str] = None
    norm: Optional[Literal["auto", "linear", "log", "symlog"]] = None
    summary: Optional[Bool] = None


class _ConfigFile(_Table):
    sweep: _SweepTable
    fixed: dict[str, Any] = {}
    grid: dict[str, _Axis] = {}
    zip: dict[str, dict[str, _Axis]] = {}
    sample: Optional[_SampleTable] = None
    run: _RunTable = _RunTable()
    output: _OutputTable = _OutputTable()


def _validate(ctx, model, data, prefix=()):
    try:
        return model.model_validate(data)
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        if e["type"] == "extra_forbidden":
            loc = [str(p) for p in e["loc"] if isinstance(p, str)]
            owner = model
            for p in loc[:-1]:  # the model that owns the unknown key, for "allowed: …"
                f = getattr(owner, "model_fields", {}).get(p)
                ann = getattr(f, "annotation", None)
                inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
                owner = inner[0] if inner else None
                if owner is None:
                    break
            allowed = sorted(owner.model_fields) if owner is not None and loc[:-1] else sorted(_ConfigFile.model_fields)
            if not loc[:-1]:
                ctx.fail(tuple(loc), f"unknown table; allowed: {allowed}")
            ctx.fail(prefix + tuple(loc), f"unknown key; allowed: {allowed}", e.get("input"))
        ctx.from_pydantic(err, data, prefix)


def _param_type(p):
    """The pydantic type a [fixed] value of parameter ``p`` must have (from its default)."""
    d = p.default
    if isinstance(d, bool):
        return Bool
    if isinstance(d, int):
        return Int
    if isinstance(d, float) or d is p.empty:
        return Num
    if isinstance(d, str):
        return Str
    return Any


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return None


def _gib(b) -> str:
    return f"{b / 2**30:.3g} GiB"


def parse_config(text: str, path: str = "<config>") -> SweepConfig:
    """Validate a sweep config given as TOML text (see the module docstring).

    Everything is checked before any compute: the structure and types of every table (a
    pydantic schema), the function and its parameters (``[fixed]`` values against the
    types of the parameters' defaults: ``n_max = 2.5`` for an integer parameter is an
    error), the grid's size against this machine's memory, and the function's outputs
    (traced once, abstractly) against ``[output] plot``.
    """
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    if "sweep" not in data:
        raise ConfigError(f"{path}: missing table [sweep] with function = \"<name>\"")
    cfg = _validate(ctx, _ConfigFile, data)
    name = cfg.sweep.function
    if name not in registry.REGISTRY:
        ctx.fail(("sweep", "function"), f"unknown function; available: {sorted(registry.REGISTRY)}", name)
    try:
        fn = registry.resolve(name)
    except ImportError as err:
        ctx.fail(("sweep", "function"), str(err), name)
    params = dict(inspect.signature(fn).parameters)

    def known(where, key):
        if key not in params:
            ctx.fail(where, f"{name} has no parameter {key!r}; its parameters: {list(params)}")

    # sizes first: a grid that cannot fit is refused before any array is made
    sizes = []
    for key, ax in cfg.grid.items():
        known(("grid", key), key)
        sizes.append((("grid", key), ax.size()))
    for dim, table in cfg.zip.items():
        for key, ax in table.items():
            known(("zip", dim, key), key)
        if table:
            sizes.append((("zip", dim), next(iter(table.values())).size()))
    if cfg.sample is not None:
        sizes.append((("sample", "n"), cfg.sample.n))
    if not sizes:
        raise ConfigError(f"{path}: no grid: give [grid] axes, [zip.<dim>] or [sample]")
    for where, n in sizes:
        if n < 1:
            ctx.fail(where, "empty axis: give at least one value")
    total = math.prod(n for _, n in sizes)
    mem = _memory_bytes()
    if mem and total * 12 > mem:  # a float64 output + int32 status per point, at the least
        where = max(sizes, key=lambda s: s[1])[0]
        ctx.fail(where, f"the grid has {total:.4g} points: its results need at least {_gib(total * 12)} "
                 f"(one float64 output and the status), more than this machine's {_gib(mem)} of memory; "
                 "use fewer points or split the sweep")

    factors, swept = [], []
    for key, ax in cfg.grid.items():
        factors.append(Grid.product(**{key: _finite(ctx, ("grid", key), ax.array())}))
        swept.append(key)
    for dim, table in cfg.zip.items():
        vals = {}
        for key, ax in table.items():
            vals[key] = _finite(ctx, ("zip", dim, key), ax.array())
            swept.append(key)
        lens = {k: len(v) for k, v in vals.items()}
        if len(set(lens.values())) > 1:
            ctx.fail(("zip", dim), f"zipped parameters must have equal lengths, got {lens}")
        try:
            factors.append(Grid.zip(dim, **vals))
        except ValueError as err:
            ctx.fail(("zip", dim), str(err))
    if cfg.sample is not None:
        factors.append(_sample(ctx, cfg.sample, known, swept))
    dup = {k for k in swept if swept.count(k) > 1}
    if dup:
        ctx.fail(("grid",), f"parameter(s) {sorted(dup)} are swept twice")
    try:
        grid = Grid(f for g in factors for f in g.factors)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None

    for key, v in cfg.fixed.items():
        known(("fixed", key), key)
        if key in swept:
            ctx.fail(("fixed", key), "is also swept; fix it or sweep it, not both", v)
    model = create_model("fixed", __config__=ConfigDict(extra="forbid"),
                         **{k: (_param_type(params[k]), ...) for k in cfg.fixed})
    _validate(ctx, model, cfg.fixed, ("fixed",))
    fixed = dict(cfg.fixed)
    ranges = {n: (float(np.min(v.real)), float(np.max(v.real))) for n, (_, v) in grid.param_factor().items()}
    for k, v in registry.grid_defaults(name, ranges).items():
        fixed.setdefault(k, v)
    missing = [n for n, p in params.items() if p.default is p.empty and n not in swept and n not in fixed]
    if missing:
        ctx.fail(("grid",), f"{name} needs parameter(s) {missing}: sweep them in [grid] or set them in [fixed]")

    run = {k: v for k, v in cfg.run.model_dump(exclude_none=True).items()}
    out = cfg.output.model_dump(exclude_none=True)
    out.setdefault("name", Path(path).stem if path != "<config>" else "sweep")
    title = cfg.sweep.title or name
    bound = partial(fn, **fixed)
    outputs = _outputs(ctx, bound, grid, fixed)
    if "plot" in out:
        _check_plot(ctx, out["plot"], outputs)
    return SweepConfig(str(path), name, title, bound, grid, fixed, run, out, outputs)


def _finite(ctx, where, arr):
    if not np.all(np.isfinite(arr)):
        ctx.fail(where, "axis values must be finite", arr.tolist()[:8])
    return arr


def _outputs(ctx, fn, grid, fixed) -> dict:
    """Trace the function once (abstractly, no compute): output names → (shape, dtype)."""
    import jax

    from .sweep._chunks import trace

    dtypes = tuple(np.dtype(jax.dtypes.canonicalize_dtype(v.dtype)).str for _, v in grid.param_factor().values())
    try:
        t = trace(fn, grid.names, dtypes)
    except Exception as err:  # noqa: BLE001 - a bad fixed value, typically
        msg = " ".join(str(err).split())[:300]
        where = ("fixed",) if fixed else ("sweep", "function")
        ctx.fail(where, f"the function cannot be evaluated with these values: {msg}")
    return {n: (tuple(s), d) for n, s, d in zip(t.names, t.shapes, t.dtypes)}


def _check_plot(ctx, want, outputs):
    m = re.fullmatch(r"\s*(\w+)\s*(?:\[([0-9, ]+)\])?\s*", want)
    if not m or m.group(1) not in outputs:
        ctx.fail(("output", "plot"), f"not an output (outputs: {sorted(outputs)}); index per-point dims "
                 "like \"f[0, 0]\"", want)
    shape = outputs[m.group(1)][0]
    idx = [int(i) for i in m.group(2).split(",") if i.strip()] if m.group(2) else []
    if len(idx) != len(shape):
        ctx.fail(("output", "plot"), f"{m.group(1)} has per-point shape {shape}: give {len(shape)} indices", want)
    if any(i >= n for i, n in zip(idx, shape)):
        ctx.fail(("output", "plot"), f"index out of range for per-point shape {shape}", want)


def _sample(ctx, s, known, swept):
    for k in s.bounds:
        known(("sample", "bounds", k), k)
        swept.append(k)
    try:
        make = Grid.sobol if s.method == "sobol" else Grid.random
        return make(s.n, seed=s.seed, dim=s.dim, log=s.log, **{k: tuple(b) for k, b in s.bounds.items()})
    except (ValueError, ImportError) as err:
        ctx.fail(("sample",), str(err))


def load_config(path) -> SweepConfig:
    """Read and validate a TOML sweep config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err}") from None
    return parse_config(text, str(p))
