"""Bring pasted logs to the console form the parser knows, keeping a map back to the original.

People paste kernel logs through syslog (``Mar  3 12:00:00 host kernel: ``), journald
(``2024-03-03T12:00:00+0000 host kernel: ``), ``/dev/kmsg`` records (``6,1234,5678,-;``),
``dmesg -T``/``-x`` decorations, bare ``<N>`` log levels, CRLF line ends, or caller tags without a
timestamp (``[ T123] ``). Each line loses such a prefix; a bare caller tag is given a zero
timestamp so the report still follows its task. Offsets found in the canonical text map back to
the original line boundaries. Logs without foreign prefixes (the common case) are not copied.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from kpanic.report.pstore import HEADER_HINT, reassembly_order
from kpanic.report.unwrap import (
    FLOWED_BREAK,
    LONG_LINE,
    SOFT_BREAK,
    flowed_plan,
    join_plan,
    soft_break_plan,
)

MAX_WRAPPED = 1 << 20  # a mail-wrapped paste is never bigger

_FOREIGN = re.compile(
    r"^(?:"
    # a syslog line, also indented as a markdown code block ("    May 17 18:48:11 ..."), the
    # month in the locale's language ("июл 27 14:08:03 laptop kernel: ", "Mär  3 ...")
    r"[ \t]{0,8}(?:[^\s0-9:]{2,8} +[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?"
    # the host name is left out by some syslog templates: "May 17 18:48:11 kernel: [ 61.92] "
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?) (?:[^ \n]{1,64} )?kernel: "
    r"|[0-9]{1,3},[0-9]+,[0-9]+,[^;\n]{0,16};"
    r"|<[0-9]{1,3}>(?!\[)"
    r"|\[[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]{1,2} [0-9:]{8} [0-9]{4}\] "
    r"|[a-z]{2,6} *:[a-z]{3,7} *: "
    r"|\[ *[TC][0-9]{1,7}\] "
    # a timestamp whose fraction a broken console lost ("[  240.] INFO: task ..." on MIPS 3.0)
    r"|\[ *[0-9]+\.\] "
    r"|[ \t]{1,16}(?=(?:<[0-9]{1,3}>)?\[ *[0-9]+\.[0-9]+\])"  # a quoted, indented console log
    # OpenWrt logread: "Fri Jul  7 07:29:14 2017 kern.warn kernel: [81118.855695] ..."
    r"|[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]{1,2} [0-9:]{8} [0-9]{4} [a-z]+\.[a-z]+ kernel: "
    # a shell prompt the console line was printed after: "root@host:~# [  100.88] Unable ..."
    r"|[^\n\[]{0,80}?[#$%>] (?=(?:<[0-9]{1,3}>)?\[ *[0-9]+\.[0-9]+\] )"
    r")",
    re.ASCII,
)
_FOREIGN_LINE = re.compile("\n" + _FOREIGN.pattern[1:], re.ASCII)  # "\n" lets re skip fast
_MAIL_QUOTE = re.compile(r"(?:> ?)+")
_QUOTED_LINE = re.compile(r"(?m)^>")
_BARE_CALLER = re.compile(r"\[ *[TC][0-9]{1,7}\] ", re.ASCII)
_TIMESTAMP = re.compile(r"(?:<[0-9]{1,3}>)?\[ *[0-9]+\.[0-9]+\]", re.ASCII)


@dataclass(slots=True)
class Canonical:
    """The canonical text and, when it differs, per-line offsets into the original."""

    text: str
    canon_starts: list[int] | None = None
    orig_starts: list[int] | None = None
    orig_ends: list[int] | None = None
    canon_ends: list[int] | None = None
    reordered: bool = False  # lines were moved (split pstore dump): offsets are not monotonic

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``(start, end)`` of the canonical range ``[start, end)``.

        Normally the two ends mapped. When lines were reordered, the smallest original range
        holding every line of ``[start, end)``: ``text[start:end]`` then contains all of them
        (with whatever the original put between the pieces), and ``start <= end`` holds.
        """
        if not self.reordered:
            return self.to_original(start), self.to_original(end)
        assert self.canon_starts and self.orig_starts and self.orig_ends
        first = max(0, bisect.bisect_right(self.canon_starts, start) - 1)
        last = max(first, bisect.bisect_left(self.canon_starts, end) - 1)
        lo = min(self.orig_starts[first : last + 1])
        hi = max(self.orig_ends[first : last + 1])
        return min(lo, self.to_original(start)), max(hi, self.to_original(end))

    def to_original(self, offset: int) -> int:
        """Map a canonical offset (a line start or end, as reports use) to the original."""
        if self.canon_starts is None:
            return offset
        assert self.orig_starts and self.orig_ends and self.canon_ends
        i = max(0, bisect.bisect_right(self.canon_starts, offset) - 1)
        if offset <= self.canon_starts[i]:
            return self.orig_starts[i]
        if offset >= self.canon_ends[i]:
            return self.orig_ends[i] + (offset - self.canon_ends[i])
        return min(self.orig_ends[i], self.orig_starts[i] + (offset - self.canon_starts[i]))


def _canonical_line(line: str, quoted: bool, margin: str) -> tuple[str, bool]:
    """The line without foreign prefixes, and whether it had a timestamp or console prefix."""
    if line.endswith("\r"):
        line = line[:-1]
    if quoted and line.startswith(">"):
        line = line[_MAIL_QUOTE.match(line).end() :]  # type: ignore[union-attr]
    if margin and line.startswith(margin):
        line = line[len(margin) :]
    prefixed = False
    for _ in range(4):  # a syslog prefix may wrap a <N> or a kmsg record
        m = _FOREIGN.match(line)
        if m is None:
            break
        prefixed = True
        prefix = m.group(0)
        line = line[m.end() :]
        if _BARE_CALLER.fullmatch(prefix):
            return "[    0.000000][" + prefix.strip()[1:] + " " + line, True
    return line, prefixed or _TIMESTAMP.match(line) is not None


def _is_mail_quoted(text: str) -> bool:
    """Whether the log is a quoted mail reply: most of its non-blank lines start with ">"."""
    if not text.startswith(">") and "\n>" not in text:
        return False
    quoted = len(_QUOTED_LINE.findall(text))
    lines = text.count("\n") + 1 - text.count("\n\n")
    return quoted >= 3 and 2 * quoted >= lines


_FIRST_NONBLANK = re.compile(r"[ \t\r\n]*")


def _margin(text: str) -> str:
    """Whitespace every non-blank line starts with (a mail or document indent), else ""."""
    first = _FIRST_NONBLANK.match(text).end()  # type: ignore[union-attr]
    ls = text.rfind("\n", 0, first) + 1
    if first == ls or first >= len(text):
        return ""  # the first non-blank line is not indented
    margin = text[ls:first]
    for line in text.split("\n"):
        if line.strip() and not line.startswith(margin):
            margin = margin[: len(line) - len(line.lstrip(" \t"))]
            while margin and not line.startswith(margin):
                margin = margin[:-1]
            if not margin:
                return ""
    return margin


def _flowed_glue(plan: list[tuple[int, str]], lines: list[str]) -> list[tuple[int, str]]:
    """A hard-wrap plan for a format=flowed mail: half the cut lines or more kept the space
    they were cut at (a reply may quote flowed and unflowed parts), so those are glued without
    another (a hard wrap loses the space; one cut line ending in a space there is a kernel
    line's double space)."""
    spaced = [i for i, glue in plan if glue == " "]
    kept = sum(1 for i in spaced if lines[i - 1].endswith(" "))
    if not spaced or 2 * kept < len(spaced):
        return plan
    return [(i, "" if lines[i - 1].endswith(" ") else glue) for i, glue in plan]


def _join(
    lines: list[str], starts: list[int], ends: list[int], plan: list[tuple[int, str]]
) -> tuple[list[str], list[int], list[int]]:
    """Glue each planned line to its predecessor (the joined line spans both originals)."""
    glue = dict(plan)
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    for i, line in enumerate(lines):
        if i in glue and out:
            out[-1] += glue[i] + line
            out_ends[-1] = ends[i]
        else:
            out.append(line)
            out_starts.append(starts[i])
            out_ends.append(ends[i])
    return out, out_starts, out_ends


def canonicalize(text: str) -> Canonical:
    """The console-form text of ``text`` (``text`` itself when nothing needs changing).

    Lines a mail client wrapped are joined again (see unwrap.py); a joined line maps to the
    span of its pieces. Split pstore dumps are reassembled (see pstore.py): their lines then
    appear in printing order, so the canonical text is no longer in the original's order and
    ``reordered`` is set.
    """
    quoted = _is_mail_quoted(text)
    margin = _margin(text)
    pstore_parts = HEADER_HINT.search(text) is not None
    maybe_wrapped = len(text) <= MAX_WRAPPED and LONG_LINE.search(text) is None
    # Soft-wrapped and flowed mails are wrapped too: no line is longer than a mail's width.
    soft_wrapped = maybe_wrapped and "  \n" in text and SOFT_BREAK.search(text) is not None
    flowed = maybe_wrapped and FLOWED_BREAK.search(text) is not None
    if (
        not quoted
        and not soft_wrapped
        and not flowed
        and not margin
        and not pstore_parts
        and not maybe_wrapped
        and "\r" not in text
        and _FOREIGN.match(text) is None
        and _FOREIGN_LINE.search(text) is None
    ):
        return Canonical(text)
    lines: list[str] = []
    prefixed: list[bool] = []
    orig_starts: list[int] = []
    orig_ends: list[int] = []
    pos = 0
    n = len(text)
    while True:
        nl = text.find("\n", pos)
        end = n if nl == -1 else nl
        line, has_prefix = _canonical_line(text[pos:end], quoted, margin)
        lines.append(line)
        prefixed.append(has_prefix)
        orig_starts.append(pos)
        orig_ends.append(end)
        if nl == -1:
            break
        pos = nl + 1
    soft = soft_break_plan(lines, prefixed) if soft_wrapped else None
    plan = None
    lengths = [
        e - s - (text[e - 1 : e] == "\r") for s, e in zip(orig_starts, orig_ends, strict=True)
    ]
    if soft is not None:
        # Keep one space of the two: the joined line reads as the kernel printed it.
        cut = {i - 1 for i, _ in soft}
        lines = [line[:-1] if i in cut else line for i, line in enumerate(lines)]
        plan = soft
    elif maybe_wrapped:
        plan = join_plan(lengths, lines, prefixed)
        if plan is not None:
            plan = _flowed_glue(plan, lines)
    if plan is None and flowed:
        plan = flowed_plan(lengths, lines, prefixed)  # no hard wrap found: a format=flowed mail?
    if plan is not None:
        lines, orig_starts, orig_ends = _join(lines, orig_starts, orig_ends, plan)
    order = reassembly_order(lines) if pstore_parts else None
    if order is not None:
        lines = [lines[i] for i in order]
        orig_starts = [orig_starts[i] for i in order]
        orig_ends = [orig_ends[i] for i in order]
    joined = "\n".join(lines)
    if order is None and joined == text:
        return Canonical(text)  # only looked wrapped or split: nothing changed after all
    canon_starts: list[int] = []
    canon_ends: list[int] = []
    cpos = 0
    for line in lines:
        canon_starts.append(cpos)
        canon_ends.append(cpos + len(line))
        cpos += len(line) + 1
    return Canonical(joined, canon_starts, orig_starts, orig_ends, canon_ends, order is not None)
