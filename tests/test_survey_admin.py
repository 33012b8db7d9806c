"""Survey administration pages through an in-process client on a fresh database (SQLite, or
PostgreSQL in CI): create from a template, edit the definition, open, waves, sampling, mail,
field dashboard and the agents' interview entry."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from email import message_from_bytes, policy

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, customers, invitations, responses, surveys
from patronage.surveys.admin import exclusion_counts, parse_sd, survey_table
from patronage.surveys.definition import DefinitionError, parse_definition
from patronage.surveys.program import add_wave, create_survey, set_status
from patronage.surveys.templates import load_template
from patronage.web import create_app

pytestmark = pytest.mark.db

BASE_URL = "https://survey.example.com"
#: Panel members with e-mail and survey consent: 6 in East, 4 in North, 2 in South.
REGIONS = ["East"] * 6 + ["North"] * 4 + ["South"] * 2


def _login(client, role: str) -> None:
    email, password = client.info["logins"][role]
    token = _csrf(client.get("/login").text)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303


def _csrf(html: str) -> str:
    return BeautifulSoup(html, "html.parser").find("input", {"name": "csrf_token"})["value"]


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


@pytest.fixture
def client(panel, db_url, tmp_path):
    engine, info = panel
    now = datetime(2026, 6, 1, 9, 0)
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [
            {"external_id": f"M{k:03d}", "name": f"Mail customer {k}", "region": region,
             "email": f"m{k}@example.com", "tier": "silver", "created_at": now, "updated_at": now}
            for k, region in enumerate(REGIONS)])
    settings = Settings(database_url=db_url, mail_sink_dir=str(tmp_path / "sink"),
                        public_base_url=BASE_URL, mail_from="surveys@example.com")
    app = create_app(settings)
    with TestClient(app) as test_client:
        test_client.info = info
        test_client.engine = engine
        test_client.sink = tmp_path / "sink"
        test_client.fastapi_app = app
        yield test_client


def _post(client, path: str, data: dict, page: str | None = None):
    """POST a form with the CSRF token of the page it comes from."""
    token = _csrf(client.get(page or "/surveys").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _create(client, code="nps-2026", template="nps", **extra):
    return _post(client, "/surveys", {"template": template, "code": code, "title": "",
                                      "language": "en", **extra})


def test_create_a_survey_from_a_template(client):
    _login(client, "admin")
    form = _soup(client.get("/surveys"))
    offered = [o["value"] for o in form.select("select#template option")]
    assert offered[0] == "relationship" and "nps" in offered and "servqual22" in offered
    response = _create(client)
    assert response.status_code == 303 and response.headers["location"] == "/surveys/nps-2026"
    page = _soup(client.get("/surveys/nps-2026"))
    assert page.h1.text.startswith("Net Promoter Score")
    # The stored questionnaire is the template with the new code and English first.
    shown = parse_definition(page.select_one("textarea#definition-text").text)
    template = load_template("nps")
    assert shown.code == "nps-2026" and shown.languages[0] == "en"
    assert shown.sections == template.sections
    rows = _soup(client.get("/surveys")).select("table#surveys tbody tr")
    cells = {r.find("td").text: [td.text for td in r.find_all("td")] for r in rows}
    assert cells["nps-2026"][1:] == ["Net Promoter Score", "English", "Draft", "1", "0", "0"]
    assert cells["relationship"][5] == "60"  # the panel's 60 stored responses


def test_a_bad_code_or_template_is_refused_inline(client):
    _login(client, "admin")
    response = _create(client, code="Bad Code!")
    assert response.status_code == 400
    problems = [li.text for li in _soup(response).select("#problems li")]
    assert len(problems) == 1 and problems[0].startswith("code:")
    assert _soup(response).select_one("input#code")["value"] == "Bad Code!"
    response = _create(client, template="nonesuch")
    assert response.status_code == 400 and "unknown survey template" in response.text
    _create(client)
    response = _create(client)  # the same code twice
    assert response.status_code == 400 and "exists already" in response.text


def test_a_bad_definition_is_refused_with_the_path_of_each_problem(client):
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    data = json.loads(_soup(client.get(page)).select_one("textarea#definition-text").text)
    data["sections"][0]["items"][0]["type"] = "slider"
    data["sections"][0]["items"][1]["max_length"] = -5
    text = json.dumps(data)
    with pytest.raises(DefinitionError) as expected:  # the parser is the reference
        parse_definition(text)
    response = _post(client, f"{page}/definition", {"definition": text}, page)
    assert response.status_code == 400
    shown = [li.text for li in _soup(response).select("#problems li")]
    assert shown == expected.value.problems and len(shown) == 3
    assert [p.split(":")[0] for p in shown] == [
        "sections[0].items[0].type", "sections[0].items[1].max_length",
        "sections[0].items[2].show_if.item"]  # the skip rule now refers to a broken item
    # The text typed stays in the editor; the stored definition is unchanged.
    assert "slider" in _soup(response).select_one("textarea#definition-text").text
    assert "slider" not in client.get(page).text
    # A good change is saved as version 2.
    data["sections"][0]["items"][0]["type"] = "nps"
    data["sections"][0]["items"][1]["max_length"] = 500
    response = _post(client, f"{page}/definition", {"definition": json.dumps(data)}, page)
    assert response.status_code == 200
    assert survey_table(client.engine).set_index("code").loc["nps-2026", "version"] == 2


def test_open_waves_sample_deliver_and_field_dashboard(client):
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    response = _post(client, f"{page}/status", {"status": "open", "open_link": "1"}, page)
    assert response.status_code == 200
    assert _soup(response).select_one("#status")["data-status"] == "open"
    with client.engine.connect() as conn:
        token = conn.execute(select(surveys.c.open_token)
                             .where(surveys.c.code == "nps-2026")).scalar_one()
    assert _soup(response).select_one("a#open-url")["href"] == f"{BASE_URL}/o/{token}"
    assert _soup(response).select_one("img#open-qr")["src"].startswith("data:image/svg+xml")
    # The definition can no longer change once open.
    assert _soup(response).select_one("textarea#definition-text") is None
    response = _post(client, f"{page}/waves", {"name": "2026-Q3", "starts_on": "2026-07-01",
                                               "ends_on": ""}, page)
    assert response.status_code == 200
    # the wave named 2026-Q3 reads as a quarter, spelled one way on every page
    assert [td.text for td in _soup(response).select("table#wave-table tbody td")][:2] == \
        ["2026 Q3", "2026-07-01"]
    response = _post(client, f"{page}/sample", {
        "wave": "2026-Q3", "method": "stratified", "n": "6", "strata": "region",
        "allocation": "proportional", "seed": "7"}, page)
    assert response.status_code == 200, response.text
    report = _soup(response)
    assert report.select_one("#invited").text == "6" and report.select_one("#mails").text == "6"
    # Proportional allocation n_h = n N_h / N (Cochran 1977, Sampling Techniques, §5.3):
    # 6 of 12 eligible customers over strata of 6, 4 and 2 gives 3, 2 and 1.
    allocation = [[td.text for td in tr.find_all("td")]
                  for tr in report.select("table#allocation tbody tr")]
    assert allocation == [["East", "6", "3", "2.00"], ["North", "4", "2", "2.00"],
                          ["South", "2", "1", "2.00"]]
    # The three panel customers of the fixture have no e-mail address.
    assert [[td.text for td in tr.find_all("td")]
            for tr in report.select("table#exclusions tbody tr")] == [["no e-mail address", "3"]]
    assert report.select_one("#pending").text == "6"
    response = _post(client, f"{page}/deliver", {}, page)
    assert response.status_code == 200 and _soup(response).select_one("#count").text == "6"
    mails = sorted(client.sink.glob("*.eml"))
    assert len(mails) == 6
    with client.engine.connect() as conn:
        tokens = set(conn.execute(select(invitations.c.token)).scalars())
    for path in mails:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        body = message.get_body(("plain",)).get_content()
        link = re.search(rf"{re.escape(BASE_URL)}/s/(\S+)", body)
        assert link and link.group(1) in tokens
        assert message["From"] == "surveys@example.com"
    # Field dashboard: invited and mailed counts, and the stratum table.
    dashboard = _soup(client.get(page))
    funnel = {tr["data-stage"]: tr.td.text for tr in dashboard.select("table#funnel tr")}
    assert funnel["invited"] == "6" and funnel["mail_sent"] == "6" and funnel["completed"] == "0"
    strata = {tr.td.text: tr.find_all("td")[1].text
              for tr in dashboard.select("table#by-stratum tbody tr")}
    assert strata == {"East": "3", "North": "2", "South": "1"}
    # Nothing is old enough for a reminder today; a second delivery sends nothing.
    response = _post(client, f"{page}/reminders", {"wave": "2026-Q3", "older_than_days": "7"},
                     page)
    assert _soup(response).select_one("#count").text == "0"
    assert _soup(_post(client, f"{page}/deliver", {}, page)).select_one("#count").text == "0"


def test_sampling_errors_are_shown(client):
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    response = _post(client, f"{page}/sample", {"method": "simple", "n": "3"}, page)
    assert response.status_code == 400 and "open it before inviting" in response.text
    _post(client, f"{page}/status", {"status": "open"}, page)
    response = _post(client, f"{page}/sample", {"method": "simple", "n": "many"}, page)
    assert response.status_code == 400 and "must be a whole number" in response.text
    response = _post(client, f"{page}/sample", {"method": "stratified", "n": "3",
                                                "strata": "password"}, page)
    assert response.status_code == 400 and "cannot stratify by" in response.text
    response = _post(client, f"{page}/open-link", {"enabled": "on"}, page)
    assert _soup(response).select_one("a#open-url") is not None
    response = _post(client, f"{page}/open-link", {"enabled": "off"}, page)
    assert _soup(response).select_one("a#open-url") is None


def test_an_agent_enters_a_phone_interview(client):
    create_survey(client.engine, load_template("nps"), title="<b>NPS</b> by phone")
    set_status(client.engine, "nps", "open")
    add_wave(client.engine, "nps", "2026-Q3", date(2026, 1, 1))
    _login(client, "agent")
    assert client.get("/surveys").status_code == 403
    assert client.get("/surveys/nps").status_code == 403
    page = "/surveys/nps/enter?customer=M001"
    form = _soup(client.get(page))
    assert form.select_one("#customer-name").text == "Mail customer 1"
    assert "<b>NPS</b>" in form.h1.text  # shown as text, not markup
    assert form.select('input[name="nps"]') and form.select_one('textarea[name="nps_reason"]')
    # The whole questionnaire is on one page; the agent sees when to skip a question.
    assert [c.text for c in form.select("p.note code")] == ["nps ≤ 8"]
    submission = form.select_one('input[name="submission_id"]')["value"]
    base = {"submission_id": submission, "customer": "M001", "channel": "phone"}
    # The NPS question is required: refused with the message next to the item.
    response = _post(client, "/surveys/nps/enter", {**base, "nps_reason": "<i>slow</i>"}, page)
    assert response.status_code == 400
    item = _soup(response).select_one("#q-nps")
    assert item.select_one(".error").text and "has-error" in item["class"]
    assert _soup(response).select_one('textarea[name="nps_reason"]').text == "<i>slow</i>"
    response = _post(client, "/surveys/nps/enter",
                     {**base, "nps": "9", "nps_reason": "<i>slow</i>"}, page)
    assert response.status_code == 200 and _soup(response).select_one("#stored")
    with client.engine.connect() as conn:
        stored = conn.execute(
            select(responses.c.channel, customers.c.external_id, responses.c.id)
            .join(customers, customers.c.id == responses.c.customer_id)
            .where(responses.c.external_id == submission)).one()
        rows = conn.execute(select(answers.c.item_code, answers.c.value_num,
                                   answers.c.value_text)
                            .where(answers.c.response_id == stored.id)).all()
    assert (stored.channel, stored.external_id) == ("phone", "M001")
    assert {r.item_code: (r.value_num, r.value_text) for r in rows} == {
        "nps": (9.0, None), "nps_reason": (None, "<i>slow</i>")}
    # Posting the same form again stores nothing new.
    response = _post(client, "/surveys/nps/enter", {**base, "nps": "9"}, page)
    assert "stored already" in response.text
    # An unknown customer or channel is refused.
    response = _post(client, "/surveys/nps/enter",
                     {**base, "submission_id": "x1", "nps": "9", "customer": "NOPE"}, page)
    assert response.status_code == 400
    assert "no customer 'NOPE'" in _soup(response).select_one("#error").text
    response = _post(client, "/surveys/nps/enter",
                     {**base, "submission_id": "x2", "nps": "9", "channel": "web"}, page)
    assert response.status_code == 400 and _soup(response).select_one("#err-channel")


def test_every_post_needs_the_csrf_token(client):
    create_survey(client.engine, load_template("nps"))
    _login(client, "admin")
    paths = client.fastapi_app.openapi()["paths"]
    posts = sorted(p for p, methods in paths.items()
                   if p.startswith("/surveys") and "post" in methods)
    assert len(posts) == 11  # with withdrawing a draw and copying a survey
    for path in posts:
        url = path.replace("{code}", "nps")
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data={"status": "open", "n": "1", **data},
                                   follow_redirects=False)
            assert response.status_code == 403, url
            assert "The form has expired" in response.text
    assert survey_table(client.engine).set_index("code").loc["nps", "status"] == "draft"


def test_survey_titles_are_escaped(client):
    _login(client, "admin")
    _create(client, code="x", title="<script>alert(1)</script>")
    listing = client.get("/surveys").text
    assert "<script>alert(1)</script>" not in listing
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert "<script>alert(1)</script>" not in client.get("/surveys/x").text


def test_exclusion_reasons_group_without_dates():
    import pandas as pd
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "reason": [
        "invited 2026-05-01, inside the 90-day quiet period",
        "invited 2026-05-03, inside the 90-day quiet period; no e-mail address",
        "no e-mail address"]})
    counts = exclusion_counts(frame)
    assert dict(zip(counts["reason"], counts["customers"], strict=True)) == {
        "invited …, inside the 90-day quiet period": 2, "no e-mail address": 2}
    assert parse_sd("East=1.5; North / large = 0.5") == {"East": 1.5, "North / large": 0.5}
    assert parse_sd("") is None
    with pytest.raises(ValueError, match="stratum=number"):
        parse_sd("East 1.5")


def test_the_entry_page_shows_every_item_of_every_template(client):
    """Each question of each template (all eight item types) gets its block and inputs."""
    _login(client, "admin")
    offered = [o["value"] for o in _soup(client.get("/surveys")).select("select#template option")]
    assert len(offered) == 11
    for template in offered:
        code = f"t-{template}"
        assert _create(client, code=code, template=template).status_code == 303, template
        definition = _soup(client.get(f"/surveys/{code}")).select_one("textarea#definition-text")
        q = parse_definition(definition.text)
        page = _soup(client.get(f"/surveys/{code}/enter"))
        assert len(page.select("div.question")) == len(q.items), template
        names = {i["name"] for i in page.select("div.question input, div.question textarea")}
        expected = {c.rsplit(".", 1)[0] if i.type == "multiple" else c
                    for i in q.items for c in i.answer_codes()}
        assert names == expected, template


def _open_with_wave(client) -> str:
    """Log in as admin, create nps-2026 from its template, open it with wave W1; its page."""
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    _post(client, f"{page}/status", {"status": "open"}, page)
    _post(client, f"{page}/waves", {"name": "W1", "starts_on": "2026-07-01", "ends_on": ""}, page)
    return page


def test_targeted_lists_and_quotas_from_the_sample_form(client):
    page = _open_with_wave(client)
    sample = {"wave": "W1", "method": "targeted", "n": "", "allocation": "proportional"}
    # A segment: everyone eligible in it, weight 1 (no inclusion probability).
    response = _post(client, f"{page}/sample", {**sample, "segments": "region=South"}, page)
    assert response.status_code == 200, response.text
    assert _soup(response).select_one("#invited").text == "2"
    # Named customers (key accounts); an unknown id is listed, not dropped silently.
    response = _post(client, f"{page}/sample", {**sample, "ids": "M000, M001\nnope"}, page)
    assert _soup(response).select_one("#invited").text == "2"
    assert "nope" in _soup(response).select_one("#unmatched").text
    # A stratified draw with a quota on one cell: East is capped at 1.
    response = _post(client, f"{page}/sample", {
        **sample, "method": "stratified", "n": "8", "strata": "region", "seed": "3",
        "quotas": "East=1"}, page)
    assert response.status_code == 200, response.text
    quota = [[td.text for td in tr.find_all("td")]
             for tr in _soup(response).select("table#quotas tbody tr")]
    assert quota[0][0] == "East" and quota[0][2:] == ["1", "1"]
    with client.engine.connect() as conn:
        by_region = dict(conn.execute(
            select(customers.c.region, func.count()).join(
                invitations, invitations.c.customer_id == customers.c.id)
            .group_by(customers.c.region)).all())
    assert by_region == {"South": 2, "East": 2 + 1, "North": 4}
    # Bad combinations are explained, nothing is invited.
    for fields, words in [({"segments": ""}, "segment"),
                          ({"segments": "colour=red"}, "cannot read segment"),
                          ({"method": "simple", "n": "2", "quotas": "East=1"}, "strata"),
                          ({"method": "stratified", "n": "2", "strata": "region",
                            "quotas": "East=many"}, "cannot read quota")]:
        response = _post(client, f"{page}/sample", {**sample, **fields}, page)
        assert response.status_code == 400 and words in response.text, fields


def test_field_json_for_the_live_dashboard(client):
    page = _open_with_wave(client)
    _post(client, f"{page}/sample", {"wave": "W1", "method": "simple", "n": "4", "seed": "1",
                                     "allocation": "proportional"}, page)
    field = client.get("/api/surveys/nps-2026/field").json()
    assert field["funnel"] == {"invited": 4, "mail_sent": 0, "started": 0, "completed": 0,
                               "flagged": 0}
    assert field["live"] == {"last_hour": 0, "last_day": 0}
    assert [(w["wave"], w["invited"], w["response_rate"]) for w in field["by_wave"]] == [
        ("W1", 4, 0.0)]
    # the page shows the same numbers, marked for the script that refreshes them
    shown = {tr["data-stage"]: int(tr.td.text) for tr in _soup(client.get(page)).select(
        "#funnel tr")}
    assert shown == field["funnel"]
    assert client.get("/api/surveys/nope/field").status_code == 404


def test_a_yaml_alias_bomb_gets_a_short_error_page(client):
    """A few hundred bytes of YAML aliases once became a 152 MB error page."""
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    bomb = ("code: x\nversion: 1\n"
            'a: &a ["lolololololololololololololololololololololololol"]\n'
            + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcde", "bcdef"))
            + "format: *f\n")
    response = _post(client, f"{page}/definition", {"definition": bomb}, page)
    assert response.status_code == 400
    assert len(response.text) < 100_000, len(response.text)
    shown = [li.text for li in _soup(response).select("#problems li")]
    assert shown == ["invalid YAML at line 4, column 8: aliases (*name) are not allowed; "
                     "write the values out"]


def test_a_flood_of_problems_is_cut_on_the_page(client):
    _login(client, "admin")
    _create(client)
    page = "/surveys/nps-2026"
    items = "".join(f"  - {{code: q{i}, type: slider}}\n" for i in range(8000))
    text = ("code: nps-2026\nformat: 1\nversion: 1\nlanguages: [en, zh_Hans, zh_Hant]\n"
            "title: {en: a, zh_Hans: b, zh_Hant: c}\nsections:\n- code: s\n  items:\n" + items)
    assert len(text) < 400_000
    response = _post(client, f"{page}/definition", {"definition": text}, page)
    assert response.status_code == 400
    shown = [li.text for li in _soup(response).select("#problems li")]
    assert len(shown) == 101 and shown[-1].endswith("more problems")
    assert len(response.text) < len(text) + 100_000
