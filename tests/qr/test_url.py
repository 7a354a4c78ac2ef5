"""Panic URL decoding: the vectors, the v6.12 tail repair, hostile inputs, round trips."""

from __future__ import annotations

import json
import os
import zlib
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpanic.errors import InputTooLarge, PayloadError
from kpanic.qr import digits as dg
from kpanic.qr import kmsg
from kpanic.qr.encode import encode
from kpanic.qr.url import decode_payload, inflate, is_panic_url, parse_panic_url
from tests.conftest import VECTORS as SHIPPED_VECTORS

# KPANIC_QR_VECTORS runs these tests on another vector set of the same format (e.g. held-out).
VECTORS = Path(os.environ.get("KPANIC_QR_VECTORS", str(SHIPPED_VECTORS)))


@cache
def url_vectors() -> list[dict]:
    out = []
    for encoding, name in (("legacy", "legacy-6.12.json"), ("fido2", "fido2-6.15.json")):
        for vec in json.loads((VECTORS / name).read_text())["vectors"]:
            if vec["mode"] == "url" and vec["width"]:
                out.append({**vec, "_encoding": encoding})
    return out


CLEAN = [v for v in url_vectors() if v.get("legacy_tail_defect", "none") == "none"]
DEFECT = [v for v in url_vectors() if v.get("legacy_tail_defect", "none") != "none"]


@pytest.mark.parametrize("vec", CLEAN, ids=lambda v: v["id"])
def test_url_gives_back_the_data(vec: dict) -> None:
    parsed = parse_panic_url(vec["url"])
    assert parsed.encoding == vec["_encoding"]
    assert parsed.data().hex() == vec["data_hex"]
    assert vec["url"].startswith(parsed.base_url)
    if "?a=" in vec["url_prefix"]:
        assert f"?a={parsed.arch}&v={parsed.kernel}&" in vec["url_prefix"]
    else:
        assert parsed.arch is None and parsed.kernel is None


@pytest.mark.parametrize(
    "vec", [v for v in CLEAN if v["data_kind"] == "zlib"], ids=lambda v: v["id"]
)
def test_decode_payload_inflates(vec: dict) -> None:
    result = decode_payload(vec["url"])
    assert result.kmsg == vec["plaintext"]
    assert result.data.hex() == vec["data_hex"]
    assert result.encoding == vec["_encoding"]
    assert not result.tail_repaired
    assert result.payload == vec["url"] == result.url
    assert result.to_dict()["data"] == vec["data_hex"]


@pytest.mark.parametrize("vec", DEFECT, ids=lambda v: v["id"])
def test_every_legacy_defect_vector_is_recovered(vec: dict) -> None:
    """panic_report.js returns wrong bytes (or the scanner refuses the symbol); kpanic
    recovers the data: from the digits a scanner reads, or from the lenient reading."""
    text = vec["url"] if vec["url"] is not None else vec["url_lenient"]
    data = bytes.fromhex(vec["data_hex"])
    if vec["legacy_tail_defect"] == "wrong_digits":
        try:
            assert parse_panic_url(text).data() != data  # the naive decode is wrong ...
        except PayloadError:
            pass  # ... or impossible
    assert data in dg.legacy_repair_candidates(parse_panic_url(text).digits)
    if vec["data_kind"] == "zlib":
        result = decode_payload(text)
        assert result.tail_repaired
        assert result.kmsg == vec["plaintext"]
        assert result.data == data


def test_defect_vectors_are_present() -> None:
    assert DEFECT and any(v["data_kind"] == "zlib" for v in DEFECT)


def test_parameters_in_fragment_and_escaped() -> None:
    vec = next(v for v in CLEAN if v["data_kind"] == "zlib" and v["_encoding"] == "fido2")
    base, _, query = vec["url"].partition("?")
    moved = decode_payload(f"{base}#{query}")
    assert moved.kmsg == vec["plaintext"]
    digits = query.rpartition("z=")[2]
    odd = decode_payload(f"https://e.org/p?a=arm%2064&v=6.15.0+&d=Debian%2013#z={digits}")
    assert (odd.arch, odd.kernel, odd.distro) == ("arm 64", "6.15.0+", "Debian 13")
    assert odd.base_url == "https://e.org/p"


def test_raw_payload_is_the_kmsg() -> None:
    text = "[    1.000000] Kernel panic - not syncing: VFS: Unable to mount root fs\n"
    result = decode_payload(text)
    assert result.encoding == "raw" and result.kmsg == text and result.data == b""
    assert result.url is None and result.arch is None
    # Readers map byte-mode bytes 1:1 to characters; UTF-8 logs are restored.
    assert decode_payload("caf\u00c3\u00a9\n").kmsg == "caf\u00e9\n"
    assert not is_panic_url(text)


def _url(data: bytes, encoding: str = "fido2") -> str:
    param = "z" if encoding == "fido2" else "zl"
    code = encode(data, f"https://e.org/?a=x86_64&v=6.15.0&{param}=", encoding=encoding)  # type: ignore[arg-type]
    assert code.text is not None
    return code.text


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ("https://e.org/?a=x86_64&v=6.15.0&z=12a45", PayloadError, "non-digit"),
        ("https://e.org/?a=x86_64&v=6.15.0", PayloadError, "no z= or zl="),
        ("https://e.org/?z=123&zl=1234", PayloadError, "both z= and zl="),
        ("https://e.org/?a=x&z=", PayloadError, "empty"),
        ("https://e.org/?z=1234", PayloadError, "last group has 4 digits"),
        ("https://e.org/?z=" + "9" * 17, PayloadError, "more than 7 bytes"),
        ("https://e.org/?z=" + "0" * 17, PayloadError, "corrupt zlib|truncated"),
        ("https://e.org/?z=" + "1" * 70000, InputTooLarge, "limit"),
    ],
)
def test_malformed_urls_give_clear_errors(payload: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        decode_payload(payload)


def test_error_positions_point_into_the_url() -> None:
    url = "https://e.org/?a=x86_64&v=6.15.0&z=12a45"
    with pytest.raises(PayloadError) as info:
        decode_payload(url)
    assert info.value.position is not None and url[info.value.position] == "a"


def test_truncated_and_corrupt_zlib() -> None:
    log = b"[    2.000000] BUG: kernel NULL pointer dereference\n" * 40
    stream = kmsg.deflate(log)
    assert decode_payload(_url(stream)).kmsg.encode() == log
    with pytest.raises(PayloadError, match="truncated"):
        decode_payload(_url(stream[:-10]))
    corrupt = bytearray(stream)
    corrupt[-2] ^= 0x40  # inside the Adler-32
    with pytest.raises(PayloadError, match="incorrect data check"):
        decode_payload(_url(bytes(corrupt)))
    with pytest.raises(PayloadError, match="stray bytes"):
        decode_payload(_url(stream + b"\x00\x01"))


def test_decompression_bomb_is_capped() -> None:
    bomb = zlib.compress(bytes(20 * 1024 * 1024), 9)  # 20 MiB of zeros in ~20 KB
    assert len(bomb) < 25000
    with pytest.raises(InputTooLarge, match="inflates to more than"):
        inflate(bomb)
    small = zlib.compress(bytes(5000))
    with pytest.raises(InputTooLarge):
        decode_payload(_url(small), max_kmsg_bytes=4096)
    assert len(decode_payload(_url(small), max_kmsg_bytes=5000).kmsg) == 5000


def test_garbage_inputs_do_not_crash() -> None:
    # Text that is not a URL is a raw-mode kmsg, returned as it is.
    for raw in ("", "\x00\xff"):
        assert decode_payload(raw).kmsg == raw
    # URLs without usable panic data are refused with a message, never another exception.
    for junk in ("http://", "https://e.org/?z=\u0661\u0662\u0663", "ftp://x/#zl=9"):
        with pytest.raises(PayloadError):
            decode_payload(junk)


_LOG = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABC0123456789 []:.-_=\n"), max_size=1500
)


@settings(max_examples=60, deadline=None)
@given(_LOG, st.sampled_from(["fido2", "legacy"]))
def test_kmsg_url_kmsg_identity(log: str, encoding: str) -> None:
    prefix = kmsg.build_url("https://e.org/r", arch="x86_64", kernel="6.15.0", encoding=encoding)  # type: ignore[arg-type]
    code = encode(kmsg.deflate(log.encode()), prefix, encoding=encoding)  # type: ignore[arg-type]
    text = code.text if code.text is not None else code.text_lenient
    result = decode_payload(text)
    assert result.kmsg == log
    assert result.tail_repaired == (code.tail_defect not in (None, "none"))


@settings(max_examples=20, deadline=None)
@given(st.lists(_LOG, min_size=1, max_size=12).map("\n".join), st.sampled_from(["fido2", "legacy"]))
def test_drm_panic_path_round_trip(log: str, encoding: str) -> None:
    prefix = kmsg.build_url("https://e.org/r", arch="aarch64", kernel="6.12.1", encoding=encoding)  # type: ignore[arg-type]
    result = kmsg.url_mode(log * 3, prefix, encoding=encoding, qr_version=20)  # type: ignore[arg-type]
    text = result.code.text if result.code.text is not None else result.code.text_lenient
    assert decode_payload(text).kmsg.encode() == result.kmsg


def test_dev_photo_payloads_decode_to_their_logs() -> None:
    """The 60 dev photos' ground-truth payloads (fido2, legacy made with corrected tail widths
    by segno, and raw) decode to the log in their sidecar."""
    from tests.conftest import require_shared

    photos = require_shared("photos/dev")
    sidecars = sorted(photos.glob("*.json"))
    assert len(sidecars) >= 60
    kinds = set()
    for path in sidecars:
        meta = json.loads(path.read_text())
        info = meta["payload_info"]
        result = decode_payload(meta["payload"])
        if info["payload_mode"] == "url_numeric":
            assert result.kmsg == info["kmsg"], path.name
            assert (
                result.encoding
                == {"fido2-6.15+": "fido2", "legacy-6.12": "legacy"}[info["encoding"]]
            )
            kinds.add((result.encoding, result.legacy_fixed_tail))
        else:
            assert result.encoding == "raw" and result.kmsg == meta["payload"]
    assert ("legacy", True) in kinds and ("fido2", False) in kinds


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda key, body: f"https://e.org/?a=x&{key}={body}",
            st.sampled_from(["z", "zl", "zz"]),
            st.text(alphabet="0123456789x%&#=", max_size=200),
        ),
    )
)
def test_fuzzed_payloads_fail_cleanly(payload: str) -> None:
    try:
        result = decode_payload(payload)
    except (PayloadError, InputTooLarge):
        return
    assert isinstance(result.kmsg, str)
