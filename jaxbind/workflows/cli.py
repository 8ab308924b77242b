"""The ``jaxbind`` command line: ``jaxbind demo``, ``jaxbind info`` (more with later issues)."""

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
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
