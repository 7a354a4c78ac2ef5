"""Title normalisation and the title -> type table, rule by rule (the corpus tests them in bulk)."""

from __future__ import annotations

import pytest

from kpanic.report.syntax import GappedPattern, compile_title, go_sprintf
from kpanic.report.titles import normalize_title, title_frame, title_to_type


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("WARNING in foo syz-executor.3/1234", "WARNING in foo syz-executor"),
        ("BUG: bad thing at ffff88801234abcd", "BUG: bad thing at ADDR"),
        ("INFO: from 10.128.0.42 peer", "INFO: from IP peer"),
        ("kernel BUG at fs/ext4/inode.c:1234!", "kernel BUG at fs/ext4/inode.c:LINE!"),
        (
            "general protection fault in ip6_fragment+0x1052/0x2d80",
            "general protection fault in ip6_fragment",
        ),
        ("INFO: rcu detected stall on CPU#3", "INFO: rcu detected stall on CPU"),
        ("kernel panic: error -12 from 5 tasks", "kernel panic: error -NUM from NUM tasks"),
        ("WARNING in nl80211_foo cfg80211_bar", "WARNING in nl80211_foo cfg80211_bar"),
        ("a\tb   c\x01d ", "a b cd"),
        ("X" * 200, "X" * 120),
    ],
)
def test_normalize_title(raw: str, want: str) -> None:
    assert normalize_title(raw) == want


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("KASAN: slab-use-after-free Read in foo", "KASAN-USE-AFTER-FREE-READ"),
        ("KASAN: null-ptr-deref Write in foo", "KASAN-NULL-POINTER-DEREFERENCE-WRITE"),
        (
            "BUG: unable to handle kernel NULL pointer dereference in foo",
            "NULL-POINTER-DEREFERENCE",
        ),
        ("BUG: unable to handle kernel paging request in foo", "MEMORY_SAFETY_BUG"),
        ("WARNING: refcount bug in foo", "REFCOUNT_WARNING"),
        ("WARNING: suspicious RCU usage in foo", "LOCKDEP"),
        ("WARNING in foo", "WARNING"),
        ("WARNING: something new", "WARNING"),
        ("INFO: task hung in foo", "HANG"),
        ("memory leak in foo", "LEAK"),
        ("int3 in foo", "DoS"),
        ("kernel BUG in foo", "BUG"),
        ("BUG: Bad page state in foo", "unknown"),
        ("attempt to add with overflow in <a::B>::c", "unknown"),
        ("KCSAN: data-race in a / b", "KCSAN-DATARACE"),
    ],
)
def test_title_to_type(title: str, want: str) -> None:
    assert title_to_type(title) == want


def test_title_frame_is_the_last_in_identifier() -> None:
    assert title_frame("KASAN: use-after-free Read in tcp_close") == "tcp_close"
    assert title_frame("x in <rust_binder::process::Process>::update_ref") == (
        "<rust_binder::process::Process>::update_ref"
    )
    assert title_frame("BUG: Bad rss-counter state") is None


def test_go_sprintf_explicit_indexes() -> None:
    assert go_sprintf("KASAN: %[1]v %[3]v in %[4]v", ["a", "b", "Read", "f"]) == (
        "KASAN: a Read in f"
    )
    assert go_sprintf("SYZFATAL%[2]s", ["x", ""]) == "SYZFATAL"
    assert go_sprintf("%[3]v", ["a"]) == "%!v(BADINDEX)"


def test_gapped_patterns_match_like_the_regex() -> None:
    import re

    pattern = r"WARNING: .*mm/.*\.c.* k?.?malloc"
    gapped = compile_title(pattern)
    assert isinstance(gapped, GappedPattern)
    plain = re.compile(pattern)
    texts = [
        "x\nWARNING: CPU: 0 at mm/slab.c:12 kmalloc_order+0x1\n",
        "WARNING: at mm/util.c:1 __kvmalloc_node\n",
        "WARNING: at mm/util.c:1\n kmalloc on the next line\n",
        "WARNING: mm/x.c kmalloc WARNING: mm/y.c vmalloc\n",
        "nothing\n",
    ]
    for text in texts:
        a, b = gapped.search(text), plain.search(text)
        assert (a.start() if a else None) == (b.start() if b else None), text
