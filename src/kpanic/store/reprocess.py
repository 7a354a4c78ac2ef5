"""Re-analysis of a stored report with the installed parser and classifier.

The text the parser sees is the stored (possibly scrubbed) kernel log. Reports whose full text
was dropped by flood control are re-classified from their stored parse result instead, so a
classifier upgrade still reaches them (a parser upgrade cannot).
"""

from __future__ import annotations

from typing import Any

from kpanic.errors import KpanicError
from kpanic.report.model import CrashReport, Frame
from kpanic.store.ingest import Analysis, NoCrashFound, analysis_from, analyze
from kpanic.store.models import Report


def report_from_dict(data: dict[str, Any]) -> CrashReport:
    """Rebuild a CrashReport from its ``to_dict()`` form (unknown keys are ignored)."""
    fields = set(CrashReport.__dataclass_fields__)
    frame_fields = set(Frame.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in fields}
    values["frames"] = [
        Frame(**{k: v for k, v in f.items() if k in frame_fields})
        for f in data.get("frames") or []
        if isinstance(f, dict) and "function" in f
    ]
    if "title" not in values or "type" not in values:
        raise KpanicError("the stored parse result has no title")
    return CrashReport(**values)


def reanalyze(report: Report) -> Analysis:
    """A fresh Analysis of a stored report (KpanicError when it cannot be redone)."""
    text = report.original if report.source_kind == "log" else report.kmsg
    if text:
        return analyze(text)
    stored = [r for r in (report.parse or {}).get("reports", []) if isinstance(r, dict)]
    if not stored:
        raise NoCrashFound("the report has neither text nor a stored parse result")
    import kpanic.classify as classify_mod

    crashes = [report_from_dict(r) for r in stored]
    return analysis_from(crashes, classify_mod.classify(crashes[0]))
