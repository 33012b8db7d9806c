"""The demo company (`patronage.demo`): determinism, realism constraints, the known truth, the DB.

The truth checks use established estimators on the generated data and compare them with the
parameters the data were generated from:

* NPS per wave (promoters 9-10 minus detractors 0-6, Reichheld 2003) against the population NPS
  the latent model implies;
* OLS (statsmodels) of overall satisfaction on the dimension means: ranking of the coefficients
  against the true dimension effects;
* the Kano evaluation table (Berger et al. 1993, Table 1) applied to the answer pairs: the modal
  category per attribute against the true category;
* the BG/NBD model (Fader, Hardie & Lee 2005) fitted with the ``lifetimes`` library: the mean
  purchase rate r/alpha and mean dropout a/(a+b) against the simulated customers' parameters,
  and P(alive) separating alive from dropped-out customers.
"""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from sqlalchemy import func, insert, select

from patronage.accounts import authenticate
from patronage.cli import main
from patronage.demo import build_demo_database, generate
from patronage.demo.desk import STAFF
from patronage.index_system import load_index_system
from patronage.storage import make_engine, schema
from patronage.storage.schema import CASE_STATUSES, CASE_TYPES, TOUCHPOINT_KINDS
from patronage.storage.schema_members import members as members_table

DIMENSIONS = ("product", "service", "brand", "price", "communication")
TODAY = date(2026, 6, 30)


@pytest.fixture(scope="module")
def timed_company():
    """The company and the processor time its generation took (the wall time also counts
    whatever else the machine runs meanwhile, such as the other test process)."""
    started = time.process_time()
    company = generate(2026)
    return company, time.process_time() - started


@pytest.fixture(scope="module")
def company(timed_company):
    return timed_company[0]


@pytest.fixture(scope="module")
def clean_answers(company):
    """Wide answers of the responses not flagged as speeders, with the wave."""
    responses = company.responses
    clean = responses[responses["quality_flags"].map(len) == 0]
    long = company.answers[company.answers["response_id"].isin(clean["external_id"])]
    wide = long.dropna(subset=["value_num"]).pivot(index="response_id", columns="item_code",
                                                   values="value_num")
    return wide.join(clean.set_index("external_id")["wave"])


def test_same_seed_gives_identical_frames_and_truth(company):
    again = generate(2026)
    for name, frame in company.frames().items():
        pd.testing.assert_frame_equal(frame, again.frames()[name], obj=name)
    pd.testing.assert_frame_equal(company.truth.customer_params, again.truth.customer_params)
    pd.testing.assert_frame_equal(company.truth.response_latent, again.truth.response_latent)
    assert company.truth.nps_by_wave == again.truth.nps_by_wave


def test_different_seed_gives_different_company(company):
    other = generate(2027)
    assert not company.customers["name"].equals(other.customers["name"])
    assert len(company.transactions) != len(other.transactions)
    assert not company.answers["value_num"].equals(other.answers["value_num"])


def test_generation_is_fast_enough(timed_company):
    assert timed_company[1] < 10  # 5,000 customers in under 10 s (issue 2, item 4)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_customers": 10}, "n_customers"),
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"today": "2026-06-30"}, "today"),
])
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)


def test_customers_look_real(company):
    c = company.customers
    assert len(c) == 5000 and c["external_id"].is_unique
    assert c["external_id"].iloc[0] == "C00001"
    chinese = c["name"].str.contains(r"[\u4e00-\u9fff]", regex=True)
    assert 0.6 < chinese.mean() < 0.8
    assert set(c["region"]) == {"East China", "North China", "South China", "Southwest China",
                                "Overseas"}
    assert 0.07 < (c["size"] == "key account").mean() < 0.13
    assert set(c["tier"]) == {"bronze", "silver", "gold", "platinum"}
    assert c["phone"].dropna().str.match(r"^\+(86 1\d{10}|65 \d{8})$").all()
    assert 0.8 < c["consent_survey"].mean() < 0.98
    assert all(a["demo"] is True for a in c["attributes"])


def test_transactions_respect_the_schema_rules(company):
    t = company.transactions
    assert 30_000 < len(t) < 200_000
    assert t["external_id"].is_unique
    assert t["customer_id"].isin(company.customers["external_id"]).all()
    assert (t.loc[~t["is_refund"], "amount"] >= 0).all()
    assert (t.loc[t["is_refund"], "amount"] <= 0).all()
    assert 0.01 < t["is_refund"].mean() < 0.03
    ratio = t.loc[~t["is_refund"], "cost"] / t.loc[~t["is_refund"], "amount"]
    assert ratio.between(0.59, 0.76).all()
    start = pd.Timestamp(TODAY) - pd.Timedelta(days=731)
    assert t["occurred_at"].between(start, pd.Timestamp(TODAY) + pd.Timedelta(days=1)).all()
    assert set(t["category"]) == {"equipment", "spare parts", "service contract", "training",
                                  "consumables"}


def test_survey_waves_responses_and_answers(company):
    assert company.waves["name"].tolist() == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    r = company.responses
    per_wave = r.groupby("wave").size()
    assert per_wave.between(550, 950).all(), per_wave
    assert r["external_id"].is_unique and r["invitation_token"].is_unique
    assert r["customer_id"].isin(company.customers["external_id"]).all()
    rate = len(r) / len(company.invitations)
    assert 0.22 < rate < 0.34
    # No customer answers twice in a wave.
    assert not r.duplicated(["wave", "customer_id"]).any()
    a = company.answers
    assert not a.duplicated(["response_id", "item_code"]).any()
    assert a["response_id"].isin(r["external_id"]).all()
    items = load_index_system().items
    known = set(items["item_code"]) | {f"{c}.exp" for c in items.loc[items["expectation"],
                                                                     "item_code"]}
    known |= {f"kano.{k}.{s}" for k in ("fast_delivery", "online_tracking", "dedicated_manager",
                                       "free_installation", "mobile_app") for s in "fd"}
    assert set(a["item_code"]) == known | {"comment"}
    numeric = a[a["item_code"] != "comment"]
    assert numeric["value_num"].notna().all() and a.loc[a["item_code"] == "comment",
                                                        "value_text"].notna().all()
    nps = numeric[numeric["item_code"] == "nps"]["value_num"]
    kano = numeric[numeric["item_code"].str.startswith("kano.")]["value_num"]
    other = numeric[(numeric["item_code"] != "nps") & ~numeric["item_code"].str.startswith("kano.")]
    assert nps.between(0, 10).all() and kano.isin([1, 2, 3, 4, 5]).all()
    assert other["value_num"].between(1, 10).all()
    # About 3% of the numeric answers are missing (no row).
    expected_rows = len(r) * len(known)
    assert 0.02 < 1 - len(numeric) / expected_rows < 0.04
    comments = a.loc[a["item_code"] == "comment", "value_text"]
    assert 0.25 < len(comments) / len(r) < 0.35
    assert comments.str.contains("<script>alert(1)</script>", regex=False).any()
    assert comments.str.startswith("=HYPERLINK(").any()
    assert comments.str.contains(r"[\u4e00-\u9fff]", regex=True).any()
    speeders = r[r["quality_flags"].map(lambda f: "speeder" in f)]
    assert 10 < len(speeders) < 100
    seconds = (speeders["submitted_at"] - speeders["started_at"]).dt.total_seconds()
    assert (seconds < 120).all()


def test_touchpoints_cases_and_competitors(company):
    tp = company.touchpoints
    assert set(tp["kind"]) == set(TOUCHPOINT_KINDS)
    assert tp["customer_id"].isin(company.customers["external_id"]).all()
    assert (tp["waiting_seconds"].dropna() >= 0).all()
    assert (tp["handling_seconds"].dropna() >= 0).all()
    cases = company.cases
    assert set(cases["type"]) == set(CASE_TYPES) and set(cases["status"]) <= set(CASE_STATUSES)
    done = cases["status"].isin(["resolved", "closed"])
    assert cases.loc[done, "closed_at"].notna().all() and cases.loc[~done, "closed_at"].isna().all()
    assert (cases.loc[done, "closed_at"] >= cases.loc[done, "opened_at"]).all()
    survey_cases = cases[cases["type"] == "detractor"]
    answers = company.answers
    nps = answers[answers["item_code"] == "nps"].set_index("response_id")["value_num"]
    assert (survey_cases["response_id"].map(nps) <= 6).all()
    assert len(company.competitors) == 4
    defected = [a for a in company.customers["attributes"] if "defected_to" in a]
    assert len(defected) > 100
    assert {a["defected_to"] for a in defected} == set(company.competitors["name"])
    gone = company.customers.loc[company.customers["attributes"].map(lambda a: "defected_to" in a),
                                 "external_id"]
    assert not company.truth.customer_params.loc[gone, "alive"].any()


def test_nps_per_wave_matches_the_implied_population_nps(clean_answers, company):
    truth = company.truth.nps_by_wave
    observed = clean_answers.groupby("wave")["nps"].apply(
        lambda v: 100 * ((v.dropna() >= 9).mean() - (v.dropna() <= 6).mean()))
    assert list(observed.index) == list(truth)
    # ~800 answers per wave: the standard error of a wave's NPS is about 3 points.
    for wave, value in observed.items():
        assert abs(value - truth[wave]) < 5, (wave, value, truth[wave])
        respondents = company.truth.respondent_nps_by_wave[wave]
        assert abs(value - respondents) < 5, (wave, value, respondents)
    # Pooled over the four waves the error shrinks (standard error about 1.5 points).
    assert abs(observed.mean() - np.mean(list(truth.values()))) < 3
    # The service trend makes the NPS rise across the year.
    assert truth["2026-Q2"] > truth["2025-Q3"]


def test_ols_on_dimension_means_ranks_dimensions_as_the_truth(clean_answers, company):
    items = load_index_system().items
    means = pd.DataFrame({
        d: clean_answers[items.loc[items["dimension"] == d, "item_code"]].mean(axis=1)
        for d in DIMENSIONS})
    standardized = (means - means.mean()) / means.std()
    fit = sm.OLS(clean_answers["overall_satisfaction"], sm.add_constant(standardized),
                 missing="drop").fit()
    estimated = fit.params.drop("const").sort_values(ascending=False).index.tolist()
    effects = company.truth.dimension_effects
    assert estimated == sorted(effects, key=effects.get, reverse=True)
    # Item-level truth follows the dimensions.
    assert company.truth.driver_effects["quality_performance"] > \
        company.truth.driver_effects["comm_clear"]


# Kano evaluation table (Berger et al. 1993): rows functional answer, columns dysfunctional
# answer, both coded 1 like, 2 must-be, 3 neutral, 4 live with, 5 dislike.
KANO_TABLE = ["QAAAO", "RIIIM", "RIIIM", "RIIIM", "RRRRQ"]


def test_kano_table_recovers_the_true_categories(clean_answers, company):
    for attribute, category in company.truth.kano_categories.items():
        pairs = clean_answers[[f"kano.{attribute}.f", f"kano.{attribute}.d"]].dropna().astype(int)
        found = [KANO_TABLE[f - 1][d - 1] for f, d in pairs.itertuples(index=False)]
        assert pd.Series(found).value_counts().idxmax() == category, attribute


def test_expectation_gaps_and_service_trend(clean_answers, company):
    gaps = company.truth.expectation_gaps
    for item, gap in gaps.items():
        observed = (clean_answers[f"{item}.exp"] - clean_answers[item]).mean()
        assert np.sign(observed) == np.sign(gap), item
    items = load_index_system().items
    service = clean_answers[items.loc[items["dimension"] == "service", "item_code"]].mean(axis=1)
    by_wave = service.groupby(clean_answers["wave"]).mean()
    assert by_wave["2026-Q2"] > by_wave["2025-Q3"]


def test_bg_nbd_fit_recovers_the_purchase_process(company):
    lifetimes = pytest.importorskip("lifetimes")
    t = company.transactions[~company.transactions["is_refund"]]
    t = t.assign(occurred_at=t["occurred_at"].dt.floor("D"))
    summary = lifetimes.utils.summary_data_from_transaction_data(
        t, "customer_id", "occurred_at", observation_period_end=pd.Timestamp(TODAY), freq="D")
    f, r, age = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    model = lifetimes.BetaGeoFitter().fit(f, r, age)
    params = company.truth.customer_params.loc[summary.index]
    rate = model.params_["r"] / model.params_["alpha"]
    assert rate == pytest.approx((params["lambda"] / 365.25).mean(), rel=0.25)
    dropout = model.params_["a"] / (model.params_["a"] + model.params_["b"])
    assert dropout == pytest.approx(params["p"].mean(), rel=0.3)
    alive = params["alive"].to_numpy()
    p_alive = model.conditional_probability_alive(f, r, age)
    # Area under the ROC curve from the Mann-Whitney rank sum.
    ranks = pd.Series(p_alive).rank().to_numpy()
    n_alive, n_gone = alive.sum(), (~alive).sum()
    auc = (ranks[alive].sum() - n_alive * (n_alive + 1) / 2) / (n_alive * n_gone)
    assert auc > 0.75


def test_declining_key_accounts_spend_less_in_the_last_months(company):
    params = company.truth.customer_params
    declining = params.index[params["declining_key_account"]]
    assert len(declining) > 20 and params.loc[declining, "alive"].all()
    t = company.transactions[~company.transactions["is_refund"]]
    cut = pd.Timestamp(TODAY) - pd.Timedelta(days=182)
    before = t[(t["occurred_at"] < cut) & (t["occurred_at"] >= cut - pd.Timedelta(days=182))]
    after = t[t["occurred_at"] >= cut]
    ratio = (after.groupby("customer_id")["amount"].sum().reindex(declining).fillna(0).sum()
             / before.groupby("customer_id")["amount"].sum().reindex(declining).sum())
    assert ratio < 0.75


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.db
def test_the_shared_demo_database_holds_the_whole_company(demo_company, company):
    """The demo company the other demo tests read (``build_demo_database`` with the default
    seed on a freshly migrated database, once per test process in conftest) holds every row
    the generator made."""
    url, summary, _company = demo_company
    engine = make_engine(url)
    try:
        assert summary.seed == 2026 and summary.customers == _count(engine, schema.customers) \
            == 5000
        assert summary.transactions == _count(engine, schema.transactions) == len(
            company.transactions)
        staff = company.improvement  # the anonymous employee survey, counted apart
        assert summary.responses == _count(engine, schema.responses) - len(staff.responses) == (
            len(company.responses) + len(company.extra.responses))
        assert summary.cases == _count(engine, schema.cases) == len(company.cases)
        assert summary.waves == _count(engine, schema.waves) - len(staff.waves) == 4 + len(
            company.extra.waves)
        assert _count(engine, schema.answers) == len(company.answers) + len(
            company.extra.answers) + len(staff.answers)
        assert _count(engine, schema.touchpoints) == len(company.touchpoints)
        assert _count(engine, members_table) == len(company.members.members)
    finally:
        engine.dispose()
    assert summary.admin_email in summary.describe()


def _small_demos(monkeypatch, sizes: dict[int, int]):
    """``build_demo_database`` and ``patronage demo`` build a company of ``sizes[seed]``
    customers: building and rebuilding work the same for any size, and a small company takes a
    tenth of the full one's time."""
    import patronage.demo

    full = patronage.demo.generate
    monkeypatch.setattr(patronage.demo, "generate",
                        lambda seed=2026: full(seed, n_customers=sizes[seed]))
    return lambda seed: full(seed, n_customers=sizes[seed])


@pytest.mark.db
@pytest.mark.slow
def test_build_demo_database_writes_everything_and_rebuilds(engine, monkeypatch):
    small = _small_demos(monkeypatch, {11: 400, 12: 300})
    first_company = small(11)
    messages = []
    first = build_demo_database(engine, seed=11, progress=messages.append)
    assert messages and first.customers == _count(engine, schema.customers) == 400
    assert first.transactions == _count(engine, schema.transactions) == len(
        first_company.transactions)
    staff = first_company.improvement  # the anonymous employee survey, counted apart
    assert first.responses == _count(engine, schema.responses) - len(staff.responses) == (
        len(first_company.responses) + len(first_company.extra.responses))
    assert first.cases == _count(engine, schema.cases) == len(first_company.cases)
    assert _count(engine, schema.answers) == len(first_company.answers) + len(
        first_company.extra.answers) + len(staff.answers)
    assert _count(engine, schema.touchpoints) == len(first_company.touchpoints)
    user = authenticate(engine, first.admin_email, first.admin_password)
    assert user is not None and user["role"] == "admin"
    for email, (role, password) in first.users.items():
        assert authenticate(engine, email, password)["role"] == role

    # Rebuilt over it with another seed and size: every count is the new company's alone.
    company = small(12)
    messages = []
    again = build_demo_database(engine, seed=12, progress=messages.append)
    assert "Removing the previous demo data" in messages
    assert again.customers == _count(engine, schema.customers) == 300
    assert again.transactions == _count(engine, schema.transactions) == len(company.transactions)
    staff = company.improvement
    assert again.responses == _count(engine, schema.responses) - len(staff.responses) == (
        len(company.responses) + len(company.extra.responses))
    assert again.cases == _count(engine, schema.cases) == len(company.cases)
    assert _count(engine, schema.answers) == len(company.answers) + len(
        company.extra.answers) + len(staff.answers)
    assert _count(engine, schema.touchpoints) == len(company.touchpoints)
    assert _count(engine, members_table) == len(company.members.members)
    assert _count(engine, schema.users) == 3 + len(STAFF)  # the logins and the desk's staff
    assert authenticate(engine, first.admin_email, first.admin_password) is None
    assert authenticate(engine, again.admin_email, again.admin_password) is not None

    from patronage.satisfaction import survey_data_from_db

    data = survey_data_from_db(engine, "relationship")  # of 300 customers, not the largest
    assert data.waves_in_order() == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert data.comments.str.contains("<script>", regex=False).any()


@pytest.mark.db
def test_a_database_with_real_customers_is_refused(engine):
    from datetime import datetime

    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        conn.execute(insert(schema.customers).values(
            external_id="REAL-1", name="Real customer", created_at=now, updated_at=now))
    with pytest.raises(ValueError, match="real customers; pass a new --db path"):
        build_demo_database(engine, seed=1)
    assert _count(engine, schema.customers) == 1


@pytest.mark.slow
def test_cli_demo_builds(tmp_path, monkeypatch):
    """The command prints what it built and the logins (rebuilding is tested above)."""
    _small_demos(monkeypatch, {3: 300})
    runner = CliRunner()
    args = ["demo", "--db", str(tmp_path / "d.db"), "--no-serve", "--seed", "3"]
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "admin@demo.patronage" in first.output
    built = "Demo company built (seed 3): 300 customers, "
    assert any(line.startswith(built) for line in first.output.splitlines()), first.output
    assert "Customer care:" in first.output
