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
from typing import TYPE_CHECKING, Any

from kpanic.errors import InputTooLarge, KpanicError

if TYPE_CHECKING:
    from kpanic.report import CrashReport, ParseResult
    from kpanic.report.symbolize import Symbolizer

FRAMES_SHOWN = 8
# kpanic.report.DEFAULT_MAX_BYTES, spelled out so that building the parser imports no parser
# (tests/cli checks they agree).
DEFAULT_MAX_BYTES = 256 << 20
MAX_PHOTO_BYTES = 64 << 20


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``kpanic parse``."""
    p = sub.add_parser(
        "parse",
        help="find and describe the crash reports in kernel logs, photos, panic URLs",
        description="Find every kernel crash in each log (syzkaller-compatible titles). An "
        "input may also be a photo of a panic QR code or a panic URL: it is decoded first and "
        "the URL's kernel release, architecture and distribution are kept. An input that "
        "cannot be read is reported and the others are still parsed (the exit status is 1).",
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="INPUT",
        help="log file, photo of a panic QR code, panic URL, or - for stdin",
    )
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
    """The bytes of a file (or stdin for "-"), refusing more than ``max_bytes``; a missing
    file, a directory and an empty input are errors naming it."""
    from kpanic.cli.inputs import read_bytes

    return read_bytes(name, max_bytes)


def load_input(name: str, max_bytes: int) -> tuple[bytes | str, dict[str, str | None] | None]:
    """(log, metadata) of one INPUT: a log as it is; a panic URL or a photo of a panic QR
    code decoded to its kernel log, with the URL's kernel, arch and distribution."""
    from kpanic.cli.inputs import is_image, looks_like_url

    if name != "-" and looks_like_url(name):
        return _decoded(name, "url")
    data = read_input(name, max(max_bytes, MAX_PHOTO_BYTES) if name != "-" else max_bytes)
    if is_image(data[:16]):
        from kpanic.qr.image import decode_photo

        try:
            payload = decode_photo(data).payload
        except KpanicError:
            raise
        except Exception as exc:  # the image decoder on a broken picture
            raise KpanicError(f"the photo could not be read: {type(exc).__name__}") from exc
        return _decoded(payload, "photo")
    if len(data) > max_bytes:
        raise InputTooLarge(f"larger than the {max_bytes}-byte limit")
    stripped = data.strip()
    if stripped.startswith((b"http://", b"https://")) and b"\n" not in stripped:
        return _decoded(stripped.decode("utf-8", "replace"), "url")
    return data, None


def _decoded(payload: str, kind: str) -> tuple[str, dict[str, str | None]]:
    from kpanic.qr.url import decode_payload

    result = decode_payload(payload)
    kmsg = result.kmsg
    if isinstance(kmsg, bytes | bytearray):
        kmsg = bytes(kmsg).decode("utf-8", "replace")
    meta = {"kind": kind, "kernel": result.kernel, "arch": result.arch, "distro": result.distro}
    return kmsg, meta


def report_json(report: CrashReport) -> dict[str, Any]:
    """The JSON form of one crash report."""
    from kpanic.classify.export import classification_fields

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


def result_json(
    name: str, result: ParseResult, meta: dict[str, str | None] | None = None
) -> dict[str, Any]:
    """One input's JSON object: its first crash's fields plus ``reports`` for the others;
    for a panic URL or photo, ``source`` holds the URL's kernel/arch/distribution."""
    from kpanic.report import CrashReport

    first = result.primary
    body: dict[str, Any]
    if first is not None:
        body = report_json(first)
    else:
        body = {k: None for k in report_json(CrashReport(title="", type="unknown"))}
        body.update(alt_titles=[], frames=[], corrupted=False, panicked=False)
    if meta is not None:
        body["kernel"] = body.get("kernel") or meta.get("kernel")
        body["arch"] = body.get("arch") or meta.get("arch")
    return {
        "file": name,
        "crashed": result.crashed,
        **body,
        "distro": meta.get("distro") if meta else None,
        "source": meta,
        "reports": [report_json(r) for r in result.reports[1:]],
    }


def symbolized(result: ParseResult, symbolizer: Symbolizer) -> ParseResult:
    """``result`` with every report's frames symbolized (reports are copied, not changed)."""
    from kpanic.report import ParseResult

    return ParseResult(reports=[symbolizer.symbolize(r) for r in result.reports])


def run(args: argparse.Namespace) -> int:
    from kpanic.report import parse

    if args.modules is not None and args.vmlinux is None:
        raise KpanicError("--modules needs --vmlinux")
    if args.vmlinux is not None and not args.vmlinux.is_file():
        raise KpanicError(f"cannot read {args.vmlinux}: no such file")
    if args.modules is not None and not args.modules.exists():
        raise KpanicError(f"cannot read {args.modules}: no such directory")
    symbolizer = None
    if args.vmlinux is not None:
        from kpanic.report.symbolize import Symbolizer

        # One symbolizer for every input: symbol tables are read once.
        symbolizer = Symbolizer(args.vmlinux, args.modules)
    from kpanic.cli.progress import Progress

    results = []
    failed = 0
    progress = Progress(len(args.files), "parsing")
    for name in args.files:
        label = "standard input" if name == "-" else name
        try:
            log, meta = load_input(name, args.max_bytes)
            result = parse(log, max_bytes=args.max_bytes)
            progress.advance()
        except KpanicError as exc:
            progress.advance()
            failed += 1
            msg = str(exc)
            msg = msg.removeprefix(f"{label}: ")  # the file is named once
            print(f"kpanic: cannot read {label}: {msg}", file=sys.stderr)
            if args.json:
                sys.stdout.write(json.dumps({"file": name, "error": msg}) + "\n")
            continue
        if symbolizer is not None:
            result = symbolized(result, symbolizer)
        if args.json:
            sys.stdout.write(json.dumps(result_json(name, result, meta)) + "\n")
            sys.stdout.flush()
        else:
            results.append((name, result, meta))
    progress.close()  # before the summary goes to standard output
    if not args.json:
        show(results)
    if failed:
        total = len(args.files)
        print(f"kpanic: {failed} of {total} input(s) could not be parsed", file=sys.stderr)
        return 1
    return 0


def show(results: list[tuple[str, ParseResult, dict[str, str | None] | None]]) -> None:
    """Readable summary of each input (rich formatting when writing to a terminal)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from kpanic.classify.export import classification_rows

    console = Console(highlight=False)
    for name, result, meta in results:
        meta = meta or {}
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
            ("kernel", rep.kernel or meta.get("kernel") or "-"),
            ("arch", rep.arch or meta.get("arch") or "-"),
            *([("distribution", meta["distro"])] if meta.get("distro") else []),
            *([("decoded from", f"a panic {meta['kind']}")] if meta.get("kind") else []),
            *([("the URL says", _url_metadata(meta))] if _url_metadata(meta) else []),
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


def _url_metadata(meta: dict[str, str | None]) -> str:
    """What the panic URL said about the machine (v=, a=, d=)."""
    parts = [
        f"{label} {meta[key]}"
        for key, label in (("kernel", "kernel"), ("arch", "arch"), ("distro", "distribution"))
        if meta.get(key)
    ]
    return ", ".join(parts)
