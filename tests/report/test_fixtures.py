"""Acceptance fixtures: real kernel reports in the messy forms people paste them in.

Each file in tests/report/fixtures/ is ``KEY: value`` header lines (expectations written by hand
from reading the report), a blank line, then the log exactly as pasted. The base files are real
reports with a ``# source:`` line; ``make_variants.py`` derives the other forms from them.

``pytest --update-fixtures`` rewrites the expectation lines from the parser's current output
(and drops ``XFAIL:``), so a behaviour change shows up as a reviewable diff.

A known parser limitation is marked ``XFAIL: [KEY, KEY] <reason>``: the listed keys are expected
to differ (the test is reported as xfailed while at least one of them does), every other key is
still checked, and once all listed keys match the test fails so the stale XFAIL gets removed.
``XFAIL: <reason>`` without a key list covers the whole fixture.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from kpanic.report import parse
from kpanic.report.model import ParseResult

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COMPARED = ("TITLE", "TYPE", "CORRUPTED", "GUILTY_FRAME", "LANGUAGE", "KERNEL", "ARCH")
KNOWN_KEYS = frozenset((*COMPARED, "FORM", "KIND", "XFAIL"))
_XFAIL = re.compile(r"\[([A-Z_, ]+)\]\s*(.*)")


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.txt"))


def split(path: Path) -> tuple[list[str], str]:
    data = path.read_bytes().decode("utf-8")
    head, sep, log = data.partition("\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    return head.split("\n"), log


def fields_of(head: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in head:
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        assert sep and key in KNOWN_KEYS, f"bad header line {line!r}"
        fields[key] = value.strip()
    return fields


def observed(result: ParseResult) -> dict[str, str]:
    rep = result.primary
    if rep is None:
        return {"TITLE": ""}
    return {
        "TITLE": rep.title,
        "TYPE": rep.type,
        "CORRUPTED": "Y" if rep.corrupted else "N",
        "GUILTY_FRAME": rep.guilty_frame or "",
        "LANGUAGE": rep.language,
        "KERNEL": rep.kernel or "",
        "ARCH": rep.arch or "",
    }


def rewrite(path: Path, head: list[str], log: str, got: dict[str, str]) -> None:
    """Replace the expectation lines with ``got`` (keeping comments, FORM and KIND)."""
    keep = [line for line in head if line.startswith("#")]
    fields = fields_of(head)
    for key in ("FORM", "KIND"):
        if key in fields:
            keep.append(f"{key}: {fields[key]}")
    for key in COMPARED:
        if key in got and (got[key] or key == "TITLE"):
            keep.append(f"{key}: {got[key]}".rstrip())
    path.write_bytes(("\n".join(keep) + "\n\n" + log).encode("utf-8"))


def xfail_keys(value: str) -> tuple[frozenset[str], str]:
    """The keys a fixture's XFAIL covers (all of them without a list) and its reason."""
    m = _XFAIL.fullmatch(value)
    if m is None:
        return frozenset(COMPARED), value
    keys = frozenset(k.strip() for k in m.group(1).split(","))
    assert keys <= set(COMPARED), f"unknown key in XFAIL list {sorted(keys)}"
    return keys, m.group(2)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.stem)
def test_fixture(path: Path, update_fixtures: bool) -> None:
    head, log = split(path)
    fields = fields_of(head)
    got = observed(parse(log))
    if update_fixtures:
        rewrite(path, head, log, got)
        return
    want = {key: fields[key] for key in COMPARED if key in fields}
    assert "TITLE" in want, f"{path.name} has no TITLE line"
    if not want["TITLE"]:  # no crash expected
        have = got
        want = {"TITLE": ""}
    else:
        have = {key: got.get(key, "") for key in want}
    known, reason = xfail_keys(fields["XFAIL"]) if "XFAIL" in fields else (frozenset(), "")
    checked = {k: v for k, v in want.items() if k not in known}
    assert {k: have.get(k, "") for k in checked} == checked
    if known:
        differing = sorted(k for k in known if k in want and have.get(k, "") != want[k])
        assert differing, f"XPASS(strict): {path.name} now matches; remove its XFAIL ({reason})"
        pytest.xfail(f"{', '.join(differing)}: {reason}")


def test_fixture_set_covers_the_forms() -> None:
    """Enough real reports, each with provenance, in every paste form the parser must handle."""
    files = fixture_files()
    assert len(files) >= 40
    forms, kinds = set(), set()
    for path in files:
        head, _ = split(path)
        assert any(line.startswith("# source: ") for line in head), f"{path.name}: no source"
        fields = fields_of(head)
        forms.add(fields.get("FORM"))
        kinds.add(fields.get("KIND"))
    needed_forms = {"raw-console", "dmesg", "dmesg-T", "syslog", "pstore", "pstore-two-parts",
                    "qr-tail", "mail-quoted", "mail-wrapped", "mail-decoded", "caller-tags",
                    "interleaved", "serial-crlf"}  # fmt: skip
    assert needed_forms <= forms
    assert {"rust-panic", "warning", "null-deref", "kasan", "lockdep", "gpf", "no-crash"} <= kinds


def _make_variants():
    spec = importlib.util.spec_from_file_location("make_variants", FIXTURES / "make_variants.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variant_logs_are_derived_from_their_bases() -> None:
    """Every ``--`` fixture's log is exactly make_variants.py's transformation of its base."""
    rendered = _make_variants().render_all()
    on_disk = {p.name for p in fixture_files() if "--" in p.name}
    assert on_disk == set(rendered), "run tests/report/fixtures/make_variants.py"
    for name, text in rendered.items():
        _, log = split(FIXTURES / name)
        assert log == text.partition("\n\n")[2], f"{name} is stale: rerun make_variants.py"
