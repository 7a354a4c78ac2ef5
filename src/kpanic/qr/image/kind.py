"""What a decoded QR payload is: a panic URL, a raw kernel log, or someone else's code.

A photo of a dead machine often holds other codes too (an asset-tag sticker, a Wi-Fi code on
the router, a URL on a poster). Those are never the crash: a payload counts as the panic only
when it is a drm_panic URL (``z=``/``zl=`` then digits) or printable text with the marks of a
kernel log. With several codes in view the panic-shaped one wins.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["panic-url", "kernel-log", "foreign"]

_PANIC_URL = re.compile(r"https?://[\x21-\x7e]*[?&]zl?=\d+\Z")

# (pattern, why it marks a kernel log). Any one is enough on text that is otherwise printable.
KERNEL_MARKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[\s*\d+\.\d{6}\]"), "printk timestamp '[   12.345678]'"),
    (re.compile(r"^<[0-7]>", re.M), "syslog level prefix of a kmsg record"),
    (re.compile(r"\b[A-Za-z_][A-Za-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+"), "symbol+off/len frame"),
    (re.compile(r"Kernel panic|Oops|BUG:|WARNING:|Call Trace|RIP:|Tainted:"), "oops header"),
    (re.compile(r"Modules linked in|Hardware name:|CPU: \d+|end Kernel panic"), "oops body"),
)
_PRINTABLE = re.compile(r"[\t\n\r\x20-\x7e]*\Z")


def classify(payload: str) -> Kind:
    text = payload.strip()
    if _PANIC_URL.match(text):
        return "panic-url"
    if _PRINTABLE.match(payload) and any(p.search(payload) for p, _ in KERNEL_MARKS):
        return "kernel-log"
    return "foreign"


def describe_foreign(payload: str, limit: int = 120) -> str:
    """A short, printable quote of a foreign code's text for the error message."""
    shown = payload if len(payload) <= limit else payload[:limit] + "..."
    shown = shown.encode("unicode_escape", "backslashreplace").decode("ascii")
    if payload.startswith("WIFI:"):
        what = "a Wi-Fi network code"
    elif re.match(r"[a-z][a-z0-9+.-]*://", payload, re.I):
        what = "a link that is not a drm_panic URL"
    else:
        what = "a QR code that is not a kernel panic"
    return f"{what}: {shown!r}"
