"""The staff pages in 简体中文 with their error paths triggered: every message a user sees is
Chinese (questionnaire problems with their paths, wave and sampling errors, exclusion reasons,
the agents' entry errors, analysis and loyalty sections that cannot be computed). A word of
three or more ASCII letters standing alone fails the test, except brand names, method
abbreviations and what the user typed (see ``visible_english``)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from patronage.surveys.program import add_wave, create_survey, set_status
from patronage.surveys.templates import load_template
from test_survey_admin import _csrf, _login, _soup, client  # noqa: F401  (the fixture)
from visible_english import english_words

pytestmark = pytest.mark.db

#: Words the user typed or that are stored data of the fixture (customer names, regions).
TYPED = {"password", "slider", "East", "North", "South", "Mail", "customer", "Northwind",
         "Traders", "NOPE", "Bad", "Code", "nope", "July", "many", "Relationship", "relationship",
         # template codes, shown next to their titles
         "key", "account", "China", "size", "region",  # the sample form's example of stored segment values
         "acsi", "cdv", "ces", "csat", "ecsi", "employee", "kano", "nps", "servqual"}


def _zh(client, method: str, path: str, data: dict | None = None, page: str | None = None):
    client.cookies.set("patronage_lang", "zh_Hans")
    if method == "get":
        response = client.get(path)
    else:
        token = _csrf(client.get(page or path).text)
        response = client.post(path, data={**(data or {}), "csrf_token": token},
                               follow_redirects=False)
    english = english_words(response.text, TYPED)
    assert not english, (path, data, english)
    return response


def test_survey_admin_errors_are_chinese(client):
    _login(client, "admin")
    response = _zh(client, "post", "/surveys", {"template": "nps", "code": "Bad Code!",
                                               "title": "", "language": "zh_Hans"})
    assert response.status_code == 400 and _soup(response).select("#problems li")
    response = _zh(client, "post", "/surveys", {"template": "nope", "code": "x1", "title": "",
                                               "language": "zh_Hans"})
    assert response.status_code == 400
    assert _zh(client, "post", "/surveys", {"template": "nps", "code": "nps-2026", "title": "",
                                            "language": "zh_Hans"}).status_code == 303
    page = "/surveys/nps-2026"
    definition = json.loads(_soup(client.get(page)).select_one("textarea#definition-text").text)
    definition["sections"][0]["items"][0]["type"] = "slider"
    definition["sections"][0]["items"][1]["max_length"] = -5
    definition["languages"] = ["zh_Hans", "fr"]
    response = _zh(client, "post", f"{page}/definition",
                   {"definition": json.dumps(definition)}, page)
    problems = [li.text for li in _soup(response).select("#problems li")]
    assert response.status_code == 400 and len(problems) >= 3, problems
    assert problems[0].startswith("languages[1]: ") or "sections[0]" in problems[0]
    response = _zh(client, "post", f"{page}/definition", {"definition": "{not json"}, page)
    assert response.status_code == 400
    # Sampling before the survey is open, then bad numbers, strata, waves and sizes.
    response = _zh(client, "post", f"{page}/sample", {"method": "simple", "n": "3"}, page)
    assert response.status_code == 400 and "开放" in _soup(response).select_one("#error").text
    _zh(client, "post", f"{page}/status", {"status": "open"}, page)
    for data in ({"method": "simple", "n": "many"},
                 {"method": "simple", "n": "0"},
                 {"method": "stratified", "n": "3", "strata": "password"},
                 {"method": "simple", "n": "5000"},
                 {"method": "stratified", "n": "3", "strata": "region", "quotas": "East 3"},
                 {"method": "stratified", "n": "3", "strata": "region", "allocation": "neyman"},
                 {"method": "targeted", "n": ""}):
        response = _zh(client, "post", f"{page}/sample", data, page)
        assert response.status_code == 400, data
    for data in ({"name": "2026-Q3", "starts_on": "July", "ends_on": ""},
                 {"name": "", "starts_on": "2026-07-01", "ends_on": ""},
                 {"name": "2026-Q3", "starts_on": "2026-07-01", "ends_on": "2026-06-01"}):
        assert _zh(client, "post", f"{page}/waves", data, page).status_code == 400, data
    _zh(client, "post", f"{page}/waves", {"name": "2026-Q3", "starts_on": "2026-07-01",
                                          "ends_on": ""}, page)
    assert _zh(client, "post", f"{page}/waves", {"name": "2026-Q3", "starts_on": "2026-07-01",
                                                 "ends_on": ""}, page).status_code == 400
    # A draw with exclusions: the panel customers without e-mail are listed by reason.
    response = _zh(client, "post", f"{page}/sample", {"wave": "2026-Q3", "method": "simple",
                                                       "n": "3", "seed": "1"}, page)
    assert response.status_code == 200
    reasons = [tr.td.text for tr in _soup(response).select("table#exclusions tbody tr")]
    assert reasons == ["没有电子邮箱地址"]
    response = _zh(client, "post", f"{page}/sample", {"wave": "2026-Q3", "method": "simple",
                                                       "n": "3", "seed": "1"}, page)
    reasons = [tr.td.text for tr in _soup(response).select("table#exclusions tbody tr")]
    assert "已在批次 2026-Q3 中邀请过" in reasons, reasons
    _zh(client, "post", f"{page}/waves", {"name": "2026-Q4", "starts_on": "2026-10-01",
                                          "ends_on": ""}, page)
    response = _zh(client, "post", f"{page}/sample", {"wave": "2026-Q4", "method": "simple",
                                                       "n": "3", "seed": "1"}, page)
    reasons = [tr.td.text for tr in _soup(response).select("table#exclusions tbody tr")]
    assert "已于 … 邀请过，仍在 90 天免打扰期内" in reasons, reasons
    response = _zh(client, "post", f"{page}/reminders", {"wave": "2026-Q3",
                                                          "older_than_days": "-1"}, page)
    assert response.status_code == 400


def test_agent_entry_errors_are_chinese(client):
    create_survey(client.engine, load_template("nps"))
    set_status(client.engine, "nps", "open")
    add_wave(client.engine, "nps", "2026-Q3", date(2026, 1, 1))
    _login(client, "agent")
    page = "/surveys/nps/enter?customer=M001"
    form = _soup(_zh(client, "get", page))
    submission = form.select_one('input[name="submission_id"]')["value"]
    base = {"submission_id": submission, "customer": "M001", "channel": "phone",
            "language": "zh_Hans"}
    assert _zh(client, "post", "/surveys/nps/enter", base, page).status_code == 400
    response = _zh(client, "post", "/surveys/nps/enter",
                   {**base, "nps": "9", "customer": "NOPE"}, page)
    assert response.status_code == 400 and "没有客户" in _soup(response).select_one("#error").text
    assert _zh(client, "post", "/surveys/nps/enter",
               {**base, "nps": "9", "channel": "web"}, page).status_code == 400


def test_analysis_and_loyalty_sections_that_cannot_be_computed_are_chinese(client):
    create_survey(client.engine, load_template("nps"))
    _login(client, "analyst")
    for path in ("/analysis?survey=nps", "/analysis?survey=nope", "/analysis"):
        _zh(client, "get", path)
    response = client.get("/loyalty")
    for _ in range(100):  # the page may be prepared in the background first
        if response.status_code != 202:
            break
        import time
        time.sleep(0.2)
        response = client.get("/loyalty")
    assert not english_words(response.text, TYPED), english_words(response.text, TYPED)


def test_a_targeted_draw_shows_no_nan_and_no_english_stratum(client):
    """A targeted list has no design weight and no stratum: the field table shows dashes."""
    _login(client, "admin")
    _zh(client, "post", "/surveys", {"template": "nps", "code": "nps-2026", "title": "",
                                     "language": "zh_Hans"})
    page = "/surveys/nps-2026"
    _zh(client, "post", f"{page}/status", {"status": "open"}, page)
    _zh(client, "post", f"{page}/waves", {"name": "2026-Q3", "starts_on": "2026-07-01",
                                          "ends_on": ""}, page)
    response = _zh(client, "post", f"{page}/sample", {"wave": "2026-Q3", "method": "targeted",
                                                       "ids": "M001, M002"}, page)
    assert response.status_code == 200, _soup(response).select_one("#error")
    shown = _zh(client, "get", page)
    text = _soup(shown).get_text(" ")
    assert "nan" not in text.split() and "None" not in text.split()
