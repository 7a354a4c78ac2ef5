"""Reading sets of logs for ``kpanic stats`` and ``kpanic signature diff``.

Paths may be files or directories (walked recursively, sorted, hidden entries skipped). A file
in syzkaller's parser-test layout (``TITLE:``/``TYPE:``... header lines, an empty line, the log,
an optional ``REPORT:`` section) is reduced to its log, so the expectations in the header do not
leak into what the parser sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kpanic.errors import InputTooLarge, KpanicError

MAX_LOG_BYTES = 32 * 1024 * 1024  # a console log bigger than this is not one crash
MAX_FILES = 100_000

_HEADER_KEY = re.compile(
    r"^(TITLE|ALT|TYPE|FRAME|CORRUPTED|SUPPRESSED|PANICKED|EXECUTOR|START|END): |^# |^#$"
)


@dataclass(slots=True)
class LogFile:
    path: Path
    log: str
    headers: dict[str, list[str]] = field(default_factory=dict)  # syzkaller test headers


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, plus every regular file under each directory named (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            for sub in sorted(p.rglob("*")):
                if sub.is_file() and not any(part.startswith(".") for part in sub.parts):
                    out.append(sub)
        elif p.is_file():
            out.append(p)
        else:
            raise KpanicError(f"{p}: no such file or directory")
        if len(out) > MAX_FILES:
            raise InputTooLarge(f"more than {MAX_FILES} files under the given paths")
    return out


def split_testdata(text: str) -> tuple[dict[str, list[str]], str]:
    """(headers, log) for syzkaller's report test layout; ({}, text) for an ordinary log."""
    text = text.replace("\r", "") if "\r\n" in text else text
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    headers: dict[str, list[str]] = {}
    n = 0
    while n < len(lines) and lines[n] != "":
        if not _HEADER_KEY.match(lines[n]):
            return {}, text
        key, _, value = lines[n].partition(": ")
        if not key.startswith("#"):
            headers.setdefault(key, []).append(value)
        n += 1
    if n >= len(lines) or (n == 0 and not text.startswith("\n")):
        return {}, text
    log_lines = lines[n + 1 :]
    for i in range(1, len(log_lines)):
        if log_lines[i].startswith("REPORT:") and log_lines[i - 1] == "":
            log_lines = log_lines[:i]
            break
    return headers, "".join(line + "\n" for line in log_lines)


def read_log(path: Path) -> LogFile:
    """Read one log file (bounded size), undoing the syzkaller test layout when present."""
    size = path.stat().st_size
    if size > MAX_LOG_BYTES:
        raise InputTooLarge(f"{path}: {size} bytes is over the {MAX_LOG_BYTES}-byte limit")
    text = path.read_bytes().decode("utf-8", errors="replace")
    headers, log = split_testdata(text)
    return LogFile(path=path, log=log, headers=headers)
