"""Counts and shares per bug class, language and Rust verdict over a set of crashes.

The same numbers feed three outputs: a rich table for people at a terminal, JSON for scripts,
and a chart (matplotlib, Agg backend) for docs and slides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from kpanic.classify.model import BUG_CLASSES, LANGUAGES, VERDICTS, Classification
from kpanic.classify.verdicts import verdict_for
from kpanic.errors import KpanicError

VERDICT_COLOURS = {"yes": "#009E73", "partly": "#E69F00", "no": "#8C8C8C"}  # Okabe-Ito


@dataclass(slots=True)
class Stats:
    logs: int = 0
    crashes: int = 0
    no_crash: int = 0
    errors: int = 0
    by_class: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    by_verdict: Counter[str] = field(default_factory=Counter)
    confidence_sum: float = 0.0

    def add(self, c: Classification) -> None:
        self.crashes += 1
        self.by_class[c.bug_class] += 1
        self.by_language[c.language] += 1
        self.by_verdict[c.rust_prevents] += 1
        self.confidence_sum += c.confidence

    def share(self, n: int) -> float:
        return n / self.crashes if self.crashes else 0.0

    def to_dict(self) -> dict[str, Any]:
        def block(counter: Counter[str], order: Iterable[str]) -> dict[str, dict[str, Any]]:
            return {
                k: {"count": counter[k], "share": round(self.share(counter[k]), 4)}
                for k in order
                if counter[k]
            }

        return {
            "logs": self.logs,
            "crashes": self.crashes,
            "no_crash": self.no_crash,
            "errors": self.errors,
            "mean_confidence": round(self.confidence_sum / self.crashes, 3) if self.crashes else 0,
            "by_class": block(self.by_class, BUG_CLASSES),
            "by_language": block(self.by_language, LANGUAGES),
            "by_rust_prevents": block(self.by_verdict, VERDICTS),
        }


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_tables(stats: Stats, console: Console) -> None:
    """Three small tables: per class (with its verdict), per language, per verdict."""
    head = (
        f"{stats.logs} logs: {stats.crashes} crashes, {stats.no_crash} without a crash, "
        f"{stats.errors} unreadable"
    )
    console.print(head)
    t = Table(title="Bug classes", show_footer=False)
    t.add_column("class")
    t.add_column("count", justify="right")
    t.add_column("share", justify="right")
    t.add_column("safe Rust prevents")
    for cls, n in sorted(stats.by_class.items(), key=lambda kv: (-kv[1], kv[0])):
        v = verdict_for(cls).verdict
        colour = {"yes": "green", "partly": "yellow", "no": "bright_black"}[v]
        t.add_row(cls, str(n), _pct(stats.share(n)), f"[{colour}]{v}[/]")
    console.print(t)
    for title, counter, order in (
        ("Would safe Rust have prevented it?", stats.by_verdict, VERDICTS),
        ("Language of the faulting code", stats.by_language, LANGUAGES),
    ):
        tt = Table(title=title)
        tt.add_column(title.split()[0].lower() if "Language" in title else "verdict")
        tt.add_column("count", justify="right")
        tt.add_column("share", justify="right")
        for k in order:
            if counter[k]:
                tt.add_row(k, str(counter[k]), _pct(stats.share(counter[k])))
        console.print(tt)


def plot(stats: Stats, out: Path, source: str = "") -> None:
    """Bar chart of classes coloured by Rust verdict, plus the verdict split as one bar."""
    if out.suffix.lower() not in {".png", ".svg"}:
        raise KpanicError(f"--plot: {out} must end in .png or .svg")
    if not stats.crashes:
        raise KpanicError("--plot: no crashes to plot")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    items = sorted(stats.by_class.items(), key=lambda kv: (kv[1], kv[0]))
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(9, 0.36 * len(items) + 3.2), gridspec_kw={"height_ratios": [len(items), 2.2]}
    )
    names = [k for k, _ in items]
    counts = [n for _, n in items]
    colours = [VERDICT_COLOURS[verdict_for(k).verdict] for k in names]
    bars = ax.barh(names, counts, color=colours)
    top = max(counts)
    for bar, n in zip(bars, counts, strict=True):
        ax.text(
            bar.get_width() + top * 0.01,
            bar.get_y() + bar.get_height() / 2,
            f"{n}  ({_pct(stats.share(n))})",
            va="center",
            fontsize=9,
        )
    ax.set_xlim(0, top * 1.25)
    ax.set_xlabel("crashes")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="y", labelsize=10)
    subtitle = f" in {source}" if source else ""
    ax.set_title(f"{stats.crashes} kernel crashes{subtitle}, by bug class", loc="left")
    ax.legend(
        handles=[
            Patch(color=VERDICT_COLOURS[v], label=f"safe Rust prevents: {v}") for v in VERDICTS
        ],
        loc="lower right",
        frameon=False,
        fontsize=9,
    )

    left = 0.0
    for v in VERDICTS:
        share = stats.share(stats.by_verdict[v])
        if share <= 0:
            continue
        ax2.barh([0], [share], left=left, color=VERDICT_COLOURS[v])
        if share > 0.06:
            ax2.text(
                left + share / 2,
                0,
                f"{v}\n{_pct(share)}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if v != "partly" else "black",
                fontweight="bold",
            )
        left += share
    ax2.set_xlim(0, 1)
    ax2.set_yticks([])
    ax2.set_xticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
    ax2.axvline(0.5, color="black", linestyle="--", linewidth=1)
    ax2.spines[["top", "right", "left"]].set_visible(False)
    ax2.set_title(
        "Would safe Rust have prevented it? (share of all crashes; dashed line: half)", loc="left"
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=150)
    plt.close(fig)
