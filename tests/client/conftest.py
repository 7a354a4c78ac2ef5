"""Builders for fake crashed machines (pstore trees, journal exports, kdump and syslog files made
from the corpus logs) and a real ``kpanic serve`` on 127.0.0.1 to send to."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SYZKALLER

FIXTURES = ROOT / "tests" / "report" / "fixtures"
KPANIC = Path(sys.executable).parent / "kpanic"


def fixture_log(name: str) -> str:
    """A fixture file of tests/report/fixtures without its expectation header."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text.split("\n\n", 1)[1]


def corpus_log(number: int) -> str:
    """A syzkaller corpus log without its header."""
    text = (SYZKALLER / "report" / str(number)).read_text(encoding="utf-8", errors="replace")
    return text.split("\n\n", 1)[1] if "\n\n" in text else text


def deflate_raw(data: bytes) -> bytes:
    """Compressed as the kernel's pstore does (zlib deflate, negative window bits: no header)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def write_dump(
    directory: Path,
    log: str,
    *,
    backend: str = "efi",
    cuts: list[int] | None = None,
    reason: str = "Panic",
    count: int = 1,
    compress: set[int] | None = None,
    zlib_header: bool = False,
    timestamp: int = 1_764_000_000,
    slot_base: int = 0,
    skip: set[int] | None = None,
) -> list[Path]:
    """Write ``log`` as a kmsg dump split into pstore records at byte offsets ``cuts``.

    Part1 holds the end of the log, as kmsg_dump writes it; ``compress`` lists the parts
    stored as ``.enc.z``. Records are written in name order, which for ramoops is the reverse
    of the printing order. Returns the files written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    data = log.encode()
    bounds = [0, *(cuts or []), len(data)]
    chunks = [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    chunks.reverse()  # chunks[0] is the end: Part1
    paths = []
    for i, chunk in enumerate(chunks, start=1):
        if skip and i in skip:
            continue
        body = f"{reason}#{count} Part{i}\n".encode() + chunk
        if backend == "efi":
            name = f"dmesg-efi-{(timestamp * 100 + i) * 1000 + count}"
        elif backend == "erst":
            name = f"dmesg-erst-{6954302155263475000 + slot_base + i}"
        else:
            name = f"dmesg-{backend}-{slot_base + i - 1}"
        if compress and i in compress:
            body = zlib.compress(body) if zlib_header else deflate_raw(body)
            name += ".enc.z"
        path = directory / name
        path.write_bytes(body)
        os.utime(path, (timestamp, timestamp))
        paths.append(path)
    return paths


def journal_entries(log: str, boot_id: str, start_us: int = 1_764_000_000_000_000) -> list[dict]:
    """``journalctl -o json`` entries for the kernel lines of ``log`` (timestamps moved into
    the journal's fields, as journald stores kernel messages)."""
    import re

    out = []
    for i, line in enumerate(log.splitlines()):
        m = re.match(r"\s*(?:<\d+>)?\[\s*(\d+)\.(\d+)\]\s?(.*)", line)
        mono = int(m.group(1)) * 1_000_000 + int(m.group(2)[:6].ljust(6, "0")) if m else i
        msg = m.group(3) if m else line
        out.append(
            {
                "_BOOT_ID": boot_id,
                "_TRANSPORT": "kernel",
                "SYSLOG_IDENTIFIER": "kernel",
                "PRIORITY": "4",
                "__REALTIME_TIMESTAMP": str(start_us + mono),
                "_SOURCE_MONOTONIC_TIMESTAMP": str(mono),
                "MESSAGE": msg,
            }
        )
    return out


def fake_journalctl(directory: Path, boots: list[list[dict]], *, fail: str | None = None) -> Path:
    """An executable standing in for journalctl: ``-b -N`` prints boot N's export (``boots[0]``
    is the boot before this one), records its arguments, and refuses what it does not know."""
    directory.mkdir(parents=True, exist_ok=True)
    for n, entries in enumerate(boots, start=1):
        (directory / f"boot-{n}.json").write_text(
            "".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8"
        )
    script = directory / "journalctl"
    script.write_text(
        f"""#!{sys.executable}
import sys, pathlib
d = pathlib.Path({str(directory)!r})
args = sys.argv[1:]
with open(d / "calls.log", "a") as fh:
    fh.write(" ".join(args) + "\\n")
fail = {fail!r}
if fail:
    print(fail, file=sys.stderr)
    sys.exit(1)
assert "-k" in args and "-o" in args and args[args.index("-o") + 1] == "json", args
n = int(args[args.index("-b") + 1].lstrip("-"))
f = d / f"boot-{{n}}.json"
if not f.exists():
    print(f"Data from the specified boot (-{{n}}) is not available", file=sys.stderr)
    sys.exit(1)
sys.stdout.write(f.read_text())
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def run_kpanic(
    *args: str, env: dict[str, str] | None = None, input: bytes | None = None, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """The installed command, as a person runs it."""
    full_env = {**os.environ, "KPANIC_CLIENT_CONFIG": os.devnull, **(env or {})}
    return subprocess.run(
        [str(KPANIC), *args],
        capture_output=True,
        text=input is None,
        input=input,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """``kpanic serve`` on a fixed loopback port (stop and start it again on the same port)."""

    db: Path
    port: int
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        env = {**os.environ, "KPANIC_RATE_LIMIT": "0", **self.env}
        env.pop("KPANIC_DATABASE_URL", None)
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [str(KPANIC), "serve", "--db", f"sqlite:///{self.db}", "--port", str(self.port)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
        fh.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kpanic serve exited:\n" + self.log.read_text())
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("kpanic serve did not start:\n" + self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def reports(self) -> list[dict]:
        r = httpx.get(self.url + "/api/v1/reports", params={"per_page": 100}, timeout=10)
        r.raise_for_status()
        return r.json()["items"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path / "server.db", free_port(), tmp_path / "server.log").start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def stopped_server(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path / "server.db", free_port(), tmp_path / "server.log")
    try:
        yield s
    finally:
        s.stop()
