"""Run a validated sweep config and write its outputs (used by ``jaxbind sweep``).

Outputs in ``<dir>``: ``<name>.zarr`` (the resumable result store), optionally ``<name>.nc``
(netCDF; complex variables split into ``<var>_real``/``<var>_imag`` because netCDF has no
complex type), ``<name>.png`` (the function's headline output, or ``[output] plot``: a line plot over a
1-D grid, a map over a 2-D grid, masked where status ≠ 0; axes labelled with names and units
from the registry, log/symlog scale where the data span decades unless ``[output] norm``
says otherwise, categorical outputs with a discrete legend; see :func:`jaxbind.plot.sweep_figure`)
and ``<name>.json`` (summary).
"""

from __future__ import annotations

import json
import re
import platform
from pathlib import Path

import numpy as np

from .config import SweepConfig
from .sweep.store import STATUS_CODES
from .sweep.driver import sweep


def _executor(run: dict):
    if run.get("executor") != "dask":
        return None, None
    from distributed import Client, LocalCluster

    if "dask_address" in run:
        client = Client(run["dask_address"])
        return client, client
    cluster = LocalCluster(n_workers=run.get("dask_workers", 2), threads_per_worker=1, processes=True)
    client = Client(cluster)
    return client, cluster


def run_config(cfg: SweepConfig, *, out_dir=None, progress=True, overwrite=False, dry_run=False) -> dict:
    """Sweep ``cfg`` and write store, netCDF, figure and JSON summary; returns the summary."""
    out = Path(out_dir or cfg.output.get("dir", "sweep-out"))
    name = cfg.output["name"]
    summary = {"config": cfg.path, "function": cfg.function, "title": cfg.title,
               "fixed": cfg.fixed, "grid": cfg.grid.describe(), "n_points": cfg.grid.size}
    if dry_run:
        print(f"{cfg.function}: {cfg.grid!r}; fixed {cfg.fixed}; run {cfg.run}; output {out / name}.*")
        return summary
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output directory {out}: {err}") from None
    run = dict(cfg.run)
    kw = {k: run[k] for k in ("memory_budget", "batch_size", "chunk_size", "devices", "resume",
                              "fill_value") if k in run}
    client, closer = _executor(run)
    try:
        ds = sweep(cfg.fn, cfg.grid, store=out / f"{name}.zarr", executor=client,
                   progress=run.get("progress", progress), overwrite=overwrite or run.get("overwrite", False),
                   **kw)
        ds = ds.load()
    finally:
        if closer is not None:
            client.close()
            if closer is not client:
                closer.close()
    files = {"store": str(out / f"{name}.zarr")}
    if cfg.output.get("netcdf", False):
        files["netcdf"] = _write_netcdf(ds, out / f"{name}.nc")
    if cfg.output.get("figure", True):
        fig = _figure(ds, cfg, out / f"{name}.png")
        if fig:
            files["figure"] = fig
    stats = json.loads(ds.attrs["sweep_stats"])
    status = ds["status"].values
    codes, counts = np.unique(status, return_counts=True)
    summary.update(
        status_counts={str(int(c)): int(n) for c, n in zip(codes, counts)},
        status_codes=STATUS_CODES,
        outputs={v: _range(ds[v].values, status) for v in ds.data_vars if v != "status"},
        units={k: u for k, u in _meta(cfg)["units"].items() if k in ds.variables},
        stats=stats, platform=platform.platform(), processor=platform.processor(), versions=_versions())
    if cfg.output.get("summary", True):
        files["summary"] = str(out / f"{name}.json")
    summary["files"] = files
    if "summary" in files:
        Path(files["summary"]).write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _versions():
    import jax

    import jaxbind

    return {"jaxbind": jaxbind.__version__, "jax": jax.__version__, "numpy": np.__version__}


def _range(v, status):
    ok = status == 0
    sel = v[ok] if ok.any() else v.reshape(v.shape[: status.ndim] + (-1,))[..., :0]
    if sel.size == 0:
        return {"ok_points": 0}
    a = np.abs(sel) if np.iscomplexobj(sel) else sel
    return {"dtype": str(v.dtype), "min" + ("_abs" if np.iscomplexobj(sel) else ""): float(np.min(a)),
            "max" + ("_abs" if np.iscomplexobj(sel) else ""): float(np.max(a)), "ok_points": int(ok.sum())}


def _write_netcdf(ds, path) -> str:
    out = ds.copy()
    for v in list(out.data_vars):
        if np.iscomplexobj(out[v].values):
            out[f"{v}_real"] = out[v].real
            out[f"{v}_imag"] = out[v].imag
            out = out.drop_vars(v)
    for c in list(out.coords):
        if np.iscomplexobj(out[c].values):
            raise ValueError(f"netCDF cannot store the complex coordinate {c!r}; set netcdf = false")
    for v in out.variables:
        out[v].encoding = {}
    try:
        out.to_netcdf(path)
    except (ValueError, ImportError) as err:
        raise ValueError(f"could not write netCDF {path}: {err} (a netCDF engine such as scipy, "
                         "netCDF4 or h5netcdf is needed)") from None
    return str(path)


def _meta(cfg: SweepConfig):
    """The registry function's presentation metadata (units, labels, headline, categories)."""
    from .sweep import registry

    fn = getattr(cfg.fn, "func", cfg.fn)  # cfg.fn is functools.partial(fn, **fixed)
    if not hasattr(fn, "units"):
        try:
            fn = registry.resolve(cfg.function)
        except (KeyError, ImportError):
            pass
    return {k: getattr(fn, k, None) or {} for k in ("units", "labels", "categories", "dims")} | {
        "headline": getattr(fn, "headline", None)}


_COMPONENTS = {"axis": "xyz", "i": "xyz", "j": "xyz", "v": "xyz", "w": "xyz", "particle": "AB"}


def _label(var, idx, meta) -> str:
    """The registry label of ``var[idx]``: its own entry if declared, else the variable's label
    with the components named from its per-point dims (x/y/z, particle A/B) or the indices."""
    key = f"{var}[{', '.join(map(str, idx))}]" if idx else var
    if key in meta["labels"]:
        return meta["labels"][key]
    base = meta["labels"].get(var, var)
    if not idx:
        return base
    dims = meta["dims"].get(var, ())
    if len(dims) == len(idx) and all(d in _COMPONENTS and i < len(_COMPONENTS[d])
                                     for d, i in zip(dims, idx)):
        comp = [("particle " if d == "particle" else "") + _COMPONENTS[d][i] for d, i in zip(dims, idx)]
        return f"{base} ({', '.join(comp)})"
    return f"{base} {list(idx)}"


def _fixed_note(fixed: dict, meta) -> str:
    from jaxbind.plot import display_unit

    parts = []
    for k, v in fixed.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            parts.append(f"{k} = {v}")
            continue
        s, u = display_unit(meta["units"].get(k, "1"), [v])
        parts.append(f"{meta['labels'].get(k, k)} = {v / s:.4g}" + (f" {u}" if u else ""))
    return ("fixed: " + ", ".join(parts)) if parts else ""


def _figure(ds, cfg: SweepConfig, path):
    """Line plot (1-D grid, or a 2-D grid with ≤ 6 values on one axis) or map (2-D grid).

    ``[output] plot`` names the variable, with an index for per-point dims: "nrf0[0]";
    without it the function's headline output (registry) is drawn, else the first scalar
    output. ``[output] norm`` ("auto", "linear", "log", "symlog") overrides the automatic
    colour / y scale.
    """
    meta = _meta(cfg)
    want = cfg.output.get("plot") or meta["headline"]
    dims = ds["status"].dims
    if want is None:
        scalars = [v for v in ds.data_vars if v != "status" and ds[v].ndim == len(dims)]
        want = scalars[0] if scalars else None
    if want is None:
        print("note: no figure (no scalar output; choose one with [output] plot = \"var[i]\")")
        return None
    m = re.fullmatch(r"(\w+)(?:\[([0-9, ]+)\])?", want)
    if not m or m.group(1) not in ds.data_vars:
        raise ValueError(f"[output] plot = {want!r}: not an output (outputs: {list(ds.data_vars)}); "
                         "index per-point dims like \"f[0, 0]\"")
    var = m.group(1)
    da = ds[var]
    idx = [int(i) for i in m.group(2).split(",")] if m.group(2) else []
    extra = da.dims[len(dims):]
    if len(idx) != len(extra):
        raise ValueError(f"[output] plot = {want!r}: {var} has per-point dims {extra}; "
                         f"give {len(extra)} indices")
    try:
        da = da.isel(dict(zip(extra, idx)))
    except IndexError as err:
        raise ValueError(f"[output] plot = {want!r}: {err}") from None
    if len(dims) > 2:
        print(f"note: no figure (plots cover 1-D or 2-D grids; dims {dims})")
        return None
    from jaxbind import plot

    label = _label(var, idx, meta)
    coords = [_axis(ds, d, meta) for d in dims]
    data = da.where(ds["status"] == 0).values
    fig = plot.sweep_figure(data, coords, label=label, unit=meta["units"].get(var, "1"),
                            categories=meta["categories"].get(var),
                            norm=cfg.output.get("norm", "auto"), title=cfg.title,
                            note=_fixed_note(cfg.fixed, meta))
    return plot.save(fig, path)


def _axis(ds, dim, meta):
    """(values, label, unit[, names]) of a grid dimension for the figure: its coordinate; for a
    zipped or sampled dimension the one parameter varying along it, or (with several) the
    index and a name per entry such as "θ = 1.571 rad, φ = 0 rad"."""
    from jaxbind.plot import display_unit

    if dim in ds.coords:
        return _coord(ds, dim), meta["labels"].get(dim, dim), meta["units"].get(dim, "1")
    along = [c for c in ds.coords if ds[c].dims == (dim,)]
    if len(along) == 1:
        c = along[0]
        return np.asarray(ds[c].values), meta["labels"].get(c, c), meta["units"].get(c, "1")
    idx = np.arange(ds.sizes[dim])
    if not along:
        return idx, dim, "1"
    names = []
    for i in idx:
        parts = []
        for c in along:
            v = float(ds[c].values[i])
            sc, u = display_unit(meta["units"].get(c, "1"), [v])
            parts.append(f"{c} = {v / sc:.4g}" + (f" {u}" if u else ""))
        names.append(", ".join(parts))
    return idx, dim, "1", names


def _coord(ds, dim):
    if dim in ds.coords:
        return np.asarray(ds[dim].values)
    return np.arange(ds.sizes[dim])

