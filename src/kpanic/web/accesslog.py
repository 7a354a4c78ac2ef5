"""The access log without crash data or client addresses.

uvicorn logs ``client - "METHOD /path?query HTTP/1.1" status``. A panic URL's query (``z=``,
``zl=``) is the compressed kernel log itself, unscrubbed, and ``d=`` names the distribution;
the client address is a personal datum. :class:`RedactFilter` rewrites each access record: the
query's values are kept only for parameters known to carry nothing personal, every other value
becomes ``REDACTED``, and the address is dropped unless configured (KPANIC_ACCESS_LOG_CLIENT=1).
"""

from __future__ import annotations

import copy
import logging
from typing import Any
from urllib.parse import parse_qsl, quote

# Query parameters whose values the log may keep (filters, paging, sorting: no crash data).
SAFE_PARAMS = frozenset(
    {
        "page",
        "per_page",
        "sort",
        "order",
        "bucket",
        "submitted",
        "group_id",
        "bug_class",
        "rust_prevents",
        "language",
        "arch",
    }
)


def redact_target(target: str) -> str:
    """``/path?query`` with every value not in :data:`SAFE_PARAMS` replaced by REDACTED."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True)[:50]:
        shown = quote(value[:64]) if name in SAFE_PARAMS else "REDACTED"
        parts.append(f"{quote(name[:32])}={shown}")
    return path + "?" + "&".join(parts)


class RedactFilter(logging.Filter):
    """A filter for the ``uvicorn.access`` handler (see :func:`log_config`)."""

    def __init__(self, name: str = "", keep_client: bool = False) -> None:
        super().__init__(name)
        self.keep_client = keep_client

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, target, version, status = args
            record.args = (
                client if self.keep_client else "-",
                method,
                redact_target(str(target)),
                version,
                status,
            )
        return True


def log_config(keep_client: bool) -> dict[str, Any]:
    """uvicorn's logging configuration with :class:`RedactFilter` on the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {
        "()": "kpanic.web.accesslog.RedactFilter",
        "keep_client": keep_client,
    }
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
