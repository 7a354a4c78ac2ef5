"""The classification result every consumer (store, web, CLI) reads.

A contract like :mod:`kpanic.report.model`: fields may be added, never renamed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from kpanic.report.model import Language

BugClass = Literal[
    "out-of-bounds",
    "use-after-free",
    "invalid-free",
    "leak",
    "uninit",
    "null-deref",
    "lock-misuse",
    "deadlock",
    "refcount",
    "data-race",
    "assertion",
    "hang",
    "arithmetic",
    "rust-panic",
    "unknown",
]

#: The fixed vocabulary, in the order tables and charts show it.
BUG_CLASSES: tuple[str, ...] = get_args(BugClass)

Verdict = Literal["yes", "partly", "no"]
VERDICTS: tuple[str, ...] = get_args(Verdict)
LANGUAGES: tuple[str, ...] = get_args(Language)


@dataclass(slots=True)
class Classification:
    """What kind of bug a crash is, and whether safe Rust would have ruled it out."""

    bug_class: BugClass
    rust_prevents: Verdict
    rust_reason: str
    confidence: float  # 1.0: a detector named the bug; lower: inferred from indirect evidence
    evidence: list[str]  # exact lines of report.text that decided the class
    language: Language
    rust_location: str | None  # for Rust code: "driver", "abstraction", "ffi" or "core"
    signature: str
    signature_version: str
    signature_notes: list[str] = field(default_factory=list)
    rule: str = ""  # id of the class rule (or resolver) that decided
    signature_digest: str = ""  # group key: short stable hash of (version, signature)
    #: other signatures of the same version this crash may have, when its report is partial (a
    #: QR tail that lost the access type); see kpanic.classify.grouping.join_key
    signature_alternatives: list[str] = field(default_factory=list)
    class_reason: str = ""  # why this class, in words (or why nothing could be decided)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
