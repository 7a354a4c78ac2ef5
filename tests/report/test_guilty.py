"""Guilty source file on syzkaller's linux/guilty corpus (already symbolised reports).

Upstream's TestGuiltyFile: parse the text; when the extracted report is not a suffix of the input
(inlined frames repeat the title line and cut the report short) use the whole input instead; then
take the guilty file of what follows the report's context prefix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kpanic.report import parse
from kpanic.report.guilty import guilty_file, source_file
from tests.report.conftest import GUILTY_DIR, corpus_files, read_xfails, record

XFAILS = read_xfails()


def read_guilty_case(path: Path) -> tuple[str, str]:
    data = path.read_text(encoding="utf-8", errors="replace")
    head, sep, body = data.partition("\n\n")
    assert sep, f"{path}: no blank line after the headers"
    want = ""
    for line in head.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        if key.strip() == "FILE":
            want = value.strip()
    return want, body


def got_guilty(body: str) -> str:
    rep = parse(body).primary
    assert rep is not None, "no crash found"
    if body.endswith(rep.text):
        return rep.guilty_file or ""
    return guilty_file(rep.title, body[rep.text_prefix_len :]) or ""


def _params() -> list[object]:
    out = []
    for path in corpus_files(GUILTY_DIR):
        key = f"guilty/{path.name}"
        marks = [pytest.mark.xfail(reason=XFAILS[key], strict=True)] if key in XFAILS else []
        out.append(pytest.param(path, id=path.name, marks=marks))
    return out


@pytest.mark.parametrize("path", _params())
def test_guilty_file(path: Path) -> None:
    want, body = read_guilty_case(path)
    got = got_guilty(body)
    record("guilty_file", got == want)
    assert got == want


def test_source_file_matches_upstream_expression() -> None:
    import re

    upstream = re.compile(r"([a-zA-Z0-9_\-\./]*[a-zA-Z0-9_\-]+\.(c|h)):[0-9]+")
    lines = [
        " foo+0x1/0x2 net/ipv4/tcp.c:123 [inline]",
        "kernel BUG at ./include/linux/skbuff.h:2000!",
        "a.c.h:12 x/y.c:3",
        "no file here: foo.rs:12",
        "weird/../path/x_y-z.h:7:9",
        "file.c: 12",
    ]
    for line in lines:
        m = upstream.search(line)
        assert source_file(line) == (m.group(1) if m else None), line


def test_source_file_is_linear_on_long_runs() -> None:
    import time

    line = "a" * 200_000 + ".x:1"
    t0 = time.perf_counter()
    assert source_file(line) is None
    assert source_file("b" * 200_000 + ".c:1") is not None
    assert time.perf_counter() - t0 < 1.0
