"""The machine id at intake: header or JSON field, validated, stored keyed, counted, not shown."""

from __future__ import annotations

from tests.web.conftest import demo_log

MID = "0123456789abcdef0123456789abcdef"


def test_machine_id_is_counted_and_never_shown(client) -> None:  # type: ignore[no-untyped-def]
    log = demo_log(428)
    # two reports of one crash (different last lines: neither is a piece of the other)
    a = client.post(
        "/api/v1/reports?wait=10",
        json={"log": log + "[ 9999.000001] random: crng reseeded\n", "machine": MID},
    )
    assert a.status_code == 201, a.text
    b = client.post(
        "/api/v1/reports?wait=10",
        json={"log": log + "[ 9999.000002] random: crng reseeded\n"},
        headers={"x-kpanic-machine": "f" * 32},
    )
    assert b.status_code == 201 and b.json()["group_id"] == a.json()["group_id"]
    group = client.get(f"/api/v1/groups/{a.json()['group_id']}").json()
    assert group["group"]["machine_count"] == 2
    for rid in (a.json()["id"], b.json()["id"]):
        text = client.get(f"/api/v1/reports/{rid}").text
        assert MID not in text and "f" * 32 not in text
    repo = client.app.state.repo
    with repo.engine.connect() as conn:
        from sqlalchemy import select

        from kpanic.store.models import Report

        stored = set(conn.scalars(select(Report.machine)))
    assert MID not in stored and len(stored) == 2  # keyed with the installation secret


def test_malformed_machine_ids_are_a_422(client) -> None:  # type: ignore[no-untyped-def]
    for bad in ("xyz", "0" * 31, "g" * 32, MID + "0"):
        r = client.post("/api/v1/reports", json={"log": demo_log(143), "machine": bad})
        assert r.status_code == 422, (bad, r.text)
        h = client.post(
            "/api/v1/reports", json={"log": demo_log(143)}, headers={"x-kpanic-machine": bad}
        )
        assert h.status_code == 422, (bad, h.text)
