"""Cut the crashes out of a long kernel log (a boot's journal, vmcore-dmesg.txt, kern.log).

kpanic's parser finds every report and its span; each span, with a few lines of context before
it (the messages that led to the crash), becomes one crash. Spans that touch or overlap (a
WARNING and the panic it led to) are one crash: the server parses the window and sees both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONTEXT_LINES: Final = 30
MAX_WINDOW_CHARS: Final = 1 << 20  # the server takes 2 MB logs; a crash window is far smaller


@dataclass(frozen=True, slots=True)
class Window:
    """One crash cut out of a log: ``text`` starts at character ``start`` of the log."""

    start: int
    text: str
    title: str | None
    kernel: str | None


def crash_windows(text: str) -> list[Window]:
    """The crashes in ``text``, in log order."""
    from kpanic.report import parse

    result = parse(text)
    spans: list[list[int]] = []
    meta: list[tuple[str | None, str | None]] = []
    for rep in sorted(result.reports, key=lambda r: r.start):
        start = _back_lines(text, rep.start, CONTEXT_LINES)
        end = _line_end(text, max(rep.end, rep.start))
        if spans and start <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], end)
            continue
        spans.append([start, end])
        meta.append((rep.title, rep.kernel))
    out = []
    for (start, end), (title, kernel) in zip(spans, meta, strict=True):
        window = text[start:end]
        if len(window) > MAX_WINDOW_CHARS:
            window = window[:MAX_WINDOW_CHARS]
        out.append(Window(start, window, title, kernel))
    return out


def _back_lines(text: str, pos: int, count: int) -> int:
    pos = text.rfind("\n", 0, pos) + 1  # start of the report's line
    for _ in range(count):
        if pos == 0:
            break
        prev = text.rfind("\n", 0, pos - 1)
        pos = prev + 1
    return pos


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1
