"""Signature rules one by one, rule-set versions, stability across report forms, and the
merge/split figures on the syzkaller corpus."""

from __future__ import annotations

import random
import re
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpanic.classify.corpus import read_log
from kpanic.classify.grouping import compare
from kpanic.classify.signature import (
    CURRENT,
    RULESETS,
    SigFrame,
    SigState,
    compute_signature,
)
from kpanic.report import parse
from kpanic.report.model import CrashReport
from tests.classify.corpus_reports import REPORT_DIR, corpus_files, frames_of


@cache
def parsed(name: str) -> CrashReport:
    report = parse(read_log(REPORT_DIR / name).log).primary
    assert report is not None
    return report


def rule(rule_id: str):
    for rs in RULESETS.values():
        for r in rs.rules:
            if r.id == rule_id:
                return r
    raise KeyError(rule_id)


def state(title: str, frames: list[SigFrame] | None = None) -> SigState:
    return SigState(title=title, frames=frames or [])


def sig_frames(report: CrashReport) -> list[SigFrame]:
    return [SigFrame(f.function, f.inline, f.unreliable) for f in report.frames]


def apply(rule_id: str, st_: SigState) -> str | None:
    note = rule(rule_id).apply(st_)
    return note


# --- one test per rule --------------------------------------------------------------------


def test_title_whitespace() -> None:
    s = state("WARNING:\tfoo  bar \x07")
    assert apply("title-whitespace", s) and s.title == "WARNING: foo bar"
    assert apply("title-whitespace", s) is None


def test_title_offsets() -> None:
    line = [x for x in read_log(REPORT_DIR / "8").log.splitlines() if "BUG: KASAN" in x][0]
    s = state(line.split("] ", 1)[1])
    assert apply("title-offsets", s)
    assert s.title.startswith("BUG: KASAN: use-after-free in snd_seq_queue_alloc at addr")


def test_title_addresses() -> None:
    s = state("KASAN: slab-out-of-bounds in ip6_fragment at addr ffff8801d386d964")
    assert apply("title-addresses", s) and s.title.endswith("at addr ADDR")
    s = state("KASAN: use-after-free Read in add123_fn")  # identifiers are not addresses
    assert apply("title-addresses", s) is None


def test_title_executor() -> None:
    s = state("Read of size 4 by task syz-executor2/5764 syz.0.595")
    assert apply("title-executor", s)
    assert s.title == "Read of size 4 by task syz-executor/5764 syz-executor"


def test_title_numbers() -> None:
    s = state("kernel panic: VFS: Unable to mount root fs on unknown-block(0,0) CPU#1 a.c:12")
    assert apply("title-numbers", s)
    assert s.title.endswith("unknown-block(NUM,NUM) CPU a.c:LINE")
    s = state("KASAN: use-after-free Read in ip6_fragment")
    assert apply("title-numbers", s) is None


def test_title_compiler_suffix() -> None:
    s = state("KASAN: use-after-free in do_con_write.part.NUM at addr ADDR")
    assert apply("title-compiler-suffix", s) and "do_con_write at addr" in s.title
    s = state("WARNING in foo.isra.0.cold")
    assert apply("title-compiler-suffix", s) and s.title == "WARNING in foo"


def test_title_kasan_at_addr() -> None:
    s = state("KASAN: use-after-free in do_con_write at addr ADDR")
    assert apply("title-kasan-at-addr", s) and s.title == "KASAN: use-after-free in do_con_write"


def test_frames_drop_unreliable() -> None:
    frames = frames_of(read_log(REPORT_DIR / "749").log)
    s = state("t", [SigFrame(f.function, f.inline, f.unreliable) for f in frames])
    n = sum(f.unreliable for f in s.frames)
    assert n > 5 and apply("frames-drop-unreliable", s)
    assert len(s.frames) == len(frames) - n and not any(f.unreliable for f in s.frames)


def test_frames_tool_prefix() -> None:
    names = [f.function for f in frames_of(read_log(REPORT_DIR / "749").log)]
    cfi = [n for n in names if n.startswith("__cfi_")]
    assert cfi
    s = state("t", [SigFrame(n) for n in cfi])
    assert apply("frames-tool-prefix", s)
    assert not any(f.function.startswith("__cfi_") for f in s.frames)


def test_frames_compiler_suffix() -> None:
    s = state("t", sig_frames(parsed("520")))
    assert any(".isra." in f.function or ".cold" in f.function for f in s.frames)
    assert apply("frames-compiler-suffix", s)
    assert "install_breakpoint" in [f.function for f in s.frames]


def test_frames_rust_hash() -> None:
    s = state("t", [SigFrame("kernel::print::call_printk::h0123456789abcdef")])
    assert apply("frames-rust-hash", s) and s.frames[0].function == "kernel::print::call_printk"


def test_title_inline_caller() -> None:
    report = parsed("686")  # symbolized: __vmalloc_node [inline] in vzalloc
    s = state("WARNING: zero-size vmalloc in __vmalloc_node", sig_frames(report))
    assert apply("title-inline-caller", s)
    assert s.title == "WARNING: zero-size vmalloc in vzalloc"
    s = state(report.title, sig_frames(report))  # bpf_check is not inlined
    assert apply("title-inline-caller", s) is None


def test_frames_drop_inline() -> None:
    s = state("t", sig_frames(parsed("686")))
    assert apply("frames-drop-inline", s)
    assert "__vmalloc_node" not in [f.function for f in s.frames]
    assert "vzalloc" in [f.function for f in s.frames]


def test_frames_drop_machinery() -> None:
    s = state("t", sig_frames(parsed("520")))
    assert apply("frames-drop-machinery", s)
    assert s.frames[0].function.startswith("arch_uprobe_analyze_insn")


def test_frames_drop_entry() -> None:
    s = state("t", sig_frames(parsed("686")))
    assert apply("frames-drop-entry", s)
    names = [f.function for f in s.frames]
    assert not any(n.startswith(("do_syscall", "entry_SYSCALL")) for n in names)


def test_frames_collapse_recursion() -> None:
    report = parsed("614")  # bond_get_stats <-> dev_get_stats mutual recursion, 129 frames
    s = state("t", sig_frames(report))
    # In the pipeline unreliable "? " frames are dropped first; they interleave with the cycle.
    apply("frames-drop-unreliable", s)
    assert apply("frames-collapse-recursion", s)
    names = [f.function for f in s.frames]
    assert len(names) < 40 and names.count("bond_get_stats") <= 2


def test_frames_top() -> None:
    s = state("WARNING: suspicious RCU usage", [SigFrame("a"), SigFrame("b")])
    assert apply("frames-top", s) and [f.function for f in s.frames] == ["a"]
    s = state("WARNING in foo", [SigFrame("a")])
    assert apply("frames-top", s) and s.frames == []
    s = state("WARNING in corrupted", [SigFrame("a"), SigFrame("b")])
    assert apply("frames-top", s) and len(s.frames) == 1


def test_frames_none() -> None:
    s = state("WARNING: suspicious RCU usage", [SigFrame("a")])
    assert apply("frames-none", s) and s.frames == []


def test_every_rule_has_a_test() -> None:
    ids = {r.id for rs in RULESETS.values() for r in rs.rules}
    names = {n.removeprefix("test_").replace("_", "-") for n in globals() if n.startswith("test_")}
    assert ids <= names, ids - names


# --- versions -------------------------------------------------------------------------------


def test_versions() -> None:
    assert CURRENT in RULESETS and len(RULESETS) >= 2
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in RULESETS)
    report = parsed("114")  # "WARNING: suspicious RCU usage": frames only count in CURRENT
    old = compute_signature(report, "2026-11-15")
    new = compute_signature(report)
    assert old.value == "WARNING: suspicious RCU usage" and old.version == "2026-11-15"
    assert new.value.startswith("WARNING: suspicious RCU usage | ") and new.version == CURRENT
    assert old.digest != new.digest and len(new.digest) == 16
    assert any(n.startswith("frames-top:") for n in new.notes)
    with pytest.raises(KeyError):
        compute_signature(report, "1999-01-01")


def test_notes_explain_changes() -> None:
    sig = compute_signature(parsed("520"))
    ids = [n.split(":", 1)[0] for n in sig.notes]
    assert "frames-drop-machinery" in ids and "frames-top" in ids
    ruleset_ids = [r.id for r in RULESETS[CURRENT].rules]
    assert ids == sorted(ids, key=ruleset_ids.index)  # notes come in pipeline order


# --- stability across report forms and machines ----------------------------------------------

_INLINE_LINE = re.compile(r"^.*\[inline\]\s*$")
_SOURCE = re.compile(r"(\+0x[0-9a-f]+/0x[0-9a-f]+)(?: \[\w+\])? [\w./-]+\.[chS]:\d+(?::\d+)?")
SYMBOLIZED = ["99", "400", "431", "621", "626", "686", "692", "693", "695", "697", "752"]


@pytest.mark.parametrize("name", SYMBOLIZED)
def test_symbolized_and_raw_forms_group_together(name: str) -> None:
    log = read_log(REPORT_DIR / name).log
    assert "[inline]" in log
    raw = "".join(
        _SOURCE.sub(r"\1", line) + "\n" for line in log.splitlines() if not _INLINE_LINE.match(line)
    )
    a, b = parse(log).primary, parse(raw).primary
    assert a is not None and b is not None
    assert compute_signature(a).value == compute_signature(b).value


def _other_machine(log: str, rng: random.Random) -> str:
    """The same crash as another kernel build / machine / boot would print it: other offsets,
    addresses, timestamps (shifted), task and CPU ids (renamed consistently), PIDs."""

    def hexrun(m: re.Match[str]) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in m.group(0))

    shift = rng.uniform(0, 5000)
    ids: dict[str, str] = {}

    def caller(m: re.Match[str]) -> str:
        old = m.group(1)
        if old not in ids:
            new = old[0] + str(rng.randint(0, 7) if old[0] == "C" else rng.randint(1, 99999))
            ids[old] = new
        return f"[{ids[old]:>6}]"

    log = re.sub(r"(?<=\+0x)[0-9a-f]+(?=/0x)", hexrun, log)  # offsets
    log = re.sub(r"(?<=/0x)[0-9a-f]+", hexrun, log)  # function sizes
    log = re.sub(r"\b[0-9a-f]{16}\b", hexrun, log)  # addresses, registers
    log = re.sub(r"\[\s*(\d+\.\d+)\]", lambda m: f"[{float(m.group(1)) + shift:12.6f}]", log)
    log = re.sub(r"\[ *([TC]\d+)\]", caller, log)
    pid = rng.randint(2, 9**6)
    log = re.sub(r"CPU: \d+ PID: \d+", f"CPU: {rng.randint(0, 63)} PID: {pid}", log)
    return re.sub(r"syz-executor\.?\d+", f"syz-executor.{rng.randint(0, 9)}", log)


STABLE_SAMPLE = ["8", "26", "51", "114", "157", "168", "520", "568", "626", "686", "749"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STABLE_SAMPLE), st.integers(0, 2**32))
def test_insensitive_to_machine_noise(name: str, seed: int) -> None:
    log = read_log(REPORT_DIR / name).log
    a = parse(log).primary
    b = parse(_other_machine(log, random.Random(seed))).primary
    assert a is not None and b is not None
    assert compute_signature(a).value == compute_signature(b).value


# --- the corpus figures --------------------------------------------------------------------


@cache
def corpus_pairs() -> list[tuple[str, str, CrashReport]]:
    out = []
    for p in corpus_files():
        lf = read_log(p)
        want = (lf.headers.get("TITLE") or [""])[0]
        report = parse(lf.log).primary
        if want and report is not None:
            out.append((p.name, want, report))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("version", list(RULESETS))
def test_corpus_merge_and_split(version: str) -> None:
    """Distinct syzkaller titles never share a signature; a title only splits when it names
    no function (generic or 'corrupted' titles, where frames tell different bugs apart)."""
    pairs = [(n, t, compute_signature(r, version).value) for n, t, r in corpus_pairs()]
    diff = compare(pairs)
    print(
        f"\n{version}: {len(pairs)} crashes, {diff.old_groups} titles, {diff.new_groups} "
        f"signatures, merged {len(diff.merges)}, split {len(diff.splits)}"
    )
    assert len(pairs) >= 700
    # The only merges allowed: syzkaller titles a report "... in corrupted" while the report
    # itself names the function another report of the same kind is titled with (the parser
    # now finds it; e.g. corpus 325/326, "PANIC: double fault in __udp6_lib_lookup").
    for m in diff.merges:
        named = [t for t in m.into if not t.endswith(" in corrupted")]
        assert len(named) == 1 and all(
            t == named[0] or t == named[0].rsplit(" in ", 1)[0] + " in corrupted" for t in m.into
        ), m
    for s in diff.splits:
        assert s.key.endswith(" in corrupted") or " in " not in s.key, s.key
    assert len(diff.splits) <= 12


@pytest.mark.parametrize("name", STABLE_SAMPLE)
def test_qr_tail_form_groups_with_full_log(name: str) -> None:
    """A drm_panic QR code carries the newest bytes of the log: the head is cut mid-line."""
    log = read_log(REPORT_DIR / name).log
    full = parse(log).primary
    assert full is not None
    cut = max(0, full.start - 37)
    tail = parse(log[cut:]).primary
    assert tail is not None
    assert compute_signature(tail).value == compute_signature(full).value


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=200),
    st.lists(st.tuples(st.text(max_size=60), st.booleans(), st.booleans()), max_size=60),
)
def test_any_input_gives_a_deterministic_signature(title: str, frames: list) -> None:
    from kpanic.report.model import Frame

    report = CrashReport(
        title=title,
        type="",
        frames=[Frame(function=f, inline=i, unreliable=u) for f, i, u in frames],
    )
    a, b = compute_signature(report), compute_signature(report)
    assert a == b and isinstance(a.value, str) and a.value
    assert len(a.value.split(" | ")) <= 2 + title.count(" | ")


# --- rules new in 2026-12-03 ------------------------------------------------------------------


def _fixture_report(name: str) -> CrashReport:
    from tests.classify.golden_inputs import FIXTURES, read_headers

    parsed = read_headers((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))
    assert parsed is not None
    report = parse(parsed[1]).primary
    assert report is not None
    return report


def test_title_source_location() -> None:
    # the symbolized header, as the parser titles it today
    s = state(
        "KASAN: null-ptr-deref in instrument_atomic_read_write include/linux/instrumented.h:LINE "
        "[inline]"
    )
    assert apply("title-source-location", s)
    assert s.title == "KASAN: null-ptr-deref in instrument_atomic_read_write"
    s = state("WARNING in foo")
    assert apply("title-source-location", s) is None


def test_title_sanitizer_bug_prefix() -> None:
    s = state("BUG: KMSAN: uninit-value in foo")
    assert apply("title-sanitizer-bug-prefix", s) and s.title == "KMSAN: uninit-value in foo"
    s = state("BUG: soft lockup in foo")
    assert apply("title-sanitizer-bug-prefix", s) is None


def test_title_rust_panic() -> None:
    report = _fixture_report("rust-binder-panic-mail")
    assert report.title.startswith("attempt to subtract with overflow in ")
    s = SigState(title=report.title, frames=[], report=report)
    assert apply("title-rust-panic", s)
    assert s.title == "Rust panic in <rust_binder::process::Process>::ioctl_write_read"
    s = SigState(title="WARNING in foo", frames=[], report=report)
    assert apply("title-rust-panic", s) is None


def test_title_from_tail() -> None:
    full = _fixture_report("mac80211-kasan-uaf-console")
    tail = _fixture_report("mac80211-kasan-uaf-console--qr-tail")
    # The parser titles this tail itself now; the rule is for tails it cannot title.
    assert tail.title == full.title
    tail.title = "corrupted report (start lost) in lockref_get"
    s = SigState(title=tail.title, frames=[], report=tail)
    note = apply("title-from-tail", s)
    assert note and "Freed by task" not in s.title
    assert s.title == full.title == "KASAN: slab-use-after-free Read in lockref_get"
    # __kasan_check_byte is a read: no Write alternative, only the pre-6.5 spelling
    assert s.alternatives == ["KASAN: use-after-free Read in lockref_get"]
    s = SigState(title=full.title, frames=[], report=full)  # a whole report is left alone
    assert apply("title-from-tail", s) is None


def test_tail_signatures_equal_full_signatures() -> None:
    for base in ("mac80211-kasan-uaf-console", "riscv-kvm-null-deref", "rust-binder-panic-mail"):
        full = compute_signature(_fixture_report(base))
        tail = compute_signature(_fixture_report(f"{base}--qr-tail"))
        assert tail.value == full.value, base


def test_tail_shadow_byte_and_lost_kasan_kind() -> None:
    from kpanic.classify.evidence import LineList
    from kpanic.classify.tail import KASAN_FAMILIES, infer_tail, shadow_byte

    tail = _fixture_report("mac80211-kasan-uaf-console--qr-tail")
    assert shadow_byte(LineList(tail.text.splitlines())) == "fb"  # freed slab object
    # the same tail without the 'located inside of freed' and 'Freed by task' lines: the
    # shadow byte alone still says use-after-free
    lines = [x for x in tail.text.splitlines() if "inside of" not in x and "Freed by" not in x]
    tail.text = "\n".join(lines) + "\n"
    kind = infer_tail(tail)
    assert kind is not None and kind.bug_class == "use-after-free" and "fb" in kind.reason
    # and without the shadow dump too: the kind is lost, every KASAN kind is an alternative
    cut = [x for x in lines if "Memory state" not in x and " fb " not in x and "fc fc" not in x]
    cut = [x for x in cut if "inside" not in x and "freed" not in x]
    tail.text = "\n".join(cut) + "\n"
    tail.title = "corrupted report (start lost) in lockref_get"  # what the parser cannot know
    sig = compute_signature(tail)
    assert sig.value == "KASAN: kind unknown Read in lockref_get"
    assert "KASAN: slab-use-after-free Read in lockref_get" in sig.alternatives
    assert len(KASAN_FAMILIES) >= 10


def test_title_parser_alternatives() -> None:
    # a partial report as the parser may title it: kind known, access type lost
    tail = _fixture_report("mac80211-kasan-uaf-console--qr-tail")
    tail.title = "KASAN: slab-use-after-free in lockref_get"
    tail.alt_titles = [
        "KASAN: slab-use-after-free Read in lockref_get",
        "KASAN: slab-use-after-free Write in lockref_get",
        "bad-access in lockref_get",  # a syzkaller category ALT: no group is keyed by it
    ]
    s = SigState(title=tail.title, frames=[], report=tail)
    assert apply("title-parser-alternatives", s)
    assert s.alternatives == tail.alt_titles[:2]
    full = compute_signature(_fixture_report("mac80211-kasan-uaf-console"))
    sig = compute_signature(tail)
    assert full.value in sig.alternatives
    from kpanic.classify.grouping import group_key, join_key

    existing = {full.digest}
    assert join_key(sig.digest, sig.alternative_digests, existing) == full.digest
    assert group_key(sig.version, full.value) == full.digest


def test_title_kasan_invalid_free() -> None:
    s = state("KASAN: double-free or invalid-free in gadgetfs_kill_sb")
    assert apply("title-kasan-invalid-free", s)
    assert s.title == "KASAN: invalid-free in gadgetfs_kill_sb"
    s = state("KASAN: invalid-free in f")
    assert apply("title-kasan-invalid-free", s) is None


def test_title_kasan_access() -> None:
    full = _fixture_report("mac80211-kasan-uaf-console")  # has "Read of size 1 at addr"
    s = SigState(title="KASAN: slab-use-after-free in lockref_get", frames=[], report=full)
    assert apply("title-kasan-access", s)
    assert s.title == "KASAN: slab-use-after-free Read in lockref_get"
    s = SigState(title=full.title, frames=[], report=full)  # access already there
    assert apply("title-kasan-access", s) is None


def test_title_machinery_function() -> None:
    s = state("KASAN: slab-out-of-bounds Read in memcpy", [SigFrame("post_usb_notification")])
    assert apply("title-machinery-function", s)
    assert s.title == "KASAN: slab-out-of-bounds Read in post_usb_notification"
    s = state("KASAN: slab-out-of-bounds Read in foo", [SigFrame("bar")])
    assert apply("title-machinery-function", s) is None
    s = state("KMSAN: kernel-infoleak in instrument_copy_to_user", [])  # no caller: keep
    assert apply("title-machinery-function", s) is None


@pytest.mark.parametrize(
    "name",
    ["boot-post-usb-notification-4fb11127.txt", "kasan-enqueue-timer-0490b283.txt",
     "kasan-gadgetfs-kill-sb-60b20212.txt"],
)  # fmt: skip
def test_symbolized_syzbot_mail_and_raw_form_share_a_signature(name: str) -> None:
    from tests.classify.golden_inputs import CORPUS, read_headers
    from tests.classify.test_form_invariance import desymbolize

    path = CORPUS / "syzbot" / name
    if not path.exists():
        pytest.skip("tests/data/corpus/syzbot is not present")
    parsed = read_headers(path.read_text(encoding="utf-8"))
    assert parsed is not None
    a, b = parse(parsed[1]).primary, parse(desymbolize(parsed[1])).primary
    assert a is not None and b is not None
    assert compute_signature(a).value == compute_signature(b).value
