"""The customer profile in every language: each answer under its question in the reader's
language (from the survey's questionnaire, else the index system), never ``nan`` nor a raw code."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from patronage.settings import Settings
from patronage.surveys.admin import create_from_template
from patronage.surveys.program import create_survey, set_status
from patronage.surveys.submissions import submit
from patronage.web import create_app

pytestmark = pytest.mark.db


@pytest.fixture
def client(panel, db_url):
    engine, info = panel
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.engine = engine
        email, password = info["logins"]["agent"]
        page = BeautifulSoup(test_client.get("/login").text, "html.parser")
        token = page.find("input", {"name": "csrf_token"})["value"]
        test_client.post("/login", data={"email": email, "password": password,
                                         "csrf_token": token, "next": "/"})
        yield test_client


def _profile(client, language: str) -> BeautifulSoup:
    client.cookies.set("patronage_lang", language)
    response = client.get("/customers/1")
    assert response.status_code == 200
    return BeautifulSoup(response.text, "html.parser")


def _answers(page: BeautifulSoup) -> list[tuple[str, str]]:
    return [tuple(td.text.strip() for td in row.select("td"))
            for row in page.select("table.answers tr")]


def test_answers_under_their_questions_without_nan(client):
    # A phone interview (no wave) on the Kano template: a stored questionnaire.
    create_from_template(client.engine, "kano", "kano-2026", language="zh_Hans")
    set_status(client.engine, "kano-2026", "open")
    submit(client.engine, survey_code="kano-2026", submission_id="phone-1", channel="phone",
           customer_external_id="C001", answers={"kano.mobile_app.f": 1, "kano.mobile_app.d": 5})
    for language, overall, app_question, title in (
            ("zh_Hans", "总体满意度", "我们不提供", "功能偏好调查"),
            ("zh_Hant", "總體滿意度", "我們不提供", "功能偏好調查"),
            ("en", "Overall satisfaction", "did not offer", "Feature preferences")):
        page = _profile(client, language)
        text = page.get_text(" ")
        assert "nan" not in text.lower().split() and "nan" not in text, language
        summaries = [s.text for s in page.select("details summary")]
        assert all("nan" not in s for s in summaries), summaries
        assert any(s.startswith(title) for s in summaries), summaries  # the survey's title
        answers = _answers(page)
        questions = [q for q, _a in answers]
        # No raw codes: the panel's survey has no stored questionnaire (index system wording).
        assert not {"nps", "overall_satisfaction", "kano.mobile_app.d"} & set(questions)
        assert any(overall in q for q in questions), (language, questions)
        kano = [a for q, a in answers if app_question in q]
        assert kano and kano[0].startswith("5"), (language, answers)
        numbers = [a for q, a in answers if overall in q]
        assert numbers and all(a.isdigit() for a in numbers), numbers


def test_option_answers_show_the_option_text(client):
    from conftest import PULSE_DEFINITION
    create_survey(client.engine, PULSE_DEFINITION)
    set_status(client.engine, "pulse", "open")
    submit(client.engine, survey_code="pulse", submission_id="paper-1", channel="paper",
           customer_external_id="C001",
           answers={"nps": 3, "delivery": 7, "delivery.exp": 9, "why_low": "交货太慢",
                    "channels.web": 1, "channels.phone": 0})
    answers = dict(_answers(_profile(client, "zh_Hans")))
    assert answers["您会推荐吗？"] == "3"
    assert answers["渠道 · 网站"] == "是" and answers["渠道 · 电话"] == "否"
    assert answers["为什么打分低？"] == "交货太慢"


def test_a_survey_given_its_own_title_keeps_it(client):
    create_from_template(client.engine, "nps", "nps-own", title="<b>门店</b> 回访", language="en")
    set_status(client.engine, "nps-own", "open")
    submit(client.engine, survey_code="nps-own", submission_id="phone-2", channel="phone",
           customer_external_id="C001", answers={"nps": 8})
    summaries = [s.text for s in _profile(client, "zh_Hans").select("details summary")]
    assert any(s.startswith("<b>门店</b> 回访") for s in summaries), summaries  # as text
