"""`kpanic stats` and `kpanic signature` on real corpus logs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kpanic.classify.model import BUG_CLASSES
from kpanic.classify.signature import CURRENT
from kpanic.cli import main
from tests.classify.corpus_reports import REPORT_DIR

SUBSET = ["1", "8", "26", "40", "51", "114", "157", "168", "206", "208", "510", "520", "568",
          "626", "686", "748", "749"]  # fmt: skip


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    for name in SUBSET:
        shutil.copy(REPORT_DIR / name, d / name)
    return d


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_json(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", str(logs), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["logs"] == len(SUBSET)
    assert data["no_crash"] == 1 and data["errors"] == 0  # file 1 holds no crash
    assert data["crashes"] == len(SUBSET) - 1
    for block in ("by_class", "by_language", "by_rust_prevents"):
        assert sum(v["count"] for v in data[block].values()) == data["crashes"]
        assert abs(sum(v["share"] for v in data[block].values()) - 1) < 0.01
    assert set(data["by_class"]) <= set(BUG_CLASSES)
    assert data["by_class"]["rust-panic"]["count"] == 2
    assert data["by_language"]["rust"]["count"] == 2
    assert data["by_class"]["use-after-free"]["count"] >= 2


def test_stats_table_and_plots(logs: Path, tmp_path: Path, capsys) -> None:
    png, svg = tmp_path / "out.png", tmp_path / "out.svg"
    code, out, _ = run(capsys, "stats", str(logs), "--plot", str(png))
    assert code == 0 and "Bug classes" in out and "use-after-free" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    code, out, _ = run(capsys, "stats", str(logs / "8"), "--json", "--plot", str(svg))
    assert code == 0 and json.loads(out)["crashes"] == 1
    assert b"<svg" in svg.read_bytes()[:500]


def test_stats_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "stats", str(tmp_path / "missing"))
    assert code == 1 and "no such file" in err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    code, out, _ = run(capsys, "stats", str(junk), "--json")
    assert code == 0 and json.loads(out)["no_crash"] == 1
    code, _, err = run(capsys, "stats", str(junk), "--plot", str(tmp_path / "x.jpg"))
    assert code == 1 and ".png or .svg" in err


def test_stats_counts_oversized_logs_as_errors(logs: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr("kpanic.classify.corpus.MAX_LOG_BYTES", 4096)
    code, out, _ = run(capsys, "stats", str(logs), "--json")
    data = json.loads(out)
    big = sum((logs / n).stat().st_size > 4096 for n in SUBSET)
    assert code == 0 and big >= 5 and data["errors"] == big
    assert data["crashes"] + data["no_crash"] + data["errors"] == len(SUBSET)


def test_signature_diff(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rcu = [str(logs / n) for n in ("114", "206", "208")]  # three "suspicious RCU usage" bugs
    code, out, _ = run(
        capsys, "signature", "diff", "--from", "2026-11-15", "--to", "2026-11-22", *rcu, "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["crashes"] == 3 and data["old_groups"] == 1 and data["new_groups"] == 3
    assert data["merges"] == [] and len(data["splits"]) == 1
    assert data["splits"][0]["key"] == "WARNING: suspicious RCU usage"
    code, out, _ = run(capsys, "signature", "diff", "--from", "2026-11-15", str(logs))
    assert code == 0 and "Split groups" in out and "0 merges" in out


def test_signature_show_and_versions(logs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "signature", "show", str(logs / "520"), "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 1
    assert rows[0]["signature"] == "UBSAN: array-index-out-of-bounds in arch_uprobe_analyze_insn"
    assert any(n.startswith("frames-top:") for n in rows[0]["notes"])
    code, out, _ = run(capsys, "signature", "versions")
    assert code == 0 and f"{CURRENT} (current)" in out and "frames-drop-inline" in out
    with pytest.raises(SystemExit):
        main(["signature", "diff", "--from", "1999-01-01", str(logs)])
