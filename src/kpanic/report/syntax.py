"""Regular-expression building blocks shared by the crash-kind table and the stack walker.

The table in :mod:`kpanic.report.kinds` is written with the same ``{{FUNC}}``/``{{PC}}``/
``{{SRC}}`` placeholders syzkaller's pkg/report uses, so a row can be compared with upstream at
a glance; :func:`rx` expands them. Everything is compiled with ``re.ASCII`` because Go's RE2
classes (``\\d``, ``\\w``, ``\\s``) are ASCII-only.
"""

from __future__ import annotations

import re
from functools import lru_cache

MAX_GAP_LINES = 300
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
    pattern = pattern.replace("[[:xdigit:]]", "[0-9A-Fa-f]").replace("[[:space:]]", r"\s")
    # "Any number of lines, then X" rescans the rest of the report from every candidate start
    # (quadratic on crafted logs); upstream's reports put X within a few lines, so bound it.
    return pattern.replace(r"(?:.*\n)+?", r"(?:.*\n){1,%s}?".replace("%s", str(MAX_GAP_LINES)))


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

# The faulting IP: "RIP: 0010:foo+0x1/0x2", "pc : foo+0x..", "PC is at foo+..", "NIP [..] foo+".
# Beyond syzkaller: ppc64 ELFv1 dot-symbols (".func+0x..") and the s390 "Krnl PSW" line.
RIP_FRAME = rx(
    r"(?:(?:IP|NIP|pc |PC is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}\.?{{FUNC}}"
    r"|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[< *\(null\)>\] +\(null\)|[0-9]+: +\(null\))"
    r"|Krnl PSW : [0-9a-f]+ [0-9a-f]+ \({{FUNC}}"
    # decode_stacktrace.sh: "RIP: 0010:func (path/file.c:12)".
    r"|(?:IP|pc ):? (?:[0-9]+:)?([a-zA-Z0-9_]+) \([a-zA-Z0-9_\-./]+\.[a-zS]+:[0-9]+)"
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


class _GapMatch:
    """The part of ``re.Match`` the parser uses: where the match starts, and (no) groups."""

    __slots__ = ("_start",)

    def __init__(self, start: int) -> None:
        self._start = start

    def start(self) -> int:
        return self._start

    def groups(self) -> tuple[str | None, ...]:
        return ()


class GappedPattern:
    """``A.*B.*C`` (no capture groups) matched in linear time.

    Python's backtracking makes ``.*`` chains quadratic or cubic on long crafted lines (a
    1 KB line costs 0.1 s against ``WARNING: .*mm/.*\\.c.* k?.?malloc``). Since ``.*`` never
    crosses a newline, a match exists iff the pieces occur in order on one line, and choosing
    each piece's earliest occurrence is optimal; the match starts at the first piece. If the
    chain fails from one start, it fails from every later start on that line too.
    """

    def __init__(self, pattern: str, pieces: list[re.Pattern[str]]) -> None:
        self.pattern = pattern
        self._pieces = pieces

    def search(self, text: str, pos: int = 0) -> _GapMatch | None:
        first, rest = self._pieces[0], self._pieces[1:]
        n = len(text)
        while pos <= n:
            m = first.search(text, pos)
            if m is None:
                return None
            eol = text.find("\n", m.end())
            eol = n if eol == -1 else eol
            at = m.end()
            for piece in rest:
                pm = piece.search(text, at, eol)
                if pm is None:
                    break
                at = pm.end()
            else:
                return _GapMatch(m.start())
            pos = eol + 1
        return None


def compile_title(pattern: str) -> re.Pattern[str] | GappedPattern:
    """Compile a group-free ``.*`` chain as a :class:`GappedPattern`, anything else with re."""
    expanded = expand(pattern)
    if ".*" not in expanded or re.compile(expanded).groups:
        return rx(pattern)
    parts = expanded.split(".*")
    if not all(parts) or any(p.endswith("\\") for p in parts):
        return rx(pattern)
    try:
        pieces = [re.compile(p, re.ASCII) for p in parts]
    except re.error:
        return rx(pattern)  # a ".*" inside a group: keep the plain expression
    if any(p.groups for p in pieces):
        return rx(pattern)
    return GappedPattern(pattern, pieces)
