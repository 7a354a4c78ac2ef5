"""The on-disk spool (``<state dir>/spool/``): every report waits here until the server has
answered, so nothing is lost when the server is down, the network fails or the sender is killed.

One JSON file per report, named by its idempotency key, written with write-then-rename (a kill
at any point leaves the old state or the new one; a leftover temporary file is removed on the
next run, under the directory lock). An entry that cannot be sent now gets its next attempt
time from exponential backoff with jitter; the next run sends the entries that are due.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from kpanic.client.files import atomic_write, remove_stale_tmp

SPOOL_DIR: Final = "spool"
BACKOFF_BASE_S: Final = 60.0
BACKOFF_CAP_S: Final = 6 * 3600.0
JITTER: Final = (0.5, 1.5)  # the delay is multiplied by a uniform factor in this range
MAX_ATTEMPTS: Final = 200  # about a month at the cap; then the entry is given up (and said so)


@dataclass(slots=True)
class Entry:
    key: str  # idempotency key: the server's dedup key of the text, sha256 of a photo
    kind: str  # log | url | photo
    body: str  # the text, or the photo in base64
    name: str  # what to call it in messages (file name, "pstore crash of ...")
    state_key: str | None = None  # the crash's key in the state file (collect)
    created: float = 0.0
    attempts: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None

    def data(self) -> bytes:
        return base64.b64decode(self.body) if self.kind == "photo" else self.body.encode()

    @staticmethod
    def photo_body(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")


def backoff(attempts: int, rng: random.Random | None = None, base: float | None = None) -> float:
    """Seconds to wait after ``attempts`` failed attempts: base * 2^(n-1), capped, jittered."""
    if base is None:
        base = float(os.environ.get("KPANIC_CLIENT_RETRY_BASE", BACKOFF_BASE_S))
    delay = min(BACKOFF_CAP_S, base * 2 ** max(0, attempts - 1))
    return delay * (rng or random).uniform(*JITTER)


class Spool:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / SPOOL_DIR
        self.bad: list[str] = []

    def prepare(self) -> None:
        """Create the directory; remove what a killed writer left (call under the lock)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        remove_stale_tmp(self.dir)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def put(self, entry: Entry) -> None:
        if not entry.created:
            entry.created = time.time()
        atomic_write(self.path(entry.key), json.dumps(asdict(entry)).encode())

    def remove(self, key: str) -> None:
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            pass

    def entries(self) -> Iterator[Entry]:
        """Every entry, oldest first; a damaged file is set aside as ``*.bad`` and named."""
        if not self.dir.is_dir():
            return
        paths = sorted(self.dir.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for p in paths:
            try:
                raw: Any = json.loads(p.read_text(encoding="utf-8"))
                entry = Entry(**raw)
            except FileNotFoundError:
                continue
            except (OSError, ValueError, TypeError):
                os.replace(p, p.with_suffix(".bad"))
                self.bad.append(p.name)
                continue
            yield entry

    def __len__(self) -> int:
        return sum(1 for _ in self.dir.glob("*.json")) if self.dir.is_dir() else 0
