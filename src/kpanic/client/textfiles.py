"""Crashes in plain log files: kdump's saved dmesg and the syslog files.

kdump (Fedora/RHEL ``kdump``, Debian/Ubuntu ``kdump-tools``) saves the crashed kernel's log
beside the vmcore, one directory per crash: ``/var/crash/<host>-<date>/vmcore-dmesg.txt``
(Fedora/RHEL) or ``/var/crash/<YYYYmmddHHMM>/dmesg.<YYYYmmddHHMM>`` (Debian/Ubuntu).
``/var/log/kern.log`` (Debian's rsyslog) and ``/var/log/messages`` (RHEL/SUSE) hold the kernel
messages of every boot on systems that write syslog files; rotated ``.1`` and ``.gz`` copies
are read too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from pathlib import Path
from typing import Final

from kpanic.client.logs import crash_windows
from kpanic.client.model import Crash, SourceStatus

MAX_FILE_BYTES: Final = 64 << 20
KDUMP_PATTERNS: Final = ("*/vmcore-dmesg.txt", "*/dmesg.[0-9]*")
SYSLOG_NAMES: Final = ("kern.log", "messages")
SYSLOG_ROTATED: Final = (".1", ".1.gz", ".2.gz")

_ISO: Final = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:?\d\d)?")
_RFC3164: Final = re.compile(r"([A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d)")


def read_text(path: Path) -> str:
    """A log file's text (gunzipped when it ends in .gz); OSError/ValueError for the caller."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        data = data[-MAX_FILE_BYTES:]  # the newest messages are at the end
    return data.replace(b"\x00", b"").decode("utf-8", "replace")


def line_time(line: str, fallback: dt.datetime) -> dt.datetime:
    """The wall-clock time a syslog line starts with (ISO 8601 or RFC 3164), else ``fallback``.
    RFC 3164 has no year: the latest year that does not put the line after ``fallback``."""
    m = _ISO.match(line)
    if m:
        try:
            when = dt.datetime.fromisoformat(m.group(1).replace(" ", "T") + (m.group(2) or ""))
        except ValueError:
            return fallback
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    m = _RFC3164.match(line)
    if m:
        for year in (fallback.year, fallback.year - 1):
            try:
                when = dt.datetime.strptime(f"{year} {m.group(1)}", "%Y %b %d %H:%M:%S")
            except ValueError:
                return fallback
            when = when.replace(tzinfo=dt.UTC)
            if when <= fallback + dt.timedelta(days=1):
                return when
    return fallback


def crashes_in_file(path: Path, source: str) -> list[Crash]:
    text = read_text(path)
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    out = []
    for w in crash_windows(text):
        first = w.text[: w.text.find("\n") + 1 or None]
        out.append(
            Crash(
                source=source,
                origin=[str(path)],
                text=w.text,
                time=line_time(first, mtime) if source == "syslog" else mtime,
                title=w.title,
                kernel=w.kernel,
            )
        )
    return out


def _scan(files: list[Path], source: str, where: str) -> tuple[list[Crash], list[SourceStatus]]:
    crashes: list[Crash] = []
    statuses: list[SourceStatus] = []
    for path in files:
        try:
            found = crashes_in_file(path, source)
        except OSError as exc:
            statuses.append(SourceStatus(source, str(path), "unreadable", exc.strerror or str(exc)))
            continue
        except (ValueError, EOFError) as exc:  # a broken .gz
            statuses.append(SourceStatus(source, str(path), "error", str(exc)))
            continue
        crashes.extend(found)
        statuses.append(SourceStatus(source, str(path), "ok", "", len(found)))
    if not files:
        statuses.append(SourceStatus(source, where, "missing", "no such files"))
    return crashes, statuses


def collect_kdump(crash_dir: Path) -> tuple[list[Crash], list[SourceStatus]]:
    if not crash_dir.is_dir():
        return [], [SourceStatus("kdump", str(crash_dir), "missing", "no such directory")]
    files: list[Path] = []
    try:
        for pattern in KDUMP_PATTERNS:
            files.extend(p for p in crash_dir.glob(pattern) if p.is_file())
    except OSError as exc:
        return [], [SourceStatus("kdump", str(crash_dir), "unreadable", exc.strerror or "")]
    return _scan(sorted(set(files)), "kdump", str(crash_dir))


def collect_syslog(log_dir: Path) -> tuple[list[Crash], list[SourceStatus]]:
    files = []
    for name in SYSLOG_NAMES:
        for suffix in ("", *SYSLOG_ROTATED):
            p = log_dir / (name + suffix)
            if p.is_file():
                files.append(p)
    return _scan(files, "syslog", f"{log_dir}/{{{','.join(SYSLOG_NAMES)}}}")
