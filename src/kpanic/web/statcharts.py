"""The statistics page's charts, each bar linking to the reports it counts.

Drawn twice by the page: 560 units wide for wide screens and 380 for phones, where a wide chart
scaled down would shrink its labels below reading size.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from kpanic.web import charts
from kpanic.web.chartlinks import chart_links


def stat_charts(stats: Any, bucket: str, params: dict[str, Any], *, width: int) -> dict[str, Any]:
    """Every chart of the statistics page as SVG markup, ``width`` units wide."""
    link = chart_links(params)
    svg = {
        "over_time": charts.time_bars(
            stats.over_time, "Reports over time", bucket=bucket, href=link.period, width=width
        ),
        "by_class": charts.share_bars(
            stats.by_class, "Share per bug class", href=link.to("bug_class"), width=width
        ),
        "rust": charts.stacked_share(
            stats.by_rust_prevents,
            "Would safe Rust prevent it?",
            charts.VERDICT_COLOURS,
            href=link.to("rust_prevents"),
            width=width,
        ),
        "language": charts.stacked_share(
            stats.by_language,
            "C vs Rust",
            charts.LANGUAGE_COLOURS,
            href=link.to("language"),
            width=width,
        ),
        "kernel": charts.share_bars(
            stats.by_kernel, "Per kernel release", limit=15, href=link.to("kernel"), width=width
        ),
        "arch": charts.share_bars(
            stats.by_arch, "Per architecture", href=link.to("arch"), width=width
        ),
        "distro": charts.share_bars(
            stats.by_distro, "Per distribution", href=link.to("distro"), width=width
        ),
    }
    return {k: Markup(v) for k, v in svg.items()}
