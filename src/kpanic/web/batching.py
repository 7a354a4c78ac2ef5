"""Per-process coalescing of database work from concurrent requests.

Requests hand one item to a :class:`Coalescer` and wait on a future. One task per event loop
takes everything pending (up to ``max_batch``), runs the batch function once in a worker thread
and resolves each future with its own result. Idle, a single item goes at once; under load the
cost of a round trip, a transaction and a thread hop is shared by the whole batch.

Intake (:mod:`kpanic.web.intake`) uses three:

- the queue writer (``kpanic.store.queue.enqueue_many``, group commit): futures resolve only
  after the commit, so an acknowledged submission is durable; while one batch commits the next
  one fills up;
- the repeat lookup (``queue.done_by_raw_hash``): one indexed query for the input hashes of
  all the submissions that arrived meanwhile;
- the state lookup (``queue.states``): requests waiting for their analysis poll together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio

log = logging.getLogger("kpanic.web.batching")

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Job(Generic[T, R]):
    item: T
    future: asyncio.Future[R]


@dataclass
class Coalescer(Generic[T, R]):
    """Batches ``fn(items) -> results`` (same length and order) for one event loop.

    ``split_on_error``: when a batch fails, run its items one by one so one bad item does not
    fail the others (the writer); else the error goes to every waiting request (the lookup).
    """

    fn: Callable[[Sequence[T]], Sequence[R]]
    loop: asyncio.AbstractEventLoop
    max_batch: int
    split_on_error: bool = False
    queue: asyncio.Queue[_Job[T, R]] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    key: object = None

    async def submit(self, item: T) -> R:
        """Queue one item; return its result once the batch holding it has run."""
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())
        future: asyncio.Future[R] = self.loop.create_future()
        await self.queue.put(_Job(item, future))
        return await asyncio.shield(future)  # a cancelled request's item still gets done

    async def _run(self) -> None:
        while True:
            jobs = [await self.queue.get()]
            while len(jobs) < self.max_batch and not self.queue.empty():
                jobs.append(self.queue.get_nowait())
            await self._do(jobs)

    async def _do(self, jobs: list[_Job[T, R]]) -> None:
        try:
            results = await anyio.to_thread.run_sync(self.fn, [j.item for j in jobs])
        except Exception as exc:
            if len(jobs) == 1 or not self.split_on_error:
                if len(jobs) == 1:
                    log.exception("a batch of one failed")
                for job in jobs:
                    if not job.future.done():
                        job.future.set_exception(exc)
                return
            log.warning("a batch of %d failed; running its items one by one", len(jobs))
            for job in jobs:  # one bad item must not fail the others
                await self._do([job])
            return
        for job, result in zip(jobs, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)


def coalescer_for(
    state: Any,
    name: str,
    fn: Callable[[Sequence[Any]], Sequence[Any]],
    max_batch: int,
    *,
    split_on_error: bool = False,
    key: object = None,
) -> Coalescer[Any, Any]:
    """The app's coalescer ``name`` for the running event loop (made on first use, per loop:
    tests run several loops one after another). ``key`` identifies the function when ``fn``
    is made anew on each call (a ``functools.partial``)."""
    loop = asyncio.get_running_loop()
    current: Coalescer[Any, Any] | None = getattr(state, name, None)
    same_fn = (
        (current.key == key) if key is not None and current else (current and current.fn == fn)
    )
    if current is None or current.loop is not loop or not same_fn:
        current = Coalescer(fn, loop, max_batch, split_on_error)
        current.key = key
        setattr(state, name, current)
    return current
