"""Photo decoder benchmark on shared/photos/dev: success per difficulty and version, timings.

Run: .venv/bin/python benchmarks/bench_photos.py [--budget SECONDS] [--dir PATH]
Single core: OpenCV/OpenMP/BLAS threads are pinned to 1 before the imports.
A picture counts only if the payload equals the sidecar's exactly.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kpanic.errors import PhotoDecodeError  # noqa: E402
from kpanic.qr.image import decode_photo  # noqa: E402


def _default_dir() -> Path:
    env = os.environ.get("KPANIC_SHARED")
    for cand in ([Path(env)] if env else []) + [
        ROOT.parent / "shared",
        ROOT.parent.parent / "shared",
    ]:
        if (cand / "photos" / "dev").is_dir():
            return cand / "photos" / "dev"
    raise SystemExit("shared/photos/dev not found (set KPANIC_SHARED)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--budget", type=float, default=3.0, help="time_budget per photo (s)")
    args = ap.parse_args()
    folder = args.dir or _default_dir()
    cv2.setNumThreads(1)
    ok_by: dict[str, Counter[str]] = {"difficulty": Counter(), "version": Counter()}
    all_by: dict[str, Counter[str]] = {"difficulty": Counter(), "version": Counter()}
    methods: Counter[str] = Counter()
    times: list[float] = []
    wrong = 0
    misses: list[str] = []
    for side in sorted(folder.glob("*.json")):
        meta = json.loads(side.read_text())
        keys = {"difficulty": meta["difficulty"], "version": f"v{meta['qr']['version']:02d}"}
        for k, v in keys.items():
            all_by[k][v] += 1
        t0 = time.perf_counter()
        try:
            res = decode_photo(side.with_suffix(".jpg"), time_budget=args.budget)
            good = res.payload == meta["payload"]
            wrong += not good
            outcome = res.method if good else "WRONG"
        except PhotoDecodeError as exc:
            good, outcome = False, exc.reason
        times.append(time.perf_counter() - t0)
        methods[outcome] += 1
        if good:
            for k, v in keys.items():
                ok_by[k][v] += 1
        else:
            misses.append(f"{meta['file']} ({outcome})")
    n = len(times)
    print(f"photos: {n} in {folder}  (budget {args.budget:.1f} s, 1 thread)")
    for k in ("difficulty", "version"):
        print(f"\n{k:10s} decoded")
        order = ["easy", "medium", "hard", "extreme"] if k == "difficulty" else sorted(all_by[k])
        for v in order:
            print(f"{v:10s} {ok_by[k][v]:3d}/{all_by[k][v]:<3d}")
    times.sort()
    p95 = times[min(n - 1, int(round(0.95 * (n - 1))))]
    total_ok = sum(ok_by["difficulty"].values())
    print(f"\ntotal      {total_ok}/{n}   wrong payloads: {wrong}")
    med = statistics.median(times)
    print(f"time/photo median {med:.3f} s  p95 {p95:.3f} s  max {times[-1]:.3f} s")
    print("stages:    " + ", ".join(f"{m}={c}" for m, c in methods.most_common()))
    if misses:
        print("missed:    " + ", ".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
