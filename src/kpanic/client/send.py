"""Send reports to a kpanic server's JSON API and make sense of its answer.

- ``POST /api/v1/reports`` with ``{"log": ...}`` or ``{"url": ...}``, ``POST
  /api/v1/reports/photo`` (multipart) for photos; ``Authorization: Bearer`` when a token is
  configured; an ``Idempotency-Key`` header carrying the server's own dedup key of the text (a
  resend after a lost answer is the same content: the server stores it once).
- 200/201: the analysis is in the answer. 202: the server queued it; the status address (the
  answer's ``status_url`` or ``Location``) is polled with ``?wait=N`` until the analysis is
  there (or the wait is over: the report is the server's now, it is not sent again).
- 4xx (except 408 and 429): refused for good, with the server's reason; never retried.
- 408, 429, 5xx, connection errors, timeouts: retried later (the spool's backoff, at least the
  server's Retry-After).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin

from kpanic import __version__
from kpanic.client.spool import Entry

RETRYABLE_4XX: Final = (408, 425, 429)
POLL_WAIT_S: Final = 10
POLL_TOTAL_S: Final = 120.0
PENDING_STATES: Final = ("queued", "pending", "processing", "running", "accepted")


@dataclass(slots=True)
class Outcome:
    """What became of one send: ``stored`` (new), ``duplicate`` (already there), ``accepted``
    (202, analysis not there yet), ``rejected`` (4xx, final) or ``retry`` (try again later)."""

    status: str
    http_status: int | None = None
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None
    page: str | None = None
    group_page: str | None = None

    @property
    def final(self) -> bool:
        return self.status != "retry"


def _reason(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason_phrase or "").strip()[:500]
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(str(d.get("msg", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail if detail is not None else body)[:500]


def _retry_after(resp: Any) -> float | None:
    raw = resp.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _analysis(body: Any) -> dict[str, Any] | None:
    """The analysis in an answer (directly, or under ``result``/``report``), or None."""
    if not isinstance(body, dict):
        return None
    if body.get("report_id") is not None or body.get("report_url"):
        return body
    for key in ("result", "report"):
        inner = body.get(key)
        if isinstance(inner, dict) and (
            inner.get("report_id") is not None or inner.get("report_url")
        ):
            return inner
    return None


class Sender:
    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        client: Any = None,
        machine: str | None = None,
    ) -> None:
        import httpx

        self.server = server.rstrip("/") + "/"
        headers = {"user-agent": f"kpanic-client/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if machine:  # app-specific machine id (kpanic.client.machine): distinct-machine counts
            headers["x-kpanic-machine"] = machine
        self.http = client or httpx.Client(timeout=timeout, headers=headers)
        if client is not None:
            self.http.headers.update(headers)
        self._httpx = httpx

    def close(self) -> None:
        self.http.close()

    def url(self, path: str) -> str:
        return urljoin(self.server, path.lstrip("/"))

    def send(self, entry: Entry) -> Outcome:
        httpx = self._httpx
        headers = {"idempotency-key": entry.key}
        try:
            if entry.kind == "photo":
                resp = self.http.post(
                    self.url("api/v1/reports/photo"),
                    files={"photo": (entry.name.rsplit("/", 1)[-1] or "photo", entry.data())},
                    headers=headers,
                )
            else:
                field_name = "url" if entry.kind == "url" else "log"
                resp = self.http.post(
                    self.url("api/v1/reports"), json={field_name: entry.body}, headers=headers
                )
        except httpx.TimeoutException:
            return Outcome("retry", reason="the server did not answer in time")
        except httpx.HTTPError as exc:
            return Outcome("retry", reason=f"cannot reach {self.server}: {exc}")
        return self._answer(resp)

    def _answer(self, resp: Any) -> Outcome:
        code = resp.status_code
        if code in (200, 201):
            try:
                body = resp.json()
            except ValueError:
                return Outcome("retry", code, "the server's answer is not JSON")
            result = _analysis(body) or {}
            status = "stored" if result.get("is_new", code == 201) else "duplicate"
            return self._described(Outcome(status, code, result=result))
        if code == 202:
            return self._poll(resp)
        if 300 <= code < 400:  # a POST is not followed blindly (the body would be lost)
            where = resp.headers.get("location", "elsewhere")
            return Outcome(
                "rejected", code, f"the server redirects to {where}: give that as --server"
            )
        if 400 <= code < 500 and code not in RETRYABLE_4XX:
            return Outcome("rejected", code, _reason(resp))
        why = f"HTTP {code}: {_reason(resp)}"
        return Outcome("retry", code, why, retry_after=_retry_after(resp))

    def _poll(self, resp: Any) -> Outcome:
        """Follow a 202's status address until the analysis is there."""
        httpx = self._httpx
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        status_url = body.get("status_url") or resp.headers.get("location")
        accepted = Outcome("accepted", 202, result=body)
        if not status_url:
            return accepted
        target = self.url(status_url) if not status_url.startswith("http") else status_url
        accepted.page = target
        deadline = time.monotonic() + POLL_TOTAL_S
        while time.monotonic() < deadline:
            try:
                r = self.http.get(target, params={"wait": POLL_WAIT_S}, timeout=POLL_WAIT_S + 30)
            except httpx.HTTPError:
                return accepted  # the server has it; the status can be looked up later
            if r.status_code in (200, 201):
                try:
                    sbody = r.json()
                except ValueError:
                    return accepted
                result = _analysis(sbody)
                state = str(sbody.get("status", "")).lower() if isinstance(sbody, dict) else ""
                if state in ("failed", "error", "rejected"):
                    why = sbody.get("error") or sbody.get("detail") or state
                    code = sbody.get("error_status") or r.status_code
                    return Outcome("rejected", int(code), str(why))
                if result is not None:
                    st = "stored" if result.get("is_new", True) else "duplicate"
                    return self._described(Outcome(st, r.status_code, result=result))
                if state and state not in PENDING_STATES:
                    return accepted
            elif r.status_code == 202:
                pass
            elif 400 <= r.status_code < 500 and r.status_code != 404:
                return Outcome("rejected", r.status_code, _reason(r))
            else:
                return accepted
            time.sleep(0.2)
        return accepted

    def _described(self, out: Outcome) -> Outcome:
        rel = out.result.get("report_url")
        if isinstance(rel, str):
            out.page = self.url(rel) if not rel.startswith("http") else rel
        grel = out.result.get("group_url")
        if isinstance(grel, str):
            out.group_page = self.url(grel) if not grel.startswith("http") else grel
        return out
