"""The numbers the README quotes for ``kpanic stats`` on the syzkaller corpus are what the
installed command prints (a change of the parser or classifier that moves them must update the
README)."""

from __future__ import annotations

import json
import re

from tests.cli.test_cli import kp
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CORPUS = "tests/data/syzkaller/linux/report"


def test_readme_stats_numbers_are_what_kpanic_stats_prints() -> None:
    m = re.search(rf"`kpanic stats {CORPUS}[^`]*`\s*\((\d+) logs, (\d+) crashes\)", README)
    assert m, "the README's stats command and its (N logs, M crashes) line"
    logs, crashes = int(m.group(1)), int(m.group(2))
    r = kp("stats", CORPUS, "--json", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    stats = json.loads(r.stdout)
    assert (stats["logs"], stats["crashes"]) == (logs, crashes)
    rows = dict(
        (v, (int(n), s))
        for v, n, s in re.findall(r"^\| (yes|partly|no) \| (\d+) \| ([\d.]+)% \|$", README, re.M)
    )
    assert set(rows) == {"yes", "partly", "no"}
    for verdict, (count, share) in rows.items():
        got = stats["by_rust_prevents"][verdict]
        assert got["count"] == count, verdict
        assert f"{100 * got['share']:.1f}" == share, verdict
    total = re.search(r"the total is ([\d.]+)%", README)
    assert total is not None
    both = rows["yes"][0] + rows["partly"][0]
    assert f"{100 * both / crashes:.1f}" == total.group(1)
