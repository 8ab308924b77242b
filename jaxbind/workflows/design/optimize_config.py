"""TOML configs for ``jaxbind optimize CONFIG.toml``: validation and the run.

Data only (``tomllib``; nothing is imported or evaluated from the file except the name of a
built-in objective). Errors name the file, line, table, key and value (the same
:class:`~jaxbind.workflows.config.ConfigError` as ``jaxbind sweep``); unknown tables or keys
are errors. Schema::

    [optimize]
    objective = "pair_coupling"   # pair_coupling | ep_placement | pt_splitting | silicon_kerker
    title = "one-way pair"         # optional

    [target]                       # objective settings (see OBJECTIVES below)
    g_r = 0.5
    g_a = 0.5

    [array]                        # optional, pair objectives: the two tweezers
    wavelength = 1064e-9
    NA = 0.8
    power = 0.2
    radius = 75e-9
    index = 1.45
    density = 2200.0

    [params]                       # design variables: random starts in [low, high], kept
    kd = { low = 2.0, high = 12.0 }           #   inside by a sigmoid reparametrization
    phase = { low = -3.14159, high = 3.14159, periodic = true }   # periodic: unbounded

    [run]
    optimizer = "adam"             # adam | sgd | lbfgs
    learning_rate = 0.05
    steps = 500
    restarts = 8
    seed = 0
    gtol = 1e-10
    ftol = 0.0

    [output]
    dir = "optimize-out"
    name = "pair"
    summary = true
    figure = true

Complete, parsed-in-the-tests files: ``examples/optimize/*.toml`` (one per objective;
``examples/optimize/pair_coupling.toml`` uses every key).
"""

from __future__ import annotations

import json
import math
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..config import ConfigError, _check_keys, _Ctx, _is_num

__all__ = ["OptimizeConfig", "OBJECTIVES", "parse_optimize_config", "load_optimize_config",
           "run_optimize_config"]

# objective → (design parameters, target keys with defaults (None = required))
OBJECTIVES = {
    "pair_coupling": (("kd", "phase"), {"g_r": None, "g_a": None}),
    "ep_placement": (("kd", "phase"), {"delta_omega": None}),
    "pt_splitting": (("kd", "phase"), {"delta_omega": 2.0}),
    "silicon_kerker": (("radius_nm", "wavelength_nm"), {"kL_min": 4.0, "kL_max": 30.0, "n_kL": 24}),
}
_ARRAY_DEFAULTS = {"wavelength": 1064e-9, "NA": 0.8, "power": 0.2, "radius": 75e-9,
                   "index": 1.45, "density": 2200.0}
_TABLES = {
    "optimize": {"objective", "title"},
    "target": None,
    "array": set(_ARRAY_DEFAULTS),
    "params": None,
    "run": {"optimizer", "learning_rate", "steps", "restarts", "seed", "gtol", "ftol"},
    "output": {"dir", "name", "summary", "figure"},
}
_OPTIMIZERS = ("adam", "sgd", "lbfgs")


@dataclass
class OptimizeConfig:
    """A validated optimize config."""

    path: str
    objective: str
    title: str
    target: dict
    array: dict
    params: dict  # name -> dict(low, high, periodic)
    run: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)


def _num(ctx, where, v, *, positive=False, integer=False):
    if integer:
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            ctx.fail(where, "must be a positive integer", v)
        return v
    if not _is_num(v) or not math.isfinite(v):
        ctx.fail(where, "must be a finite number", v)
    if positive and v <= 0:
        ctx.fail(where, "must be > 0", v)
    return float(v)


def parse_optimize_config(text: str, path: str = "<config>") -> OptimizeConfig:
    """Validate an optimize config given as TOML text (module docstring)."""
    ctx = _Ctx(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    for t in data:
        if t not in _TABLES:
            ctx.fail((t,), f"unknown table; allowed: {sorted(_TABLES)}")
    for t, allowed in _TABLES.items():
        if t in data:
            _check_keys(ctx, (t,), data[t], allowed)
    op = data.get("optimize")
    if op is None:
        raise ConfigError(f"{path}: missing table [optimize] with objective = \"<name>\"")
    name = op.get("objective")
    if name not in OBJECTIVES:
        ctx.fail(("optimize", "objective"), f"unknown objective; available: {sorted(OBJECTIVES)}", name)
    title = op.get("title", name)
    if not isinstance(title, str):
        ctx.fail(("optimize", "title"), "must be a string", title)
    pnames, tkeys = OBJECTIVES[name]

    target = {}
    for k, v in data.get("target", {}).items():
        if k not in tkeys:
            ctx.fail(("target", k), f"unknown key for {name}; allowed: {sorted(tkeys)}", v)
        target[k] = _num(ctx, ("target", k), v, integer=(k == "n_kL"))
    for k, d in tkeys.items():
        if k not in target:
            if d is None:
                ctx.fail(("target",), f"{name} needs {k} in [target]")
            target[k] = d
    if name == "silicon_kerker" and not 0 < target["kL_min"] < target["kL_max"]:
        ctx.fail(("target", "kL_min"), "need 0 < kL_min < kL_max", target["kL_min"])

    array = dict(_ARRAY_DEFAULTS)
    for k, v in data.get("array", {}).items():
        array[k] = _num(ctx, ("array", k), v, positive=True)
    if array["NA"] >= 1:
        ctx.fail(("array", "NA"), "must be < 1", array["NA"])

    params = {}
    given = data.get("params", {})
    for k, spec in given.items():
        if k not in pnames:
            ctx.fail(("params", k), f"unknown design variable for {name}; allowed: {list(pnames)}", spec)
        _check_keys(ctx, ("params", k), spec, {"low", "high", "periodic"})
        if "low" not in spec or "high" not in spec:
            ctx.fail(("params", k), "needs low and high", spec)
        lo = _num(ctx, ("params", k, "low"), spec["low"])
        hi = _num(ctx, ("params", k, "high"), spec["high"])
        if lo >= hi:
            ctx.fail(("params", k, "high"), f"must be > low = {lo}", hi)
        per = spec.get("periodic", False)
        if not isinstance(per, bool):
            ctx.fail(("params", k, "periodic"), "must be true or false", per)
        params[k] = dict(low=lo, high=hi, periodic=per)
    missing = [p for p in pnames if p not in params]
    if missing:
        ctx.fail(("params",), f"{name} needs design variable(s) {missing} in [params]")
    if name == "silicon_kerker":
        lo, hi = params["wavelength_nm"]["low"], params["wavelength_nm"]["high"]
        if lo < 400 or hi > 800:
            ctx.fail(("params", "wavelength_nm"), "the silicon table covers 400–800 nm", [lo, hi])
        if params["radius_nm"]["low"] <= 0:
            ctx.fail(("params", "radius_nm", "low"), "must be > 0", params["radius_nm"]["low"])
    if name != "silicon_kerker" and params["kd"]["low"] <= 0:
        ctx.fail(("params", "kd", "low"), "must be > 0", params["kd"]["low"])

    r = data.get("run", {})
    run = {"optimizer": r.get("optimizer", "adam")}
    if run["optimizer"] not in _OPTIMIZERS:
        ctx.fail(("run", "optimizer"), f"must be one of {list(_OPTIMIZERS)}", run["optimizer"])
    run["learning_rate"] = _num(ctx, ("run", "learning_rate"), r.get("learning_rate", 0.05), positive=True)
    run["steps"] = _num(ctx, ("run", "steps"), r.get("steps", 500), integer=True)
    run["restarts"] = _num(ctx, ("run", "restarts"), r.get("restarts", 8), integer=True)
    seed = r.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        ctx.fail(("run", "seed"), "must be an integer", seed)
    run["seed"] = seed
    for k in ("gtol", "ftol"):
        if k in r:
            v = _num(ctx, ("run", k), r[k])
            if v < 0:
                ctx.fail(("run", k), "must be ≥ 0", v)
            run[k] = v

    out = dict(data.get("output", {}))
    for k in ("summary", "figure"):
        if k in out and not isinstance(out[k], bool):
            ctx.fail(("output", k), "must be true or false", out[k])
    for k in ("dir", "name"):
        if k in out and not isinstance(out[k], str):
            ctx.fail(("output", k), "must be a string", out[k])
    if "name" in out and not re.fullmatch(r"[\w.-]+", out["name"]):
        ctx.fail(("output", "name"), "must be a plain file name (letters, digits, _ . -)", out["name"])
    out.setdefault("name", Path(path).stem if path != "<config>" else "optimize")
    return OptimizeConfig(str(path), name, title, target, array, params, run, out)


def load_optimize_config(path) -> OptimizeConfig:
    """Read and validate a TOML optimize config file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err}") from None
    return parse_optimize_config(text, str(p))


def _loss_and_init(cfg: OptimizeConfig):
    import jax
    import jax.numpy as jnp

    from ...mechanics.array import TweezerArray
    from .constraints import Bounded, Periodic, constrained
    from .objectives import ep_loss, pair_array, pair_coupling_loss, pt_splitting_loss
    from .objectives_kerker import silicon_kerker_loss

    t = cfg.target
    if cfg.objective == "silicon_kerker":
        kls = jnp.linspace(t["kL_min"], t["kL_max"], t["n_kL"])

        def loss(p):
            return silicon_kerker_loss(p["radius_nm"] * 1e-9, p["wavelength_nm"] * 1e-9, kls)
    else:
        a = cfg.array
        d0 = 2.0 * a["wavelength"]
        base = TweezerArray(jnp.array([[0.0, 0.0], [0.0, d0]]), a["power"], a["wavelength"],
                            NA=a["NA"], radius=a["radius"], index=a["index"], density=a["density"])
        obj = {
            "pair_coupling": lambda arr: pair_coupling_loss(arr, t["g_r"], t["g_a"]),
            "ep_placement": lambda arr: ep_loss(arr, t["delta_omega"]),
            "pt_splitting": lambda arr: pt_splitting_loss(arr, t["delta_omega"]),
        }[cfg.objective]

        def loss(p):
            return obj(pair_array(base, p["kd"], p["phase"]))

    names = list(cfg.params)

    def init(key):
        ks = jax.random.split(key, len(names))
        out = {}
        for k, n in zip(ks, names):
            s = cfg.params[n]
            span = s["high"] - s["low"]
            if s["periodic"]:
                out[n] = constrained(jax.random.uniform(k, minval=s["low"], maxval=s["high"]),
                                     Periodic(span, 0.5 * (s["low"] + s["high"])))
            else:  # random start strictly inside the open interval
                u = jax.random.uniform(k, minval=0.02, maxval=0.98)
                out[n] = constrained(s["low"] + span * u, Bounded(s["low"], s["high"]))
        return out

    return loss, init


def run_optimize_config(cfg: OptimizeConfig, out_dir=None, *, progress: bool = True) -> dict:
    """Run a validated config; writes ``<name>.json`` (summary) and ``<name>.png`` (loss
    history) into the output directory. Returns the summary dict (plus ``files``)."""
    import jax
    import numpy as np
    import optax

    from .optimize import optimize_restarts

    loss, init = _loss_and_init(cfg)
    r = cfg.run
    opt = {"adam": lambda: optax.adam(r["learning_rate"]), "sgd": lambda: optax.sgd(r["learning_rate"]),
           "lbfgs": lambda: optax.lbfgs()}[r["optimizer"]]()
    t0 = time.perf_counter()
    res = optimize_restarts(loss, init, opt, r["steps"], n_restarts=r["restarts"],
                            key=jax.random.PRNGKey(r["seed"]), gtol=r.get("gtol"),
                            ftol=r.get("ftol"), progress=progress)
    elapsed = time.perf_counter() - t0
    value = res.value
    summary = {
        "config": cfg.path, "objective": cfg.objective, "title": cfg.title, "target": cfg.target,
        "best": {k: float(v) for k, v in value.items()}, "loss": float(res.loss),
        "status": res.message, "n_steps": int(res.n_steps),
        "restart_losses": [float(x) for x in np.asarray(res.restart_losses)],
        "best_restart": int(res.best_restart), "time_s": elapsed,
        "devices": [str(d) for d in jax.devices()],
    }
    d = Path(out_dir or cfg.output.get("dir", "optimize-out"))
    d.mkdir(parents=True, exist_ok=True)
    files = {}
    name = cfg.output["name"]
    if cfg.output.get("summary", True):
        p = d / f"{name}.json"
        p.write_text(json.dumps(summary, indent=2))
        files["summary"] = str(p)
    if cfg.output.get("figure", True):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        h = np.asarray(res.loss_history)
        ax.plot(np.arange(h.size), h)
        ax.set_yscale("symlog", linthresh=1e-12)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(cfg.title)
        fig.tight_layout()
        p = d / f"{name}.png"
        fig.savefig(p, dpi=100)
        plt.close(fig)
        files["figure"] = str(p)
    summary["files"] = files
    return summary
