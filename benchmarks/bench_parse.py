"""Parser throughput on syzkaller's Linux corpus (747 logs, ~3.9 MB), one core.

Each report gets ``contains_crash`` + ``parse``, like upstream's test (syzkaller's Go parser:
about 200 reports/s on this machine). Also times one pass of a single compiled regular expression
(the combined crash-header prefilter) over the same text, as a floor to compare against.

    .venv/bin/python benchmarks/bench_parse.py [--seconds 10] [--runs 3] [--corpora]

``--corpora`` also times the real corpora (tests/data/corpus/syzbot and pastes, as mailed and
pasted) and their V30 panic-QR tails parsed with ``parse(tail=True)`` (issue 10 item 5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.report.conftest import REPORT_DIR, corpus_files, read_corpus_case  # noqa: E402

from kpanic.report import contains_crash, parse  # noqa: E402
from kpanic.report.linux import HEADER_RE  # noqa: E402


def timed_passes(fn, logs: list[str], seconds: float) -> tuple[float, float, int]:
    """Run ``fn`` over every log until ``seconds`` have passed: (wall, cpu, logs processed).

    CPU time of this process is the figure least disturbed by other jobs on a shared machine.
    """
    done = 0
    t0, c0 = time.perf_counter(), time.process_time()
    while True:
        for log in logs:
            fn(log)
        done += len(logs)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return elapsed, time.process_time() - c0, done


def parse_one(log: str) -> None:
    contains_crash(log)
    parse(log)


def regex_one(log: str) -> None:
    for _ in HEADER_RE.finditer(log):
        pass


def tail_one(log: str) -> None:
    parse(log, tail=True)


def corpora(seconds: float, runs: int) -> None:
    """Throughput on the real corpora and on the QR tails derived from them."""
    from tests.corpus.corpus import SOURCES, corpus_entries, report_text, tail_form

    entries = [e for s in SOURCES for e in corpus_entries(s)]
    if not entries:
        print("corpora: tests/data/corpus holds no reports")
        return
    texts = [e.text for e in entries]
    tails = []
    for e in entries:
        text = report_text(e)
        rep = parse(text).primary
        tails.append(tail_form(text, rep.title if rep else "", 30))
    for label, fn, logs in (
        ("corpora: contains_crash + parse", parse_one, texts),
        ("corpora V30 tails: parse(tail=True)", tail_one, tails),
    ):
        rates = sorted(r[2] / r[1] for r in (timed_passes(fn, logs, seconds) for _ in range(runs)))
        print(f"{label:<40} cpu {statistics.median(rates):.0f} reports/s ({len(logs)} texts)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="minimum length of each run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpora", action="store_true", help="also time the real corpora and tails")
    args = ap.parse_args()
    logs = [read_corpus_case(p).log for p in corpus_files(REPORT_DIR)]
    size = sum(len(log.encode()) for log in logs)
    print(f"corpus: {len(logs)} logs, {size / 1e6:.2f} MB")
    c0, t0 = time.process_time(), time.perf_counter()
    for log in logs:  # first pass: cold name/frame caches (patterns compile at import)
        parse_one(log)
    cold_cpu, cold_wall = time.process_time() - c0, time.perf_counter() - t0
    print(
        f"first pass, cold caches: {len(logs) / cold_wall:.0f} reports/s wall, "
        f"{len(logs) / cold_cpu:.0f} reports/s cpu"
    )
    mb = size / len(logs) / 1e6
    print(f"{'what':<34}{'clock':>6}{'reports/s min/med/max':>24}{'MB/s':>8}{'ms/report':>11}")
    medians = {}
    for label, fn, secs in (
        ("contains_crash + parse", parse_one, args.seconds),
        ("one regex pass (header prefilter)", regex_one, max(1.0, args.seconds / 5)),
    ):
        runs = [timed_passes(fn, logs, secs) for _ in range(args.runs)]
        for clock, idx in (("wall", 0), ("cpu", 1)):
            rates = sorted(r[2] / r[idx] for r in runs)
            med = statistics.median(rates)
            medians[(label, clock)] = med
            print(
                f"{label:<34}{clock:>6}"
                f"{f'{rates[0]:.0f} / {med:.0f} / {rates[-1]:.0f}':>24}"
                f"{med * mb:>8.2f}{1000 / med:>11.3f}"
            )
    for clock in ("wall", "cpu"):
        med = medians[("contains_crash + parse", clock)]
        ratio = medians[("one regex pass (header prefilter)", clock)] / med
        verdict = "met" if med >= 400 else "NOT met"
        print(f"{clock}: parse costs {ratio:.1f}x one regex pass; >= 400 reports/s {verdict}")
    if args.corpora:
        corpora(args.seconds, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
