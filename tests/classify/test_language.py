"""Language of the faulting code and, for Rust, where it sits (driver or shared layers)."""

from __future__ import annotations

from kpanic.classify import classify
from kpanic.classify.corpus import read_log
from kpanic.report import parse
from kpanic.report.model import CrashReport, Frame
from tests.classify.corpus_reports import REPORT_DIR


def primary(name: str) -> CrashReport:
    report = parse(read_log(REPORT_DIR / name).log).primary
    assert report is not None
    return report


def test_rust_panics_in_drivers() -> None:
    for name, crate in (("748", "rust_binder"), ("749", "ashmem_rust")):
        c = classify(primary(name))
        assert (c.bug_class, c.language, c.rust_location) == ("rust-panic", "rust", "driver")
        assert c.rust_prevents == "no" and "Rust already" in c.rust_reason
        assert crate in c.signature
        assert any("attempt to" in line for line in c.evidence)


def test_c_crash() -> None:
    c = classify(primary("520"))
    assert (c.language, c.rust_location) == ("c", None)


def test_rust_abstraction_frame() -> None:
    frame = Frame(
        function="<kernel::sync::arc::Arc<T> as core::ops::drop::Drop>::drop",
        file="rust/kernel/sync/arc.rs",
    )
    report = CrashReport(
        title=f"KASAN: slab-use-after-free Read in {frame.function}",
        type="KASAN-USE-AFTER-FREE-READ",
        frames=[frame],
        guilty_frame=frame.function,
    )
    c = classify(report)
    assert (c.language, c.rust_location) == ("rust", "abstraction")


def test_corrupted_guilty_frame_is_not_a_language() -> None:
    report = CrashReport(
        title="general protection fault in corrupted", type="DoS", guilty_frame="corrupted"
    )
    assert classify(report).language == "unknown"


def test_title_only_rust_name() -> None:
    name = "<rust_binder::process::Process>::update_ref"
    report = CrashReport(title=f"WARNING in {name}", type="WARNING", guilty_frame=name)
    c = classify(report)
    assert (c.language, c.rust_location) == ("rust", "driver")
