"""Server-side SVG charts: hostile labels are escaped, time series keep true spacing."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from kpanic.web import charts


def test_labels_are_escaped_and_svg_is_well_formed() -> None:
    hostile = '<script>alert(1)</script>"&'
    for svg in (
        charts.share_bars([(hostile, 3), ("c", 1)], hostile),
        charts.stacked_share([(hostile, 2), ("rust", 1)], hostile, charts.LANGUAGE_COLOURS),
        charts.time_bars([(dt.date(2025, 1, 1), 2)], hostile),
    ):
        assert "<script>" not in svg
        ET.fromstring(svg)  # parses: nothing broke out of an attribute or element


def test_time_series_gaps_are_zero_filled() -> None:
    days = [(dt.date(2025, 1, 30), 1), (dt.date(2025, 2, 2), 3)]
    assert [c for _, c in charts.fill_gaps(days, "day")] == [1, 0, 0, 3]
    months = [(dt.date(2024, 11, 1), 1), (dt.date(2025, 2, 1), 2)]
    assert [d.month for d, _ in charts.fill_gaps(months, "month")] == [11, 12, 1, 2]
    svg = charts.time_bars(days, "t")
    assert svg.count("<rect") == 4  # one bar per day, empty days included


def test_shares_fold_the_tail_into_other() -> None:
    items = [(f"k{i}", 100 - i) for i in range(30)]
    svg = charts.share_bars(items, "t", limit=12)
    assert svg.count("<rect") == 12 and ">other<" in svg
    assert "no data" in charts.share_bars([], "t")
