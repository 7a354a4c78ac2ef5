"""Structured stack frames of a report: the faulting IP and the first stack trace.

Understands the x86/arm64 ``func+0x1c/0x80 [module]`` form (with ``? `` for unreliable frames and
optional ``[<address>]``), symbolised lines (``func+0x1c/0x80 fs/file.c:12`` and
``inlined fs/file.c:10 [inline]``), arm's ``[<pc>] (func) from [<pc>] (caller+0x..)`` and
powerpc's ``(unreliable)`` suffix. Each frame gets its demangled name and language.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kpanic.report import stackparams as sp
from kpanic.report.language import frame_language as _frame_language
from kpanic.report.model import Frame, Language
from kpanic.report.names import demangle_frame


@lru_cache(maxsize=16384)
def frame_language(function: str, raw_function: str, file: str | None) -> Language:
    """Cached language of a frame (helper D's rules; the same frames recur in every report)."""
    return _frame_language(function, raw_function, file)


MAX_FRAMES = 128
MAX_FRAME_LINE = 1024  # no frame line is longer; bounds regex backtracking on garbage

_ADDR = r"(?:\[\<?(?:0x)?([0-9a-f]+)\>?\]\s*)"
_FRAME = re.compile(
    r"^\s*(?:" + _ADDR + r"){0,2}(\?\s+)?([A-Za-z0-9_.$]+)"
    r"(?:\+0x([0-9a-f]+)/0x([0-9a-f]+))?"
    r"(?:\s+\[([A-Za-z0-9_.\-]+)(?:\s[^\]]*)?\])?"
    r"(?:\s+([A-Za-z0-9_\-./]+\.[a-z]+):([0-9]+)(?::[0-9]+)?)?"
    r"(\s+\[inline\])?"
    r"(\s+\(unreliable\))?",
    re.ASCII,
)
_ARM_FRAME = re.compile(
    r"^\s*\[\<?(?:0x)?([0-9a-f]+)\>?\] \(([A-Za-z0-9_.$]+)(?:\+0x([0-9a-f]+)/0x([0-9a-f]+))?"
    r"(?:\s+\[([A-Za-z0-9_.\-]+)\])?(?:\s+([A-Za-z0-9_\-./]+\.[a-z]+):([0-9]+))?\) from ",
    re.ASCII,
)
_RIP = re.compile(
    r"(?:^|\s)(?:RIP|EIP|IP|NIP|pc|PC is at|epc|ERA|era)\s*:?\s+(?:[0-9a-f]{4}:)?"
    r"(?:\[\<?[0-9a-f]+\>?\]\s+)?([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)"
    r"(?:\s+\[([A-Za-z0-9_.\-]+)\])?(?:\s+([A-Za-z0-9_\-./]+\.[a-z]+):([0-9]+))?",
    re.ASCII,
)
# scripts/decode_stacktrace.sh: "func (path/file.c:12)", "? <a::B as c::D>::f (x.rs:3 y.rs:4)".
_DECODED = re.compile(
    r"^\s*(\?\s+)?([A-Za-z0-9_:<>&*, ]+?) \(([A-Za-z0-9_\-./]+\.[a-zS]+):([0-9]+)[ :)]",
    re.ASCII,
)
_MARKERS = ("<IRQ>", "</IRQ>", "<TASK>", "</TASK>", "<NMI>", "</NMI>", "<EOI>", "<SOFTIRQ>")


def _make(
    raw: str,
    offset: str | None,
    size: str | None,
    module: str | None,
    file: str | None,
    line: str | None,
    *,
    inline: bool = False,
    unreliable: bool = False,
    address: str | None = None,
) -> Frame:
    return Frame(*_fields(raw, offset, size, module, file, line, inline, unreliable, address))


_FrameFields = tuple[
    str, str, int | None, int | None, str | None, str | None, int | None, bool, bool, Language,
    int | None,
]  # fmt: skip


def _fields(
    raw: str,
    offset: str | None,
    size: str | None,
    module: str | None,
    file: str | None,
    line: str | None,
    inline: bool,
    unreliable: bool,
    address: str | None,
) -> _FrameFields:
    name = demangle_frame(raw)
    return (
        name,
        raw,
        int(offset, 16) if offset else None,
        int(size, 16) if size else None,
        module,
        file,
        int(line) if line else None,
        inline,
        unreliable,
        frame_language(name, raw, file),
        int(address, 16) if address else None,
    )


def parse_frame_line(line: str) -> Frame | None:
    """One frame from a stack-trace line, or None when the line is not a frame."""
    fields = _line_fields(line[:MAX_FRAME_LINE])
    return None if fields is None else Frame(*fields)


@lru_cache(maxsize=32768)
def _line_fields(line: str) -> _FrameFields | None:
    # Cached: successive reports of one log (and logs of one kernel) repeat the same lines.
    m = _ARM_FRAME.match(line)
    if m is not None:
        name, off, size, module, file, lineno = m.group(2, 3, 4, 5, 6, 7)
        return _fields(name, off, size, module, file, lineno, False, False, m.group(1))
    m = _FRAME.match(line)
    if m is None or (m.group(4) is None and m.group(7) is None):
        d = _DECODED.match(line)
        if d is None:
            return None  # a plain word is not a frame
        name, file, lineno = d.group(2, 3, 4)
        return _fields(name, None, None, None, file, lineno, False, d.group(1) is not None, None)
    raw, off, size, module, file, lineno = m.group(3, 4, 5, 6, 7, 8)
    inline = m.group(9) is not None
    if off is None and not inline and file is not None and not line.startswith(" "):
        return None  # "fs/foo.c:12" prose, not an indented frame
    unreliable = m.group(2) is not None or m.group(10) is not None
    return _fields(raw, off, size, module, file, lineno, inline, unreliable, m.group(1))


def rip_frame(report: str) -> Frame | None:
    """The faulting instruction's frame from an ``RIP:``/``pc :``/``PC is at`` line."""
    for line in report.split("\n", 200)[:200]:
        m = _RIP.search(line)
        if m is not None and " 0033:" not in line:
            return _make(m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6))
    return None


def stack_frames(report: str) -> list[Frame]:
    """The faulting frame (if printed) followed by the first stack trace's frames."""
    frames: list[Frame] = []
    lines = report.split("\n")
    start = None
    for i, line in enumerate(lines):
        if sp.is_stack_start(line):
            start = i + 1
            break
    if start is None:
        # Old 32-bit ARM: the "(func) from [<pc>]" trace follows the "Stack: (0x..)" hex dump
        # with no line announcing it; it starts at its first frame.
        start = next((i for i, line in enumerate(lines) if _ARM_FRAME.match(line)), None)
    rip = rip_frame(report if start is None else "\n".join(lines[:start]))
    if start is not None:
        misses = 0
        for line in lines[start:]:
            stripped = line.strip()
            if stripped in _MARKERS or not stripped and not frames:
                continue
            if sp.is_stack_start(line):
                break
            frame = parse_frame_line(line)
            if frame is None:
                misses += 1
                if frames and misses > 1 or "---[ end trace" in line:
                    break
                continue
            misses = 0
            frames.append(frame)
            if len(frames) >= MAX_FRAMES:
                break
    if rip is not None and not (frames and frames[0].raw_function == rip.raw_function):
        frames.insert(0, rip)
    return frames
