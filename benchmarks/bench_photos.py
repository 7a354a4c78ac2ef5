"""Photo decoder benchmark on shared/photos/dev: success per difficulty and version, timings.

Run: .venv/bin/python benchmarks/bench_photos.py [--budget SECONDS] [--dir PATH]
     .venv/bin/python benchmarks/bench_photos.py --families N   (kpanic's own generator,
     tests/photogen: N photos per family, kpanic against zxing-cpp with default options)
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
    ap.add_argument("--families", type=int, default=0, help="photos per generated family")
    args = ap.parse_args()
    if args.families:
        return families(args.families, args.budget)
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


def _zxing_texts(data: bytes) -> list[str]:
    """zxing-cpp as an app would call it: default options, on what Pillow opens."""
    import io

    import zxingcpp
    from PIL import Image

    try:
        return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))]
    except Exception:  # a reader that fails reads nothing
        return []


def _cli_seconds(data: bytes, suffix: str) -> float:
    """Wall time of one ``kpanic qr decode FILE`` (a fresh process: imports included)."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=suffix) as f:
        f.write(data)
        f.flush()
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "kpanic", "qr", "decode", f.name],
            capture_output=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )
        return time.perf_counter() - t0


def families(per_family: int, budget: float, cli_per_family: int = 3) -> int:
    """One table: per family, kpanic and zxing-cpp (default options) on the same photos,
    plus shared/photos/dev when it is there.

    A photo counts for a reader only if it returns the exact panic payload; on the
    foreign-only family (no panic code in view) kpanic must refuse with foreign-code, and any
    payload a reader returns is counted as wrong (an app would take it for the panic).
    Times: in-process CPU seconds per photo (the budget's clock), the CLI's wall seconds
    on the first ``cli_per_family`` photos of each family, misses over budget + 10%."""
    sys.path.insert(0, str(ROOT))
    from tests.photogen import FAMILIES, sample

    cv2.setNumThreads(1)
    print(f"generated photos: {per_family} per family, budget {budget:.1f} s, 1 thread")
    print(
        f"{'family':13s} {'kpanic':>9s} {'wrong':>5s} {'zxing':>9s} {'wrong':>5s} "
        f"{'median s':>8s} {'max s':>6s} {'CLI s':>6s} {'over':>4s}"
    )
    all_times: list[float] = []
    all_cli: list[float] = []
    sets: list[tuple[str, list[tuple[bytes, str | None, str | None, str]]]] = []
    for fam in FAMILIES:
        items = []
        for seed in range(per_family):
            s = sample(fam, seed)
            suffix = ".gif" if fam.startswith("burst") or s.note == "animated GIF" else ".img"
            items.append((s.data, s.payload, s.reason, suffix))
        sets.append((fam, items))
    try:
        dev = _default_dir()
        items = []
        for side in sorted(dev.glob("*.json")):
            meta = json.loads(side.read_text())
            items.append((side.with_suffix(".jpg").read_bytes(), meta["payload"], None, ".jpg"))
        sets.append(("shared/dev", items))
    except SystemExit:
        pass
    for fam, items in sets:
        k_ok = k_bad = z_ok = z_bad = over = 0
        times: list[float] = []
        cli: list[float] = []
        for n, (data, payload, reason, suffix) in enumerate(items):
            t0 = time.process_time()
            try:
                res = decode_photo(data, time_budget=budget)
                k_ok += res.payload == payload
                k_bad += res.payload != payload
            except PhotoDecodeError as exc:
                k_ok += payload is None and exc.reason == reason
                over += time.process_time() - t0 > 1.1 * budget
            times.append(time.process_time() - t0)
            texts = _zxing_texts(data)
            if payload is not None and payload in texts:
                z_ok += 1
            elif texts:
                z_bad += 1
            if n < cli_per_family:
                cli.append(_cli_seconds(data, suffix))
        all_times += times
        all_cli += cli
        total = len(items)
        print(
            f"{fam:13s} {k_ok:4d}/{total:<4d} {k_bad:5d} {z_ok:4d}/{total:<4d} "
            f"{z_bad:5d} {statistics.median(times):8.3f} {max(times):6.2f} "
            f"{statistics.median(cli):6.2f} {over:4d}"
        )
    print(
        f"all: median {statistics.median(all_times):.3f} s CPU in-process, max "
        f"{max(all_times):.2f} s; CLI median {statistics.median(all_cli):.2f} s wall"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
