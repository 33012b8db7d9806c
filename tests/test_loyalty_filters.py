"""Filters beyond the survey pages: the touchpoint filter (responses that followed a moment of
truth), the Loyalty page on the customers the segment filters keep, and the whole report's
customer sections (value at risk, complaint categories, programme liability, comment themes) on
the filtered customers and responses."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

import pytest

from patronage.messages import UserError
from patronage.reporting.filters import Filters, customer_filters, options
from patronage.satisfaction.sources import survey_data_from_db
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import touchpoints

# The seeded panel (conftest.seed_panel): response i (0..59) is customer 1 + i % 3, wave 2026-Q1
# for i < 30 (submitted on 2026-02-(1 + i % 28) at midnight) else 2026-Q2 (in May).


def _touchpoints(engine) -> None:
    """Customer 1 gets a delivery on 2026-02-10 and customer 2 an installation in April; every
    customer's answers are also recorded as 'survey' touchpoints (never a filter value)."""
    rows = [{"customer_id": 1, "occurred_at": datetime(2026, 2, 10), "kind": "delivery"},
            {"customer_id": 2, "occurred_at": datetime(2026, 4, 20), "kind": "installation"}]
    rows += [{"customer_id": 1 + i % 3, "occurred_at": datetime(2026, 2, 1 + i % 28),
              "kind": "survey"} for i in range(30)]
    with write_transaction(engine) as conn:
        insert_rows(conn, touchpoints, rows)


def test_touchpoint_filter_parses_round_trips_and_refuses_unknown_kinds():
    chosen = Filters(touchpoint="delivery", region="East China")
    assert Filters.from_query(dict(parse_qsl(chosen.to_query()))) == chosen
    assert chosen.active and chosen.without("touchpoint") == Filters(region="East China")
    with pytest.raises(UserError, match="no touchpoint 'teleport'") as refused:
        Filters.from_query({"touchpoint": "teleport"})
    assert refused.value.kind == "touchpoint" and "installation" in refused.value.choices


def test_touchpoint_filter_keeps_the_responses_that_followed_one(panel):
    engine, _info = panel
    _touchpoints(engine)
    data = survey_data_from_db(engine, "relationship")
    assert options(data)["touchpoint"] == ["delivery", "installation"]  # no "survey"
    delivered = Filters(touchpoint="delivery").apply(data)
    # Customer 1 (i % 3 == 0) answering 2026-02-10 .. 2026-03-11: Q1 answers on day >= 10.
    expected = {f"R{i}" for i in range(30) if i % 3 == 0 and 1 + i % 28 >= 10}
    assert set(delivered.meta.index) == expected and len(expected) == 7
    # Customer 2's May answers (i % 3 == 1, i >= 30) within 30 days of 20 April: days 1..20.
    installed = Filters(touchpoint="installation").apply(data)
    assert set(installed.meta.index) == {f"R{i}" for i in range(30, 60)
                                         if i % 3 == 1 and 1 + i % 28 <= 20}
    assert Filters(touchpoint="delivery", wave="2026-Q2").apply(data).meta.empty
    with pytest.raises(UserError, match="no Touchpoint 'training' in these responses"):
        Filters(touchpoint="training").apply(data)


def test_customer_pages_take_the_segment_filters_and_name_the_others():
    chosen = Filters(survey="relationship", wave="2026-Q1", touchpoint="delivery",
                     region="East China")
    kept, dropped = customer_filters(chosen)
    assert kept == Filters(region="East China")
    assert dropped == ["wave", "touchpoint"]
    assert customer_filters(Filters(tier="gold")) == (Filters(tier="gold"), [])


# --- the Loyalty page on filtered customers (the demo company) ---------------------------------


@pytest.fixture(scope="module")
def demo_engine(demo_company):
    from patronage.storage import make_engine

    engine = make_engine(demo_company[0])
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(demo_company):
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app

    url, summary, _company = demo_company
    app = create_app(Settings(database_url=url, page_wait_seconds=300))
    with TestClient(app) as test_client:
        test_client.info = {"logins": {"analyst": ("analyst@demo.patronage",
                                                   summary.users["analyst@demo.patronage"][1])}}
        yield test_client


def _counted(page) -> dict[str, str]:
    """Each section's line saying how many customers it counts."""
    return {section["id"].removeprefix("section-"): section.select_one("p.note").text
            for section in page.select("section.card") if section.select_one("p.note")}


def test_the_loyalty_sections_count_the_customers_the_filters_keep(demo_engine):
    from patronage.reporting.loyalty import customers_line, loyalty_page
    from patronage.storage import read_customers

    panel = read_customers(demo_engine)
    north = panel[panel["region"] == "North China"]
    everyone = loyalty_page(demo_engine, Filters())
    part = loyalty_page(demo_engine, Filters(region="North China", wave="2026-Q1"))
    assert (everyone["kept"], everyone["total"]) == (len(panel), len(panel))
    assert (part["kept"], part["total"], part["not_applied"]) == (len(north), len(panel),
                                                                  ["wave"])
    whole = {s.key: s.table for s in everyone["sections"]}
    mine = {s.key: s.table for s in part["sections"]}
    assert all(table is not None for table in mine.values())
    buyers = set(north["customer_id"])
    assert set(mine["clv"].index) <= buyers and set(mine["at_risk"].index) <= buyers
    assert mine["rfm"]["customers"].sum() == mine["rfm"].attrs["n"] < whole["rfm"].attrs["n"]
    assert mine["cohorts"]["cohort_size"].sum() == mine["cohorts"].attrs["n"] < \
        whole["cohorts"]["cohort_size"].sum()
    assert mine["at_risk"].attrs["n"] < whole["at_risk"].attrs["n"]
    assert mine["defection"].attrs["n"] < whole["defection"].attrs["n"]
    # A customer's CLV does not depend on the filters (the models are fitted on everyone).
    first = mine["clv"].index[0]
    assert first in whole["clv"].index or mine["clv"].at[first, "clv"] <= whole["clv"]["clv"].min()
    assert customers_line(12, lambda s: s) == "n = 12 customers · fewer than 30 customers: " \
                                                "read with care"
    assert customers_line(1234, lambda s: s) == "n = 1,234 customers"
    from patronage.reporting.selection_lists import loyalty_list

    at_risk = loyalty_list(demo_engine, "at_risk", filters=Filters(region="North China"))
    assert at_risk.total == mine["at_risk"].attrs["n"] and set(at_risk.table.index) <= buyers
    assert loyalty_list(demo_engine, "at_risk").total == whole["at_risk"].attrs["n"]
    problem = loyalty_page(demo_engine, Filters(region="Atlantis"))["problem"]
    assert isinstance(problem, UserError) and "no Region 'Atlantis'" in str(problem)


def test_the_loyalty_page_filters_in_chinese_and_names_what_it_cannot_filter(client):
    from bs4 import BeautifulSoup
    from staff_login import log_in

    log_in(client)
    whole = BeautifulSoup(client.get("/loyalty").text, "html.parser")
    assert whole.select_one("form#filters select[name=region]") is not None
    assert whole.select_one("form#filters [name=wave]") is None  # customers, not responses
    assert "n = 5,000 位客户" in whole.select_one("#customers-counted").text
    response = client.get("/loyalty?region=North+China&touchpoint=delivery")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    counted = page.select_one("#customers-counted").text
    assert "共 5,000 位客户" in counted and "n = 5,000" not in counted
    assert "本页不适用" in page.select_one("#filters-not-applied").text
    assert "接触点" in page.select_one("#filters-not-applied").text
    assert _counted(page)["clv"] != _counted(whole)["clv"]
    assert _counted(whole)["clv"] == "n = 5,000 位客户"
    lists = [a["href"] for a in page.select("#section-clv p.lists a")]
    assert lists and all("region=North+China" in address for address in lists)
    listing = BeautifulSoup(_ready(client, lists[0], None).text, "html.parser")
    assert "筛选：地区 华北" in listing.text
    export = page.select_one("#export-tables")["href"]
    assert "region=North+China" in export and "page=loyalty" in export
    bad = client.get("/loyalty?region=Atlantis")
    assert bad.status_code == 400 and "Atlantis" in bad.text and "华北" in bad.text
    wrong = client.get("/loyalty?touchpoint=teleport")
    assert wrong.status_code == 400 and "交付" in wrong.text  # the kinds by their labels


def _ready(client, path, params):
    import time

    for _ in range(300):  # built in the background
        response = client.get(path, params=params)
        if response.status_code != 202:
            return response
        time.sleep(1)
    raise AssertionError(f"{path} was not ready in time")


def test_the_loyalty_tables_export_names_the_filters_and_counts(client):
    import io

    from openpyxl import load_workbook
    from staff_login import log_in

    log_in(client)
    response = _ready(client, "/reports/tables", {"page": "loyalty", "region": "North China",
                                                  "wave": "2026-Q1"})
    book = load_workbook(io.BytesIO(response.content))
    cells = [str(c) for row in book.worksheets[0].iter_rows(values_only=True) for c in row
             if c is not None]
    assert any(c.startswith("筛选：地区 华北") and "本页不适用" in c and "批次" in c
               for c in cells), cells[:5]
    assert any(c.startswith("n = ") and "位客户" in c for c in cells)


def test_a_filtered_report_counts_value_at_risk_cases_and_themes_of_its_customers(demo_engine):
    from patronage.reporting.report_build import build_report

    def figures(report):
        sections = {s.key: s for s in report.sections}
        kpis = {k.label: k for s in report.sections for k in s.kpis}
        tables = {t.title: t.frame for s in report.sections for t in s.tables}
        return sections, kpis, tables

    whole = figures(build_report(demo_engine, "relationship"))
    north = figures(build_report(demo_engine, "relationship",
                                 filters=Filters(region="North China", wave="2026-Q1")))
    assert north[1]["Value at risk"].value < whole[1]["Value at risk"].value
    assert north[1]["Value at risk"].n < whole[1]["Value at risk"].n
    assert north[1]["Cases"].value < whole[1]["Cases"].value
    assert north[2]["Top complaint categories"]["cases"].sum() < \
        whole[2]["Top complaint categories"]["cases"].sum()
    liability = "Programme liability (net)"
    assert north[1][liability].value < whole[1][liability].value
    assert north[2]["Comment themes"]["n"].sum() < whole[2]["Comment themes"]["n"].sum()
    notes = " ".join(north[0]["loyalty"].notes + north[0]["cases"].notes)
    assert "region, industry, size, tier and channel filters keep" in notes
    assert "cannot be filtered by Wave" in notes
    assert not any("filters keep" in n for s in whole[0].values() for n in s.notes)
    delivered = figures(build_report(demo_engine, "relationship",
                                     filters=Filters(region="North China", touchpoint="delivery")))
    assert delivered[1]["Cases"].value < north[1]["Cases"].value
    assert "keeps the cases about that touchpoint" in " ".join(delivered[0]["cases"].notes)
    assert "cannot be filtered by Touchpoint" in " ".join(delivered[0]["loyalty"].notes)
