"""The encoder reproduces every kernel vector bit for bit (both encoders, URL and raw mode)."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

from kpanic.errors import DoesNotFit
from kpanic.qr import encode as enc
from tests.conftest import VECTORS as SHIPPED_VECTORS

# KPANIC_QR_VECTORS runs these tests on another vector set of the same format (e.g. held-out).
VECTORS = Path(os.environ.get("KPANIC_QR_VECTORS", str(SHIPPED_VECTORS)))

FILES = {"legacy": "legacy-6.12.json", "fido2": "fido2-6.15.json"}


@cache
def vectors() -> list[dict]:
    out = []
    for encoding, name in FILES.items():
        for vec in json.loads((VECTORS / name).read_text())["vectors"]:
            out.append({**vec, "_encoding": encoding})
    return out


def _ids(vec: dict) -> str:
    return vec["id"]


FITTING = [v for v in vectors() if v["width"]]
TOO_LARGE = [v for v in vectors() if not v["width"]]


@cache
def _encode_cached(data_hex: str, url_prefix: str | None, encoding: str) -> enc.QrCode:
    return enc.encode(bytes.fromhex(data_hex), url_prefix, encoding=encoding)  # type: ignore[arg-type]


def _encode(vec: dict) -> enc.QrCode:
    return _encode_cached(vec["data_hex"], vec["url_prefix"], vec["_encoding"])


def test_vector_set_is_loaded() -> None:
    assert FITTING and TOO_LARGE
    assert {v["_encoding"] for v in vectors()} == {"legacy", "fido2"}
    assert {v["mode"] for v in FITTING} == {"url", "raw"}


@pytest.mark.parametrize("vec", FITTING, ids=_ids)
def test_matrix_and_codewords(vec: dict) -> None:
    code = _encode(vec)
    assert code.version == vec["version"]
    assert code.width == vec["width"]
    assert code.codewords.hex() == vec["codewords_hex"]
    assert code.rows() == vec["matrix"]
    assert code.image_buffer().hex() == vec["image_hex"]
    segs = [{"mode": s.mode, "char_count": s.char_count} for s in code.segments]
    assert segs == vec["segments"]


@pytest.mark.parametrize("vec", [v for v in FITTING if v["mode"] == "url"], ids=_ids)
def test_scanner_text(vec: dict) -> None:
    code = _encode(vec)
    assert code.text == vec["url"]
    if "url_lenient" in vec:
        assert code.text_lenient == vec["url_lenient"]
    elif vec["url"] is not None:
        assert code.text_lenient == vec["url"]
    if vec["_encoding"] == "legacy":
        assert code.tail_defect == vec["legacy_tail_defect"]
    else:
        assert code.tail_defect is None


@pytest.mark.parametrize("vec", [v for v in FITTING if v["mode"] == "raw"], ids=_ids)
def test_raw_mode_text_and_identical_encoders(vec: dict) -> None:
    data = bytes.fromhex(vec["data_hex"])
    code = _encode(vec)
    assert code.text == data.decode("latin-1")
    other = "fido2" if vec["_encoding"] == "legacy" else "legacy"
    assert enc.encode(data, None, encoding=other).rows() == vec["matrix"]


@pytest.mark.parametrize("vec", TOO_LARGE, ids=_ids)
def test_too_large_raises_and_kernel_returns_zero(vec: dict) -> None:
    data = bytes.fromhex(vec["data_hex"])
    with pytest.raises(DoesNotFit, match="do not fit"):
        _encode(vec)
    buf = bytearray(8868)
    buf[: len(data)] = data
    tmp = bytearray(8868)
    width = enc.drm_panic_qr_generate(
        vec["url_prefix"], buf, len(data), len(buf), tmp, len(tmp), encoding=vec["_encoding"]
    )
    assert width == 0
    assert buf[: len(data)] == data  # untouched, like the kernel (it returns before writing)


@pytest.mark.parametrize("vec", FITTING, ids=_ids)
def test_kernel_entry_point_with_junk_buffers(vec: dict) -> None:
    """drm_panic.c's calling convention: URL mode data in the 4096-byte buffer, scratch 8868;
    raw mode the other way round. The output must not depend on the junk in the buffers."""
    data = bytes.fromhex(vec["data_hex"])
    sizes = (4096, 8868) if vec["mode"] == "url" else (8868, 4096)
    buf = bytearray(b"\xa5" * sizes[0])
    tmp = bytearray(b"\x5a" * sizes[1])
    buf[: len(data)] = data
    width = enc.drm_panic_qr_generate(
        vec["url_prefix"], buf, len(data), sizes[0], tmp, sizes[1], encoding=vec["_encoding"]
    )
    assert width == vec["width"]
    image = bytes.fromhex(vec["image_hex"])
    assert bytes(buf[: len(image)]) == image
    assert not any(buf[len(image) :])  # the whole data buffer is cleared first
    n_data = len(vec["codewords_hex"]) // 2
    # tmp holds data then EC codewords (block order); they are a permutation of the stream.
    assert sorted(tmp[:n_data]) == sorted(bytes.fromhex(vec["codewords_hex"]))


@pytest.mark.parametrize("encoding", list(FILES))
def test_max_data_size_tables(encoding: str) -> None:
    tables = json.loads((VECTORS / "max_data_size.json").read_text())["tables"]
    rows = tables[{"legacy": "legacy-6.12", "fido2": "fido2-6.15+"}[encoding]]
    assert rows
    for row in rows:
        for version, expected in row["max_data_size_by_version"].items():
            assert enc.max_data_size(int(version), row["url_len"]) == expected


@pytest.mark.parametrize("url_len", [0, 1, 12, 51, 75, 200, 300, 2000])
def test_max_data_size_always_fits(url_len: int) -> None:
    """The budget is conservative: that many bytes fit in the version, for any url_len
    (the held-out tables use url_len values not shipped here)."""
    prefix = "h" * url_len if url_len else None
    for version in range(1, 41):
        size = enc.max_data_size(version, url_len)
        if size == 0:
            continue
        for encoding in ("fido2", "legacy"):
            code = enc.encode(b"\xff" * size, prefix, encoding=encoding)
            assert code.version <= version


def test_max_data_size_out_of_range_versions() -> None:
    assert enc.max_data_size(0, 50) == 0
    assert enc.max_data_size(41, 0) == 0
    with pytest.raises(ValueError):
        enc.max_data_size(40, -1)


def test_max_version_limit() -> None:
    data = bytes(range(200))
    code = enc.encode(data, "https://e.org/?z=")
    with pytest.raises(DoesNotFit, match="version 5"):
        enc.encode(data, "https://e.org/?z=", max_version=5)
    assert enc.encode(data, "https://e.org/?z=", max_version=code.version).version == code.version


def test_legacy_fixed_differs_only_when_the_tail_is_hit() -> None:
    hit = [
        v for v in vectors() if v.get("legacy_tail_defect") in ("wrong_digits", "invalid_numeric")
    ]
    assert hit
    for vec in hit:
        data = bytes.fromhex(vec["data_hex"])
        fixed = enc.encode(data, vec["url_prefix"], encoding="legacy", legacy_fixed=True)
        assert fixed.text is not None and fixed.text != vec["url"]
        assert fixed.tail_defect is None
