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

``jaxbind optimize CONFIG.toml`` validates the config (:mod:`jaxbind.workflows.optimize_config`;
same error style, exit status 2), runs parallel restarts of a built-in objective and writes
``<name>.json`` (best design, loss, status, restart losses) and ``<name>.png`` (loss history).
"""

from __future__ import annotations

import argparse
import sys


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
    from . import registry

    if args.list:
        for name in sorted(registry.REGISTRY):
            try:
                print(registry.describe(name))
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
    from .store import SweepStoreError, verify_store

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
    from .optimize_config import OBJECTIVES, load_optimize_config, run_optimize_config

    if args.list:
        for name, (params, target) in sorted(OBJECTIVES.items()):
            print(f"{name}: params {list(params)}, target {sorted(target)}")
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
    from jaxbind import __version__

    p = argparse.ArgumentParser(
        prog="jaxbind",
        description="Differentiable, GPU-ready optical binding and levitated quantum optomechanics.",
    )
    p.add_argument("--version", action="version", version=f"jaxbind {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="compute and plot what jaxbind can do; writes PNGs + JSON")
    d.add_argument("--out", default="jaxbind-out", help="output directory (default: ./jaxbind-out)")
    d.add_argument("--fast", action="store_true", help="smaller grids (used by the tests)")
    d.set_defaults(func=_cmd_demo)

    i = sub.add_parser("info", help="devices, versions and x64 state")
    i.set_defaults(func=_cmd_info)

    sw = sub.add_parser("sweep", help="run a parameter sweep from a TOML config (zarr/netCDF, PNG, JSON)")
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

    o = sub.add_parser("optimize", help="gradient-based design from a TOML config (JSON, PNG)")
    o.add_argument("config", nargs="?", help="the TOML config (see jaxbind.workflows.optimize_config)")
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
    try:
        return args.func(args)
    except KeyboardInterrupt as err:  # SweepInterrupted says what is done and how to resume
        print(str(err) or "interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
