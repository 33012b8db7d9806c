"""The analyses on the demo company, whose true effects are known, through the CLI and the
library (SQLite, or PostgreSQL when PATRONAGE_TEST_DATABASE_URL says so)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from patronage.satisfaction.methods import drivers_table, kano_table, pls_table
from patronage.satisfaction.sources import survey_data_from_db
from patronage.cli import main
from patronage.loyalty import at_risk_table, clv_table
from patronage.storage import make_engine

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def demo(demo_company):
    url, summary, company = demo_company
    engine = make_engine(url)
    yield url, engine, company.truth
    engine.dispose()


def ranking(effects) -> list[str]:
    return [k for k, _ in sorted(effects.items(), key=lambda kv: -kv[1])]


@pytest.mark.parametrize("method", ["relative_weights", "shapley"])
def test_drivers_recover_the_true_ranking_of_effects(demo, method):
    """Derived importance (Johnson 2000; Lipovetsky & Conklin 2001) on the demo survey ranks the
    dimensions as the generating model's true effects do."""
    _url, engine, truth = demo
    table = drivers_table(survey_data_from_db(engine), method=method, n_boot=100)
    assert list(table.sort_values("rank").index) == ranking(truth.dimension_effects)
    assert (table["lower"] <= table["importance"]).all()
    assert (table["importance"] <= table["upper"]).all()


def test_pls_paths_recover_the_true_ranking(demo):
    _url, engine, truth = demo
    paths = pls_table(survey_data_from_db(engine), n_boot=50)
    into_satisfaction = paths.xs("satisfaction", level="target")["original"].to_dict()
    assert ranking(into_satisfaction) == ranking(truth.dimension_effects)


def test_kano_recovers_the_true_categories(demo):
    _url, engine, truth = demo
    result = kano_table(survey_data_from_db(engine))
    assert result["category"].to_dict() == truth.kano_categories


SURVEY_METHODS = ["nps", "csi", "csat", "gap", "kano", "drivers --bootstrap 20", "ipa",
                  "reliability", "trend", "pls --bootstrap 20 --show scores", "compare --by size",
                  "crosstab --rows industry", "nps-diff 2025-Q3 2026-Q2"]
LOYALTY_METHODS = ["clv --top 10", "rfm --summary", "cohorts", "cohorts --curve", "at-risk --top 10",
                   "segments", "whale", "holdout", "defection", "retention", "retention-value", "survival",
                   "cross-buying"]


@pytest.fixture
def read_once(monkeypatch):
    """Rows read once per test: an analysis run in three formats would read the same rows of
    the (unchanging) demo three times, most of its time on 5,000 customers. The first run reads
    them from the database and the others get a copy; a format is applied after the reading,
    so each format still shows the analysis of the rows in the database."""
    from patronage.storage import reads

    read_rows = reads._frame
    read = {}

    def once(engine, query, parse_dates=()):
        compiled = query.compile(dialect=engine.dialect)
        key = (str(engine.url), str(compiled), repr(compiled.params), tuple(parse_dates))
        if key not in read:
            read[key] = read_rows(engine, query, parse_dates)
        return read[key].copy()

    monkeypatch.setattr(reads, "_frame", once)
    return read


@pytest.mark.parametrize("command", SURVEY_METHODS + LOYALTY_METHODS)
def test_every_analysis_runs_from_the_cli_in_every_format(demo, command, read_once):
    url = demo[0]
    runner = CliRunner()
    for fmt in ("table", "json", "csv"):
        result = runner.invoke(main, ["analyze", *command.split(), "--db", url, "--format", fmt])
        assert result.exit_code == 0, (command, fmt, result.output)
        assert result.output.strip()
        if fmt == "json":
            assert json.loads(result.output)


def test_clv_ranks_customers_and_p_alive_separates_the_lost(demo):
    _url, engine, truth = demo
    table = clv_table(engine)
    assert table["clv"].is_monotonic_decreasing
    alive = truth.customer_params["alive"].reindex(table.index)
    # The BG/NBD probability of being alive is higher for customers who are truly alive.
    assert table.loc[alive, "p_alive"].mean() > table.loc[~alive, "p_alive"].mean() + 0.2


def test_at_risk_list_finds_declining_key_accounts(demo):
    _url, engine, truth = demo
    flagged = at_risk_table(engine)
    assert not flagged.empty and flagged["reason"].str.len().gt(0).all()
    declining = truth.customer_params["declining_key_account"]
    declining = set(declining[declining].index)
    top = set(flagged.head(30).index)
    # Most of the most valuable at-risk customers are key accounts that truly decline.
    assert len(top & declining) >= 15


@pytest.fixture(scope="module")
def demo_app(demo):
    """One application for the page tests: a page of the demo is computed once (as on a
    server, where visits share the computed pages) and each test gets a client of its own."""
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app

    app = create_app(Settings(database_url=demo[0]))
    with TestClient(app):  # starts the application once
        yield app


@pytest.fixture
def analyst_client(demo_app):
    from fastapi.testclient import TestClient

    yield TestClient(demo_app), demo_app


def _login(client, email, password):
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("path, sections, charts", [
    ("/analysis", ["drivers", "ipa", "kano", "gap", "reliability", "trend", "pls", "segments",
                   "csat", "crosstab", "competitor", "composition", "weighting"],
     ["drivers", "ipa", "kano", "pls", "segments", "csat", "crosstab", "competitor",
      "composition", "weighting"]),
    ("/analysis?survey=servqual22", ["servqual", "composition"],
     ["servqual", "composition", "weighting"]),
    ("/analysis?survey=ces", ["ces", "composition"], ["ces", "composition", "weighting"]),
    ("/loyalty", ["clv", "rfm", "cohorts", "at_risk", "whale", "holdout", "segments",
                  "retention_sat", "defection", "economics"],
     ["clv", "rfm", "cohorts", "whale", "holdout", "retention_sat"]),
])
def test_dashboard_pages_show_every_section_with_its_chart(demo_company, analyst_client, path,
                                                           sections, charts):
    from bs4 import BeautifulSoup

    _url, summary, _company = demo_company
    client, _app = analyst_client
    email = "analyst@demo.patronage"
    _login(client, email, summary.users[email][1])
    for lang in ("en", "zh_Hans"):
        client.cookies.set("patronage_lang", lang)
        page = BeautifulSoup(client.get(path).text, "html.parser")
        for key in sections:
            section = page.select_one(f"#section-{key}")
            assert section is not None, key
            assert "Not available" not in section.text and "无法计算" not in section.text, key
            assert section.select("tbody tr"), key
        assert sorted(c["id"] for c in page.select("[data-figure]")) == sorted(
            f"chart-{key}" for key in charts)


def test_at_risk_reasons_are_shown_in_the_interface_language(demo_company, analyst_client):
    """The latent-switching reason on the Loyalty page is worded through the catalogs: Chinese
    on the Chinese interfaces, the analytics' English text on the English one."""
    from bs4 import BeautifulSoup

    from patronage.loyalty import at_risk_table

    url, summary, _company = demo_company
    client, app = analyst_client
    email = "analyst@demo.patronage"
    _login(client, email, summary.users[email][1])
    english = at_risk_table(app.state.engine, top=20)["reason"].tolist()
    shown = {}
    for lang in ("en", "zh_Hans", "zh_Hant"):
        client.cookies.set("patronage_lang", lang)
        page = BeautifulSoup(client.get("/loyalty").text, "html.parser")
        rows = page.select("#section-at_risk tbody tr")
        shown[lang] = [row.select("td")[-1].text for row in rows]
    assert shown["en"] == english
    assert len(shown["zh_Hans"]) == len(english) > 0
    for lang, word in (("zh_Hans", "模型预期"), ("zh_Hant", "模型預期")):
        assert not any("bought" in r or "spend down" in r for r in shown[lang]), lang
        counted = [r for r, e in zip(shown[lang], english, strict=True) if e.startswith("bought")]
        assert counted and all(word in r for r in counted), lang


def _demo_flags(engine, code="relationship", **options):
    """Quality flags of the demo survey computed without storing them (the demo is shared)."""
    from patronage.storage import read_answers, read_responses
    from patronage.surveys.cleaning import flag_responses
    from patronage.surveys.program import get_survey
    from patronage.surveys.quality import definition_items

    stored = read_responses(engine, survey_code=code)
    key = stored.set_index("response_pk")["response_id"]
    numeric = read_answers(engine, survey_code=code).dropna(subset=["value_num"])
    wide = (numeric.assign(response_id=numeric["response_pk"].map(key))
            .pivot(index="response_id", columns="item_code", values="value_num")
            .reindex(stored["response_id"]))
    frame = stored[["response_id", "customer_id", "survey", "wave", "started_at",
                    "submitted_at", "quality_flags"]]
    items = definition_items(get_survey(engine, code).questionnaire)
    return stored, wide, flag_responses(frame, wide, definition_items=items, **options)


def test_straight_lining_spares_honest_respondents_and_keeps_the_nps(demo):
    """The demo plants careless respondents (speeders who give one mid-scale answer to every
    rated item); honest respondents often give the five brand items one answer, as a valid
    battery of one construct does (Reuning & Plutzer 2020, SRM 14:439).  The default rule flags
    the planted ones and few others; the plain zero-variance rule on every grid of 5+ items
    flags about twice as many.  Without the flagged responses the NPS per wave stays near the
    demo's known respondent NPS."""
    import numpy as np
    import pandas as pd

    from patronage.analytics import nps

    _url, engine, truth = demo
    stored, wide, flags = _demo_flags(engine)
    _s, _w, plain = _demo_flags(engine, long_grid_items=5, extremes_need_signal=False)
    planted = stored["quality_flags"].map(lambda f: "speeder" in (f or {})).to_numpy()
    lined = flags.map(lambda f: "straight_lining" in f).to_numpy()
    assert planted.sum() > 20
    assert lined[planted].mean() >= 0.95        # the careless respondents are found
    assert lined[~planted].mean() <= 0.005      # honest ones are spared (plain rule: ~2.4%)
    assert plain.map(lambda f: "straight_lining" in f).mean() > 1.8 * lined.mean()
    clean = ~flags.map(bool).to_numpy()
    waves = stored["wave"].to_numpy()
    scores = wide["nps"].to_numpy()
    errors = [nps(pd.Series(scores[(waves == w) & clean])) - truth.respondent_nps_by_wave[w]
              for w in truth.respondent_nps_by_wave]
    # sampling noise of a wave's NPS with ~700 respondents is about 3 points (SE)
    assert np.abs(errors).max() < 5 and np.abs(errors).mean() < 3, errors


def test_analysis_page_switch_keeps_flagged_responses(demo_company, analyst_client):
    from bs4 import BeautifulSoup

    _url, summary, _company = demo_company
    client, _app = analyst_client
    email = "analyst@demo.patronage"
    _login(client, email, summary.users[email][1])
    client.cookies.set("patronage_lang", "en")

    def respondents(query):
        page = BeautifulSoup(client.get(f"/analysis{query}").text, "html.parser")
        row = next(tr for tr in page.select("#section-weighting tbody tr")
                   if tr.td.text == "Respondents")
        return int(row.find_all("td")[1].text.replace(",", "")), page

    kept, page = respondents("")
    assert page.select_one("input#flagged").get("checked") is None
    everyone, page = respondents("?flagged=true")
    assert page.select_one("input#flagged").get("checked") is not None
    from sqlalchemy import text

    engine = make_engine(_url)
    with engine.connect() as conn:  # read only: the demo database is shared
        flagged = conn.execute(text(
            "SELECT count(*) FROM responses r JOIN surveys s ON s.id = r.survey_id "
            "WHERE s.code = 'relationship' AND r.quality_flags IS NOT NULL "
            "AND CAST(r.quality_flags AS TEXT) NOT IN ('{}', 'null')")).scalar_one()
    engine.dispose()
    assert flagged > 0 and everyone == kept + flagged
