"""Defect 5: behind a trusted proxy the client is the address the proxy appended to
X-Forwarded-For, never the entry the client chose (which voided the rate limit)."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import demo_log, make_client


def test_rotating_the_first_forwarded_entry_does_not_escape_the_rate_limit(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(env={"KPANIC_RATE_LIMIT": "3", "KPANIC_TRUST_FORWARDED_FOR": "1"})
    log = demo_log(143)
    codes = []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for n in range(6):
            # The client invents the first entry; the proxy appends the address it saw.
            forwarded = f"10.{n}.{n}.{n}, 198.51.100.7"
            r = http.post(
                "/api/v1/reports", json={"log": log}, headers={"x-forwarded-for": forwarded}
            )
            codes.append(r.status_code)
    assert 429 not in codes[:3], codes
    assert codes[3:] == [429, 429, 429], codes


def test_the_proxy_appended_address_is_the_client(db_url: str) -> None:
    with make_client(db_url, rate_limit=2, trusted_proxy_hops=1) as c:
        log = demo_log(428)
        a = [
            c.post(
                "/api/v1/reports",
                json={"log": log},
                headers={"x-forwarded-for": f"evil-{n}, 203.0.113.{n}"},
            ).status_code
            for n in range(4)
        ]
        # four different real clients: none of them is over its budget of 2
        assert 429 not in a, a


@pytest.mark.parametrize(
    ("peer", "headers", "hops", "proxies", "expected"),
    [
        # one proxy: the last entry is what it saw; the first is the client's invention
        ("10.0.0.1", ["1.1.1.1, 203.0.113.9"], 1, (), "203.0.113.9"),
        # two proxies: the entry the outer one appended
        ("10.0.0.1", ["1.1.1.1, 203.0.113.9, 10.0.0.2"], 2, (), "203.0.113.9"),
        # header shorter than the hops: the client sent nothing a proxy wrote; keep the peer
        ("10.0.0.1", ["203.0.113.9"], 2, (), "10.0.0.1"),
        # several header lines count as one list
        ("10.0.0.1", ["6.6.6.6", "203.0.113.9"], 1, (), "203.0.113.9"),
        # an entry that is not an address is never taken
        ("10.0.0.1", ["1.1.1.1, bogus"], 1, (), "10.0.0.1"),
        # trusted proxy addresses: walk past them from the right
        ("10.0.0.1", ["6.6.6.6, 203.0.113.9, 10.0.0.2"], 0, ("10.0.0.0/8",), "203.0.113.9"),
        # a peer that is not a trusted proxy: the header is ignored altogether
        ("192.0.2.50", ["203.0.113.9"], 0, ("10.0.0.0/8",), "192.0.2.50"),
        # only trusted proxies in the header: the peer
        ("10.0.0.1", ["10.0.0.3"], 0, ("10.0.0.0/8",), "10.0.0.1"),
        # IPv6 with brackets and ports are normalised
        ("10.0.0.1", ["[2001:db8::1]:4711"], 1, (), "2001:db8::1"),
        ("10.0.0.1", ["203.0.113.9:4711"], 1, (), "203.0.113.9"),
    ],
)
def test_forwarded_client(
    peer: str, headers: list[str], hops: int, proxies: tuple[str, ...], expected: str
) -> None:
    from kpanic.web.deps import forwarded_client

    assert forwarded_client(peer, headers, hops=hops, proxies=proxies) == expected
