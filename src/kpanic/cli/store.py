"""`kpanic` sub-commands of this area (owned by the area's module; filled in as it lands)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the `kpanic` parser."""
