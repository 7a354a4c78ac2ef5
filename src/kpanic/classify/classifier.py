"""classify(report): bug class from the rule table, evidence, Rust verdict, language, signature."""

from __future__ import annotations

import re

from kpanic.classify.evidence import RESOLVERS
from kpanic.classify.language import crash_language
from kpanic.classify.model import Classification
from kpanic.classify.rules import ClassRule, match_rule
from kpanic.classify.signature import CURRENT, compute_signature
from kpanic.classify.verdicts import ALREADY_RUST_NOTE, verdict_for
from kpanic.report.model import CrashReport

MAX_EVIDENCE = 4  # lines; enough to show why, short enough for a table cell
MAX_SCAN_LINES = 4000  # a report longer than this is scanned in its first lines only


def _evidence_lines(lines: list[str], pattern: str | None) -> list[str]:
    if not pattern:
        return []
    rx = re.compile(pattern)
    return [line for line in lines if rx.search(line)][:MAX_EVIDENCE]


def _merge(first: list[str], more: list[str]) -> list[str]:
    out = list(first)
    for line in more:
        if line not in out:
            out.append(line)
    return out[:MAX_EVIDENCE]


def decide_class(report: CrashReport) -> tuple[str, float, list[str], str]:
    """(bug class, confidence, evidence lines, rule id) for one report."""
    lines = report.text.splitlines()[:MAX_SCAN_LINES]
    rule: ClassRule | None = match_rule(report.title or "", report.type or "")
    if rule is None:
        return "unknown", 0.2, [], "none"
    bug_class, confidence = rule.bug_class, rule.confidence
    evidence = _evidence_lines(lines, rule.lines)
    rule_id = rule.id
    if rule.resolve:
        decision = RESOLVERS[rule.resolve](lines)
        if decision is not None:
            if decision.bug_class == bug_class:
                confidence = max(confidence, decision.confidence)
                evidence = _merge(decision.evidence, evidence)
            elif bug_class == "unknown" or rule.confidence < 0.9:
                bug_class, confidence = decision.bug_class, decision.confidence
                evidence = _merge(decision.evidence, evidence)
            rule_id = f"{rule.id}/{rule.resolve}"
    return bug_class, round(confidence, 2), evidence, rule_id


def classify(report: CrashReport, signature_version: str = CURRENT) -> Classification:
    """Classify one crash: what kind of bug, would safe Rust have prevented it, which language,
    and the signature that groups it with other reports of the same bug."""
    bug_class, confidence, evidence, rule_id = decide_class(report)
    language, location = crash_language(report, bug_class)
    verdict = verdict_for(bug_class)
    reason = verdict.reason
    if language == "rust" and bug_class != "rust-panic" and verdict.verdict != "no":
        reason += ALREADY_RUST_NOTE
    sig = compute_signature(report, signature_version)
    return Classification(
        bug_class=bug_class,
        rust_prevents=verdict.verdict,
        rust_reason=reason,
        confidence=confidence,
        evidence=evidence,
        language=language,
        rust_location=location,
        signature=sig.value,
        signature_version=sig.version,
        signature_notes=sig.notes,
        rule=rule_id,
        signature_digest=sig.digest,
    )
