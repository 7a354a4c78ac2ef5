"""The syzkaller test-file layout is undone exactly as the corpus README describes."""

from __future__ import annotations

import pytest

from kpanic.classify.corpus import expand_paths, read_log, split_testdata
from kpanic.errors import InputTooLarge, KpanicError
from tests.classify.corpus_reports import REPORT_DIR, corpus_files


def test_every_file_splits_per_readme() -> None:
    files = corpus_files()
    assert len(files) == 747
    no_header = with_report = 0
    for p in files:
        raw = p.read_text(errors="replace")
        headers, log = split_testdata(raw)
        assert log.endswith("\n") or log == ""
        assert "TITLE: " not in log.split("\n", 1)[0]
        if raw.startswith("\n"):
            no_header += 1
            assert headers == {}
        if "\n\nREPORT:\n" in raw or raw.count("\nREPORT:") and log.endswith("\n\n"):
            with_report += 1
            assert "REPORT:" not in log.splitlines()[-3:]
    assert no_header == 34
    assert with_report >= 18


def test_titles_and_alts_are_read() -> None:
    lf = read_log(REPORT_DIR / "749")
    assert lf.headers["TITLE"][0].startswith("attempt to add with overflow in <ashmem_rust")
    assert lf.log.startswith("[   60.002464][ T2148] rust_kernel: panicked at")
    assert read_log(REPORT_DIR / "620").headers["TITLE"] == [""]


def test_plain_log_is_untouched() -> None:
    text = "[    1.0] BUG: KASAN: use-after-free in foo+0x1/0x2\nTITLE: not a header\n"
    assert split_testdata(text) == ({}, text)


def test_limits(tmp_path, monkeypatch) -> None:
    big = tmp_path / "big.log"
    big.write_bytes(b"x" * 2048)
    monkeypatch.setattr("kpanic.classify.corpus.MAX_LOG_BYTES", 1024)
    with pytest.raises(InputTooLarge):
        read_log(big)
    with pytest.raises(KpanicError):
        expand_paths([tmp_path / "missing"])
    (tmp_path / ".hidden").write_text("x")
    assert expand_paths([tmp_path]) == [big]
