"""``kpanic parse FILE... [--json] [--vmlinux PATH [--modules DIR]]``: crash reports in logs.

Readable output shows, per input, the first crash's title, type, blamed frame and file, language
and first frames. With ``--vmlinux`` every report's frames are first symbolized against that ELF
(and the ``.ko`` files under ``--modules``): file:line and inlined frames, as
scripts/decode_stacktrace.sh would add them. ``--json`` prints one JSON object per input per
line; :func:`report_json` is the single place that turns a report into JSON (other areas extend
it there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kpanic.classify.export import classification_fields, classification_rows
from kpanic.errors import InputTooLarge, KpanicError
from kpanic.report import DEFAULT_MAX_BYTES, CrashReport, ParseResult, parse
from kpanic.report.symbolize import Symbolizer

FRAMES_SHOWN = 8


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kpanic parse``."""
    p = sub.add_parser(
        "parse",
        help="find and describe the crash reports in kernel logs",
        description="Find every kernel crash in each log (syzkaller-compatible titles).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="log file, or - for stdin")
    p.add_argument("--json", action="store_true", help="one JSON object per input per line")
    p.add_argument(
        "--max-bytes",
        type=int,
        default=DEFAULT_MAX_BYTES,
        help=f"refuse inputs larger than this (default {DEFAULT_MAX_BYTES})",
    )
    p.add_argument(
        "--vmlinux",
        type=Path,
        metavar="PATH",
        help="kernel ELF with debug info: add file:line and inlined frames (needs addr2line)",
    )
    p.add_argument(
        "--modules",
        type=Path,
        metavar="DIR",
        help="directory searched for the <module>.ko files of module frames (with --vmlinux)",
    )
    p.set_defaults(handler=run)


def read_input(name: str, max_bytes: int) -> bytes:
    """The bytes of a file (or stdin for "-"), refusing more than ``max_bytes``."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read(max_bytes + 1)
        else:
            with Path(name).open("rb") as fh:
                data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise KpanicError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise InputTooLarge(f"{name} is larger than the {max_bytes}-byte limit")
    return data


def report_json(report: CrashReport) -> dict[str, Any]:
    """The JSON form of one crash report."""
    return {
        "title": report.title,
        "alt_titles": list(report.alt_titles),
        "type": report.type,
        "corrupted": report.corrupted,
        "corrupted_reason": report.corrupted_reason,
        "panicked": report.panicked,
        "kernel": report.kernel,
        "arch": report.arch,
        "taint": report.taint,
        "frames": [
            {
                "function": f.function,
                "offset": f.offset,
                "module": f.module,
                "file": f.file,
                "line": f.line,
                "inline": f.inline,
                "language": f.language,
            }
            for f in report.frames
        ],
        "guilty_frame": report.guilty_frame,
        "guilty_file": report.guilty_file,
        "language": report.language,
        "start": report.start,
        "end": report.end,
        **classification_fields(report),
    }


_EMPTY = report_json(CrashReport(title="", type="unknown"))


def result_json(name: str, result: ParseResult) -> dict[str, Any]:
    """One input's JSON object: its first crash's fields plus ``reports`` for the others."""
    first = result.primary
    body: dict[str, Any]
    if first is not None:
        body = report_json(first)
    else:
        body = {k: None for k in _EMPTY}
        body.update(alt_titles=[], frames=[], corrupted=False, panicked=False)
    return {
        "file": name,
        "crashed": result.crashed,
        **body,
        "reports": [report_json(r) for r in result.reports[1:]],
    }


def symbolized(result: ParseResult, symbolizer: Symbolizer) -> ParseResult:
    """``result`` with every report's frames symbolized (reports are copied, not changed)."""
    return ParseResult(reports=[symbolizer.symbolize(r) for r in result.reports])


def run(args: argparse.Namespace) -> int:
    if args.modules is not None and args.vmlinux is None:
        raise KpanicError("--modules needs --vmlinux")
    if args.vmlinux is not None and not args.vmlinux.is_file():
        raise KpanicError(f"cannot read {args.vmlinux}: no such file")
    if args.modules is not None and not args.modules.exists():
        raise KpanicError(f"cannot read {args.modules}: no such directory")
    # One symbolizer for every input: symbol tables are read once (kpanic.report.symbolize).
    symbolizer = Symbolizer(args.vmlinux, args.modules) if args.vmlinux is not None else None
    results = []
    for name in args.files:
        result = parse(read_input(name, args.max_bytes), max_bytes=args.max_bytes)
        if symbolizer is not None:
            result = symbolized(result, symbolizer)
        if args.json:
            sys.stdout.write(json.dumps(result_json(name, result)) + "\n")
            sys.stdout.flush()
        else:
            results.append((name, result))
    if not args.json:
        show(results)
    return 0


def show(results: list[tuple[str, ParseResult]]) -> None:
    """Readable summary of each input (rich formatting when writing to a terminal)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False)
    for name, result in results:
        console.rule(f"[bold]{escape(name)}")
        rep = result.primary
        if rep is None:
            console.print("no crash found")
            continue
        console.print(f"[bold red]{escape(rep.title)}[/]")
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim")
        table.add_column()
        rows = [
            ("type", rep.type),
            ("corrupted", f"yes ({rep.corrupted_reason})" if rep.corrupted else "no"),
            ("guilty frame", rep.guilty_frame or "-"),
            ("guilty file", rep.guilty_file or "-"),
            ("language", rep.language),
            ("kernel", rep.kernel or "-"),
            ("arch", rep.arch or "-"),
            ("taint", rep.taint if rep.taint is not None else "-"),
            ("task", f"{rep.comm} (pid {rep.pid}, cpu {rep.cpu})" if rep.comm else "-"),
            ("offsets", f"{rep.start}-{rep.end}"),
            *classification_rows(rep),
        ]
        for key, value in rows:
            table.add_row(key, escape(str(value)))
        console.print(table)
        for frame in rep.frames[:FRAMES_SHOWN]:
            where = f"  {frame.file}:{frame.line}" if frame.file else ""
            mod = f" [{frame.module}]" if frame.module else ""
            mark = "? " if frame.unreliable else ""
            console.print(escape(f"  {mark}{frame.function}{mod}{where}  ({frame.language})"))
        if len(rep.frames) > FRAMES_SHOWN:
            console.print(f"  ... {len(rep.frames) - FRAMES_SHOWN} more frames")
        if len(result.reports) > 1:
            console.print(f"{len(result.reports) - 1} further report(s):")
            for other in result.reports[1:]:
                console.print(escape(f"  - {other.title}"))
