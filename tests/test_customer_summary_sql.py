"""The customer summary computed in the database equals the pandas one (and so lifetimes')."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.btyd import customer_summary
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.summary import read_customer_summary

pytestmark = pytest.mark.db


def _log(seed: int = 5, n_customers: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        start = datetime(2025, 1, 1) + pd.Timedelta(days=int(rng.integers(0, 200)))
        for k in range(int(rng.integers(1, 9))):
            when = start + pd.Timedelta(days=int(rng.integers(0, 300)), hours=int(rng.integers(0, 23)))
            amount = float(np.round(rng.gamma(2, 50), 2))
            rows.append({"customer_id": f"C{c:03d}", "occurred_at": when, "amount": amount,
                         "cost": round(amount * 0.6, 2), "is_refund": False})
        rows.append({"customer_id": f"C{c:03d}", "occurred_at": start, "amount": 25.0,
                     "cost": 15.0, "is_refund": False})  # same day as the first purchase
    refund = {"customer_id": "C000", "occurred_at": datetime(2025, 12, 30), "amount": -40.0,
              "cost": 0.0, "is_refund": True}
    return pd.DataFrame([*rows, refund])


def test_sql_summary_equals_the_pandas_summary(engine):
    log = _log()
    now = datetime(2026, 1, 1)
    ids = sorted(log["customer_id"].unique())
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"id": i + 1, "external_id": c, "name": c,
                                       "created_at": now, "updated_at": now}
                                      for i, c in enumerate(ids)])
        pk = {c: i + 1 for i, c in enumerate(ids)}
        insert_rows(conn, transactions, [
            {"external_id": f"T{i}", "customer_id": pk[r.customer_id], "occurred_at": r.occurred_at,
             "amount": r.amount, "cost": r.cost, "is_refund": r.is_refund}
            for i, r in enumerate(log.itertuples())])
    end = datetime(2025, 11, 30)
    ours = read_customer_summary(engine, observation_end=end)
    sales = log[~log["is_refund"]]
    expected = customer_summary(sales, "customer_id", "occurred_at", "amount", "cost",
                                observation_period_end=end, freq="D")
    expected = expected[ours.columns]
    pd.testing.assert_index_equal(ours.index, expected.index, check_names=False)
    for column in ours.columns:
        if column in ("first_purchase", "last_purchase"):
            assert (ours[column].to_numpy() == expected[column].to_numpy()).all(), column
        else:
            np.testing.assert_allclose(ours[column], expected[column], rtol=1e-9, err_msg=column)
    default_end = read_customer_summary(engine)
    assert default_end["T"].max() > ours["T"].max()  # observation end = the last transaction


def test_empty_panel_gives_an_empty_summary(engine):
    assert read_customer_summary(engine).empty
