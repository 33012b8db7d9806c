"""The lots of points and their fates (:func:`patronage.analytics.programme.point_lots`), worked
out with array operations, are the very lots the ledger's own order of spending gives: checked
against a plain transfer-by-transfer replay of the ledger (the function's former loop, kept here
as the reference) on random ledgers (hypothesis) with earnings in and out of order, cancelled
redemptions, expiries, refunds, settlements of a shortfall, adjustments and debits beyond what
the lots hold."""

from __future__ import annotations

from bisect import insort

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patronage.analytics import programme
from patronage.analytics.programme import classify_transfers, point_lots

COLUMNS = ["member_id", "earned_on", "expires_on", "points", "redeemed", "expired", "reversed",
           "adjusted", "remaining"]
DAY0 = pd.Timestamp("2024-01-01")


def reference_lots(transfers: pd.DataFrame) -> pd.DataFrame:
    """The ledger replayed transfer by transfer: each member's lots sorted by earning day (then
    arrival), every debit taking from the first of them (an expiry first from the lots it
    expires); spent lots are set aside in the order they are spent."""
    flows = classify_transfers(transfers).sort_values(["member_id", "transfer_id"],
                                                      kind="stable")
    never = np.iinfo(np.int64).max

    def days(column):
        values = pd.to_datetime(flows[column] if column in flows
                                else pd.Series(pd.NaT, index=flows.index))
        if column == "earned_on":
            values = values.fillna(flows["occurred_at"].dt.normalize())
        whole = values.to_numpy(dtype="datetime64[D]").astype(np.int64)
        return np.where(values.isna().to_numpy(), never, whole)
    earned, expires = days("earned_on"), days("expires_on")
    slot_of = {"redeemed": 0, "returned": 0, "expired": 1, "reversed": 2, "settled": 2,
               "issued": 2}
    rows, lots = [], []

    def take(candidates, wanted, slot):
        for lot in candidates:
            if wanted <= 0:
                break
            used = min(lot[4], wanted)
            lot[4] -= used
            lot[5 + slot] += used
            wanted -= used
        return wanted

    records = flows.to_dict(orient="records")
    for i, row in enumerate(records):
        if i == 0 or row["member_id"] != records[i - 1]["member_id"]:
            rows += lots
            lots = []
        if row["credit"] == "points" and row["debit"] != "points":
            insort(lots, [row["member_id"], earned[i], expires[i], float(row["points"]),
                          float(row["points"]), 0.0, 0.0, 0.0, 0.0, i],
                   key=lambda lot: (lot[1], lot[9]))
        elif row["debit"] == "points" and row["credit"] != "points":
            slot, wanted = slot_of.get(row["flow"], 3), float(row["points"])
            if row["flow"] == "expired" and expires[i] != never:
                wanted = take([lot for lot in lots if lot[2] <= expires[i]], wanted, slot)
            take(lots, wanted, slot)
            while lots and lots[0][4] <= 1e-9:
                rows.append(lots.pop(0))
    rows += lots
    out = pd.DataFrame([row[:4] + row[5:9] for row in rows], columns=COLUMNS[:-1])
    for column in ("earned_on", "expires_on"):
        whole = out[column].to_numpy(dtype=np.int64)
        out[column] = pd.to_datetime(np.where(whole == never, np.datetime64("NaT"),
                                              whole.astype("datetime64[D]")))
    out["remaining"] = out["points"] - out[COLUMNS[4:8]].sum(axis=1)
    return out


#: (debit, credit) of each kind of transfer a member's points account sees.
KINDS = {"earn": ("issue", "points"), "bonus": ("issue", "points"),
         "cancel": ("redemption", "points"), "adjust_in": ("adjustment", "points"),
         "redeem": ("points", "redemption"), "expire": ("points", "expiry"),
         "refund": ("points", "issue"), "settle": ("points", "owed"),
         "adjust_out": ("points", "adjustment"), "owe": ("owed", "issue")}


@st.composite
def ledgers(draw, in_order: bool = False):
    """A random ledger of up to five members. ``in_order``: earnings only, each no earlier
    (and expiring no earlier) than the one before: every member's lots arrive in the order
    they are spent."""
    rows, tid = [], 0
    for member in range(draw(st.integers(1, 5))):
        day = 0
        for _ in range(draw(st.integers(0, 14))):
            kinds = (["earn", "redeem", "expire", "refund", "settle", "adjust_out", "owe"]
                     if in_order else list(KINDS))
            kind = draw(st.sampled_from(kinds))
            day += draw(st.integers(0, 40))
            debit, credit = KINDS[kind]
            earned = expires = pd.NaT
            if credit == "points":
                back = 0 if in_order else draw(st.integers(0, 90))
                earned = DAY0 + pd.Timedelta(days=max(day - back, 0))
                life = draw(st.sampled_from([365, 365, 180, None]))
                if in_order:
                    life = 365
                expires = earned + pd.Timedelta(days=life) if life else pd.NaT
            elif kind == "expire":
                expires = DAY0 + pd.Timedelta(days=max(day - draw(st.integers(0, 400)), 0))
            tid += 1
            rows.append({"transfer_id": tid, "member_id": 10 + member,
                         "points": draw(st.integers(1, 500)), "debit": debit,
                         "credit": credit, "occurred_at": DAY0 + pd.Timedelta(days=day),
                         "earned_on": earned, "expires_on": expires})
    frame = pd.DataFrame(rows, columns=["transfer_id", "member_id", "points", "debit",
                                        "credit", "occurred_at", "earned_on", "expires_on"])
    # Transfers reach the function in any order; the ids say the ledger's.
    return frame.sample(frac=1, random_state=draw(st.integers(0, 9))).reset_index(drop=True)


def _same(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(found[COLUMNS].reset_index(drop=True),
                                  expected[COLUMNS].reset_index(drop=True), check_dtype=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ledgers())
def test_the_lots_are_those_of_the_transfer_by_transfer_replay(ledger):
    expected = reference_lots(ledger)
    _same(point_lots(ledger), expected)
    _same(point_lots(ledger, by_transfer=True), expected)


@settings(max_examples=200, deadline=None)
@given(ledgers(in_order=True))
def test_lots_arriving_in_order_are_worked_out_by_arrays_alone(ledger):
    """With every member's lots in the order they are spent, no member is replayed transfer by
    transfer: the array path alone gives the replay's lots."""
    original = programme._sorted_lots

    def replay_nobody(member, *args):
        assert len(member) == 0, "a member was replayed transfer by transfer"
        return original(member, *args)
    programme._sorted_lots = replay_nobody
    try:
        found = point_lots(ledger)
    finally:
        programme._sorted_lots = original
    _same(found, reference_lots(ledger))


def test_a_debit_beyond_the_lots_is_not_charged_to_later_lots():
    """An incomplete history: 50 redeemed before any lot is known, then a lot of 80 and 30
    redeemed; the first debit takes nothing, the lot keeps 50."""
    ledger = pd.DataFrame([
        {"transfer_id": 1, "member_id": 1, "points": 50, "debit": "points",
         "credit": "redemption", "occurred_at": DAY0},
        {"transfer_id": 2, "member_id": 1, "points": 80, "debit": "issue", "credit": "points",
         "occurred_at": DAY0 + pd.Timedelta(days=1)},
        {"transfer_id": 3, "member_id": 1, "points": 30, "debit": "points",
         "credit": "redemption", "occurred_at": DAY0 + pd.Timedelta(days=2)}])
    lots = point_lots(ledger)
    assert lots[["points", "redeemed", "remaining"]].values.tolist() == [[80, 30, 50]]
    _same(lots, reference_lots(ledger))


def test_an_empty_ledger_has_no_lots():
    empty = pd.DataFrame(columns=["transfer_id", "member_id", "points", "debit", "credit",
                                  "occurred_at"])
    assert point_lots(empty).empty
    assert list(point_lots(empty).columns) == COLUMNS


@pytest.mark.parametrize("seed", [1, 2])
def test_a_large_ledger_matches_the_replay(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    member = np.sort(rng.integers(0, 800, n))
    kind = rng.choice(["earn", "redeem", "expire", "cancel", "refund"], n,
                      p=[0.6, 0.2, 0.1, 0.05, 0.05])
    day = rng.integers(0, 700, n)
    debit = np.array([KINDS[k][0] for k in kind], dtype=object)
    credit = np.array([KINDS[k][1] for k in kind], dtype=object)
    earned = pd.to_datetime(np.where(credit == "points", DAY0 + pd.to_timedelta(day, "D"),
                                     pd.NaT))
    ledger = pd.DataFrame({"transfer_id": np.arange(n), "member_id": member,
                           "points": rng.integers(1, 400, n), "debit": debit, "credit": credit,
                           "occurred_at": DAY0 + pd.to_timedelta(day, "D"),
                           "earned_on": earned, "expires_on": earned + pd.Timedelta(days=365)})
    _same(point_lots(ledger), reference_lots(ledger))


def test_an_expiry_takes_the_lots_it_expires_though_an_older_lot_lives_longer():
    """Lots earned in order but expiring out of order (a policy change): 100 points earned in
    January that never expire, 60 earned in February that expire in August; the August
    expiry takes the February lot, not the older January one."""
    feb, aug = DAY0 + pd.Timedelta(days=31), DAY0 + pd.Timedelta(days=213)
    ledger = pd.DataFrame([
        {"transfer_id": 1, "member_id": 1, "points": 100, "debit": "issue", "credit": "points",
         "occurred_at": DAY0, "earned_on": DAY0, "expires_on": pd.NaT},
        {"transfer_id": 2, "member_id": 1, "points": 60, "debit": "issue", "credit": "points",
         "occurred_at": feb, "earned_on": feb, "expires_on": aug},
        {"transfer_id": 3, "member_id": 1, "points": 60, "debit": "points", "credit": "expiry",
         "occurred_at": aug + pd.Timedelta(days=1), "earned_on": pd.NaT, "expires_on": aug}])
    lots = point_lots(ledger)
    assert lots[["points", "expired", "remaining"]].values.tolist() == [[100, 0, 100],
                                                                         [60, 60, 0]]
    _same(lots, reference_lots(ledger))
