"""`kpanic demo`: example crashes encoded by kpanic's own drm_panic path and decoded again."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpanic.cli import main

pytestmark = pytest.mark.slow


def test_demo_fills_a_fresh_database_with_varied_crashes(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--db", url, "--no-serve"]) == 0
    out = capsys.readouterr().out
    assert "demo admin token" in out

    from kpanic.store.repository import Repository

    with Repository(url) as repo:
        stats = repo.stats()
        assert stats.groups >= 30
        assert stats.total > stats.groups  # some crashes were reported several times
        classes = {c for c, _ in stats.by_class}
        assert len(classes) >= 10
        assert dict(stats.by_language).get("rust", 0) >= 2
        kinds = {r.source_kind for r in repo.list_reports(per_page=500).items}
        assert kinds == {"url", "photo", "log"}  # URLs, photographed screens and raw logs
        assert len({k for k, _ in stats.by_kernel}) >= 5

    # A second run does not add the examples again.
    assert main(["demo", "--db", url, "--no-serve"]) == 0
    assert "already holds reports" in capsys.readouterr().out
    with Repository(url) as repo:
        assert repo.stats().total == stats.total


def test_serve_help_lists_the_options(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for option in ("--host", "--port", "--db", "--workers", "--demo"):
        assert option in out
