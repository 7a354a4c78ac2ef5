"""`kpanic parse` carries the classification: JSON fields and the readable verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpanic.classify import classify
from kpanic.classify.corpus import read_log
from kpanic.cli import main
from kpanic.report import parse
from tests.classify.corpus_reports import REPORT_DIR

FIELDS = (
    "bug_class",
    "rust_prevents",
    "rust_reason",
    "confidence",
    "evidence",
    "signature",
    "class_reason",
    "signature_version",
    "signature_alternatives",
    "signature_digest",
)


def plain_log(tmp_path: Path, name: str) -> Path:
    out = tmp_path / f"{name}.log"
    out.write_text(read_log(REPORT_DIR / name).log)
    return out


@pytest.mark.parametrize("name", ["8", "510", "749", "26"])
def test_parse_json_has_classification(tmp_path: Path, capsys, name: str) -> None:
    path = plain_log(tmp_path, name)
    assert main(["parse", "--json", str(path)]) == 0
    data = json.loads(capsys.readouterr().out.splitlines()[0])
    report = parse(path.read_text()).primary
    assert report is not None
    expected = classify(report)
    for key in FIELDS:
        assert data[key] == getattr(expected, key), key
    assert data["bug_class"] != "unknown" and data["evidence"]
    lines = path.read_text().splitlines()
    assert all(any(ev in line for line in lines) for ev in data["evidence"])


def test_parse_no_crash_and_readable(tmp_path: Path, capsys) -> None:
    empty = plain_log(tmp_path, "1")  # one of the corpus logs with no crash
    assert main(["parse", "--json", str(empty)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["crashed"] is False and all(data[k] is None for k in FIELDS)
    assert main(["parse", str(plain_log(tmp_path, "510"))]) == 0
    out = capsys.readouterr().out
    assert "bug class" in out and "null-deref" in out and "safe Rust prevents" in out


def test_parse_shows_evidence_and_reason(tmp_path: Path, capsys) -> None:
    # 510: a GP fault whose class comes from KASAN's "null-ptr-deref in range" hint line
    assert main(["parse", str(plain_log(tmp_path, "510"))]) == 0
    out = capsys.readouterr().out
    assert "KASAN: null-ptr-deref in range" in out and "why" in out
