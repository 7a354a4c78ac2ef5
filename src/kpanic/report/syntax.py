"""Regular-expression building blocks shared by the crash-kind table and the stack walker.

The table in :mod:`kpanic.report.kinds` is written with the same ``{{FUNC}}``/``{{PC}}``/
``{{SRC}}`` placeholders syzkaller's pkg/report uses, so a row can be compared with upstream at
a glance; :func:`rx` expands them. Everything is compiled with ``re.ASCII`` because Go's RE2
classes (``\\d``, ``\\w``, ``\\s``) are ASCII-only.
"""

from __future__ import annotations

import re
from functools import lru_cache

PLACEHOLDERS = {
    "{{ADDR}}": r"0x[0-9a-f]+",
    "{{PC}}": r"\[\<?(?:0x)?[0-9a-f]+\>?\]",
    "{{FUNC}}": r"([a-zA-Z0-9_]+)(?:\.|\+)",
    "{{SRC}}": r"([a-zA-Z0-9\-_/.]+\.[a-z]+:[0-9]+)",
}


def expand(pattern: str) -> str:
    """Replace the placeholders by their regular expressions."""
    for key, value in PLACEHOLDERS.items():
        pattern = pattern.replace(key, value)
    return pattern.replace("[[:xdigit:]]", "[0-9A-Fa-f]").replace("[[:space:]]", r"\s")


@lru_cache(maxsize=1024)
def rx(pattern: str) -> re.Pattern[str]:
    """Compile a table pattern (placeholders expanded, ASCII semantics like Go's RE2)."""
    return re.compile(expand(pattern), re.ASCII)


def go_sprintf(fmt: str, args: list[str]) -> str:
    """Format like Go's ``fmt.Sprintf`` for the explicit-index verbs the table uses (%[N]v)."""

    def repl(m: re.Match[str]) -> str:
        idx = int(m.group(1)) - 1
        if 0 <= idx < len(args):
            return args[idx]
        return f"%!{m.group(2)}(BADINDEX)"

    out = _VERB.sub(repl, fmt)
    if not _VERB.search(fmt) and args:
        # Go appends the unused operands when the format has no verb at all.
        extra = ", ".join(f"string={a}" for a in args)
        out += f"%!(EXTRA {extra})"
    return out


_VERB = re.compile(r"%\[(\d+)\]([vs])")

# A frame pointer line: "RIP: 0010:foo+0x1/0x2", "pc : foo+0x..", "PC is at foo+0x..", "NIP [..] foo+".
RIP_FRAME = rx(
    r"(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|"
    r"(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))"
)
CALL_TRACE = rx(r"(?:Call (?:T|t)race:)|(?:Backtrace:)")
# Sentinel part: "parse a stack trace from here" (syzkaller's nil parseStackTrace regexp).
PARSE_STACK = re.compile(r"(?!)")


_META = frozenset(".^$*+?{}[]|()")


def literal_prefix(pattern: str) -> str:
    """The literal text every match of ``pattern`` starts with (for cheap ``in`` prefilters)."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            out.append(pattern[i + 1])
            i += 2
            continue
        if ch in _META or ch == "\\":
            break
        out.append(ch)
        i += 1
    if i < len(pattern) and pattern[i] in "?*{" and out:
        out.pop()  # the last literal is optional
    return "".join(out)
