"""The respondent's path through the public form: skip logic forwards without JavaScript,
progress over the pages actually shown, and respondent-facing pages for bad links."""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import select

from patronage.settings import Settings
from patronage.storage.schema import answers, responses, surveys
from patronage.surveys.admin import create_from_template
from patronage.surveys.answers import pages
from patronage.surveys.program import set_status
from patronage.surveys.templates import list_templates, load_template
from patronage.web import create_app

pytestmark = pytest.mark.db

IMPROVE = "我们最应该改进的一件事是什么？"


@pytest.fixture
def client(panel, db_url):
    app = create_app(Settings(database_url=db_url, public_submissions_per_minute=100))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def nps_link(panel):
    engine, _info = panel
    create_from_template(engine, "nps", "nps-2026", language="zh_Hans")
    token = set_status(engine, "nps-2026", "open", open_link=True)
    return engine, f"/o/{token}"


def fields(html: str) -> dict:
    soup = BeautifulSoup(html, "html.parser")
    return {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}


def buttons(html: str) -> dict[str, str]:
    soup = BeautifulSoup(html, "html.parser")
    return {b["value"]: b.get_text(strip=True) for b in soup.select("form button[name=action]")}


def progress(html: str) -> int:
    bar = BeautifulSoup(html, "html.parser").select_one("[role=progressbar]")
    return int(bar["aria-valuenow"])


def stored(engine, code: str) -> list[dict]:
    with engine.connect() as conn:
        survey_id = conn.execute(select(surveys.c.id).where(surveys.c.code == code)).scalar_one()
        rows = conn.execute(select(answers.c.response_id, answers.c.item_code,
                                   answers.c.value_num, answers.c.value_text)
                            .join(responses, responses.c.id == answers.c.response_id)
                            .where(responses.c.survey_id == survey_id)).all()
    out: dict[int, dict] = {}
    for rid, code_, num, text in rows:
        out.setdefault(rid, {})[code_] = text if text is not None else num
    return list(out.values())


def test_a_follow_up_on_the_same_section_is_asked_after_a_low_score(client, nps_link):
    """Issue 10 item 3: the NPS template's follow-up (shown when nps <= 8) sits in the same
    section as the score; it must be asked forwards, without a script."""
    engine, url = nps_link
    first = client.get(url)
    assert "您有多大可能" in first.text and IMPROVE not in first.text
    # Whatever the first page's button says, pressing it with a 5 must lead to the follow-up.
    assert set(buttons(first.text)) & {"next", "submit"}
    action = "next" if "next" in buttons(first.text) else "submit"
    follow = client.post(url, data={**fields(first.text), "action": action, "nps": "5",
                                    "nps_reason": "太贵"})
    assert follow.status_code == 200
    assert IMPROVE in follow.text and stored(engine, "nps-2026") == []
    state = fields(follow.text)
    assert state["nps"] == "5" and state["nps_reason"] == "太贵"
    assert "submit" in buttons(follow.text)
    done = client.post(url, data={**state, "action": "submit", "nps_improve": "送货快一点"})
    assert done.status_code == 200 and "感谢" in done.text
    assert stored(engine, "nps-2026") == [{"nps": 5.0, "nps_reason": "太贵",
                                           "nps_improve": "送货快一点"}]


def test_a_stale_submit_on_the_first_page_still_asks_the_follow_up(client, nps_link):
    """A form that offered Submit before the score was known must not store without the
    follow-up the score calls for."""
    engine, url = nps_link
    first = fields(client.get(url).text)
    follow = client.post(url, data={**first, "action": "submit", "nps": "3"})
    assert IMPROVE in follow.text and stored(engine, "nps-2026") == []


def test_a_promoter_is_not_asked_the_follow_up(client, nps_link):
    engine, url = nps_link
    first = fields(client.get(url).text)
    done = client.post(url, data={**first, "action": "next", "nps": "9"})
    assert "感谢" in done.text and IMPROVE not in done.text
    assert stored(engine, "nps-2026") == [{"nps": 9.0}]


def test_going_back_and_raising_the_score_drops_the_follow_up(client, nps_link):
    engine, url = nps_link
    first = fields(client.get(url).text)
    follow = client.post(url, data={**first, "action": "next", "nps": "4"})
    back = client.post(url, data={**fields(follow.text), "action": "back",
                                  "nps_improve": "更便宜"})
    assert "您有多大可能" in back.text
    done = client.post(url, data={**fields(back.text), "action": "next", "nps": "10"})
    assert "感谢" in done.text
    assert stored(engine, "nps-2026") == [{"nps": 10.0}]


@pytest.mark.parametrize("code", [c for c, _ in list_templates()])
def test_no_page_of_any_template_holds_an_item_and_what_it_depends_on(code):
    """Every page of every template: a condition never looks at an answer on its own page."""
    q = load_template(code)
    for answers_ in ({}, {c: 0.0 for c in q.answer_codes()}, {c: 1.0 for c in q.answer_codes()}):
        for page in pages(q, answers_):
            on_page = {c for item in page.items for c in item.answer_codes()}
            assert not [i.code for i in page.items
                        if i.show_if and i.show_if["item"] in on_page], page.code


def test_progress_is_over_the_pages_shown_and_steady_on_a_page(client, pulse):
    """Issue 10 item 11: progress counts pages, so a page with an error keeps its figure."""
    _engine, _code, _open, tokens = pulse
    url = f"/s/{tokens[0]}"
    first = client.get(url)
    assert progress(first.text) == 0 and "第 1 页，共 2 页" in first.text
    second = client.post(url, data={**fields(first.text), "action": "next", "nps": "3",
                                    "delivery": "6", "delivery.exp": "9"})
    assert progress(second.text) == 50 and "第 2 页，共 2 页" in second.text
    # The same page again with a missing answer: the figure does not move.
    again = client.post(url, data={**fields(second.text), "action": "submit",
                                   "why_low": "慢"})
    assert again.status_code == 422 and "请回答此题。" in again.text
    assert progress(again.text) == 50
    back = client.post(url, data={**fields(again.text), "action": "back", "why_low": "慢"})
    assert progress(back.text) == 0


def test_a_bad_link_gets_a_respondent_page_not_the_staff_404(client, pulse):
    """Issue 10 item 11: no staff menu or login language switch; the survey's language when
    the link names a survey (here closed), else the language asked for."""
    engine, code, open_token, tokens = pulse
    unknown = client.get("/s/not-a-real-token")
    assert unknown.status_code == 404
    soup = BeautifulSoup(unknown.text, "html.parser")
    assert soup.select_one("body.public") is not None and soup.select_one("header.top") is None
    assert "/login" not in unknown.text and "/customers" not in unknown.text
    english = client.get("/s/not-a-real-token?lang=en")
    assert english.status_code == 404 and "link" in english.text.lower()
    assert 'lang="en"' in english.text
    set_status(engine, code, "closed")
    closed = client.get(f"/s/{tokens[0]}", headers={"accept-language": "en"})
    assert closed.status_code == 404 and 'lang="zh-Hans"' in closed.text  # the survey's language
    assert re.search("已结束|已关闭", closed.text)
    closed_open = client.get(f"/o/{open_token}?lang=zh_Hant")
    assert closed_open.status_code == 404 and 'lang="zh-Hant"' in closed_open.text


def test_a_guessing_address_gets_a_respondent_page_too(pulse, db_url):
    _engine, _code, _open, _tokens = pulse
    app = create_app(Settings(database_url=db_url, public_link_misses_per_minute=1))
    with TestClient(app) as guesser:
        guesser.get("/s/" + "x" * 32)
        blocked = guesser.get("/s/" + "y" * 32)
    assert blocked.status_code == 429
    assert BeautifulSoup(blocked.text, "html.parser").select_one("body.public") is not None


def _walk(client, url: str, pick) -> tuple[dict, set[str]]:
    """Answer a survey forwards only, page by page, as a browser without script would; returns
    the answers given and the names of every question shown."""
    shown: set[str] = set()
    given: dict = {}
    response = client.get(url)
    for _ in range(60):
        soup = BeautifulSoup(response.text, "html.parser")
        if soup.select_one("p.thanks"):
            return given, shown
        data = fields(response.text)
        for group in soup.select("form fieldset"):
            radios = group.select("input[type=radio]")
            boxes = group.select("input[type=checkbox]")
            text = group.select_one("textarea")
            if radios:
                value = pick([r["value"] for r in radios])
                data[radios[0]["name"]] = given[radios[0]["name"]] = value
                shown.add(radios[0]["name"])
            elif boxes:
                data[boxes[0]["name"]] = given[boxes[0]["name"]] = boxes[0]["value"]
                shown.add(boxes[0]["name"])
            elif text is not None:
                data[text["name"]] = given[text["name"]] = "ok"
                shown.add(text["name"])
        action = "next" if "next" in buttons(response.text) else "submit"
        response = client.post(url, data={**data, "action": action})
        assert response.status_code == 200, response.text[:500]
    raise AssertionError("the form never ended")


@pytest.mark.parametrize("code", [c for c, _ in list_templates()])
@pytest.mark.parametrize("end", ["low", "high"])
def test_every_question_a_template_calls_for_is_asked_going_forwards(client, panel, code, end):
    """Every page of every template, answered forwards only (lowest or highest choices): each
    item visible given the answers was asked on some page, and nothing hidden was asked."""
    from patronage.surveys.answers import validate_submission, visible_items

    engine, _info = panel
    create_from_template(engine, code, f"walk-{code}", language="zh_Hans")
    token = set_status(engine, f"walk-{code}", "open", open_link=True)
    pick = (lambda values: values[0]) if end == "low" else (lambda values: values[-1])
    given, shown = _walk(client, f"/o/{token}", pick)
    q = load_template(code)
    answers_, _errors = validate_submission(q, given, "zh_Hans")
    expected = set()
    for item in visible_items(q, answers_):
        names = {item.code} if item.type == "multiple" else set(item.answer_codes())
        expected |= names
    assert shown == expected
