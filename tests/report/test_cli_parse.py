"""``kpanic parse`` end to end: language of unusable guilty frames, ``--vmlinux``/``--modules``.

The symbolization tests build a small ELF (and a ``.ko``) with gcc through test_symbolize.py's
``build`` fixture and find expected lines from its DWARF table and source markers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kpanic.cli import main as cli_main
from kpanic.report import parse
from tests.report.conftest import REPORT_DIR, read_corpus_case
from tests.report.test_symbolize import PROG, _line_of, _offset_for
from tests.report.test_symbolize import build as build  # the gcc-built ELF fixture


def _cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert cli_main(["parse", "--json", *argv]) == 0
    [line] = capsys.readouterr().out.splitlines()
    return json.loads(line)


def test_corrupted_guilty_frame_has_unknown_language(tmp_path: Path, capsys) -> None:
    log = tmp_path / "100.txt"
    log.write_text(read_corpus_case(REPORT_DIR / "100").log)
    got = _cli_json(capsys, str(log))
    assert got["title"] == "general protection fault in corrupted"
    assert got["guilty_frame"] == "corrupted"  # syzkaller's frame, kept for parity
    assert got["language"] == "unknown"


def test_every_corpus_title_in_corrupted_has_unknown_language() -> None:
    seen = 0
    for path in sorted(REPORT_DIR.iterdir()):
        case = read_corpus_case(path)
        if not case.title.endswith(" in corrupted"):
            continue
        rep = parse(case.log, syzkaller=True).primary  # syzkaller's own "in corrupted" titles
        assert rep is not None and rep.language == "unknown", path.name
        seen += 1
    assert seen >= 50


def _oops(vmlinux: Path, module: str = "", caller: str = "main") -> str:
    off, size = _offset_for(vmlinux, "outer", _line_of(PROG, "HELPER"))
    main_off, main_size = _offset_for(vmlinux, caller, _line_of(PROG, "MAIN_CALL"))
    mod = f" [{module}]" if module else ""
    return (
        "[   12.000001] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
        "[   12.000002] #PF: supervisor read access in kernel mode\n"
        "[   12.000003] #PF: error_code(0x0000) - not-present page\n"
        "[   12.000004] Oops: 0000 [#1] PREEMPT SMP NOPTI\n"
        "[   12.000005] CPU: 0 PID: 1 Comm: prog Not tainted 6.12.0 #1\n"
        f"[   12.000006] RIP: 0010:outer+0x{off - 1:x}/0x{size:x}{mod}\n"
        "[   12.000007] Call Trace:\n"
        "[   12.000008]  <TASK>\n"
        f"[   12.000009]  {caller}+0x{main_off:x}/0x{main_size:x}{mod}\n"
        "[   12.000010]  </TASK>\n"
    )


def test_vmlinux_symbolizes_before_printing(build: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "oops.txt"
    log.write_text(_oops(build / "vmlinux"))
    plain = _cli_json(capsys, str(log))
    assert all(f["file"] is None for f in plain["frames"])
    got = _cli_json(capsys, "--vmlinux", str(build / "vmlinux"), str(log))
    frames = [(f["function"], f["inline"], f["file"], f["line"]) for f in got["frames"]]
    helper = _line_of(PROG, "HELPER")
    assert ("helper", True, "prog.c", helper) in frames  # the inlined frame addr2line revealed
    assert ("main", False, "prog.c", _line_of(PROG, "MAIN_CALL")) in frames
    assert got["guilty_file"] == "prog.c"
    assert got["title"] == plain["title"]
    # The readable form shows the file:line too.
    assert cli_main(["parse", "--vmlinux", str(build / "vmlinux"), str(log)]) == 0
    assert f"prog.c:{helper}" in capsys.readouterr().out


def test_modules_dir_symbolizes_module_frames(build: Path, tmp_path: Path, capsys) -> None:
    ko = build / "modules" / "kernel" / "drivers" / "my-mod.ko"
    log = tmp_path / "oops.txt"
    log.write_text(_oops(ko, module="my_mod", caller="mod_entry"))
    without = _cli_json(capsys, "--vmlinux", str(build / "vmlinux"), str(log))
    assert all(f["file"] is None for f in without["frames"])  # no .ko to read them from
    got = _cli_json(
        capsys, "--vmlinux", str(build / "vmlinux"), "--modules", str(build / "modules"), str(log)
    )
    named = [(f["function"], f["file"]) for f in got["frames"]]
    assert ("helper", "mod.c") in named and ("mod_entry", "mod.c") in named


def test_symbolize_options_errors(build: Path, tmp_path: Path, capsys) -> None:
    log = tmp_path / "oops.txt"
    log.write_text(_oops(build / "vmlinux"))
    assert cli_main(["parse", "--vmlinux", str(tmp_path / "nope"), str(log)]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert cli_main(["parse", "--modules", str(build / "modules"), str(log)]) == 1
    assert "--modules needs --vmlinux" in capsys.readouterr().err
    junk = tmp_path / "vmlinux"
    junk.write_bytes(b"\x7fELF" + b"\xff" * 100)
    assert cli_main(["parse", "--vmlinux", str(junk), str(log)]) == 1
    assert "not a readable ELF" in capsys.readouterr().err
