"""The HTTP server's own limits, as a uvicorn protocol: header size and count (431), header
read time (408, slowloris), open connections per client and in total (503).

uvicorn's h11 protocol offers a buffer cap (``h11_max_incomplete_event_size``, answered 400),
``limit_concurrency`` (503 per request, the connection stays open) and ``timeout_keep_alive``
(idle time between requests only: any byte re-arms nothing, so a client sending one header byte
every few seconds holds its connection for ever). This subclass adds what those leave open and
answers with the right status; ``kpanic serve`` selects it (``http=`` option). The limits are
:class:`kpanic.web.config.ServerLimits`, read from the environment once per server process.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from kpanic.web.config import ServerLimits
from kpanic.web.middleware import SECURITY_HEADERS

LIMITS = ServerLimits.from_env()
_PER_CLIENT: Counter[str] = Counter()  # open connections per client address, this process


def _answer(status: int, reason: str, message: str) -> bytes:
    body = (message + "\n").encode()
    head = [
        f"HTTP/1.1 {status} {reason}".encode(),
        b"content-type: text/plain; charset=utf-8",
        b"content-length: " + str(len(body)).encode(),
        b"connection: close",
        *(name + b": " + value for name, value in SECURITY_HEADERS),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the limits of :data:`LIMITS` (see the module docstring)."""

    limits: ServerLimits = LIMITS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = bytearray()  # the request head received so far (while reading one)
        self._head_timer: asyncio.TimerHandle | None = None
        self._counted: str | None = None
        self._refused = False

    # -- connections
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else "unknown"
        _PER_CLIENT[host] += 1
        self._counted = host
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "Service Unavailable", "too many open connections; retry shortly")
        elif _PER_CLIENT[host] > self.limits.max_connections_per_client:
            self._refuse(
                503,
                "Service Unavailable",
                f"too many open connections from your address "
                f"(at most {self.limits.max_connections_per_client})",
            )
        else:
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted is not None:
            _PER_CLIENT[self._counted] -= 1
            if _PER_CLIENT[self._counted] <= 0:
                del _PER_CLIENT[self._counted]
            self._counted = None
        self._disarm_head_timer()
        super().connection_lost(exc)

    # -- request heads
    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.conn.their_state is h11.IDLE and not self._check_head(data):
            return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._head.clear()
            self._disarm_head_timer()

    def _check_head(self, data: bytes) -> bool:
        """Track the request head; answer 431 once it is over a limit. False: refused."""
        start = max(0, len(self._head) - 3)
        self._head += data
        end = self._head.find(b"\r\n\r\n", start)
        if end < 0:
            end = self._head.find(b"\n\n", start)
        head = self._head if end < 0 else self._head[:end]
        if len(head) > self.limits.max_header_bytes:
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"the request headers are over {self.limits.max_header_bytes} bytes",
            )
            return False
        if head.count(b"\n") > self.limits.max_headers:  # request line + fields
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"the request has more than {self.limits.max_headers} header fields",
            )
            return False
        if end >= 0:
            self._head.clear()
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head is timed as well

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timeout)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is not h11.IDLE or self.transport.is_closing():
            return
        if not self._head:  # an idle keep-alive connection: close it quietly
            self.transport.close()
            return
        self._refuse(
            408,
            "Request Timeout",
            f"the request headers did not arrive within {self.limits.header_timeout_s:g} s",
        )

    def _refuse(self, status: int, reason: str, message: str) -> None:
        self._refused = True
        self._disarm_head_timer()
        self.logger.warning("refused a connection: %s %s", status, message)
        if not self.transport.is_closing():
            self.transport.write(_answer(status, reason, message))
            self.transport.close()
