"""TOML sweep configs for ``jaxbind sweep CONFIG.toml``: parsing and validation.

A config is data only (``tomllib``; nothing is imported or evaluated from it except the
registry name of the function). Every error names the file, line, table, key and value.
Unknown tables or keys are errors. Schema (only ``[sweep]`` and one of ``[grid]``/``[zip.*]``/
``[sample]`` are required)::

    [sweep]
    function = "mie_efficiencies"   # a name in jaxbind.workflows.registry.REGISTRY
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
    memory_budget = "512MB"; batch_size = 1024; chunk_size = 100000; devices = 1
    resume = true; progress = true
    executor = "local"               # or "dask" (dask_address = "tcp://…" or dask_workers = 2)

    [output]                         # optional
    dir = "sweep-out"; name = "mie"; netcdf = false; figure = true; plot = "qext"; summary = true
"""

from __future__ import annotations

import inspect
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from . import registry
from .grid import Grid

__all__ = ["ConfigError", "SweepConfig", "load_config", "parse_config"]


class ConfigError(ValueError):
    """An invalid sweep config (the message names file, line, key and value)."""


_TABLES = {
    "sweep": {"function", "title"},
    "fixed": None,  # keys = function parameters
    "grid": None,  # keys = function parameters
    "zip": None,  # sub-tables = dims
    "sample": {"method", "n", "seed", "log", "bounds", "dim"},
    "run": {"memory_budget", "batch_size", "chunk_size", "devices", "resume", "progress",
            "executor", "dask_address", "dask_workers", "overwrite", "fill_value"},
    "output": {"dir", "name", "netcdf", "figure", "plot", "summary"},
}


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


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _axis_values(ctx, where, spec):
    """Values of one axis from a list or {linspace|logspace|arange|values = …}."""
    if isinstance(spec, list):
        vals = spec
    elif isinstance(spec, dict):
        if len(spec) != 1:
            ctx.fail(where, "an axis is a list or ONE of {linspace, logspace, arange, values}", spec)
        (kind, args), = spec.items()
        if kind == "values":
            vals = args
        elif kind in ("linspace", "logspace", "arange"):
            if not (isinstance(args, list) and len(args) == 3 and all(_is_num(a) for a in args)):
                ctx.fail(where + (kind,), "expected three numbers [start, stop, num/step]", args)
            a, b, n = args
            if kind != "arange" and (not isinstance(n, int) or n < 1):
                ctx.fail(where + (kind,), "the number of points must be a positive integer", args)
            if kind == "arange" and (n == 0 or (b - a) / n <= 0):
                ctx.fail(where + (kind,), "step must be non-zero and go from start to stop", args)
            vals = {"linspace": np.linspace, "logspace": np.logspace, "arange": np.arange}[kind](a, b, n)
        else:
            ctx.fail(where + (kind,), "unknown axis spec; use linspace, logspace, arange or values", args)
    else:
        ctx.fail(where, "an axis must be a list of numbers or a table like { linspace = [a, b, n] }", spec)
    vals = list(np.asarray(vals).ravel()) if not isinstance(vals, list) else vals
    if not vals:
        ctx.fail(where, "empty axis: give at least one value", spec)
    if not all(_is_num(v) for v in vals):
        ctx.fail(where, "axis values must be numbers", vals)
    arr = np.asarray(vals, dtype=float)
    if not np.all(np.isfinite(arr)):
        ctx.fail(where, "axis values must be finite", vals)
    return arr


def _check_keys(ctx, where, table, allowed):
    if not isinstance(table, dict):
        ctx.fail(where, "must be a table", table)
    for k in table:
        if allowed is not None and k not in allowed:
            ctx.fail(where + (k,), f"unknown key; allowed: {sorted(allowed)}", table[k])


def parse_config(text: str, path: str = "<config>") -> SweepConfig:
    """Validate a sweep config given as TOML text (see the module docstring)."""
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    for t in data:
        if t not in _TABLES:
            ctx.fail((t,), f"unknown table; allowed: {sorted(_TABLES)}")
    for t, allowed in _TABLES.items():
        if t in data and t not in ("zip",):
            _check_keys(ctx, (t,), data[t], allowed)
    sw = data.get("sweep")
    if sw is None:
        raise ConfigError(f"{path}: missing table [sweep] with function = \"<name>\"")
    name = sw.get("function")
    if not isinstance(name, str):
        ctx.fail(("sweep", "function"), "required: the name of a registered function", name)
    if name not in registry.REGISTRY:
        ctx.fail(("sweep", "function"), f"unknown function; available: {sorted(registry.REGISTRY)}", name)
    try:
        fn = registry.resolve(name)
    except ImportError as err:
        ctx.fail(("sweep", "function"), str(err), name)
    sig = inspect.signature(fn)
    params = {n: p for n, p in sig.parameters.items()}

    def known(where, key):
        if key not in params:
            ctx.fail(where, f"{name} has no parameter {key!r}; its parameters: {list(params)}")

    factors = []
    swept: list[str] = []
    for key, spec in data.get("grid", {}).items():
        known(("grid", key), key)
        factors.append(Grid.product(**{key: _axis_values(ctx, ("grid", key), spec)}))
        swept.append(key)
    zips = data.get("zip", {})
    if not isinstance(zips, dict):
        ctx.fail(("zip",), "use sub-tables [zip.<dim>]", zips)
    for dim, table in zips.items():
        _check_keys(ctx, ("zip", dim), table, None)
        vals = {}
        for key, spec in table.items():
            known(("zip", dim, key), key)
            vals[key] = _axis_values(ctx, ("zip", dim, key), spec)
            swept.append(key)
        lens = {k: len(v) for k, v in vals.items()}
        if len(set(lens.values())) > 1:
            ctx.fail(("zip", dim), f"zipped parameters must have equal lengths, got {lens}")
        try:
            factors.append(Grid.zip(dim, **vals))
        except ValueError as err:
            ctx.fail(("zip", dim), str(err))
    if "sample" in data:
        factors.append(_sample(ctx, data["sample"], known, swept))
    if not factors:
        raise ConfigError(f"{path}: no grid: give [grid] axes, [zip.<dim>] or [sample]")
    dup = {k for k in swept if swept.count(k) > 1}
    if dup:
        ctx.fail(("grid",), f"parameter(s) {sorted(dup)} are swept twice")
    try:
        grid = Grid(f for g in factors for f in g.factors)
    except ValueError as err:
        raise ConfigError(f"{path}: {err}") from None

    fixed = {}
    for key, v in data.get("fixed", {}).items():
        known(("fixed", key), key)
        if key in swept:
            ctx.fail(("fixed", key), "is also swept; fix it or sweep it, not both", v)
        if not (_is_num(v) or isinstance(v, (bool, str))):
            ctx.fail(("fixed", key), "fixed values must be numbers, booleans or strings", v)
        if isinstance(v, float) and not math.isfinite(v):
            ctx.fail(("fixed", key), "must be finite", v)
        fixed[key] = v
    ranges = {n: (float(np.min(v.real)), float(np.max(v.real))) for n, (_, v) in grid.param_factor().items()}
    for k, v in registry.grid_defaults(name, ranges).items():
        fixed.setdefault(k, v)
    missing = [n for n, p in params.items() if p.default is p.empty and n not in swept and n not in fixed]
    if missing:
        ctx.fail(("grid",), f"{name} needs parameter(s) {missing}: sweep them in [grid] or set them in [fixed]")

    run = _run(ctx, data.get("run", {}))
    out = dict(data.get("output", {}))
    for k in ("netcdf", "figure", "summary"):
        if k in out and not isinstance(out[k], bool):
            ctx.fail(("output", k), "must be true or false", out[k])
    for k in ("dir", "name", "plot"):
        if k in out and not isinstance(out[k], str):
            ctx.fail(("output", k), "must be a string", out[k])
    if "name" in out and not re.fullmatch(r"[\w.-]+", out["name"]):
        ctx.fail(("output", "name"), "must be a plain file name (letters, digits, _ . -)", out["name"])
    out.setdefault("name", Path(path).stem if path != "<config>" else "sweep")
    title = sw.get("title", name)
    if not isinstance(title, str):
        ctx.fail(("sweep", "title"), "must be a string", title)
    return SweepConfig(str(path), name, title, partial(fn, **fixed), grid, fixed, run, out)


def _sample(ctx, s, known, swept):
    method = s.get("method", "random")
    if method not in ("random", "sobol"):
        ctx.fail(("sample", "method"), "must be 'random' or 'sobol'", method)
    n = s.get("n")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        ctx.fail(("sample", "n"), "required: a positive integer number of samples", n)
    seed = s.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        ctx.fail(("sample", "seed"), "must be an integer", seed)
    bounds = s.get("bounds")
    if not isinstance(bounds, dict) or not bounds:
        ctx.fail(("sample", "bounds"), "required: a table like { x = [0.1, 10.0] }", bounds)
    for k, b in bounds.items():
        known(("sample", "bounds", k), k)
        if not (isinstance(b, list) and len(b) == 2 and all(_is_num(x) for x in b)):
            ctx.fail(("sample", "bounds", k), "expected [low, high]", b)
        swept.append(k)
    log = s.get("log", [])
    if not isinstance(log, list) or not all(isinstance(x, str) for x in log):
        ctx.fail(("sample", "log"), "must be a list of parameter names", log)
    dim = s.get("dim", "sample")
    try:
        make = Grid.sobol if method == "sobol" else Grid.random
        return make(n, seed=seed, dim=dim, log=log, **{k: tuple(b) for k, b in bounds.items()})
    except (ValueError, ImportError) as err:
        ctx.fail(("sample",), str(err))


def _run(ctx, r):
    out = {}
    for k in ("batch_size", "chunk_size", "devices", "dask_workers"):
        if k in r:
            if not isinstance(r[k], int) or isinstance(r[k], bool) or r[k] < 1:
                ctx.fail(("run", k), "must be a positive integer", r[k])
            out[k] = r[k]
    for k in ("resume", "progress", "overwrite"):
        if k in r:
            if not isinstance(r[k], bool):
                ctx.fail(("run", k), "must be true or false", r[k])
            out[k] = r[k]
    if "memory_budget" in r:
        v = r["memory_budget"]
        if not (_is_num(v) and v > 0) and not (isinstance(v, str) and re.fullmatch(
                r"\s*[0-9.]+\s*([KMGT]?i?B?)\s*|auto", v, re.I)):
            ctx.fail(("run", "memory_budget"), "expected bytes or a size like '512MB', '2GiB', 'auto'", v)
        out["memory_budget"] = v
    if "fill_value" in r:
        if not _is_num(r["fill_value"]):
            ctx.fail(("run", "fill_value"), "must be a number", r["fill_value"])
        out["fill_value"] = r["fill_value"]
    ex = r.get("executor", "local")
    if ex not in ("local", "dask"):
        ctx.fail(("run", "executor"), "must be 'local' or 'dask'", ex)
    out["executor"] = ex
    if "dask_address" in r:
        if not isinstance(r["dask_address"], str):
            ctx.fail(("run", "dask_address"), "must be a string like 'tcp://host:8786'", r["dask_address"])
        out["dask_address"] = r["dask_address"]
    if ex == "local" and ("dask_address" in r or "dask_workers" in r):
        ctx.fail(("run", "executor"), "dask_address/dask_workers need executor = 'dask'", ex)
    return out


def load_config(path) -> SweepConfig:
    """Read and validate a TOML sweep config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err}") from None
    return parse_config(text, str(p))
