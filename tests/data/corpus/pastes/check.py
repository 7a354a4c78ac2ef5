#!/usr/bin/env python3
"""Validate the hand-labelled paste corpus in this directory and print its counts.

Each ``*.txt`` file is a header, one blank line, then the paste exactly as it was posted:

    # source: <where it was read>
    # what: <one line>
    TITLE: <expected title of crash 1>
    CLASS: <expected class of crash 1>
    (TITLE:/CLASS: again for every further crash, in order of appearance)
    LANGUAGE: c|rust|unknown
    ARCH: <architecture>
    FORMS: <comma list>

Standard library only.  Exit status 0 when every file is valid, 1 otherwise.
Usage: python3 check.py [DIR]
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CLASSES = frozenset({
    "out-of-bounds", "use-after-free", "invalid-free", "leak", "uninit", "null-deref",
    "lock-misuse", "deadlock", "refcount", "data-race", "assertion", "hang", "arithmetic",
    "rust-panic", "unknown",
})  # fmt: skip
LANGUAGES = frozenset({"c", "rust", "unknown"})
ARCHES = frozenset({
    "x86_64", "i386", "arm64", "arm", "riscv64", "riscv32", "ppc64", "ppc64le", "ppc32",
    "s390x", "mips", "openrisc", "loongarch64", "unknown",
})  # fmt: skip
# What a paste can show (see README.md for each one).
FORMS = frozenset({
    "fenced", "backticks", "indented", "syslog", "journal", "dmesg-T", "no-timestamps",
    "rsyslog-escapes", "prose", "multi-crash", "wrapped", "html", "quoted", "excerpt",
    "malformed-timestamps", "caller-tags", "interleaved", "log-prefix", "qp-escapes",
})  # fmt: skip
HEADER_KEYS = ("TITLE", "CLASS", "LANGUAGE", "ARCH", "FORMS")


@dataclass
class Entry:
    path: Path
    source: str = ""
    what: str = ""
    titles: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    language: str = ""
    arch: str = ""
    forms: list[str] = field(default_factory=list)
    body: str = ""


def parse(path: Path) -> tuple[Entry | None, list[str]]:
    """Split one file into its header fields and paste; return the problems found."""
    errors: list[str] = []
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [f"not UTF-8: {exc}"]
    head, sep, body = text.partition("\n\n")
    if not sep:
        return None, ["no blank line between header and paste"]
    entry = Entry(path=path, body=body)
    lines = head.split("\n")
    if len(lines) < 2 or not lines[0].startswith("# source: "):
        errors.append("line 1 must be '# source: ...'")
    else:
        entry.source = lines[0][len("# source: ") :].strip()
    if len(lines) < 2 or not lines[1].startswith("# what: "):
        errors.append("line 2 must be '# what: ...'")
    else:
        entry.what = lines[1][len("# what: ") :].strip()
    order: list[str] = []
    for ln in lines[2:]:
        key, colon, value = ln.partition(": ")
        if not colon or key not in HEADER_KEYS:
            errors.append(f"unexpected header line {ln!r}")
            continue
        value = value.strip()
        order.append(key)
        if key == "TITLE":
            entry.titles.append(value)
        elif key == "CLASS":
            entry.classes.append(value)
        elif key == "LANGUAGE":
            entry.language = value
        elif key == "ARCH":
            entry.arch = value
        else:
            entry.forms = [f.strip() for f in value.split(",") if f.strip()]
    pairs = order[: 2 * len(entry.titles)]
    if not entry.titles:
        errors.append("no TITLE")
    if pairs != ["TITLE", "CLASS"] * len(entry.titles) or len(entry.classes) != len(entry.titles):
        errors.append("TITLE/CLASS must come in pairs, TITLE first, before LANGUAGE")
    if order[2 * len(entry.titles) :] != ["LANGUAGE", "ARCH", "FORMS"]:
        errors.append("after the TITLE/CLASS pairs: LANGUAGE, ARCH, FORMS, once each, in order")
    for t in entry.titles:
        if not t:
            errors.append("empty TITLE")
    for c in entry.classes:
        if c not in CLASSES:
            errors.append(f"unknown CLASS {c!r}")
    if entry.language not in LANGUAGES:
        errors.append(f"unknown LANGUAGE {entry.language!r}")
    if entry.arch not in ARCHES:
        errors.append(f"unknown ARCH {entry.arch!r}")
    for f in entry.forms:
        if f not in FORMS:
            errors.append(f"unknown FORM {f!r}")
    if len(entry.titles) > 1 and "multi-crash" not in entry.forms:
        errors.append("several TITLEs but FORMS lacks multi-crash")
    if len(entry.titles) == 1 and "multi-crash" in entry.forms:
        errors.append("FORMS says multi-crash but there is one TITLE")
    if not body.strip():
        errors.append("empty paste")
    if "\r" in head:
        errors.append("carriage return in header")
    return entry, errors


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    files = sorted(root.glob("*.txt"))
    entries: list[Entry] = []
    bad = 0
    for path in files:
        entry, errors = parse(path)
        if errors:
            bad += 1
            for e in errors:
                print(f"{path.name}: {e}")
        if entry is not None:
            entries.append(entry)
    crashes = sum(len(e.titles) for e in entries)
    print(f"{len(files)} pastes, {crashes} labelled crashes, {bad} invalid")
    tables = {
        "class (every crash)": Counter(c for e in entries for c in e.classes),
        "arch": Counter(e.arch for e in entries),
        "language": Counter(e.language for e in entries),
        "forms": Counter(f for e in entries for f in e.forms),
        "source host": Counter(_host(e.source) for e in entries),
    }
    for name, counter in tables.items():
        print(f"\n{name}:")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"  {n:4d}  {key}")
    return 1 if bad or not files else 0


def _host(source: str) -> str:
    """A coarse source label for the counts: the site, or the search corpus it was read from."""
    if "github.com/" in source:
        rest = source.split("github.com/", 1)[1].split("/")
        return "github.com/" + "/".join(rest[:2])
    for marker in (
        "lore.kernel.org",
        "ask.fedoraproject.org",
        "community.nxp.com",
        "mikrocontroller.net",
    ):
        if marker in source:
            return marker
    if "file id" in source:
        return "mailing-list mail (code search corpus, no URL)"
    return source.split()[0] if source else "?"


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except BrokenPipeError:  # e.g. piped into head
        sys.exit(0)
