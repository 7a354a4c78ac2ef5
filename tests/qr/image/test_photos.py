"""The 60 simulated dev photos: exact payloads only, and a floor on the success count.

A wrong payload is always a failure. The floor is the count measured when this decoder was
written (zxing-cpp alone reads 50, the best of all open-source readers together 53), so any
regression fails the test.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo
from tests.conftest import require_shared

FLOOR = 59


@pytest.mark.slow
def test_dev_photos_decode_exactly() -> None:
    folder = require_shared("photos/dev")
    sidecars = sorted(folder.glob("*.json"))
    assert len(sidecars) == 60
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    wrong: list[str] = []
    failed: list[str] = []
    for side in sidecars:
        meta = json.loads(side.read_text())
        diff = meta["difficulty"]
        total[diff] += 1
        try:
            res = decode_photo(
                side.with_suffix(".jpg"), time_budget=10.0
            )  # generous: results must not depend on load
        except PhotoDecodeError as exc:
            failed.append(f"{meta['file']}: {exc.reason}: {exc}")
            continue
        if res.payload != meta["payload"]:
            wrong.append(f"{meta['file']}: {res.method} returned a wrong payload")
            continue
        ok[diff] += 1
    for diff in ("easy", "medium", "hard", "extreme"):
        print(f"{diff:8s} {ok[diff]:2d}/{total[diff]}")
    print("\n".join(failed))
    assert not wrong, wrong
    assert sum(ok.values()) >= FLOOR, failed
