"""The Analysis page of a new survey from every template, answered by a few respondents through
the JSON API (no waves, one wave, no answers), in every language: never an error page, and
every section that cannot be computed says why in the reader's language."""

from __future__ import annotations

import random
from datetime import date

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.surveys.admin import create_from_template, template_choices
from patronage.surveys.answers import visible_items
from patronage.surveys.program import add_wave, get_survey, set_status
from patronage.web import create_app
from visible_english import english_words

pytestmark = pytest.mark.db


def _answers(q, rnd: random.Random) -> dict:
    """A complete random answer to every visible item."""
    answers: dict = {}
    for _ in range(3):  # items shown only after some answers
        filled = {}
        for item in visible_items(q, answers):
            low, high = item.scale or (0, 10)
            for code in item.answer_codes():
                if code in answers:  # keep what decided the visible items
                    filled[code] = answers[code]
                elif item.type == "text":
                    filled[code] = "很好"
                elif item.type == "single":
                    filled[code] = rnd.choice(item.options).code
                elif item.type == "multiple":
                    filled[code] = rnd.randint(0, 1)
                elif item.type == "kano":
                    filled[code] = rnd.randint(1, 5)
                else:
                    filled[code] = rnd.randint(low, high)
        answers = filled
    return answers


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.engine = engine
        email, password = info["logins"]["analyst"]
        page = BeautifulSoup(test_client.get("/login").text, "html.parser")
        token = page.find("input", {"name": "csrf_token"})["value"]
        test_client.post("/login", data={"email": email, "password": password,
                                         "csrf_token": token, "next": "/"})
        yield test_client


def _answer(client, code: str, n: int, prefix: str = "") -> None:
    token = set_status(client.engine, code, "open", open_link=True)
    q = get_survey(client.engine, code).questionnaire
    rnd = random.Random(code)
    for i in range(n):
        response = client.post("/api/responses", json={
            "open_token": token, "submission_id": f"{prefix}{code}-{i}",
            "answers": _answers(q, rnd)})
        assert response.status_code == 201, response.text


def _sections(client, code: str, language: str) -> BeautifulSoup:
    client.cookies.set("patronage_lang", language)
    response = client.get(f"/analysis?survey={code}")
    assert response.status_code == 200, (code, language)
    return response


@pytest.mark.slow
def test_every_template_with_a_few_answers_and_no_waves(client):
    for template, _title in template_choices():
        code = create_from_template(client.engine, template, f"t-{template}")
        _answer(client, code, 4)
        for language in ("en", "zh_Hans", "zh_Hant"):
            response = _sections(client, code, language)
            page = BeautifulSoup(response.text, "html.parser")
            if template == "employee":  # anonymous: only by group on the chain page
                assert "patronage analyze chain" in page.select_one("p.empty").text
                assert not page.select("section.card"), language
                overview = client.get(f"/?survey={code}")
                assert overview.status_code == 400 and "Traceback" not in overview.text
                continue
            assert page.select("section.card"), (template, language)
            if language != "en":  # survey codes are codes
                english = english_words(response.text, allowed={"relationship", "Relationship"})
                assert not english, (template, language, english)
            overview = client.get(f"/?survey={code}")  # the overview of the same survey
            assert overview.status_code == 200, (template, language)
            if language != "en":
                english = english_words(overview.text, allowed={"relationship", "Relationship"})
                assert not english, (template, language, english)


def test_one_wave_and_no_answers(client):
    code = create_from_template(client.engine, "nps", "nps-new")
    for language in ("en", "zh_Hans", "zh_Hant"):  # no answers at all
        response = _sections(client, code, language)
        if language != "en":
            assert not english_words(response.text, allowed={"relationship", "Relationship"}), response.text[-3000:]
    add_wave(client.engine, code, "2026-Q3", date(2026, 7, 1))
    _answer(client, code, 3)
    response = _sections(client, code, "zh_Hans")
    trend = BeautifulSoup(response.text, "html.parser").select_one("#section-trend")
    assert "两个" in trend.text  # the trend needs two waves, and says so
    options = BeautifulSoup(response.text, "html.parser").select("select#survey option")
    assert "净推荐值（NPS）调查" in [o.text for o in options]  # titles, not codes
    assert not english_words(response.text, allowed={"relationship", "Relationship"}), response.text[-3000:]


def test_analyses_the_survey_does_not_ask_for_say_so_without_codes(client):
    """An NPS survey asks no effort, SERVQUAL or delivered-value questions: those sections say
    so in the reader's language, in a small card, without item or template codes; a section
    that cannot be computed for another reason keeps its reason."""
    code = create_from_template(client.engine, "nps", "nps-asks")
    add_wave(client.engine, code, "2026-Q3", date(2026, 7, 1))
    _answer(client, code, 6)
    page = BeautifulSoup(_sections(client, code, "zh_Hans").text, "html.parser")
    for key in ("ces", "servqual", "cdv"):
        card = page.select_one(f"#section-{key}")
        assert card is not None and "not-asked" in card["class"], key
        assert "本问卷没有这项分析所需的题目" in card.text
    assert "'ces'" not in page.text and "sq1" not in page.text and "cdv_product" not in page.text
    trend = page.select_one("#section-trend")  # a failure that is not about the questions
    assert "not-asked" not in trend["class"] and "两个" in trend.text


def test_the_kano_category_reads_as_its_name_in_chinese(client):
    """The Kano table's category column names the category as its share column does ("期望型
    O"), not by a bare letter."""
    template = next(t for t, _ in template_choices()
                    if any(item.type == "kano" for item in _template_items(client, t)))
    code = create_from_template(client.engine, template, "t-kano")
    _answer(client, code, 12)
    page = BeautifulSoup(_sections(client, code, "zh_Hans").text, "html.parser")
    cells = [td.get_text(strip=True) for td in page.select("td[data-label='Kano 类别']")]
    assert cells, page.get_text()[:500]
    names = {"魅力型 A", "期望型 O", "必备型 M", "无差异型 I"}
    assert all(c in names or c in ("R", "Q", "–") for c in cells), cells
    assert any(c in names for c in cells), cells


def _template_items(client, template):
    code = create_from_template(client.engine, template, f"probe-{template}")
    return get_survey(client.engine, code).questionnaire.items
