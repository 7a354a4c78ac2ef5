"""`kpanic qr encode|decode`: the exact forms other tools build on."""

from __future__ import annotations

import io
import json
import sys
from functools import cache
from pathlib import Path

import pytest

from kpanic.cli import main
from kpanic.qr import render
from kpanic.qr.encode import encode
from tests.conftest import VECTORS


@cache
def all_vectors() -> list[dict]:
    out = []
    for encoding, name in (("legacy", "legacy-6.12.json"), ("fido2", "fido2-6.15.json")):
        for vec in json.loads((VECTORS / name).read_text())["vectors"]:
            out.append({**vec, "_encoding": encoding})
    return out


def _sample() -> list[dict]:
    """One vector per (encoder, category, defect kind): every code path, few CLI runs."""
    seen: set[tuple] = set()
    out = []
    for vec in all_vectors():
        key = (vec["_encoding"], vec["category"], vec.get("legacy_tail_defect"))
        if key not in seen:
            seen.add(key)
            out.append(vec)
    return out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.mark.parametrize("vec", _sample(), ids=lambda v: v["id"])
def test_encode_data_hex_reproduces_vector(vec: dict, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["qr", "encode", "--data-hex", vec["data_hex"], "--encoding", vec["_encoding"]]
    if vec["url_prefix"] is not None:
        argv += ["--url-prefix", vec["url_prefix"]]
    code, out, err = _run([*argv, "--format", "matrix"], capsys)
    if not vec["width"]:
        assert code == 1 and "do not fit" in err
        return
    assert code == 0
    assert out.splitlines() == vec["matrix"]
    if vec["mode"] == "url":
        code, out, err = _run([*argv, "--format", "url"], capsys)
        assert code == 0
        expected = vec["url"] if vec["url"] is not None else vec["url_lenient"]
        assert out == expected + "\n"
        assert ("out-of-range numeric group" in err) == (vec["url"] is None)


def test_encode_kmsg_file_through_drm_panic_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for vec in all_vectors():
        if vec["category"] != "kmsg" or "windowBits 15" in vec["drm_panic"]["zlib_params"]:
            continue
        base, _, query = vec["url_prefix"].partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if p)
        log = tmp_path / "kmsg.txt"
        log.write_text(vec["drm_panic"]["input_log"])
        argv = ["qr", "encode", str(log), "--url", base, "--encoding", vec["_encoding"]]
        argv += ["--arch", params["a"], "--kernel", params["v"], "--format", "matrix"]
        argv += ["--max-version", str(vec["drm_panic"]["panic_qr_version"])]
        code, out, _ = _run(argv, capsys)
        assert code == 0
        assert out.splitlines() == vec["matrix"], vec["id"]


def test_encode_raw_from_stdin_and_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vec = next(v for v in all_vectors() if v["category"] == "kmsg-raw")
    log = vec["drm_panic"]["input_log"].encode()
    _stdin(monkeypatch, log)
    code, out, _ = _run(["qr", "encode", "-", "--format", "matrix"], capsys)
    assert code == 0 and out.splitlines() == vec["matrix"]
    for fmt, suffix in (("png", ".png"), ("svg", ".svg"), ("screen", ".png"), ("terminal", ".txt")):
        target = tmp_path / f"out-{fmt}{suffix}"
        _stdin(monkeypatch, log)
        code, _, _ = _run(["qr", "encode", "-", "--format", fmt, "-o", str(target)], capsys)
        assert code == 0 and target.stat().st_size > 100
    assert target.read_text().startswith("\u2588")


def test_encode_url_mode_with_distro(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text("[    0.000000] Linux version 6.15.2-arch1 (gcc) #1\n[    9.1] Oops\n")
    code, out, _ = _run(
        ["qr", "encode", str(log), "--url", "https://e.org/r", "--arch", "x86_64",
         "--distro", "Arch", "--format", "url"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert out.startswith("https://e.org/r?a=x86_64&v=6.15.2-arch1&d=Arch&z=")
    code, out, _ = _run(["qr", "decode", out.strip(), "--json"], capsys)
    record = json.loads(out)
    assert record["distro"] == "Arch" and record["kernel"] == "6.15.2-arch1"
    assert record["kmsg"] == log.read_text()


def test_encode_argument_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["qr", "encode"], capsys)[0] == 1
    code, _, err = _run(["qr", "encode", "--data-hex", "zz"], capsys)
    assert code == 1 and "--data-hex" in err
    code, _, err = _run(["qr", "encode", "--data-hex", "00", "--max-version", "41"], capsys)
    assert code == 1 and "1..40" in err
    code, _, err = _run(["qr", "encode", "--data-hex", "00", "--url", "https://x"], capsys)
    assert code == 1 and "as-is" in err


def test_decode_urls_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    vecs = [v for v in all_vectors() if v["data_kind"] == "zlib" and v["mode"] == "url"][:3]
    defect = next(
        v for v in all_vectors()
        if v.get("legacy_tail_defect") == "invalid_numeric" and v["data_kind"] == "zlib"
    )  # fmt: skip
    inputs = [v["url"] for v in vecs] + [defect["url_lenient"]]
    code, out, _ = _run(["qr", "decode", *inputs], capsys)
    assert code == 0
    texts = [v["plaintext"] for v in [*vecs, defect]]
    # Several inputs: each output under a header naming its input (issue 16).
    for text, item in zip(texts, inputs, strict=True):
        assert text.rstrip("\n") in out
        assert f"==> {item if len(item) <= 80 else item[:60]}" in out
    code, out, _ = _run(["qr", "decode", *inputs, "https://e.org/?z=12", "--json"], capsys)
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(inputs) + 1
    expected_keys = {"input", "ok", "payload", "url", "arch", "kernel", "distro", "kmsg", "error"}
    for record, vec in zip(records, [*vecs, defect], strict=False):
        assert set(record) >= expected_keys
        assert record["ok"] and record["error"] is None
        assert record["kmsg"] == vec["plaintext"]
        assert record["payload"] == record["input"]
    assert records[-2]["tail_repaired"] is True
    assert records[-1]["ok"] is False and "z=" in records[-1]["error"]


def test_decode_missing_file_and_bad_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = _run(["qr", "decode", "/nonexistent/photo.jpg"], capsys)
    assert code == 1 and "photo.jpg: no such file" in err
    _stdin(monkeypatch, b"\xff\xfe\x00garbage")
    code, out, _ = _run(["qr", "decode", "-", "--json"], capsys)
    assert code == 1 and "neither an image nor UTF-8" in json.loads(out)["error"]


def test_decode_stdin_url_and_raw(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    vec = next(v for v in all_vectors() if v["data_kind"] == "zlib" and v["mode"] == "url")
    _stdin(monkeypatch, vec["url"].encode() + b"\n")
    code, out, _ = _run(["qr", "decode", "-", "--json"], capsys)
    assert code == 0 and json.loads(out)["kmsg"] == vec["plaintext"]
    _stdin(monkeypatch, b"[ 1.0] raw kmsg line\n")
    code, out, _ = _run(["qr", "decode", "-", "--json"], capsys)
    assert json.loads(out)["kmsg"] == "[ 1.0] raw kmsg line\n"


def test_decode_images_from_path_and_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image path of the CLI goes through kpanic.qr.image.decode_photo."""
    pytest.importorskip("kpanic.qr.image.pipeline")
    vec = next(
        v for v in all_vectors()
        if v["data_kind"] == "zlib" and v["mode"] == "url" and v["_encoding"] == "fido2"
        and 10 <= v["version"] <= 20
    )  # fmt: skip
    code = encode(bytes.fromhex(vec["data_hex"]), vec["url_prefix"])
    png = tmp_path / "code.png"
    png.write_bytes(render.render_png(code, scale=4))
    rc, out, _ = _run(["qr", "decode", str(png), "--json"], capsys)
    record = json.loads(out)
    assert rc == 0 and record["payload"] == vec["url"] and record["kmsg"] == vec["plaintext"]
    _stdin(monkeypatch, render.render_screen_png(code))
    rc, out, _ = _run(["qr", "decode", "-"], capsys)
    assert rc == 0 and out.rstrip("\n") == vec["plaintext"].rstrip("\n")
    notimage = tmp_path / "notes.txt"
    notimage.write_text(vec["url"] + "\n")
    rc, out, _ = _run(["qr", "decode", str(notimage), "--json"], capsys)
    assert rc == 0 and json.loads(out)["kmsg"] == vec["plaintext"]


def test_panic_description_and_release_from_log() -> None:
    from kpanic.cli.qr import panic_description, release_from_log

    log = (
        b"[    0.000000] Linux version 6.12.9-amd64 (gcc) #1 SMP\n"
        b"[   10.1] CPU: 1 PID: 1 Comm: init Not tainted 6.12.9-amd64 #1\n"
        b"[   10.2] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009\n"
    )
    assert (
        panic_description(log)
        == "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009"
    )
    assert panic_description(b"no panic here\n") == "Kernel panic"
    assert release_from_log(log) == "6.12.9-amd64"
    assert (
        release_from_log(b"CPU: 0 PID: 7 Comm: sh Tainted: G        W 6.15.0-rc1 #3\n")
        == "6.15.0-rc1"
    )
    assert release_from_log(b"nothing\n") is None


def test_decode_corrupt_image_is_an_error_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("kpanic.qr.image.pipeline")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)
    code, out, _ = _run(["qr", "decode", str(bad), "--json"], capsys)
    record = json.loads(out)
    assert code == 1 and record["ok"] is False and record["error"]
