"""Stable crash signatures: an ordered pipeline of small rules, versioned by date.

Like Mozilla Socorro's signature generator, each rule looks at the working state (title and
frames) and, when it changes something, records a note saying why; the notes travel with the
signature so a user can see why two crashes were merged. Like Sentry's grouping configs, the
rule set is versioned by date: every signature carries the version that made it and old
versions stay available and frozen (each in its own module with its own immutable tables,
checked by golden files), so groups made by an old version stay stable until a store chooses
to re-group (``kpanic signature diff`` shows what a new version would merge or split).

A group is keyed by ``(version, value)``: :func:`group_key` (the signature's ``digest``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kpanic.classify.sig_2026_11 import RULESET_2026_11_15, RULESET_2026_11_22
from kpanic.classify.sig_2026_12_03 import RULESET_2026_12_03
from kpanic.classify.sigcore import (
    RuleSet,
    SigFrame,
    Signature,
    SigRule,
    SigState,
    group_key,
    initial_state,
    run_rules,
)
from kpanic.report.model import CrashReport

__all__ = [
    "CURRENT",
    "RULESETS",
    "RuleSet",
    "SigFrame",
    "SigRule",
    "SigState",
    "Signature",
    "compute_signature",
    "group_key",
    "run_rules",
]

#: Every version, oldest first; read-only (a version is never edited, only added).
RULESETS: Mapping[str, RuleSet] = MappingProxyType(
    {rs.version: rs for rs in (RULESET_2026_11_15, RULESET_2026_11_22, RULESET_2026_12_03)}
)
#: The version new reports get.
CURRENT = "2026-12-03"


def compute_signature(report: CrashReport, version: str = CURRENT) -> Signature:
    """The signature of one crash under one rule-set version (KeyError for unknown versions)."""
    try:
        ruleset = RULESETS[version]
    except KeyError:
        known = ", ".join(RULESETS)
        raise KeyError(f"unknown signature version {version!r} (known: {known})") from None
    st = run_rules(initial_state(report), ruleset.rules)
    value = " | ".join([st.title or "untitled", *(f.function for f in st.frames)])
    alternatives = tuple(
        dict.fromkeys(
            " | ".join([alt, *(f.function for f in st.frames)])
            for alt in st.alternatives
            if alt and alt != st.title
        )
    )
    return Signature(value=value, version=version, notes=list(st.notes), alternatives=alternatives)
