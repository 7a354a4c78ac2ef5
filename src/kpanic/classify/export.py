"""The classification fields other layers add to their output (``kpanic parse``, JSON APIs).

One place decides which fields a report's JSON gains and how the readable output states the
class and the Rust verdict, so the CLI module only splices them in.
"""

from __future__ import annotations

from typing import Any

from kpanic.classify.classifier import classify
from kpanic.report.model import CrashReport

FIELDS = ("bug_class", "rust_prevents", "rust_reason", "confidence", "evidence", "signature")
EXTRA = ("class_reason", "signature_version", "signature_alternatives", "signature_digest")


def classification_fields(report: CrashReport) -> dict[str, Any]:
    """bug_class, rust_prevents, rust_reason, confidence, evidence (lines), signature,
    class_reason, signature_version, signature_alternatives and signature_digest (the group
    key) for one report; all None for an empty (no-crash) placeholder."""
    if not report.title:
        return {key: None for key in (*FIELDS, *EXTRA)}
    c = classify(report)
    return {
        "bug_class": c.bug_class,
        "rust_prevents": c.rust_prevents,
        "rust_reason": c.rust_reason,
        "confidence": c.confidence,
        "evidence": list(c.evidence),
        "signature": c.signature,
        "class_reason": c.class_reason,
        "signature_version": c.signature_version,
        "signature_alternatives": list(c.signature_alternatives),
        "signature_digest": c.signature_digest,
    }


def classification_rows(report: CrashReport) -> list[tuple[str, str]]:
    """(label, value) rows for a readable summary: the class and the Rust verdict."""
    c = classify(report)
    rows = [
        ("bug class", f"{c.bug_class} (confidence {c.confidence:.2f})"),
        ("why", c.class_reason),
    ]
    rows += [("evidence", line.strip()) for line in c.evidence]
    rows += [
        ("safe Rust prevents", f"{c.rust_prevents}: {c.rust_reason}"),
        ("signature", c.signature),
    ]
    rows += [("or joins", alt) for alt in c.signature_alternatives]
    return rows
