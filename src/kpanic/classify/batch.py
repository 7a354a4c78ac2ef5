"""Run the parser over many log files, with a progress bar on stderr for large sets.

Shared by ``kpanic stats`` and ``kpanic signature diff``. Errors in one file (too large,
unparseable) are recorded and counted, never fatal for the whole run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from kpanic.classify.corpus import expand_paths, read_log
from kpanic.errors import KpanicError
from kpanic.report.model import CrashReport, ParseResult

ParseFn = Callable[[str], ParseResult]
PROGRESS_MIN_FILES = 20  # below this the bar would only flicker


@dataclass(slots=True)
class Entry:
    """One crash (or one log without a crash, or one log that failed) of a batch."""

    path: Path
    index: int  # position of the report in its log (0: primary)
    report: CrashReport | None
    error: str | None = None
    expected_title: str | None = None  # syzkaller test header TITLE, when the file has one


def default_parse() -> ParseFn:
    """The project's parser (imported late: the classifier works without it)."""
    from kpanic.report import parse

    return parse


def iter_entries(
    files: Iterable[Path], parse: ParseFn, all_reports: bool = False
) -> Iterator[Entry]:
    """Parse each file; yield its primary report (or all), a no-crash entry, or an error."""
    for path in files:
        try:
            logfile = read_log(path)
            result = parse(logfile.log)
        except KpanicError as exc:
            yield Entry(path, 0, None, error=str(exc))
            continue
        titles = logfile.headers.get("TITLE")
        expected = titles[0] if titles else None
        reports = result.reports if all_reports else result.reports[:1]
        if not reports:
            yield Entry(path, 0, None, expected_title=expected)
        for i, report in enumerate(reports):
            yield Entry(path, i, report, expected_title=expected if i == 0 else None)


def run_batch(
    paths: Iterable[str | Path],
    parse: ParseFn | None = None,
    all_reports: bool = False,
    show_progress: bool = True,
    on_entry: Callable[[Entry], None] | None = None,
) -> list[Entry]:
    """Parse every log under ``paths``; a rich progress bar on stderr for large sets."""
    files = expand_paths(paths)
    parse = parse or default_parse()
    entries: list[Entry] = []
    console = Console(stderr=True)
    show = show_progress and len(files) >= PROGRESS_MIN_FILES and console.is_terminal
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not show,
    ) as progress:
        task = progress.add_task("parsing logs", total=len(files))
        for path in files:
            for entry in iter_entries([path], parse, all_reports):
                if on_entry is not None:
                    on_entry(entry)
                entries.append(entry)
            progress.advance(task)
    return entries
