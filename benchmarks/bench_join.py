"""What joining the pieces of a crash (kpanic.store.join) adds to each stored submission.

    .venv/bin/python benchmarks/bench_join.py                 # SQLite
    .venv/bin/python benchmarks/bench_join.py --postgres      # SQLite and PostgreSQL

Worst case for the lookup: every report carries one kernel release and arch and is received
within the join window, so each new report finds the full :data:`MAX_CANDIDATES` candidates
and the database runs its substring pre-filter on all of them. The database is first filled
with ``--stored`` real corpus crashes (relabelled to that release); then ``--new`` other
corpus crashes (none a piece of another) are stored, timed, with joining on and off: through
``store_many`` in batches of ``--batch`` (what the workers use) and one by one with
``store``. Prints the median cost per submission of each and the difference.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from kpanic.settings import get_settings  # noqa: E402
from kpanic.store import join  # noqa: E402
from kpanic.store.db import upgrade  # noqa: E402
from kpanic.store.ingest import PreparedReport, prepare_log  # noqa: E402
from kpanic.store.repository import Pending, Repository  # noqa: E402

KERNEL = "6.17.0-bench"
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def corpus(limit: int) -> list[PreparedReport]:
    from tests.store.conftest import corpus_logs

    out: list[PreparedReport] = []
    seen: set[str] = set()
    for c in corpus_logs():
        try:
            p = prepare_log(c.log, scrub=True)
        except Exception:
            continue
        if p.content_hash in seen:
            continue
        seen.add(p.content_hash)
        out.append(dataclasses.replace(p, kernel=KERNEL, arch="x86_64"))
        if len(out) == limit:
            break
    return out


def fresh_pg() -> str:
    import uuid

    import psycopg

    name = f"kpanic_bench_join_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_pg(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True
    ) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(
    url: str,
    stored: list[PreparedReport],
    new: list[PreparedReport],
    *,
    joining: bool,
    batch: int,
) -> list[float]:
    """Milliseconds per submission for each batch (``batch`` 0: each single store)."""
    upgrade(url)
    settings = get_settings(url) if joining else get_settings(url, join_window_hours=0)
    repo = Repository(url, settings=settings)
    try:
        prefill = [Pending(p, None, T0 + dt.timedelta(seconds=i)) for i, p in enumerate(stored)]
        repo.store_many(prefill)
        when = T0 + dt.timedelta(hours=1)
        out: list[float] = []
        if batch:
            for start in range(0, len(new), batch):
                chunk = new[start : start + batch]
                t = time.perf_counter()
                results = repo.store_many([Pending(p, None, when) for p in chunk])
                out.append((time.perf_counter() - t) / len(chunk) * 1000)
                assert all(r.is_new and r.joined is None for r in results)
        else:
            for p in new:
                t = time.perf_counter()
                r = repo.store(p, received_at=when)
                out.append((time.perf_counter() - t) * 1000)
                assert r.is_new and r.joined is None
        return out
    finally:
        repo.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stored", type=int, default=300)
    ap.add_argument("--new", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    reports = corpus(args.stored + args.new)
    stored, new = reports[: args.stored], reports[args.stored :]
    print(
        f"{len(stored)} stored + {len(new)} new corpus crashes, all on {KERNEL} "
        f"(prepared in {time.perf_counter() - t:.1f} s); candidates per report: "
        f"{join.MAX_CANDIDATES}"
    )
    targets = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for target in targets:
        for batch in (args.batch, 0):
            ms = {}
            for joining in (False, True):
                if target == "sqlite":
                    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
                else:
                    url = fresh_pg()
                try:
                    ms[joining] = statistics.median(
                        run(url, stored, new, joining=joining, batch=batch)
                    )
                finally:
                    if target == "postgresql":
                        drop_pg(url)
            what = f"store_many x{batch}" if batch else "store"
            print(
                f"{target:10} {what:15} per submission: joining off {ms[False]:6.2f} ms, "
                f"on {ms[True]:6.2f} ms, added {ms[True] - ms[False]:+6.2f} ms"
            )


if __name__ == "__main__":
    main()
