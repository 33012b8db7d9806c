"""Reaching the survey work from where people are: agents find phone entry in the menu and on a
customer's profile; the title typed when creating a survey is what respondents see; notices
read as sentences (issue 10, items 7 and 10)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from test_survey_admin import _create, _login, _post, _soup, client  # noqa: F401  (fixture)

from patronage.storage.schema import customers, outbox
from patronage.surveys.program import add_wave, draw_sample, set_status

pytestmark = pytest.mark.db


def _open_nps(client, code="nps-2026", title=""):  # noqa: F811
    _login(client, "admin")
    assert _create(client, code=code, title=title, language="zh_Hans").status_code == 303
    return set_status(client.engine, code, "open", open_link=True)


def test_an_agent_finds_phone_entry_in_the_menu(client):  # noqa: F811
    _open_nps(client)
    _post(client, "/logout", {}, "/")
    _login(client, "agent")
    home = _soup(client.get("/customers"))
    links = {a.get("href") for a in home.select("header nav a")}
    assert "/enter" in links
    listing = _soup(client.get("/enter"))
    assert client.get("/enter").status_code == 200
    assert listing.select_one('a[href="/surveys/nps-2026/enter"]') is not None
    # A customer id typed on the list goes straight to the form for that customer.
    form = listing.select_one("form[action='/surveys/nps-2026/enter']")
    assert form is not None and form.get("method", "get").lower() == "get"
    assert form.select_one("input[name=customer]") is not None


def test_a_customer_profile_links_to_phone_entry_for_that_customer(client):  # noqa: F811
    _open_nps(client)
    with client.engine.connect() as conn:
        pk = conn.execute(select(customers.c.id).where(customers.c.external_id == "M001")
                          ).scalar_one()
    _post(client, "/logout", {}, "/")
    _login(client, "agent")
    profile = _soup(client.get(f"/customers/{pk}"))
    link = profile.select_one('a[href="/surveys/nps-2026/enter?customer=M001"]')
    assert link is not None
    entry = _soup(client.get(link["href"]))
    assert entry.select_one("input#customer")["value"] == "M001"
    assert entry.select_one("#customer-name").text == "Mail customer 1"


def test_draft_and_closed_surveys_are_not_offered_for_entry(client):  # noqa: F811
    _open_nps(client)
    _create(client, code="draft-one", title="")
    listing = _soup(client.get("/enter"))
    assert listing.select_one('a[href="/surveys/draft-one/enter"]') is None


def test_the_typed_title_reaches_respondents_in_every_language(client):  # noqa: F811
    token = _open_nps(client, title="2026年客户推荐调查")
    for lang in ("zh_Hans", "zh_Hant", "en"):
        page = _soup(client.get(f"/o/{token}?lang={lang}"))
        assert page.h1.text == "2026年客户推荐调查", lang
        assert page.title.text == "2026年客户推荐调查"
    add_wave(client.engine, "nps-2026", "W1", __import__("datetime").date(2026, 1, 1))
    draw_sample(client.engine, "nps-2026", "W1", n=1, seed=1, base_url="https://x.example")
    with client.engine.connect() as conn:
        subject = conn.execute(select(outbox.c.subject)).scalar_one()
    assert "2026年客户推荐调查" in subject


def test_without_a_typed_title_respondents_see_the_template_title(client):  # noqa: F811
    token = _open_nps(client)
    assert _soup(client.get(f"/o/{token}?lang=en")).h1.text == "Net Promoter Score"
    assert _soup(client.get(f"/o/{token}")).h1.text == "净推荐值（NPS）调查"


def test_a_changed_definition_title_is_the_survey_title_too(client):  # noqa: F811
    _login(client, "admin")
    _create(client, code="nps-2026", title="", language="zh_Hans")
    page = _soup(client.get("/surveys/nps-2026"))
    text = page.select_one("textarea#definition-text").text.replace(
        "净推荐值（NPS）调查", "门店推荐调查")
    _post(client, "/surveys/nps-2026/definition", {"definition": text}, "/surveys/nps-2026")
    assert _soup(client.get("/surveys/nps-2026")).h1.text.startswith("门店推荐调查")


def test_notices_never_end_in_a_dangling_colon(client):  # noqa: F811
    """Issue 10 item 10: "问卷已保存。:" was shown after saving a questionnaire."""
    _login(client, "admin")
    _create(client, code="nps-2026", title="", language="zh_Hans")
    client.cookies.set("patronage_lang", "zh_Hans")
    page = _soup(client.get("/surveys/nps-2026"))
    text = page.select_one("textarea#definition-text").text
    saved = _post(client, "/surveys/nps-2026/definition", {"definition": text},
                  "/surveys/nps-2026")
    notice = _soup(saved).select_one("#notice").get_text(strip=True)
    assert notice and not notice.endswith((":", "：")) and ".:" not in notice
    assert "。:" not in notice
    opened = _post(client, "/surveys/nps-2026/status", {"status": "open"}, "/surveys/nps-2026")
    notice = _soup(opened).select_one("#notice").get_text(strip=True)
    assert not notice.endswith((":", "：")) and "。:" not in notice
    mails = _post(client, "/surveys/nps-2026/deliver", {}, "/surveys/nps-2026")
    notice = _soup(mails).select_one("#notice").get_text(strip=True)
    assert notice[-1].isdigit()  # a count after its label


def test_an_opened_survey_can_be_copied_from_its_page_with_a_new_title(client):  # noqa: F811
    """The page says "copy the survey to ask changed questions": the copy must be reachable,
    and a title given to the copy is what its respondents see."""
    token = _open_nps(client)
    page = _soup(client.get("/surveys/nps-2026"))
    form = page.select_one("form#copy-survey")
    assert form is not None and form["action"] == "/surveys/nps-2026/copy"
    response = _post(client, "/surveys/nps-2026/copy",
                     {"new_code": "nps-2027", "title": "2027年推荐调查"}, "/surveys/nps-2026")
    assert response.status_code == 303 and response.headers["location"] == "/surveys/nps-2027"
    copy = _soup(client.get("/surveys/nps-2027"))
    assert copy.h1.text.startswith("2027年推荐调查")
    assert "2027年推荐调查" in copy.select_one("textarea#definition-text").text
    bad = _post(client, "/surveys/nps-2026/copy", {"new_code": "nps-2027", "title": ""},
                "/surveys/nps-2026")
    assert bad.status_code == 400 and _soup(bad).select_one("#error").text
    assert token  # the original keeps its open link


def test_the_menu_marks_interview_entry_not_surveys_on_the_entry_form(client):  # noqa: F811
    _open_nps(client)
    current = [a["href"] for a in _soup(client.get("/surveys/nps-2026/enter"))
               .select("header nav a[aria-current=page]")]
    assert current == ["/enter"]
