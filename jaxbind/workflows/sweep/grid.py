"""Parameter grids for :func:`jaxbind.workflows.sweep.sweep`.

A grid is the cartesian product of *factors*. Each factor is one labelled dimension of the
result and carries one or more parameters that vary together along it:

* ``Grid.product(x=xs, m=ms)`` (or simply the dict ``{"x": xs, "m": ms}``): one factor per
  parameter, dimension named after the parameter, coordinate = its values;
* ``Grid.zip("pair", a=as_, b=bs)``: one dimension ``pair`` along which ``a`` and ``b``
  change together (equal lengths); they become non-dimension coordinates of ``pair``;
* ``Grid.random(n, seed=0, x=(lo, hi), ...)`` and ``Grid.sobol(n, seed=0, ...)``: ``n``
  uniform pseudo-random or scrambled-Sobol points in a box (``log=("x",)`` samples ``x``
  log-uniformly), as a zipped dimension named ``sample``;
* ``g1 * g2``: the cartesian product of two grids (factor order is kept: the last factor
  varies fastest, C order).

Everything is validated when the grid is built — empty axes, mismatched zipped lengths,
non-finite or non-numeric values, duplicated names — so a bad grid fails before any compute.
Values stay NumPy arrays on the host; the sweep moves only the slices a chunk needs.
"""

from __future__ import annotations

import hashlib
import keyword
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = ["Grid", "as_grid"]


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{what} {name!r} must be a valid Python identifier")
    if name == "status":
        raise ValueError(f"{what} 'status' is reserved for the per-point status code")


def _as_values(name: str, values) -> np.ndarray:
    """1-D, non-empty, finite, numeric NumPy array for parameter ``name``."""
    try:
        v = np.asarray(values)
    except Exception as err:  # ragged lists etc.
        raise ValueError(f"grid parameter {name!r}: cannot convert to an array ({err})") from None
    if v.ndim == 0:
        v = v.reshape(1)
    if v.ndim != 1:
        raise ValueError(f"grid parameter {name!r} must be one-dimensional, got shape {v.shape}")
    if v.size == 0:
        raise ValueError(f"grid parameter {name!r} is empty: a sweep needs at least one value")
    if v.dtype == bool:
        v = v.astype(np.int32)
    if not (np.issubdtype(v.dtype, np.number)):
        raise TypeError(f"grid parameter {name!r} must be numeric, got dtype {v.dtype}")
    if not np.all(np.isfinite(v)):
        i = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"grid parameter {name!r} has a non-finite value {v[i]} at index {i}")
    return v


@dataclass(frozen=True)
class _Factor:
    """One dimension of the grid: ``dim`` and the parameters that vary along it."""

    dim: str
    params: tuple  # tuple of (name, np.ndarray), all of equal length
    kind: str = "axis"  # "axis" | "zip" | "random" | "sobol"

    @property
    def size(self) -> int:
        return int(self.params[0][1].shape[0])


class Grid:
    """The cartesian product of factors (see the module docstring for the constructors)."""

    def __init__(self, factors: Iterable[_Factor] = ()) -> None:
        factors = tuple(factors)
        names: list[str] = []
        dims: list[str] = []
        for f in factors:
            for n, _ in f.params:
                if n in names:
                    raise ValueError(f"grid parameter {n!r} appears twice")
                names.append(n)
            if f.dim in dims:
                raise ValueError(f"grid dimension {f.dim!r} appears twice")
            dims.append(f.dim)
        for f in factors:
            if f.kind != "axis" and f.dim in names:
                raise ValueError(f"dimension name {f.dim!r} clashes with a parameter name")
        self.factors = factors

    # --- constructors -------------------------------------------------------------------

    @classmethod
    def product(cls, **axes) -> "Grid":
        """Cartesian product: one dimension per parameter (keyword order = axis order)."""
        if not axes:
            raise ValueError("empty grid: give at least one parameter with its values")
        fs = []
        for n, v in axes.items():
            _check_name(n, "grid parameter")
            fs.append(_Factor(n, ((n, _as_values(n, v)),), "axis"))
        return cls(fs)

    @classmethod
    def zip(cls, dim: str, **params) -> "Grid":
        """Parameters that change together along one dimension ``dim`` (equal lengths)."""
        _check_name(dim, "dimension")
        if not params:
            raise ValueError(f"zipped dimension {dim!r} has no parameters")
        vals = []
        for n, v in params.items():
            _check_name(n, "grid parameter")
            vals.append((n, _as_values(n, v)))
        lengths = {n: int(v.shape[0]) for n, v in vals}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"zipped dimension {dim!r}: parameters have different lengths {lengths}")
        return cls([_Factor(dim, tuple(vals), "zip")])

    @classmethod
    def random(cls, n: int, *, seed: int = 0, dim: str = "sample", log=(), **bounds) -> "Grid":
        """``n`` uniform pseudo-random points in the box ``name=(low, high)`` (NumPy PCG64).

        ``log`` names parameters sampled log-uniformly (their bounds must be positive).
        """
        u = cls._box_check(n, dim, log, bounds)
        r = np.random.default_rng(seed).random((n, len(bounds)))
        return cls([_Factor(dim, cls._scale(r, bounds, u), "random")])

    @classmethod
    def sobol(cls, n: int, *, seed: int = 0, dim: str = "sample", log=(), **bounds) -> "Grid":
        """``n`` scrambled Sobol points in the box (``scipy.stats.qmc``; n a power of 2)."""
        u = cls._box_check(n, dim, log, bounds)
        try:
            from scipy.stats import qmc
        except ImportError as err:  # pragma: no cover - scipy is a test dependency
            raise ImportError("Grid.sobol needs scipy (pip install scipy); "
                              "Grid.random works without it") from err
        if n & (n - 1):
            raise ValueError(f"Grid.sobol: n must be a power of 2 for a balanced Sobol set, got {n}")
        r = qmc.Sobol(len(bounds), scramble=True, seed=seed).random(n)
        return cls([_Factor(dim, cls._scale(r, bounds, u), "sobol")])

    @staticmethod
    def _box_check(n, dim, log, bounds):
        _check_name(dim, "dimension")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"number of samples n must be a positive integer, got {n!r}")
        if not bounds:
            raise ValueError("random/Sobol grid needs bounds, e.g. x=(0.1, 10.0)")
        log = (log,) if isinstance(log, str) else tuple(log)
        for name in log:
            if name not in bounds:
                raise ValueError(f"log={name!r} names no parameter of the box {list(bounds)}")
        for name, b in bounds.items():
            _check_name(name, "grid parameter")
            b = np.asarray(b, dtype=float)
            if b.shape != (2,) or not np.all(np.isfinite(b)) or not b[0] < b[1]:
                raise ValueError(f"bounds of {name!r} must be finite (low, high) with low < high, got {b}")
            if name in log and b[0] <= 0:
                raise ValueError(f"bounds of {name!r} must be positive for log sampling, got {b}")
        return log

    @staticmethod
    def _scale(r, bounds, log):
        out = []
        for j, (name, (lo, hi)) in enumerate(bounds.items()):
            if name in log:
                v = np.exp(np.log(lo) + r[:, j] * (np.log(hi) - np.log(lo)))
            else:
                v = lo + r[:, j] * (hi - lo)
            out.append((name, v.astype(float)))
        return tuple(out)

    def __mul__(self, other) -> "Grid":
        other = as_grid(other)
        return Grid(self.factors + other.factors)

    # --- queries ------------------------------------------------------------------------

    @property
    def names(self) -> tuple:
        """Parameter names in call order."""
        return tuple(n for f in self.factors for n, _ in f.params)

    @property
    def dims(self) -> tuple:
        return tuple(f.dim for f in self.factors)

    @property
    def shape(self) -> tuple:
        return tuple(f.size for f in self.factors)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def param_factor(self) -> dict:
        """name → (factor index, values)."""
        return {n: (i, v) for i, f in enumerate(self.factors) for n, v in f.params}

    def fingerprint(self) -> str:
        """SHA-256 of the grid structure and values (used to refuse a mismatched resume)."""
        h = hashlib.sha256()
        for f in self.factors:
            h.update(f"{f.dim}|{f.kind}|".encode())
            for n, v in f.params:
                h.update(f"{n}|{v.dtype.str}|{v.shape}|".encode())
                h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()

    def describe(self) -> dict:
        """JSON-friendly summary: dims, sizes, parameter ranges."""
        out = {}
        for f in self.factors:
            out[f.dim] = {"kind": f.kind, "size": f.size,
                          "params": {n: [_jsonable(v.min()), _jsonable(v.max())] for n, v in f.params}}
        return out

    def __repr__(self) -> str:
        parts = [f"{f.dim}[{f.size}]" + ("" if f.kind == "axis" else f"({','.join(n for n, _ in f.params)})")
                 for f in self.factors]
        return f"Grid({' x '.join(parts)}, {self.size} points)"


def _jsonable(x):
    x = np.asarray(x).item()
    return [x.real, x.imag] if isinstance(x, complex) else x


def as_grid(grid: Grid | Mapping[str, Any]) -> Grid:
    """A :class:`Grid` from a ``Grid`` or a mapping ``name → 1-D values`` (cartesian)."""
    if isinstance(grid, Grid):
        if not grid.factors:
            raise ValueError("empty grid: give at least one parameter with its values")
        return grid
    if isinstance(grid, Mapping):
        return Grid.product(**dict(grid))
    raise TypeError(f"grid must be a dict of 1-D arrays or a jaxbind Grid, got {type(grid).__name__}")
