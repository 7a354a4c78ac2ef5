"""Defects 4 and 7 against a real ``kpanic serve``: header size and count (431), header read
time (slowloris: 408), open connections per client and in total (503), idle connections closed;
and an access log without crash data or client addresses."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import LiveServer, kmsg_urls, start_kpanic_serve


def _addr(server) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def _exchange(server, data: bytes, timeout: float = 10) -> bytes:  # type: ignore[no-untyped-def]
    """Send ``data`` (maybe part of it refused midway) and read the answer until close."""
    with socket.create_connection(_addr(server), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _read(s)


def _read(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return out


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server with tight limits shared by the module's tests (each closes its sockets)."""
    tmp = tmp_path_factory.mktemp("guarded")
    server = start_kpanic_serve(
        f"sqlite:///{tmp / 'guarded.db'}",
        tmp / "server.log",
        env={
            "KPANIC_HEADER_TIMEOUT": "1",
            "KPANIC_MAX_CONNECTIONS_PER_CLIENT": "5",
            "KPANIC_MAX_HEADERS": "50",
            "KPANIC_MAX_HEADER_BYTES": "8192",
        },
    )
    try:
        yield server
    finally:
        server.stop()


def test_oversized_header_is_431_and_fast(guarded) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    answer = _exchange(guarded, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5_000_000)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert b"content-security-policy" in answer.lower()
    assert time.monotonic() - started < 5
    assert httpx.get(guarded.url + "/healthz").status_code == 200  # the server is fine


def test_too_many_headers_is_431(guarded) -> None:  # type: ignore[no-untyped-def]
    fields = b"".join(b"X-H%d: v\r\n" % i for i in range(60))
    answer = _exchange(guarded, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    ok = b"".join(b"X-H%d: v\r\n" % i for i in range(40))
    answer = _exchange(
        guarded, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + ok + b"\r\n"
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:100]


def test_slowloris_headers_are_cut_off(guarded) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(_addr(guarded), timeout=10) as s:
        started = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        s.settimeout(0.25)
        while time.monotonic() - started < 8:
            try:
                s.sendall(b"X")  # one byte at a time, never ending the headers
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert elapsed < 4, elapsed


def test_idle_connections_are_closed(guarded) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(_addr(guarded), timeout=6) as s:
        started = time.monotonic()
        assert _read(s) == b""  # closed by the server without a word
        assert time.monotonic() - started < 4


def test_connections_per_client_are_capped(guarded) -> None:  # type: ignore[no-untyped-def]
    held = [socket.create_connection(_addr(guarded), timeout=5) for _ in range(5)]
    try:
        time.sleep(0.2)
        with socket.create_connection(_addr(guarded), timeout=5) as extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = _read(extra)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
    finally:
        for s in held:
            s.close()
    time.sleep(0.3)
    assert httpx.get(guarded.url + "/healthz").status_code == 200


def test_total_connections_are_capped(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(env={"KPANIC_MAX_CONNECTIONS": "6", "KPANIC_MAX_CONNECTIONS_PER_CLIENT": "100"})
    held = [socket.create_connection(_addr(server), timeout=5) for _ in range(6)]
    try:
        time.sleep(0.2)
        with socket.create_connection(_addr(server), timeout=5) as extra:
            answer = _read(extra)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:100]
    finally:
        for s in held:
            s.close()


def _panic_url() -> str:
    return kmsg_urls()[0]["url"]


def test_access_log_has_no_crash_data_and_no_client_address(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve()
    url = _panic_url()
    query = url.split("?", 1)[1]
    digits = query.split("z=", 1)[1].split("&", 1)[0]
    r = httpx.get(f"{server.url}/report?{query}&d=secret-distro&page=2")
    assert r.status_code in (200, 422), r.status_code
    time.sleep(0.5)
    log = server.log()
    assert "/report?" in log  # the request is logged...
    assert digits[:40] not in log  # ...without the compressed log
    assert "secret-distro" not in log
    assert "page=2" in log  # harmless parameters stay readable
    assert "127.0.0.1:" not in log.split("CTRL+C to quit)")[-1]


def test_access_log_names_the_client_only_when_configured(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(env={"KPANIC_ACCESS_LOG_CLIENT": "1"})
    httpx.get(server.url + "/groups")
    time.sleep(0.5)
    assert "127.0.0.1:" in server.log().split("CTRL+C to quit)")[-1]
