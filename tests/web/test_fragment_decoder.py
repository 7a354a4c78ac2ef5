"""The in-browser decoder of /report#... against the kernel's own QR vectors (real Chromium)."""

from __future__ import annotations

import pytest

from tests.web.conftest import vectors

pytestmark = pytest.mark.browser

DECODE_ALL = """
async (items) => {
  const out = [];
  for (const it of items) {
    try {
      const bytes = it.enc === "z" ? KpanicPanic.fido2ToBytes(it.digits)
                                   : KpanicPanic.legacyToBytes(it.digits);
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      let text = null, complete = null;
      if (it.inflate) {
        const r = await KpanicPanic.inflate(bytes);
        text = new TextDecoder().decode(r.bytes);
        complete = r.complete;
      }
      out.push({hex, text, complete, error: null});
    } catch (e) {
      out.push({hex: null, text: null, complete: null, error: String(e.message || e)});
    }
  }
  return out;
}
"""


def _digits(url: str, prefix: str) -> str:
    assert url.startswith(prefix)
    return url[len(prefix) :]


@pytest.fixture
def decoder_page(page, module_server):  # type: ignore[no-untyped-def]
    page.goto(module_server.url + "/report")
    page.wait_for_function("() => window.KpanicPanic !== undefined")
    return page


@pytest.mark.parametrize("encoder", ["fido2", "legacy"])
def test_digits_to_bytes_matches_every_vector(decoder_page, encoder: str) -> None:  # type: ignore[no-untyped-def]
    vs = [v for v in vectors(encoder) if v["mode"] == "url" and v["url"]]
    assert len(vs) > 50
    items = [
        {
            "enc": "z" if encoder == "fido2" else "zl",
            "digits": _digits(v["url"], v["url_prefix"]),
            "inflate": v["data_kind"] == "zlib",
        }
        for v in vs
    ]
    results = decoder_page.evaluate(DECODE_ALL, items)
    checked_text = 0
    for v, r in zip(vs, results, strict=True):
        defect = v.get("legacy_tail_defect", "none")
        if defect == "wrong_digits":
            # The kernel's digits do not encode the input: the decoder must not claim they do.
            assert r["hex"] != v["data_hex"], v["id"]
            continue
        assert r["error"] is None, (v["id"], r["error"])
        assert r["hex"] == v["data_hex"], v["id"]
        if v["data_kind"] == "zlib":
            assert r["complete"], v["id"]
            assert r["text"] == v["plaintext"], v["id"]
            checked_text += 1
    assert checked_text > 10


def test_invalid_legacy_groups_are_refused(decoder_page) -> None:  # type: ignore[no-untyped-def]
    vs = [v for v in vectors("legacy") if v.get("legacy_tail_defect") == "invalid_numeric"]
    assert vs
    items = [
        {"enc": "zl", "digits": _digits(v["url_lenient"], v["url_prefix"]), "inflate": False}
        for v in vs
    ]
    for v, r in zip(vs, decoder_page.evaluate(DECODE_ALL, items), strict=True):
        # The lenient reading prints the out-of-range group with an extra digit, so the
        # length is impossible, or (same length) the group value is over its bit width.
        assert r["error"], v["id"]
        assert "too large" in r["error"] or "not a possible length" in r["error"], v["id"]


@pytest.mark.parametrize(
    ("enc", "digits", "message"),
    [
        ("z", "12a4", "not a digit"),
        ("z", "1234", "impossible"),  # 4 digits is no valid final group
        ("z", "99999999999999999", "too large"),  # 17 digits over 2**56
        ("zl", "12", "not a possible length"),
        ("zl", "99990000", "over 8191"),
    ],
)
def test_malformed_digits_give_clear_errors(
    decoder_page, enc: str, digits: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    r = decoder_page.evaluate(DECODE_ALL, [{"enc": enc, "digits": digits, "inflate": False}])[0]
    assert r["error"] is not None and message in r["error"]


def test_truncated_stream_is_shown_as_incomplete(decoder_page) -> None:  # type: ignore[no-untyped-def]
    v = next(v for v in vectors("fido2") if v["category"] == "kmsg" and v["url"])
    data = bytes.fromhex(v["data_hex"])[:-40]
    result = decoder_page.evaluate(
        """async (hex) => {
            const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
            const r = await KpanicPanic.inflate(bytes);
            return {complete: r.complete, text: new TextDecoder().decode(r.bytes)};
        }""",
        data.hex(),
    )
    assert result["complete"] is False
    assert v["plaintext"].startswith(result["text"][:200])
