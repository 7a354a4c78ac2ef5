"""Signature version ``2026-12-03``: one crash, one signature, whatever form its report has.

On top of ``2026-11-22`` (its own copies of every table, nothing shared that could change):

- ``title-source-location``: a symbolized header's ``file.c:LINE [inline]`` after the function
  is dropped, so the inlined function can be mapped to its caller as in a raw log;
- ``title-sanitizer-bug-prefix``: ``BUG: KMSAN: ...`` -> ``KMSAN: ...`` (and KASAN, KCSAN,
  KFENCE), syzkaller's titles;
- ``title-rust-panic``: a Rust panic is ``Rust panic in <function>``: the message (which
  carries values, and is lost in a QR tail) is not part of the identity, the panicking function is;
- ``title-from-tail``: a report whose head is lost (``corrupted report (start lost) in f``,
  or a bare final panic line) gets the title its full report has, rebuilt from the body
  (:mod:`kpanic.classify.tail`), plus alternatives for what the body cannot tell;
- the machinery skip list gains Rust's ``core::`` panic and option/result frames;
- a title "names a function" when it ends in `` in <guilty frame>`` even if that name has
  spaces (``<e1000_for_linux::Poller as kernel::net::NapiPoller>::poll``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from kpanic.classify import normalize
from kpanic.classify.sig_2026_11 import ENTRY_2026_11_22, MACHINERY_2026_11_22
from kpanic.classify.sigcore import (
    RuleSet,
    SigFrame,
    SigRule,
    SigState,
    collapse_recursion,
    frame_filter,
    frame_rename,
    inline_to_caller,
    kasan_at_addr,
    title_step,
)
from kpanic.classify.tail import infer_tail, is_partial
from kpanic.report.model import CrashReport

VERSION = "2026-12-03"

# The 2026-11-22 list (an immutable compiled pattern; its text is copied, not shared) plus
# Rust's panic plumbing, which sits above every Rust panic's guilty frame.
MACHINERY_2026_12_03 = re.compile(
    MACHINERY_2026_11_22.pattern.removesuffix(")$")
    + r"|core::panicking::[\w:]+|core::option::[\w:]+|core::result::[\w:]+"
    r"|<core::[^>]*>::[\w:]+|rust_helper_\w+|rust_build_error|instrument_\w+)$"
)
ENTRY_2026_12_03 = re.compile(ENTRY_2026_11_22.pattern)

_SOURCE_LOCATION = re.compile(r"(?<=\S) [\w./+-]+\.(?:c|h|S|rs):LINE(?::LINE)?(?: \[inline\])?$")
_SANITIZER_BUG = re.compile(r"^BUG: (KASAN|KMSAN|KCSAN|KFENCE): ")
RUST_PANIC_TITLE = re.compile(
    r"^(?:attempt to .* with overflow|index out of bounds|called `(?:Option|Result)::unwrap\(\)`"
    r"|rust_kernel: panicked|panicked at|Rust panic|RUST PANIC|kernel panic: RUST PANIC)"
)
_TITLE_FUNC = re.compile(r" in (\S+)$")


_KASAN_DOUBLE_FREE = re.compile(r"^KASAN: double-free or invalid-free\b")


def _kasan_invalid_free(title: str) -> str:
    """KASAN's header ``double-free or invalid-free`` is syzkaller's ``KASAN: invalid-free``."""
    return _KASAN_DOUBLE_FREE.sub("KASAN: invalid-free", title)


def _strip_source_location(title: str) -> str:
    return _SOURCE_LOCATION.sub("", title)


def _sanitizer_bug_prefix(title: str) -> str:
    return _SANITIZER_BUG.sub(r"\1: ", title)


def _guilty(st: SigState) -> str | None:
    """The report's guilty function, without clone suffixes; None for syzkaller's placeholder."""
    g = st.report.guilty_frame if st.report is not None else None
    if not g or g == "corrupted":
        return None
    return normalize.strip_compiler_suffix(normalize.strip_tool_prefix(g))


def _title_function(st: SigState) -> str | None:
    """The function the title names: the guilty frame when the title ends with it (names may
    hold spaces), else the last word after `` in ``; None for generic or corrupted titles."""
    g = _guilty(st)
    if g and st.title.endswith(" in " + g):
        return g
    m = _TITLE_FUNC.search(st.title)
    if not m or m.group(1) == "corrupted":
        return None
    return m.group(1)


def _function_of(st: SigState) -> str | None:
    """The function a rebuilt title names: the guilty frame, else the first meaningful frame."""
    g = _guilty(st)
    if g:
        return g
    return st.frames[0].function if st.frames else None


def _rust_panic(st: SigState) -> str | None:
    if not RUST_PANIC_TITLE.match(st.title):
        return None
    func = _function_of(st)
    new = f"Rust panic in {func}" if func else "Rust panic"
    if new == st.title:
        return None
    old, st.title = st.title, new
    return f"{old!r} -> {new!r}: the panicking function identifies a Rust panic, not its message"


def _tail_function(st: SigState, report: CrashReport) -> str | None:
    """The guilty frame when the tail prints it as a symbol (``wdev_priv.part.8+0x4/0x6`` on a
    trailing RIP line; a title's ``in interrupt`` is not one), else the first meaningful frame."""
    g = _guilty(st)
    if g and _is_machinery(g):
        g = None  # the parser blamed a printer (print_circular_bug): look further
    names = {normalize.strip_compiler_suffix(f.function) for f in report.frames}
    if g and (g in names or re.search(re.escape(g) + r"[.\w]*\+0x", report.text)):
        return g
    return st.frames[0].function if st.frames else None


def _from_tail(st: SigState) -> str | None:
    if st.report is None or not is_partial(st.report):
        return None
    kind = infer_tail(st.report)
    func = _tail_function(st, st.report)
    if kind is None or func is None or not kind.rebuild or kind.family == "KFENCE":
        return None
    families = (kind.family, *kind.alt_families)
    if len(kind.access) == 1:
        titles = [f"{fam} {kind.access[0]} in {func}" for fam in families]
    else:
        titles = [f"{families[0]} in {func}"]
        titles += [f"{fam} {acc} in {func}" for fam in families for acc in kind.access]
        titles += [f"{fam} in {func}" for fam in families[1:]]
    old, st.title = st.title, titles[0]
    st.alternatives.extend(titles[1:])
    alts = f" (alternatives: {', '.join(titles[1:])})" if len(titles) > 1 else ""
    return f"start of the report lost; {kind.reason}: {old!r} -> {st.title!r}{alts}"


@lru_cache(maxsize=16384)
def _is_machinery(name: str) -> bool:
    """Memoised (a pure function of the name; kernel stacks repeat the same names)."""
    return MACHINERY_2026_12_03.match(normalize.strip_compiler_suffix(name)) is not None


@lru_cache(maxsize=4096)
def _is_entry(name: str) -> bool:
    return ENTRY_2026_12_03.match(name) is not None


def _parser_alternatives(st: SigState) -> str | None:
    """The parser's alternative titles of the same kind (a partial report's "both access
    types"), normalised like the title: other groups the crash may belong to
    (``grouping.join_key`` picks one only when it is unique). syzkaller's category ALTs
    (``bad-access in f``, ``stall in f``) start with another word and are left out: no group is
    keyed by them."""
    if st.report is None or not st.report.alt_titles:
        return None
    first = (st.report.title or "").split(" ", 1)[0]
    added = []
    for alt in st.report.alt_titles:
        if alt.split(" ", 1)[0] != first:
            continue
        probe = SigState(title=alt, frames=[])
        for rule in TITLE_RULES_2026_12_03:
            rule.apply(probe)
        if probe.title and probe.title != st.title and probe.title not in st.alternatives:
            st.alternatives.append(probe.title)
            added.append(probe.title)
    return f"alternatives from the parser: {', '.join(added)}" if added else None


_KASAN_NO_ACCESS = re.compile(r"^(KASAN: [\w-]+) in ")
_ACCESS_LINE = re.compile(r"\b(Read|Write) of size \d+ at addr ")


def _kasan_access(st: SigState) -> str | None:
    """A symbolized KASAN header naming an inlined helper loses the access type the raw title
    has; the ``Read/Write of size N at addr`` line still gives it."""
    m = _KASAN_NO_ACCESS.match(st.title)
    if m is None or st.report is None:
        return None
    hit = _ACCESS_LINE.search(st.report.text[:4000])
    if hit is None:
        return None
    old = st.title
    st.title = f"{m.group(1)} {hit.group(1)} in " + st.title[m.end() :]
    return f"access type from {hit.group(0).strip()!r}: {old!r} -> {st.title!r}"


# Helpers a title must not name (syzkaller skips them for its titles too): string and copy
# routines, KASAN/KCSAN instrumentation wrappers, atomics and bit operations. Narrower than the
# frame skip list, which also holds allocators and lock primitives a title may rightly name.
TITLE_HELPERS = re.compile(
    r"^_*(?:memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|strcmp|strncmp|strcpy|strncpy"
    r"|strscpy|sized_strscpy|strcat|strncat|instrument_\w+|copy_to_user|copy_from_user"
    r"|_copy_to_user|_copy_from_user|copy_user\w*|rep_movs_alternative|atomic_\w+|atomic64_\w+"
    r"|arch_atomic\w*|raw_atomic\w*|test_bit|set_bit|clear_bit|change_bit"
    r"|test_and_(?:set|clear|change)_bit|kfree|kvfree|kfree_sensitive|kmem_cache_free"
    r"|slab_free\w*)$"
)


def _machinery_title_function(st: SigState) -> str | None:
    """A title naming a helper every stack passes through (memcpy, instrument_copy_to_user)
    names its first meaningful caller instead, as the raw log's title does."""
    func = _TITLE_FUNC.search(st.title)
    if func is None or not st.frames or not TITLE_HELPERS.match(func.group(1)):
        return None
    caller = st.frames[0].function
    if caller == func.group(1):
        return None
    old = st.title
    st.title = st.title[: func.start(1)] + caller
    return f"{func.group(1)} is a helper: {old!r} -> {st.title!r}"


def _not_machinery(f: SigFrame) -> bool:
    return not _is_machinery(f.function)


def _frames_for_generic_titles(n_named: int, n_generic: int) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        n = n_named if _title_function(st) else n_generic
        if len(st.frames) <= n:
            return None
        st.frames = st.frames[:n]
        kind = "names a function" if n == n_named else "names no function"
        return f"kept the top {n} frames (the title {kind})"

    return apply


TITLE_RULES_2026_12_03: tuple[SigRule, ...] = (
    SigRule(
        "title-whitespace",
        "squeeze whitespace, drop non-printables",
        title_step(normalize.squeeze, "whitespace"),
    ),
    SigRule(
        "title-offsets",
        "func+0x1c/0x80 -> func",
        title_step(normalize.replace_offsets, "offsets removed"),
    ),
    SigRule(
        "title-addresses",
        "hex addresses -> ADDR",
        title_step(normalize.replace_addresses, "addresses"),
    ),
    SigRule(
        "title-executor",
        "syz-executor.N, syz.P.N -> syz-executor",
        title_step(normalize.replace_executor, "executor name"),
    ),
    SigRule(
        "title-numbers",
        "file.c:N -> file.c:LINE, CPU#N -> CPU, numbers -> NUM",
        title_step(normalize.replace_numbers, "numbers"),
    ),
    SigRule(
        "title-source-location",
        "a symbolized header's 'file.c:LINE [inline]' after the function is dropped",
        title_step(_strip_source_location, "source location"),
    ),
    SigRule(
        "title-sanitizer-bug-prefix",
        "'BUG: KMSAN: ' -> 'KMSAN: ' (KASAN, KCSAN, KFENCE too), as syzkaller titles them",
        title_step(_sanitizer_bug_prefix, "BUG: prefix"),
    ),
    SigRule(
        "title-compiler-suffix",
        ".cold/.isra.N/.constprop.N/.part.N/.llvm.N removed",
        title_step(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "title-kasan-at-addr",
        "old KASAN titles end in 'at addr ADDR'",
        title_step(kasan_at_addr, "old KASAN 'at addr' suffix"),
    ),
    SigRule(
        "title-kasan-invalid-free",
        "'KASAN: double-free or invalid-free' -> 'KASAN: invalid-free', syzkaller's title",
        title_step(_kasan_invalid_free, "KASAN free kind"),
    ),
)

RULES_2026_12_03: tuple[SigRule, ...] = (
    *TITLE_RULES_2026_12_03,
    SigRule(
        "frames-drop-unreliable",
        "'? ' frames are stack garbage the unwinder guessed",
        frame_filter(lambda f: not f.unreliable, "unreliable '?' frames"),
    ),
    SigRule(
        "frames-tool-prefix",
        "__cfi_/__pfx_ prefixes removed",
        frame_rename(normalize.strip_tool_prefix, "tool prefix"),
    ),
    SigRule(
        "frames-compiler-suffix",
        "compiler clone suffixes removed",
        frame_rename(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "frames-rust-hash",
        "legacy Rust ::h<hash> removed",
        frame_rename(normalize.strip_rust_hash, "Rust symbol hash"),
    ),
    SigRule(
        "title-inline-caller", "an inlined title function becomes its caller", inline_to_caller
    ),
    SigRule(
        "frames-drop-inline",
        "[inline] frames exist only in symbolized reports",
        frame_filter(lambda f: not f.inline, "inline frames"),
    ),
    SigRule(
        "frames-drop-machinery",
        "reporting, sanitizer, lock, string and Rust panic helpers dropped",
        frame_filter(_not_machinery, "machinery frames"),
    ),
    SigRule(
        "frames-drop-entry",
        "syscall/kthread/irq entry frames dropped",
        frame_filter(lambda f: not _is_entry(f.function), "entry frames"),
    ),
    SigRule("frames-collapse-recursion", "consecutive repeats count once", collapse_recursion),
    SigRule(
        "title-kasan-access",
        "a KASAN title without Read/Write gets it from the 'Read/Write of size N at addr' line",
        _kasan_access,
    ),
    SigRule(
        "title-machinery-function",
        "a title naming a string/copy/atomic/instrumentation helper names its caller",
        _machinery_title_function,
    ),
    SigRule(
        "title-rust-panic",
        "a Rust panic is 'Rust panic in <function>' (its message is not its identity)",
        _rust_panic,
    ),
    SigRule(
        "title-from-tail",
        "a report whose head is lost gets the title of its full report, from its body",
        _from_tail,
    ),
    SigRule(
        "title-parser-alternatives",
        "the parser's alternative titles, normalised, become signature alternatives",
        _parser_alternatives,
    ),
    SigRule(
        "frames-top",
        "the first meaningful frame, only when the title names no function",
        _frames_for_generic_titles(0, 1),
    ),
)

RULESET_2026_12_03 = RuleSet(
    VERSION,
    "Form-invariant: symbolized headers, 'BUG: KMSAN:' prefixes, Rust panics keyed by their "
    "function, and QR tails titled from their body (with alternatives for what it cannot "
    "tell); otherwise as 2026-11-22.",
    RULES_2026_12_03,
)
