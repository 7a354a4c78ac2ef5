"""Classifier and signature throughput on the syzkaller corpus (reports parsed beforehand).

Run: .venv/bin/python benchmarks/bench_classify.py [--seconds 3]
Prints reports/s for classify() (class + evidence + verdict + language + signature) and for
compute_signature() alone, min/median/max over 3 runs of at least --seconds each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from kpanic.classify import classify
from kpanic.classify.corpus import read_log
from kpanic.classify.signature import compute_signature
from kpanic.report import parse

CORPUS = Path(__file__).resolve().parent.parent / "tests/data/syzkaller/linux/report"


def rate(fn, reports, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        for r in reports:
            fn(r)
        n += len(reports)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    reports = []
    for p in sorted(CORPUS.iterdir()):
        reports.extend(parse(read_log(p).log).reports[:1])
    print(f"{len(reports)} reports from {CORPUS.name}/, loadavg {os.getloadavg()[0]:.1f}")
    print(f"{'step':<20}{'min':>10}{'median':>10}{'max':>10}  (reports/s)")
    for name, fn in (("classify", classify), ("compute_signature", compute_signature)):
        runs = [rate(fn, reports, args.seconds) for _ in range(3)]
        print(f"{name:<20}{min(runs):>10.0f}{statistics.median(runs):>10.0f}{max(runs):>10.0f}")


if __name__ == "__main__":
    main()
