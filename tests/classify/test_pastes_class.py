"""Class accuracy on the hand-labelled pastes of tests/data/corpus/pastes (CLASS: headers were
written by hand before running kpanic), and the class override rows on real pastes."""

from __future__ import annotations

import pytest

from kpanic.classify import classify
from kpanic.classify.rules import CLASS_OVERRIDES
from kpanic.report import parse
from tests.classify.golden_inputs import CORPUS, read_headers

PASTES = CORPUS / "pastes"

#: pastes whose class kpanic gets wrong today, and why (a new miss fails the test)
KNOWN_MISSES = {
    "abrt-578-kmemleak-trac-i915-idr.txt": "parser: raw kmemleak output is not a report yet",
    "openbmc-linux-188-kmemleak-ftgmac100-arm.txt": "parser: raw kmemleak output",
    "openwrt-packages-10254-kmemleak-mips-load-module.txt": "parser: raw kmemleak output",
    "rocm-amdgpu-173-kmemleak-vm-update-range.txt": "parser: raw kmemleak output",
    "apple-container-614-arm64-null-deref-header-split-by-log-line.txt": (
        "parser: the 'Unable to handle kernel NULL pointer dereference' header is split by a "
        "user-space line and is not in the report text, only 'Internal error' is"
    ),
    "rust-decode-stacktrace-mail-bug-twice.txt": (
        "only rust_helper_BUG shows (no rust_begin_unwind / core::panicking frame): Rust code "
        "can call BUG() itself, as the rnull pastes labelled 'assertion' do"
    ),
}


def labelled() -> list[tuple[str, str, str]]:
    out = []
    for p in sorted(PASTES.glob("*.txt")):
        parsed = read_headers(p.read_text(encoding="utf-8", errors="replace"))
        if parsed and parsed[0].get("CLASS"):
            out.append((p.name, parsed[0]["CLASS"], parsed[1]))
    return out


def class_of(log: str) -> str:
    report = parse(log).primary
    return classify(report).bug_class if report is not None else "no-crash"


@pytest.mark.skipif(not PASTES.is_dir(), reason="tests/data/corpus/pastes is not present")
def test_hand_labelled_pastes_class() -> None:
    cases = labelled()
    misses = {name: (want, got) for name, want, log in cases if (got := class_of(log)) != want}
    right = len(cases) - len(misses)
    print(f"\npastes: class right {right}/{len(cases)} ({right / len(cases):.1%})")
    for name, (want, got) in sorted(misses.items()):
        print(f"  {name}: want {want}, got {got} -- {KNOWN_MISSES.get(name, 'NEW')}")
    for name in sorted(set(KNOWN_MISSES) - set(misses)):
        print(f"  fixed (remove from KNOWN_MISSES): {name}")
    assert len(cases) >= 80
    assert set(misses) <= set(KNOWN_MISSES), sorted(set(misses) - set(KNOWN_MISSES))
    assert right / len(cases) >= 0.9


@pytest.mark.skipif(not PASTES.is_dir(), reason="tests/data/corpus/pastes is not present")
@pytest.mark.parametrize(
    ("name", "expected", "override"),
    [
        ("rust-for-linux-365-binder-rpi-zero-kernel-bug-arm.txt", "rust-panic", "rust-bug-frames"),
        ("pcengines-apu2-316-fortify-field-spanning-write-warning.txt", "out-of-bounds",
         "fortify-warning"),
        ("rust-rnull-direct-bug-snip.txt", "assertion", None),  # a direct BUG() from Rust
    ],
)  # fmt: skip
def test_class_overrides_on_real_pastes(name: str, expected: str, override: str | None) -> None:
    parsed = read_headers((PASTES / name).read_text(encoding="utf-8", errors="replace"))
    assert parsed is not None
    report = parse(parsed[1]).primary
    assert report is not None
    c = classify(report)
    assert c.bug_class == expected
    if override is None:
        assert not any(c.rule.endswith("/" + o.id) for o in CLASS_OVERRIDES)
    else:
        assert c.rule.endswith("/" + override) and c.confidence < 1 and c.evidence
        assert all(ev in report.text.splitlines() for ev in c.evidence)


def test_every_override_has_a_reason() -> None:
    assert {o.id for o in CLASS_OVERRIDES} == {"rust-bug-frames", "fortify-warning"}
    assert all(o.reason and o.confidence < 1 for o in CLASS_OVERRIDES)


def test_override_needles_cover_their_patterns() -> None:
    # the substring prefilter must never hide a line the pattern would match
    samples = {
        "rust-bug-frames": ["  rust_begin_unwind+0x4/0x8", " core::panicking::panic_fmt",
                            " _RNvNtCs3yuwAp0waWO_4core9panicking9panic_fmt+0x34/0x38",
                            "rust_kernel: panicked at 'x', src/lib.rs:1:1"],
        "fortify-warning": ["memcpy: detected field-spanning write (size 16) of single field",
                            "detected buffer overflow in strcpy"],
    }  # fmt: skip
    for o in CLASS_OVERRIDES:
        for line in samples[o.id]:
            assert o.lines.search(line), (o.id, line)
            assert any(n in line for n in o.needles), (o.id, line)
