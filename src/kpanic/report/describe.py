"""Turn a report's text into its title, alternative titles and corruption verdict.

A port of syzkaller's extractDescription / extractStackFrame / isCorrupted: the earliest matching
format of the kind wins; its stack rule walks the report's lines to find the blamed frame, skipping
generic frames; partially stripped syscall prefixes give extra alternative titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from kpanic.report import stackparams as sp
from kpanic.report.kinds import Format, Kind, Stack
from kpanic.report.names import demangle_frame
from kpanic.report.syntax import PARSE_STACK, go_sprintf

NO_FRAMES = "extracted no frames"


@dataclass(slots=True)
class Description:
    title: str = ""
    corrupted: str = ""
    alt_titles: list[str] = field(default_factory=list)
    format: Format | None = None
    frames: list[tuple[str, str]] = field(default_factory=list)  # (canonical, raw) per section


@lru_cache(maxsize=256)
def skip_regexp(extra: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(sp.SKIP + extra), re.ASCII)


_SKIPPED: dict[tuple[str, str], bool] = {}


def is_skipped(skip: re.Pattern[str], name: str) -> bool:
    """Cached ``skip.search(name)``: the skip alternation is long and names repeat a lot."""
    key = (skip.pattern, name)
    hit = _SKIPPED.get(key)
    if hit is None:
        if len(_SKIPPED) > 65536:
            _SKIPPED.clear()
        hit = _SKIPPED[key] = skip.search(name) is not None
    return hit


def _append_frames(frames: list[str], m: re.Match[str] | None, skip: re.Pattern[str]) -> None:
    if m is None:
        return
    for group in m.groups():
        if group is None:
            continue
        name = demangle_frame(group)
        if not is_skipped(skip, name):
            frames.append(name)


def _matches_any(line: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.search(line) for p in patterns)


def _walk(
    lines: list[str], skip: re.Pattern[str], parts: tuple[re.Pattern[str], ...], stack: Stack
) -> tuple[list[tuple[str, str]], bool]:
    """Match ``parts`` against consecutive lines; one key frame per stack section."""
    raw: list[str] = []
    results: list[tuple[str, str]] = []
    ok = True
    traces = 0
    li = 0
    n = len(lines)
    idx = 0
    while True:
        if idx == len(parts) or (parts[idx] is PARSE_STACK and traces > 0):
            key = _key_frame(raw, stack)
            if not key[0]:
                key, ok = ("corrupted", "corrupted"), False
            results.append(key)
            raw = []
        if idx == len(parts):
            break
        part = parts[idx]
        if part is PARSE_STACK:
            traces += 1
            nxt = parts[idx + 1] if idx != len(parts) - 1 else None
            while li < n:
                ln = lines[li]
                li += 1
                if sp.is_corrupted_line(ln):
                    ok = False
                    break
                if sp.is_stack_start(ln):
                    if not raw and idx == 0 and "Call" in ln:
                        # KMSAN before 5.10 printed "Call Trace:" between its header and the
                        # first stack, which the table's leading PARSE_STACK expects at once.
                        continue
                    break
                if nxt is not None:
                    m = nxt.search(ln)
                    if m is not None:
                        _append_frames(raw, m, skip)
                        idx += 1
                        break
                m = None
                for fr in sp.FRAME_RES:
                    m = fr.search(ln)
                    if m is not None:
                        break
                _append_frames(raw, m, skip)
        else:
            while li < n:
                ln = lines[li]
                li += 1
                if sp.is_corrupted_line(ln):
                    ok = False
                    break
                m = part.search(ln)
                if m is None:
                    continue
                _append_frames(raw, m, skip)
                break
        idx += 1
    return results, ok


def _key_frame(raw: list[str], stack: Stack) -> tuple[str, str]:
    if not raw:
        return "", ""
    stripped = [sp.strip_frame(f) for f in raw]
    if stack.extractor is None:
        return stripped[0], raw[0]
    frame, idx = stack.extractor(stripped)
    if frame:
        return frame, raw[idx]
    return "", ""


def extract_stack_frames(stack: Stack, text: str) -> tuple[list[tuple[str, str]], bool]:
    skip = skip_regexp(stack.skip)
    lines = text.split("\n")
    frames, ok = _walk(lines, skip, stack.parts, stack)
    if ok or not stack.parts2:
        return frames, ok
    if stack.parts2_if_unnamed:
        if any(c != "corrupted" for c, _ in frames):
            return frames, ok
        frames2, ok2 = _walk(lines, skip, stack.parts2, stack)
        return (frames2, ok2) if ok2 else (frames, ok)
    return _walk(lines, skip, stack.parts2, stack)


def _stripped_args(prefix: list[str], frames: list[tuple[str, str]]) -> list[list[str]]:
    out: list[list[str]] = []
    for i in range(len(sp.STRIP_PREFIXES) + 1):
        add = i == 0
        strip = sp.STRIP_PREFIXES[i - 1] if i > 0 else ""
        lst: list[str] = []
        for _canonical, raw in frames:
            trimmed = raw[len(strip) :] if strip and raw.startswith(strip) else raw
            if trimmed != raw:
                add = True
            lst.append(trimmed)
        if add:
            out.append(prefix + lst)
    return out


def describe(text: str, kind: Kind) -> Description:
    """Title, alternative titles and corruption reason of ``text`` (a report of ``kind``)."""
    d = Description()
    start = len(text)
    matched_title = False
    for f in kind.formats:
        m = f.title.search(text)
        if m is None or m.start() > start:
            continue
        if m.start() == start and d.title:
            continue
        if m.start() < start:
            d.title = ""
            d.format = None
            start = m.start()
        matched_title = True
        if f.report is not None:
            m = f.report.search(text)
            if m is None:
                continue
        prefix = [g if g is not None else "" for g in m.groups()]
        frames: list[tuple[str, str]] = []
        d.corrupted = ""
        if f.stack is not None:
            frames, ok = extract_stack_frames(f.stack, text[m.start() :])
            if not ok:
                d.corrupted = NO_FRAMES
        args = prefix + [c for c, _ in frames]
        d.title = go_sprintf(f.fmt, args)
        d.frames = frames
        alts = d.alt_titles
        alts.extend(go_sprintf(a, args) for a in f.alt)
        for args2 in _stripped_args(prefix, frames):
            alt = go_sprintf(f.fmt, args2)
            if alt != d.title:
                alts.append(alt)
            alts.extend(go_sprintf(a, args2) for a in f.alt)
        d.alt_titles = list(dict.fromkeys(alts))
        d.format = f
    if not d.title:
        if matched_title:
            d.corrupted = "matched title but not report regexp"
        pos = text.find(kind.header)
        if pos == -1:
            return d
        end = text.find("\n", pos)
        d.title = text[pos : end if end != -1 else len(text)]
    if not d.corrupted and d.format is not None and d.format.corrupted:
        d.corrupted = "report format is marked as corrupted"
    return d


_CORRUPTED_TITLE = re.compile(r"\[ *[0-9]+\.[0-9]+\]", re.ASCII)
# Old 32-bit ARM kernels print their "[<pc>] (func) from [<pc>] (caller+0x..)" trace right after
# the "Stack: (0x.. to 0x..)" dump, with no "Backtrace:"/"Call trace:" line to open it.
_ARM_TRACE = re.compile(
    r"(?m)^ *\[\<[0-9a-f]+\>\] \([A-Za-z0-9_.]+\) from \[\<[0-9a-f]+\>\] \([A-Za-z0-9_.]+\+0x",
    re.ASCII,
)


def check_corrupted(title: str, report: str, fmt: Format | None) -> str:
    """Why the report looks truncated or interleaved ("" when it looks whole)."""
    if _CORRUPTED_TITLE.search(title):
        return "title matches corrupted regexp"
    if fmt is None or fmt.no_stack_trace:
        return ""
    has_stack = False
    for key in sp.STACK_START:
        m = key.search(report)
        if m is None:
            continue
        frames = report[m.start() :].split("\n", 16)
        if len(frames) < 4:
            return "call trace is missed"
        corrupted = True
        for ln in frames[1:16]:
            if sp.is_stack_start(ln):
                break
            if "(stack is not available)" in ln or _matches_any(ln, sp.FRAME_RES):
                has_stack = True
                corrupted = False
                break
        if key is not sp.RISCV_STACK_START and corrupted:
            return "no frames in a stack trace"
    if not has_stack and _ARM_TRACE.search(report) is None:
        return "no stack trace in report"
    return ""
