"""Crash report service speed: sustained intake of panic URLs, and dashboard page render times.

    .venv/bin/python benchmarks/bench_intake.py                    # intake on SQLite
    .venv/bin/python benchmarks/bench_intake.py --postgres         # + PostgreSQL, 1 and 2 workers
    .venv/bin/python benchmarks/bench_intake.py --postgres --sqlite-workers2   # + SQLite, 2
    .venv/bin/python benchmarks/bench_intake.py --pages-db sqlite:////tmp/k.db   # page timings
    .venv/bin/python benchmarks/bench_intake.py --fill 1000000     # fill (bench_store) + pages
    .venv/bin/python benchmarks/bench_intake.py --no-intake --fill 1000000 --fill-postgres

Intake: ``uvicorn kpanic.web.asgi`` runs as a subprocess on 127.0.0.1 (fresh database, flood
control off) and a load generator on loopback POSTs panic URLs to ``/api/v1/reports`` with
bounded concurrency, request count and duration: ``wrk`` when installed (``apt install wrk``;
a Lua script cycles through the pre-built bodies), else an asyncio httpx client, which itself
eats most of a core at a few hundred requests/s. Two mixes:

- ``new``: every URL carries a different kernel log (each is decoded, scrubbed, parsed,
  classified, grouped and committed before the answer);
- ``repeat``: URLs of crashes already stored (the duplicate fast path: decode + one lookup),
  what a service sees when the same panic is scanned and submitted again and again;
- ``open loop``: new crashes offered at a fixed ``--rate`` (default 300/s) by
  benchmarks/loadgen.py, latency counted from each request's due time (``--rate 0`` skips it).

Pages: the groups list, the largest group's page and the statistics page are requested through
the app (in process, so the figure is server time without network), median and worst of
several runs after a warm-up. ``--fill N`` builds the database with benchmarks/bench_store.py's
generator (Zipf group sizes over a year, aggregates as ingest maintains them).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

DEMO = ROOT / "src" / "kpanic" / "web" / "demo_data"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DB = "kpanic_test_web_bench"


def make_urls(count: int, base: str, start: int = 0) -> list[str]:
    """``count`` distinct panic URLs (z= digits of deflated demo logs with a unique line)."""
    from kpanic.qr.digits import fido2_digits
    from kpanic.qr.kmsg import deflate

    logs = [p.read_text() for p in sorted(DEMO.glob("syzkaller-*.txt"))]
    logs = [log for log in logs if len(deflate(log.encode())) < 2600]
    urls = []
    for i in range(start, start + count):
        log = logs[i % len(logs)]
        text = f"[    0.000000] bench-{i}\n{log}".encode()
        urls.append(f"{base}?a=x86_64&v=6.15.{i % 7}-bench&z={fido2_digits(deflate(text))}")
    return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    db_url: str, workers: int, log_path: Path, text_workers: int = 1
) -> tuple[subprocess.Popen, str]:
    """``kpanic serve``: ``workers`` web processes plus its analysis workers (text, photo)."""
    port = free_port()
    env = {**os.environ, "KPANIC_DATABASE_URL": db_url, "KPANIC_RATE_LIMIT": "0"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kpanic.cli", "serve", "--db", db_url, "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers), "--text-workers",
             str(text_workers), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited:\n" + log_path.read_text())
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start:\n" + log_path.read_text())


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def load(url: str, bodies: list[str], concurrency: int, duration: float) -> dict:
    """POST every body (or stop at ``duration`` s) with ``concurrency`` requests in flight."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    queue = iter(bodies)
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for body in queue:
                if time.perf_counter() > deadline:
                    return
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/v1/reports", json={"url": body})
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    n = len(latencies)
    return {
        "n": n,
        "ok": statuses.get(201, 0) + statuses.get(200, 0) + statuses.get(202, 0),
        "statuses": statuses,
        "errors": errors,
        "rate": n / elapsed if elapsed else 0.0,
        "p50": latencies[n // 2] * 1000 if n else 0.0,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "max": latencies[-1] * 1000 if n else 0.0,
    }


WRK_LUA = """
local bodies = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  i = i + 1
  if i > #bodies then i = 1 end
  return wrk.format("POST", "/api/v1/reports", {["Content-Type"] = "application/json"},
                    bodies[i])
end
"""


def load_wrk(url: str, bodies: list[str], concurrency: int, duration: float, tmp: Path) -> dict:
    """The same load driven by wrk (C, one thread): the load generator costs far less CPU than
    Python's, which matters when client and server share two cores."""
    import json

    body_file = tmp / "bodies.jsonl"
    body_file.write_text("".join(json.dumps({"url": b}) + "\n" for b in bodies))
    script = tmp / "bodies.lua"
    script.write_text(WRK_LUA)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, int(duration))}s", "--latency",
         "--timeout", "30s", "-s", str(script), url + "/api/v1/reports", "--", str(body_file)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(label: str, pattern: str | None = None) -> float:
        m = re.search(pattern or rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "n": n,
        "ok": n - (int(bad.group(1)) if bad else 0),
        "statuses": {},
        "errors": {"socket": errors.group(1)} if errors else {},
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": ms("50"),
        "p99": ms("99"),
        "max": ms("max", r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)"),
    }


def run_open_loop(url: str, urls: list[str], args: argparse.Namespace) -> dict:
    """New crashes offered at a fixed rate (benchmarks/loadgen.py), latency from due time."""
    import json

    from loadgen import open_loop

    bodies = [json.dumps({"url": u}).encode() for u in urls]
    r = asyncio.run(open_loop(url, "/api/v1/reports", bodies, args.rate, args.duration))
    return {
        "n": len(r.latencies_ms),
        "ok": r.ok,
        "statuses": r.statuses,
        "errors": r.errors,
        "rate": r.rate,
        "p50": r.percentile(0.50),
        "p99": r.percentile(0.99),
        "max": max(r.latencies_ms, default=float("nan")),
    }


def analysis(db_url: str, since_id: int, timeout: float = 120.0, kind: str | None = None) -> dict:
    """Wait until every submission after ``since_id`` is finished, then: how many, processed
    per second (first accepted to last finished) and time from acknowledgement to analysed
    (p50/p99/max, from the queue rows' created_at/finished_at)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        deadline = time.monotonic() + timeout
        with engine.connect() as conn:
            while time.monotonic() < deadline:
                waiting = conn.execute(
                    text("SELECT count(*) FROM submissions WHERE id > :i AND status IN "
                         "('queued', 'running')" + (" AND kind = :k" if kind else "")),
                    {"i": since_id, "k": kind},
                ).scalar()  # fmt: skip
                conn.commit()
                if not waiting:
                    break
                time.sleep(0.2)
            rows = conn.execute(
                text("SELECT created_at, finished_at, status, kind FROM submissions WHERE id > :i"),
                {"i": since_id},
            ).all()
            rows = [r for r in rows if kind is None or r[3] == kind]
            last = conn.execute(text("SELECT max(id) FROM submissions")).scalar() or 0
    finally:
        engine.dispose()

    def ts(value: object) -> float:
        import datetime as dt

        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()

    done = [(ts(c), ts(f)) for c, f, st, _ in rows if f is not None and st == "done"]
    if not done:
        return {"n": 0, "last_id": last}
    lat = sorted((f - c) * 1000 for c, f in done)
    span = max(f for _, f in done) - min(c for c, _ in done)
    return {
        "n": len(done),
        "unfinished": len(rows) - len(done),
        "processed_per_s": len(done) / span if span > 0 else float("nan"),
        "t2a_p50": lat[len(lat) // 2],
        "t2a_p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))],
        "t2a_max": lat[-1],
        "last_id": last,
    }


def last_submission(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT coalesce(max(id), 0) FROM submissions")).scalar())
    finally:
        engine.dispose()


def make_photos(count: int, width: int, height: int) -> list[bytes]:
    """``count`` distinct photos-sized PNG screens of panic QR codes (12 MP by default)."""
    from kpanic.qr.kmsg import build_url, url_mode
    from kpanic.qr.render import render_screen_png

    logs = [p.read_text() for p in sorted(DEMO.glob("syzkaller-*.txt"))][:count]
    out = []
    for i, log in enumerate(logs):
        code = url_mode(
            f"[    0.000000] photo-{i}\n{log}"[:1800],
            build_url("https://h/r", arch="x86_64", kernel="6.15"),
        ).code
        out.append(bytes(render_screen_png(code, width=width, height=height)))
    return out


def photo_flood(url: str, db: str, args: argparse.Namespace) -> dict:
    """``--photo-flood N`` photos posted concurrently in a loop while URLs of new crashes are
    offered at ``--flood-rate``/s: the URLs' acknowledgement and time to analysed."""
    import json
    import threading

    from loadgen import open_loop

    photos = make_photos(args.photo_flood, 4000, 3000)
    stop = threading.Event()
    sent = [0]

    def flood(photo: bytes) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while not stop.is_set():
                http.post("/api/v1/reports/photo", files={"photo": ("p.png", photo, "image/png")})
                sent[0] += 1

    threads = [threading.Thread(target=flood, args=(p,), daemon=True) for p in photos]
    for t in threads:
        t.start()
    time.sleep(1.0)
    since = last_submission(db)
    urls = make_urls(int(args.flood_rate * args.duration), url + "/report", start=30_000_000)
    bodies = [json.dumps({"url": u}).encode() for u in urls]
    r = asyncio.run(open_loop(url, "/api/v1/reports", bodies, args.flood_rate, args.duration))
    stop.set()
    for t in threads:
        t.join(70)
    res = {
        "n": len(r.latencies_ms), "ok": r.ok, "statuses": r.statuses, "errors": r.errors,
        "rate": r.rate, "p50": r.percentile(0.50), "p99": r.percentile(0.99),
        "max": max(r.latencies_ms, default=float("nan")), "photos_sent": sent[0],
    }  # fmt: skip
    return res | {"analysis": analysis(db, since, timeout=60, kind="url")}


def fresh_postgres(name: str = PG_DB) -> str:
    import psycopg

    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres",
                         autocommit=True) as conn:  # fmt: skip
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def bench_intake(args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    print(f"load generator: {'wrk' if use_wrk else 'httpx (asyncio)'}", file=sys.stderr)
    setups = [("SQLite", 1), ("SQLite", 2)] if args.sqlite_workers2 else [("SQLite", 1)]
    if args.postgres:
        setups += [("PostgreSQL", 1), ("PostgreSQL", 2)]
    rows = []
    for backend, workers in setups:
        with tempfile.TemporaryDirectory() as tmp:
            db = fresh_postgres() if backend == "PostgreSQL" else f"sqlite:///{tmp}/bench.db"
            from kpanic.store.db import upgrade

            upgrade(db)
            proc, url = start_server(
                db, workers, Path(tmp) / "server.log", text_workers=args.text_workers
            )
            try:
                base = url + "/report"
                warm = make_urls(40, base, start=10_000_000)
                asyncio.run(load(url, warm, 8, 60))
                asyncio.run(load(url, warm, 8, 60))  # again: warms the repeat path
                # wrk runs for the whole duration: give it more distinct crashes than it can
                # send, so that the "new" mix never wraps around to already-stored ones
                count = args.requests
                if use_wrk:
                    count = max(count, int(args.duration * 700))
                new = make_urls(count, base)
                setup = f"{backend}, {workers} web process(es)"
                analysis(db, 0)  # the warm-up analysed
                since = last_submission(db)
                if use_wrk:
                    res = load_wrk(url, new, args.concurrency, args.duration, Path(tmp))
                else:
                    res = asyncio.run(load(url, new, args.concurrency, args.duration))
                res["analysis"] = analysis(db, since)
                if res["n"] > len(new):
                    print(
                        f"warning: {setup}: {res['n']} requests for {len(new)} distinct crashes",
                        file=sys.stderr,
                    )
                rows.append((setup, "new crashes", res))
                stored = new[: min(len(new), res["n"])]
                if use_wrk:
                    res = load_wrk(url, stored, args.concurrency, args.duration, Path(tmp))
                else:
                    repeat = (stored * (args.requests // max(1, len(stored)) + 1))[: args.requests]
                    res = asyncio.run(load(url, repeat, args.concurrency, args.duration))
                rows.append((setup, "repeat crashes", res))
                if args.rate > 0:
                    fresh = make_urls(int(args.rate * args.duration), base, start=20_000_000)
                    since = last_submission(db)
                    res = run_open_loop(url, fresh, args)
                    res["analysis"] = analysis(db, since)
                    rows.append((setup, f"open loop {args.rate:g}/s", res))
                if args.photo_flood:
                    res = photo_flood(url, db, args)
                    rows.append((setup, f"URLs {args.flood_rate:g}/s + photos", res))
            finally:
                stop_server(proc)
    return rows


def load_bench_store():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "bench_store", ROOT / "benchmarks" / "bench_store.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def bench_pages(db_url: str, runs: int) -> list[tuple[str, float, float]]:
    from fastapi.testclient import TestClient

    from kpanic.settings import get_settings
    from kpanic.web.app import create_app
    from kpanic.web.config import WebConfig

    app = create_app(get_settings(db_url), WebConfig(), migrate=False)
    with TestClient(app) as client:
        top = client.get("/api/v1/groups", params={"sort": "count", "per_page": 1}).json()
        biggest = top["items"][0]["id"]
        kernels = client.get("/api/v1/facets/kernel").json()
        kernel = kernels[0]["value"] if kernels else "6.1.0"
        pages = [
            ("groups list (/groups)", "/groups"),
            ("groups list sorted by count", "/groups?sort=count"),
            ("groups list filtered (class + search)", "/groups?bug_class=use-after-free&q=read"),
            (
                f"largest group page (/groups/{biggest}, {top['items'][0]['report_count']:,})",
                f"/groups/{biggest}",
            ),
            ("statistics (/stats)", "/stats"),
            ("statistics filtered (language=rust)", "/stats?language=rust"),
            ("statistics filtered (kernel release)", f"/stats?kernel={kernel}"),
            ("statistics filtered (class + arch)", "/stats?bug_class=use-after-free&arch=arm64"),
            ("reports list (/reports)", "/reports"),
        ]
        rows = []
        for name, path in pages:
            assert client.get(path).status_code == 200, path
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                r = client.get(path, headers={"accept": "text/html"})
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
            rows.append((name, statistics.median(times), max(times)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000, help="per mix (bounded)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per mix at most")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="open-loop mix: new crashes offered at this fixed rate (0: skip)",
    )
    ap.add_argument(
        "--generator",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    ap.add_argument("--postgres", action="store_true", help="also PostgreSQL, 1 and 2 workers")
    ap.add_argument("--no-intake", action="store_true")
    ap.add_argument("--sqlite-workers2", action="store_true", help="also SQLite with 2 workers")
    ap.add_argument("--pages-db", help="time the pages on this (filled) database")
    ap.add_argument("--fill", type=int, help="fill a temporary SQLite DB with N reports first")
    ap.add_argument(
        "--fill-postgres",
        action="store_true",
        help="with --fill: fill a PostgreSQL database instead (kept for reuse)",
    )
    ap.add_argument("--groups", type=int, default=20_000, help="groups for --fill")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--text-workers", type=int, default=1, help="kpanic serve --text-workers")
    ap.add_argument(
        "--photo-flood",
        type=int,
        default=0,
        help="also: this many concurrent 12 MP photo posters (the issue: 20) during URLs",
    )
    ap.add_argument("--flood-rate", type=float, default=50.0, help="URLs/s during the flood")
    args = ap.parse_args()

    if not args.no_intake:
        rows = bench_intake(args)
        print(
            f"{'intake (POST /api/v1/reports, panic URLs)':<44}{'mix':<16}{'requests':>9}"
            f"{'ok':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        )
        for setup, mix, r in rows:
            print(
                f"{setup:<44}{mix:<16}{r['n']:>9}{r['ok']:>7}{r['rate']:>9.0f}"
                f"{r['p50']:>9.1f}{r['p99']:>9.1f}{r.get('max', float('nan')):>9.1f}"
            )
        print("\n(ack = the answer: 202 accepted, 200 repeat; analysed = worker finished it)")
        print(
            f"{'analysis after the mix':<60}{'analysed':>9}{'left':>6}{'done/s':>8}"
            f"{'t2a p50':>9}{'t2a p99':>9}{'t2a max':>9}"
        )
        for setup, mix, r in rows:
            a = r.get("analysis")
            if not a or not a.get("n"):
                continue
            print(
                f"{setup + ', ' + mix:<60}{a['n']:>9}{a['unfinished']:>6}"
                f"{a['processed_per_s']:>8.0f}{a['t2a_p50']:>9.0f}{a['t2a_p99']:>9.0f}"
                f"{a['t2a_max']:>9.0f}"
            )
        print(
            f"(concurrency {args.concurrency}, at most {args.requests} requests or "
            f"{args.duration:g} s per mix, loopback, {os.cpu_count()} cores)"
        )

    db = args.pages_db
    tmp = None
    if args.fill:
        bs = load_bench_store()
        if args.fill_postgres:
            db = fresh_postgres(PG_DB + "_pages")
        else:
            tmp = tempfile.TemporaryDirectory()
            db = f"sqlite:///{tmp.name}/pages.db"
        t0 = time.perf_counter()
        data = bs.build(args.fill, args.groups)
        bs.fill(db, data)
        print(f"filled {args.fill:,} reports in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if db:
        rows = bench_pages(db, args.runs)
        print(f"\n{'page (rendered through the app)':<58}{'median ms':>11}{'max ms':>9}")
        for name, med, worst in rows:
            print(f"{name:<58}{med:>11.1f}{worst:>9.1f}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
