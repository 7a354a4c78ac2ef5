"""The state file (``<state dir>/state.json``): which crashes this machine has already handled,
so a crash is found once, not at every boot.

Keyed by the dedup key of the crash's unscrubbed text; each entry says what happened:
``spooled`` (waiting to be sent), ``sent`` (with the report's address), ``rejected`` (a 4xx
and the server's reason), ``dismissed`` (the person said no). Written atomically.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpanic.client.files import atomic_write

STATE_FILE = "state.json"
VERSION = 1


@dataclass(slots=True)
class State:
    path: Path
    crashes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> State:
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError):
            # A damaged state file must not stop collection; worst case a crash is offered again
            # (and the server's dedup still stores it once).
            return cls(path)
        crashes = data.get("crashes") if isinstance(data, dict) else None
        return cls(path, crashes if isinstance(crashes, dict) else {})

    def known(self, key: str) -> bool:
        return key in self.crashes

    def mark(self, key: str, status: str, **info: Any) -> None:
        entry = self.crashes.setdefault(key, {"first_seen": _now()})
        entry.update({"status": status, "updated": _now()}, **info)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"version": VERSION, "crashes": self.crashes}
        atomic_write(self.path, (json.dumps(body, indent=1, sort_keys=True) + "\n").encode())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
