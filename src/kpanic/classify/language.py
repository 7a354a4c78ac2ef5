"""Which language the faulting code is in, and for Rust where it sits (driver or shared layers).

The per-frame questions are answered by :mod:`kpanic.report.language` (helper D's module);
this module picks the frame that counts: the guilty frame, else the first reliable one.
"""

from __future__ import annotations

from kpanic.classify.normalize import strip_compiler_suffix
from kpanic.report.language import frame_language, rust_location
from kpanic.report.model import CrashReport, Frame, Language


def guilty_frame(report: CrashReport) -> Frame | None:
    """The frame the crash is blamed on: the one named ``guilty_frame``, else the first
    reliable frame. A name with no matching frame becomes a bare Frame (title-only reports)."""
    guilty = report.guilty_frame
    if guilty == "corrupted":  # syzkaller's placeholder when no frame could be trusted
        return None
    if guilty:
        wanted = strip_compiler_suffix(guilty)
        for frame in report.frames:
            if frame.function == guilty or strip_compiler_suffix(frame.function) == wanted:
                return frame
        return Frame(function=guilty, raw_function=guilty)
    for frame in report.frames:
        if not frame.unreliable:
            return frame
    return None


def _language_of(frame: Frame) -> Language:
    if frame.language != "unknown":
        return frame.language
    return frame_language(frame.function, frame.raw_function, frame.file)


def crash_language(report: CrashReport, bug_class: str) -> tuple[Language, str | None]:
    """(language of the faulting code, Rust location or None).

    A Rust panic is Rust whatever frame is blamed (the panic machinery is Rust). For other
    crashes the guilty frame decides; the report's own ``language`` field is used when no
    frame is known.
    """
    frame = guilty_frame(report)
    language: Language = "unknown"
    if frame is not None:
        language = _language_of(frame)
    if language == "unknown" and report.language != "unknown":
        language = report.language
    if bug_class == "rust-panic":
        language = "rust"
    if language != "rust":
        return language, None
    location = rust_location(frame) if frame is not None else None
    return language, location or "driver"
