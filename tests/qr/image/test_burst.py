"""Bursts: several photos of one screen, pooled across frames before Reed-Solomon.

The bursts come from tests/photogen.noisy_burst (low contrast, two saturating reflections,
sensor noise and hand shake, independent in every frame). Only bursts whose every single
frame fails count; of those, at least half must read when pooled.
"""

from __future__ import annotations

import pytest

from kpanic.errors import PhotoDecodeError
from kpanic.qr.image import decode_burst, decode_photo
from tests.photogen import noisy_burst, sample


def _single_reads(frames: list[bytes], text: str) -> bool:
    for f in frames:
        try:
            if decode_photo(f).payload == text:
                return True
        except PhotoDecodeError:
            pass
    return False


@pytest.mark.slow
def test_pooled_bursts_read_where_no_single_frame_does() -> None:
    hard = pooled = 0
    for seed in range(8):
        frames, text = noisy_burst(seed)
        if _single_reads(frames, text):
            continue
        hard += 1
        try:
            res = decode_burst(frames)
        except PhotoDecodeError:
            continue
        assert res.payload == text  # never a wrong payload
        pooled += res.method == "burst-pooled"
    assert hard >= 1, "the generator made no burst that single frames miss"
    assert pooled * 2 >= hard, f"{pooled} of {hard} hard bursts read"


@pytest.mark.slow
def test_animation_of_a_noisy_burst_is_pooled() -> None:
    s = sample("burst-noisy", 3)
    res = decode_photo(s.data)
    assert res.payload == s.payload


def test_decode_burst_without_images_says_so() -> None:
    with pytest.raises(PhotoDecodeError) as info:
        decode_burst([b"not an image", b"neither"])
    assert info.value.reason == "not-an-image"
