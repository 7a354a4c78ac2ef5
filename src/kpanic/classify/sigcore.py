"""The signature machinery every dated rule set is built from: the working state, the rule
type, the result, the group key, and rule *makers* (functions that build a rule from
immutable parameters).

A rule set (``kpanic.classify.sig_2026_11``, ``kpanic.classify.sig_2026_12_03``) is a tuple of
``SigRule`` values built from these makers and from tables (regexes, tuples, frozensets) that
belong to that version alone, so no version can change another's output. The golden files in
``tests/classify/golden/`` check that.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kpanic.classify import normalize
from kpanic.report.model import CrashReport


@dataclass(slots=True)
class SigFrame:
    function: str
    inline: bool = False
    unreliable: bool = False


@dataclass(slots=True)
class SigState:
    """What the rules work on; ``frames`` starts as the report's stack, innermost first."""

    title: str
    frames: list[SigFrame]
    notes: list[str] = field(default_factory=list)
    report: CrashReport | None = None  # the whole report, for rules that read more than frames
    alternatives: list[str] = field(default_factory=list)  # other titles the crash may have


def group_key(version: str, value: str) -> str:
    """The key of a group: 16 hex digits of sha256(version, newline, value).

    Groups are keyed by version *and* signature: the same text made by two rule-set versions
    is two groups until ``kpanic reprocess`` moves the old group to the new version.
    """
    return hashlib.sha256(f"{version}\n{value}".encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Signature:
    value: str
    version: str
    notes: list[str]
    #: other values the same crash may have when the report is partial (a QR tail that lost
    #: the access type): a store joins the one existing group among them, if exactly one exists
    alternatives: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        """A short stable key for storage: depends on the version and the value only."""
        return group_key(self.version, self.value)

    @property
    def alternative_digests(self) -> tuple[str, ...]:
        return tuple(group_key(self.version, v) for v in self.alternatives)


@dataclass(frozen=True, slots=True)
class SigRule:
    """One pipeline step: ``apply`` changes the state and returns a note, or None."""

    id: str
    doc: str
    apply: Callable[[SigState], str | None]


# ---------------------------------------------------------------------------------------------
# Title rules
# ---------------------------------------------------------------------------------------------


def title_step(fn: Callable[[str], str], what: str) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        new = fn(st.title)
        if new == st.title:
            return None
        old, st.title = st.title, new
        return f"{what}: {old!r} -> {new!r}"

    return apply


_AT_ADDR = re.compile(r" at addr ADDR$")
_TITLE_FUNC = re.compile(r" in (\S+)$")


def kasan_at_addr(title: str) -> str:
    return _AT_ADDR.sub("", title)


def title_function(title: str) -> str | None:
    """The function a title names (``... in foo``); None for generic or corrupted titles."""
    m = _TITLE_FUNC.search(title)
    if not m or m.group(1) == "corrupted":
        return None
    return m.group(1)


def inline_to_caller(st: SigState) -> str | None:
    """A symbolized report names the inlined function; the raw log only knows its caller."""
    func = title_function(st.title)
    if not func:
        return None
    names = [normalize.strip_compiler_suffix(f.function) for f in st.frames]
    try:
        i = names.index(func)
    except ValueError:
        return None
    if not st.frames[i].inline:
        return None
    j = i
    while j < len(st.frames) and st.frames[j].inline:
        j += 1
    if j >= len(st.frames):
        return None
    caller = names[j]
    if caller == func:
        return None
    st.title = st.title[: -len(func)] + caller
    return f"{func} is inlined into {caller}: title names the caller, as a raw log would"


# ---------------------------------------------------------------------------------------------
# Frame rules
# ---------------------------------------------------------------------------------------------


def frame_filter(keep: Callable[[SigFrame], bool], what: str) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        dropped = [f.function for f in st.frames if not keep(f)]
        if not dropped:
            return None
        st.frames = [f for f in st.frames if keep(f)]
        shown = ", ".join(dropped[:4]) + (" ..." if len(dropped) > 4 else "")
        return f"dropped {len(dropped)} {what}: {shown}"

    return apply


def frame_rename(fn: Callable[[str], str], what: str) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        changed = []
        for f in st.frames:
            new = fn(f.function)
            if new != f.function:
                changed.append(f"{f.function} -> {new}")
                f.function = new
        if not changed:
            return None
        shown = ", ".join(changed[:3]) + (" ..." if len(changed) > 3 else "")
        return f"{what}: {shown}"

    return apply


MAX_CYCLE = 8


def collapse_recursion(st: SigState) -> str | None:
    """Recursion depth differs between runs: a repeated cycle of up to 8 frames counts once
    (``a b a b a b c`` -> ``a b c``; mutual recursion like bond_get_stats/dev_get_stats)."""
    out: list[SigFrame] = []
    for f in st.frames:
        out.append(f)
        last = f.function
        for period in range(1, MAX_CYCLE + 1):
            if len(out) < 2 * period:
                break
            if out[-1 - period].function != last:
                continue  # cheap first check before comparing the whole cycle
            if all(out[-k].function == out[-k - period].function for k in range(1, period + 1)):
                del out[-period:]
                break
    if len(out) == len(st.frames):
        return None
    n = len(st.frames) - len(out)
    st.frames = out
    return f"collapsed {n} repeated (recursive) frames"


def no_frames(st: SigState) -> str | None:
    if not st.frames:
        return None
    st.frames = []
    return "title only: frames are not part of this version's signature"


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    description: str
    rules: tuple[SigRule, ...]


def initial_state(report: CrashReport) -> SigState:
    """The working state for one report: its title and its named frames, innermost first."""
    frames = [SigFrame(f.function or f.raw_function, f.inline, f.unreliable) for f in report.frames]
    named = [f for f in frames if f.function]
    return SigState(title=report.title or "", frames=named, report=report)


def run_rules(state: SigState, rules: Sequence[SigRule]) -> SigState:
    """Apply rules in order; each change is noted as ``rule-id: why``."""
    for rule in rules:
        note = rule.apply(state)
        if note:
            state.notes.append(f"{rule.id}: {note}")
    return state
