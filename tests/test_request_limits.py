"""What the server does with hostile requests (issue 10, items 15 and 18), on SQLite or
PostgreSQL: a NUL byte in the address, bodies beyond the limit, floods of answers, and big
JSON parsed off the event loop."""

from __future__ import annotations

import asyncio
import json
import time

import httpx2
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.web import create_app

pytestmark = pytest.mark.db

GOOD = {"nps": 9, "delivery": 7, "delivery.exp": 8, "channels.web": 1}


def _csrf(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


@pytest.fixture
def client(pulse, panel, db_url):
    app = create_app(Settings(database_url=db_url, max_request_bytes=64_000))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.pulse = pulse
        test_client.login = panel[1]["logins"]["admin"]
        yield test_client


def _log_in(client):
    email, password = client.login
    page = client.get("/login")
    reply = client.post("/login", data={"email": email, "password": password,
                                        "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert reply.status_code == 303


def test_a_nul_byte_in_the_address_is_a_clear_400(client):
    _engine, _code, open_token, tokens = client.pulse
    public = [f"/s/{tokens[0][:5]}%00{tokens[0][5:]}", f"/o/{open_token}%00",
              f"/s/{tokens[0]}?lang=en%00", f"/o/{open_token}?resume=a%00b",
              "/login?next=%2F%00"]
    for address in public:
        reply = client.get(address)
        assert reply.status_code == 400, (address, reply.status_code)
        assert "not understood" in reply.text and "Traceback" not in reply.text
    _log_in(client)
    for address in ["/customers?q=%00", "/?survey=a%00", "/analysis?survey=%00x",
                    "/api/surveys/pulse%00/field", "/api/customers?q=x%00"]:
        reply = client.get(address)
        assert reply.status_code == 400, (address, reply.status_code)
    assert client.get("/customers?q=%E7%8E%8B").status_code == 200  # ordinary text still works


def test_a_nul_byte_in_a_login_is_refused_and_never_reaches_the_database(client):
    from patronage.accounts import authenticate

    page = client.get("/login")
    reply = client.post("/login", data={"email": "admin@example.com\x00", "password": "x\x00y",
                                        "csrf_token": _csrf(page.text)})
    assert reply.status_code == 400 and "not understood" in reply.text
    engine = client.pulse[0]
    assert authenticate(engine, "admin@example.com\x00", client.login[1]) is None


def test_bodies_beyond_the_limit_get_413_before_they_are_read(client):
    _engine, _code, open_token, _tokens = client.pulse
    big = json.dumps({"open_token": open_token, "submission_id": "big", "answers": GOOD,
                      "padding": "x" * 100_000})
    reply = client.post("/api/responses", content=big,
                        headers={"content-type": "application/json"})
    assert reply.status_code == 413 and "too large" in reply.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(100):
            yield b" " * 1000
    reply = client.post("/api/responses", content=chunks(),
                        headers={"content-type": "application/json"})
    assert reply.status_code == 413
    page = client.get("/login")  # forms too, with the page in the reader's language
    reply = client.post("/login", data={"email": "a@b.c", "password": "p" * 70_000,
                                        "csrf_token": _csrf(page.text)})
    assert reply.status_code == 413 and "Traceback" not in reply.text
    ok = client.post("/api/responses", json={"open_token": open_token, "submission_id": "s1",
                                             "answers": GOOD})
    assert ok.status_code == 201


def test_answers_are_limited_to_the_questionnaires_fields(client):
    _engine, _code, open_token, _tokens = client.pulse
    flood = {**GOOD, **{f"x{i}": 1 for i in range(2000)}}
    reply = client.post("/api/responses", json={"open_token": open_token, "submission_id": "f",
                                                "answers": flood})
    assert reply.status_code == 422
    assert "answers" in reply.json()["fields"]
    assert "at most" in reply.json()["fields"]["answers"]


def test_big_json_is_parsed_off_the_event_loop(pulse, db_url, monkeypatch):
    """A JSON parse that takes long (a slow parser stands in for a big body) must not hold up
    the event loop: /health answers while it runs."""
    _engine, _code, open_token, _tokens = pulse
    real = json.loads
    parsed_at = []

    def slow(text, *args, **kwargs):
        if len(text) > 20_000:
            time.sleep(2.0)
            parsed_at.append(time.monotonic())
        return real(text, *args, **kwargs)

    monkeypatch.setattr(json, "loads", slow)
    app = create_app(Settings(database_url=db_url))
    body = json.dumps({"open_token": open_token, "submission_id": "slow", "answers": GOOD,
                       "note": "y" * 30_000})

    async def run():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://t") as client:
            started = time.monotonic()

            async def health():  # asks 0.2 s in, while the parse runs
                await asyncio.sleep(0.2)
                reply = await client.get("/health")
                return reply.status_code, time.monotonic() - started
            big, (status, seconds) = await asyncio.gather(
                client.post("/api/responses", content=body,
                            headers={"content-type": "application/json"}), health())
            return big, status, seconds, started

    try:
        big, status, seconds, started = asyncio.run(run())
    finally:
        app.state.intake.close()
        app.state.engine.dispose()
    assert big.status_code == 201 and status == 200
    # Answered while the parse ran (asked 0.2 s in; the parse takes 2 s): an event loop held
    # by the parse could answer only after it. Compared with the parse's own end, not with a
    # fixed time, so that a busy machine (a slow /health) does not fail it.
    assert len(parsed_at) == 1
    assert started + seconds < parsed_at[0], (
        f"/health answered {seconds:.2f} s in, after the JSON parse ended "
        f"({parsed_at[0] - started:.2f} s in)")


def test_a_nul_in_a_form_or_a_json_token_is_refused_cleanly(client):
    _engine, code, open_token, _tokens = client.pulse
    _log_in(client)
    csrf = _csrf(client.get(f"/surveys/{code}").text)
    reply = client.post(f"/surveys/{code}/waves", data={"csrf_token": csrf, "name": "W\x00",
                                                       "starts_on": "2026-08-01"})
    assert reply.status_code == 400 and "not understood" in reply.text
    for body in ({"token": "abc\x00def"}, {"open_token": open_token + "\x00"},
                 {"token": "ab\ud800"}):
        reply = client.post("/api/responses", content=json.dumps(
            {**body, "submission_id": "n1", "answers": GOOD}),
            headers={"content-type": "application/json"})
        assert reply.status_code == 404, (body, reply.status_code)


def test_text_a_database_refuses_is_a_400_wherever_it_slips_through(client, monkeypatch):
    """The last line: a driver's refusal of a text is the client's bad request, not a 500."""
    from patronage.web import api

    def refuses(*_args, **_kwargs):
        "x\ud800".encode("utf-8")

    monkeypatch.setattr(api, "customer_list", refuses)
    _log_in(client)
    reply = client.get("/api/customers?q=x")
    assert reply.status_code == 400 and "not understood" in reply.json()["error"]


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800"])
def test_a_definition_with_unstorable_text_is_refused_not_a_500(client, escape):
    """JSON escapes in a pasted definition become a NUL or a lone surrogate after parsing."""
    from conftest import PULSE_DEFINITION
    from patronage.surveys.program import create_survey

    engine = client.pulse[0]
    code = create_survey(engine, {**PULSE_DEFINITION, "code": "draft-one"})  # a draft
    _log_in(client)
    page = client.get(f"/surveys/{code}")
    definition = json.dumps({**PULSE_DEFINITION, "code": code, "title": {
        **PULSE_DEFINITION["title"], "en": "Pulse @"}}, ensure_ascii=False)
    poisoned = definition.replace("Pulse @", f"Pulse {escape}")
    reply = client.post(f"/surveys/{code}/definition",
                        data={"csrf_token": _csrf(page.text), "definition": poisoned})
    assert reply.status_code == 400 and "Traceback" not in reply.text
    assert "title.en: cannot be stored" in reply.text


def test_a_number_beyond_the_database_range_is_a_400(client):
    """SQLite raises OverflowError for an integer beyond 64 bits, PostgreSQL a data error."""
    _log_in(client)
    for address in ["/customers/" + "9" * 30, "/api/customers/" + "9" * 30]:
        reply = client.get(address)
        assert reply.status_code == 400, (address, reply.status_code)
        assert "Traceback" not in reply.text
