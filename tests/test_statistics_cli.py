"""Statistics through the CLI (issue 10, items 23, 24, 29): new customers (first purchase on the
last day), the calibration end ``--until``, the fitted parameters and units of ``analyze clv``
and ``analyze holdout``, and what the spend model leaves out.

The purchase-model parameters are cross-checked against ``lifetimes`` 0.11.3 (Davidson-Pilon,
``BetaGeoFitter``), the reference implementation of Fader, Hardie & Lee (2005), "Counting your
customers the easy way", Marketing Science 24(2), on the same customer summary in weeks.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from patronage.cli import main
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions

pytestmark = pytest.mark.db

NOW = datetime(2026, 1, 1)
START, END = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
NEWCOMERS = ("N1", "N2", "N3")


def run(*args):
    return CliRunner().invoke(main, ["analyze", *args])


def simulate(seed: int = 7, n: int = 400) -> list[tuple[str, pd.Timestamp, float]]:
    """BG/NBD purchases (FHL 2005): rate ~ Gamma(r=0.8, alpha=20 days), dropout after each
    purchase with p ~ Beta(1, 4); acquisition spread over the first 300 days of 2025; plus
    three customers whose only purchase is on the last day of the data."""
    rng = np.random.default_rng(seed)
    sales = []
    for i in range(n):
        cid = f"C{i:03d}"
        day = float(rng.integers(0, 300))
        rate, p = rng.gamma(0.8, 1 / 20), rng.beta(1.0, 4.0)
        while day <= (END - START).days:
            sales.append((cid, START + pd.Timedelta(days=int(day)), float(rng.gamma(4, 25))))
            if rng.random() < p:
                break
            day += rng.exponential(1 / rate)
    sales += [(cid, END, 80.0) for cid in NEWCOMERS]
    return sales


def store(engine, sales) -> None:
    ids = sorted({c for c, *_ in sales})
    pk = {c: i + 1 for i, c in enumerate(ids)}
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"id": pk[c], "external_id": c, "name": f"客户 {c}",
                                       "created_at": NOW, "updated_at": NOW} for c in ids])
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": pk[c], "occurred_at": when,
             "amount": amount, "is_refund": False}
            for i, (c, when, amount) in enumerate(sales)])
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('customers', 'id'), "
                              "(SELECT MAX(id) FROM customers))"))


@pytest.fixture
def shop(engine, db_url):
    sales = simulate()
    store(engine, sales)
    return db_url, sales


def weekly_summary(sales, end) -> pd.DataFrame:
    """frequency, recency and T in weeks from purchase days (the lifetimes convention)."""
    frame = pd.DataFrame(sales, columns=["customer_id", "day", "amount"])
    frame = frame[frame["day"] <= end]
    days = frame.groupby("customer_id")["day"].agg(["min", "max", "nunique"])
    return pd.DataFrame({"frequency": days["nunique"] - 1,
                         "recency": (days["max"] - days["min"]).dt.days / 7,
                         "T": (end - days["min"]).dt.days / 7})


def lifetimes_params(summary: pd.DataFrame) -> dict:
    lifetimes = pytest.importorskip("lifetimes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = lifetimes.BetaGeoFitter(penalizer_coef=0.0)
        fitter.fit(summary["frequency"], summary["recency"], summary["T"])
    return {k: float(v) for k, v in fitter.params_.items()}


# -- item 23: customers first seen on the last day -------------------------------------------

@pytest.mark.parametrize("command", ["clv", "at-risk", "segments"])
def test_customers_first_seen_on_the_last_day_do_not_stop_the_analysis(shop, command):
    url, _sales = shop
    result = run(command, "--db", url)
    assert result.exit_code == 0, result.output
    assert "T must be positive" not in result.output


def test_new_customers_are_scored_as_new_and_counted(shop):
    url, sales = shop
    table = run("clv", "--db", url, "--top", "0")
    assert table.exit_code == 0, table.output
    assert "3 new customers" in table.stderr
    result = run("clv", "--db", url, "--top", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["new_customers"] == 3
    rows = {r["customer_id"]: r for r in out["rows"]}
    assert len(rows) == len({c for c, *_ in sales})
    new = [rows[c] for c in NEWCOMERS]
    assert all(r["new_customer"] and r["T_weeks"] == 0 for r in new)
    assert sum(r["new_customer"] for r in rows.values()) == 3
    # A new customer is alive (BG/NBD: P(alive | x = 0) = 1) and expects the purchases of a
    # customer just acquired, E[X(t)] of FHL 2005 eq. 9 with the fitted parameters.
    from patronage.analytics.btyd import BetaGeo

    model = BetaGeo()
    model.params_ = out["purchase_model"]["params"]
    expected = model.expected_purchases_unconditional(90 / 7)
    for r in new:
        assert r["p_alive"] == pytest.approx(1.0)
        assert r["expected_purchases_90d"] == pytest.approx(expected, rel=1e-9)
        assert r["clv"] > 0


def test_the_fit_leaving_out_new_customers_is_the_maximum_likelihood_fit(shop):
    """New customers (x = 0, T = 0) contribute log L = 0 (FHL 2005 eq. 6), so leaving them out
    of the fit gives the maximum-likelihood estimate on all customers: lifetimes, fitted on
    every customer including them, finds the same parameters."""
    url, sales = shop
    result = run("clv", "--db", url, "--format", "json")
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)["purchase_model"]["params"]
    reference = lifetimes_params(weekly_summary(sales, END))
    for name in ("r", "alpha", "a", "b"):
        assert ours[name] == pytest.approx(reference[name], rel=2e-3), name


# -- item 24: calibration end, parameters and units ----------------------------------------------

def test_until_fits_on_the_sales_up_to_that_date(shop):
    url, sales = shop
    until = pd.Timestamp("2025-09-30")
    result = run("clv", "--db", url, "--until", "2025-09-30", "--top", "0", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    summary = weekly_summary(sales, until)
    assert out["observation_end"] == "2025-09-30" and out["time_unit"] == "week"
    rows = {r["customer_id"]: r for r in out["rows"]}
    assert set(rows) == set(summary.index)  # customers acquired later are not in the fit
    for cid in ("C000", "C077", "C150"):
        if cid in rows:
            assert rows[cid]["T_weeks"] == pytest.approx(summary.loc[cid, "T"], abs=1e-3)
            assert rows[cid]["recency_weeks"] == pytest.approx(summary.loc[cid, "recency"],
                                                               abs=1e-3)
            assert rows[cid]["frequency"] == summary.loc[cid, "frequency"]
    reference = lifetimes_params(summary[summary["T"] > 0])
    for name in ("r", "alpha", "a", "b"):
        assert out["purchase_model"]["params"][name] == pytest.approx(reference[name],
                                                                      rel=2e-3), name
    model = out["purchase_model"]
    assert model["log_likelihood"] < 0 and set(model["standard_errors"]) == {"r", "alpha", "a",
                                                                             "b"}
    full = json.loads(run("clv", "--db", url, "--format", "json").stdout)
    assert full["purchase_model"]["params"] != model["params"]


def test_clv_prints_the_parameters_log_likelihood_and_units(shop):
    url, _sales = shop
    result = run("clv", "--db", url, "--top", "5")
    assert result.exit_code == 0, result.output
    for word in ("log-likelihood", "std_error", "alpha", "weeks", "Gamma-Gamma"):
        assert word in result.stderr, word
    header = result.stdout.splitlines()[0]
    assert "recency_weeks" in header and "T_weeks" in header
    assert " recency " not in header and " T " not in header


@pytest.mark.parametrize("value, words", [("2025-13-01", ["--until"]),
                                          ("2024-06-30", ["2024-06-30", "no sales"])])
def test_until_refuses_a_bad_date_clearly(shop, value, words):
    url, _sales = shop
    result = run("clv", "--db", url, "--until", value)
    assert result.exit_code != 0 and "Traceback" not in result.output
    for word in words:
        assert word in result.output, result.output


def test_holdout_states_its_periods_and_units(shop):
    url, sales = shop
    start = min(day for _c, day, _a in sales)
    help_text = run("holdout", "--help").output
    for word in ("calibration", "weeks", "--weeks"):
        assert word in help_text, word
    result = run("holdout", "--db", url, "--weeks", "13")
    assert result.exit_code == 0, result.output
    assert f"Calibration period {start:%Y-%m-%d} to 2025-10-01" in result.stderr, result.stderr
    assert "holdout period 2025-10-01 to 2025-12-31 (13 weeks)" in result.stderr
    assert "log-likelihood" in result.stderr
    out = json.loads(run("holdout", "--db", url, "--weeks", "13", "--format", "json").stdout)
    assert out["time_unit"] == "week" and out["holdout_weeks"] == 13
    assert out["calibration_end"] == "2025-10-01" and out["holdout_end"] == "2025-12-31"
    rows = {r["frequency_cal"]: r for r in out["rows"]}
    assert rows["all"]["customers"] == sum(
        r["customers"] for k, r in rows.items() if k != "all")


# -- item 29: named rows, what was left out, parameter names, integer counts, channels --------

def test_gamma_gamma_names_the_customers_whose_repeat_spend_is_not_positive():
    from patronage.analytics.btyd import GammaGamma

    frequency = pd.Series([2, 1, 3, 1], index=["A1", "B2", "C3", "D4"])
    spend = pd.Series([50.0, 0.0, 20.0, -5.0], index=frequency.index)
    with pytest.raises(ValueError) as caught:
        GammaGamma().fit(frequency, spend)
    message = str(caught.value)
    assert "B2" in message and "D4" in message and "2 customers" in message
    assert "A1" not in message
    with pytest.raises(ValueError, match=r"rows 2, 4"):  # no index: 1-based row numbers
        GammaGamma().fit(frequency.to_numpy(), spend.to_numpy())
    with pytest.raises(ValueError, match="B2"):
        GammaGamma().fit(pd.Series([2, 0], index=["A1", "B2"]), pd.Series([5.0, 5.0]))


def test_clv_reports_the_repeat_buyers_left_out_of_the_spend_model(engine, db_url):
    sales = simulate()
    sales += [("Z1", pd.Timestamp("2025-03-01"), 120.0), ("Z1", pd.Timestamp("2025-05-01"), 0.0),
              ("Z2", pd.Timestamp("2025-04-01"), 60.0), ("Z2", pd.Timestamp("2025-06-01"), 0.0)]
    store(engine, sales)
    table = run("clv", "--db", db_url, "--top", "3")
    assert table.exit_code == 0, table.output
    assert "2 repeat buyers whose repeat purchases sum to 0" in table.stderr
    assert "Z1, Z2" in table.stderr
    out = json.loads(run("clv", "--db", db_url, "--top", "0", "--format", "json").stdout)
    assert out["left_out_of_spend_model"] == {"customers": 2, "first_ids": ["Z1", "Z2"]}
    assert out["spend_model"]["customers"] == sum(
        1 for r in out["rows"] if r["frequency"] > 0 and r["monetary_value"] > 0)


def two_years(engine, retained: int, lost: int) -> None:
    """Customers who bought in 2024; ``retained`` of them bought again in 2025."""
    sales = []
    for i in range(retained + lost):
        sales.append((f"Y{i:02d}", pd.Timestamp("2024-03-01") + pd.Timedelta(days=i), 100.0))
        if i < retained:
            sales.append((f"Y{i:02d}", pd.Timestamp("2025-03-01") + pd.Timedelta(days=i),
                          100.0))
    sales.append(("Y99", pd.Timestamp("2025-12-31"), 10.0))
    store(engine, sales)


@pytest.mark.parametrize("args, option", [(["--points", "50"], "--points"),
                                          (["--points", "-70"], "--points"),
                                          (["--discount", "-2"], "--discount"),
                                          (["--discount", "nan"], "--discount")])
def test_retention_value_errors_name_the_options_the_user_set(engine, db_url, args, option):
    two_years(engine, retained=6, lost=4)
    result = run("retention-value", "--db", db_url, *args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert option in result.output, result.output
    for internal in ("delta_points", "retention_now", "margin_per_period"):
        assert internal not in result.output, result.output


def test_retention_value_explains_a_retention_of_100_percent(engine, db_url):
    two_years(engine, retained=5, lost=0)
    result = run("retention-value", "--db", db_url)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "100%" in result.output and "retention_now" not in result.output, result.output


def test_counts_are_integers_in_json():
    from patronage.reporting.render import render

    frame = pd.DataFrame({"n": [12.0, 3.0], "n_effective": [11.5, 3.0], "mean": [4.0, 2.5],
                          "at_risk": [40.0, 38.0]}, index=pd.Index(["a", "b"], name="group"))
    rows = json.loads(render(frame, "json"))
    assert [type(r["n"]) for r in rows] == [int, int]
    assert [type(r["at_risk"]) for r in rows] == [int, int]
    assert rows[1]["n_effective"] == 3.0 and isinstance(rows[1]["n_effective"], float)
    assert isinstance(rows[0]["mean"], float)
    figures = pd.Series({"customers": 5000.0, "total_profit": 12.5, "top_profit_pct": 80.0},
                        name="value").rename_axis("figure")
    values = {r["figure"]: r["value"] for r in json.loads(render(figures, "json"))}
    assert values["customers"] == 5000 and isinstance(values["customers"], int)
    assert isinstance(values["top_profit_pct"], float)
    assert "12.0" not in render(frame, "csv").split("\n")[1]


def test_counts_from_the_cli_are_integers(shop):
    url, _sales = shop
    for command, keys in (("whale", ["customers"]), ("survival", ["at_risk"]),
                          ("survival --all-times", ["at_risk", "events", "censored"]),
                          ("cohorts --curve", ["customers"])):
        result = run(*command.split(), "--db", url, "--format", "json")
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        rows = out["rows"] if isinstance(out, dict) else out
        if command == "whale":
            rows = [{"customers": r["value"]} for r in rows if r["figure"] == "customers"]
        for key in keys:
            assert rows and all(isinstance(r[key], int) for r in rows if r[key] is not None), \
                (command, key)


def test_by_mode_is_the_survey_mode_and_sales_channel_the_customers_channel():
    from patronage.satisfaction.sources import SurveyData

    meta = pd.DataFrame({"channel": ["web", "phone", "web"],
                         "customer_channel": ["distributor", "direct", "direct"],
                         "customer_region": ["East", "East", "North"]},
                        index=["r1", "r2", "r3"])
    data = SurveyData(answers=pd.DataFrame(index=meta.index), comments=pd.Series(dtype=object),
                      meta=meta)
    assert data.groups("mode").tolist() == ["web", "phone", "web"]
    assert data.groups("channel").tolist() == ["web", "phone", "web"]  # as before: the mode
    assert data.groups("sales_channel").tolist() == ["distributor", "direct", "direct"]
    assert data.groups("region").tolist() == ["East", "East", "North"]
    only_sales = SurveyData(answers=data.answers, comments=data.comments,
                            meta=meta.drop(columns=["channel"]))
    with pytest.raises(ValueError) as caught:
        only_sales.groups("mode")
    assert "sales_channel" in str(caught.value) and "customer_" not in str(caught.value)


def test_the_by_option_documents_mode_and_sales_channel():
    for command in ("nps", "csi", "csat", "compare", "ces"):
        text = run(command, "--help").output
        assert "mode" in text and "sales_channel" in text, command


@pytest.mark.parametrize("args, option", [
    (["clv", "--months", "0"], "--months"), (["clv", "--discount", "-2"], "--discount"),
    (["clv", "--margin", "nan"], "--margin"), (["clv", "--top", "-1"], "--top"),
    (["at-risk", "--top", "-3"], "--top"), (["holdout", "--weeks", "100"], "--weeks"),
    (["survival", "--inactive-days", "-1"], "--inactive-days"),
    (["retention", "--window", "-5"], "--window"),
    (["whale", "--cost-per-case", "-1"], "--cost-per-case"),
    (["whale", "--cost-per-touchpoint", "nan"], "--cost-per-touchpoint")])
def test_loyalty_errors_name_the_option_the_user_set(shop, args, option):
    url, _sales = shop
    result = run(*args, "--db", url)
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert option in result.output, result.output
    for internal in ("discount_rate", "time must", "cost per case row", "calibration period\n"):
        assert internal not in result.output, result.output


def test_json_around_the_rows_is_valid_json_without_nan():
    from patronage.reporting.render import render

    frame = pd.DataFrame({"survival": [0.5]}, index=pd.Index([1], name="months"))
    text = render(frame, "json", about={"logrank": {"chi2": 0.0, "p_value": float("nan")},
                                        "median": float("inf")})
    assert "NaN" not in text and "Infinity" not in text
    out = json.loads(text)
    assert out["logrank"]["p_value"] is None and out["median"] is None
