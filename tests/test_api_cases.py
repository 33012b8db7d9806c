"""The case API for integrations: API keys (hash stored, scopes, revocation, per-key limit) and
staff sessions (CSRF on writes)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.api_keys import create_key, list_keys, revoke_key
from patronage.cli import main
from patronage.messages import UserError
from patronage.settings import Settings
from patronage.storage.schema_cases import api_keys
from patronage.web import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def app_client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url, api_requests_per_minute=5))
    with TestClient(app) as client:
        client.engine = engine
        client.info = info
        yield client


def _bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_a_hotline_opens_and_reads_a_case_with_its_key(app_client):
    key = create_key(app_client.engine, "hotline", ["cases:write", "cases:read"])
    with app_client.engine.connect() as conn:
        stored = conn.execute(select(api_keys.c.key_hash, api_keys.c.prefix)).one()
    assert key not in stored and stored.prefix == key[:12]
    body = {"customer": "C001", "subject": "电话投诉：送货延误", "severity": "high",
            "external_ref": "HL-2026-001"}
    first = app_client.post("/api/cases", json=body, headers=_bearer(key))
    assert first.status_code == 201, first.text
    number = first.json()["number"]
    again = app_client.post("/api/cases", json=body, headers=_bearer(key))
    assert again.json()["number"] == number  # a retry is the same case
    case = app_client.get(f"/api/cases/{number}", headers=_bearer(key)).json()
    assert case["subject"] == "电话投诉：送货延误" and case["channel"] == "api"
    assert case["events"][0]["kind"] == "opened"
    listed = app_client.get("/api/cases", headers=_bearer(key)).json()["cases"]
    assert number in {row["number"] for row in listed}


def test_scopes_revocation_and_bad_keys(app_client):
    reader = create_key(app_client.engine, "warehouse", ["cases:read"])
    assert app_client.post("/api/cases", json={"customer": "C001", "subject": "s"},
                           headers=_bearer(reader)).status_code == 403
    assert app_client.get("/api/cases", headers=_bearer("pat_forged")).status_code == 401
    assert app_client.get("/api/cases").status_code == 401
    revoke_key(app_client.engine, "warehouse")
    assert app_client.get("/api/cases", headers=_bearer(reader)).status_code == 401
    assert [k["revoked_at"] is not None for k in list_keys(app_client.engine)] == [True]
    with pytest.raises(UserError, match="scopes"):
        create_key(app_client.engine, "x", ["everything"])


def test_each_key_is_rate_limited(app_client):
    key = create_key(app_client.engine, "busy", ["cases:read"])
    codes = [app_client.get("/api/cases", headers=_bearer(key)).status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    other = create_key(app_client.engine, "calm", ["cases:read"])
    assert app_client.get("/api/cases", headers=_bearer(other)).status_code == 200


def test_bad_case_input_is_a_422_naming_the_problem(app_client):
    key = create_key(app_client.engine, "hotline", ["cases:write"])
    for body, words in [({"customer": "C404", "subject": "s"}, "no customer"),
                        ({"customer": "C001"}, "subject is required"),
                        ({"customer": "C001", "subject": "s", "colour": "red"}, "colour")]:
        response = app_client.post("/api/cases", json=body, headers=_bearer(key))
        assert response.status_code == 422 and words in response.json()["error"]
    assert app_client.post("/api/cases", content=b"[1]", headers={
        **_bearer(key), "content-type": "application/json"}).status_code == 422


def test_a_staff_session_needs_the_csrf_header_to_write(app_client):
    from test_web import csrf_of, login

    assert login(app_client, "agent").status_code == 303
    body = {"customer": "C001", "subject": "s"}
    assert app_client.post("/api/cases", json=body).status_code == 403
    token = csrf_of(app_client.get("/").text)
    assert app_client.post("/api/cases", json=body,
                           headers={"X-CSRF-Token": token}).status_code == 201


def test_keys_from_the_command_line(panel, db_url):
    runner = CliRunner()
    created = runner.invoke(main, ["apikey", "create", "hotline", "--scope", "cases:write",
                                   "--db", db_url])
    assert created.exit_code == 0 and created.stdout.strip().startswith("pat_")
    listed = runner.invoke(main, ["apikey", "list", "--db", db_url]).output
    assert "hotline" in listed and created.stdout.strip() not in listed
    assert runner.invoke(main, ["apikey", "revoke", "hotline", "--db", db_url]).exit_code == 0
    again = runner.invoke(main, ["apikey", "revoke", "hotline", "--db", db_url])
    assert again.exit_code != 0 and "no active key" in again.output
