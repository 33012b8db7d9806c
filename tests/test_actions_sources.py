"""Where an action starts: the complaint analysis offers "Plan an action" on each complaint
category (a new action to reduce it, titled in the reader's language), and the prefilled form
of each kind of source (IPA / driver dimension or item, Kano attribute, complaint category,
comment theme, or nothing known: a manual action)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from bs4 import BeautifulSoup

from sqlalchemy import insert, update

from patronage.actions.sources import new_action_link, prefill
from patronage.storage import write_transaction
from patronage.storage.schema import cases
from patronage.storage.schema_cases import case_categories
from test_complaint_analysis import desk_history  # noqa: F401 (the seeded desk)
from test_complaints_page import _client, _login

pytestmark = pytest.mark.db


def test_each_complaint_category_leads_to_a_prefilled_action(desk_history, db_url):  # noqa: F811
    engine, _kind = desk_history
    with write_transaction(engine) as conn:
        conn.execute(insert(case_categories).values(code="delivery", name_en="Delivery",
                                                    name_zh_hans="送货", name_zh_hant="送貨"))
        conn.execute(update(cases).where(cases.c.id % 2 == 0).values(category="delivery"))
    with _client(engine, db_url) as client:
        _login(client, "analyst")
        page = BeautifulSoup(client.get("/cases/analysis").text, "html.parser")
        links = page.find(id="section-volume-category").select("a.plan-action")
        assert links and all(a.text == "制定改进措施" for a in links)
        first = links[0]
        category = parse_qs(urlparse(first["href"]).query)["ref"][0]
        assert parse_qs(urlparse(first["href"]).query)["source"] == ["complaint"]
        assert category == "delivery" and len(links) == 1  # cases without one: no link
        form = BeautifulSoup(client.get(first["href"]).text, "html.parser").find(id="action-form")
        assert form.find("input", {"name": "source_ref"})["value"] == category
        assert form.find("input", {"name": "title"})["value"] == "减少关于送货的投诉"
        _login(client, "agent")
        agent_page = BeautifulSoup(client.get("/cases/analysis").text, "html.parser")
        assert agent_page.select("a.plan-action") == []


def test_prefill_of_each_source(engine):
    zh = {"Improve {name}": "改进{name}"}.get
    item = prefill(engine, "driver", "speed_timeliness", language="zh_Hans",
                   gettext=lambda s: zh(s, s))
    assert (item["title"], item["metric"]) == ("改进及时性", "item:speed_timeliness")
    assert prefill(engine, "ipa", "service")["metric"] == "dimension:service"
    kano = prefill(engine, "kano", "app")
    assert kano["metric"] == "csi" and kano["source"] == "kano"
    theme = prefill(engine, "theme", "送货慢")
    assert (theme["title"], theme["metric"]) == ("Improve 送货慢", "nps")
    assert prefill(engine, "guess", "x")["source"] == "manual"
    assert prefill(engine, "ipa", "")["source"] == "manual"
    assert new_action_link("theme", "送货 慢", "nps-2026", "region=East+China") == (
        "/actions/new?source=theme&ref=%E9%80%81%E8%B4%A7+%E6%85%A2&survey=nps-2026"
        "&segment=region%3DEast%2BChina")
