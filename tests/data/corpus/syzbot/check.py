#!/usr/bin/env python3
"""Validate the syzbot mail corpus in this directory and print its counts.

Every ``*.txt`` file here is one syzbot crash report as mailed, with header
lines in front of the mail body:

    # source: <where it came from>
    # message-id: <Message-ID or "unknown">
    # subject: <the mail subject as archived>
    TITLE: <expected title, derived from the subject>
    ARCH: <x86_64|arm64|...|unknown>
    KIND: <kind>
    FORM: <raw|symbolized>
    <one blank line>
    <mail body>

Usage: ``python3 check.py [DIR]``; exits 1 when any file is malformed.
Standard library only.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

HEADER_KEYS = (
    "# source: ",
    "# message-id: ",
    "# subject: ",
    "TITLE: ",
    "ARCH: ",
    "KIND: ",
    "FORM: ",
)
KINDS = frozenset(
    (
        "kasan",
        "kmsan",
        "kcsan",
        "ubsan",
        "lockdep",
        "warning",
        "bug",
        "gpf",
        "hang",
        "stall",
        "lockup",
        "leak",
        "boot",
        "kfence",
        "other",
    )
)
FORMS = frozenset(("raw", "symbolized"))
ARCH_RE = re.compile(r"^[a-z0-9_]+$")
SLUG_RE = re.compile(r"^[a-z0-9-]+\.txt$")
# One leading "Re:" or one leading bracket group: "[syzbot]", "[fs?]", "[ext4?]",
# "[io-uring]" (a confirmed subsystem), or a list tag such as "[f2fs-dev]".
LEADING_TAG_RE = re.compile(r"^(?:re:\s*|\[[^\]]*\]\s*)", re.IGNORECASE)
# syzbot's "(N)" suffix for the N-th bug with the same title.
COUNT_SUFFIX_RE = re.compile(r"\s*\(\d+\)$")


def title_from_subject(subject: str) -> str:
    """The expected title: the subject without tags, "Re:" and the "(N)" suffix."""
    title = subject.strip()
    while True:
        stripped = LEADING_TAG_RE.sub("", title, count=1)
        if stripped == title:
            break
        title = stripped
    title = COUNT_SUFFIX_RE.sub("", title)
    return " ".join(title.split())


def check_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """Return the header fields of one corpus file and the problems found in it."""
    problems: list[str] = []
    fields: dict[str, str] = {}
    if not SLUG_RE.match(path.name):
        problems.append("file name is not [a-z0-9-].txt")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return fields, [f"not UTF-8: {exc}"]
    lines = text.split("\n")
    if len(lines) < len(HEADER_KEYS) + 2:
        return fields, ["too short for the header, blank line and body"]
    for i, key in enumerate(HEADER_KEYS):
        line = lines[i]
        if not line.startswith(key):
            problems.append(f"line {i + 1}: expected {key.strip()!r}")
            continue
        fields[key.strip("#: ")] = line[len(key) :]
    if lines[len(HEADER_KEYS)] != "":
        problems.append(f"line {len(HEADER_KEYS) + 1}: expected one blank line")
    body = "\n".join(lines[len(HEADER_KEYS) + 1 :])
    if not body.strip():
        problems.append("empty body")
    elif not lines[len(HEADER_KEYS) + 1].strip():
        problems.append("body starts with a blank line")
    for key in ("source", "message-id", "subject", "TITLE"):
        if key in fields and not fields[key].strip():
            problems.append(f"empty {key}")
    if "subject" in fields and "TITLE" in fields:
        want = title_from_subject(fields["subject"])
        if fields["TITLE"] != want:
            problems.append(
                f"TITLE {fields['TITLE']!r} is not derived from the subject (want {want!r})"
            )
    if fields.get("KIND", "") not in KINDS:
        problems.append(f"unknown KIND {fields.get('KIND')!r}")
    if fields.get("FORM", "") not in FORMS:
        problems.append(f"unknown FORM {fields.get('FORM')!r}")
    if not ARCH_RE.match(fields.get("ARCH", "")):
        problems.append(f"bad ARCH {fields.get('ARCH')!r}")
    return fields, problems


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    files = sorted(root.glob("*.txt"))
    counts: dict[str, Counter[str]] = {"KIND": Counter(), "ARCH": Counter(), "FORM": Counter()}
    titles: Counter[str] = Counter()
    bad = 0
    for path in files:
        fields, problems = check_file(path)
        for problem in problems:
            print(f"{path.name}: {problem}")
        bad += bool(problems)
        for key, counter in counts.items():
            counter[fields.get(key, "?")] += 1
        titles[fields.get("TITLE", "")] += 1
    for title, n in titles.items():
        if n > 1:
            print(f"note: {n} files share the title {title!r}")
    print(f"{len(files)} files, {bad} malformed")
    for key, counter in counts.items():
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
        print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in ranked))
    return 1 if bad or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
