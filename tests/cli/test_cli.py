"""The ``kpanic`` command as a person runs it (the installed ``.venv/bin/kpanic``): exit codes,
one-line errors that name the file once, never a traceback, start-up time, completion."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

KPANIC = Path(sys.executable).parent / "kpanic"
FIXTURES = ROOT / "tests" / "report" / "fixtures"
OOPS = FIXTURES / "riscv-kvm-null-deref.txt"


def kp(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    full = {**os.environ, "KPANIC_CLIENT_CONFIG": os.devnull, **(env or {})}
    full.pop("KPANIC_DEBUG", None)
    r = subprocess.run(
        [str(KPANIC), *args], capture_output=True, env=full, input=stdin, timeout=300,
        cwd=cwd, check=False,
    )  # fmt: skip
    out, err = r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    return subprocess.CompletedProcess(r.args, r.returncode, out, err)


def one_line_error(r: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert r.returncode not in (0, 70), (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr + r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def _cpu_seconds(*args: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = kp(*args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.returncode == 0
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# --------------------------------------------------------------------------- start-up, help


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_start_up_is_fast(args: tuple[str, ...]) -> None:
    """Measured as CPU time (the wall clock of a loaded CI machine says little); the best of
    three runs, as `time` would be read."""
    best = min(_cpu_seconds(*args) for _ in range(3))
    assert best < 0.2, f"kpanic {' '.join(args)} took {best:.3f} s of CPU"


def test_help_lists_exactly_the_commands_that_exist() -> None:
    from kpanic.cli import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    registered = {c.dest: c.help for c in sub._choices_actions}
    assert registered == {name: text for name, (_m, text) in COMMANDS.items()}
    out = kp("--help").stdout
    for name in COMMANDS:
        assert f"    {name}" in out
        r = kp(name, "--help")
        assert r.returncode == 0 and f"usage: kpanic {name}" in r.stdout, name


def test_literal_choices_agree_with_the_modules() -> None:
    from kpanic.cli import parse as cli_parse
    from kpanic.cli import qr as cli_qr
    from kpanic.qr.encode import ENCODINGS
    from kpanic.report import DEFAULT_MAX_BYTES

    assert cli_qr.ENCODINGS == ENCODINGS
    assert cli_parse.DEFAULT_MAX_BYTES == DEFAULT_MAX_BYTES


def test_every_option_and_argument_of_every_command_is_explained() -> None:
    import argparse

    from kpanic.cli import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif action.dest not in ("help", "version") and not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "kpanic")
    assert missing == []
    out = kp("collect", "--help").stdout
    assert "--send" in out and "--show" in out and "--root" in out


# --------------------------------------------------------------------------- errors


def test_qr_encode_bad_inputs_are_one_line(tmp_path: Path) -> None:
    one_line_error(kp("qr", "encode", str(tmp_path / "nope.txt")), "nope.txt: no such file")
    one_line_error(kp("qr", "encode", str(tmp_path)), f"{tmp_path}: is a directory")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    one_line_error(kp("qr", "encode", str(empty)), "empty.txt: is empty")
    line = one_line_error(kp("qr", "encode", str(tmp_path / "nope.txt")))
    assert line.count("nope.txt") == 1


def test_unwritable_outputs_are_one_line_and_create_nothing(tmp_path: Path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir"
    r = kp("qr", "encode", str(OOPS), "--format", "png", "-o", str(missing_dir / "x.png"))
    one_line_error(r, "does not exist")
    assert not (tmp_path / "no").exists()
    one_line_error(kp("qr", "encode", str(OOPS), "-o", str(tmp_path)), "is a directory")
    one_line_error(kp("qr", "encode", str(OOPS), "-o", "/proc/kpanic-test.txt"), "cannot write")
    r = kp("stats", str(FIXTURES), "--plot", str(missing_dir / "c.png"))
    one_line_error(r, "c.png", "does not exist")
    assert not (tmp_path / "no").exists()
    one_line_error(kp("stats", str(FIXTURES), "--plot", str(tmp_path)), "is a directory")


def test_an_unexpected_failure_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    long_url = "https://x.example/r?z=" + "1" * 5000
    r = kp("submit", "--server", "http://127.0.0.1:9", long_url,
           env={"KPANIC_CLIENT_STATE_DIR": str(tmp_path)})  # fmt: skip
    assert "Traceback" not in r.stderr
    assert r.returncode == 75  # the server is down: spooled, not a crash


def test_serve_refuses_a_port_out_of_range() -> None:
    r = kp("serve", "--port", "99999")
    assert r.returncode == 2
    assert "99999 is not a TCP port (1-65535)" in r.stderr


def test_db_current_creates_no_database_and_db_creates_no_directory(tmp_path: Path) -> None:
    db = tmp_path / "kpanic.db"
    one_line_error(kp("db", "current", "--db", f"sqlite:///{db}"), "no database here")
    assert not db.exists()
    deep = tmp_path / "missing" / "kpanic.db"
    for args in (("db", "upgrade"), ("token", "list"), ("import", str(OOPS))):
        one_line_error(kp(*args, "--db", f"sqlite:///{deep}"), "does not exist")
    assert not (tmp_path / "missing").exists()
    assert kp("db", "upgrade", "--db", f"sqlite:///{db}").returncode == 0
    r = kp("db", "current", "--db", f"sqlite:///{db}")
    assert r.returncode == 0 and "up to date" in r.stdout


def test_token_create_name_as_documented(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    r = kp("token", "create", "ci-bot", "--db", db)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip()) >= 20 and "(ci-bot) created" in r.stderr
    r = kp("token", "create", "--name", "other", "--db", db)
    assert r.returncode == 0
    listed = kp("token", "list", "--db", db).stdout
    assert "ci-bot" in listed and "other" in listed


# --------------------------------------------------------------------------- several inputs


def _url(distro: str | None = "debian") -> str:
    from kpanic.qr import kmsg

    prefix = kmsg.build_url("https://crash.example/r", arch="aarch64", kernel="6.15.6+deb13-arm64",
                            distro=distro)  # fmt: skip
    return kmsg.url_mode(OOPS.read_bytes(), prefix, qr_version=40).code.text


def test_qr_decode_several_inputs_have_headers_with_metadata(tmp_path: Path) -> None:
    url = _url()
    f = tmp_path / "code.url"
    f.write_text(url + "\n")
    r = kp("qr", "decode", url, str(f), str(tmp_path / "missing.jpg"))
    assert r.returncode == 1
    heads = [ln for ln in r.stdout.splitlines() if ln.startswith("==> ")]
    assert len(heads) == 3
    assert heads[1] == (
        f"==> {f} <== (kernel 6.15.6+deb13-arm64, arch aarch64, distribution debian)"
    )
    assert heads[2] == f"==> {tmp_path / 'missing.jpg'} <=="
    assert "(not decoded: no such file" in r.stdout
    assert "BUG: unable to handle kernel NULL pointer" in r.stdout
    assert f"{tmp_path / 'missing.jpg'}: no such file" in r.stderr


def test_parse_goes_on_past_a_missing_file(tmp_path: Path) -> None:
    r = kp("parse", str(tmp_path / "gone.txt"), str(OOPS), "--json")
    assert r.returncode == 1
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert lines[0] == {"file": str(tmp_path / "gone.txt"), "error": "no such file"}
    assert lines[1]["title"].startswith("BUG: unable to handle kernel NULL pointer")
    assert f"{tmp_path / 'gone.txt'}: no such file" in r.stderr
    assert "1 of 2 input(s) could not be parsed" in r.stderr


def test_parse_takes_a_panic_url_and_a_photo_and_keeps_the_metadata(tmp_path: Path) -> None:
    from kpanic.qr import kmsg, render

    url = _url()
    r = kp("parse", "--json", url)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["crashed"] and out["distro"] == "debian"
    assert out["source"] == {"kind": "url", "kernel": "6.15.6+deb13-arm64", "arch": "aarch64",
                             "distro": "debian"}  # fmt: skip
    # A QR tail without the oops header: the release and arch come from the URL.
    tail = "".join(OOPS.read_text().splitlines(keepends=True)[-12:])
    prefix = kmsg.build_url("https://c.example/r", arch="aarch64", kernel="6.15.6+deb13-arm64")
    tail_url = kmsg.url_mode(tail.encode(), prefix).code.text
    out = json.loads(kp("parse", "--json", tail_url).stdout)
    assert out["kernel"] == "6.15.6+deb13-arm64" and out["arch"] == "aarch64"
    prefix = kmsg.build_url("https://crash.example/r", arch="x86_64", kernel="6.18.14+")
    png = tmp_path / "screen.png"
    png.write_bytes(render.render_png(kmsg.url_mode(OOPS.read_bytes(), prefix).code, scale=6))
    r = kp("parse", str(png))
    assert r.returncode == 0, r.stderr
    assert "6.18.14+" in r.stdout and "decoded from" in r.stdout and "a panic photo" in r.stdout


def test_stats_and_import_skip_readme_and_license_and_take_glob_exclude(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    for name in ("riscv-kvm-null-deref.txt", "mac80211-kasan-uaf-console.txt"):
        (logs / name).write_text((FIXTURES / name).read_text())
    (logs / "sub" / "btrfs.log").write_text((FIXTURES / "btrfs-refcount-warning.txt").read_text())
    (logs / "README.md").write_text("# my logs\n")
    (logs / "LICENSE").write_text("Apache License 2.0\n")
    r = kp("stats", str(logs), "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["logs"] == 3
    assert "skipped 2 README/LICENSE-like file(s) (LICENSE, README.md)" in r.stderr
    r = kp("stats", str(logs), "--json", "--glob", "*.txt", "--exclude", "mac80211*")
    assert json.loads(r.stdout)["logs"] == 1
    assert "excluded 1 file(s) by --exclude" in r.stderr
    db = f"sqlite:///{tmp_path / 'k.db'}"
    r = kp("import", str(logs), "--db", db, "-j", "1", "--exclude", "sub/*")
    assert r.returncode == 0, r.stderr
    assert "imported 2 new reports" in r.stdout
    assert "skipped 2 README/LICENSE-like" in r.stderr and "excluded 1" in r.stderr


# --------------------------------------------------------------------------- completion, progress


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    import shutil

    r = kp("completion", shell)
    assert r.returncode == 0 and "_ARGCOMPLETE" in r.stdout and "kpanic" in r.stdout
    if shutil.which(shell):  # the shell itself accepts it
        check = subprocess.run([shell, "-n"], input=r.stdout, text=True, capture_output=True,
                               check=False)  # fmt: skip
        assert check.returncode == 0, check.stderr


def test_completion_completes_commands_and_options(tmp_path: Path) -> None:
    out = tmp_path / "completions"
    line = "kpanic coll"
    env = {"_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "_ARGCOMPLETE_STDOUT_FILENAME": str(out), "_ARGCOMPLETE_IFS": "\n"}  # fmt: skip
    kp(env=env)
    assert [w.strip() for w in out.read_text().split("\n")] == ["collect"]
    line = "kpanic collect --sen"
    env.update(COMP_LINE=line, COMP_POINT=str(len(line)))
    kp(env=env)
    assert "--send" in [w.strip() for w in out.read_text().split("\n")]


def test_progress_only_on_a_terminal_and_only_after_a_second(monkeypatch) -> None:
    import io

    from kpanic.cli import progress as prog

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    pipe = io.StringIO()
    with prog.Progress(3, "x", stream=pipe) as p:
        p.started -= 5
        p.advance()
    assert pipe.getvalue() == "" and p._bar is None
    tty = Tty()
    with prog.Progress(3, "x", stream=tty) as p:
        p.advance()
        assert p._bar is None  # a fast job shows nothing
        p.started -= 5
        p.advance()
        assert p._bar is not None
    r = kp("qr", "decode", *[_url(None)] * 3)
    assert "\r" not in r.stderr and "━" not in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("parse", "{bin}"), ("parse", "{png}"), ("parse", "/dev/null"), ("parse", "{dir}"),
        ("qr", "decode", "{bin}"), ("qr", "decode", "{png}"), ("qr", "decode", "{dir}"),
        ("qr", "encode", "/dev/null"), ("stats", "/dev/null"), ("import", "{dir}", "--db", "{db}"),
        ("collect", "--root", "{bin}"), ("collect", "--root", "{dir}", "--since", "yesterday"),
        ("submit", "--server", "http://127.0.0.1:9", "{dir}"),
        ("token", "revoke", "99", "--db", "{db}"), ("report", "delete", "5", "--db", "{db}"),
    ],
)  # fmt: skip
def test_bad_inputs_never_show_a_traceback(tmp_path: Path, args: tuple[str, ...]) -> None:
    work = tmp_path / "w"
    work.mkdir()
    (work / "bin.dat").write_bytes(bytes(range(256)) * 12)
    (work / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    subst = {"bin": str(work / "bin.dat"), "png": str(work / "fake.png"), "dir": str(work),
             "db": f"sqlite:///{tmp_path / 'k.db'}"}  # fmt: skip
    r = kp(*(a.format(**subst) for a in args), env={"KPANIC_CLIENT_STATE_DIR": str(tmp_path)})
    assert "Traceback" not in r.stderr + r.stdout
    assert r.returncode in (0, 1, 2, 75), r.stderr
    assert r.returncode != 70, r.stderr  # an internal error
    if r.returncode:
        assert r.stderr.strip(), "a failure says why"
