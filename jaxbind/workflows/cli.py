"""The ``jaxbind`` command line: ``demo``, ``info``, ``sweep CONFIG.toml``, ``verify STORE``,
``optimize CONFIG.toml``.

``jaxbind sweep CONFIG.toml`` validates the config (:mod:`jaxbind.workflows.config`; errors
name file, line, key and value, exit status 2) before any compute, runs
:func:`jaxbind.workflows.sweep.sweep` into ``<dir>/<name>.zarr`` (resumable: rerun the same
command after a crash), and writes ``<name>.nc`` (netCDF, optional; complex outputs split
into ``_real``/``_imag``), ``<name>.png`` (a line plot for 1-D grids, a map for 2-D) and
``<name>.json`` (summary: grid, status counts, output ranges, timing, devices, versions).
Exit status 1 if every point failed; Ctrl-C prints one line and exits 130 (the store is
resumable: rerun the same command).

``jaxbind verify STORE`` checks that every finished chunk of a sweep store exists and matches
its checksum and names each missing or damaged file (exit status 1 if any).

``jaxbind optimize CONFIG.toml`` validates the config (:mod:`jaxbind.workflows.design.optimize_config`;
same error style, exit status 2), runs parallel restarts of a built-in objective and writes
``<name>.json`` (best design, loss, status, restart losses) and ``<name>.png`` (loss history).

``jaxbind --help`` and the sub-command help import neither JAX nor the physics modules (this
module imports them only inside the command that needs them), so help is instant. The
config examples shown by ``jaxbind sweep --help`` / ``jaxbind optimize --help`` are
:data:`SWEEP_EXAMPLE` / :data:`OPTIMIZE_EXAMPLE`, complete TOML files that the tests parse;
``examples/*.toml`` in the source tree has at least one sweep per registry function and
``examples/optimize/*.toml`` one optimisation per objective.
"""

from __future__ import annotations

import argparse
import os
import sys

#: A complete sweep config (shown by ``jaxbind sweep --help``; parsed by the tests).
SWEEP_EXAMPLE = """\
[sweep]
function = "mie_efficiencies"   # jaxbind sweep --list shows the functions
title = "Mie extinction efficiency of lossless spheres"

[fixed]
m_imag = 0.0

[grid]                          # one axis per swept parameter (last varies fastest)
m_real = { linspace = [1.1, 2.5, 50] }
x = { logspace = [-1, 1, 200] }  # 10^-1 ... 10^1

[output]
dir = "sweep-out"
name = "mie"
plot = "qext"                   # default: the function's headline output
"""

#: A complete optimisation config (shown by ``jaxbind optimize --help``; parsed by the tests).
OPTIMIZE_EXAMPLE = """\
[optimize]
objective = "pair_coupling"     # jaxbind optimize --list shows the objectives
title = "one-way coupled pair"

[target]
g_r = 0.5                       # reciprocal rate / g
g_a = 0.5                       # antireciprocal rate / g

[array]                         # the two tweezers (SI units)
wavelength = 1064e-9
NA = 0.8
power = 0.2
radius = 75e-9
index = 1.45
density = 2200.0

[params]                        # design variables, random starts in [low, high]
kd = { low = 2.0, high = 12.0 }
phase = { low = -3.141592653589793, high = 3.141592653589793, periodic = true }

[run]
optimizer = "adam"              # adam | sgd | lbfgs
learning_rate = 0.05
steps = 500
restarts = 8
seed = 0

[output]
dir = "optimize-out"
name = "pair"
"""

#: What each objective of ``jaxbind optimize`` does (the keys are those of
#: :data:`jaxbind.workflows.design.optimize_config.OBJECTIVES`; a test checks they agree).
OBJECTIVE_HELP = {
    "pair_coupling": "tune (kd, phase) of a tweezer pair to target rates g_r, g_a (units of g)",
    "ep_placement": "place an exceptional point of the pair at the detuning delta_omega",
    "pt_splitting": "maximise the PT-broken eigenfrequency splitting at delta_omega",
    "silicon_kerker": "(radius_nm, wavelength_nm) of a silicon Kerker pair with NRF near 1/2",
}


class _Version(argparse.Action):
    """``--version``: imports jaxbind (and so JAX) only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show the version and exit"):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from jaxbind import __version__

        print(f"jaxbind {__version__}")  # stdout, as argparse's own version action
        parser.exit()


def _indent(text: str) -> str:
    return "\n".join("  " + ln if ln else "" for ln in text.splitlines())


def _cmd_info(args) -> int:
    import jax

    import jaxbind

    print(f"jaxbind {jaxbind.__version__}")
    print(f"jax {jax.__version__}, backend {jax.default_backend()}")
    print(f"devices: {', '.join(str(d) for d in jax.devices())}")
    print(f"x64 enabled: {bool(jax.config.read('jax_enable_x64'))}")
    return 0


def _cmd_demo(args) -> int:
    from .demo import run_demo

    run_demo(args.out, fast=args.fast)
    return 0


def _cmd_sweep(args) -> int:
    from .config import ConfigError, load_config
    from .sweep import registry

    if args.list:
        import shutil

        width = max(60, shutil.get_terminal_size((100, 24)).columns - 1)
        for name in sorted(registry.REGISTRY):
            try:
                print(registry.describe(name, width=width))
            except ImportError as err:
                print(f"{name}: not available ({err})")
        return 0
    if args.config is None:
        print("error: jaxbind sweep needs CONFIG.toml (or --list)", file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)  # the CLI is an application: its choice
    if args.dry_run:
        _print_size(cfg)
    from .report import run_config

    try:
        summary = run_config(cfg, out_dir=args.out, progress=not args.no_progress,
                             overwrite=args.overwrite, dry_run=args.dry_run)
    except (ValueError, OSError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for k, v in summary.get("files", {}).items():
        print(f"{k}: {v}")
    return _sweep_exit_code(summary)


def _print_size(cfg) -> None:
    """The dry run's size line: points, result bytes (the config refuses what cannot fit)."""
    b = cfg.result_bytes()
    outs = ", ".join(f"{n}{list(s) if s else ''} {d}" for n, (s, d) in cfg.outputs.items())
    print(f"size: {cfg.grid.size} points, results {b / 2**20:.4g} MiB ({outs}, status int32)")


def _sweep_exit_code(summary) -> int:
    """1 (with a message) when every point of a computed sweep failed, else 0."""
    counts = summary.get("status_counts")
    if counts and sum(counts.values()) and not counts.get("0"):
        from jaxbind.results import message

        worst = max(counts, key=counts.get)
        print(f"error: every point failed ({sum(counts.values())} points; most common status {worst}: "
              f"{message(int(worst))})", file=sys.stderr)
        return 1
    return 0


def _cmd_verify(args) -> int:
    """``jaxbind verify STORE…``: exit 0 if every done chunk verifies, 1 if not, 2 on error."""
    from .sweep.store import SweepStoreError, verify_store

    rc = 0
    for path in args.stores:
        try:
            rep = verify_store(path)
        except (SweepStoreError, ImportError) as err:
            print(f"error: {err}", file=sys.stderr)
            rc = 2
            continue
        for line in rep.lines():
            print(line)
        if not rep.ok:
            print(f"{path}: {len(rep.problems)} damaged or missing chunk file(s); rerun the sweep to "
                  "recompute them")
            rc = max(rc, 1)
    return rc


def _cmd_optimize(args) -> int:
    from .config import ConfigError
    from .design.optimize_config import OBJECTIVES, load_optimize_config, run_optimize_config

    if args.list:
        for name, (params, target) in sorted(OBJECTIVES.items()):
            print(f"{name}: {OBJECTIVE_HELP.get(name, '')}\n    design variables {list(params)}, "
                  f"[target] keys {sorted(target)}; example: examples/optimize/{name}.toml")
        return 0
    if args.config is None:
        print("error: jaxbind optimize needs CONFIG.toml (or --list)", file=sys.stderr)
        return 2
    try:
        cfg = load_optimize_config(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)  # the CLI is an application: its choice
    try:
        summary = run_optimize_config(cfg, out_dir=args.out, progress=not args.no_progress)
    except (ValueError, OSError, ImportError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"best: {summary['best']}  loss: {summary['loss']:.4g}  ({summary['status']})")
    for k, v in summary.get("files", {}).items():
        print(f"{k}: {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="jaxbind",
        description="Differentiable, GPU-ready optical binding and levitated quantum optomechanics.",
    )
    p.add_argument("--version", action=_Version)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="compute and plot what jaxbind can do; writes PNGs + JSON")
    d.add_argument("--out", default="jaxbind-out", help="output directory (default: ./jaxbind-out)")
    d.add_argument("--fast", action="store_true", help="smaller grids (used by the tests)")
    d.set_defaults(func=_cmd_demo)

    i = sub.add_parser("info", help="devices, versions and x64 state")
    i.set_defaults(func=_cmd_info)

    raw = argparse.RawDescriptionHelpFormatter
    sw = sub.add_parser(
        "sweep", help="run a parameter sweep from a TOML config (zarr/netCDF, PNG, JSON)",
        formatter_class=raw,
        description="Run a parameter sweep from a TOML config: a resumable zarr store, a figure\n"
                    "(PNG), a JSON summary and optionally netCDF.",
        epilog="example config (more in examples/*.toml of the source tree):\n\n"
               + _indent(SWEEP_EXAMPLE))
    sw.add_argument("config", nargs="?", help="the TOML config (see examples/*.toml)")
    sw.add_argument("--out", default=None, help="output directory (default: [output] dir or ./sweep-out)")
    sw.add_argument("--dry-run", action="store_true", help="validate and print the plan; compute nothing")
    sw.add_argument("--overwrite", action="store_true", help="discard an existing result store")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.add_argument("--x64", action="store_true", help="compute in float64 (default: JAX's float32)")
    sw.add_argument("--list", action="store_true", help="list the functions a config can sweep")
    sw.set_defaults(func=_cmd_sweep)

    v = sub.add_parser("verify", help="check a sweep store: every finished chunk present and checksummed")
    v.add_argument("stores", nargs="+", metavar="STORE", help="sweep store(s) (*.zarr)")
    v.set_defaults(func=_cmd_verify)

    o = sub.add_parser(
        "optimize", help="gradient-based design from a TOML config (JSON, PNG)",
        formatter_class=raw,
        description="Gradient-based design (optax, parallel random restarts) of a built-in\n"
                    "objective from a TOML config; writes a JSON summary and a loss-history PNG.",
        epilog="objectives:\n" + "\n".join(f"  {k:<16}{v}" for k, v in OBJECTIVE_HELP.items())
               + "\n\nexample config (examples/optimize/*.toml of the source tree has one per "
                 "objective):\n\n" + _indent(OPTIMIZE_EXAMPLE))
    o.add_argument("config", nargs="?", help="the TOML config (example below)")
    o.add_argument("--out", default=None, help="output directory (default: [output] dir or ./optimize-out)")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--x64", action="store_true", help="compute in float64 (default: JAX's float32)")
    o.add_argument("--list", action="store_true", help="list the built-in objectives")
    o.set_defaults(func=_cmd_optimize)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    # The CLI owns its process, so it may set JAX's config (the library never does): inline
    # CPU dispatch avoids the host-callback deadlock of jax-ml/jax#25861 seen on small machines.
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)
    if args.func is not _cmd_verify and not os.environ.get("JAXBIND_NO_CACHE"):
        # JAX's persistent compilation cache (~/.cache/jaxbind/xla or $JAXBIND_CACHE_DIR):
        # later runs skip recompiling the callback-free programs
        from jaxbind._compilation_cache import enable_compilation_cache

        try:
            enable_compilation_cache()
        except OSError as exc:
            print(f"jaxbind: compilation cache off ({exc})", file=sys.stderr)
    try:
        return args.func(args)
    except KeyboardInterrupt as err:  # SweepInterrupted says what is done and how to resume
        print(str(err) or "interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
