"""Store query speed at scale: fill a database with synthetic-but-realistic reports, time queries.

    .venv/bin/python benchmarks/bench_store.py                       # SQLite, 1,000,000 reports
    .venv/bin/python benchmarks/bench_store.py --postgres            # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_store.py --reports 100000 --keep /tmp/k.db

Rows are bulk-inserted (not through the parser): titles, functions, kernel releases and sample
texts come from the vendored syzkaller corpus; group sizes follow a Zipf law (a few huge groups,
a long tail), reports spread over a year, only the first samples and the latest of each group
keep their text (as flood control leaves it). Aggregate tables (group counts, facets, daily
counts) are computed from the generated rows, exactly what ingest would have maintained.

Each query runs through kpanic.store.repository.Repository (what the web layer calls); the
table shows the median and worst of several runs after one warm-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kpanic.settings import get_settings  # noqa: E402
from kpanic.store.db import make_engine, upgrade  # noqa: E402
from kpanic.store.models import CrashGroup, DailyCount, GroupFacet, Report  # noqa: E402
from kpanic.store.repository import Filters, Repository  # noqa: E402
from kpanic.store.search import search_text  # noqa: E402
from kpanic.store.triage_models import GroupSubsystem, GroupTriage  # noqa: E402
from kpanic.triage.kver import parse_release  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "syzkaller" / "linux" / "report"
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "kpanic_bench_store"

CLASSES = [  # (bug class, rust verdict, title template, weight)
    ("use-after-free", "yes", "KASAN: slab-use-after-free Read in {f}", 14),
    ("out-of-bounds", "yes", "KASAN: slab-out-of-bounds Write in {f}", 12),
    ("null-deref", "yes", "BUG: kernel NULL pointer dereference in {f}", 10),
    ("lock-misuse", "partly", "WARNING: bad unlock balance in {f}", 8),
    ("deadlock", "no", "possible deadlock in {f}", 10),
    ("assertion", "no", "WARNING in {f}", 18),
    ("hang", "no", "INFO: task hung in {f}", 8),
    ("uninit", "yes", "KMSAN: uninit-value in {f}", 6),
    ("leak", "partly", "memory leak in {f}", 5),
    ("data-race", "yes", "KCSAN: data-race in {f} / {g}", 4),
    ("refcount", "partly", "refcount bug in {f}", 2),
    ("arithmetic", "partly", "UBSAN: shift-out-of-bounds in {f}", 2),
    ("rust-panic", "no", "Rust panic in {f}", 1),
]
ARCHES = [("x86_64", 70), ("arm64", 24), ("riscv64", 3), ("ppc64le", 2), ("s390x", 1)]
DISTROS = [
    ("fedora", ".fc41.x86_64"),
    ("debian", "-amd64"),
    ("ubuntu", "-generic"),
    ("arch", "-arch1-1"),
    ("opensuse", "-default"),
    (None, "+"),
]


def corpus_material() -> tuple[list[str], list[str]]:
    """Function names and crash texts from the vendored syzkaller corpus."""
    funcs: Counter[str] = Counter()
    texts = []
    for path in sorted(CORPUS.iterdir(), key=lambda p: int(p.name)):
        body = path.read_text(errors="replace").replace("\x00", "").split("\n\n", 1)[-1]
        funcs.update(re.findall(r" ([a-z_][a-z0-9_]{3,40})\+0x", body))
        if 1500 < len(body) < 12000:
            texts.append(body)
    return [f for f, _ in funcs.most_common()], texts


def build(n_reports: int, n_groups: int, seed: int = 7) -> dict[str, list[dict]]:
    """Generate every row (groups, reports, facets, daily counts) in memory."""
    rnd = random.Random(seed)
    funcs, texts = corpus_material()
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    start = now - dt.timedelta(days=365)
    releases = [f"6.{minor}.{patch}" for minor in range(6, 18) for patch in range(0, 40, 7)]
    weights = [w for *_, w in CLASSES]
    groups = []
    seen_titles: set[str] = set()
    for gid in range(1, n_groups + 1):
        cls, verdict, template, _ = rnd.choices(CLASSES, weights)[0]
        while True:
            f, g = rnd.choice(funcs), rnd.choice(funcs)
            title = template.format(f=f, g=g)
            if title not in seen_titles:
                seen_titles.add(title)
                break
        language = "rust" if cls == "rust-panic" or rnd.random() < 0.03 else "c"
        arch_pool = [a for a, w in ARCHES for _ in range(w)]
        groups.append(
            {
                "id": gid,
                "signature": title,
                "title": title,
                "type": cls.upper(),
                "bug_class": cls,
                "rust_prevents": verdict,
                "language": language,
                "kernels": rnd.sample(releases, k=rnd.randint(1, 6)),
                "arches": list({rnd.choice(arch_pool) for _ in range(2)}),
                "distro": rnd.choice(DISTROS),
            }
        )
    # Zipf-like sizes: group k gets weight 1/k^1.1.
    zipf = [1 / (k**1.1) for k in range(1, n_groups + 1)]
    order = rnd.choices(range(n_groups), weights=zipf, k=n_reports)
    for i in range(n_groups):  # every group has at least one report
        order[i] = i
    span = int((now - start).total_seconds())
    times = sorted(rnd.randrange(span) for _ in range(n_reports))
    rnd.shuffle(order)
    per_group: dict[int, list[int]] = {}
    reports = []
    for rid, (gi, secs) in enumerate(zip(order, times, strict=True), start=1):
        g = groups[gi]
        per_group.setdefault(g["id"], []).append(rid)
        kernel_base = rnd.choice(g["kernels"])
        distro, suffix = g["distro"]
        received = start + dt.timedelta(seconds=secs)
        reports.append(
            {
                "id": rid,
                "content_hash": hashlib.sha256(rid.to_bytes(8, "little")).hexdigest(),
                "group_id": g["id"],
                "source_kind": rnd.choices(["log", "url", "photo"], [60, 25, 15])[0],
                "scrubbed": True,
                "pruned": True,
                "title": g["title"],
                "type": g["type"],
                "bug_class": g["bug_class"],
                "rust_prevents": g["rust_prevents"],
                "language": g["language"],
                "kernel": kernel_base + suffix,
                "arch": rnd.choice(g["arches"]),
                "distro": distro,
                "signature": g["signature"],
                "signature_version": "1",
                "parser_version": "0.1.0",
                "classifier_version": "0.1.0",
                "corrupted": rnd.random() < 0.05,
                "received_at": received,
            }
        )
    keep = 3
    for ids in per_group.values():
        for rid in ids[:keep] + ids[-1:]:
            reports[rid - 1]["pruned"] = False
    for r in reports:
        frames = [{"function": f, "offset": 28, "size": 128} for f in rnd.sample(funcs, 6)]
        parsed = {"title": r["title"], "type": r["type"], "kernel": r["kernel"], "frames": frames}
        if not r["pruned"]:
            body = rnd.choice(texts)
            r["original"] = body
            parsed["text"] = body[:4000]
        else:
            r["original"] = None
        r["kmsg"] = None
        r["parse"] = {"reports": [parsed]}
        r["classification"] = {
            "bug_class": r["bug_class"],
            "rust_prevents": r["rust_prevents"],
            "signature": r["signature"],
            "signature_notes": ["frames: " + ", ".join(f["function"] for f in frames[:2])],
        }
        r["client"] = {"via": "api", "ip": None, "user_agent": "kpanic-bench", "token_name": None}
        r["search_text"] = search_text(r["parse"], r["title"], r["signature"])  # as ingest does

    group_rows, facets, daily = [], Counter(), Counter()
    for g in groups:
        ids = per_group[g["id"]]
        first, last = reports[ids[0] - 1], reports[ids[-1] - 1]
        group_rows.append(
            {
                "id": g["id"],
                "signature": g["signature"],
                "signature_version": "1",
                "title": g["title"],
                "search_key": f"{g['title']}\n{g['signature']}".lower(),
                "search_text": first["search_text"],  # a group's words: its first report's
                "type": g["type"],
                "bug_class": g["bug_class"],
                "rust_prevents": g["rust_prevents"],
                "language": g["language"],
                "report_count": len(ids),
                "full_count": min(len(ids), keep + 1),
                # distinct machines: about one per three reports, as ingest would have counted
                "machine_count": max(1, len(ids) // 3),
                "first_seen": first["received_at"],
                "last_seen": last["received_at"],
                "last_report_id": last["id"],
                "created_by": "ingest",
                "created_at": first["received_at"],
            }
        )
    for r in reports:
        for facet in ("kernel", "arch", "distro"):
            if r[facet]:
                facets[(r["group_id"], facet, r[facet])] += 1
        day = r["received_at"].date()
        scopes = [""] + [f"{d}={r[d]}|" for d in ("bug_class", "rust_prevents", "language")]
        for scope in scopes:  # the same counters ingest keeps (plain and scoped)
            daily[(day, scope + "total", "")] += 1
            for dim in ("bug_class", "rust_prevents", "language", "arch", "distro"):
                daily[(day, scope + dim, r[dim] or "")] += 1
            daily[(day.replace(day=1), scope + "kernel", r["kernel"] or "")] += 1  # per month
    return {
        **triage_rows(group_rows, facets, seed),
        "groups": group_rows,
        "reports": reports,
        "facets": [
            {"group_id": g, "facet": f, "value": v, "count": n} for (g, f, v), n in facets.items()
        ],
        "daily": [{"day": d, "dim": k, "value": v, "count": n} for (d, k, v), n in daily.items()],
    }


def _release_key(text: str) -> tuple[int, int, int]:
    parsed = parse_release(text)
    return parsed.upstream if parsed is not None else (0, 0, 0)


SUBSYSTEMS = [f"SUBSYSTEM {i:02d}" for i in range(60)]  # Zipf-weighted below
PEOPLE = [f"dev{i}" for i in range(30)]


def triage_rows(groups: list[dict], facets: Counter, seed: int) -> dict[str, list[dict]]:
    """Triage state as a busy team leaves it: every group has one or two subsystems (a few
    large subsystems, a long tail), 12% are fixed (1 in 10 of those regressed), 3% invalid,
    2% duplicates, 8% assigned."""
    rnd = random.Random(seed + 1)
    sub_weights = [1 / (k**0.9) for k in range(1, len(SUBSYSTEMS) + 1)]
    kernels: dict[int, list[str]] = {}
    for (gid, facet, value), _n in facets.items():
        if facet == "kernel":
            kernels.setdefault(gid, []).append(value)
    triage, subs = [], []
    for g in groups:
        picked = set(rnd.choices(SUBSYSTEMS, weights=sub_weights, k=rnd.choice((1, 1, 2))))
        subs += [
            {"group_id": g["id"], "subsystem": s, "rank": i, "reason": "F: bench/"}
            for i, s in enumerate(sorted(picked))
        ]
        roll = rnd.random()
        status = (
            "fixed"
            if roll < 0.12
            else "invalid"
            if roll < 0.15
            else "duplicate"
            if roll < 0.17
            else "open"
        )
        assignee = rnd.choice(PEOPLE) if rnd.random() < 0.08 else None
        if status == "open" and assignee is None:
            continue
        fixed = status == "fixed"
        triage.append(
            {
                "group_id": g["id"],
                "status": status,
                "assignee": assignee,
                "fix_release": max(kernels.get(g["id"], ["6.10.0"]), key=_release_key)
                if fixed
                else None,
                "invalid_reason": "bench" if status == "invalid" else None,
                "duplicate_of": 1 if status == "duplicate" else None,
                "regressed": fixed and rnd.random() < 0.1,
                "before_fix": 0,
                "unplaced": 0,
                "updated_at": g["last_seen"],
            }
        )
    return {"triage": triage, "subsystems": subs}


def fill(url: str, data: dict[str, list[dict]]) -> float:
    """Bulk-insert the generated rows; returns seconds."""
    upgrade(url)
    engine = make_engine(url)
    t0 = time.perf_counter()
    chunk = 20_000
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:  # bulk load: fill the FTS5 search index once at the end (as migration 0008 does)
        with engine.begin() as conn:
            triggers = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%fts%'"
            ).all()
            for name, _ in triggers:
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
    with engine.begin() as conn:
        for model, rows in (
            (CrashGroup, data["groups"]),
            (Report, data["reports"]),
            (GroupFacet, data["facets"]),
            (DailyCount, data["daily"]),
            (GroupTriage, data["triage"]),
            (GroupSubsystem, data["subsystems"]),
        ):
            for i in range(0, len(rows), chunk):
                conn.execute(insert(model), rows[i : i + chunk])
    if sqlite:
        with engine.begin() as conn:
            for fts in ("reports_fts", "crash_groups_fts"):
                conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            for _, sql in triggers:
                conn.exec_driver_sql(sql)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
            if conn.in_transaction():
                conn.commit()
            for table in ("reports", "crash_groups"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT max(id) FROM {table}))"
                )
            conn.commit()
        else:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    engine.dispose()
    return time.perf_counter() - t0


def timed(fn: object, runs: int) -> tuple[float, float]:
    fn()  # type: ignore[operator]  # warm-up
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), max(samples)


def queries(repo: Repository, data: dict[str, list[dict]]) -> list[tuple[str, object]]:
    groups = data["groups"]
    biggest = max(groups, key=lambda g: g["report_count"])
    median_group = sorted(groups, key=lambda g: g["report_count"])[len(groups) // 2]
    kernel = Counter(r["kernel"] for r in data["reports"][:50_000]).most_common(1)[0][0]
    last = max(g["last_seen"] for g in groups)
    word = biggest["title"].split()[-1]
    # A function that is in stack frames but in no title: found only through search_text.
    in_titles = {w for g in groups for w in g["title"].split()}
    frame_fn = Counter(
        f["function"]
        for r in data["reports"][:20_000]
        for f in r["parse"]["reports"][0]["frames"]
        if f["function"] not in in_titles
    ).most_common(1)[0][0]
    early = Counter(
        f["function"] for r in data["reports"][:5000] for f in r["parse"]["reports"][0]["frames"]
    )
    rare_fn = min(early.items(), key=lambda kv: (kv[1], kv[0]))[0]
    minor = ".".join(kernel.split(".")[:2])  # "6.12": every 6.12.x build
    return [
        ("groups: page 1, newest first", lambda: repo.list_groups()),
        ("groups: sort by count", lambda: repo.list_groups(sort="count")),
        ("groups: page 40", lambda: repo.list_groups(page=40)),
        (
            "groups: class + language filter",
            lambda: repo.list_groups(Filters(bug_class="use-after-free", language="c")),
        ),
        ("groups: kernel release filter", lambda: repo.list_groups(Filters(kernel=kernel))),
        (
            "groups: arch + rust verdict",
            lambda: repo.list_groups(Filters(arch="arm64", rust_prevents="yes")),
        ),
        ("groups: text search", lambda: repo.list_groups(Filters(q=word))),
        (f"groups: search a frame ({frame_fn})", lambda: repo.list_groups(Filters(q=frame_fn))),
        (f"groups: search a rare frame ({rare_fn})", lambda: repo.list_groups(Filters(q=rare_fn))),
        (f"groups: kernel prefix {minor}", lambda: repo.list_groups(Filters(kernel=minor))),
        (
            "groups: kernel + arch (matching counts)",
            lambda: repo.list_groups(Filters(kernel=kernel, arch="arm64")),
        ),
        (
            "groups: last 30 days",
            lambda: repo.list_groups(Filters(since=last - dt.timedelta(days=30))),
        ),
        (
            f"group page: biggest ({biggest['report_count']} reports)",
            lambda: repo.get_group(biggest["id"]),
        ),
        ("group page: biggest, page 20", lambda: repo.get_group(biggest["id"], page=20)),
        (
            f"group page: median ({median_group['report_count']} reports)",
            lambda: repo.get_group(median_group["id"]),
        ),
        ("reports: page 1", lambda: repo.list_reports()),
        (
            "reports: class filter (count capped)",
            lambda: repo.list_reports(Filters(bug_class="hang")),
        ),
        ("reports: kernel release filter", lambda: repo.list_reports(Filters(kernel=kernel))),
        ("reports: text search", lambda: repo.list_reports(Filters(q=word))),
        (f"reports: search a frame ({frame_fn})", lambda: repo.list_reports(Filters(q=frame_fn))),
        (
            f"reports: search a rare frame ({rare_fn})",
            lambda: repo.list_reports(Filters(q=rare_fn)),
        ),
        (f"reports: kernel prefix {minor}", lambda: repo.list_reports(Filters(kernel=minor))),
        (f"stats: kernel prefix {minor}", lambda: repo.stats(Filters(kernel=minor), bucket="week")),
        ("stats: text search (frame)", lambda: repo.stats(Filters(q=frame_fn), bucket="month")),
        ("report detail", lambda: repo.get_report(biggest["last_report_id"])),
        ("stats: all time, by day", lambda: repo.stats()),
        (
            "stats: last 90 days, by week",
            lambda: repo.stats(Filters(since=last - dt.timedelta(days=90)), bucket="week"),
        ),
        (
            "stats: class filter, by month (counters)",
            lambda: repo.stats(Filters(bug_class="leak"), bucket="month"),
        ),
        (
            "stats: kernel filter (reports table)",
            lambda: repo.stats(Filters(kernel=kernel), bucket="week"),
        ),
        (
            "stats: class + arch filter (reports table)",
            lambda: repo.stats(Filters(bug_class="leak", arch="arm64"), bucket="month"),
        ),
        ("facet values: kernels", lambda: repo.facet_values("kernel")),
        *triage_queries(repo, data),
    ]


def triage_queries(repo: Repository, data: dict[str, list[dict]]) -> list[tuple[str, object]]:
    """The groups list with the triage filters, and the dashboard's extra reads."""
    from kpanic.store import triage_list
    from kpanic.store.db import read_session

    last = max(g["last_seen"] for g in data["groups"])
    big = Counter(s["subsystem"] for s in data["subsystems"]).most_common(1)[0][0]
    small = Counter(s["subsystem"] for s in data["subsystems"]).most_common()[-1][0]
    person = Counter(t["assignee"] for t in data["triage"] if t["assignee"]).most_common(1)[0][0]
    releases = [parse_release(r["value"]) for r in data["facets"] if r["facet"] == "kernel"]
    major, minor, _ = max(r.upstream for r in releases if r is not None)
    newest_minor = f"{major}.{minor}"

    def dashboard_extras() -> None:
        page = repo.list_groups(Filters(subsystem=big))
        with read_session(repo.engine) as s:
            triage_list.badges(s, [g.id for g in page.items])
            triage_list.subsystem_counts(s, repo._group_conditions(Filters()))

    return [
        ("triage: status fixed", lambda: repo.list_groups(Filters(status="fixed"))),
        ("triage: status open (NOT IN)", lambda: repo.list_groups(Filters(status="open"))),
        (f"triage: subsystem (largest: {big})", lambda: repo.list_groups(Filters(subsystem=big))),
        ("triage: subsystem (smallest)", lambda: repo.list_groups(Filters(subsystem=small))),
        ("triage: assignee", lambda: repo.list_groups(Filters(assignee=person))),
        ("triage: regressed", lambda: repo.list_groups(Filters(regressed=True))),
        (
            "triage: new since 30 days",
            lambda: repo.list_groups(Filters(new_since=last - dt.timedelta(days=30))),
        ),
        (
            f"triage: first seen on {newest_minor}",
            lambda: repo.list_groups(Filters(first_release=newest_minor)),
        ),
        ("triage: sort by releases", lambda: repo.list_groups(sort="releases")),
        ("triage: sort by distinct machines", lambda: repo.list_groups(sort="machines")),
        (
            "triage: subsystem + open + sort count",
            lambda: repo.list_groups(Filters(subsystem=big, status="open"), sort="count"),
        ),
        ("triage: dashboard extras (badges, counts)", dashboard_extras),
        (
            "triage: reports of a subsystem",
            lambda: repo.list_reports(Filters(subsystem=small)),
        ),
    ]


def run(url: str, data: dict[str, list[dict]], runs: int) -> list[tuple[str, float, float]]:
    print(f"filling {url.split('@')[-1]} ...", file=sys.stderr)
    seconds = fill(url, data)
    print(f"  {len(data['reports']):,} reports in {seconds:.0f} s", file=sys.stderr)
    repo = Repository(url, settings=get_settings(url, sample_limit=3))
    rows = [(name, *timed(fn, runs)) for name, fn in queries(repo, data)]
    # One ingest into the full database (store path, flood control included).
    from kpanic.store.ingest import prepare_log

    log = next(
        p.read_text().split("\n\n", 1)[-1] for p in sorted(CORPUS.iterdir()) if p.name == "100"
    )
    prepared = [prepare_log(f"{log}[9.{i}] bench\n", scrub=False) for i in range(runs + 1)]
    it = iter(prepared)
    rows.append(("ingest: store one prepared report", *timed(lambda: repo.store(next(it)), runs)))
    repo.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=int, default=1_000_000)
    ap.add_argument("--groups", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--postgres", action="store_true", help="also run on PostgreSQL")
    ap.add_argument("--only-postgres", action="store_true")
    ap.add_argument("--keep", type=Path, help="SQLite file to keep (default: a temp file)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = build(args.reports, args.groups)
    print(f"generated rows in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    results: dict[str, list[tuple[str, float, float]]] = {}
    if not args.only_postgres:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.keep or Path(tmp) / "bench.db"
            if path.exists():
                path.unlink()
            results["SQLite"] = run(f"sqlite:///{path}", data, args.runs)
    if args.postgres or args.only_postgres:
        admin = make_engine(PG_ADMIN)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_BENCH_DB}"'))
        admin.dispose()
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
        results["PostgreSQL"] = run(url, data, args.runs)

    names = [name for name, *_ in next(iter(results.values()))]
    title = f"query ({args.reports:,} reports, {args.groups:,} groups)"
    header = f"{title:<58}"
    header += "".join(f"{k + ' med/max ms':>26}" for k in results)
    print(header)
    print("-" * len(header))
    for i, name in enumerate(names):
        line = f"{name:<58}"
        for rows in results.values():
            _, med, worst = rows[i]
            line += f"{med:>17.1f} / {worst:>6.1f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
