"""The ``kpanic`` command. Each sub-command lives in its own module with a ``register`` function.

Start-up is kept short (``kpanic --version`` and ``--help`` well under 0.2 s): the command
modules import only argparse-level things at the top, and each handler imports what it needs.
No command shows a traceback: a kpanic error or a file error is one line naming the file, any
other failure one line saying it is a bug (``KPANIC_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import TYPE_CHECKING

from kpanic import __version__
from kpanic.errors import KpanicError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# Modules under kpanic.cli that add sub-commands; each defines register(subparsers).
COMMAND_MODULES = ("qr", "parse", "stats", "store", "triage", "service", "client", "completion")
# Modules that extend another module's commands (triage adds actions to "kpanic group").
EXTENDS: dict[str, tuple[str, ...]] = {"store": ("triage",)}
# Every command, the module that registers it and its one-line help: ``kpanic --help`` is
# printed from this table without building the sub-commands' parsers (tests/cli checks that it
# matches what the modules register).
COMMANDS: dict[str, tuple[str, str]] = {
    "qr": ("qr", "drm_panic QR codes: decode photos/URLs, encode like the kernel"),
    "parse": ("parse", "find and describe the crash reports in kernel logs, photos, panic URLs"),
    "stats": ("stats", "bug class, language and 'would Rust prevent it' shares over a set of logs"),
    "signature": ("stats", "crash signatures: show them, compare versions"),
    "db": ("store", "database schema: upgrade, current revision, location"),
    "import": ("store", "bulk-load kernel logs, panic URLs (*.url) and QR photos into the store"),
    "reprocess": ("store", "re-parse, re-classify and re-group stored reports after an upgrade"),
    "token": ("store", "API tokens: create, list, revoke"),
    "group": ("store", "crash groups: merge, status, assign, link, show"),
    "report": ("store", "stored reports: split into a new group, delete"),
    "owners": ("triage", "subsystems of groups from a MAINTAINERS file"),
    "rule": ("triage", "notification rules: add, list, rm"),
    "notify": ("triage", "the notification dispatcher"),
    "serve": ("service", "run the crash report web service (intake, API, dashboard)"),
    "demo": ("service", "start the service on a demo database filled with example crashes"),
    "worker": (
        "service",
        "analyse queued submissions (run any number, on any host, against one database)",
    ),
    "collect": (
        "client",
        "find the crashes of earlier boots on this machine (pstore, journal, kdump, syslog)",
    ),
    "submit": ("client", "send kernel logs, photos or panic URLs to a kpanic server"),
    "completion": ("completion", "print the shell completion code for bash, zsh or fish"),
}
EXIT_ERROR = 1
EXIT_BUG = 70  # sysexits EX_SOFTWARE
DESCRIPTION = (
    "Linux kernel crash reports: panic QR codes, oops parsing, classification, a crash report "
    "service, and the crashed machine's collector."
)


def _top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction[Any]]:
    parser = argparse.ArgumentParser(
        prog="kpanic",
        description=DESCRIPTION,
        epilog="'kpanic COMMAND --help' explains a command and each of its options.",
    )
    parser.add_argument("--version", action="version", version=f"kpanic {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser, sub


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; ``only``: a command's name, for which only its module is imported and
    the other commands are listed by name and help."""
    parser, sub = _top_parser()
    if only is None:
        for name in COMMAND_MODULES:
            importlib.import_module(f"kpanic.cli.{name}").register(sub)
        return parser
    module = COMMANDS[only][0]
    loaded = (module, *EXTENDS.get(module, ()))
    for name in loaded:
        importlib.import_module(f"kpanic.cli.{name}").register(sub)
    for name, (mod, text) in COMMANDS.items():
        if mod not in loaded and name not in sub.choices:
            sub.add_parser(name, help=text)
    return parser


def _listing() -> argparse.ArgumentParser:
    """``kpanic --help`` from the COMMANDS table (no command module imported)."""
    parser, sub = _top_parser()
    for name, (_mod, text) in COMMANDS.items():
        sub.add_parser(name, help=text)
    return parser


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion (argcomplete): only when the shell asks, so start-up stays fast."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in == ["--version"]:  # the fastest path: no parser at all
        print(f"kpanic {__version__}")
        return 0
    if "_ARGCOMPLETE" in os.environ:
        parser = build_parser()
        _complete(parser)
    else:
        first = next((a for a in args_in if not a.startswith("-")), None)
        if first in COMMANDS:
            parser = build_parser(first)
        elif first is None:  # --help, no arguments, or an option only: the listing is enough
            parser = _listing()
        else:
            parser = build_parser()
    args = parser.parse_args(args_in)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except KpanicError as exc:
        print(f"kpanic: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as exc:
        from kpanic.cli.inputs import describe_os_error

        where = f"{exc.filename}: " if exc.filename else ""
        print(f"kpanic: error: {where}{describe_os_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line, never a traceback unless asked for
        if os.environ.get("KPANIC_DEBUG") == "1":
            raise
        print(
            f"kpanic: internal error ({type(exc).__name__}: {exc}); this is a bug in kpanic. "
            "Run again with KPANIC_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return EXIT_BUG


def _quiet_stdout() -> None:
    """After a closed pipe (``kpanic ... | head``), do not complain when exiting."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
