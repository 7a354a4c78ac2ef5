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


def reanalyze_input(
    row: tuple[Any, ...],
) -> tuple[int, Analysis | None, str | None]:
    """Process-pool worker: ``(id, source_kind, original, kmsg, parse)`` -> (id, analysis,
    error). Errors come back as text so one bad report never stops a reprocess run."""
    rid, kind, original, kmsg, parse = row
    try:
        return rid, _reanalyze(kind, original, kmsg, parse), None
    except KpanicError as exc:
        return rid, None, str(exc)
    except Exception as exc:  # a parser/classifier bug on one old report
        return rid, None, f"internal error: {type(exc).__name__}: {exc}"


def _reanalyze(
    kind: str, original: str | None, kmsg: str | None, parse: dict[str, Any] | None
) -> Analysis:
    text = original if kind == "log" else kmsg
    if text:
        return analyze(text)
    stored = [r for r in (parse or {}).get("reports", []) if isinstance(r, dict)]
    if not stored:
        raise NoCrashFound("the report has neither text nor a stored parse result")
    import kpanic.classify as classify_mod

    crashes = [report_from_dict(r) for r in stored]
    return analysis_from(crashes, classify_mod.classify(crashes[0]))
