"""Per-process group commit for intake.

Requests hand their prepared report to one writer task per event loop and wait on a future.
The writer takes everything pending (up to :data:`kpanic.store.batch.MAX_BATCH`), stores it in
one transaction in a worker thread, and resolves each future only after the commit, so an
acknowledged report is durable. While one batch commits the next one fills up: under load the
cost of a commit is shared by many reports, idle a single report is written at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import anyio

from kpanic.store.batch import MAX_BATCH, Pending
from kpanic.store.views import IngestResult

log = logging.getLogger("kpanic.web.writer")


@dataclass
class _Job:
    item: Pending
    future: asyncio.Future[IngestResult]


@dataclass
class GroupWriter:
    """One writer task and its queue, bound to the event loop it was made in."""

    repo: Any
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[_Job] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    async def submit(self, item: Pending) -> IngestResult:
        """Queue one report; return its result once the batch holding it has committed."""
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())
        future: asyncio.Future[IngestResult] = self.loop.create_future()
        await self.queue.put(_Job(item, future))
        return await asyncio.shield(future)  # a cancelled request still gets stored

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            while len(jobs) < MAX_BATCH and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
            await self._write(jobs)

    async def _write(self, jobs: list[_Job]) -> None:
        try:
            results = await anyio.to_thread.run_sync(self.repo.store_many, [j.item for j in jobs])
        except Exception as exc:
            if len(jobs) == 1:
                log.exception("storing a report failed")
                if not jobs[0].future.done():
                    jobs[0].future.set_exception(exc)
                return
            log.warning("group commit of %d reports failed; storing one by one", len(jobs))
            for job in jobs:  # one bad report must not fail the others
                await self._write([job])
            return
        for job, result in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)


def writer_for(state: Any, repo: Any) -> GroupWriter:
    """The app's writer for the running event loop (made on first use, per loop: tests run
    several loops one after another)."""
    loop = asyncio.get_running_loop()
    writer: GroupWriter | None = getattr(state, "group_writer", None)
    if writer is None or writer.loop is not loop or writer.repo is not repo:
        writer = GroupWriter(repo, loop)
        state.group_writer = writer
    return writer
