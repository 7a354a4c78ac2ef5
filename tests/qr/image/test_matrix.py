"""decode_matrix and the payload checks against every kernel vector."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from kpanic.errors import QRError
from kpanic.qr.image import decode_matrix
from kpanic.qr.image.check import digits_to_bytes, payload_checks
from kpanic.qr.image.symbol import as_matrix, decode_codewords, matrix_codewords
from tests.qr.image.helpers import all_vectors, expected_text

VECTORS = all_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_decode_matrix_matches_vector(vector: dict[str, Any]) -> None:
    assert decode_matrix(vector["matrix"]) == expected_text(vector)


def test_invalid_numeric_groups_come_out_as_plain_numbers() -> None:
    bad = [v for v in VECTORS if v.get("legacy_tail_defect") == "invalid_numeric"]
    assert bad, "the vendored vectors lost their invalid_numeric cases"
    for v in bad:
        text = decode_matrix(np.array([[c == "1" for c in row] for row in v["matrix"]]))
        assert v["url"] is None
        assert text == v["url_lenient"]


def test_codeword_stream_matches_vector() -> None:
    for v in VECTORS[::7]:
        version, cw = matrix_codewords(as_matrix(v["matrix"]))
        assert version == v["version"]
        assert bytes(cw).hex() == v["codewords_hex"]


def test_single_module_flips_are_corrected_and_too_many_fail() -> None:
    v = next(x for x in VECTORS if x["version"] == 10 and x["mode"] == "url")
    arr = as_matrix(v["matrix"]).copy()
    version, cw = matrix_codewords(arr)
    noisy = cw.copy()
    noisy[::9] ^= 0x5A  # about 11% of codewords: beyond level L's reach
    with pytest.raises(QRError):
        decode_codewords(noisy, version)
    few = cw.copy()
    few[:6] ^= 0xFF  # spread over the 4 interleaved blocks: well within reach
    data, corrected = decode_codewords(few, version)
    assert corrected == 6
    assert decode_codewords(cw, version)[0] == data


@pytest.mark.parametrize(
    "vector",
    [
        v
        for v in VECTORS
        if v["mode"] == "url" and v["url"] and v.get("legacy_tail_defect") != "wrong_digits"
    ],
    ids=lambda v: v["id"],
)
def test_digits_unpack_to_the_encoder_input(vector: dict[str, Any]) -> None:
    digits = vector["url"][len(vector["url_prefix"]) :]
    legacy = vector["encoder"] == "legacy-6.12"
    assert digits_to_bytes(digits, legacy) == bytes.fromhex(vector["data_hex"])


def test_payload_checks_accept_vectors_and_verify_zlib() -> None:
    checked = 0
    for v in VECTORS:
        if v["version"] < 10 or v.get("legacy_tail_defect", "none") != "none":
            continue
        if v["mode"] == "raw" and v["data_kind"] != "text":
            continue  # random bytes: the printable-ASCII check is meant to refuse those
        version, cw = matrix_codewords(as_matrix(v["matrix"]))
        data, _ = decode_codewords(cw, version)
        text, zlib_ok = payload_checks(data, version)
        assert text == expected_text(v)
        if v["mode"] == "url" and v["data_kind"] == "zlib":
            assert zlib_ok, v["id"]
            checked += 1
    assert checked > 10


def test_payload_checks_reject_a_non_panic_payload() -> None:
    # byte segment holding a control character, then terminator and padding (version 10)
    body = bytes([0x40, 0x00, 0x03]) + b"\x01AB" + b"\x00"
    with pytest.raises(QRError):
        payload_checks(body + bytes([0xEC, 0x11] * 10), 10)


def test_non_square_matrix_is_refused() -> None:
    with pytest.raises(QRError):
        decode_matrix(np.zeros((21, 25)))
    with pytest.raises(QRError):
        decode_matrix(np.zeros((22, 22)))
