"""Stable crash signatures: an ordered pipeline of small rules, versioned by date.

Like Mozilla Socorro's signature generator, each rule looks at the working state (title and
frames) and, when it changes something, records a note saying why; the notes travel with the
signature so a user can see why two crashes were merged. Like Sentry's grouping configs, the
rule set is versioned by date: every signature carries the version that made it and old
versions stay available, so groups made by an old version stay stable until a store chooses
to re-group (``kpanic signature diff`` shows what a new version would merge or split).

The signature is the normalised title, then `` | `` and the top meaningful caller frames:
``KASAN: slab-use-after-free Read in foo | bar | baz``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kpanic.classify import normalize
from kpanic.report.model import CrashReport

__all__ = [
    "CURRENT",
    "RULESETS",
    "RuleSet",
    "SigFrame",
    "SigRule",
    "SigState",
    "Signature",
    "compute_signature",
]


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


@dataclass(frozen=True, slots=True)
class Signature:
    value: str
    version: str
    notes: list[str]

    @property
    def digest(self) -> str:
        """A short stable key for storage: depends on the version and the value only."""
        h = hashlib.sha256(f"{self.version}\n{self.value}".encode()).hexdigest()
        return h[:16]


@dataclass(frozen=True, slots=True)
class SigRule:
    """One pipeline step: ``apply`` changes the state and returns a note, or None."""

    id: str
    doc: str
    apply: Callable[[SigState], str | None]


# ---------------------------------------------------------------------------------------------
# Title rules
# ---------------------------------------------------------------------------------------------


def _title_step(fn: Callable[[str], str], what: str) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        new = fn(st.title)
        if new == st.title:
            return None
        old, st.title = st.title, new
        return f"{what}: {old!r} -> {new!r}"

    return apply


_AT_ADDR = re.compile(r" at addr ADDR$")
_TITLE_FUNC = re.compile(r" in (\S+)$")


def _kasan_at_addr(title: str) -> str:
    return _AT_ADDR.sub("", title)


def _title_function(title: str) -> str | None:
    """The function a title names (``... in foo``); None for generic or corrupted titles."""
    m = _TITLE_FUNC.search(title)
    if not m or m.group(1) == "corrupted":
        return None
    return m.group(1)


def _inline_to_caller(st: SigState) -> str | None:
    """A symbolized report names the inlined function; the raw log only knows its caller."""
    func = _title_function(st.title)
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


def _frame_filter(keep: Callable[[SigFrame], bool], what: str) -> Callable[[SigState], str | None]:
    def apply(st: SigState) -> str | None:
        dropped = [f.function for f in st.frames if not keep(f)]
        if not dropped:
            return None
        st.frames = [f for f in st.frames if keep(f)]
        shown = ", ".join(dropped[:4]) + (" ..." if len(dropped) > 4 else "")
        return f"dropped {len(dropped)} {what}: {shown}"

    return apply


def _frame_rename(fn: Callable[[str], str], what: str) -> Callable[[SigState], str | None]:
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


# Reporting and exception machinery, sanitizer runtimes, lock primitives and string helpers:
# they sit on top of many unrelated stacks and say nothing about the bug (compare Socorro's
# irrelevant/prefix signature lists and syzkaller's skip list for titles).
MACHINERY = re.compile(
    r"^(?:dump_stack\w*|show_stack|show_regs|__show_regs|print_address_description\w*"
    r"|print_report|print_trailer|print_track|describe_object\w*|kasan_\w+|__kasan_\w+"
    r"|____kasan_\w+|__asan_\w+|asan_\w+|kmsan_\w+|__msan_\w+|__kmsan_\w+|kcsan_\w+"
    r"|__tsan_\w+|kfence_\w+|__kfence_\w+|check_memory_region\w*|memory_is_poisoned\w*"
    r"|__warn|warn_slowpath\w*|__warn_printk|report_bug|handle_bug|fixup_bug\w*|do_error_trap"
    r"|do_trap|do_invalid_op|exc_\w+|asm_exc_\w+|invalid_op|die|__die\w*|oops_\w+|no_context"
    r"|__bad_area\w*|bad_area\w*|page_fault_oops|kernelmode_fixup_or_oops|do_user_addr_fault"
    r"|handle_page_fault|__do_page_fault|do_page_fault|do_general_protection|general_protection"
    r"|panic|nmi_\w+|rcu_dump_cpu_stacks|print_cpu_stall\w*|check_cpu_stall|rcu_sched_clock_irq"
    r"|debug_print_object|__debug_object_\w+|debug_object_\w+|debug_check_no_obj_freed\w*"
    r"|ubsan_\w+|__ubsan_\w+|lockdep_\w+|__lock_acquire|lock_acquire|lock_release"
    r"|print_\w+_bug|print_usage_bug|mark_lock\w*|validate_chain|check_\w+_usage"
    r"|__might_sleep|__might_resched|___might_sleep|__might_fault|might_fault"
    r"|refcount_warn_saturate|refcount_\w+|kmemleak_\w+|create_object\w*"
    r"|rust_begin_unwind|__rustc::\w+|rust_helper_BUG|rust_panic|core::panicking::\w+|core::result::unwrap_failed"
    r"|core::option::\w+_failed|__rust_\w+"
    r"|dump_backtrace\w*|show_trace\w*|sched_show_task|arch_stack_walk|stack_trace_save\w*"
    r"|save_trace|save_stack\w*|__save_stack_trace|print_stack_trace|stack_depot_\w+"
    r"|should_fail\w*|should_failslab|fail_dump|__should_failslab|warn_alloc\w*"
    r"|__sanitizer_cov_\w+|write_comp_data|msan_\w+|check_preemption_disabled"
    r"|debug_smp_processor_id|__this_cpu_preempt_check|trace_hardirqs_\w+|lockdep_hardirqs_\w+"
    r"|print_irqtrace_events|debug_lockdep_rcu_enabled|rcu_lockdep_current_cpu_online"
    r"|lockdep_rcu_suspicious|arch_trigger_cpumask_backtrace|nmi_trigger_cpumask_backtrace"
    r"|trigger_single_cpu_backtrace|rcu_dump_\w+|rcu_check_gp_kthread_starvation"
    r"|rcu_print_\w+|print_other_cpu_stall|__switch_to\w*|context_switch|finish_task_switch\w*"
    r"|_*preempt_schedule\w*|bad_page|__cond_resched|_cond_resched|schedule_\w+|__schedule_\w+"
    r"|_raw_spin_\w+|_raw_read_\w+|_raw_write_\w+|do_raw_spin_\w+|queued_spin_lock_slowpath"
    r"|native_queued_spin_lock_slowpath|__mutex_lock\w*|mutex_lock\w*|mutex_unlock|down_\w+"
    r"|up_\w+|rwsem_\w+|__rwsem_\w+|__schedule|schedule|schedule_timeout|schedule_preempt_\w+"
    r"|io_schedule\w*|__wait_for_common|wait_for_completion\w*"
    r"|memcpy|__memcpy|memmove|__memmove|memset|__memset|memcmp|strlen|strnlen|strcmp|strncmp"
    r"|strcpy|strncpy|strscpy|sized_strscpy|copy_user_\w+|_copy_to_user|_copy_from_user"
    r"|__copy_user\w*|copy_to_user|copy_from_user|rep_movs_alternative|kmalloc\w*|__kmalloc\w*"
    r"|kfree|kvfree|kmem_cache_\w+|slab_free\w*|__slab_free|__kmem_cache_\w+)$"
)


def _not_machinery(f: SigFrame) -> bool:
    return not MACHINERY.match(normalize.strip_compiler_suffix(f.function))


# Where every stack ends: syscall entry, kthreads, interrupts. Never meaningful.
ENTRY = re.compile(
    r"^(?:entry_SYSCALL\w*|do_syscall_\w+|do_fast_syscall\w*|__do_fast_syscall\w*|ret_from_fork\w*"
    r"|kthread|worker_thread|process_one_work|process_scheduled_works|smpboot_thread_fn"
    r"|asm_sysvec_\w+|sysvec_\w+|irq_exit_rcu|__irq_exit_rcu|__do_softirq|handle_softirqs"
    r"|do_softirq\w*|__sysvec_\w+|el0_\w+|el1_\w+|el0t_\w+|el1h_\w+|invoke_syscall|cpu_startup_entry"
    r"|do_idle|start_secondary|secondary_startup_64\w*|common_startup_64)$"
)


MAX_CYCLE = 8


def _collapse_recursion(st: SigState) -> str | None:
    """Recursion depth differs between runs: a repeated cycle of up to 8 frames counts once
    (``a b a b a b c`` -> ``a b c``; mutual recursion like bond_get_stats/dev_get_stats)."""
    out: list[SigFrame] = []
    for f in st.frames:
        out.append(f)
        for period in range(1, MAX_CYCLE + 1):
            if len(out) >= 2 * period and all(
                out[-k].function == out[-k - period].function for k in range(1, period + 1)
            ):
                del out[-period:]
                break
    if len(out) == len(st.frames):
        return None
    n = len(st.frames) - len(out)
    st.frames = out
    return f"collapsed {n} repeated (recursive) frames"


def _no_frames(st: SigState) -> str | None:
    if not st.frames:
        return None
    st.frames = []
    return "title only: frames are not part of this version's signature"


def _frames_for_generic_titles(n_named: int, n_generic: int) -> Callable[[SigState], str | None]:
    """A title that names a function needs fewer frames than one that does not."""

    def apply(st: SigState) -> str | None:
        n = n_named if _title_function(st.title) else n_generic
        if len(st.frames) <= n:
            return None
        st.frames = st.frames[:n]
        kind = "names a function" if n == n_named else "names no function"
        return f"kept the top {n} frames (the title {kind})"

    return apply


# ---------------------------------------------------------------------------------------------
# Rule sets
# ---------------------------------------------------------------------------------------------

TITLE_RULES: tuple[SigRule, ...] = (
    SigRule(
        "title-whitespace",
        "squeeze whitespace, drop non-printables",
        _title_step(normalize.squeeze, "whitespace"),
    ),
    SigRule(
        "title-offsets",
        "func+0x1c/0x80 -> func",
        _title_step(normalize.replace_offsets, "offsets removed"),
    ),
    SigRule(
        "title-addresses",
        "hex addresses -> ADDR",
        _title_step(normalize.replace_addresses, "addresses"),
    ),
    SigRule(
        "title-executor",
        "syz-executor.N, syz.P.N -> syz-executor",
        _title_step(normalize.replace_executor, "executor name"),
    ),
    SigRule(
        "title-numbers",
        "file.c:N -> file.c:LINE, CPU#N -> CPU, numbers -> NUM",
        _title_step(normalize.replace_numbers, "numbers"),
    ),
    SigRule(
        "title-compiler-suffix",
        ".cold/.isra.N/.constprop.N/.part.N/.llvm.N removed",
        _title_step(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "title-kasan-at-addr",
        "old KASAN titles end in 'at addr ADDR'",
        _title_step(_kasan_at_addr, "old KASAN 'at addr' suffix"),
    ),
)

FRAME_CLEANUP: tuple[SigRule, ...] = (
    SigRule(
        "frames-drop-unreliable",
        "'? ' frames are stack garbage the unwinder guessed",
        _frame_filter(lambda f: not f.unreliable, "unreliable '?' frames"),
    ),
    SigRule(
        "frames-tool-prefix",
        "__cfi_/__pfx_ prefixes removed",
        _frame_rename(normalize.strip_tool_prefix, "tool prefix"),
    ),
    SigRule(
        "frames-compiler-suffix",
        "compiler clone suffixes removed",
        _frame_rename(normalize.strip_compiler_suffix, "compiler clone suffix"),
    ),
    SigRule(
        "frames-rust-hash",
        "legacy Rust ::h<hash> removed",
        _frame_rename(normalize.strip_rust_hash, "Rust symbol hash"),
    ),
)

RULES_2026_11_22: tuple[SigRule, ...] = (
    *TITLE_RULES,
    *FRAME_CLEANUP,
    SigRule(
        "title-inline-caller", "an inlined title function becomes its caller", _inline_to_caller
    ),
    SigRule(
        "frames-drop-inline",
        "[inline] frames exist only in symbolized reports",
        _frame_filter(lambda f: not f.inline, "inline frames"),
    ),
    SigRule(
        "frames-drop-machinery",
        "reporting, sanitizer, lock and string helpers dropped",
        _frame_filter(_not_machinery, "machinery frames"),
    ),
    SigRule(
        "frames-drop-entry",
        "syscall/kthread/irq entry frames dropped",
        _frame_filter(lambda f: not ENTRY.match(f.function), "entry frames"),
    ),
    SigRule("frames-collapse-recursion", "consecutive repeats count once", _collapse_recursion),
    SigRule(
        "frames-top",
        "the first meaningful frame, only when the title names no function",
        _frames_for_generic_titles(0, 1),
    ),
)

RULES_2026_11_15: tuple[SigRule, ...] = (
    *TITLE_RULES,
    SigRule("frames-none", "title only (syzkaller's own grouping)", _no_frames),
)


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: str
    description: str
    rules: tuple[SigRule, ...]


RULESETS: dict[str, RuleSet] = {
    "2026-11-15": RuleSet(
        "2026-11-15",
        "Normalised title only, as syzkaller groups bugs.",
        RULES_2026_11_15,
    ),
    "2026-11-22": RuleSet(
        "2026-11-22",
        "Normalised title (an inlined title function becomes its caller); when the title "
        "names no function (generic or corrupted), plus the first meaningful frame.",
        RULES_2026_11_22,
    ),
}
CURRENT = "2026-11-22"


def _state(report: CrashReport) -> SigState:
    frames = [SigFrame(f.function or f.raw_function, f.inline, f.unreliable) for f in report.frames]
    return SigState(title=report.title or "", frames=[f for f in frames if f.function])


def run_rules(state: SigState, rules: Sequence[SigRule]) -> SigState:
    """Apply rules in order; each change is noted as ``rule-id: why``."""
    for rule in rules:
        note = rule.apply(state)
        if note:
            state.notes.append(f"{rule.id}: {note}")
    return state


def compute_signature(report: CrashReport, version: str = CURRENT) -> Signature:
    """The signature of one crash under one rule-set version (KeyError for unknown versions)."""
    try:
        ruleset = RULESETS[version]
    except KeyError:
        known = ", ".join(RULESETS)
        raise KeyError(f"unknown signature version {version!r} (known: {known})") from None
    st = run_rules(_state(report), ruleset.rules)
    value = " | ".join([st.title or "untitled", *(f.function for f in st.frames)])
    return Signature(value=value, version=version, notes=list(st.notes))
