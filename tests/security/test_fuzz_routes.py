"""A fuzz target per route: hypothesis drives every route of the app (the JSON API from its
OpenAPI-described signature, the pages and forms from theirs) with hostile path ids, query
values, JSON and form bodies and uploads, as a visitor and as an admin, on SQLite and
PostgreSQL. The README's promise is checked on every answer: never a 5xx.

Bounded: a fixed number of examples per route (KPANIC_FUZZ_EXAMPLES, default 8) and a
deadline for the whole file of about a minute on SQLite plus PostgreSQL. Lone UTF-16
surrogates are left out of the text here: they are defect 8 of issue 12 (the service intake's)
and have their own property test there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.web.conftest import PG_HOST, PG_PORT, _pg_admin, demo_log, postgres_reachable

EXAMPLES = int(os.environ.get("KPANIC_FUZZ_EXAMPLES", "8"))

# Text as a client can send it: any Unicode scalar value (NUL and controls included).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, 2**63 - 1, 2**63]))
HOSTILE = [
    "",
    "\x00",
    "a\x00b",
    "2025-06-30",
    "../../etc/passwd",
    "' OR 1=1 --",
    "%00",
    "a" * 300,
    str(2**63),
    "-1",
    "\u202e",
    "\ufeff",
    "<script>",
    "9" * 40,
]
VALUE = st.one_of(st.sampled_from(HOSTILE), TEXT, NUMBER.map(str))
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBER, TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=8,
)


def _routes() -> list[APIRoute]:
    from kpanic.web.app import create_app

    app = create_app(_settings(f"sqlite:///{Path('/nonexistent')}/x.db"), migrate=False)
    out: list[APIRoute] = []
    stack = list(app.routes)
    while stack:
        route = stack.pop(0)
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # FastAPI >= 0.160 wraps included routers
            stack += list(route.original_router.routes)
    return out


def _settings(url: str) -> Any:
    from kpanic.settings import get_settings

    return get_settings(url)


class Target:
    """One app on one database, an admin token and a CSRF token for it."""

    def __init__(self, url: str) -> None:
        from fastapi.testclient import TestClient

        from kpanic.web.app import create_app
        from kpanic.web.config import WebConfig

        cfg = WebConfig()
        cfg.rate_limit = 0
        cfg.processing_timeout_s = 5.0
        cfg.embedded_workers = True  # the analysis workers as threads of this process
        self.client = TestClient(
            create_app(_settings(url), cfg), raise_server_exceptions=False
        ).__enter__()
        repo = self.client.app.state.repo  # type: ignore[attr-defined]
        self.token = repo.create_token("fuzz").token
        made = self.client.post("/api/v1/reports?wait=10", json={"log": demo_log(143)}).json()
        self.report, self.group = int(made["id"]), int(made["group_id"])
        self.client.get("/submit")
        self.csrf = str(self.client.cookies["kpanic_csrf"])

    def close(self) -> None:
        self.client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    target = Target(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}")
    yield target
    target.close()


@pytest.fixture(scope="module")
def pg_target() -> Iterator[Target]:
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable")
    name = f"kpanic_test_fuzz_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    target = Target(f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}")
    try:
        yield target
    finally:
        target.close()
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@st.composite
def requests(draw: st.DrawFn, route: APIRoute, target: Target) -> dict[str, Any]:
    dep = get_flat_dependant(route.dependant)
    path = route.path_format
    for param in dep.path_params:
        value = draw(
            st.one_of(
                NUMBER.map(str), TEXT, st.just(str(target.report)), st.just(str(target.group))
            )
        )
        path = path.replace("{" + param.name + "}", quote(value, safe="") or "0")
    params = {p.name: draw(VALUE) for p in dep.query_params if draw(st.booleans())}
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["authorization"] = f"Bearer {target.token}"
    request: dict[str, Any] = {
        "method": draw(st.sampled_from(sorted(route.methods))),
        "url": path,
        "params": params,
        "headers": headers,
    }
    forms = [b for b in dep.body_params if type(b.field_info).__name__ in ("Form", "File")]
    if forms:
        data = {b.alias: draw(VALUE) for b in forms if type(b.field_info).__name__ == "Form"}
        if "csrf_token" in data and draw(st.booleans()):
            data["csrf_token"] = target.csrf
        files = {
            b.alias: ("f.bin", draw(st.binary(max_size=200)), "application/octet-stream")
            for b in forms
            if type(b.field_info).__name__ == "File" and draw(st.booleans())
        }
        request["data"] = data
        if files:
            request["files"] = files
    elif dep.body_params or route.path_format == "/submit":
        if route.path_format == "/submit":  # parses its form itself
            request["data"] = {
                "kind": draw(st.sampled_from(["url", "log", "photo", "x"])),
                "url": draw(VALUE),
                "log": draw(VALUE),
                "csrf_token": target.csrf if draw(st.booleans()) else draw(VALUE),
            }
        else:
            names = [f for b in dep.body_params for f in _fields(b)]
            body = {n: draw(JSON) for n in names if draw(st.booleans())}
            request["json"] = draw(st.one_of(st.just(body), JSON))
    return request


class Flat:
    """A route's parameters, its dependencies' included (FastAPI keeps them in a tree)."""

    def __init__(self, dependant: Any) -> None:
        self.path_params: list[Any] = []
        self.query_params: list[Any] = []
        self.body_params: list[Any] = []
        stack = [dependant]
        while stack:
            dep = stack.pop()
            self.path_params += dep.path_params
            self.query_params += dep.query_params
            self.body_params += dep.body_params
            stack += dep.dependencies


def get_flat_dependant(dependant: Any) -> Flat:
    return Flat(dependant)


def _fields(body_param: Any) -> list[str]:
    annotation = getattr(body_param.field_info, "annotation", None)
    fields = getattr(annotation, "model_fields", None)
    return list(fields) if fields else [body_param.alias]


ROUTES = _routes()


# Hand-made worst cases sent to every route before the random ones: a NUL in every query
# value, ids one past the databases' range, the same in every JSON field and form field.
WORST = [("a\x00b", str(2**63)), ("9" * 40, "-1"), ("%00", str(2**64))]


def _worst(route: APIRoute, target: Target) -> list[dict[str, Any]]:
    dep = get_flat_dependant(route.dependant)
    out = []
    for (text, number), ids in [(w, i) for w in WORST for i in ("bad", "good")]:
        path = route.path_format
        for param in dep.path_params:  # a bad id, or a real one so that the body is read
            path = path.replace("{" + param.name + "}", number if ids == "bad" else "1")
        params = {p.name: text for p in dep.query_params}
        names = [f for b in dep.body_params for f in _fields(b)]
        for method in sorted(route.methods):
            req: dict[str, Any] = {
                "method": method,
                "url": path,
                "params": params,
                "headers": {"authorization": f"Bearer {target.token}"},
            }
            if method != "GET" and names:
                if any(type(b.field_info).__name__ in ("Form", "File") for b in dep.body_params):
                    req["data"] = {n: (target.csrf if n == "csrf_token" else text) for n in names}
                else:
                    req["json"] = {n: [int(number)] if "ids" in n else text for n in names}
            out.append(req)
        for param in dep.query_params:  # one at a time: no other bad value may mask it
            for method in sorted(route.methods):
                out.append(
                    {
                        "method": method,
                        "url": path.replace(number, "1"),
                        "params": {param.name: text},
                    }
                )
    return out


def _fuzz(route: APIRoute, target: Target) -> None:
    for req in _worst(route, target):
        r = target.client.request(follow_redirects=False, **req)
        assert r.status_code < 500, (req, r.status_code, r.text[:300])

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        req = data.draw(requests(route, target))
        r = target.client.request(follow_redirects=False, **req)
        assert r.status_code < 500, (req, r.status_code, r.text[:300])

    run()


@pytest.mark.parametrize("route", ROUTES, ids=[f"{sorted(r.methods)[0]} {r.path}" for r in ROUTES])
def test_fuzz_route_sqlite(route: APIRoute, sqlite_target: Target) -> None:
    _fuzz(route, sqlite_target)


@pytest.mark.postgres
@pytest.mark.parametrize("route", ROUTES, ids=[f"{sorted(r.methods)[0]} {r.path}" for r in ROUTES])
def test_fuzz_route_postgres(route: APIRoute, pg_target: Target) -> None:
    _fuzz(route, pg_target)
