"""SECURITY.md's limits table says what the code does: every default there is the code's."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _rows() -> dict[str, str]:
    text = (ROOT / "SECURITY.md").read_text()
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("Limit", "---"):
            rows[cells[0]] = cells[1]
    return rows


def _number(cell: str) -> float:
    m = re.match(r"[\d.]+", cell)
    assert m, cell
    return float(m.group(0))


def test_limits_table_matches_the_code() -> None:
    from kpanic.settings import get_settings
    from kpanic.web.config import ServerLimits, WebConfig
    from kpanic.web.params import MAX_ID

    s = get_settings("sqlite:///x.db")
    w = WebConfig()
    srv = ServerLimits()
    rows = _rows()
    expected = {
        "Request body": s.max_photo_bytes + 256 * 1024,
        "Photo upload": s.max_photo_bytes,
        "Photo pixels": w.max_photo_pixels,
        "Raw log (API, upload and web form)": s.max_log_bytes,
        "Panic URL / QR payload (web)": w.max_url_chars,
        "Panic URL (CLI import)": s.max_url_chars,
        "Decompressed panic log (zip bombs)": w.max_kmsg_bytes,
        "Processing time per submission": w.processing_timeout_s,
        "Submissions per client": w.rate_limit,
        "Request head (request line + headers)": srv.max_header_bytes,
        "Header fields per request": srv.max_headers,
        "Time to send the request head": srv.header_timeout_s,
        "Idle keep-alive": srv.keep_alive_s,
        "Open connections per process": srv.max_connections,
        "Open connections per client address and process": srv.max_connections_per_client,
        "Admin session": w.session_max_age_s,
        "Full texts kept per group": s.sample_limit,
    }
    for name, value in expected.items():
        assert name in rows, name
        assert _number(rows[name]) == value, (name, rows[name], value)
    assert str(MAX_ID) in rows["Ids (paths, merge lists and forms)"]
    assert f"per {w.rate_window_s} s" in rows["Submissions per client"]
