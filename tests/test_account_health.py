"""Key-account health (patronage.analytics.account_health): the spend-against-own-history
signal of partial defection (Buckinx & Van den Poel 2005, EJOR 164(1)) checked against numbers
computed by hand and with numpy, the visit plan's status and the status rules."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from patronage.analytics.account_health import health_status, spend_trend, visit_status

TODAY = date(2026, 6, 30)


def _sale(customer, days_back, amount, refund=False):
    return {"customer_id": customer, "amount": amount, "is_refund": refund,
            "occurred_at": pd.Timestamp(TODAY) - pd.Timedelta(days=days_back)
            + pd.Timedelta(hours=15)}


def _sales():
    rows = []
    # A: a key account that bought 100 ± a little per quarter for two years, 30 this quarter
    history = [100, 120, 80, 110, 90, 100, 130, 70]
    for k, amount in enumerate(history, start=1):
        rows.append(_sale("A", 90 * k + 45, amount))
    rows.append(_sale("A", 10, 30))
    # B: a new account (first purchase 200 days ago): two earlier windows only
    rows += [_sale("B", 200, 500), _sale("B", 100, 500), _sale("B", 5, 50)]
    # C: steady at 100 (one quarter 101); 95 now: far below in sd, not in share
    for k in range(1, 9):
        rows.append(_sale("C", 90 * k + 10, 101 if k == 3 else 100))
    rows.append(_sale("C", 0, 95))  # a sale today counts
    # D: the window edge: 89 days back is recent, 90 days back is the previous window;
    # a refund counts negative; a sale after today is left out
    rows += [_sale("D", 89, 40), _sale("D", 90, 60), _sale("D", 3, 15, refund=True),
             _sale("D", -2, 999)]
    return pd.DataFrame(rows)


def test_spend_against_own_history_by_hand():
    table = spend_trend(_sales(), TODAY)
    a = table.loc["A"]
    history = np.array([100, 120, 80, 110, 90, 100, 130, 70], dtype=float)
    assert a["recent"] == 30
    assert a["windows"] == 8
    assert a["baseline"] == pytest.approx(100.0)                      # 800 / 8
    assert a["sd"] == pytest.approx(np.std(history, ddof=1))
    assert a["sd"] == pytest.approx(20.0)                             # sqrt(2800 / 7)
    assert a["ratio"] == pytest.approx(0.3)
    assert a["z"] == pytest.approx(-3.5)                              # (30 - 100) / 20
    assert a["percentile"] == 0.0                                     # lower than ever
    assert bool(a["drop"])


def test_short_history_and_steady_accounts_are_not_flagged():
    table = spend_trend(_sales(), TODAY)
    b = table.loc["B"]
    assert b["windows"] == 2          # windows ending 90 and 180 days back; 270 is before it
    assert b["baseline"] == pytest.approx(500.0)
    assert b["ratio"] == pytest.approx(0.1)
    assert not bool(b["drop"])        # fewer than min_windows (4) earlier windows
    assert bool(spend_trend(_sales(), TODAY, min_windows=2).loc["B", "drop"]) is False  # sd 0
    c = table.loc["C"]
    assert c["recent"] == 95
    assert c["baseline"] == pytest.approx(100.125)
    assert c["z"] < -10               # far below in its own tiny variation ...
    assert c["ratio"] == pytest.approx(95 / 100.125)
    assert c["percentile"] == 0.0
    assert not bool(c["drop"])        # ... but not below 60% of its spend


def test_window_edges_refunds_and_future_sales():
    d = spend_trend(_sales(), TODAY).loc["D"]
    assert d["recent"] == pytest.approx(40 - 15)   # 89 days back is recent; refund negative
    assert d["windows"] == 1                       # bought 90 days back: window 1 counts
    assert d["baseline"] == pytest.approx(60)
    assert np.isnan(d["sd"]) and np.isnan(d["z"])  # one earlier window: no spread
    with pytest.raises(ValueError, match="customer_id"):
        spend_trend(pd.DataFrame({"amount": [1]}), TODAY)


def test_visit_status():
    assert visit_status(date(2026, 3, 1), 90, TODAY) == {
        "due_on": date(2026, 5, 30), "overdue_days": 31, "never": False}
    assert visit_status(date(2026, 6, 1), 90, TODAY)["overdue_days"] == 0
    assert visit_status(None, 60, TODAY) == {"due_on": TODAY, "overdue_days": 0, "never": True}
    assert visit_status(None, None, TODAY)["overdue_days"] is None


def test_health_status_rules():
    assert health_status() == ("healthy", [])
    assert health_status(drop=True, ratio=0.3) == ("at_risk", ["spend_drop"])
    assert health_status(ratio=0.7) == ("watch", ["spend_softening"])
    assert health_status(overdue_days=100, every_days=90) == ("at_risk", ["visit_overdue_long"])
    assert health_status(overdue_days=10, every_days=90, open_cases=1) == (
        "watch", ["visit_overdue", "open_cases"])
    assert health_status(last_nps=6) == ("watch", ["detractor"])
    assert health_status(last_nps=6, open_cases=2)[0] == "at_risk"
    assert health_status(last_nps=7, never_visited=True) == ("watch", ["never_visited"])
