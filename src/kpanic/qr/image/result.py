"""The value ``decode_photo`` returns: what was read and how."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class PhotoResult:
    """One decoded QR payload.

    ``payload`` is the exact text the symbol holds, bytes mapped 1:1 to characters (latin-1).
    ``method`` names the stage that succeeded, so callers and benchmarks can tell the cheap
    path (zxing) from the expensive one (own sampler with soft-decision Reed-Solomon).
    ``corrected_errors``/``erasures`` are known only when our own RS decoder ran.
    ``notes`` say what it took (a truncated file, which animation frame).
    """

    payload: str
    version: int | None
    method: str
    elapsed: float
    corrected_errors: int | None = None
    erasures: int | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the file was cut, frame 3 of 10

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for the CLI and the web API)."""
        return asdict(self)
