"""Golden files per signature version: every old version's output is frozen.

``tests/classify/golden/<version>.tsv`` holds ``source<TAB>signature[<TAB>alternatives]`` for
every frozen input (see :mod:`tests.classify.golden_inputs`). For an old version any difference
fails and nothing rewrites an existing row: a stored group keyed by an old version must keep
its key. ``pytest --update-fixtures tests/classify/test_golden.py`` rewrites the *current*
version's file, and only adds rows for inputs that are new since an old version's file was
written (their old-version signature was never stored, so it cannot move).
"""

from __future__ import annotations

import inspect
import re
import types
from functools import cache
from pathlib import Path

import pytest

from kpanic.classify.signature import CURRENT, RULESETS, compute_signature
from tests.classify.golden_inputs import golden_inputs

GOLDEN = Path(__file__).resolve().parent / "golden"
ALT_SEP = " || "


def golden_path(version: str) -> Path:
    return GOLDEN / f"{version}.tsv"


def render_row(value: str, alternatives: tuple[str, ...]) -> str:
    return value + (("\t" + ALT_SEP.join(alternatives)) if alternatives else "")


@cache
def computed(version: str) -> dict[str, str]:
    out = {}
    for source, report in golden_inputs():
        sig = compute_signature(report, version)
        out[source] = render_row(sig.value, sig.alternatives)
    return out


def read_golden(path: Path) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line:
            continue
        source, _, rest = line.partition("\t")
        rows[source] = rest
    return rows


def write_golden(path: Path, version: str, rows: dict[str, str]) -> None:
    head = [
        f"# signature version {version}: source<TAB>signature[<TAB>alternatives joined by"
        f" '{ALT_SEP}']",
        "# inputs: tests/classify/golden_inputs.py (expectation headers + regex frames, no parser)",
        "# frozen once the version is not current; see tests/classify/test_golden.py",
    ]
    body = [f"{src}\t{val}" for src, val in sorted(rows.items())]
    path.write_text("\n".join(head + body) + "\n", encoding="utf-8")


@pytest.mark.parametrize("version", list(RULESETS))
def test_golden(version: str, update_fixtures: bool) -> None:
    path = golden_path(version)
    now = computed(version)
    assert len(now) >= 740
    stored = read_golden(path) if path.exists() else {}
    changed = {s: (stored[s], now[s]) for s in stored if s in now and stored[s] != now[s]}
    new = {s: now[s] for s in now if s not in stored}
    gone = sorted(s for s in stored if s not in now)
    if update_fixtures and version == CURRENT:
        write_golden(path, version, now)
        return
    if update_fixtures and new and not changed:
        write_golden(path, version, {**stored, **new})  # only adds never-stored rows
        stored = read_golden(path)
    shown = "\n".join(f"  {s}: {a!r} -> {b!r}" for s, (a, b) in list(changed.items())[:20])
    if version == CURRENT:
        hint = "run pytest --update-fixtures to accept the current version's new output"
    else:
        hint = f"{version} is frozen: the change must go into a new dated version"
    assert not changed, f"{len(changed)} signatures of {version} changed ({hint}):\n{shown}"
    assert stored, f"{path} is missing ({hint})"
    if version == CURRENT:
        assert not new, f"{len(new)} inputs not in {path.name}: {sorted(new)[:5]} ({hint})"
    if gone:
        print(f"\n{version}: {len(gone)} golden rows have no input any more: {gone[:5]}")
    print(f"\n{version}: {len(stored)} golden rows, {len(now) - len(new)} compared, all equal")


def test_every_version_has_a_golden_file() -> None:
    files = {p.stem for p in GOLDEN.glob("*.tsv")}
    assert files == set(RULESETS), files ^ set(RULESETS)


def test_current_is_newest_and_dated() -> None:
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v) for v in RULESETS)
    assert list(RULESETS) == sorted(RULESETS) and CURRENT == max(RULESETS)


def test_ruleset_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        RULESETS["2099-01-01"] = RULESETS[CURRENT]  # type: ignore[index]
    for rs in RULESETS.values():
        assert isinstance(rs.rules, tuple)
        with pytest.raises(AttributeError):
            rs.rules = ()  # type: ignore[misc]


_IMMUTABLE = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    re.Pattern,
    frozenset,
    types.MethodDescriptorType,
    types.BuiltinFunctionType,
)


def _captured(fn: object) -> list[object]:
    """Everything a rule's function reads besides its argument: closure cells, defaults and
    the module globals it names."""
    out: list[object] = []
    if not isinstance(fn, types.FunctionType):
        return out
    for cell in fn.__closure__ or ():
        out.append(cell.cell_contents)
    out.extend(fn.__defaults__ or ())
    names = set(fn.__code__.co_names)
    out.extend(fn.__globals__[n] for n in names if n in fn.__globals__)
    return out


def _mutable_parts(obj: object, seen: set[int], depth: int = 0) -> list[str]:
    if id(obj) in seen or depth > 6:
        return []
    seen.add(id(obj))
    if isinstance(obj, (types.ModuleType, type)) or inspect.isbuiltin(obj):
        return []
    if isinstance(obj, tuple | frozenset):
        return [m for x in obj for m in _mutable_parts(x, seen, depth + 1)]
    if isinstance(obj, types.FunctionType):
        return [m for x in _captured(obj) for m in _mutable_parts(x, seen, depth + 1)]
    if hasattr(obj, "cache_info") and hasattr(obj, "__wrapped__"):  # functools memo: pure
        return _mutable_parts(obj.__wrapped__, seen, depth + 1)
    if isinstance(obj, _IMMUTABLE):
        return []
    if hasattr(obj, "__dataclass_fields__") and obj.__dataclass_params__.frozen:
        return [m for x in vars_of(obj) for m in _mutable_parts(x, seen, depth + 1)]
    return [f"{type(obj).__name__}: {obj!r}"[:120]]


def vars_of(obj: object) -> list[object]:
    return [getattr(obj, f) for f in obj.__dataclass_fields__]  # type: ignore[attr-defined]


@pytest.mark.parametrize("version", list(RULESETS))
def test_rule_tables_are_immutable(version: str) -> None:
    """No rule reads a list, dict or set that anything could change after import: every table
    a version uses is a tuple, frozenset, string or compiled regex."""
    bad = []
    for rule in RULESETS[version].rules:
        bad += [f"{rule.id}: {m}" for m in _mutable_parts(rule.apply, set())]
    assert not bad, bad


def test_immutability_check_sees_a_list() -> None:
    from kpanic.classify.sigcore import frame_filter

    skip = ["a"]  # a version reading a list another version could append to
    rule = frame_filter(lambda f: f.function not in skip, "x")
    assert _mutable_parts(rule, set()) == ["list: ['a']"]
