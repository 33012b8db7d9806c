"""How many points purchases, refunds and survey answers earn under the earning rules: pure and
vectorised (numpy/pandas), no database. :mod:`patronage.members.accrual` reads the rows, calls
these functions and writes what they return to the ledger.

The rules, as the earning rules page states them:

* **Which purchase rule.** A purchase earns ``points_per_yuan`` × amount from the most specific
  active ``purchase`` rule that matches it: one naming its category and channel, else its
  category, else its channel, else one for any purchase. Among equally specific matches the
  most generous wins (then the oldest rule). A rule matches when the purchase is in its
  category and on its channel (when it names them), the member's tier is one of its tiers (when
  it lists them) and the purchase date is within ``starts_on`` … ``ends_on``.
* **Multipliers compose by product.** The member's tier multiplier and every matching
  ``member_day`` rule (a weekday, 0 = Monday, or a day of the month) and ``birthday_month``
  rule (a purchase in the month of the customer's birthday) multiply those points: ¥100 at 1
  point per ¥, gold ×1.5, member day ×2 → 300. A multiplier below 1 is not applied (multipliers only add
  points).
* **Whole points.** The product is rounded down once: ¥99.50 at 1 point per ¥ earns 99 (×2 on
  a member day: 199). The purchase's points are one transfer (kind ``earn``, key
  ``earn:<transaction id>``, with the purchase rule), and the purchase rule's caps limit them.
  A member-day or birthday rule with a cap of its own adds its extra points as a transfer of
  its own (kind ``bonus``, key ``bonus:<rule id>:<transaction id>``), within its caps, so that
  what it gave in a month can be counted.
* **Base points.** The ``earn`` transfer also carries the purchase's base points: the purchase
  rule's points on the amount, rounded down, before the tier's, member-day and birthday
  multipliers (and never more than the transfer gives, when a cap cut it). Points-based tiers
  count these, so a ×2 card does not qualify twice as fast; bonuses are no base points.
* **Fixed bonuses.** ``first_purchase``: the member's first purchase on or after joining earns
  the rule's ``points`` once (key ``first:<member id>``; the first matching rule). ``referral``:
  when a referred member makes that first purchase, the member who referred them earns the
  rule's ``points`` once (key ``referral:<referred member id>``; the referrer's tier decides
  which rule matches). ``survey_completed``: each survey response a member submits after joining
  earns ``points`` (key ``survey:<response id>``).
* **Caps.** ``cap_per_transaction`` caps what one rule gives for one purchase (or response);
  ``cap_per_month`` caps what one rule gives one member in a calendar month (of the purchase
  date), counting what it gave in earlier runs (``earned_before``). Within a batch, purchases
  count in the order given (the accrual gives them in transaction order).
* **The company's day.** Times are stored in UTC; a row may carry ``local_at``, the company's
  wall-clock time of it (:func:`patronage.members.programme.company_times`), and then its day
  (a rule's dates, the member day, the birthday month, the month of a cap, and the day the
  points are earned on, ``earned_on`` of the movements) is judged on that: a purchase at 00:30
  on a Wednesday in Shanghai is a Wednesday purchase, though it is Tuesday in UTC.
* **Refunds** take back, from a refund naming its purchase (``refund_of``), the points the
  purchase earned in proportion to the money returned (its ``earn`` and multiplier ``bonus``
  transfers, not the fixed bonuses), rounded down and never more than the purchase earned;
  from a refund naming none, the points of the matching purchase rule on the amount refunded,
  without multipliers. The refund carries its share of base points, taken back from what
  points-based tiers count: the same proportion of the purchase's base points (all of its
  points for a refund naming no purchase, which are base points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Rule kinds that look at a purchase; the others look at survey responses.
PURCHASE_KINDS = ("purchase", "member_day", "birthday_month", "first_purchase", "referral")
MULTIPLIER_KINDS = ("member_day", "birthday_month")
#: Columns of the movements returned (one row per transfer to write).
MOVEMENT_COLUMNS = ["transaction_id", "response_id", "member_id", "kind", "rule_id", "points",
                    "source_key", "occurred_at", "base_points", "earned_on"]


def whole(values) -> np.ndarray:
    """Points rounded down to whole numbers, after rounding away binary noise (19.99 × 100 is
    1998.9999… in floating point, and earns 1999)."""
    return np.floor(np.round(np.asarray(values, dtype="float64"), 6)).astype(np.int64)


def month_index(stamps: pd.Series) -> np.ndarray:
    """The calendar month of each time as a number (year × 12 + month − 1)."""
    stamps = pd.to_datetime(stamps)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).to_numpy(dtype=np.int64)


def day_column(frame: pd.DataFrame, stamp: str) -> str:
    """The column the rows' days are judged on: ``local_at`` (the company's time) when the
    frame has it, else the stored time ``stamp``."""
    return "local_at" if "local_at" in frame else stamp


def _folded(values: pd.Series) -> np.ndarray:
    """Trimmed, case-folded text ("" for none), folding each distinct value once."""
    codes, unique = pd.factorize(values, use_na_sentinel=True)
    folded = pd.Index(unique, dtype=object).astype("string").str.strip().str.casefold()
    table = np.append(folded.fillna("").to_numpy(dtype=object), "")
    return table[codes]  # the sentinel -1 picks the appended ""


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip().casefold()
    return text or None


def folded_texts(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The frame's category and channel, trimmed and case-folded once for every rule."""
    return {column: _folded(frame[column]) for column in ("category", "channel")
            if column in frame}


def rule_matches(rule: dict, frame: pd.DataFrame, *, tier: str = "tier",
                 when: str = "occurred_at", texts: dict | None = None) -> np.ndarray:
    """Which rows of ``frame`` the rule applies to: category, channel (purchase rules),
    tiers, dates, and a member day's weekday or day of month / the birthday month
    (``texts``: :func:`folded_texts` of the frame, when already made)."""
    n = len(frame)
    mask = np.ones(n, dtype=bool)
    if n == 0:
        return mask
    for column in ("category", "channel"):
        wanted = _text(rule.get(column))
        if wanted is not None and column in frame:
            values = texts[column] if texts is not None else _folded(frame[column])
            mask &= values == wanted
    if rule.get("tiers"):
        mask &= frame[tier].isin(list(rule["tiers"])).to_numpy()
    stamps = pd.to_datetime(frame[when])
    days = stamps.dt.normalize()
    if rule.get("starts_on") is not None:
        mask &= (days >= pd.Timestamp(rule["starts_on"])).to_numpy()
    if rule.get("ends_on") is not None:
        mask &= (days <= pd.Timestamp(rule["ends_on"])).to_numpy()
    params = rule.get("params") or {}
    if rule["kind"] == "member_day":
        if params.get("weekday") is not None:
            mask &= (stamps.dt.day_of_week == int(params["weekday"])).to_numpy()
        if params.get("day_of_month") is not None:
            mask &= (stamps.dt.day == int(params["day_of_month"])).to_numpy()
    elif rule["kind"] == "birthday_month":
        mask &= (frame["birthday_month"].to_numpy(dtype="float64")
                 == stamps.dt.month.to_numpy(dtype="float64"))
    return mask


def _ordered(rules: list[dict], kind: str) -> list[dict]:
    return sorted((r for r in rules if r["kind"] == kind), key=lambda r: r["id"])


def purchase_rule(frame: pd.DataFrame, rules: list[dict], *, tier: str = "tier",
                  when: str = "occurred_at",
                  texts: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(rule id, points per ¥)`` of each row's purchase rule (0 and 0.0 where none matches):
    the most specific match, then the most generous, then the oldest."""
    texts = folded_texts(frame) if texts is None else texts
    n = len(frame)
    best_id = np.zeros(n, dtype=np.int64)
    best_rate = np.zeros(n, dtype="float64")
    best_rank = np.full(n, -1.0)
    for rule in _ordered(rules, "purchase"):
        specificity = 2 * (_text(rule.get("category")) is not None) \
            + (_text(rule.get("channel")) is not None)
        rate = float(rule.get("points_per_yuan") or 0.0)
        # Specificity first; the rate breaks ties (rates stay far below 1e6).
        rank = specificity * 1e6 + rate
        better = rule_matches(rule, frame, tier=tier, when=when, texts=texts) \
            & (rank > best_rank)
        best_id[better], best_rate[better], best_rank[better] = rule["id"], rate, rank
    return best_id, best_rate


def _used_before(earned_before: pd.DataFrame | None, rule_id: int, members: np.ndarray,
                 months: np.ndarray) -> np.ndarray:
    if earned_before is None or earned_before.empty:
        return np.zeros(len(members), dtype=np.int64)
    mine = earned_before[earned_before["rule_id"] == rule_id]
    if mine.empty:
        return np.zeros(len(members), dtype=np.int64)
    table = mine.groupby(["member_id", "month"])["points"].sum()
    index = pd.MultiIndex.from_arrays([members, months])
    return table.reindex(index).fillna(0).to_numpy(dtype=np.int64)


def capped(points: np.ndarray, rule: dict, members: np.ndarray, months: np.ndarray,
           earned_before: pd.DataFrame | None = None) -> np.ndarray:
    """``points`` (one rule's, per row) within the rule's caps: per transaction, and per member
    and calendar month counting ``earned_before`` (columns ``member_id, rule_id, month,
    points``) and the rows before in the same member and month."""
    points = np.asarray(points, dtype=np.int64).copy()
    if rule.get("cap_per_transaction") is not None:
        points = np.minimum(points, int(rule["cap_per_transaction"]))
    if rule.get("cap_per_month") is None:
        return points
    rows = np.flatnonzero(points > 0)
    if len(rows) == 0:
        return points
    part = pd.DataFrame({"member": members[rows], "month": months[rows], "p": points[rows]})
    running = part.groupby(["member", "month"], sort=False)["p"].cumsum().to_numpy()
    allowed = np.maximum(int(rule["cap_per_month"])
                         - _used_before(earned_before, rule["id"], members[rows], months[rows]), 0)
    given = np.minimum(running, allowed) - np.minimum(running - part["p"].to_numpy(), allowed)
    points[rows] = given
    return points


def _movements(frame: pd.DataFrame, mask: np.ndarray, points: np.ndarray, *, kind: str,
               rule_id, keys: pd.Series, member=None, response: bool = False,
               base: np.ndarray | None = None) -> pd.DataFrame:
    """The transfers of the rows of ``mask`` given points, earned on the day of their
    :func:`day_column`."""
    keep = mask & (points > 0)
    if not keep.any():
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    rows = frame[keep]
    stamp = "submitted_at" if response else "occurred_at"
    ids = rows["response_id" if response else "transaction_id"].to_numpy(dtype=np.int64)
    rule = np.full(len(rows), np.nan) if rule_id is None else np.full(len(rows), float(rule_id))
    return pd.DataFrame({
        "transaction_id": np.nan if response else ids.astype("float64"),
        "response_id": ids.astype("float64") if response else np.nan,
        "member_id": (rows["member_id"] if member is None else rows[member]).to_numpy(np.int64),
        "kind": kind, "rule_id": rule, "points": points[keep].astype(np.int64),
        "source_key": keys[keep].to_numpy(dtype=object),
        "occurred_at": rows[stamp].to_numpy(),
        "base_points": np.nan if base is None else base[keep].astype("float64"),
        "earned_on": pd.to_datetime(rows[day_column(rows, stamp)]).dt.normalize().to_numpy()},
        columns=MOVEMENT_COLUMNS)


def purchase_points(purchases: pd.DataFrame, rules: list[dict],
                    earned_before: pd.DataFrame | None = None) -> pd.DataFrame:
    """The movements the purchases earn (see the module docstring), one row per transfer.

    ``purchases``: ``transaction_id, member_id, occurred_at, amount, category, channel, tier,
    tier_multiplier, birthday_month`` (1–12 or NaN), ``first`` (the member's first purchase on
    or after joining, with no first-purchase bonus given yet), ``referrer`` and
    ``referrer_tier`` (the member who referred this one, NaN when none or when the referral
    bonus was given), optionally ``local_at`` (see the module docstring). Rows in the order
    the caps count them."""
    frame = purchases.reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    when = day_column(frame, "occurred_at")
    members = frame["member_id"].to_numpy(dtype=np.int64)
    months = month_index(frame[when])
    txn = frame["transaction_id"].astype(np.int64).astype(str)
    out = []
    texts = folded_texts(frame)
    rule_ids, rates = purchase_rule(frame, rules, when=when, texts=texts)
    exact = frame["amount"].to_numpy(dtype="float64") * rates
    base = np.where(rule_ids > 0, whole(exact), 0)
    exact *= np.maximum(frame["tier_multiplier"].fillna(1.0).to_numpy(dtype="float64"), 1.0)
    multipliers = sorted((r for r in rules if r["kind"] in MULTIPLIER_KINDS),
                         key=lambda r: r["id"])
    separate = [r for r in multipliers if _has_cap(r)]
    for rule in multipliers:
        if not _has_cap(rule):
            factor = max(float(rule.get("multiplier") or 1.0), 1.0)
            exact = np.where(rule_matches(rule, frame, when=when, texts=texts), exact * factor,
                             exact)
    total = np.where(rule_ids > 0, whole(exact), 0)
    for rule in _ordered(rules, "purchase"):
        mine = rule_ids == rule["id"]
        if mine.any():
            total[mine] = capped(np.where(mine, total, 0), rule, members, months,
                                 earned_before)[mine]
            out.append(_movements(frame, mine, total, kind="earn", rule_id=rule["id"],
                                  keys="earn:" + txn, base=np.minimum(base, total)))
    exact = np.where(total < whole(exact), total, exact)  # what the caps left
    for rule in separate:
        mask = rule_matches(rule, frame, when=when, texts=texts) & (total > 0)
        factor = max(float(rule.get("multiplier") or 1.0), 1.0)
        if not mask.any() or factor == 1.0:
            continue
        wanted = np.where(mask, whole(exact * factor) - total, 0)
        extra = capped(np.maximum(wanted, 0), rule, members, months, earned_before)
        exact = np.where(mask, np.where(extra < wanted, total + extra, exact * factor), exact)
        total = total + extra
        out.append(_movements(frame, mask, extra, kind="bonus", rule_id=rule["id"],
                              keys=f"bonus:{rule['id']}:" + txn))
    out += _first_bonuses(frame, rules, members, months, earned_before, texts, when)
    out = [part for part in out if not part.empty]
    if not out:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    return pd.concat(out, ignore_index=True)


def _has_cap(rule: dict) -> bool:
    return rule.get("cap_per_transaction") is not None or rule.get("cap_per_month") is not None


def _first_bonuses(frame, rules, members, months, earned_before, texts,
                   when) -> list[pd.DataFrame]:
    out = []
    first = frame["first"].fillna(False).to_numpy(dtype=bool)
    if not first.any():
        return out
    member_text = frame["member_id"].astype(np.int64).astype(str)
    left = first.copy()
    for rule in _ordered(rules, "first_purchase"):
        mask = left & rule_matches(rule, frame, when=when, texts=texts)
        points = capped(np.where(mask, int(rule.get("points") or 0), 0), rule, members, months,
                        earned_before)
        out.append(_movements(frame, mask, points, kind="bonus", rule_id=rule["id"],
                              keys="first:" + member_text))
        left &= ~mask
    referred = first & frame["referrer"].notna().to_numpy()
    if referred.any():
        referrers = frame["referrer"].fillna(0).to_numpy(dtype=np.int64)
        for rule in _ordered(rules, "referral"):
            mask = referred & rule_matches(rule, frame, tier="referrer_tier", when=when,
                                           texts=texts)
            points = capped(np.where(mask, int(rule.get("points") or 0), 0), rule, referrers,
                            months, earned_before)
            out.append(_movements(frame, mask, points, kind="bonus", rule_id=rule["id"],
                                  keys="referral:" + member_text, member="referrer"))
            referred &= ~mask
    return out


def survey_points(responses: pd.DataFrame, rules: list[dict],
                  earned_before: pd.DataFrame | None = None) -> pd.DataFrame:
    """The movements survey responses earn: ``responses`` has ``response_id, member_id,
    submitted_at, tier`` (optionally ``local_at``); each earns the first matching
    ``survey_completed`` rule's points."""
    frame = responses.reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame(columns=MOVEMENT_COLUMNS)
    when = day_column(frame, "submitted_at")
    members = frame["member_id"].to_numpy(dtype=np.int64)
    months = month_index(frame[when])
    keys = "survey:" + frame["response_id"].astype(np.int64).astype(str)
    left = np.ones(len(frame), dtype=bool)
    out = []
    for rule in _ordered(rules, "survey_completed"):
        mask = left & rule_matches(rule, frame, when=when)
        points = capped(np.where(mask, int(rule.get("points") or 0), 0), rule, members, months,
                        earned_before)
        out.append(_movements(frame, mask, points, kind="bonus", rule_id=rule["id"], keys=keys,
                              response=True))
        left &= ~mask
    out = [part for part in out if not part.empty]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=MOVEMENT_COLUMNS)


def refund_points(refunds: pd.DataFrame, rules: list[dict]) -> np.ndarray:
    """Points each refund takes back (see the module docstring). ``refunds``:
    ``amount`` (negative), ``occurred_at, category, channel, tier``, and for a refund naming
    its purchase ``purchase_amount`` and ``purchase_points`` (what it earned in base and
    multiplier points; NaN columns when the refund names no purchase)."""
    frame = refunds.reset_index(drop=True)
    if frame.empty:
        return np.zeros(0, dtype=np.int64)
    refunded = np.abs(frame["amount"].to_numpy(dtype="float64"))
    named = frame["purchase_amount"].notna().to_numpy()
    earned = frame["purchase_points"].fillna(0).to_numpy(dtype="float64")
    pro_rata = np.minimum(whole(earned * _share(frame)), earned.astype(np.int64))
    return np.where(named, pro_rata, _unnamed_points(frame, rules, refunded)).astype(np.int64)


def _share(frame: pd.DataFrame) -> np.ndarray:
    """The share of its purchase's amount each refund returns (1 when it names none)."""
    refunded = np.abs(frame["amount"].to_numpy(dtype="float64"))
    purchase_amount = frame["purchase_amount"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(purchase_amount > 0, np.minimum(refunded / purchase_amount, 1.0), 1.0)


def _unnamed_points(frame: pd.DataFrame, rules: list[dict], refunded: np.ndarray) -> np.ndarray:
    """A refund naming no purchase: the purchase rule's points on the amount refunded."""
    rule_ids, rates = purchase_rule(frame, rules, when=day_column(frame, "occurred_at"))
    base = whole(refunded * rates)
    for rule in _ordered(rules, "purchase"):
        if rule.get("cap_per_transaction") is not None:
            mine = rule_ids == rule["id"]
            base[mine] = np.minimum(base[mine], int(rule["cap_per_transaction"]))
    return base


def refund_base_points(refunds: pd.DataFrame, rules: list[dict]) -> np.ndarray:
    """The base points each refund takes back from what points-based tiers count (see the
    module docstring): for a refund naming its purchase, its share of ``purchase_base`` (the
    base points of the purchase's ``earn`` transfer; NaN, and NaN returned, when it has none),
    else the points it takes back. Floats, NaN for none."""
    frame = refunds.reset_index(drop=True)
    if frame.empty:
        return np.zeros(0, dtype="float64")
    refunded = np.abs(frame["amount"].to_numpy(dtype="float64"))
    named = frame["purchase_amount"].notna().to_numpy()
    purchase_base = (frame["purchase_base"].to_numpy(dtype="float64")
                     if "purchase_base" in frame else np.full(len(frame), np.nan))
    known = ~np.isnan(purchase_base)
    given = np.where(known, purchase_base, 0.0)
    pro_rata = np.minimum(whole(given * _share(frame)), given.astype(np.int64))
    unnamed = _unnamed_points(frame, rules, refunded)
    return np.where(named, np.where(known, pro_rata, np.nan), unnamed).astype("float64")


__all__ = ["MOVEMENT_COLUMNS", "MULTIPLIER_KINDS", "PURCHASE_KINDS", "capped", "day_column",
           "folded_texts",
           "month_index", "purchase_points", "purchase_rule", "refund_base_points",
           "refund_points", "rule_matches", "survey_points", "whole"]
