"""The dispatcher loop: every interval, give new groups their owners (so subsystem rules can
match them), then :func:`kpanic.store.notify.dispatch`. Run by ``kpanic notify run`` or, with
``KPANIC_NOTIFY_IN_SERVICE=1``, by a thread of each service process (safe with several: the
planner and the sender skip what another dispatcher holds)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kpanic.store.db import read_session
from kpanic.store.notify import DispatchResult, dispatch
from kpanic.store.triage import assign_owners, groups_needing_owners
from kpanic.triage.maintainers import Maintainers
from kpanic.triage.settings import TriageSettings

if TYPE_CHECKING:
    from kpanic.store.repository import Repository

__all__ = ["Round", "Notifier", "one_round", "run_loop"]

log = logging.getLogger("kpanic.notify")


@dataclass(frozen=True)
class Round:
    started: dt.datetime
    result: DispatchResult
    owned: int

    def line(self) -> str:
        r = self.result
        text = (
            f"{self.started:%Y-%m-%dT%H:%M:%SZ} planned {r.planned}, sent {r.sent}, "
            f"retrying {r.retrying}, failed {r.failed}"
        )
        return text + (f", owners for {self.owned} groups" if self.owned else "")


def one_round(
    repo: Repository,
    settings: TriageSettings,
    maintainers: Maintainers | None,
    since: dt.datetime | None,
) -> Round:
    started = dt.datetime.now(dt.UTC)
    owned = 0
    if maintainers is not None:
        with read_session(repo.engine) as s:
            ids = groups_needing_owners(s, since)
        if ids:
            owned = assign_owners(repo, maintainers, ids)
    result = dispatch(repo.engine, base_url=settings.base_url, mail=settings.mail)
    return Round(started, result, owned)


def run_loop(
    repo: Repository,
    settings: TriageSettings,
    stop: threading.Event,
    *,
    interval: float,
    once: bool = False,
    maintainers: Maintainers | None = None,
    report: Callable[[Round], None] = lambda r: None,
) -> None:
    """Rounds every ``interval`` seconds until ``stop`` is set (or one round with ``once``)."""
    since: dt.datetime | None = None
    while True:
        rnd = one_round(repo, settings, maintainers, since)
        since = rnd.started
        report(rnd)
        if once or stop.wait(interval):
            return


class Notifier:
    """The dispatcher as a daemon thread of a service process; errors are logged and the
    next round retries (a database outage must not end notifications for good)."""

    def __init__(self, repo: Repository, settings: TriageSettings | None = None) -> None:
        self.repo = repo
        self.settings = settings or TriageSettings.from_env()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="kpanic-notify", daemon=True)

    def start(self) -> Notifier:
        self.thread.start()
        return self

    def _run(self) -> None:
        since: dt.datetime | None = None
        while not self.stop_event.is_set():
            try:
                maintainers = self.settings.maintainers()
                rnd = one_round(self.repo, self.settings, maintainers, since)
                since = rnd.started
                if rnd.result.planned or rnd.result.sent or rnd.result.failed:
                    log.info("notify: %s", rnd.line())
            except Exception:
                log.exception("notification round failed; retrying next interval")
            self.stop_event.wait(self.settings.notify_interval)

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
