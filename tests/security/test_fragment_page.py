"""Defect 12: the fragment page's error path gives feedback (no duplicate element ids sending the
result to a hidden element), and a damaged legacy link that decodes to no text does not ask for
consent to "0 characters" of log."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.security.conftest import make_client, vectors

ID = re.compile(r'\bid="([^"]+)"')


def test_fragment_page_has_unique_element_ids(db_url: str) -> None:
    with make_client(db_url) as c:
        html = c.get("/report").text
    dupes = [i for i, n in Counter(ID.findall(html)).items() if n > 1]
    assert dupes == []


@pytest.mark.browser
def test_damaged_legacy_link_explains_and_reports_back(page, module_server) -> None:  # type: ignore[no-untyped-def]
    # A damaged zl= link: the first 8 digits of a real one decode to bytes that inflate to
    # nothing (0 characters, "incorrect header check").
    vector = next(
        v for v in vectors("legacy") if v["mode"] == "url" and v["url"] and v["data_kind"] == "zlib"
    )
    digits = vector["url"][len(vector["url_prefix"]) :][:8]
    page.goto(f"{module_server.url}/report#?a=x86_64&v=6.12.0&zl={digits}")
    page.wait_for_function(
        "() => !document.getElementById('fragment-working') ||"
        " document.getElementById('fragment-working').hidden"
    )
    assert page.is_hidden("#fragment-decoded"), "consent asked for a log of 0 characters"
    assert page.is_visible("#fragment-error")
    summary = page.text_content("#frag-undecoded-summary") or ""
    assert f"{len(digits)} digits" in summary and "x86_64" in summary
    page.click("#submit-undecoded")
    page.wait_for_function(
        "() => document.getElementById('submit-status').textContent.length > 0"
        " && !document.getElementById('submit-status').textContent"
        ".startsWith('Sending')"
    )
    assert page.is_visible("#submit-status")
    assert (page.text_content("#submit-status") or "").strip()
