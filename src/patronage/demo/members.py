"""The demo company's membership programme (issue 13, item 7): who joined and when, and the
programme's planted effect on purchases, with a known truth (:class:`MembersTruth`).

Everything is drawn from one generator seeded from the demo's seed (``spawn_key=(14,)``), so the
same seed gives the same members and purchases. Customers are referred to by external id;
:mod:`patronage.demo.members_install` enrols them, configures the programme and replays its two
years.

**Who joins, and when.** The programme opens on :data:`PROGRAMME_START` with a quiet soft
launch; in March 2025 (:data:`CAMPAIGN_MONTH`) the sales team runs a recruiting campaign; after
it, new customers are offered the card with their first orders. Each month, a customer who has
bought before the month and is not a member yet joins, on a day drawn at random in the month,
with the chance ``logistic(z)``,
``z = JOIN_BASE + boost + JOIN_FREQUENCY·ln(1 + F) + JOIN_MONETARY·ln(1 + M/10,000) −
JOIN_RECENCY·min(R, 365)/180``, where ``F`` and ``M`` are the customer's purchases and net spend
(¥) in the :data:`JOIN_MONTHS` calendar months before the month and ``R`` the days from their
last purchase to the month's first day; ``boost`` is 0 before the campaign,
:data:`JOIN_CAMPAIGN` in its month and :data:`JOIN_AFTER` after it (customers who were on its
list rarely change their mind). A customer acquired since the campaign joins instead with the
chance :data:`NEW_CUSTOMER_CHANCE` in each of their first :data:`NEW_CUSTOMER_MONTHS` months,
whatever they bought. So frequent, recent and big spenders join more often, and a plain
comparison of members with non-members overstates what the programme does; the chance depends
on nothing else (not on whether the customer is still alive, nor on their true purchase rate),
so comparing members with non-members of the same pre-enrolment recency, frequency and spend is
fair. (Most joining happens at one moment: the customers who join in the year after a month are
left out of that month's comparison group, and were they chosen by their purchases of that
year, the comparison would favour the programme.) About one member in ten joins on another
member's referral (from 2024-09); the channel is mostly the customer's own sales channel; a few
decline the programme's messages (consent).

**The planted effect.** From the day a member joins until the day of their last purchase (for a
customer who drops out in the buy-till-you-die process of :mod:`patronage.demo.purchases`) or
the demo's today, they buy :data:`PURCHASE_LIFT` times as often as they would have: extra
purchases arrive as a Poisson process with rate ``(PURCHASE_LIFT − 1)·λ`` per year (λ the
customer's own rate; thinned and shrunk like their other purchases for a key account in latent
switching), with amounts from the customer's own spend distribution, and new external ids. They
change nothing else: dropout still happens at the same purchase of the customer's own process.

**The truth** (per member, in :attr:`MembersTruth.members`) is the expected value the
simulation implies given each member's simulated life — the extra purchases' Poisson mean over
the part of the 12 months after joining that the customer was alive:
``extra_purchases = (PURCHASE_LIFT − 1)·λ·∫ keep(t) dt / 365.25`` over
``[joined_on, min(joined_on + 12 months, end of life, today)]`` (``keep`` is 1, or the latent
switching's thinning), ``extra_spend`` the same integral weighted by the expected amount per
purchase, and ``extra_retention`` the change in the chance of buying at all in months 7 to 12
after joining: ``(1 − exp(−μ₇₋₁₂))`` for a member without a purchase of their own there, else
0. :meth:`MembersTruth.effect` averages them over any set of members, and
:meth:`MembersTruth.expected` gives them for any window per member (an analysis's own
post-period); ``planted_purchases``/``planted_spend`` are the extra purchases actually drawn.

Also generated: links from refunds to the purchase they refund (``transactions.refund_of``,
for most refunds: the rest come without one, as from a till that does not record it), the
members' wishes to redeem (moments and a preference; whether they can afford a reward is decided
by the installer from their balance), cancellations and manual adjustments with reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from patronage.demo.purchases import CATEGORIES, CATEGORY_SHARES, PRODUCTS, SPEND_SHAPE

PROGRAMME_START = date(2024, 7, 1)
#: Members buy this many times as often after joining (the planted effect).
PURCHASE_LIFT = 1.2
#: The monthly chance of joining: logistic(JOIN_BASE + … ) (see the module docstring).
JOIN_BASE, JOIN_FREQUENCY, JOIN_MONETARY, JOIN_RECENCY = -5.0, 0.4, 0.2, 0.6
#: The calendar months before a month whose purchases and spend the chance of joining reads.
JOIN_MONTHS = 6
#: The sales team's recruiting campaign: in its month ``JOIN_CAMPAIGN`` is added to ``z``; after
#: it, customers who had been on its list join rarely (``JOIN_AFTER`` added), and new customers
#: are offered the card with their first orders: each month of their first three, they join
#: with the chance ``NEW_CUSTOMER_CHANCE`` whatever they bought.
CAMPAIGN_MONTH = date(2025, 3, 1)
JOIN_CAMPAIGN, JOIN_AFTER = 3.5, -3.0
NEW_CUSTOMER_MONTHS, NEW_CUSTOMER_CHANCE = 3, 0.1
REFERRAL_SHARE = 0.1
REFERRALS_FROM = date(2024, 9, 1)
CONSENT_SHARE = 0.94
#: Share of the demo's refunds that name the purchase they refund.
LINKED_REFUNDS = 0.85
#: A member wants to redeem this many times a year (if their points allow).
WISHES_PER_YEAR = 0.6
CANCEL_SHARE = 0.06
CANCEL_REASONS = ("客户改选其他礼品", "收货地址有误，客户要求取消", "重复兑换，客户要求退回积分")
#: (reason, lowest points, highest points, sign).
ADJUSTMENTS = (
    ("补录线下订单积分（门店系统故障期间的订单）", 300, 3000, 1),
    ("展会现场签约活动积分补发", 500, 2000, 1),
    ("客户投诉处理：积分补偿", 500, 1500, 1),
    ("重复入账积分冲正", 200, 1500, -1),
)
ADJUSTMENT_COUNT = 24
_DAY = pd.Timedelta(days=1)
_YEAR = 365.25


@dataclass(frozen=True)
class MembersTruth:
    """What the membership history was generated from (see the module docstring).

    ``members`` is indexed by the customer's external id with ``joined_on``, the member's
    extra purchase rate ``rate`` (per day), ``mean_spend`` (¥ per purchase), ``alive_until``
    (when the customer's own process ends: the day of their last purchase if they dropped out,
    else the end of the demo's today), ``declining`` (a key account in latent switching), and
    for the 12 months after joining: ``full_year`` (they end by the demo's today),
    ``extra_purchases``, ``extra_spend``, ``extra_retention`` (the expected effect) and
    ``planted_purchases``/``planted_spend`` (the extra purchases drawn there).
    ``switching_from``: when the latent switching's decline starts.
    """

    purchase_lift: float
    programme_start: date
    members: pd.DataFrame
    switching_from: pd.Timestamp
    join_model: dict = field(default_factory=dict)

    def effect(self, customers=None, *, full_year_only: bool = True) -> dict[str, float]:
        """The average effect per member on purchases, spend (¥) and the chance of buying in
        months 7–12 after joining, over ``customers`` (external ids; default: every member
        whose 12 months after joining are over), and the number of members ``n``."""
        rows = self.members
        if customers is not None:
            rows = rows.loc[pd.Index(customers)]
        if full_year_only:
            rows = rows[rows["full_year"]]
        return {"purchases": float(rows["extra_purchases"].mean()),
                "spend": float(rows["extra_spend"].mean()),
                "retention": float(rows["extra_retention"].mean()), "n": int(len(rows))}

    def expected(self, customers, begin, end) -> pd.DataFrame:
        """Per member (external ids, repeats allowed) and window ``[begin, end)`` (times, one
        per member or one for all): the expected extra ``purchases`` and ``spend`` (¥) the
        programme brought in the window, and ``chance`` that it brought at least one (the
        effect on buying at all there, for a member without a purchase of their own)."""
        rows = self.members.loc[pd.Index(customers)]
        origin = pd.Timestamp(self.programme_start)

        def days(values):
            return np.broadcast_to(((pd.to_datetime(values) - origin) / _DAY), (len(rows),))

        a = np.maximum(days(begin), days(rows["joined_on"]))
        b = np.minimum(days(end), days(rows["alive_until"]))
        switch = (self.switching_from - origin) / _DAY
        declining = rows["declining"].to_numpy(bool)
        rate = rows["rate"].to_numpy()
        purchases = rate * _kept(a, b, declining, switch, spend=False)
        spend = rate * rows["mean_spend"].to_numpy() * _kept(a, b, declining, switch, spend=True)
        return pd.DataFrame({"purchases": purchases, "spend": spend,
                             "chance": 1 - np.exp(-purchases)}, index=rows.index)


@dataclass(frozen=True)
class DemoMembers:
    """The programme's frames.

    ``members``: ``customer_id`` (external id), ``joined_on``, ``channel``, ``consent``,
    ``referred_by`` (the referrer's external id or None), in joining order;
    ``purchases``: the planted extra purchases (already among the company's transactions);
    ``wishes``: ``customer_id``, ``at``, ``pick`` (0–1: which of the rewards they can afford),
    ``cancel_at`` (NaT unless the redemption is cancelled), ``cancel_reason``;
    ``adjustments``: ``customer_id``, ``at``, ``points`` (signed), ``reason``.
    """

    members: pd.DataFrame
    purchases: pd.DataFrame
    wishes: pd.DataFrame
    adjustments: pd.DataFrame
    truth: MembersTruth
    today: date = date(2026, 6, 30)


class _History:
    """Rows of a transactions frame per customer in time order, to count them, sum their
    amounts and find the last one before any day, at once for every customer."""

    def __init__(self, ids: np.ndarray, rows: pd.DataFrame, origin: pd.Timestamp):
        code = pd.Categorical(rows["customer_id"], categories=ids).codes.astype(np.int64)
        days = ((rows["occurred_at"] - origin) / _DAY).to_numpy()
        order = np.lexsort((days, code))
        self.days = days[order]
        self.span = float(np.ceil(max(np.abs(days).max(), 1.0)) * 4 + 1000)
        self.key = code[order] * self.span + self.days
        self.cum = np.concatenate([[0.0], np.cumsum(rows["amount"].to_numpy(float)[order])])
        self.first = np.searchsorted(code[order], np.arange(len(ids)))
        self.ids = ids

    def _position(self, customers, day) -> np.ndarray:
        code = (np.arange(len(self.ids)) if customers is None
                else pd.Categorical(customers, categories=self.ids).codes)
        return np.searchsorted(self.key, code * self.span + day, side="left"), code

    def count(self, customers, begin, end) -> np.ndarray:
        """Rows of ``customers`` (external ids; None: every customer) in [begin, end)."""
        return self._position(customers, end)[0] - self._position(customers, begin)[0]

    def total(self, begin, end) -> np.ndarray:
        """Every customer's sum of amounts in [begin, end)."""
        return self.cum[self._position(None, end)[0]] - self.cum[self._position(None, begin)[0]]

    def since_last(self, day) -> np.ndarray:
        """Every customer's whole days from their last row before ``day`` (a day start) to it
        (NaN: none)."""
        end, code = self._position(None, day)
        last = self.days[np.maximum(end - 1, 0)]
        return np.where(end > self.first[code], day - np.floor(last), np.nan)


def join_chance(recency, frequency, monetary, boost: float = 0.0) -> np.ndarray:
    """The monthly chance of joining given recency (days), purchases and net spend (¥) in the
    :data:`JOIN_MONTHS` calendar months before (the planted selection; see the module
    docstring); ``boost`` is added in the campaign's month."""
    recency = np.minimum(np.nan_to_num(np.asarray(recency, dtype=float), nan=365.0), 365.0)
    z = (JOIN_BASE + boost + JOIN_FREQUENCY * np.log1p(frequency)
         + JOIN_MONETARY * np.log1p(np.maximum(monetary, 0.0) / 10_000)
         - JOIN_RECENCY * recency / 180)
    return 1 / (1 + np.exp(-z))


def month_starts(start: date, today: date) -> list[date]:
    months, day = [], start
    while day <= today:
        months.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return months


def _enrol(rng, ids, acquired, transactions, origin, today):
    """Join day (days since ``origin``, whole days; NaN: never) per customer."""
    n = len(ids)
    buys = _History(ids, transactions[~transactions["is_refund"]], origin)
    net = _History(ids, transactions, origin)
    joined = np.full(n, np.nan)
    for month in month_starts(PROGRAMME_START, today):
        start = pd.Timestamp(month)
        first = (start - origin) / _DAY
        begin = (start - pd.DateOffset(months=JOIN_MONTHS) - origin) / _DAY
        length = min((start + pd.DateOffset(months=1)).date() - month,
                     today + timedelta(days=1) - month).days
        day = first + np.floor(rng.random(n) * length)
        accept = rng.random(n)
        open_ = np.isnan(joined) & (acquired < first)
        boost = (0.0 if month < CAMPAIGN_MONTH
                 else JOIN_CAMPAIGN if month == CAMPAIGN_MONTH else JOIN_AFTER)
        chance = join_chance(buys.since_last(first), buys.count(None, begin, first),
                             net.total(begin, first), boost)
        if month > CAMPAIGN_MONTH:
            recent = (start - pd.DateOffset(months=NEW_CUSTOMER_MONTHS) - origin) / _DAY
            campaign = (pd.Timestamp(CAMPAIGN_MONTH) - origin) / _DAY
            chance = np.where(acquired >= max(recent, campaign), NEW_CUSTOMER_CHANCE, chance)
        chosen = open_ & (accept < chance)
        joined[chosen] = day[chosen]
    return joined, buys


def _members_frame(rng, customers, joined, origin) -> pd.DataFrame:
    ids = customers["external_id"].to_numpy()
    take = ~np.isnan(joined)
    order = np.lexsort((ids[take], joined[take]))
    ext, day = ids[take][order], joined[take][order]
    on = (origin + pd.to_timedelta(day, unit="D"))
    channel_of = customers.set_index("external_id")["channel"]
    own = channel_of.loc[ext].to_numpy(dtype=object)
    other = np.asarray(("direct", "distributor", "online"), dtype=object)[
        rng.integers(0, 3, size=len(ext))]
    channel = np.where(rng.random(len(ext)) < 0.8, own, other)
    consent = rng.random(len(ext)) < CONSENT_SHARE
    referred = np.full(len(ext), None, dtype=object)
    refer = (rng.random(len(ext)) < REFERRAL_SHARE) & (on >= pd.Timestamp(REFERRALS_FROM))
    pick = rng.random(len(ext))
    for i in np.flatnonzero(refer):
        earlier = np.flatnonzero(day <= day[i] - 7)
        if earlier.size:
            referred[i] = ext[earlier[int(pick[i] * earlier.size)]]
    return pd.DataFrame({"customer_id": ext, "joined_on": on.date, "channel": channel,
                         "consent": consent, "referred_by": referred, "day": day})


def _ramp(x: np.ndarray, s: float, power: int) -> np.ndarray:
    """∫₀ˣ g(t)^power dt for the latent switching's ramp g = clip((t − s)/365, 0, 1)."""
    inside = np.clip(x - s, 0.0, 365.0)
    return 365.0 * (inside / 365.0) ** (power + 1) / (power + 1) + np.maximum(x - s - 365.0, 0.0)


def _kept(a, b, declining, s, spend: bool) -> np.ndarray:
    """∫ₐᵇ of the latent switching's share of purchases kept (times its share of spend when
    ``spend``) for declining accounts, else the length ``b − a`` (0 when ``b <= a``)."""
    b = np.maximum(a, b)
    if spend:  # (1 − 0.6 g)(1 − 0.4 g) = 1 − g + 0.24 g²
        ramp = (_ramp(b, s, 1) - _ramp(a, s, 1)) - 0.24 * (_ramp(b, s, 2) - _ramp(a, s, 2))
    else:
        ramp = 0.6 * (_ramp(b, s, 1) - _ramp(a, s, 1))
    return np.where(declining, (b - a) - ramp, b - a)


def _switch_share(t: np.ndarray, s: float) -> np.ndarray:
    return np.clip((t - s) / 365.0, 0.0, 1.0)


def _extra_purchases(rng, frame, params, customers, origin, end_day, switch_start, number):
    """The planted extra purchases of the members, and each member's alive span."""
    p = params.loc[frame["customer_id"]]
    lam = p["lambda"].to_numpy()
    declining = p["declining_key_account"].to_numpy(dtype=bool)
    dropped = ~p["alive"].to_numpy(dtype=bool)
    last = ((pd.to_datetime(p["defected_at"]) - origin) / _DAY).to_numpy()
    alive_end = np.where(dropped, np.floor(np.nan_to_num(last, nan=end_day)), end_day)
    a = frame["day"].to_numpy()
    span = np.maximum(alive_end - a, 0.0)
    rate = (PURCHASE_LIFT - 1) * lam / _YEAR
    count = rng.poisson(rate * span)
    owner = np.repeat(np.arange(len(frame)), count)
    t = a[owner] + rng.random(owner.size) * span[owner]
    share = _switch_share(t, switch_start)
    keep = ~declining[owner] | (rng.random(owner.size) < 1 - 0.6 * share)
    amount = (rng.gamma(SPEND_SHAPE, 1.0, size=owner.size)
              * p["mean_spend"].to_numpy()[owner] / SPEND_SHAPE
              * np.where(declining[owner], 1 - 0.4 * share, 1.0))
    owner, t, amount = owner[keep], t[keep], amount[keep]
    m = owner.size
    whole = np.floor(t)
    at = origin + pd.to_timedelta(np.round((whole + (8 + 10 * (t - whole)) / 24) * 86400), unit="s")
    category = np.asarray(CATEGORIES, dtype=object)[
        rng.choice(len(CATEGORIES), size=m, p=np.asarray(CATEGORY_SHARES))]
    product = [PRODUCTS[c][int(u * len(PRODUCTS[c]))] for c, u in zip(category, rng.random(m))]
    ext = frame["customer_id"].to_numpy()[owner]
    own_channel = customers.set_index("external_id")["channel"].loc[ext].to_numpy(dtype=object)
    channel = np.where(rng.random(m) < 0.85, own_channel, "online").astype(object)
    amount = np.round(amount, 2)
    purchases = pd.DataFrame({
        "external_id": [f"T{number + i:07d}" for i in range(1, m + 1)],
        "customer_id": ext, "occurred_at": at.to_numpy(), "amount": amount,
        "cost": np.round(amount * rng.uniform(0.6, 0.75, size=m), 2), "product": product,
        "category": category, "channel": channel, "is_refund": np.zeros(m, dtype=bool)})
    return purchases, owner, t, alive_end, rate, declining


def _truth(frame, params, purchases, owner, t, alive_end, rate, declining, history,
           origin, end_day, switching_from) -> MembersTruth:
    joined = pd.to_datetime(frame["joined_on"])
    rows = pd.DataFrame({
        "joined_on": frame["joined_on"].to_numpy(), "rate": rate,
        "mean_spend": params.loc[frame["customer_id"], "mean_spend"].to_numpy(),
        "alive_until": (origin + pd.to_timedelta(alive_end, unit="D")).to_numpy(),
        "declining": declining}, index=pd.Index(frame["customer_id"].to_numpy(),
                                                name="external_id"))
    truth = MembersTruth(
        purchase_lift=PURCHASE_LIFT, programme_start=PROGRAMME_START, members=rows,
        switching_from=switching_from,
        join_model={"base": JOIN_BASE, "frequency": JOIN_FREQUENCY, "monetary": JOIN_MONETARY,
                    "recency": JOIN_RECENCY, "months": JOIN_MONTHS,
                    "campaign_month": CAMPAIGN_MONTH, "campaign": JOIN_CAMPAIGN,
                    "after": JOIN_AFTER, "new_customer_chance": NEW_CUSTOMER_CHANCE,
                    "new_customer_months": NEW_CUSTOMER_MONTHS})
    month6, month12 = joined + pd.DateOffset(months=6), joined + pd.DateOffset(months=12)
    year = truth.expected(rows.index, joined.to_numpy(), month12.to_numpy())
    late = truth.expected(rows.index, month6.to_numpy(), month12.to_numpy())
    month6_day = ((month6 - origin) / _DAY).to_numpy()
    month12_day = ((month12 - origin) / _DAY).to_numpy()
    own_late = history.count(frame["customer_id"], month6_day, month12_day)
    inside = t < month12_day[owner]
    rows["full_year"] = month12_day <= end_day
    rows["extra_purchases"] = year["purchases"].to_numpy()
    rows["extra_spend"] = year["spend"].to_numpy()
    rows["extra_retention"] = np.where(own_late == 0, late["chance"].to_numpy(), 0.0)
    rows["planted_purchases"] = np.bincount(owner[inside], minlength=len(frame))
    rows["planted_spend"] = np.bincount(owner[inside],
                                        weights=purchases["amount"].to_numpy()[inside],
                                        minlength=len(frame))
    return truth


def _link_refunds(rng, transactions: pd.DataFrame) -> pd.Series:
    """``refund_of`` per transaction: the external id of the purchase a refund refunds (the
    demo's refunds repeat their purchase's customer, product, category and channel a whole
    number of days later), for :data:`LINKED_REFUNDS` of the refunds; None otherwise."""
    keys = ["customer_id", "product", "category", "channel"]
    refunds = transactions.loc[transactions["is_refund"], ["external_id", *keys, "occurred_at",
                                                             "amount"]]
    buys = transactions.loc[~transactions["is_refund"], ["external_id", *keys, "occurred_at",
                                                          "amount"]]
    pairs = refunds.merge(buys, on=keys, suffixes=("", "_of"))
    lag = (pairs["occurred_at"] - pairs["occurred_at_of"]) / pd.Timedelta(seconds=1)
    days = lag / 86400
    fits = ((lag % 86400 == 0) & days.between(2, 39)
            & (-pairs["amount"] <= pairs["amount_of"] + 0.005))
    found = pairs[fits].drop_duplicates("external_id").set_index("external_id")["external_id_of"]
    found = found[~found.duplicated()]
    chosen = refunds["external_id"][rng.random(len(refunds)) < LINKED_REFUNDS]
    links = found.reindex(chosen.to_numpy()).dropna()
    out = transactions["external_id"].map(links)
    return out.astype(object).where(out.notna(), None)


def _wishes(rng, frame, origin, end_day) -> pd.DataFrame:
    a = frame["day"].to_numpy()
    span = np.maximum(end_day - a, 0.0)
    count = rng.poisson(WISHES_PER_YEAR * span / _YEAR)
    owner = np.repeat(np.arange(len(frame)), count)
    t = a[owner] + 1 + rng.random(owner.size) * np.maximum(span[owner] - 1, 0.0)
    whole = np.floor(t)
    at = origin + pd.to_timedelta(np.round((whole + (9 + 9 * (t - whole)) / 24) * 86400), unit="s")
    cancel = rng.random(owner.size) < CANCEL_SHARE
    cancel_at = at + pd.to_timedelta(rng.integers(1, 10, size=owner.size), unit="D")
    cancel &= (((cancel_at - origin) / _DAY).to_numpy() < end_day)
    reasons = np.asarray(CANCEL_REASONS, dtype=object)[
        rng.integers(0, len(CANCEL_REASONS), size=owner.size)]
    wishes = pd.DataFrame({
        "customer_id": frame["customer_id"].to_numpy()[owner], "at": at,
        "pick": rng.random(owner.size), "cancel_at": cancel_at.where(cancel, pd.NaT),
        "cancel_reason": np.where(cancel, reasons, None)})
    return wishes.sort_values(["at", "customer_id"], kind="stable", ignore_index=True)


def _adjustments(rng, frame, origin, end_day) -> pd.DataFrame:
    chosen = rng.choice(len(frame), size=min(ADJUSTMENT_COUNT, len(frame)), replace=False)
    a = frame["day"].to_numpy()[chosen]
    t = a + 30 + rng.random(chosen.size) * np.maximum(end_day - a - 30, 0.0)
    whole = np.floor(t)
    at = origin + pd.to_timedelta(np.round((whole + (10 + 7 * (t - whole)) / 24) * 86400), unit="s")
    kind = rng.integers(0, len(ADJUSTMENTS), size=chosen.size)
    points = [ADJUSTMENTS[k][3] * int(rng.integers(ADJUSTMENTS[k][1], ADJUSTMENTS[k][2] + 1) // 10
                                      * 10) for k in kind]
    frame_ = pd.DataFrame({"customer_id": frame["customer_id"].to_numpy()[chosen], "at": at,
                           "points": points, "reason": [ADJUSTMENTS[k][0] for k in kind]})
    return frame_[(t < end_day)].sort_values("at", ignore_index=True)


def generate_members(seed: int, customers: pd.DataFrame, params: pd.DataFrame,
                     transactions: pd.DataFrame, today: date) -> tuple[DemoMembers, pd.DataFrame]:
    """The programme's frames, and the company's transactions with the planted purchases added
    and ``refund_of`` filled (sorted by time)."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(14,)))
    origin = pd.Timestamp(PROGRAMME_START)
    end_day = ((pd.Timestamp(today) + _DAY) - origin) / _DAY
    switch_start = end_day - 365.0  # the latent switching's year (see demo.purchases)
    ids = customers["external_id"].to_numpy()
    acquired = ((pd.to_datetime(params.loc[ids, "acquired_at"]) - origin) / _DAY).to_numpy()
    joined, history = _enrol(rng, ids, acquired, transactions, origin, today)
    frame = _members_frame(rng, customers, joined, origin)
    number = int(transactions["external_id"].str[1:].astype(int).max())
    purchases, owner, t, alive_end, rate, declining = _extra_purchases(
        rng, frame, params, customers, origin, end_day, switch_start, number)
    truth = _truth(frame, params, purchases, owner, t, alive_end, rate, declining, history,
                   origin, end_day, origin + pd.to_timedelta(switch_start, unit="D"))
    refund_of = _link_refunds(rng, transactions)
    wishes = _wishes(rng, frame, origin, end_day)
    adjustments = _adjustments(rng, frame, origin, end_day)
    combined = pd.concat([transactions.assign(refund_of=refund_of.to_numpy()),
                          purchases.assign(refund_of=None)], ignore_index=True)
    combined = combined.sort_values(["occurred_at", "external_id"], kind="stable",
                                    ignore_index=True)
    demo = DemoMembers(members=frame.drop(columns="day"), purchases=purchases, wishes=wishes,
                       adjustments=adjustments, truth=truth, today=today)
    return demo, combined


__all__ = ["DemoMembers", "MembersTruth", "PROGRAMME_START", "PURCHASE_LIFT", "month_starts",
           "generate_members", "join_chance"]
