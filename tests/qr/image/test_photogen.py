"""kpanic's own generated photo families (tests/photogen): each family read, nothing wrong.

A small slice of every family runs here; the benchmark runs more
(``benchmarks/bench_photos.py --families N``).
"""

from __future__ import annotations

import pytest

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_photo
from tests.photogen import FAMILIES, sample

SEEDS = {family: (0, 2) for family in FAMILIES}


@pytest.mark.slow
@pytest.mark.parametrize(
    "family,seed", [(f, s) for f in FAMILIES for s in SEEDS[f]], ids=lambda x: str(x)
)
def test_generated_family(family: str, seed: int) -> None:
    s = sample(family, seed)
    if s.payload is None:
        with pytest.raises(PhotoDecodeError) as info:
            decode_photo(s.data)
        assert info.value.reason == s.reason
        return
    res = decode_photo(s.data)
    assert res.payload == s.payload, f"{family} {s.note}: wrong payload"


def test_generator_is_deterministic() -> None:
    assert sample("covered", 1).data == sample("covered", 1).data
