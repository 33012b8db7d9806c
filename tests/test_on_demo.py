"""The analyses on the demo company, whose true effects are known, through the CLI and the
library (SQLite, or PostgreSQL when PATRONAGE_TEST_DATABASE_URL says so)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from patronage.analysis.methods import drivers_table, kano_table, pls_table
from patronage.analysis.sources import survey_data_from_db
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


@pytest.mark.parametrize("command", SURVEY_METHODS + LOYALTY_METHODS)
def test_every_analysis_runs_from_the_cli_in_every_format(demo, command):
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


@pytest.fixture
def analyst_client(demo):
    from fastapi.testclient import TestClient

    from patronage.settings import Settings
    from patronage.web import create_app

    url = demo[0]
    app = create_app(Settings(database_url=url))
    with TestClient(app) as client:
        yield client, app


def _login(client, email, password):
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303


@pytest.mark.parametrize("path, sections, charts", [
    ("/analysis", ["drivers", "ipa", "kano", "gap", "reliability", "trend", "pls", "segments",
                   "csat", "crosstab", "competitor"],
     ["drivers", "ipa", "kano", "pls", "segments", "csat", "crosstab", "competitor"]),
    ("/analysis?survey=servqual22", ["servqual"], ["servqual"]),
    ("/analysis?survey=ces", ["ces"], ["ces"]),
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
