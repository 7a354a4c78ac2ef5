"""Image formats and sizes (issue 15): what Pillow opens is read, deep and odd pixels too."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from kpanic.errors import PhotoDecodeError
from kpanic.qr import sniff
from kpanic.qr.image import decode_photo, loading
from tests.qr.image.helpers import expected_text, one_per_version, render

V10 = one_per_version()[9]
CODE = render(V10["matrix"], px=4)  # 8-bit, black on white, quiet zone included


def _save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _reads(data: bytes) -> None:
    res = decode_photo(data)
    assert res.payload == expected_text(V10)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_grayscale_is_scaled_not_clipped(fmt: str) -> None:
    """A 16-bit scan using 1000..9000 of 65535: Pillow's convert("L") makes it all white."""
    deep = (1000 + (CODE.astype(np.uint32) * 8000) // 255).astype(np.uint16)
    data = _save(Image.fromarray(deep), fmt)
    assert np.asarray(Image.open(io.BytesIO(data)).convert("L")).min() == 255  # the old bug
    _reads(data)


FORMATS: dict[str, Callable[[], bytes]] = {
    "JPEG 2000": lambda: _save(Image.fromarray(CODE), "JPEG2000"),
    "PPM": lambda: _save(Image.fromarray(CODE).convert("RGB"), "PPM"),
    "PGM": lambda: _save(Image.fromarray(CODE), "PPM"),
    "AVIF": lambda: _save(Image.fromarray(CODE).convert("RGB"), "AVIF", quality=90),
    "WebP": lambda: _save(Image.fromarray(CODE), "WEBP", lossless=True),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_formats_pillow_opens_are_images(name: str) -> None:
    try:
        data = FORMATS[name]()
    except (KeyError, OSError) as exc:  # a Pillow build without that codec
        pytest.skip(f"this Pillow cannot write {name}: {exc}")
    assert sniff.image_format(data[:16]) is not None
    _reads(data)


def test_not_an_image_is_still_refused() -> None:
    assert sniff.image_format(b"[    0.000000] Linux version 6.12") is None
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(b"[    0.000000] Linux version 6.12.0\n" * 20)
    assert info.value.reason == "not-an-image"


def test_truncated_png_uses_what_decodes() -> None:
    """The code sits in the top half; the file is cut in the bottom half."""
    tall = np.full((CODE.shape[0] * 2, CODE.shape[1]), 255, np.uint8)
    tall[: CODE.shape[0]] = CODE
    noise = np.random.default_rng(1).integers(0, 255, tall.shape, dtype=np.uint8)
    tall[CODE.shape[0] :] = noise[CODE.shape[0] :]  # incompressible, so the cut lands there
    data = _save(Image.fromarray(tall), "PNG")
    res = decode_photo(data[: int(len(data) * 0.7)])
    assert res.payload == expected_text(V10)
    assert any("cut short" in n for n in res.notes)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_images_try_every_frame(fmt: str) -> None:
    blanks = [Image.fromarray(np.full(CODE.shape, g, np.uint8)) for g in (250, 200, 150)]
    frames = [blanks[0], blanks[1], Image.fromarray(CODE), blanks[2]]  # distinct: not merged
    kw = {"lossless": True} if fmt == "WEBP" else {}
    data = _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **kw)
    res = decode_photo(data)
    assert res.payload == expected_text(V10)
    assert any("frame 3 of 4" in n for n in res.notes)


def test_alpha_flattened_on_black_when_white_erases_the_code() -> None:
    """Light modules drawn white, dark modules transparent: on white the code vanishes."""
    light = CODE > 128
    rgba = np.zeros(CODE.shape + (4,), np.uint8)
    rgba[light] = (255, 255, 255, 255)
    data = _save(Image.fromarray(rgba, "RGBA"), "PNG")
    _reads(data)


def test_big_jpeg_decoded_at_reduced_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the pixel limit, a JPEG is decoded by draft() at 1/2..1/8 size, not refused;
    the same image as PNG is refused with the one shared message."""
    big = np.kron(CODE, np.ones((4, 4), np.uint8))  # 16 px per module
    monkeypatch.setattr(loading, "MAX_PIXELS", big.size // 3)
    jpeg = _save(Image.fromarray(big), "JPEG", quality=95)
    assert loading.load(jpeg).frames[0].size <= big.size // 3
    _reads(jpeg)
    png = _save(Image.fromarray(big), "PNG")
    with pytest.raises(PhotoDecodeError) as info:
        decode_photo(png)
    assert info.value.reason == "too-large"
    assert str(info.value) == sniff.pixel_limit_message(big.shape[1], big.shape[0], big.size // 3)


def test_pixel_limit_is_one_number_everywhere() -> None:
    from kpanic.web.config import WebConfig

    assert loading.MAX_PIXELS == sniff.MAX_PHOTO_PIXELS
    assert WebConfig().max_photo_pixels == sniff.MAX_PHOTO_PIXELS


@pytest.mark.parametrize("suffix", [".avif", ".gif", ".ppm"])
def test_import_treats_any_image_as_a_photo(tmp_path: object, suffix: str) -> None:
    """``kpanic import`` used to read .avif/.gif files as logs."""
    from pathlib import Path

    from kpanic.qr import kmsg
    from kpanic.qr.render import render_image
    from kpanic.settings import get_settings
    from kpanic.store.ingest import log_file_hash, prepare_file

    log = (Path(__file__).parents[3] / "src/kpanic/web/demo_data/syzkaller-130.txt").read_text()
    code = kmsg.url_mode(log, "https://panic.example/report?a=x86_64&z=", qr_version=30).code
    fmt = {".avif": "AVIF", ".gif": "GIF", ".ppm": "PPM"}[suffix]
    try:
        data = _save(render_image(code, scale=4), fmt, **({"quality": 95} if fmt == "AVIF" else {}))
    except (KeyError, OSError) as exc:
        pytest.skip(f"this Pillow cannot write {fmt}: {exc}")
    path = Path(str(tmp_path)) / f"panic{suffix}"
    path.write_bytes(data)
    assert log_file_hash(path, get_settings()) is None  # not hashed as a log
    prepared = prepare_file(path)
    assert prepared.source_kind == "photo"
    assert prepared.kmsg
