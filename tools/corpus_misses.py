"""List the misses of the real corpora (tests/data/corpus): expected vs got, one line each.

    .venv/bin/python tools/corpus_misses.py [syzbot|pastes] [NAME-SUBSTRING]

A working aid for issue 10: group the misses by cause before changing the parser.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.corpus.corpus import corpus_entries  # noqa: E402

from kpanic.classify import classify  # noqa: E402
from kpanic.report import parse  # noqa: E402


def main(argv: list[str]) -> int:
    sources = [argv[0]] if argv else ["syzbot", "pastes"]
    sub = argv[1] if len(argv) > 1 else ""
    for source in sources:
        entries = [e for e in corpus_entries(source) if sub in e.name]
        ok = 0
        for e in entries:
            if source == "syzbot":
                rep = parse(e.text).primary
                titles = [rep.title, *rep.alt_titles] if rep else []
                good = e.first("TITLE") in titles
                got = repr(titles[0]) if titles else "None"
                want = repr(e.first("TITLE"))
            else:
                reps = parse(e.text).reports
                got_l = [(r.title, classify(r).bug_class) for r in reps]
                want_l = list(
                    zip(e.fields.get("TITLE", []), e.fields.get("CLASS", []), strict=False)
                )
                good = got_l == want_l
                got, want = repr(got_l), repr(want_l)
            ok += good
            if not good or sub:
                print(f"{'ok  ' if good else 'MISS'} {e.name}\n     want {want}\n     got  {got}")
        print(f"{source}: {ok}/{len(entries)} = {ok / max(1, len(entries)):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
