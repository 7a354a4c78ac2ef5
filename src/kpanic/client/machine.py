"""A stable, privacy-preserving id of this machine for the server's "distinct machines" counts.

Never ``/etc/machine-id`` itself (machine-id(5): it "should be considered confidential, and
must not be exposed in untrusted environments"): an *app-specific* id derived from it the way
systemd's ``sd_id128_get_machine_app_specific()`` does, HMAC-SHA256 keyed with the machine id
over kpanic's application id, the first 128 bits made a version-4 UUID. Another program's
app-specific id of the same machine is unrelated to this one, and the server stores only
``HMAC(installation secret, id)`` of what it receives. ``machine_id = false`` in the client
config sends none.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Final

# kpanic's application id (a random UUID chosen once; changing it changes every machine's id).
APP_ID: Final = bytes.fromhex("6b70616e1c5a4e0e9d3f2a7be1c04d21")
_MACHINE_ID: Final = re.compile(r"[0-9a-f]{32}")


def read_machine_id(root: Path = Path("/")) -> bytes | None:
    """The 16 bytes of ``<root>/etc/machine-id``, or None when absent, unreadable or not an id
    (an empty file or "uninitialized" during first boot)."""
    try:
        text = (root / "etc" / "machine-id").read_text(encoding="ascii").strip().lower()
    except (OSError, UnicodeDecodeError):
        return None
    if not _MACHINE_ID.fullmatch(text) or text == "0" * 32:
        return None
    return bytes.fromhex(text)


def app_specific_id(machine_id: bytes, app_id: bytes = APP_ID) -> str:
    """sd_id128_get_machine_app_specific(): HMAC-SHA256(machine id, app id), first 16 bytes,
    with the UUID version (4) and variant (RFC 4122) bits set; 32 lowercase hex digits."""
    digest = bytearray(hmac.new(machine_id, app_id, hashlib.sha256).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x40
    digest[8] = (digest[8] & 0x3F) | 0x80
    return digest.hex()


def machine_token(root: Path = Path("/")) -> str | None:
    """What ``kpanic submit`` sends as ``X-Kpanic-Machine`` (None without a machine id)."""
    mid = read_machine_id(root)
    return app_specific_id(mid) if mid is not None else None
