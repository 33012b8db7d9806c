"""A membership programme's figures from its ledger: members and active members per month, points
issued and burnt (redeemed, expired) per month, the redemption rate, outstanding points,
breakage and the liability they stand for, and the tier migration matrix.

Inputs are plain frames (see each function): ``members`` (``member_id, joined_on``, optionally
``closed_on``), ``transfers`` (one row per double-entry transfer: ``member_id, points, debit,
credit, occurred_at`` where ``debit``/``credit`` are the *kinds* of the two accounts — the
member's ``points`` or ``owed``, the programme's ``issue``, ``redemption``, ``expiry``,
``adjustment``, ``write_off`` — plus ``earned_on``, ``expires_on``, ``redemption_id`` where
known) and ``tier_changes`` (``member_id, to_tier, changed_on``).

Breakage — the share of issued points that will never be redeemed — is estimated from *matured*
points only: points whose expiry date has passed, so that their fate is settled (redeemed, or
expired / about to be taken by the expiry job). Points are followed lot by lot in the order the
ledger spends them, oldest earned first (:func:`point_lots`). The estimate is a ratio of sums
over members, R = Σ expired_i / Σ (expired_i + redeemed_i), whose standard error is the
linearisation (delta-method) one for a ratio estimator with members as independent clusters
(Cochran 1977, *Sampling Techniques*, 3rd ed., §6.4; the same as the HC1 robust standard error of
the weighted regression of expired/settled on a constant with weights settled). The assumption:
points outstanding today will break like the matured ones did (members behave as the earlier
cohorts did, under the same expiry policy).
"""

from __future__ import annotations

import math
from bisect import insort

import numpy as np
import pandas as pd
from scipy import stats

from patronage.analytics._validation import require_columns
from patronage.analytics.uplift import wilson_interval

__all__ = ["CLOSED", "FLOWS", "NEW", "NO_TIER", "breakage", "classify_transfers", "liability",
           "member_months", "monthly_flows", "point_lots", "redemption_rate", "tier_migration"]

#: Member-side and programme accounts (see the ledger).
MEMBER_ACCOUNTS = ("points", "owed")
#: Flows of points between members and the programme, by the programme account involved; the
#: sign is that of the points reaching members' hands (issued +, redeemed −, returned +...).
FLOWS = ("issued", "reversed", "redeemed", "returned", "expired", "adjusted", "written_off")
_FLOW_OF = {("issue", +1): "issued", ("issue", -1): "reversed",
            ("redemption", -1): "redeemed", ("redemption", +1): "returned",
            ("expiry", -1): "expired", ("expiry", +1): "expired",
            ("adjustment", +1): "adjusted", ("adjustment", -1): "adjusted",
            ("write_off", +1): "written_off", ("write_off", -1): "written_off"}
#: Row and column keys of the migration matrix that are not tiers.
NEW, CLOSED, NO_TIER = "_joined", "_closed", "_none"
_TRANSFER_COLUMNS = ("member_id", "points", "debit", "credit", "occurred_at")


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    return float(stats.norm.ppf(1 - alpha / 2))


def _check(frame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame")
    require_columns(frame, columns, what=what)


def classify_transfers(transfers: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``transfers`` with ``flow`` (one of :data:`FLOWS`, ``"settled"`` for a move
    between a member's own accounts) and ``signed``: the points reaching the member's two
    accounts (+) or leaving them (−); 0 when no member account is touched (a write-off: the
    programme bears a refund's shortfall)."""
    _check(transfers, _TRANSFER_COLUMNS, "transfers")
    out = transfers.copy()
    debit = out["debit"].astype(object).to_numpy()
    credit = out["credit"].astype(object).to_numpy()
    points = pd.to_numeric(out["points"]).to_numpy(dtype=float)
    debit_member = np.isin(debit, MEMBER_ACCOUNTS)
    credit_member = np.isin(credit, MEMBER_ACCOUNTS)
    to_member = credit_member & ~debit_member
    from_member = debit_member & ~credit_member
    other = np.where(to_member, debit, credit)
    # The flow of each (programme account, direction), looked up once per account.
    codes, accounts = pd.factorize(pd.Series(other, dtype=object))
    names = np.array([[_FLOW_OF.get((a, g), "adjusted") for g in (-1, 1)] for a in accounts]
                     + [["adjusted", "adjusted"]], dtype=object)
    flows = names[codes, to_member.astype(np.int64)]
    flows = np.where(debit_member & credit_member, "settled",
                     np.where(to_member | from_member, flows, "written_off"))
    signed = np.where(to_member, points, np.where(from_member, -points, 0.0))
    out["flow"] = flows
    out["signed"] = signed
    out["occurred_at"] = pd.to_datetime(out["occurred_at"])
    return out


def _month_range(start, end) -> pd.PeriodIndex:
    return pd.period_range(pd.Period(pd.Timestamp(start), "M"), pd.Period(pd.Timestamp(end), "M"),
                           freq="M")


def _month_numbers(dates: pd.Series) -> np.ndarray:
    """Months as integers (year × 12 + month − 1): fast to group by."""
    values = pd.to_datetime(dates)
    return (values.dt.year * 12 + values.dt.month - 1).to_numpy(dtype=np.int64)


def monthly_flows(transfers: pd.DataFrame, *, start=None, end=None) -> pd.DataFrame:
    """Points per calendar month: ``issued``, ``reversed`` (refunds taking earned points back),
    ``redeemed``, ``returned`` (cancelled redemptions), ``expired``, ``adjusted`` (net),
    ``written_off``, all as positive amounts (``adjusted`` signed), and at each month's end the
    members' ``outstanding`` spendable points and ``owed`` (negative pending balances) —
    accumulated from the first transfer, whatever ``start`` is. Indexed by month (a Period)."""
    flows = classify_transfers(transfers)
    bounds = [pd.Timestamp(d) for d in (start, end) if d is not None]
    if flows.empty and len(bounds) < 2:
        return pd.DataFrame(columns=[*FLOWS, "outstanding", "owed"], dtype=float,
                            index=pd.PeriodIndex([], freq="M", name="month"))
    month = _month_numbers(flows["occurred_at"])
    edges = [int(d.year * 12 + d.month - 1) for d in bounds] + (
        [int(month.min()), int(month.max())] if len(month) else [])
    first, last = min(edges), max(edges)
    lo = int(pd.Timestamp(start).year * 12 + pd.Timestamp(start).month - 1) \
        if start is not None else first
    hi = int(pd.Timestamp(end).year * 12 + pd.Timestamp(end).month - 1) \
        if end is not None else last
    size = last - first + 1
    points = pd.to_numeric(flows["points"]).to_numpy(dtype=float)
    amount = np.where(flows["flow"] == "adjusted", flows["signed"], points)
    table = {}
    kinds = flows["flow"].to_numpy(dtype=object)
    for name in FLOWS:
        chosen = kinds == name
        table[name] = np.bincount(month[chosen] - first, weights=amount[chosen], minlength=size)
    for account, column in (("points", "outstanding"), ("owed", "owed")):
        change = (np.where(flows["credit"] == account, points, 0.0)
                  - np.where(flows["debit"] == account, points, 0.0))
        table[column] = np.cumsum(np.bincount(month - first, weights=change, minlength=size))
    index = pd.PeriodIndex([pd.Period(year=(first + k) // 12, month=(first + k) % 12 + 1,
                                      freq="M") for k in range(size)], name="month")
    out = pd.DataFrame(table, index=index).astype(float)
    return out.iloc[lo - first:hi - first + 1]


def member_months(members: pd.DataFrame, activity: pd.DataFrame, *, start, end,
                  active_months: int = 12) -> pd.DataFrame:
    """Members at each month's end (joined by then and not closed) and ``active`` members: those
    with a purchase or a point movement (rows of ``activity``: ``member_id, occurred_at``) in
    the ``active_months`` months up to and including that month. Indexed by month."""
    _check(members, ("member_id", "joined_on"), "members")
    _check(activity, ("member_id", "occurred_at"), "activity")
    if int(active_months) < 1:
        raise ValueError("active_months must be at least 1")
    months = _month_range(start, end)
    people = members.drop_duplicates("member_id").set_index("member_id")
    ids = people.index
    m0 = months[0].year * 12 + months[0].month - 1
    col = np.arange(len(months))
    far = 10 ** 9
    j = np.where(people["joined_on"].isna(), far, _month_numbers(
        people["joined_on"].fillna(pd.Timestamp("2000-01-01"))) - m0)
    if "closed_on" in people:
        c = np.where(people["closed_on"].isna(), far, _month_numbers(
            people["closed_on"].fillna(pd.Timestamp("2000-01-01"))) - m0)
    else:
        c = np.full(len(ids), far)
    enrolled = (j[:, None] <= col[None, :]) & (c[:, None] > col[None, :])
    seen = np.zeros((len(ids), len(months) + int(active_months)), dtype=np.int64)
    act = activity.loc[activity["member_id"].isin(ids)]
    if len(act):
        row = ids.get_indexer(act["member_id"])
        offset = _month_numbers(act["occurred_at"]) - m0 + int(active_months) - 1
        keep = (offset >= 0) & (offset < seen.shape[1])
        np.add.at(seen, (row[keep], offset[keep]), 1)
    k = int(active_months)
    # Activity in months c-k+1 .. c: a difference of running sums.
    running = np.concatenate([np.zeros((len(ids), 1), dtype=np.int64),
                              np.cumsum(seen, axis=1)], axis=1)
    recent = running[:, k:k + len(months)] - running[:, :len(months)]
    active = enrolled & (recent > 0)
    return pd.DataFrame({"members": enrolled.sum(axis=0), "active": active.sum(axis=0)},
                        index=pd.PeriodIndex(months, name="month"))


def _kept_redemptions(flows: pd.DataFrame) -> pd.DataFrame:
    """Redeem rows (member -> redemption) not undone by a cancellation of the same redemption."""
    redeemed = flows.loc[flows["flow"] == "redeemed"]
    if "redemption_id" in flows:
        cancelled = set(flows.loc[flows["flow"] == "returned", "redemption_id"].dropna())
        redeemed = redeemed.loc[~redeemed["redemption_id"].isin(cancelled)]
    return redeemed


def redemption_rate(members: pd.DataFrame, transfers: pd.DataFrame, *, start, end,
                    alpha: float = 0.05) -> dict:
    """Who redeemed from ``start`` to ``end`` (inclusive days): ``n`` members (joined by ``end``
    and not closed before ``start``), ``redeemers`` (at least one redemption in the period that
    was not cancelled), ``rate`` with its Wilson interval ``low``/``high``; and the points
    ``redeemed`` (net of cancellations) against the points ``issued`` in the period,
    ``burn_ratio`` = redeemed / issued (NaN when nothing was issued)."""
    _check(members, ("member_id", "joined_on"), "members")
    lo, hi = pd.Timestamp(start), pd.Timestamp(end) + pd.Timedelta(days=1)
    if hi <= lo:
        raise ValueError("the period's end is before its start")
    joined = pd.to_datetime(members["joined_on"])
    alive = joined < hi
    if "closed_on" in members:
        closed = pd.to_datetime(members["closed_on"])
        alive &= closed.isna() | (closed >= lo)
    ids = set(members.loc[alive.to_numpy(), "member_id"])
    flows = classify_transfers(transfers)
    inside = flows.loc[(flows["occurred_at"] >= lo) & (flows["occurred_at"] < hi)]
    kept = _kept_redemptions(inside)
    redeemers = len(ids & set(kept["member_id"]))
    issued = float(inside.loc[inside["flow"] == "issued", "points"].sum())
    redeemed = float(inside.loc[inside["flow"] == "redeemed", "points"].sum()
                     - inside.loc[inside["flow"] == "returned", "points"].sum())
    n = len(ids)
    low, high = wilson_interval(redeemers, n, alpha)
    return {"n": n, "redeemers": redeemers, "rate": redeemers / n if n else math.nan,
            "low": low, "high": high, "issued": issued, "redeemed": redeemed,
            "burn_ratio": redeemed / issued if issued > 0 else math.nan}


def _days(dates: pd.Series, missing: int) -> np.ndarray:
    """Dates as whole days since 1970 (``missing`` for none)."""
    values = dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return np.where(dates.isna().to_numpy(), missing, values)


#: What each kind of debit from a member's points counts as on a lot (columns of
#: :func:`point_lots`); anything else is an adjustment.
_LOT_COLUMNS = ("redeemed", "expired", "reversed", "adjusted")
_SLOT_OF = {"redeemed": 0, "returned": 0, "expired": 1, "reversed": 2, "settled": 2,
            "issued": 2}
_NEVER = np.iinfo(np.int64).max


def point_lots(transfers: pd.DataFrame, *, by_transfer: bool = False) -> pd.DataFrame:
    """Every lot of points credited to a member's spendable account, followed to its fate the
    way the ledger spends points: transfers in the order they were written (``transfer_id``,
    else ``occurred_at``), each debit taking from the lots of the oldest earning day first (an
    expiry first from the lots expired by its ``expires_on``). Returns ``member_id, earned_on,
    expires_on, points`` and how many were ``redeemed``, ``expired``, ``reversed`` (taken back
    by a refund or to settle an earlier shortfall), ``adjusted`` (taken by an adjustment) and
    are ``remaining``, a member's lots together (members in ``member_id`` order) and each
    member's lots in the order they were spent. Points given back by a cancelled redemption
    are a lot of their own. Debits beyond what the lots hold (an incomplete history) are not
    assigned.

    Most members' lots arrive in the order they are spent (each lot earned no earlier, and
    expiring no earlier, than the one before): then the lots form one queue and a debit takes
    the stretch of it between the points taken before it and those taken with it, so the
    whole ledger is allotted at once with cumulative sums (:func:`_queued_lots`). The few
    members with a lot that jumps the queue (points given back by a cancelled redemption
    count as earned on the redemption's day) are followed transfer by transfer
    (:func:`_sorted_lots`); both give the same lots. ``by_transfer=True`` follows every member
    transfer by transfer (the slow reference, for checks and benchmarks)."""
    flows = classify_transfers(transfers)
    order = ["member_id", "transfer_id" if "transfer_id" in flows else "occurred_at"]
    flows = flows.sort_values(order, kind="stable")
    when = flows["occurred_at"].dt.normalize()
    # Days as integers (fast to compare); "never expires" is a day after every other.
    earned = _days((pd.to_datetime(flows["earned_on"]) if "earned_on" in flows
                    else pd.Series(pd.NaT, index=flows.index)).fillna(when), _NEVER)
    expires = _days(pd.to_datetime(flows["expires_on"]) if "expires_on" in flows
                    else pd.Series(pd.NaT, index=flows.index), _NEVER)
    member = flows["member_id"].to_numpy()
    debit, credit = flows["debit"].to_numpy(dtype=object), flows["credit"].to_numpy(dtype=object)
    points = flows["points"].to_numpy(dtype=float)
    codes, kinds = pd.factorize(flows["flow"].to_numpy(dtype=object))
    slots = np.array([_SLOT_OF.get(k, 3) for k in kinds] + [3], dtype=np.int64)[codes]
    group = np.zeros(len(member), dtype=np.int64)
    if len(member) > 1:
        group[1:] = np.cumsum(member[1:] != member[:-1])
    lot = (credit == "points") & (debit != "points")
    spend = (debit == "points") & (credit != "points")
    # Members whose lots do not arrive in the order they are spent.
    at = np.flatnonzero(lot)
    jumps = (group[at][1:] == group[at][:-1]) & (
        (earned[at][1:] < earned[at][:-1]) | (expires[at][1:] < expires[at][:-1]))
    slow = np.isin(group, group[at][1:][jumps]) | by_transfer
    parts = [_queued_lots(member[~slow], group[~slow], earned[~slow], expires[~slow],
                          points[~slow], slots[~slow], lot[~slow], spend[~slow]),
             _sorted_lots(member[slow], group[slow], earned[slow], expires[slow],
                          points[slow], slots[slow], lot[slow], spend[slow])]
    rows = pd.concat([p for p in parts if len(p)] or [parts[0]], ignore_index=True)
    rows = rows.sort_values("group", kind="stable").drop(columns="group")
    out = rows.reset_index(drop=True)
    for column in ("earned_on", "expires_on"):
        days = out[column].to_numpy(dtype=np.int64)
        out[column] = pd.to_datetime(np.where(days == _NEVER, np.datetime64("NaT"),
                                              days.astype("datetime64[D]")))
    out["remaining"] = out["points"] - out[list(_LOT_COLUMNS)].sum(axis=1)
    return out


def _lot_frame(group, member, earned, expires, points, taken) -> pd.DataFrame:
    frame = pd.DataFrame({"group": group, "member_id": member, "earned_on": earned,
                          "expires_on": expires, "points": points})
    for k, column in enumerate(_LOT_COLUMNS):
        frame[column] = taken[:, k] if len(taken) else np.zeros(0)
    return frame


def _queued_lots(member, group, earned, expires, points, slots, lot, spend) -> pd.DataFrame:
    """:func:`point_lots` for members whose lots arrive in the order they are spent.

    Per member, the lots laid end to end make a line of points (lot j covers L[j-1]..L[j]);
    debit k takes what it asks, or what the lots that arrived before it still hold:
    S[k] = min(S[k-1] + w[k], C[k]) with C[k] the points credited before it, i.e.
    S = W + min(0, running min of C - W) for W the running sum of what debits ask. Debit k
    covers S[k-1]..S[k] of the line, and a lot gets of each kind of debit what overlaps it.
    Members are laid one after another on a single line, so every step is one array
    operation."""
    credited = pd.Series(np.where(lot, points, 0.0)).groupby(group).cumsum().to_numpy()
    k = np.flatnonzero(spend)
    dg, asked = group[k], points[k]
    wanted = pd.Series(asked).groupby(dg).cumsum().to_numpy()
    shortfall = pd.Series(credited[k] - wanted).groupby(dg).cummin().to_numpy()
    upto = wanted + np.minimum(shortfall, 0.0)
    first = np.ones(len(k), dtype=bool)
    first[1:] = dg[1:] != dg[:-1]
    before = np.where(first, 0.0, np.concatenate([[0.0], upto[:-1]]))
    j = np.flatnonzero(lot)
    lg = group[j]
    line = pd.Series(points[j]).groupby(lg).cumsum().to_numpy()
    # Each member's line starts where the previous member's ends.
    size = int(group.max()) + 1 if len(group) else 0
    start = np.concatenate([[0.0], np.cumsum(np.bincount(lg, weights=points[j],
                                                          minlength=size))])[:size]
    d0, d1 = start[dg] + before, start[dg] + upto
    l1 = start[lg] + line
    l0 = l1 - points[j]
    # Where each lot's ends fall among the debits: those wholly before, and the one across.
    kind = slots[k]
    ends = []
    for x in (l0, l1):
        n = np.searchsorted(d1, x, side="right")
        across = np.minimum(n, max(len(d1) - 1, 0))
        part = np.where(n < len(d1), np.clip(x - d0[across], 0.0, None), 0.0) \
            if len(d1) else np.zeros(len(x))
        ends.append((n, across, part))
    taken = np.zeros((len(j), len(_LOT_COLUMNS)))
    for slot in range(len(_LOT_COLUMNS)):
        running = np.concatenate([[0.0], np.cumsum(np.where(kind == slot, d1 - d0, 0.0))])
        # Points of this kind taken on the line before each end of each lot.
        at_end = [running[n] + np.where(kind[across] == slot, part, 0.0) if len(d1)
                  else running[n] for n, across, part in ends]
        taken[:, slot] = at_end[1] - at_end[0]
    return _lot_frame(lg, member[j], earned[j], expires[j], points[j], taken)


def _sorted_lots(member, group, earned, expires, points, slots, lot, spend) -> pd.DataFrame:
    """:func:`point_lots` transfer by transfer: each member's lots kept sorted by earning day
    (then arrival), a debit taking from the first (an expiry first from those it expires)."""
    rows: list[list] = []
    # A lot: [group, member, earned, expires, points, left, 4 × taken, arrival]
    lots: list[list] = []

    def take(candidates, wanted: float, slot: int) -> float:
        for held in candidates:
            if wanted <= 0:
                break
            used = min(held[5], wanted)
            held[5] -= used
            held[6 + slot] += used
            wanted -= used
        return wanted

    for i in range(len(member)):
        if i == 0 or group[i] != group[i - 1]:
            rows += lots
            lots = []
        if lot[i]:
            insort(lots, [group[i], member[i], earned[i], expires[i], points[i], points[i],
                          0.0, 0.0, 0.0, 0.0, i], key=lambda held: (held[2], held[10]))
        elif spend[i]:
            wanted = points[i]
            if slots[i] == 1 and expires[i] != _NEVER:
                wanted = take([held for held in lots if held[3] <= expires[i]], wanted, 1)
            take(lots, wanted, slots[i])
            while lots and lots[0][5] <= 1e-9:  # spent lots are final: set them aside
                rows.append(lots.pop(0))
    rows += lots
    table = np.array([row[6:10] for row in rows], dtype=float).reshape(-1, len(_LOT_COLUMNS))
    return _lot_frame(np.array([row[0] for row in rows], dtype=np.int64),
                      np.array([row[1] for row in rows], dtype=member.dtype),
                      np.array([row[2] for row in rows], dtype=np.int64),
                      np.array([row[3] for row in rows], dtype=np.int64),
                      np.array([row[4] for row in rows], dtype=float), table)


def breakage(transfers: pd.DataFrame, *, as_of, alpha: float = 0.05, min_n: int = 30) -> dict:
    """Breakage estimated from the lots whose expiry date is on or before ``as_of``: ``rate`` =
    expired / (expired + redeemed) over those lots' points (points still left on them count as
    expired: the expiry job takes them), with its delta-method standard error ``se`` over
    members and the interval ``low``/``high`` (clipped to 0–1); ``members`` (those with matured
    points redeemed or expired), ``matured`` points, ``expired``, ``redeemed``, ``small`` (fewer
    than ``min_n`` members). Points that never expire never mature: with no matured lot the
    figures are NaN and ``reason`` says why."""
    lots = point_lots(transfers)
    day = pd.Timestamp(as_of)
    mature = lots.loc[lots["expires_on"].notna() & (pd.to_datetime(lots["expires_on"]) <= day)]
    nan = math.nan
    out = {"rate": nan, "se": nan, "low": nan, "high": nan, "members": 0, "matured": 0.0,
           "expired": 0.0, "redeemed": 0.0, "small": True, "reason": None}
    if mature.empty:
        out["reason"] = ("no_expiry" if lots.empty or lots["expires_on"].isna().all()
                         else "not_matured")
        return out
    per = mature.assign(gone=mature["expired"] + mature["remaining"]).groupby("member_id")[
        ["gone", "redeemed"]].sum()
    per = per.loc[(per["gone"] + per["redeemed"]) > 0]
    y, x = per["gone"].to_numpy(), (per["gone"] + per["redeemed"]).to_numpy()
    n = len(per)
    out.update(members=n, matured=float(mature["points"].sum()), expired=float(y.sum()),
               redeemed=float(per["redeemed"].sum()), small=n < min_n)
    if n == 0:
        out["reason"] = "not_matured"
        return out
    rate = float(y.sum() / x.sum())
    se = (math.sqrt(n / (n - 1) * float(np.sum((y - rate * x) ** 2))) / float(x.sum())
          if n > 1 else nan)
    z = _z(alpha)
    out.update(rate=rate, se=se, low=max(0.0, rate - z * se) if n > 1 else nan,
               high=min(1.0, rate + z * se) if n > 1 else nan)
    return out


def liability(outstanding: float, cost_per_point: float, rate: float = math.nan,
              low: float = math.nan, high: float = math.nan) -> dict:
    """What outstanding points cost the company: ``gross`` = outstanding × cost per point, and
    net of breakage ``net`` = outstanding × (1 − breakage) × cost per point, with ``net_low``
    / ``net_high`` from the breakage interval (a higher breakage, a lower liability). Without a
    breakage estimate the net figures are NaN (unknown, not zero)."""
    if cost_per_point < 0 or outstanding < 0:
        raise ValueError("outstanding points and the cost per point cannot be negative")
    gross = float(outstanding) * float(cost_per_point)
    return {"outstanding": float(outstanding), "cost_per_point": float(cost_per_point),
            "gross": gross, "net": gross * (1 - rate), "net_low": gross * (1 - high),
            "net_high": gross * (1 - low)}


def _tiers_on(changes: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    before = changes.loc[changes["changed_on"] <= day]
    last = before.sort_values(["changed_on"], kind="stable").groupby("member_id").tail(1)
    return last.set_index("member_id")["to_tier"]


def tier_migration(members: pd.DataFrame, tier_changes: pd.DataFrame, *, start, end,
                   order=()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members' tier on ``start`` (rows) against their tier on ``end`` (columns): ``(counts,
    shares)``, shares being row shares. Rows include :data:`NEW` for members who joined
    after ``start`` (by ``end``); columns :data:`CLOSED` for memberships closed by ``end``;
    :data:`NO_TIER` stands for a member with no tier. Tiers follow ``order`` (entry tier first),
    then any others."""
    _check(members, ("member_id", "joined_on"), "members")
    _check(tier_changes, ("member_id", "to_tier", "changed_on"), "tier_changes")
    d0, d1 = pd.Timestamp(start), pd.Timestamp(end)
    if d1 < d0:
        raise ValueError("the migration's end is before its start")
    changes = tier_changes.assign(changed_on=pd.to_datetime(tier_changes["changed_on"]))
    people = members.drop_duplicates("member_id").set_index("member_id")
    joined = pd.to_datetime(people["joined_on"])
    people = people.loc[joined <= d1]
    joined = joined.loc[people.index]
    before, after = _tiers_on(changes, d0), _tiers_on(changes, d1)
    row = pd.Series(NEW, index=people.index, dtype=object)
    was = joined <= d0
    row[was] = before.reindex(people.index[was]).astype(object).fillna(NO_TIER).to_numpy()
    col = after.reindex(people.index).astype(object).fillna(NO_TIER)
    if "closed_on" in people:
        closed = pd.to_datetime(people["closed_on"])
        col[closed.notna() & (closed <= d1)] = CLOSED
        gone = closed.notna() & (closed <= d0)
        row, col = row[~gone], col[~gone]
    counts = pd.crosstab(row.rename("from_tier"), col.rename("to_tier"))
    known = list(order)

    def arranged(keys, last):
        tiers = [t for t in known if t in keys]
        others = sorted(str(k) for k in keys if k not in known and k not in (NO_TIER, last))
        return tiers + others + [k for k in (NO_TIER, last) if k in keys]

    rows, cols = arranged(set(counts.index), NEW), arranged(set(counts.columns), CLOSED)
    counts = counts.reindex(index=rows, columns=cols, fill_value=0)
    counts.index.name, counts.columns.name = "from_tier", "to_tier"
    shares = counts.div(counts.sum(axis=1).replace(0, np.nan), axis=0)
    return counts, shares
