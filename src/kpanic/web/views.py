"""Template contexts built from the store's values (prepared, stored and grouped reports)."""

from __future__ import annotations

from typing import Any


def primary_report(parse: dict[str, Any] | None) -> dict[str, Any]:
    """The first crash of a stored parse result (``{"reports": [...]}``), or an empty dict."""
    reports = (parse or {}).get("reports") or []
    first = reports[0] if reports else {}
    return first if isinstance(first, dict) else {}


def crash_context(parse: dict[str, Any] | None, classification: dict[str, Any] | None) -> dict:
    """Frames, guilty frame and classification details for the crash templates."""
    primary = primary_report(parse)
    cls = classification or {}
    return {
        "crash": primary,
        "frames": [f for f in primary.get("frames") or [] if isinstance(f, dict)],
        "guilty": primary.get("guilty_frame"),
        "other_crashes": max(0, len((parse or {}).get("reports") or []) - 1),
        "cls": cls,
        "evidence": [str(e) for e in cls.get("evidence") or []],
        "signature_notes": [str(n) for n in cls.get("signature_notes") or []],
    }


def preview_context(prepared: Any) -> dict[str, Any]:
    """Context for the review page of a decoded (not yet stored) panic URL."""
    payload = prepared.payload or {}
    return {
        "title": prepared.title,
        "bug_class": prepared.bug_class,
        "rust_prevents": prepared.rust_prevents,
        "language": prepared.language,
        "kernel": prepared.kernel,
        "arch": prepared.arch,
        "distro": prepared.distro,
        "kmsg": prepared.kmsg or "",
        "encoding": payload.get("encoding"),
        "tail_repaired": payload.get("tail_repaired"),
        "scrubbed": prepared.scrubbed,
        "scrub_counts": prepared.scrub_counts or {},
        **crash_context(prepared.parse, prepared.classification),
    }
