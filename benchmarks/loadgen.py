"""Open-loop load at a fixed rate (the wrk2 way), for "sustains N requests/s with p99 < X".

A closed-loop generator (wrk, a fixed number of connections each sending its next request when
the previous answer arrives) slows down with the server it measures, so its latencies hide the
queueing a real flood of clients would see (coordinated omission). Here request ``i`` is due at
``start + i / rate`` whatever happened before; its latency runs from that due time to the last
byte of the answer, so time spent waiting for a free connection counts too. Requests go over
a pool of HTTP/1.1 keep-alive connections (plain asyncio streams: cheap enough that the
generator costs a few percent of a core at hundreds of requests per second).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class OpenLoopResult:
    offered_rate: float
    sent: int
    ok: int
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.elapsed if self.elapsed else 0.0


def _request(host: str, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def open_loop(
    url: str,
    path: str,
    bodies: list[bytes],
    rate: float,
    duration: float,
    connections: int = 64,
    timeout: float = 30.0,
) -> OpenLoopResult:
    """POST ``bodies[i]`` at ``start + i / rate`` for ``duration`` seconds (or until the bodies
    run out) over at most ``connections`` keep-alive connections."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    count = min(len(bodies), int(rate * duration))
    result = OpenLoopResult(offered_rate=rate, sent=count, ok=0)
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection(host, port))

    async def one(index: int, due: float) -> None:
        reader, writer = await idle.get()
        try:
            status = await asyncio.wait_for(
                _exchange(reader, writer, _request(host, path, bodies[index])), timeout
            )
        except Exception as exc:  # count it and replace the connection
            key = type(exc).__name__
            result.errors[key] = result.errors.get(key, 0) + 1
            writer.close()
            idle.put_nowait(await asyncio.open_connection(host, port))
            return
        result.latencies_ms.append((time.perf_counter() - due) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            result.ok += 1
        idle.put_nowait((reader, writer))

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    while not idle.empty():
        idle.get_nowait()[1].close()
    return result
