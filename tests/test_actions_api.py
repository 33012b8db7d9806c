"""The improvement actions' JSON API on the selected database: an API key with ``actions:read``
lists the actions with their measured effect and reads one with its history; other keys and
strangers get nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from action_data import plant_survey
from patronage.actions.records import create_action, update_action
from patronage.api_keys import create_key
from patronage.settings import Settings
from patronage.web import create_app

pytestmark = pytest.mark.db


def test_actions_read_by_api_key(engine, db_url):
    plant_survey(engine)
    number = create_action(engine, title="缩短服务响应时间", due="2026-03-31",
                           metric="item:speed_timeliness", survey="planted", target="0.5",
                           segment="region=East China", baseline_wave="2026-Q1")
    update_action(engine, number, status="done", note="完成")
    reader = create_key(engine, "bi", ["actions:read"])
    other = create_key(engine, "hotline", ["cases:read"])
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        listed = client.get("/api/actions", headers={"Authorization": f"Bearer {reader}"})
        assert listed.status_code == 200
        body = listed.json()
        assert body["counts"]["achieved"] == 1
        (row,) = body["actions"]
        assert (row["id"], row["group"], row["due_on"], row["segment"]) == (
            number, "achieved", "2026-03-31", "region=East+China")
        effect = row["effect"]
        assert effect["method"] == "did" and effect["significant"] and effect["achieved"]
        assert effect["ci_low"] < effect["change"] < effect["ci_high"]
        low, high = effect["intervals"]["after"]
        assert low < effect["after"] < high
        assert (effect["n_before"], effect["before_label"], effect["after_label"]) == (
            120, "2026-Q1", "2026-Q2")
        assert row["sentence"].endswith("target +0.50 reached")
        one = client.get(f"/api/actions/{number}", headers={"Authorization": f"Bearer {reader}"})
        assert [e["kind"] for e in one.json()["history"]] == ["created", "status"]
        assert client.get("/api/actions/99", headers={
            "Authorization": f"Bearer {reader}"}).status_code == 404
        bad = client.get("/api/actions?status=finished",
                         headers={"Authorization": f"Bearer {reader}"})
        assert bad.status_code == 422 and "status" in bad.json()["error"]
        assert client.get("/api/actions", headers={
            "Authorization": f"Bearer {other}"}).status_code == 403
        assert client.get("/api/actions", headers={
            "Authorization": "Bearer pat_nothing"}).status_code == 401
        assert client.get("/api/actions").status_code in (401, 303)
