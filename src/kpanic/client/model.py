"""What ``kpanic collect`` finds: crashes, and how each source fared."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Crash:
    """One crash found on this machine, as the text that would be sent."""

    source: str  # "pstore", "systemd-pstore", "journal", "kdump", "syslog"
    origin: list[str]  # files (or journal boot ids) it was read from
    text: str  # the log, pstore parts joined in printing order (not yet scrubbed)
    time: dt.datetime | None = None  # when it was recorded, as far as the source says
    parts: int = 1  # pstore records joined into this crash
    notes: list[str] = field(default_factory=list)  # e.g. "part 2 of 3 is missing"
    title: str | None = None  # the client-side parser's title (for the listing only)
    kernel: str | None = None
    reason: str | None = None  # pstore's kmsg_dump reason: Panic, Oops, Emergency, Shutdown...

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "origin": list(self.origin),
            "time": self.time.isoformat(timespec="seconds") if self.time else None,
            "parts": self.parts,
            "notes": list(self.notes),
            "title": self.title,
            "kernel": self.kernel,
            "bytes": len(self.text.encode("utf-8", "surrogatepass")),
        }


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """How one source fared: ``ok`` (read, maybe nothing in it), ``missing``, ``unreadable``,
    ``skipped`` (not applicable here) or ``error`` (unexpected content); never fatal."""

    source: str
    where: str
    status: str
    detail: str = ""
    crashes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "where": self.where,
            "status": self.status,
            "detail": self.detail,
            "crashes": self.crashes,
        }
