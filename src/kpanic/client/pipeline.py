"""What the client applies to a log before it leaves the machine: the server's own scrubbing,
and the dedup key the server computes. Imported through these two functions only, so moving
the scrubber into another package is a one-line change here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scrubbed:
    text: str
    counts: dict[str, int]  # replacements per category ("hostname", "ip", ...)


def scrub(text: str) -> Scrubbed:
    """``text`` scrubbed exactly as the server scrubs what it stores."""
    from kpanic.store.scrub import scrub_text

    result = scrub_text(text)
    return Scrubbed(result.text, {k: v for k, v in result.counts.items() if v})


def content_key(text: str) -> str:
    """The server's dedup key for a log text (sha256 of the normalized text)."""
    from kpanic.store.ingest import content_hash

    return content_hash(text)


# The placeholders scrub() puts where it removed something (for marking them in a preview).
PLACEHOLDERS = ("<host>", "<user>", "<mac>", "<ipv4>", "<ipv6>", "<serial>", "<email>")
