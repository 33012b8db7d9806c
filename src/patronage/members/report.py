"""The programme's analytics over the stored data: reads → :mod:`patronage.analytics.programme`,
:mod:`~patronage.analytics.incrementality` and :mod:`~patronage.analytics.loyalty_types`, for the
programme report page and ``patronage analyze programme | programme-effect | loyalty-types``.

A period ends by default on the last day the data reach (the latest purchase or movement of
points), so an imported history or the demo opens on its own last year, and starts 12 months
before. The cost per point and the months that make a member active come from the programme's
policy. A member is *active* in a month when they bought, earned points or redeemed a reward in
the ``active_months`` months up to it (:data:`OWN_MOVEMENTS`): points that only expired, or
that staff adjusted, say nothing of the member. It is not the membership's status (current or
closed), which the member list counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine

from patronage.analytics.incrementality import (
    NoComparison,
    ProgrammeEffect,
    programme_effect,
)
from patronage.analytics.loyalty_types import classify_loyalty, loyalty_features, loyalty_summary
from patronage.analytics.programme import (
    breakage,
    liability,
    member_months,
    monthly_flows,
    redemption_rate,
    tier_migration,
)
from patronage.members.programme import Policy, Tier, add_months, load_policy, load_tiers
from patronage.messages import N_, UserError
from patronage.storage import read_answers, read_responses, read_transactions
from patronage.storage.reads_members import (
    read_customer_flags,
    read_members,
    read_point_transfers,
    read_tier_changes,
)

#: Survey items the loyalty types read (the index system's codes).
ATTITUDE_ITEMS = ("overall_satisfaction", "nps", "trust")
#: Customer attributes (the extra columns of a customers file) the loyalty types read, with the
#: names a file may give them.
FLAG_ATTRIBUTES = {
    "few_alternatives": ("few_alternatives", "sole_supplier", "monopoly", "替代选择少",
                         "替代選擇少", "唯一供应商", "唯一供應商"),
    "affinity": ("affinity", "kinship", "relationship", "亲缘", "親緣", "关系客户", "關係客戶"),
    "share_of_wallet": ("share_of_wallet", "钱包份额", "錢包份額"),
}
_YES = {"1", "true", "yes", "y", "是", "对", "對", "有", "x", "✓"}
#: Fewer members than this behind a figure: the page warns that it rests on a small sample.
SMALL_N = 30


@dataclass(frozen=True)
class ProgrammeData:
    """What the programme's analytics read, read once (see :func:`load_data`); the functions
    below take it to spare a page reading the same tables three times. Not to be modified."""

    members: pd.DataFrame
    transfers: pd.DataFrame
    transactions: pd.DataFrame
    tier_changes: pd.DataFrame
    customers: pd.DataFrame


def load_data(engine: Engine) -> ProgrammeData:
    """Members, transfers, purchases, tier history and customers' attributes."""
    return ProgrammeData(read_members(engine), read_point_transfers(engine),
                         read_transactions(engine), read_tier_changes(engine),
                         read_customer_flags(engine))


@dataclass
class ProgrammeFigures:
    """The programme's figures for a period (see :func:`programme_figures`)."""

    since: date
    until: date
    monthly: pd.DataFrame
    headline: dict
    redemption: dict
    breakage: dict
    liability: dict
    migration: pd.DataFrame
    migration_shares: pd.DataFrame
    tiers: list[Tier]
    policy: Policy


def _day(value) -> date | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date()


def _period(since: date | None, until: date | None, data_end: date | None) -> tuple[date, date]:
    until = until or data_end or date.today()
    since = since or add_months(until, -12) + timedelta(days=1)
    if since > until:
        raise UserError(N_("The period starts on {since}, after its end {until}; give a start "
                           "before the end."), since=since.isoformat(), until=until.isoformat())
    return since, until


#: Movements of points a member makes (with their purchases, what makes them active).
OWN_MOVEMENTS = ("earn", "bonus", "redeem")


def _data_end(*frames: tuple[pd.DataFrame, str]) -> date | None:
    ends = [frame[column].max() for frame, column in frames if len(frame)]
    ends = [e for e in ends if not pd.isna(e)]
    return pd.Timestamp(max(ends)).date() if ends else None


def _policy_and_tiers(engine: Engine) -> tuple[Policy, list[Tier]]:
    with engine.connect() as conn:
        return load_policy(conn), load_tiers(conn, active_only=False)


def programme_figures(engine: Engine, *, since: date | None = None, until: date | None = None,
                      data: ProgrammeData | None = None) -> ProgrammeFigures:
    """Members, earn and burn per month (from the first enrolment), the redemption rate,
    breakage, liability and the tier migration over ``since`` … ``until``."""
    policy, tiers = _policy_and_tiers(engine)
    data = data or load_data(engine)
    people, transfers, sales = data.members, data.transfers, data.transactions
    since, until = _period(since, until, _data_end((transfers, "occurred_at"),
                                                   (sales, "occurred_at")))
    if people.empty:
        raise UserError(N_("The programme has no members yet: enrol customers first "
                           "(patronage members enroll)."))
    # Everything as it stood at the end of ``until`` (a later day of its month is not seen).
    cut = pd.Timestamp(until) + pd.Timedelta(days=1)
    people = people.loc[people["joined_on"] < cut]
    people = people.assign(closed_on=people["closed_on"].where(people["closed_on"] < cut))
    if people.empty:
        raise UserError(N_("No member had joined by {day}."), day=until.isoformat())
    transfers = transfers.loc[transfers["occurred_at"] < cut]
    sales = sales.loc[sales["occurred_at"] < cut]
    start = min(people["joined_on"].min().date(), since)
    monthly = monthly_flows(transfers, start=start, end=until)
    members_of = people.set_index("customer_id")["member_id"]
    bought = sales.loc[sales["customer_id"].isin(members_of.index)]
    activity = pd.concat([
        transfers.loc[transfers["kind"].isin(OWN_MOVEMENTS), ["member_id", "occurred_at"]],
        pd.DataFrame({"member_id": members_of.reindex(bought["customer_id"]).to_numpy(),
                      "occurred_at": bought["occurred_at"].to_numpy()})], ignore_index=True)
    counts = member_months(people, activity, start=start, end=until,
                           active_months=policy.active_months)
    monthly = counts.join(monthly, how="left").fillna(0.0)
    redeemed = redemption_rate(people, transfers, start=since, end=until)
    broken = breakage(transfers, as_of=until)
    last = monthly.iloc[-1]
    owed = liability(max(float(last["outstanding"]), 0.0), policy.cost_per_point,
                     broken["rate"], broken["low"], broken["high"])
    order = [t.code for t in sorted(tiers, key=lambda t: t.rank)]
    moved, shares = tier_migration(people, data.tier_changes, start=since, end=until,
                                   order=order)
    headline = {"members": int(last["members"]), "active": int(last["active"]),
                "active_share": last["active"] / last["members"] if last["members"] else math.nan,
                "outstanding": float(last["outstanding"]), "owed": float(last["owed"]),
                "joined": int(((people["joined_on"] >= pd.Timestamp(since))
                               & (people["joined_on"] <= pd.Timestamp(until))).sum())}
    return ProgrammeFigures(since, until, monthly, headline, redeemed, broken, owed, moved,
                            shares, tiers, policy)


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    value = float(value)
    if value.is_integer():
        return int(value)
    return round(value, 4) if abs(value) < 10 else round(value, 2)


def summary_table(figures: ProgrammeFigures) -> pd.DataFrame:
    """The headline figures as a table (``figure`` → ``value, low, high, n``) for the CLI."""
    h, r, b, li = figures.headline, figures.redemption, figures.breakage, figures.liability
    nan = math.nan
    rows = [("members", h["members"], nan, nan, nan),
            (f"active_in_{figures.policy.active_months}_months", h["active"], nan, nan,
             h["members"]),
            ("joined_in_period", h["joined"], nan, nan, nan),
            ("points_issued", r["issued"], nan, nan, nan),
            ("points_redeemed", r["redeemed"], nan, nan, nan),
            ("burn_ratio", r["burn_ratio"], nan, nan, nan),
            ("redemption_rate", r["rate"], r["low"], r["high"], r["n"]),
            ("outstanding_points", h["outstanding"], nan, nan, nan),
            ("owed_points", h["owed"], nan, nan, nan),
            ("breakage", b["rate"], b["low"], b["high"], b["members"]),
            ("liability_gross", li["gross"], nan, nan, nan),
            ("liability_net", li["net"], li["net_low"], li["net_high"], b["members"])]
    table = pd.DataFrame(rows, columns=["figure", "value", "low", "high", "n"]).set_index(
        "figure")
    # Whole numbers stay whole and shares keep four decimals (a table of mixed sizes would
    # otherwise print in scientific notation).
    for column in ("value", "low", "high"):
        table[column] = pd.array([_plain(v) for v in table[column]], dtype=object)
    table.attrs["notes"] = [
        f"period {figures.since} to {figures.until}; cost per point ¥{li['cost_per_point']:g}",
        "breakage: share of matured points (expiry date passed) that expired rather than were "
        "redeemed; delta-method interval over members",
        f"members: memberships current (not closed) at the period's end; active: of them, those "
        f"who bought, earned points or redeemed in the last {figures.policy.active_months} "
        "months"]
    table.attrs["about"] = {"since": figures.since.isoformat(),
                            "until": figures.until.isoformat(),
                            "cost_per_point": li["cost_per_point"]}
    return table


def programme_effect_of(engine: Engine, *, until: date | None = None, matches: int = 1,
                        caliper: float | None = 0.5, pre_months: int | None = None,
                        data: ProgrammeData | None = None) -> ProgrammeEffect:
    """The programme's effect on members' spend, purchases and retention (see
    :func:`patronage.analytics.incrementality.programme_effect`) up to ``until`` (default: the
    last purchase), comparing the ``pre_months`` before joining (default: 12, or fewer when
    the history is too short for enough members)."""
    data = data or load_data(engine)
    people, sales = data.members, data.transactions
    if people.empty:
        raise UserError(N_("The programme has no members yet: enrol customers first "
                           "(patronage members enroll)."))
    if sales.empty:
        raise UserError(N_("There are no purchases to compare members with non-members."))
    try:
        return programme_effect(sales, people[["customer_id", "joined_on"]],
                                observed_until=until, matches=matches, caliper=caliper,
                                pre_months=pre_months)
    except NoComparison:
        raise UserError(N_("No member has purchases in the months before joining and 12 full "
                           "months after it, with a comparable non-member: the programme's "
                           "effect cannot be estimated yet.")) from None


def _flag(value) -> bool | float:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    return str(value).strip().lower() in _YES


def _share(value) -> float:
    try:
        share = float(str(value).strip().rstrip("%"))
    except (TypeError, ValueError):
        return math.nan
    return share / 100 if share > 1 or str(value).strip().endswith("%") else share


def _flags(customers: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=pd.Index(customers["customer_id"], name="customer_id"))
    for column, names in FLAG_ATTRIBUTES.items():
        convert = _share if column == "share_of_wallet" else _flag
        values = []
        for attributes in customers["attributes"]:
            found = next((attributes[n] for n in names if n in attributes), None)
            values.append(convert(found) if found is not None else math.nan)
        out[column] = values
    return out


def loyalty_types(engine: Engine, *, as_of: date | None = None, thresholds: dict | None = None,
                  data: ProgrammeData | None = None) -> pd.DataFrame:
    """Every customer with a purchase, an answer or a flag, classified (see
    :mod:`patronage.analytics.loyalty_types`): the features, ``loyalty_type``,
    ``customer_pk`` and ``name``, indexed by the customer's id."""
    data = data or load_data(engine)
    sales, transfers, people = data.transactions, data.transfers, data.members
    as_of = as_of or _data_end((sales, "occurred_at")) or date.today()
    kind = transfers["kind"].astype(object)
    rule = transfers["rule_kind"].astype(object)
    bonus = transfers.loc[(kind == "bonus") | rule.isin(("member_day", "birthday_month")),
                          "transaction_ref"].dropna()
    customer_of = people.set_index("member_id")["customer_id"]
    redeemed = transfers.loc[kind == "redeem"]
    cancelled = set(transfers.loc[kind == "cancel", "redemption_id"].dropna())
    redeemed = redeemed.loc[~redeemed["redemption_id"].isin(cancelled)]
    redemptions = pd.DataFrame({
        "customer_id": customer_of.reindex(redeemed["member_id"]).to_numpy(),
        "occurred_at": redeemed["occurred_at"].to_numpy()})
    responses = read_responses(engine)[["response_pk", "customer_id", "submitted_at"]]
    answers = read_answers(engine, item_codes=ATTITUDE_ITEMS).merge(responses, on="response_pk")
    answers = answers.dropna(subset=["customer_id"]).rename(columns={"value_num": "value"})
    features = loyalty_features(sales, as_of=as_of, bonus_transactions=set(bonus),
                                redemptions=redemptions, answers=answers,
                                flags=_flags(data.customers))
    classified = classify_loyalty(features, thresholds=thresholds)
    names = data.customers.set_index("customer_id")
    classified["customer_pk"] = names["customer_pk"].reindex(classified.index).to_numpy()
    classified["name"] = names["name"].reindex(classified.index).to_numpy()
    classified["member"] = classified.index.isin(people["customer_id"])
    classified.attrs["as_of"] = as_of
    return classified


def loyalty_type_table(engine: Engine, *, as_of: date | None = None, language: str = "en",
                       thresholds: dict | None = None) -> pd.DataFrame:
    """Customers per loyalty type (with members among them) and each type's rule, for the
    CLI."""
    classified = loyalty_types(engine, as_of=as_of, thresholds=thresholds)
    table = loyalty_summary(classified, language=language, thresholds=thresholds)
    members = classified.loc[classified["member"], "loyalty_type"].value_counts()
    table.insert(2, "members", members.reindex(table.index, fill_value=0).astype(int))
    table.attrs["notes"] = [f"as of {classified.attrs['as_of']}; a customer takes the first "
                            "type whose rule they meet, in this order"]
    return table


__all__ = ["ATTITUDE_ITEMS", "FLAG_ATTRIBUTES", "ProgrammeData", "ProgrammeFigures", "SMALL_N",
           "load_data", "loyalty_type_table", "loyalty_types", "programme_effect_of",
           "programme_figures", "summary_table"]
