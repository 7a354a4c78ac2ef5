"""The code base stays ruff clean: linting is part of the one test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a dev dependency: run ./install.sh"
    targets = [d for d in ("src", "tests", "benchmarks") if (ROOT / d).is_dir()]
    proc = subprocess.run([ruff, "check", *targets], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
