"""The public entry points: :func:`parse` (every crash in a log) and :func:`contains_crash`.

Pipeline: decode -> canonical console form (prefixes.py) -> find each crash and its text
(linux.py) -> title, alternative titles, corruption (describe.py) -> normalised title and type
(titles.py) -> frames, guilty frame/file, language and metadata. Offsets in the result point into
the decoded text the caller gave. When a split pstore dump was reassembled, the lines between a
report's canonical start and end need not be contiguous (nor in order) in that text; ``start`` and
``end`` then bound the smallest original range holding all of them (see :meth:`Canonical.span`).
"""

from __future__ import annotations

import re

from kpanic.errors import InputTooLarge
from kpanic.report import linux, syzbot
from kpanic.report import stackparams as sp
from kpanic.report.describe import skip_regexp
from kpanic.report.extractors import stall_frame
from kpanic.report.frames import frame_language, parse_frame_line, rip_frame, stack_frames
from kpanic.report.guilty import guilty_file
from kpanic.report.kinds import REPORT_START_IGNORES, Stack, is_suppressed, warning_stack
from kpanic.report.metadata import extract_metadata, merge
from kpanic.report.model import CrashReport, Frame, Language, ParseResult
from kpanic.report.names import demangle_frame
from kpanic.report.prefixes import Canonical, canonicalize
from kpanic.report.stackparams import RISCV_STACK_START
from kpanic.report.syntax import CALL_TRACE, PARSE_STACK, RIP_FRAME
from kpanic.report.tail import FAULT_TITLES, collect, identify
from kpanic.report.titles import earlier_titles, normalize_title, title_frame, title_to_type

DEFAULT_MAX_BYTES = 256 << 20
MAX_REPORTS = 32
# A report looks at most this far past its first line: huge logs stay linear (the first
# report of a 100 MB log is not 100 MB long), and each further report is cheaper still.
PRIMARY_WINDOW = 2 << 20
SECONDARY_WINDOW = 256 << 10
HEADLESS_TITLE = "corrupted report (start lost) in %s"
# Besides syzkaller's generic frames: the Rust panic machinery above the panicking function.
HEADLESS_SKIP = (
    "rust_begin_unwind", "^core::panicking::", "^core::option::", "^core::result::",
    "^rust_helper_BUG$", "^__rustc::",
)  # fmt: skip
HEADLESS_REASON = "the log begins inside a report: its first line is missing"
# A panic QR code's log that holds no crash the parser recognises is still a report: shown,
# stored and searchable (parse(..., tail=True) never returns an empty result).
NO_CRASH_TITLE = "log without a recognised crash"
NO_CRASH_REASON = "no crash header, stack trace or sanitizer output in the log"
# Lines only a crash report prints: a log holding one but no header lost the report's head.
EVIDENCE_MARKERS = (
    "Allocated by task ", "Freed by task ", "The buggy address belongs to",
    "Memory state around the buggy address", "Uninit was created at:",
    "the existing dependency chain (in reverse order) is:", "*** DEADLOCK ***",
)  # fmt: skip
# Panic lines printed after an oops, a WARNING (panic_on_warn) or a hang: in a log known to be
# a tail, seeing one of them first means the report they end lost its head.
TRAILER_PANICS = (
    "Fatal exception", "panic_on_warn set", "hung_task: blocked tasks", "softlockup: hung tasks",
    "Oops", "Aiee, killing interrupt handler",
)  # fmt: skip


def decode(log: str | bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The log as text; invalid UTF-8 is replaced, NUL bytes kept. Raise if over ``max_bytes``."""
    if len(log) > max_bytes:
        raise InputTooLarge(f"log is {len(log)} bytes, over the {max_bytes}-byte limit")
    if isinstance(log, bytes | bytearray | memoryview):
        return bytes(log).decode("utf-8", errors="replace")
    return log


# The last small log prepared, as (log object, text, canonical form, header index): callers
# usually ask contains_crash(log) and then parse(log) about the same immutable object.
_LAST: tuple[object, str, Canonical, linux.HeaderIndex] | None = None
CACHE_MAX = 1 << 20  # never keep a big log alive


def _prepare(log: str | bytes, max_bytes: int) -> tuple[str, Canonical, linux.HeaderIndex]:
    global _LAST
    if len(log) > max_bytes:
        raise InputTooLarge(f"log is {len(log)} bytes, over the {max_bytes}-byte limit")
    last = _LAST
    if last is not None and last[0] is log:
        return last[1], last[2], last[3]
    text = decode(log, max_bytes)
    canon = canonicalize(text)
    index = linux.HeaderIndex(canon.text)
    if isinstance(log, str | bytes) and len(log) <= CACHE_MAX:
        _LAST = (log, text, canon, index)
    return text, canon, index


def contains_crash(log: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
    """True when the log holds at least one crash report (cheaper than :func:`parse`)."""
    _text, canon, index = _prepare(log, max_bytes)
    return (
        linux.find_first(canon.text, 0, index) is not None
        or _headless_start(canon.text) is not None
    )


def parse(
    log: str | bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    tail: bool = False,
    syzkaller: bool = False,
) -> ParseResult:
    """Every crash in ``log``, first one first (the one syzkaller titles).

    Bytes are decoded as UTF-8 with replacement characters; ``start``/``end`` are character
    offsets into that text (or into ``log`` itself when it is a str). At most ``MAX_REPORTS``
    reports are returned. A log holding only the end of an oops (a stack trace without its
    header, as a panic QR code may) still gives one report, flagged corrupted with a reason,
    whose title is what the evidence in it says (see tail.py) and whose alternative titles
    cover what it cannot tell.

    ``tail=True`` says the log is the newest part of a kernel log (a panic QR code's kmsg
    dump), so its start may be lost: a leading panic line that only ends an oops ("Fatal
    exception", "panic_on_warn set") joins the report whose tail precedes it, and a log with
    no recognised crash still gives one report titled ``NO_CRASH_TITLE``.

    ``syzkaller=True`` gives syzkaller's own titles where kpanic's differ: a report whose stack
    rule found no frame is titled ``... in corrupted`` even when its header or RIP line names
    the function (by default that function is the title and syzkaller's title an alternative).
    Raises InputTooLarge beyond ``max_bytes``.
    """
    text, canon, index = _prepare(log, max_bytes)
    ctext = canon.text
    suppressed = is_suppressed(text)
    disconnected = linux.VM_DISCONNECTED in text
    result = ParseResult()
    pos = 0
    first_raw: linux.RawReport | None = None
    last_raw: linux.RawReport | None = None
    while len(result.reports) < MAX_REPORTS:
        window = PRIMARY_WINDOW if not result.reports else SECONDARY_WINDOW
        raw = linux.parse_at(ctext, pos, window, index)
        if raw is None:
            break
        if first_raw is not None and (_continues(raw) or _sibling(ctext, last_raw, raw)):
            # The oops line after a header, "invalid opcode"/"Internal error" after "kernel
            # BUG"/"Unable to handle", the BUG a Rust panic raises, the final panic line: the
            # same crash, not another report.
            result.reports[-1].panicked = result.reports[-1].panicked or raw.panicked
            pos = raw.skip
            continue
        first_raw = first_raw or raw
        last_raw = raw
        rep = _build(raw, canon, syzkaller)
        rep.suppressed = suppressed
        if disconnected and not rep.corrupted:
            rep.corrupted = True
            rep.corrupted_reason = "the console connection dropped (serialport: VM disconnected.)"
        result.reports.append(rep)
        pos = raw.skip
    if tail and first_raw is not None and _trailer_panic(first_raw):
        headless = _headless(ctext, canon, stop=first_raw.start)
        if headless is not None:
            headless.suppressed = suppressed
            result.reports[0] = headless  # the panic line ends this report: one crash
    if not result.reports:
        headless = _headless(ctext, canon)
        if headless is not None:
            headless.suppressed = suppressed
            result.reports.append(headless)
    if KMEMLEAK in ctext and "BUG: memory leak" not in ctext:
        leaks = _kmemleak(ctext, canon, MAX_REPORTS - len(result.reports))
        result.reports = sorted([*result.reports, *leaks], key=lambda r: r.start)
    if tail and not result.reports:
        result.reports.append(_no_crash(text, canon))
    if result.reports and syzbot.is_syzbot_mail(text):
        rep = result.reports[0]
        extra = [
            t
            for title in [rep.title, *(a for a in rep.alt_titles if a.endswith(" in corrupted"))]
            for t in syzbot.mail_titles(text, title, rep.text)
        ]
        rep.alt_titles = list(dict.fromkeys([*rep.alt_titles, *map(normalize_title, extra)]))
    return result


KMEMLEAK = "unreferenced object 0x"


def _kmemleak(text: str, canon: Canonical, limit: int) -> list[CrashReport]:
    """A memory leak report per raw kmemleak object (``unreferenced object 0x.. (size N):``
    with its comm, hex dump and ``backtrace:``), as syzkaller's "BUG: memory leak" would be."""
    out: list[CrashReport] = []
    pos = text.find(KMEMLEAK)
    while pos != -1 and len(out) < limit:
        ls = text.rfind("\n", 0, pos) + 1
        nxt = text.find(KMEMLEAK, pos + 1)
        end = nxt if nxt != -1 else min(len(text), pos + 16384)
        end = text.rfind("\n", 0, end) + 1 if nxt != -1 else end
        lines = [linux.split_line(line)[1] for line in text[ls:end].split("\n")]
        ident = identify(collect(lines))
        if ident is not None and ident.title.startswith("memory leak in "):
            body = "\n".join(lines).rstrip("\n") + "\n"
            title = normalize_title(ident.title)
            ostart, oend = canon.span(ls, min(end, text.find("\n", pos) + 1 or end))
            rep = CrashReport(
                title=title,
                type=title_to_type(title),
                frames=stack_frames(body),
                guilty_frame=title_frame(title),
                guilty_file=guilty_file(title, body),
                start=ostart,
                end=oend,
                text=body,
            )
            if rep.guilty_frame in UNUSABLE_FRAMES:
                rep.guilty_frame = None
            rep.language = ident.frame.language if ident.frame is not None else "unknown"
            _fill_metadata(rep, body, text[max(0, ls - 8192) : ls])
            out.append(rep)
        pos = nxt
    return out


def _continues(raw: linux.RawReport) -> bool:
    """Whether a later report's first line only continues the report before it."""
    line = raw.oops_line
    return any(p.search(line) for p in REPORT_START_IGNORES)


def _sibling(text: str, prev: linux.RawReport | None, raw: linux.RawReport) -> bool:
    """Whether ``raw``'s header line directly follows ``prev``'s header line, of the same kind:
    two CPUs faulting at once print their headers back to back before the one oops ([#1])
    that follows, so nothing was reported between them."""
    return (
        prev is not None
        and raw.kind is prev.kind
        and prev.start < raw.start
        and text.count("\n", prev.start, raw.start) == 1
    )


def _trailer_panic(raw: linux.RawReport) -> bool:
    """Whether the report is a bare panic line that only ends an oops whose head was lost."""
    return raw.kind.header == "Kernel panic" and any(m in raw.oops_line for m in TRAILER_PANICS)


def _no_crash(text: str, canon: Canonical) -> CrashReport:
    rep = CrashReport(
        title=NO_CRASH_TITLE,
        type="unknown",
        corrupted=True,
        corrupted_reason=NO_CRASH_REASON,
        panicked=linux.PANIC_MARK in text,
        start=0,
        end=len(text),
        text=canon.text,
    )
    _fill_metadata(rep, canon.text, "")
    return rep


# The function a header line names ("WARNING: CPU: 1 PID: 2 at f.c:3 func+0x1/0x2",
# "BUG: KASAN: x in func+0x..", "RIP: 0010:func+0x..", "pc : func+0x..", "PC is at func+0x..",
# MIPS "epc   : 8005d844 func+0x4/0xc").
_HEADER_FUNC = re.compile(
    r"(?:^WARNING: .* at \S+ |^WARNING: CPU: [0-9]+ PID: [0-9]+ at |^(?:BUG: )?\S*: [a-z\- ]+ in "
    r"|(?:RIP: [0-9a-f]{4}:|pc : |PC is at |NIP:? \[?[0-9a-f<>]*\]? *"
    r"|epc +: (?:[0-9a-f]{8,16} +)?))"
    r"\.?([A-Za-z_][A-Za-z0-9_]*)(?:\.[a-z0-9.]+)?(?:\+0x[0-9a-f]+/0x| \([A-Za-z0-9_\-./]+:[0-9])",
    re.ASCII | re.MULTILINE,
)


def _uncorrupt(
    title: str, body: str, frames: list[Frame] | None = None, stack: Stack | None = None
) -> str | None:
    """``X in corrupted`` -> ``X in <func>`` when the report itself names the function.

    Used when the stack rule found no frame (the paste stops after the header, every frame is
    on a skip list, the trace has no ``Call Trace:`` line, the excerpt ends before the stall
    extractor's dispatcher): what the report prints beats "corrupted". In order: the function
    in the header or RIP/PC line; then the backtrace's frames as the kind would pick them
    (its skip list and extractor; a stall whose trace ends before any dispatcher is blamed on
    its top frame), reliable frames first, ``? func`` frames as a last resort.
    """
    if not title.endswith(" in corrupted"):
        return None
    funcs = [sp.strip_frame(m.group(1)) for m in _HEADER_FUNC.finditer(body, 0, 16384)]
    if funcs:
        # memcpy & co name a crash only when nothing else does (every frame on the skip list).
        func = next((f for f in funcs if not skip_regexp(()).search(f)), funcs[0])
        return title[: -len("corrupted")] + func
    func = _frames_pick(frames or [], stack)
    return title[: -len("corrupted")] + func if func else None


_GENERIC_PARTS = frozenset((RIP_FRAME, CALL_TRACE, PARSE_STACK, *warning_stack().parts[:1]))


def _frames_pick(frames: list[Frame], stack: Stack | None) -> str:
    """The frame the kind's stack rule would blame among ``frames`` (see _uncorrupt), or "".

    Not for rules that blame a stack other than the crash's own trace ("BUG: Bad page state"
    blames where the page was allocated, "page last allocated"): there the trace only shows
    where the damage was found.
    """
    if (
        stack is not None
        and stack.extractor is None
        and not _GENERIC_PARTS
        & {
            stack.parts[0],
            *stack.parts2[:1],
        }
    ):
        return ""
    skip = skip_regexp(stack.skip if stack is not None else ())
    extractor = stack.extractor if stack is not None else None
    for reliable in (True, False):
        names = [
            sp.strip_frame(f.function)
            for f in frames
            if f.unreliable != reliable and not skip.search(f.function)
        ]
        if not names:
            continue
        if extractor is None:
            return names[0]
        func, _ = extractor(names)
        if func:
            return func
        if extractor is stall_frame:
            return names[0]  # the excerpt ends above the dispatcher: the top frame loops
    return ""


def _build(raw: linux.RawReport, canon: Canonical, syzkaller: bool = False) -> CrashReport:
    title = normalize_title(raw.desc.title)
    body = raw.text[raw.prefix_len :]
    alts = [normalize_title(a) for a in raw.desc.alt_titles]
    fmt = raw.desc.format
    frames = stack_frames(raw.frame_text)
    named = (
        None
        if syzkaller
        else _uncorrupt(title, body, frames, fmt.stack if fmt is not None else None)
    )
    if named is not None:
        alts = [title, *(a for a in alts if a != named)]  # syzkaller's title stays an alternative
        title = named
    if not syzkaller:
        others = map(normalize_title, earlier_titles(title, body))
        alts += [a for a in others if a not in alts and a != title]
    guilty = title_frame(title)
    start, end = canon.span(raw.start, raw.end)
    rep = CrashReport(
        title=title,
        type=title_to_type(title),
        alt_titles=alts,
        corrupted=bool(raw.corrupted_reason),
        corrupted_reason=raw.corrupted_reason or None,
        panicked=raw.panicked,
        executor=raw.executor,
        frames=frames,
        guilty_frame=guilty,
        guilty_file=guilty_file(title, body),
        start=start,
        end=end,
        text=raw.text,
        text_prefix_len=raw.prefix_len,
    )
    rep.language = _language(guilty, frames, rep.guilty_file)
    # Fallback: the log around the report (a panic line often follows the oops it ends).
    around = canon.text[max(0, raw.start - (1 << 15)) : raw.start + (1 << 16)]
    _fill_metadata(rep, raw.text, around)
    return rep


# What a title names when it could not name a function (syzkaller's "corrupted" frame, the
# headless report's "unknown", a placeholder left by title normalisation).
UNUSABLE_FRAMES = frozenset(("corrupted", "unknown", "NUM", "ADDR"))


def _language(guilty: str | None, frames: list[Frame], file: str | None) -> Language:
    """The guilty frame's language; "unknown" without a usable guilty frame."""
    if not guilty or guilty in UNUSABLE_FRAMES:
        return "unknown"
    for frame in frames:
        if guilty in (frame.function, frame.raw_function):
            return frame.language
    return frame_language(guilty, guilty, file)


def _fill_metadata(rep: CrashReport, text: str, around: str) -> None:
    md = extract_metadata(text)
    if md.kernel is None or md.arch is None:
        md = merge(md, extract_metadata(around))
    rep.kernel, rep.taint, rep.arch = md.kernel, md.taint, md.arch
    rep.cpu, rep.pid, rep.comm = md.cpu, md.pid, md.comm
    rep.hardware, rep.modules = md.hardware, md.modules


def _headless_start(text: str, stop: int | None = None) -> int | None:
    """Start of a stack trace or sanitizer output with no crash header before it.

    ``stop`` bounds the search (the offset of a panic line that ends the report).
    """
    stop = len(text) if stop is None else stop
    riscv = RISCV_STACK_START.search(text, 0, stop)  # RISC-V show_regs() prints no "Call Trace:"
    positions = [text.find(m, 0, stop) for m in ("Call Trace:", "Call trace:", "Backtrace:")]
    found: int | None = None
    for pos in sorted(p for p in [*positions, riscv.start() if riscv else -1] if p != -1):
        ls = text.rfind("\n", 0, pos) + 1
        for line in text[pos : pos + 4096].split("\n")[1:8]:
            ctx = linux.extract_context(line)
            if parse_frame_line(linux.strip_line_prefix(line, ctx)[0]) is not None:
                found = ls
                break
        if found is not None:
            break
    evidence = [p for p in (text.find(m, 0, stop) for m in EVIDENCE_MARKERS) if p != -1]
    if evidence:
        ls = text.rfind("\n", 0, min(evidence)) + 1
        found = ls if found is None else min(found, ls)
    if stop < len(text) and found is None:
        found = _first_frame_line(text, 0, stop)  # a tail cut inside a trace, then a panic
    elif found is not None:
        # A tail cut inside a stack trace: its frames before the first marker belong to it.
        first = _first_frame_line(text, 0, found)
        if first is not None:
            found = first
    if found is not None and stop < len(text):
        # Keep the registers and RIP line printed just before the trace (and after the header).
        found = _regs_start(text, found)
    return found


FIRST_LINES = 300  # how far into a log a tail's first frame is looked for


def _first_frame_line(text: str, start: int, stop: int) -> int | None:
    """Offset of the first line in ``text[start:stop]`` (its first 300 lines) that is a frame."""
    pos = start
    for _ in range(FIRST_LINES):
        if pos >= stop:
            return None
        eol = text.find("\n", pos, stop)
        eol = stop if eol == -1 else eol
        line = text[pos:eol]
        if "+0x" in line or " [inline]" in line:
            ctx = linux.extract_context(line)
            stripped = linux.strip_line_prefix(line, ctx)[0]
            if parse_frame_line(stripped) is not None or rip_frame(stripped) is not None:
                return pos
        pos = eol + 1
    return None


_REGS = ("RIP: ", "pc : ", "PC is at", "epc : ", "NIP ", " Code: ", "RSP: ", "Modules linked in")


def _regs_start(text: str, start: int) -> int:
    """Move ``start`` back over up to 40 register-dump lines that precede it."""
    pos = start
    for _ in range(40):
        if pos == 0:
            break
        ls = text.rfind("\n", 0, pos - 1) + 1
        if not any(m in text[ls:pos] for m in _REGS):
            break
        pos = ls
    return pos


def _title_name(function: str) -> str:
    """``func.part.8`` -> ``func``, as syzkaller's {{FUNC}} cuts C names at the first dot."""
    if "::" in function or "<" in function:
        return function
    return function.split(".", 1)[0] or function


def _headless(text: str, canon: Canonical, stop: int | None = None) -> CrashReport | None:
    """A report for a log that holds only the end of an oops (e.g. a panic QR code)."""
    start = _headless_start(text, stop)
    if start is None:
        return None
    end = len(text)
    lines = []
    for line in text[start:end].split("\n"):
        ctx = linux.extract_context(line)
        stripped, questionable = linux.strip_line_prefix(line, ctx)
        if not questionable:
            lines.append(stripped)
    body = "\n".join(lines).rstrip("\n") + "\n"
    frames = stack_frames(body)
    ostart, oend = canon.span(start, end)
    ident = identify(
        collect(lines if stop is None else lines[: _line_count(text, start, stop) + 1])
    )
    alt_titles: list[str] = []
    if ident is not None:
        title = normalize_title(ident.title)
        alt_titles = [a for a in dict.fromkeys(normalize_title(a) for a in ident.alt_titles)
                      if a != title]  # fmt: skip
        blamed = ident.frame
        name = _title_name(blamed.function) if blamed is not None else None
        reason = f"{HEADLESS_REASON}; identity from the evidence left ({ident.reason})"
    else:
        skip = skip_regexp(HEADLESS_SKIP)
        # Old x86 oopses print the faulting "RIP [<..>] func" after the trace: the best blame.
        rip = rip_frame(body)
        candidates = ([rip] if rip is not None else []) + frames
        blamed = next(
            (f for f in candidates if not f.unreliable and not skip.search(f.function)), None
        )
        name = _title_name(blamed.function) if blamed else None
        title = normalize_title(HEADLESS_TITLE % demangle_frame(name or "unknown"))
        reason = HEADLESS_REASON
        if name is not None:  # what a crash blamed on this frame may have been titled
            alt_titles = [normalize_title(t.format(demangle_frame(name))) for t in FAULT_TITLES]
    rep = CrashReport(
        title=title,
        type=title_to_type(title),
        alt_titles=alt_titles,
        corrupted=True,
        corrupted_reason=reason,
        panicked=linux.PANIC_MARK in text,
        frames=frames,
        guilty_frame=title_frame(title) if ident is not None else name,
        guilty_file=guilty_file(title, body),
        start=ostart,
        end=oend,
        text=body,
    )
    if rep.guilty_frame in UNUSABLE_FRAMES:
        rep.guilty_frame = None
    rep.language = blamed.language if blamed else "unknown"
    _fill_metadata(rep, body, text[max(0, start - 8192) : start])
    return rep


def _line_count(text: str, start: int, stop: int) -> int:
    """How many lines of ``text[start:]`` lie before ``stop`` (the panic line)."""
    return text.count("\n", start, stop)
