"""The kernel messages of earlier boots from the systemd journal.

``journalctl -k -b -N -o json`` for N = 1, 2, ... (the boot before this one first), kernel
messages only; each entry's ``MESSAGE`` (a string, or a list of bytes when it is not UTF-8)
becomes a ``[seconds.micros] message`` line with the kernel's own timestamp, so the parser sees
the log as dmesg printed it. The crashes are cut out of each boot's log (logs.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kpanic.client.logs import crash_windows
from kpanic.client.model import Crash, SourceStatus

SOURCE: Final = "journal"
TIMEOUT_S: Final = 120.0
MAX_OUTPUT_BYTES: Final = 256 << 20


@dataclass(slots=True)
class BootLog:
    boot_id: str
    text: str
    line_times: list[dt.datetime | None]  # wall-clock time of each line
    line_starts: list[int]  # character offset of each line


def _message(entry: dict[str, Any]) -> str:
    msg = entry.get("MESSAGE")
    if isinstance(msg, list):  # journald's form for non-UTF-8 messages
        try:
            return bytes(int(b) & 0xFF for b in msg).decode("utf-8", "replace")
        except (TypeError, ValueError):
            return ""
    return msg if isinstance(msg, str) else ""


def _micros(entry: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        raw = entry.get(key)
        if isinstance(raw, str) and raw.isdigit():
            return int(raw)
    return None


def boot_log(lines: Iterable[bytes | str]) -> BootLog:
    """A boot's kernel log from ``journalctl -o json`` output (one JSON object per line)."""
    out: list[str] = []
    times: list[dt.datetime | None] = []
    starts: list[int] = []
    pos = 0
    boot_id = ""
    for raw in lines:
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        boot_id = boot_id or str(entry.get("_BOOT_ID") or "")
        mono = _micros(entry, "_SOURCE_MONOTONIC_TIMESTAMP", "__MONOTONIC_TIMESTAMP")
        real = _micros(entry, "__REALTIME_TIMESTAMP")
        when = dt.datetime.fromtimestamp(real / 1e6, dt.UTC) if real is not None else None
        prefix = f"[{mono // 1_000_000:5d}.{mono % 1_000_000:06d}] " if mono is not None else ""
        for part in _message(entry).splitlines() or [""]:
            line = f"{prefix}{part}\n"
            starts.append(pos)
            times.append(when)
            out.append(line)
            pos += len(line)
    return BootLog(boot_id, "".join(out), times, starts)


def crashes_of(boot: BootLog, where: str) -> list[Crash]:
    """The crashes in one boot's log."""
    import bisect

    found = []
    for w in crash_windows(boot.text):
        i = max(0, bisect.bisect_right(boot.line_starts, w.start) - 1)
        when = boot.line_times[i] if boot.line_times else None
        found.append(
            Crash(
                source=SOURCE,
                origin=[f"{where} boot {boot.boot_id or '?'}"],
                text=w.text,
                time=when,
                title=w.title,
                kernel=w.kernel,
            )
        )
    return found


def collect(
    *, journalctl: str, directory: Path | None, boots: int
) -> tuple[list[Crash], list[SourceStatus]]:
    """Crashes in the kernel messages of the last ``boots`` earlier boots."""
    where = f"journal ({directory})" if directory is not None else "journal"
    exe = shutil.which(journalctl)
    if exe is None:
        return [], [SourceStatus(SOURCE, where, "missing", f"{journalctl}: not found")]
    if directory is not None and not directory.is_dir():
        return [], [SourceStatus(SOURCE, str(directory), "missing", "no journal directory")]
    crashes: list[Crash] = []
    read = 0
    for n in range(1, boots + 1):
        cmd = [exe, "-k", "-b", f"-{n}", "-o", "json", "--no-pager", "-q"]
        if directory is not None:
            cmd += ["--directory", str(directory)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return crashes, [SourceStatus(SOURCE, where, "unreadable", str(exc), len(crashes))]
        if proc.returncode != 0:
            if n == 1:
                why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                detail = why[-1] if why else f"exit status {proc.returncode}"
                # A journal without earlier boots (kept in memory only, or just set up) holds
                # nothing to read: missing, so the syslog files are read instead.
                if "boot" in detail.lower() and "not" in detail.lower():
                    return [], [SourceStatus(SOURCE, where, "missing", detail)]
                return [], [SourceStatus(SOURCE, where, "unreadable", detail)]
            break  # no boot -n: all earlier boots read
        if len(proc.stdout) > MAX_OUTPUT_BYTES:
            proc.stdout = proc.stdout[:MAX_OUTPUT_BYTES]
        boot = boot_log(proc.stdout.splitlines())
        if not boot.text:
            break
        read += 1
        crashes.extend(crashes_of(boot, "journal"))
    detail = f"{read} earlier boot(s) read"
    return crashes, [SourceStatus(SOURCE, where, "ok", detail, len(crashes))]
