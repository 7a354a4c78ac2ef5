"""Cut the crashes out of a long kernel log (a boot's journal, vmcore-dmesg.txt, kern.log).

kpanic's parser finds every report and its span; each span, with a few lines of context before
it (the messages that led to the crash), becomes one crash. A report ends where the next one
begins; reports that begin a few lines apart are one crash (the server parses the window and
sees both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

CONTEXT_LINES: Final = 30
JOIN_GAP_LINES: Final = 10  # reports starting closer than this are one crash
TAIL_LINES: Final = 50  # lines kept after the parser's report text (the panic's last words)
MAX_REPORT_LINES: Final = 4000
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
    reports = sorted(result.reports, key=lambda r: r.start)
    spans: list[list[int]] = []
    meta: list[tuple[str | None, str | None]] = []
    last_start = 0
    for i, rep in enumerate(reports):
        # The parser's ``end`` is the end of the last header line; the report (its stack
        # trace, its "---[ end trace ]---") runs on for as many lines as its text has. A
        # report ends where the next one begins.
        body_lines = rep.text[rep.text_prefix_len :].count("\n") + 1 if rep.text else 0
        span = 2 * max(body_lines, 1) + TAIL_LINES  # generous: cleaning drops some lines
        end = _forward_lines(text, max(rep.end - 1, rep.start), span)
        end = min(end, _forward_lines(text, rep.start, MAX_REPORT_LINES))
        nxt = next((r.start for r in reports[i + 1 :] if r.start > rep.start), None)
        if nxt is not None:
            end = min(end, text.rfind("\n", 0, nxt) + 1 or nxt)
        end = max(end, _line_end(text, rep.start))  # at least the report's first line
        if spans and text.count("\n", last_start, rep.start) < JOIN_GAP_LINES:
            spans[-1][1] = max(spans[-1][1], end)  # a few lines apart: one crash
            continue
        last_start = rep.start
        start = _back_lines(text, rep.start, CONTEXT_LINES)
        if spans:
            start = max(start, spans[-1][1])
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


def _forward_lines(text: str, pos: int, count: int) -> int:
    """The offset just past the ``count`` lines that start at ``pos``'s line."""
    for _ in range(count):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


def _line_end(text: str, pos: int) -> int:
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1
