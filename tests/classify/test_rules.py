"""The bug-class rule table, rule by rule, and its agreement with syzkaller's crash types."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpanic.classify import classify
from kpanic.classify.classifier import decide_class
from kpanic.classify.model import BUG_CLASSES
from kpanic.classify.rules import CLASS_RULES, match_rule
from kpanic.report.model import CrashReport
from tests.classify.corpus_reports import header_report, header_reports

# One sample per rule: (rule id, title, type, expected class). Titles come from the syzkaller
# corpus where it has one (file number in the comment), otherwise from syzbot's dashboard.
SAMPLES = [
    (
        "rust-panic",
        "attempt to subtract with overflow in <rust_binder::process::Process>::update_ref",
        "",
        "rust-panic",
    ),  # 748
    ("kasan-uaf", "KASAN: slab-use-after-free Read in snd_seq_queue_alloc", "", "use-after-free"),
    (
        "kasan-invalid-free",
        "KASAN: invalid-free in selinux_tun_dev_free_security",
        "",
        "invalid-free",
    ),  # 5
    ("kasan-invalid-free", "KASAN: double-free in ext4_ext_remove_space", "", "invalid-free"),
    ("kasan-null", "KASAN: null-ptr-deref Read in fib6_nh_init", "", "null-deref"),
    ("kasan-oob", "KASAN: slab-out-of-bounds Read in corrupted", "", "out-of-bounds"),  # 15
    ("kasan-oob", "KASAN: stack-out-of-bounds Read in xfrm_state_find", "", "out-of-bounds"),
    ("kasan-wild", "KASAN: wild-memory-access Read", "", "unknown"),  # 19
    (
        "kasan-tag-mismatch",
        "KASAN: invalid-access Read in enqueue_timer",
        "",
        "out-of-bounds",
    ),  # 569
    ("kfence-uaf", "KFENCE: use-after-free read in find_uprobe", "", "use-after-free"),  # 590
    ("kfence-oob", "KFENCE: out-of-bounds read in test_out_of_bounds_read", "", "out-of-bounds"),
    ("kfence-invalid-free", "KFENCE: invalid free in test_double_free", "", "invalid-free"),
    ("kfence-corruption", "KFENCE: memory corruption in test_corruption", "", "out-of-bounds"),
    ("kfence-invalid-access", "KFENCE: invalid read in test_invalid_access", "", "unknown"),
    ("kmsan", "KMSAN: uninit-value in prepare_task_switch", "", "uninit"),  # 626
    ("kmsan", "KMSAN: kernel-infoleak in copyout", "", "uninit"),
    ("kcsan", "KCSAN: data-race in find_next_bit / rcu_report_exp_cpu_mult", "", "data-race"),
    ("kmemleak", "memory leak in do_ipv6_setsockopt", "", "leak"),  # 51
    (
        "ubsan-index",
        "UBSAN: array-index-out-of-bounds in arch_uprobe_analyze_insn",
        "",
        "out-of-bounds",
    ),
    ("ubsan-arith", "UBSAN: shift-out-of-bounds in ext4_fill_super", "", "arithmetic"),
    ("ubsan-arith", "UBSAN: signed-integer-overflow in tcp_ack", "", "arithmetic"),
    ("ubsan-null", "UBSAN: null-ptr-deref in hfsplus_bnode_find", "", "null-deref"),
    ("ubsan-invalid-load", "UBSAN: invalid-load in __fib6_rule_action", "", "uninit"),
    ("ubsan-object-size", "UBSAN: object-size-mismatch in send_hfcpci_msg", "", "out-of-bounds"),
    ("ubsan-other", "UBSAN: undefined-behaviour in proc_do_submiturb", "", "unknown"),
    ("fortify", "BUG: bad usercopy in kvm_vcpu_ioctl_set_cpuid2", "", "out-of-bounds"),  # 122
    ("fortify", "kernel panic: stack is corrupted in lock_release", "", "out-of-bounds"),
    ("stack-exhaustion", "BUG: stack guard page was hit in rtnl_newlink", "", "unknown"),
    ("slub-double-free", "BUG: Object already free", "", "invalid-free"),  # 82
    ("slub-debug", "INFO: Freed in fasync_free_rcu age=NUM cpu=NUM pid=NUM", "", "unknown"),
    (
        "null-deref",
        "BUG: unable to handle kernel NULL pointer dereference in corrupted",
        "",
        "null-deref",
    ),
    ("invalid-access", "general protection fault in __ip_options_echo", "", "unknown"),
    (
        "invalid-access",
        "BUG: unable to handle kernel paging request in skb_release_data",
        "",
        "unknown",
    ),
    ("alignment-trap", "Alignment trap in corrupted", "", "unknown"),
    ("refcount", "WARNING: refcount bug in sctp_wfree", "", "refcount"),
    (
        "netdev-refcount-leak",
        "unregister_netdevice: waiting for DEV to become free",
        "",
        "refcount",
    ),
    ("vfs-refcount", "VFS: Close: file count is zero (use-after-free)", "", "refcount"),
    ("deadlock", "possible deadlock in blkdev_reread_part", "", "deadlock"),
    ("deadlock", "inconsistent lock state in sk_clone_lock", "", "deadlock"),
    ("deadlock", "WARNING: possible circular locking dependency detected", "", "deadlock"),
    (
        "atomic-sleep",
        "BUG: sleeping function called from invalid context in corrupted",
        "",
        "lock-misuse",
    ),
    ("atomic-sleep", "BUG: scheduling while atomic in corrupted", "", "lock-misuse"),
    ("lock-misuse", "WARNING: bad unlock balance in ucma_destroy_id", "", "lock-misuse"),
    (
        "lock-misuse",
        "WARNING: lock held when returning to user space in ovl_write_iter",
        "",
        "lock-misuse",
    ),
    ("lock-misuse", "INFO: suspicious RCU usage in corrupted", "", "lock-misuse"),
    (
        "lock-misuse",
        "INFO: trying to register non-static key in ath9k_hif_usb_reg_in_cb",
        "",
        "lock-misuse",
    ),
    ("hang", "INFO: task hung in __blkdev_get", "", "hang"),
    ("hang", "INFO: rcu detected stall in corrupted", "", "hang"),
    ("hang", "BUG: soft lockup in corrupted", "", "hang"),
    ("divide-error", "divide error in snd_hrtimer_callback", "", "arithmetic"),
    ("odebug", "WARNING: ODEBUG bug in pppol2tp_release", "", "assertion"),
    ("assertion", "WARNING in kvm_arch_vcpu_ioctl_run", "", "assertion"),
    ("assertion", "kernel BUG in pfkey_send_acquire", "", "assertion"),
    ("assertion", "BUG: corrupted list in __dev_remove_pack", "", "assertion"),
    ("assertion", "BUG: Bad page state in xdp_test_run_batch", "", "assertion"),
    # Type-only fallbacks: a title no rule knows, syzkaller's crash type decides.
    (
        "type-kasan-uaf",
        "weird title",
        "KASAN-USE-AFTER-FREE-READ",
        "use-after-free",
    ),
    ("type-kasan-free", "weird title", "KASAN-INVALID-FREE", "invalid-free"),
    ("type-kasan-null", "weird title", "KASAN-NULL-POINTER-DEREFERENCE-READ", "null-deref"),
    ("type-kfence-uaf", "weird title", "KFENCE-USE-AFTER-FREE-READ", "use-after-free"),
    ("type-kmsan", "weird title", "KMSAN-UNINIT-VALUE", "uninit"),
    ("type-kcsan", "weird title", "KCSAN-DATARACE", "data-race"),
    ("type-leak", "weird title", "LEAK", "leak"),
    ("type-null", "weird title", "NULL-POINTER-DEREFERENCE", "null-deref"),
    ("type-refcount", "weird title", "REFCOUNT_WARNING", "refcount"),
    ("type-atomic-sleep", "weird title", "ATOMIC_SLEEP", "lock-misuse"),
    ("type-hang", "weird title", "HANG", "hang"),
    ("type-lockdep", "weird title", "LOCKDEP", "lock-misuse"),
    ("type-warning", "weird title", "WARNING", "assertion"),
    ("type-ubsan", "weird title", "UBSAN", "unknown"),
    ("type-memory-safety", "weird title", "MEMORY_SAFETY_BUG", "unknown"),
]


@pytest.mark.parametrize(("rule_id", "title", "crash_type", "expected"), SAMPLES)
def test_rule(rule_id: str, title: str, crash_type: str, expected: str) -> None:
    rule = match_rule(title, crash_type)
    assert rule is not None and rule.id == rule_id
    # Title-only report: no text, so resolvers have no evidence and the rule's class stands.
    bug_class, conf, evidence, _ = decide_class(CrashReport(title=title, type=crash_type))
    assert bug_class == expected
    assert evidence == [] and 0 < conf <= 1


def test_every_rule_has_a_sample() -> None:
    assert {r.id for r in CLASS_RULES} == {s[0] for s in SAMPLES}
    ids = [r.id for r in CLASS_RULES]
    assert len(ids) == len(set(ids))
    for r in CLASS_RULES:
        assert r.bug_class in BUG_CLASSES
        assert (r.title is None) != (r.type is None)
        for pattern in (r.title, r.type, r.lines):
            if pattern:
                re.compile(pattern)


# syzkaller's crash type says what the detector saw; where it is unambiguous, the class must
# agree on every corpus file of that type.
TYPE_TO_CLASS = {
    "KASAN-USE-AFTER-FREE-READ": "use-after-free",
    "KASAN-USE-AFTER-FREE-WRITE": "use-after-free",
    "KASAN-INVALID-FREE": "invalid-free",
    "KASAN-NULL-POINTER-DEREFERENCE-READ": "null-deref",
    "KASAN-WRITE": "out-of-bounds",
    "KFENCE-USE-AFTER-FREE-READ": "use-after-free",
    "KFENCE-INVALID-FREE": "invalid-free",
    "KMSAN-UNINIT-VALUE": "uninit",
    "KMSAN-INFO-LEAK": "uninit",
    "KCSAN-DATARACE": "data-race",
    "KCSAN-ASSERT": "data-race",
    "LEAK": "leak",
    "NULL-POINTER-DEREFERENCE": "null-deref",
    "REFCOUNT_WARNING": "refcount",
    "ATOMIC_SLEEP": "lock-misuse",
    "HANG": "hang",
    "MEMORY_SAFETY_UBSAN": "out-of-bounds",
}


def test_agrees_with_syzkaller_types_on_corpus() -> None:
    seen: Counter[str] = Counter()
    for name, report in header_reports():
        want = TYPE_TO_CLASS.get(report.type)
        if want is None:
            continue
        got = classify(report).bug_class
        assert got == want, (name, report.title, got)
        seen[report.type] += 1
    assert sum(seen.values()) >= 270


def test_lockdep_type_is_lock_misuse_or_deadlock() -> None:
    for _, report in header_reports():
        if report.type == "LOCKDEP":
            assert classify(report).bug_class in {"lock-misuse", "deadlock"}, report.title


def test_corpus_evidence_is_exact_lines_and_classes_are_spread() -> None:
    classes: Counter[str] = Counter()
    with_evidence = 0
    for name, report in header_reports():
        c = classify(report)
        classes[c.bug_class] += 1
        lines = set(report.text.splitlines())
        assert all(line in lines for line in c.evidence), name
        assert c.bug_class in BUG_CLASSES and 0 < c.confidence <= 1
        with_evidence += bool(c.evidence)
        if c.bug_class == "unknown":
            assert c.confidence < 1
    # every class of the vocabulary occurs in the corpus
    assert set(classes) == set(BUG_CLASSES)
    assert with_evidence / sum(classes.values()) > 0.85


def test_fallback_for_titles_no_rule_knows() -> None:
    c = classify(CrashReport(title="kernel panic: Attempted to kill init!", type="DoS"))
    assert (c.bug_class, c.rule, c.rust_prevents) == ("unknown", "none", "no")
    assert c.confidence < 0.5


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=40), st.text(max_size=2000))
def test_any_input_gives_a_class(title: str, crash_type: str, text: str) -> None:
    c = classify(CrashReport(title=title, type=crash_type, text=text))
    assert c.bug_class in BUG_CLASSES
    assert all(line in text.splitlines() for line in c.evidence)


def test_huge_report_is_bounded() -> None:
    report = header_report("8")
    assert report is not None
    big = CrashReport(title=report.title, type=report.type, text=report.text * 400)
    c = classify(big)
    assert c.bug_class == "use-after-free" and len(c.evidence) <= 4
