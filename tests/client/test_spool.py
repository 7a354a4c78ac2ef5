"""The spool on disk: what a killed writer leaves is cleaned up, a damaged entry is set aside
(never sent half, never blocking the others), and the backoff grows with jitter."""

from __future__ import annotations

import json
import random
from pathlib import Path

from kpanic.client.spool import BACKOFF_CAP_S, Entry, Spool, backoff


def test_leftovers_of_a_killed_writer(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.prepare()
    spool.put(Entry(key="a" * 64, kind="log", body="log text", name="a"))
    # A kill between write and rename leaves a temporary file; a torn entry cannot exist
    # (rename is atomic), but a damaged one (a broken disk) must not stop the others.
    (spool.dir / ".bbbb.json.123.tmp").write_text('{"key": "bb')
    (spool.dir / ("c" * 64 + ".json")).write_text('{"key": "c", "kind"')
    spool = Spool(tmp_path)
    spool.prepare()
    assert not list(spool.dir.glob(".*.tmp"))
    entries = list(spool.entries())
    assert [e.key for e in entries] == ["a" * 64]
    assert spool.bad == ["c" * 64 + ".json"]
    assert (spool.dir / ("c" * 64 + ".bad")).exists()
    assert json.loads((spool.dir / ("a" * 64 + ".json")).read_text())["body"] == "log text"


def test_a_photo_round_trips(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.prepare()
    data = bytes(range(256)) * 10
    spool.put(Entry(key="p", kind="photo", body=Entry.photo_body(data), name="p.jpg"))
    (entry,) = Spool(tmp_path).entries()
    assert entry.data() == data


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for attempts, base in ((1, 60), (2, 120), (5, 960)):
        delays = [backoff(attempts, rng, base=60) for _ in range(200)]
        assert min(delays) >= 0.5 * base and max(delays) <= 1.5 * base
        assert max(delays) - min(delays) > 0.5 * base  # jitter spreads the retries
    assert max(backoff(40, rng, base=60) for _ in range(50)) <= 1.5 * BACKOFF_CAP_S
