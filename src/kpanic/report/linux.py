"""Find the crashes in a Linux console log: where each starts, where it ends, what text it has.

A port of syzkaller's linux.go Parse/findFirstOops/findReport. The offsets of every kind's header
string are collected once per log (:class:`HeaderIndex`, plain ``str.find``), so no pattern rescans
the log; a candidate line is a crash when its kind's header is on it and none of the kind's
lookalike patterns is. Successive reports of one log share per-line results.
The report text is the crash line plus every later line printed from the same context (CPU or
task, when the console shows ``[ T123]``/``[ C1]`` caller tags), with the timestamp prefix
removed, plus up to 5 (50 with caller tags) earlier lines of that context.
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from dataclasses import dataclass

from kpanic.report.describe import NO_FRAMES, Description, check_corrupted, describe
from kpanic.report.kinds import INFO_MESSAGES_WITH_STACK, LINUX_KINDS, REPORT_START_IGNORES, Kind

CONSOLE_RE = re.compile(
    r"(?:\*\* [0-9]+ printk messages dropped \*\* )?(?:.* login: )?(?:\<[0-9]+\>)?"
    r"\[ *[0-9]+\.[0-9]+\](\[ *(?:C|T)[0-9]+\])? ",
    re.ASCII,
)
# The end of a console timestamp inside a line ("... 0.653714] "): one a prompt garbled.
_GARBLED_STAMP = re.compile(r"[0-9]\.[0-9]{6}\] ", re.ASCII)
_TASK_CONTEXT = re.compile(r"\[ *T[0-9]+\]", re.ASCII)
_CPU_CONTEXT = re.compile(r"\[ *C[0-9]+\]", re.ASCII)
# All headers as one expression: the benchmark's "single regex pass" yardstick.
HEADER_RE = re.compile("|".join(re.escape(k.header) for k in LINUX_KINDS))
_EXECUTOR_RE = re.compile(r" Comm: syz\.(\d+)\.(\d+) ", re.ASCII)

CONSOLE = "console"
PANIC_MARK = "Kernel panic - not syncing"
VM_DISCONNECTED = "serialport: VM disconnected."
# Report lines are cut to this length: title expressions backtrack on huge lines, and no
# kernel line is this long (syzkaller's corpus tops out at 8333 characters).
MAX_LINE = 16384


@dataclass(slots=True)
class RawReport:
    """What syzkaller's Parse returns, before metadata and frames are added."""

    kind: Kind
    desc: Description
    start: int
    end: int
    skip: int  # end of the first line: where parsing for the next report resumes
    context: str
    text: str  # prefix lines + report lines (prefixes stripped)
    prefix_len: int
    frame_text: str  # the report body with its unreliable "? func" lines
    corrupted_reason: str = ""
    panicked: bool = False
    executor: str | None = None
    oops_line: str = ""


_CONSOLE_SIMPLE = re.compile(
    r"(?:\*\* [0-9]+ printk messages dropped \*\* )?(?:\<[0-9]+\>)?"
    r"\[ *[0-9]+\.[0-9]+\](\[ *(?:C|T)[0-9]+\])? ",
    re.ASCII,
)


def _context_key(tag: str | None) -> str:
    # "[    T1]" and "[ T1]" (re-padded by decode_stacktrace.sh) are the same task.
    return tag.replace(" ", "") if tag else CONSOLE


def extract_context(line: str) -> str:
    """ "" (no timestamp), "console" (timestamp only) or the caller tag like "[ T123]"."""
    # Without " login: " the full expression reduces to the simple one (no ".*" to backtrack).
    m = (CONSOLE_RE if " login: " in line else _CONSOLE_SIMPLE).match(line)
    if m is None:
        return ""
    return _context_key(m.group(1))


def strip_line_prefix(line: str, context: str) -> tuple[str, bool]:
    """Remove the timestamp prefix; flag "? func" frames (unreliable, not part of the report)."""
    if not context:
        return line, False
    line = line[line.find("] ") + 2 :]
    if "<EOI>" not in line:
        if " ? " in line:  # what (\[\<[0-9a-f]+\>\])? \? matches
            return line[line.find(" ? ") + 2 :], True
        if line.endswith(" (unreliable)"):
            return line[:-13], True
    return line, False


def split_line(line: str) -> tuple[str, str, bool]:
    """extract_context + strip_line_prefix in one regex match (the per-line hot path)."""
    if " login: " in line:
        ctx = extract_context(line)
        return (ctx, *strip_line_prefix(line, ctx))
    m = _CONSOLE_SIMPLE.match(line)
    if m is None:
        return "", line, False
    ctx = _context_key(m.group(1))
    # The simple prefix holds no "] " before its end: the first "] " ends the match.
    rest = line[m.end() :]
    if "<EOI>" not in rest:
        if " ? " in rest:
            return ctx, rest[rest.find(" ? ") + 2 :], True
        if rest.endswith(" (unreliable)"):
            return ctx, rest[:-13], True
    return ctx, rest, False


HEADERS = tuple(dict.fromkeys(k.header for k in LINUX_KINDS))


class HeaderIndex:
    """Sorted offsets of every header string in a text, found with str.find (C speed).

    Built once per log; every later "next candidate line" question is a bisection.
    """

    def __init__(self, text: str) -> None:
        found: list[int] = []
        for header in HEADERS:
            i = text.find(header)
            while i != -1:
                found.append(i)  # one hit per line and header is enough: lines are the unit
                eol = text.find("\n", i)
                if eol == -1:
                    break
                i = text.find(header, eol + 1)
        found.sort()
        self.positions = found
        # Per line start: split_line() result, shared by the successive reports of one log.
        self.splits: dict[int, tuple[str, str, bool]] = {}
        self._kinds: dict[int, Kind | None] = {}  # per line start: match_kind()

    def kind_at(self, line_start: int, line: str) -> Kind | None:
        """match_kind(line), remembered: successive reports rescan the same lines."""
        try:
            return self._kinds[line_start]
        except KeyError:
            kind = self._kinds[line_start] = match_kind(line)
            return kind

    def next(self, pos: int, stop: int) -> int:
        """The first header offset in [pos, stop), or ``stop``."""
        i = bisect.bisect_left(self.positions, pos)
        if i < len(self.positions) and self.positions[i] < stop:
            return self.positions[i]
        return stop


def match_kind(line: str) -> Kind | None:
    """The first kind whose header is on ``line`` and that no lookalike pattern rules out."""
    for kind in LINUX_KINDS:
        if kind.header in line and not any(s.search(line) for s in kind.suppressions):
            return kind
    return None


def find_first(
    text: str, pos: int = 0, index: HeaderIndex | None = None
) -> tuple[Kind, int] | None:
    """The first crash line at or after ``pos``: its kind and line start offset."""
    index = HeaderIndex(text) if index is None else index
    stop = len(text)
    while pos < stop:
        hit = index.next(pos, stop)
        if hit == stop:
            return None
        ls = text.rfind("\n", 0, hit) + 1
        le = text.find("\n", hit)
        if le == -1:
            le = len(text)
        kind = index.kind_at(ls, text[ls:le])
        if kind is not None:
            return kind, ls
        pos = le + 1
    return None


# A symbolized header repeats itself for every inlined function, innermost first:
#   BUG: KASAN: slab-use-after-free in instrument_atomic_read_write include/..h:96 [inline]
#   BUG: KASAN: slab-use-after-free in __sco_sock_close+0x2bc/0x690 net/bluetooth/sco.c:444
# (the same for "WARNING: CPU: 0 PID: 1 at file.c:12 func ...", "RIP: 0010:func ..."). The
# group is what precedes the function; the last line of the chain is what a raw log prints.
INLINE_LINE = re.compile(
    r"^(?P<pre>\S.*?[ :])(?P<func>[A-Za-z0-9_.$]+) (?P<src>[A-Za-z0-9_\-./]+\.[a-zS]+:[0-9]+"
    r"(?::[0-9]+)?) \[inline\]\s*$",
    re.ASCII,
)


def inline_chain_end(text: str, start: int, limit: int) -> int:
    """Start of the last line of the symbolized header chain beginning at ``start``."""
    pos = start
    while pos < limit:
        le = text.find("\n", pos, limit)
        if le == -1:
            return pos
        line = split_line(text[pos:le])[1]
        if not line.endswith("]") or "[inline]" not in line:
            return pos
        m = INLINE_LINE.match(line)
        if m is None:
            return pos
        nle = text.find("\n", le + 1, limit)
        nxt = split_line(text[le + 1 : nle if nle != -1 else limit])[1]
        if not nxt.startswith(m.group("pre")):
            return pos
        pos = le + 1
    return pos


# scripts/decode_stacktrace.sh prints a header's "func+0x1c/0x80" as "func (file.c:12)":
#   BUG: KASAN: slab-use-after-free in kernfs_test_super (fs/kernfs/mount.c:286)
#   WARNING: CPU: 0 PID: 79 at mm/slub.c:3567 kfree (mm/slub.c:3567 mm/slub.c:4558)
DECODED_HEADER = re.compile(
    r"^(?P<pre>(?:BUG: |WARNING: |RIP: |pc : |PC is at |Unable to handle).*?[ :])"
    r"(?P<func>[A-Za-z_][A-Za-z0-9_.]*) \((?:[A-Za-z0-9_\-./]+\.[a-zS]+:[0-9]+(?::[0-9]+)? ?)+\)"
    r"\s*$",
    re.ASCII,
)


def _decoded_header(line: str) -> str:
    m = DECODED_HEADER.match(line) if line.endswith(")") or line.endswith(") ") else None
    return line if m is None else f"{m.group('pre')}{m.group('func')}+0x0/0x0"


def collapse_inline_headers(report: str) -> str:
    """The report with each symbolized header chain cut to its last (non-inlined) line.

    A lone ``... in func file.h:12 [inline]`` header (its chain lost) names the first frame
    after ``func``'s inline frames in the stack instead, as the raw log would have.
    """
    decoded = ".c:" in report and ")" in report and "+0x" not in report.split("\n", 1)[0]
    if "[inline]" not in report and not decoded:
        return report
    lines = report.split("\n")
    if decoded:
        lines = [_decoded_header(line) for line in lines]
    out: list[str] = []
    for i, line in enumerate(lines):
        m = INLINE_LINE.match(line) if line.endswith("]") and line[:1] != " " else None
        if m is None:
            out.append(line)
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if nxt.startswith(m.group("pre")):
            continue  # the next line of the chain says it better
        outer = _outer_frame(lines[i + 1 :], m.group("func"))
        out.append(m.group("pre") + outer if outer else line)
    return "\n".join(out)


_FRAME_TOKEN = re.compile(
    r"^\s*(?:\? |RIP: [0-9a-f]{4}:|pc : |NIP:? +)?([A-Za-z0-9_.$]+\+0x[0-9a-f]+/0x[0-9a-f]+)",
    re.ASCII,
)


def _outer_frame(lines: list[str], func: str) -> str | None:
    """``outer+0x1/0x2``: the first non-inline frame after ``func``'s frame in the stack."""
    seen = False
    for line in lines[:200]:
        stripped = line.strip()
        if not seen:
            seen = stripped.endswith("[inline]") and (
                stripped.startswith(func + " ")
                or f":{func} " in stripped
                or f" {func} " in stripped
            )
            continue
        if stripped.endswith("[inline]"):
            continue
        m = _FRAME_TOKEN.match(line)
        return m.group(1) if m else None
    return None


def _report_min_lines(oops_line: str) -> int:
    # KMSAN reports lack the "Call Trace" and other lines KASAN reports have.
    return 16 if "BUG: KMSAN:" in oops_line else 22


def _prefix_lines(text: str, start: int, context: str, floor: int) -> list[str]:
    max_prefix = 50 if _TASK_CONTEXT.search(context) else 5
    out: deque[str] = deque()
    end = start - 1  # the "\n" ending the previous line
    while end >= floor and len(out) < max_prefix:
        ls = max(text.rfind("\n", 0, end) + 1, floor)
        line = text[ls:end]
        ctx, stripped, questionable = split_line(line)
        if ctx == context and stripped and not questionable:
            out.appendleft(stripped)
        end = ls - 1
    return list(out)


def _find_report(
    text: str,
    start: int,
    context: str,
    limit: int,
    floor: int,
    index: HeaderIndex,
    chain: int | None = None,
) -> tuple[int, int, list[str], list[str], list[str]]:
    """End offset, report-end index (in lines), report, prefix and frame-list lines."""
    prefix = _prefix_lines(text, start, context, floor)
    end_pos = 0
    second_report = 0
    text_lines = 0
    skip_text = cpu_traceback = False
    report: list[str] = []
    frame_lines: list[str] = []  # the report plus its "? func" lines
    report_end = 0
    oops_line = ""
    is_task = context not in ("", CONSOLE)
    next_header = index.next(start, limit)
    info = [i for i in (text.find(m, start, limit) for m in INFO_MESSAGES_WITH_STACK) if i != -1]
    next_info = min(info) if info else limit
    splits = index.splits
    chain_last = start if chain is None else chain  # header lines repeated for inlined functions
    pos = start
    for line in text[start:limit].split("\n"):
        if pos >= limit:
            break
        nxt = pos + len(line)
        split = splits.get(pos)
        if split is None:
            split = splits[pos] = split_line(line)
        ctx, stripped, questionable = split
        is_oops = pos == start
        if is_oops:
            oops_line = line
        if next_header < nxt:
            if index.kind_at(pos, line) is not None:
                end_pos = nxt
                if (
                    not is_oops
                    and pos > chain_last
                    and second_report == 0
                    and not any(p.search(line) for p in REPORT_START_IGNORES)
                ):
                    second_report = pos
            next_header = index.next(nxt, limit)
        if next_info < nxt:
            if not is_oops and second_report == 0:
                second_report = pos
            info = [
                i for i in (text.find(m, nxt, limit) for m in INFO_MESSAGES_WITH_STACK) if i != -1
            ]
            next_info = min(info) if info else limit
        if not is_oops and (
            questionable or (ctx != context and (not cpu_traceback or not _CPU_CONTEXT.search(ctx)))
        ):
            if questionable and ctx == context and not skip_text:
                frame_lines.append("? " + stripped.lstrip())  # kept for the frame list only
            pos = nxt + 1
            continue
        text_lines += 1
        skip_line = skip_text
        if "Disabling lock debugging due to kernel taint" in line:
            skip_line = True
        elif "Sending NMI from CPU" in line:
            # A traceback of all CPUs: keep the other CPUs' output.
            cpu_traceback = True
        elif (
            PANIC_MARK in line or "WARNING: possible circular locking dependency detected" in line
        ) and text_lines > _report_min_lines(oops_line):
            # panic_on_warn panics and oops-induced lockdep splats repeat the stack: drop them.
            skip_text = True
            skip_line = True
        if not is_oops and skip_line:
            pos = nxt + 1
            continue
        report.append(stripped if len(stripped) <= MAX_LINE else stripped[:MAX_LINE])
        frame_lines.append(report[-1])
        if second_report == 0 or is_task:
            report_end = len(report)
        pos = nxt + 1
    return end_pos, report_end, report, prefix, frame_lines


def _cap_lines(text: str) -> str:
    if len(text) <= MAX_LINE or all(len(ln) <= MAX_LINE for ln in text.split("\n")):
        return text
    return "\n".join(ln[:MAX_LINE] for ln in text.split("\n"))


def parse_at(
    text: str, pos: int = 0, window: int | None = None, index: HeaderIndex | None = None
) -> RawReport | None:
    """Parse the first crash at or after ``pos``; offsets are into ``text``."""
    index = HeaderIndex(text) if index is None else index
    found = find_first(text, pos, index)
    if found is None:
        return None
    kind, start = found
    limit = len(text) if window is None else min(len(text), start + window)
    le = text.find("\n", start)
    first_line = text[start : le if le != -1 else len(text)]
    context = extract_context(first_line)
    if not context and le != -1:
        # A header whose timestamp was garbled (a shell prompt printed into it: "[root@[arch -
        # te s3t 0.653714] general protection fault") while the lines after it are stamped:
        # the report follows the next line's console (beyond syzkaller).
        nle = text.find("\n", le + 1)
        nxt = extract_context(text[le + 1 : nle if nle != -1 else len(text)])
        head = first_line.find(kind.header)
        if nxt == CONSOLE and head > 0 and _GARBLED_STAMP.search(first_line, 0, head):
            context = nxt
    chain = inline_chain_end(text, start, limit) if "[inline]" in first_line else start
    end_pos, report_end, lines, prefix, frame_lines = _find_report(
        text, start, context, limit, pos, index, chain
    )
    report = "".join(ln + "\n" for ln in lines)
    cut = "".join(ln + "\n" for ln in lines[:report_end])
    desc = describe(collapse_inline_headers(cut), kind)
    frame_text = "".join(ln + "\n" for ln in frame_lines)
    if not desc.title:
        prefix = []
        report = frame_text = _cap_lines(text[start:end_pos])
        desc = describe(report, kind)
    prefix_text = "".join(ln + "\n" for ln in prefix)
    full = prefix_text + report
    reason = desc.corrupted
    if not reason:
        reason = check_corrupted(desc.title, report, desc.format)
    skip = le if le != -1 else len(text)
    if chain != start:  # resume after the whole symbolized header chain
        chain_le = text.find("\n", chain)
        skip = chain_le if chain_le != -1 else len(text)
    raw = RawReport(
        kind=kind,
        desc=desc,
        start=start,
        end=max(end_pos, skip),
        skip=skip,
        context=context,
        text=full,
        prefix_len=len(prefix_text),
        frame_text=frame_text,
        corrupted_reason=reason,
        panicked=text.find(PANIC_MARK, pos) != -1,
        oops_line=first_line,
    )
    m = _EXECUTOR_RE.search(full)
    if m is not None:
        raw.executor = f"proc={int(m.group(1))}, id={int(m.group(2))}"
    return raw


__all__ = ["NO_FRAMES", "HeaderIndex", "RawReport", "extract_context", "find_first", "parse_at"]
