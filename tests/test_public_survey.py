"""Public survey pages and the submission API, through an in-process client on a fresh
database (SQLite, or PostgreSQL in CI)."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patronage.settings import Settings
from patronage.storage.schema import answers, invitations, responses, surveys
from patronage.surveys.program import set_status
from patronage.web import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def survey(pulse):
    return pulse


@pytest.fixture
def client(survey, db_url):
    app = create_app(Settings(database_url=db_url, public_submissions_per_minute=50))
    with TestClient(app) as test_client:
        yield test_client


def fields(html: str) -> dict:
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}


PULSE = responses.c.survey_id == select(surveys.c.id).where(surveys.c.code == "pulse").scalar_subquery()


def count(engine) -> int:
    """Responses to the pulse survey (the panel holds another survey's responses too)."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(responses).where(PULSE)).scalar_one()


def test_a_get_never_spends_the_token(client, survey):
    engine, _code, _open, tokens = survey
    for _ in range(2):
        page = client.get(f"/s/{tokens[0]}")
        assert page.status_code == 200
    assert "您会推荐吗？" in page.text and 'lang="zh-Hans"' in page.text
    assert count(engine) == 0
    assert client.get("/s/not-a-real-token").status_code == 404


def test_answer_page_by_page_in_chinese_then_replay(client, survey):
    engine, _code, _open, tokens = survey
    url = f"/s/{tokens[0]}"
    form = fields(client.get(url).text)
    missing = client.post(url, data={**form, "action": "next"})
    assert missing.status_code == 422 and "请回答此题。" in missing.text
    page2 = client.post(url, data={**form, "action": "next", "nps": "3", "delivery": "6",
                                   "delivery.exp": "9"})
    assert page2.status_code == 200 and "为什么打分低？" in page2.text  # shown: nps <= 6
    state = fields(page2.text)
    assert state["nps"] == "3" and state["page"] == "1"
    back = client.post(url, data={**state, "action": "back"})
    assert BeautifulSoup(back.text, "html.parser").select_one("input[name=nps][value='3']").has_attr("checked")
    final = {**state, "action": "submit", "why_low": "<b>太慢</b>", "channels": ["web", "phone"]}
    done = client.post(url, data=final)
    assert done.status_code == 200 and "感谢" in done.text
    replay = client.post(url, data=final)
    assert "已经" in replay.text  # already answered
    assert count(engine) == 1
    with engine.connect() as conn:
        response = conn.execute(select(responses).where(PULSE)).one()
        rows = conn.execute(select(answers.c.item_code, answers.c.value_num, answers.c.value_text)
                            .where(answers.c.response_id == response.id)).all()
        stored = {code: text if text is not None else num for code, num, text in rows}
        invitation = conn.execute(select(invitations).where(invitations.c.token == tokens[0])).one()
    assert stored["why_low"] == "<b>太慢</b>" and stored["channels.web"] == 1.0
    assert invitation.responded_at is not None and response.weight == invitation.design_weight
    assert client.get(url).status_code == 200 and "已经" in client.get(url).text


def test_save_and_resume(client, survey):
    engine, _code, _open, tokens = survey
    url = f"/s/{tokens[1]}"
    form = fields(client.get(url).text)
    client.post(url, data={**form, "action": "next", "nps": "9", "delivery": "8",
                           "delivery.exp": "8"})
    later = client.get(url)
    state = fields(later.text)
    assert state["page"] == "1" and state["nps"] == "9"
    assert count(engine) == 0


def test_open_link_and_bot_signals_flag_but_keep(client, survey):
    engine, _code, open_token, _tokens = survey
    url = f"/o/{open_token}"
    form = fields(client.get(url).text)
    page2 = client.post(url, data={**form, "action": "next", "nps": "10", "delivery": "9",
                                   "delivery.exp": "8"})
    done = client.post(url, data={**fields(page2.text), "action": "submit", "website": "spam",
                                  "channels": "phone"})
    assert done.status_code == 200
    with engine.connect() as conn:
        response = conn.execute(select(responses).where(PULSE)).one()
    assert response.customer_id is None and "honeypot" in response.quality_flags


def test_json_api_is_idempotent_and_explains_errors(client, survey):
    engine, _code, _open, tokens = survey
    body = {"token": tokens[2], "submission_id": "a1b2c3", "language": "en",
            "answers": {"nps": 9, "delivery": 7, "delivery.exp": 8, "channels.web": 1}}
    first = client.post("/api/responses", json=body)
    assert first.status_code == 201 and first.json()["created"] is True
    again = client.post("/api/responses", json=body)
    assert again.status_code == 200 and again.json() == {**first.json(), "created": False}
    bad = client.post("/api/responses", json={**body, "submission_id": "zz",
                                              "answers": {"nps": 11}})
    assert bad.status_code == 422  # checked before the token's earlier answer is looked up
    assert "nps" in bad.json()["fields"]
    assert client.post("/api/responses", json={**body, "token": "nope"}).status_code == 404
    assert count(engine) == 1


def test_invalid_json_answers_get_field_messages(client, survey):
    _engine, _code, open_token, _tokens = survey
    bad = client.post("/api/responses", json={"open_token": open_token, "submission_id": "q1",
                                              "language": "en", "answers": {"nps": 11}})
    assert bad.status_code == 422
    assert "delivery" in bad.json()["fields"] and "nps" in bad.json()["fields"]


def test_closed_and_draft_surveys_answer_404(client, survey):
    engine, code, open_token, tokens = survey
    set_status(engine, code, "closed")
    assert client.get(f"/s/{tokens[0]}").status_code == 404
    assert client.get(f"/o/{open_token}").status_code == 404


def test_submissions_are_rate_limited_per_address(survey, db_url):
    _engine, _code, open_token, _tokens = survey
    app = create_app(Settings(database_url=db_url, public_submissions_per_minute=2))
    with TestClient(app) as limited:
        statuses = [limited.post("/api/responses", json={
            "open_token": open_token, "submission_id": f"s{i}", "answers": {}}).status_code
            for i in range(3)]
    assert statuses[:2] == [422, 422] and statuses[2] == 429


def test_public_form_posts_need_the_csrf_token(client, survey):
    _engine, _code, _open, tokens = survey
    client.get(f"/s/{tokens[0]}")
    forged = client.post(f"/s/{tokens[0]}", data={"nps": "9", "action": "next"})
    assert forged.status_code == 403
    assert re.search(r"expired", forged.text)


def test_guessing_links_gets_429_but_one_address_may_still_answer_a_lot(survey, db_url):
    """reliability.md T4/T6: unknown tokens are limited per address; answering is not."""
    _engine, _code, open_token, tokens = survey
    app = create_app(Settings(database_url=db_url, public_link_misses_per_minute=3))
    with TestClient(app) as guesser:
        misses = [guesser.get(f"/s/{'x' * 32}{i}").status_code for i in range(2)]
        misses.append(guesser.post("/api/responses", json={
            "token": "y" * 32, "submission_id": "g1", "answers": {}}).status_code)
        assert misses == [404, 404, 404]
        assert guesser.get(f"/s/{tokens[0]}").status_code == 429  # this address is blocked
        assert guesser.post("/api/responses", json={
            "open_token": open_token, "submission_id": "g2", "answers": {}}).status_code == 429
    with TestClient(create_app(Settings(database_url=db_url))) as office:  # one NAT address
        answered = [office.post("/api/responses", json={
            "open_token": open_token, "submission_id": f"n{i}", "language": "en",
            "answers": {"nps": 9, "delivery": 7, "delivery.exp": 8, "channels.web": 1}})
            .status_code for i in range(80)]
    assert answered == [201] * 80
