"""drm_panic.c's log handling (dump, deflate, drop oldest lines) reproduced on the kmsg vectors."""

from __future__ import annotations

import json
import os
import zlib
from functools import cache
from pathlib import Path

import pytest

from kpanic.errors import DoesNotFit, InputTooLarge
from kpanic.qr import kmsg
from kpanic.qr.url import decode_payload
from tests.conftest import VECTORS as SHIPPED_VECTORS

# KPANIC_QR_VECTORS runs these tests on another vector set of the same format (e.g. held-out).
VECTORS = Path(os.environ.get("KPANIC_QR_VECTORS", str(SHIPPED_VECTORS)))


@cache
def kmsg_vectors() -> list[dict]:
    out = []
    for encoding, name in (("legacy", "legacy-6.12.json"), ("fido2", "fido2-6.15.json")):
        for vec in json.loads((VECTORS / name).read_text())["vectors"]:
            if vec["category"] in ("kmsg", "kmsg-raw"):
                out.append({**vec, "_encoding": encoding})
    return out


URL_VECS = [v for v in kmsg_vectors() if v["mode"] == "url"]
RAW_VECS = [v for v in kmsg_vectors() if v["mode"] == "raw"]


def _zlib_args(vec: dict) -> dict:
    if "windowBits 15" in vec["drm_panic"]["zlib_params"]:
        return {"wbits": 15, "mem_level": 8}  # Python zlib.compress() defaults
    return {}


@pytest.mark.parametrize("vec", URL_VECS, ids=lambda v: v["id"])
def test_url_path_reproduces_vector(vec: dict) -> None:
    dp = vec["drm_panic"]
    result = kmsg.url_mode(
        dp["input_log"],
        vec["url_prefix"],
        encoding=vec["_encoding"],
        qr_version=dp["panic_qr_version"],
        **_zlib_args(vec),
    )
    assert result.data.hex() == vec["data_hex"]
    assert result.max_qr_data_size == dp["max_qr_data_size"]
    assert result.max_kmsg_size == dp["max_kmsg_size"]
    assert result.kmsg_dumped_len == dp["kmsg_dumped_len"]
    assert result.skipped_lines == dp["skipped_lines"]
    assert result.kmsg.decode() == vec["plaintext"]
    assert result.code.rows() == vec["matrix"]


@pytest.mark.parametrize("vec", RAW_VECS, ids=lambda v: v["id"])
def test_raw_path_reproduces_vector(vec: dict) -> None:
    dp = vec["drm_panic"]
    result = kmsg.raw_mode(dp["input_log"], qr_version=dp["panic_qr_version"])
    assert result.data.hex() == vec["data_hex"]
    assert result.max_kmsg_size == dp["max_kmsg_size"]
    assert result.kmsg_dumped_len == dp["kmsg_dumped_len"]
    assert result.code.rows() == vec["matrix"]


def test_vectors_exercise_line_skipping_and_both_paths() -> None:
    assert RAW_VECS and URL_VECS
    assert any(v["drm_panic"]["skipped_lines"] > 0 for v in URL_VECS)


def test_kmsg_dump_keeps_newest_whole_records() -> None:
    log = b"aaaa\nbbbb\ncccc\n"
    assert kmsg.kmsg_dump_get_buffer(log, 16) == log  # 15 bytes <= 16 - 1
    assert kmsg.kmsg_dump_get_buffer(log, 15) == b"bbbb\ncccc\n"
    assert kmsg.kmsg_dump_get_buffer(log, 11) == b"bbbb\ncccc\n"
    assert kmsg.kmsg_dump_get_buffer(log, 10) == b"cccc\n"
    assert kmsg.kmsg_dump_get_buffer(log, 5) == b""
    assert kmsg.kmsg_dump_get_buffer(log, 0) == b""
    # A record too big for what is left stops the walk: older records are not used.
    assert kmsg.kmsg_dump_get_buffer(b"a\n" + b"x" * 20 + b"\nz\n", 10) == b"z\n"
    # Only '\n' ends a record; a carriage return is part of the line.
    assert kmsg.kmsg_dump_get_buffer(b"old\nab\rcd\n", 7) == b"ab\rcd\n"
    assert kmsg.kmsg_dump_get_buffer(b"x\nno newline at end", 30) == b"x\nno newline at end"


def test_deflate_uses_kernel_parameters() -> None:
    data = kmsg.deflate(b"hello " * 100)
    assert data[0] == 0x48  # CM 8, CINFO 4: a 4 KiB window (windowBits 12)
    assert zlib.decompress(data) == b"hello " * 100


def test_build_url_places_distro_before_digits() -> None:
    url = kmsg.build_url("https://p.example/r", arch="x86_64", kernel="6.15.0", distro="Fedora 42")
    assert url == "https://p.example/r?a=x86_64&v=6.15.0&d=Fedora%2042&z="
    legacy = kmsg.build_url(
        "https://p.example/r", arch="aarch64", kernel="6.12.1", encoding="legacy"
    )
    assert legacy.endswith("&zl=")


def test_round_trip_through_url_with_distro() -> None:
    vec = URL_VECS[0]
    log = vec["drm_panic"]["input_log"]
    prefix = kmsg.build_url("https://p.example/r", arch="riscv64", kernel="6.15.1+", distro="Arch")
    result = kmsg.url_mode(log, prefix)
    assert result.code.text is not None
    decoded = decode_payload(result.code.text)
    assert (decoded.arch, decoded.kernel, decoded.distro) == ("riscv64", "6.15.1+", "Arch")
    assert decoded.kmsg == result.kmsg.decode()
    assert log.endswith(decoded.kmsg)


def test_url_longer_than_kernel_buffer_is_refused() -> None:
    with pytest.raises(InputTooLarge, match="256-byte buffer"):
        kmsg.build_url("https://e.org/" + "x" * 240, arch="x86_64", kernel="6.15.0")
    with pytest.raises(InputTooLarge):
        kmsg.url_mode("a\n", "https://e.org/" + "x" * 300)


def test_url_leaving_no_room_does_not_fit() -> None:
    with pytest.raises(DoesNotFit, match="no room"):
        kmsg.url_mode("line\n", "https://e.org/?a=x86_64&v=6.15.0&z=", qr_version=1)


def test_single_incompressible_line_does_not_fit() -> None:
    import random

    rng = random.Random(7)
    line = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(600))
    # No newline left to cut at: drm_panic.c gives up (-EINVAL), kpanic says why.
    with pytest.raises(DoesNotFit, match="last log line"):
        kmsg.url_mode(line, "https://e.org/?z=", qr_version=10)
    # With its newline the record is dropped whole and an empty log is encoded, as the kernel does.
    assert kmsg.url_mode(line + "\n", "https://e.org/?z=", qr_version=10).kmsg == b""


def test_raw_mode_rejects_bad_version() -> None:
    with pytest.raises(Exception, match="outside 1..40"):
        kmsg.raw_mode("x\n", qr_version=41)
