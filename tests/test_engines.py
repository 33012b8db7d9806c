"""Issue 16: the DuckDB engine over exported Parquet files gives the in-database results.

The customer summary and the value models' sufficient statistics are equal exactly (counts and
day counts), the fitted BG/NBD and Gamma-Gamma parameters to 1e-8 relative, and the per-customer
scores computed in DuckDB SQL equal the in-process analytics' (``BetaGeo.probability_alive``,
``expected_purchases``, ``customer_lifetime_value``) to 1e-8; on a small simulated panel and on
the CDNOW purchase log (Fader, Hardie & Lee 2005, the 23,570 customers of the full log shipped
with ``lifetimes``).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from patronage.analytics import rfm_scores
from patronage.analytics.btyd import BetaGeo
from patronage.engines import open_engine
from patronage.engines.database import DatabaseEngine
from patronage.engines.duckdb import DuckDBEngine
from patronage.engines.parquet import export_parquet
from patronage.loyalty import fit_value_models
from patronage.loyalty.value_fit import WEEK, fit_on_statistics
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions

pytestmark = pytest.mark.db

NOW = datetime(2026, 1, 1)


def simulated_log(seed: int = 11, n_customers: int = 400) -> pd.DataFrame:
    """Purchases of a BG/NBD-like panel: Poisson buying, dropping out after a purchase, with
    same-day repeat purchases, costs (some missing) and refunds."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        day = float(rng.integers(0, 200))
        rate, drop = rng.gamma(1.2, 1 / 25), rng.beta(1, 6)
        while day < 420:
            when = datetime(2025, 1, 1) + timedelta(days=day, hours=float(rng.uniform(8, 20)))
            amount = float(np.round(rng.gamma(3, 40), 2))
            rows.append((f"C{c:04d}", when, amount,
                         None if rng.random() < 0.1 else round(amount * 0.6, 2), False))
            if rng.random() < 0.15:  # a second purchase the same day
                rows.append((f"C{c:04d}", when + timedelta(minutes=30), 9.9, 5.0, False))
            if rng.random() < 0.05:
                rows.append((f"C{c:04d}", when + timedelta(days=2), -amount / 2, None, True))
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    return pd.DataFrame(rows, columns=["customer_id", "occurred_at", "amount", "cost",
                                       "is_refund"])


def store(engine, log: pd.DataFrame) -> None:
    ids = sorted(log["customer_id"].unique())
    pk = {c: i + 1 for i, c in enumerate(ids)}
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"id": pk[c], "external_id": c, "name": f"客户 {c}",
                                       "region": "华东", "created_at": NOW, "updated_at": NOW}
                                      for c in ids])
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": pk[r[0]], "occurred_at": r[1],
             "amount": r[2], "cost": None if pd.isna(r[3]) else r[3], "is_refund": r[4]}
            for i, r in enumerate(log.itertuples(index=False, name=None))])


def assert_same_summary(ours: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_index_equal(ours.index, expected.index)
    assert list(ours.columns) == list(expected.columns)
    # Money is summed in exact cents by every engine: the amounts are equal to the bit too.
    for column in ours.columns:
        assert (ours[column].to_numpy() == expected[column].to_numpy()).all(), column


def assert_same_statistics(ours, expected) -> None:
    pd.testing.assert_frame_equal(ours.purchases, expected.purchases)  # exact
    pd.testing.assert_frame_equal(ours.spend, expected.spend)
    assert ours.observation_end == expected.observation_end
    assert ours.first_purchase == expected.first_purchase
    assert ours.total_spend == pytest.approx(expected.total_spend, rel=1e-12)
    assert ours.profit == pytest.approx(expected.profit, rel=1e-12)


def assert_params_close(ours, expected, rtol=1e-8) -> None:
    assert ours.keys() == expected.keys()
    for name in expected:
        assert ours[name] == pytest.approx(expected[name], rel=rtol), name


def relation_frame(relation) -> pd.DataFrame:
    """A DuckDB relation or a Spark DataFrame of per-customer scores as a frame indexed by
    customer (rows in the customers' order)."""
    if hasattr(relation, "df"):
        frame = relation.df()
    else:
        frame = pd.DataFrame([row.asDict() for row in relation.collect()])
    return frame.sort_values("customer_id", kind="stable").set_index("customer_id")


def check_engines_agree(engine, folder, *, observation_end=None, lake=DuckDBEngine) -> None:
    """Everything the issue asks to be equal, an engine over the export (``lake(folder)``,
    DuckDB by default) against the database."""
    export_parquet(engine, folder)
    database = DatabaseEngine(engine)
    in_database = fit_value_models(engine, observation_end=observation_end)
    with lake(folder) as duck:
        summary = duck.customer_summary(observation_end)
        assert_same_summary(summary, in_database.summary)
        stats = duck.statistics(observation_end)
        assert_same_statistics(stats, database.statistics(observation_end))
        purchases, spend = fit_on_statistics(stats)
        assert_params_close(purchases.params_, in_database.purchases.params_)
        assert_params_close(spend.params_, in_database.spend.params_)
        scores = relation_frame(duck.value_scores(in_database.purchases, in_database.spend,
                                                  margin=in_database.margin,
                                                  observation_end=observation_end))
        rfm = relation_frame(duck.rfm_scores(observation_end))
    expected = in_database.customers
    pd.testing.assert_index_equal(scores.index, expected.index, check_names=False)
    for column in ("p_alive", "expected_purchases_90d", "clv"):
        np.testing.assert_allclose(scores[column], expected[column], rtol=1e-8, err_msg=column)
    expected_rfm = rfm_scores(in_database.summary)
    pd.testing.assert_index_equal(rfm.index, expected_rfm.index, check_names=False)
    for column in ("recency_days", "frequency", "monetary", "rfm_code", "segment"):
        assert (rfm[column].to_numpy() == expected_rfm[column].to_numpy()).all(), column
    for column in ("R", "F", "M"):
        assert (rfm[column].to_numpy() == expected_rfm[column].astype(int).to_numpy()).all()


def test_duckdb_equals_the_database_on_a_simulated_panel(engine, tmp_path):
    store(engine, simulated_log())
    check_engines_agree(engine, tmp_path / "all")
    check_engines_agree(engine, tmp_path / "calibration", observation_end=datetime(2025, 12, 1))


def cdnow_log() -> pd.DataFrame:
    """The CDNOW purchase log shipped with ``lifetimes`` (the module is skipped without it)."""
    lifetimes = pytest.importorskip("lifetimes")
    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_master.txt")
    raw = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    return pd.DataFrame({"customer_id": raw["customer_id"],
                         "occurred_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
                         "amount": raw["dollar_value"].astype(float), "cost": None,
                         "is_refund": False})


@pytest.mark.slow
def test_duckdb_equals_the_database_on_cdnow(engine, tmp_path):
    store(engine, cdnow_log())
    check_engines_agree(engine, tmp_path / "cdnow", observation_end=datetime(1997, 9, 30))
    # The fit on the distinct rows is the per-customer fit (the engines' statistics lose
    # nothing): the same maximum of the same likelihood, to the optimiser's tolerance.
    summary = fit_value_models(engine, observation_end=datetime(1997, 9, 30)).summary
    known = summary[summary["T"] > 0]
    per_customer = BetaGeo().fit(known["frequency"], known["recency"] / WEEK, known["T"] / WEEK)
    with DuckDBEngine(tmp_path / "cdnow") as duck:
        grouped, _ = fit_on_statistics(duck.statistics(datetime(1997, 9, 30)))
    assert_params_close(grouped.params_, per_customer.params_, rtol=1e-5)


def test_an_empty_export_gives_empty_statistics_and_a_clear_message(engine, tmp_path):
    export_parquet(engine, tmp_path / "empty")
    with DuckDBEngine(tmp_path / "empty") as duck:
        assert duck.customer_summary().empty
        assert duck.statistics().customers == 0
        with pytest.raises(ValueError, match="no sales yet"):
            duck.rfm_scores()


def test_open_engine_explains_a_bad_source(tmp_path):
    with pytest.raises(ValueError, match="parquet:DIR"):
        open_engine("duckdb", None)
    with pytest.raises(ValueError, match="patronage export parquet"):
        open_engine("duckdb", f"parquet:{tmp_path}")
    with pytest.raises(ValueError, match="spark engine needs --source parquet:DIR"):
        open_engine("spark", "csv:x")
    with pytest.raises(ValueError, match="unknown engine"):
        open_engine("hadoop", "parquet:x")
