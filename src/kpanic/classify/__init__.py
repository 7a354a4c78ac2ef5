"""Crash classification: bug class, "would safe Rust have prevented this?", language and a
stable, versioned signature for grouping duplicates.

``classify(report)`` is the entry point; ``kpanic.classify.signature`` holds the signature
pipeline (``compute_signature``, ``RULESETS``, ``CURRENT``).
"""

from __future__ import annotations

from kpanic.classify import signature
from kpanic.classify.classifier import classify
from kpanic.classify.model import BUG_CLASSES, Classification
from kpanic.classify.verdicts import RUST_VERDICTS

#: Version of the classifier's output (class, verdict, language); bump it with a dated string
#: whenever a change moves any classification. Signatures carry their own dated version.
CLASSIFIER_VERSION = "2026-11-22"

__all__ = [
    "BUG_CLASSES",
    "CLASSIFIER_VERSION",
    "RUST_VERDICTS",
    "Classification",
    "classify",
    "signature",
]
