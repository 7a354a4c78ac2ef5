"""Sending a notification: signed webhooks, e-mail over SMTP, and the retry schedule.

Webhooks POST the delivery's JSON with

- ``X-Kpanic-Event``: ``digest`` or the single event's kind;
- ``X-Kpanic-Delivery``: the outbox id, so a receiver can drop a redelivery it has seen;
- ``X-Kpanic-Timestamp``: seconds since the epoch when this attempt was signed;
- ``X-Kpanic-Signature-256``: ``sha256=`` + hex HMAC-SHA256, keyed with the endpoint's secret,
  over ``timestamp + "." + body`` (a receiver recomputes it with ``verify_signature`` and
  rejects old timestamps, which stops replays).

A delivery that fails (no connection, a timeout, a 5xx or 429 answer) is retried from the
durable outbox with exponential backoff and jitter (``next_attempt``); a 4xx other than
408/429 is final (the receiver said no and will say it again). Each attempt's status and the
first bytes of the answer are kept in the delivery log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from kpanic.triage.rules import Delivery

__all__ = [
    "AttemptResult",
    "body_of",
    "event_label",
    "MailSettings",
    "next_attempt",
    "send_mail",
    "send_webhook",
    "sign",
    "verify_signature",
]

MAX_ATTEMPTS = 12  # with the schedule below: about a day of retries
_BASE = 30.0  # seconds before the first retry
_CAP = 6 * 3600.0  # never wait more than six hours between attempts
_ANSWER_KEPT = 500  # bytes of the receiver's answer kept in the delivery log


@dataclass(frozen=True)
class AttemptResult:
    ok: bool
    final: bool  # no retry: it worked, or the receiver refused for good
    status: int | None
    answer: str  # the receiver's answer (start) or the error


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age: float = 300.0,
    now: float | None = None,
) -> bool:
    """What a receiver does: recompute, compare in constant time, refuse stale timestamps."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - ts) > max_age:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def next_attempt(attempts: int, *, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after ``attempts`` failed attempts (full jitter over an exponential
    backoff), or None when the delivery has used up its attempts."""
    if attempts >= MAX_ATTEMPTS:
        return None
    ceiling: float = min(_CAP, _BASE * 2.0 ** min(max(attempts - 1, 0), 32))
    jitter: float = (rng or random.Random()).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


def body_of(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def event_label(delivery: Delivery) -> str:
    return "digest" if delivery.is_digest else delivery.events[0].kind


def send_webhook(
    url: str,
    secret: str,
    body: bytes,
    event: str,
    delivery_id: int,
    *,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
    now: float | None = None,
) -> AttemptResult:
    """POST ``body`` (a delivery's JSON, see :func:`body_of`) signed with ``secret``."""
    ts = int(now if now is not None else time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "kpanic-webhook/1",
        "X-Kpanic-Event": event,
        "X-Kpanic-Delivery": str(delivery_id),
        "X-Kpanic-Timestamp": str(ts),
        "X-Kpanic-Signature-256": sign(secret, ts, body),
    }
    own = client is None
    c = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        resp = c.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return AttemptResult(False, False, None, f"{type(exc).__name__}: {exc}"[:_ANSWER_KEPT])
    finally:
        if own:
            c.close()
    ok = 200 <= resp.status_code < 300
    final = ok or (400 <= resp.status_code < 500 and resp.status_code not in (408, 429))
    return AttemptResult(ok, final, resp.status_code, resp.text[:_ANSWER_KEPT])


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "kpanic@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 20.0


def build_mail(settings: MailSettings, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or "kpanic")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


def send_mail(settings: MailSettings, to: str, subject: str, text: str) -> AttemptResult:
    msg = build_mail(settings, to, subject, text)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            if settings.starttls:
                smtp.starttls()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        return AttemptResult(False, True, None, f"recipient refused: {exc.recipients}"[:500])
    except (smtplib.SMTPException, OSError) as exc:
        return AttemptResult(False, False, None, f"{type(exc).__name__}: {exc}"[:_ANSWER_KEPT])
    if refused:
        return AttemptResult(False, True, None, f"refused: {refused}"[:_ANSWER_KEPT])
    return AttemptResult(True, True, 250, "accepted")


def due_at(
    attempts: int, now: dt.datetime, *, rng: random.Random | None = None
) -> dt.datetime | None:
    """When the next attempt is due, or None when no attempt is left."""
    wait = next_attempt(attempts, rng=rng)
    return None if wait is None else now + dt.timedelta(seconds=wait)
