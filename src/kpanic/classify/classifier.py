"""classify(report): bug class from the rule table, evidence, Rust verdict, language, signature."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from kpanic.classify.evidence import RESOLVERS, LineList, matching_lines
from kpanic.classify.language import crash_language
from kpanic.classify.model import BugClass, Classification
from kpanic.classify.rules import CLASS_OVERRIDES, ClassRule, match_rule
from kpanic.classify.signature import CURRENT, compute_signature
from kpanic.classify.tail import infer_tail, is_partial
from kpanic.classify.verdicts import ALREADY_RUST_NOTE, verdict_for
from kpanic.report.model import CrashReport

MAX_EVIDENCE = 4  # lines; enough to show why, short enough for a table cell
MAX_SCAN_LINES = 4000  # a report longer than this is scanned in its first lines only


class ClassDecision(NamedTuple):
    bug_class: BugClass
    confidence: float
    evidence: list[str]
    rule: str  # rule id, "rule/resolver", "tail/<row>" or "none"
    reason: str  # why, in words: what decided, or why nothing could


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _evidence_lines(lines: LineList, pattern: str | None) -> list[str]:
    if not pattern:
        return []
    return matching_lines(lines, _compiled(pattern), MAX_EVIDENCE)


def _merge(first: list[str], more: list[str]) -> list[str]:
    out = list(first)
    for line in more:
        if line not in out:
            out.append(line)
    return out[:MAX_EVIDENCE]


def _from_tail(report: CrashReport, fallback: ClassDecision) -> ClassDecision:
    kind = infer_tail(report)
    if kind is None or kind.bug_class == "unknown":
        why = kind.reason if kind is not None else "no sanitizer, lockdep, panic or fault lines"
        return fallback._replace(
            reason=f"start of the report lost and its body does not tell the kind ({why})"
        )
    return ClassDecision(
        kind.bug_class,
        kind.confidence,
        kind.evidence,
        f"tail/{kind.row}",
        f"start of the report lost; the body says {kind.family}: {kind.reason}",
    )


def decide(report: CrashReport) -> ClassDecision:
    """The class of one report, with its confidence, evidence lines, rule id and reason."""
    lines = LineList(report.text.splitlines()[:MAX_SCAN_LINES])
    rule: ClassRule | None = match_rule(report.title or "", report.type or "")
    if rule is None:
        none = ClassDecision(
            "unknown", 0.2, [], "none", "not enough evidence: no class rule matches the title"
        )
        return _override(lines, _from_tail(report, none) if is_partial(report) else none)
    bug_class, confidence = rule.bug_class, rule.confidence
    evidence = _evidence_lines(lines, rule.lines)
    rule_id = rule.id
    reason = f"the title matches class rule {rule.id}"
    if rule.resolve:
        decision = RESOLVERS[rule.resolve](lines)
        if decision is not None:
            if decision.bug_class == bug_class:
                confidence = max(confidence, decision.confidence)
                evidence = _merge(decision.evidence, evidence)
                reason = f"{reason}; {decision.why}"
            elif bug_class == "unknown" or rule.confidence < 0.9:
                bug_class, confidence = decision.bug_class, decision.confidence
                evidence = _merge(decision.evidence, evidence)
                reason = decision.why
            rule_id = f"{rule.id}/{rule.resolve}"
        elif bug_class == "unknown":
            reason = f"{reason}; the title does not tell the kind and no evidence line decides"
    if bug_class == "unknown" and not reason.startswith("not enough evidence"):
        reason = f"not enough evidence: {reason}"
    out = ClassDecision(bug_class, round(confidence, 2), evidence, rule_id, reason)
    if out.bug_class == "unknown" and is_partial(report):
        out = _from_tail(report, out)
    return _override(lines, out)


def _override(lines: LineList, d: ClassDecision) -> ClassDecision:
    for o in CLASS_OVERRIDES:
        if d.bug_class in o.applies_to and any(n in lines.text for n in o.needles):
            hits = matching_lines(lines, o.lines, 2)
            if hits:
                ev = _merge(hits, d.evidence)
                return ClassDecision(o.bug_class, o.confidence, ev, f"{d.rule}/{o.id}", o.reason)
    return d


def decide_class(report: CrashReport) -> tuple[str, float, list[str], str]:
    """(bug class, confidence, evidence lines, rule id) for one report."""
    d = decide(report)
    return d.bug_class, d.confidence, d.evidence, d.rule


def classify(report: CrashReport, signature_version: str = CURRENT) -> Classification:
    """Classify one crash: what kind of bug, would safe Rust have prevented it, which language,
    and the signature that groups it with other reports of the same bug."""
    d = decide(report)
    language, location = crash_language(report, d.bug_class)
    verdict = verdict_for(d.bug_class)
    reason = verdict.reason
    if language == "rust" and d.bug_class != "rust-panic" and verdict.verdict != "no":
        reason += ALREADY_RUST_NOTE
    sig = compute_signature(report, signature_version)
    return Classification(
        bug_class=d.bug_class,
        rust_prevents=verdict.verdict,
        rust_reason=reason,
        confidence=d.confidence,
        evidence=d.evidence,
        language=language,
        rust_location=location,
        signature=sig.value,
        signature_version=sig.version,
        signature_notes=sig.notes,
        rule=d.rule,
        signature_digest=sig.digest,
        signature_alternatives=list(sig.alternatives),
        class_reason=d.reason,
    )
