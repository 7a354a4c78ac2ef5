"""The ``kpanic`` command. Each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kpanic import __version__
from kpanic.errors import KpanicError

# Modules under kpanic.cli that add sub-commands; each defines register(subparsers).
COMMAND_MODULES = ("qr", "parse", "stats", "store", "service", "triage")  # triage after store


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpanic",
        description="Linux kernel crash reports: panic QR codes, oops parsing, classification.",
    )
    parser.add_argument("--version", action="version", version=f"kpanic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"kpanic.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KpanicError as exc:
        print(f"kpanic: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
