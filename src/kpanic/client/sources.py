"""``kpanic collect``: every place a crash of an earlier boot survives, read under one root.

The sources are a table (name, where under the root, why it is read); each that is missing or
unreadable gives a status line, never an error. The syslog files are read only when the
journal gave nothing (a system with both would report every crash twice).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kpanic.client import journal, pstore, textfiles
from kpanic.client.config import ClientConfig
from kpanic.client.model import Crash, SourceStatus
from kpanic.client.overlap import merge_overlapping
from kpanic.client.pipeline import content_key
from kpanic.errors import KpanicError


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    path: str  # under the root
    why: str


SOURCES: Final = (
    Source(
        "pstore",
        "sys/fs/pstore",
        "the kernel writes its last messages to persistent storage (efi variables, ramoops "
        "memory, ACPI ERST) when it panics or oopses; they are there after the reboot",
    ),
    Source(
        "systemd-pstore",
        "var/lib/systemd/pstore",
        "systemd-pstore.service moves the pstore records here at boot (and empties pstore)",
    ),
    Source(
        "journal",
        "var/log/journal",
        "journald keeps the kernel messages of earlier boots: oopses and warnings that did not "
        "take the machine down, and what led to a hang",
    ),
    Source(
        "kdump",
        "var/crash",
        "kdump boots a capture kernel after a panic and saves the crashed kernel's log beside "
        "the vmcore",
    ),
    Source(
        "syslog",
        "var/log",
        "kern.log / messages hold the kernel messages where no journal is kept",
    ),
)


def _under(root: Path, rel: str) -> Path:
    return root / rel


def _read(src: Source, root: Path, cfg: ClientConfig) -> tuple[list[Crash], list[SourceStatus]]:
    where = _under(root, src.path)
    if src.name == "pstore":
        if not where.is_dir():
            return [], [SourceStatus(src.name, str(where), "missing", "pstore is not mounted")]
        try:
            crashes, st = pstore.scan_dir(where, src.name)
        except OSError as exc:
            return [], [SourceStatus(src.name, str(where), "unreadable", exc.strerror or "")]
        return crashes, [*st, SourceStatus(src.name, str(where), "ok", "", len(crashes))]
    if src.name == "systemd-pstore":
        if not where.is_dir():
            return [], [SourceStatus(src.name, str(where), "missing", "no such directory")]
        try:
            crashes, st = pstore.scan_systemd_archive(where)
        except OSError as exc:
            return [], [SourceStatus(src.name, str(where), "unreadable", exc.strerror or "")]
        return crashes, [*st, SourceStatus(src.name, str(where), "ok", "", len(crashes))]
    if src.name == "journal":
        directory = where if root != Path("/") else None
        return journal.collect(
            journalctl=cfg.journalctl, directory=directory, boots=cfg.journal_boots
        )
    if src.name == "kdump":
        return textfiles.collect_kdump(where)
    return textfiles.collect_syslog(where)


# kmsg_dump reasons that mean a crash even when the parser does not recognise the text (a
# pstore record of another reason, or a console log, is kept only when it holds a report).
CRASH_REASONS: Final = ("Panic", "Oops", "Emergency")


@dataclass(slots=True)
class Collection:
    crashes: list[Crash]
    statuses: list[SourceStatus]
    already_known: int = 0
    too_old: int = 0
    no_crash: int = 0  # texts read that hold no crash (console logs, shutdown dumps)


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``--since``: an ISO date/time (``2026-11-20``, ``2026-11-20T08:00``) or an age
    (``30d``, ``12h``, ``90m``)."""
    now = now or dt.datetime.now(dt.UTC)
    m = re.fullmatch(r"\s*(\d{1,6})\s*([dhm])\s*", text)
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return now - dt.timedelta(**{unit: int(m.group(1))})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise KpanicError(
            f"--since: {text!r} is neither a date (2026-11-20) nor an age (30d, 12h, 90m)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def crash_key(crash: Crash) -> str:
    """What identifies a crash in the state file: the dedup key of its text as found."""
    return content_key(crash.text)


def collect(
    root: Path,
    cfg: ClientConfig,
    *,
    since: dt.datetime | None = None,
    known: Callable[[str], bool] | None = None,
) -> Collection:
    """Every crash under ``root`` from the configured sources, oldest first; crashes before
    ``since`` or ``known`` (already handled, by key) are counted, not returned."""
    found: list[Crash] = []
    statuses: list[SourceStatus] = []
    journal_ok = False
    for src in SOURCES:
        if src.name not in cfg.sources:
            continue
        if src.name == "syslog" and journal_ok and "journal" in cfg.sources:
            where = str(_under(root, src.path))
            statuses.append(SourceStatus(src.name, where, "skipped", "the journal is read"))
            continue
        crashes, st = _read(src, root, cfg)
        statuses.extend(st)
        if src.name == "journal":
            journal_ok = any(s.status == "ok" for s in st)
        found.extend(crashes)
    out = Collection([], statuses)
    seen: set[str] = set()
    found = merge_overlapping(found)
    for crash in sorted(found, key=_when):
        key = crash_key(crash)
        if key in seen:  # the same records in pstore and systemd-pstore's archive
            continue
        seen.add(key)
        if since is not None and crash.time is not None and crash.time < since:
            out.too_old += 1
            continue
        if known is not None and known(key):
            out.already_known += 1
            continue
        if crash.title is None and not _describe(crash) and crash.reason not in CRASH_REASONS:
            out.no_crash += 1  # a console log or a shutdown dump with no crash in it
            continue
        out.crashes.append(crash)
    return out


def _when(c: Crash) -> dt.datetime:
    return c.time or dt.datetime.min.replace(tzinfo=dt.UTC)


def _describe(crash: Crash) -> bool:
    """Set the client parser's title and kernel release (for the listing); False when the
    parser finds no crash report in the text."""
    from kpanic.report import parse

    rep = parse(crash.text).primary
    if rep is not None:
        crash.title, crash.kernel = rep.title, rep.kernel
        return True
    crash.title = "(no crash report found in this text)"
    return False
