"""Win-back campaigns measured against a control group.

A campaign is a list of customers (chosen on another list, or a named list: the customers lost
in the last N days, the key accounts at risk) split at random, once, into a **target** group and
a **control** group (``control_share`` of the list, drawn with numpy's ``default_rng(seed)`` over
the members in customer order, so the draw can be repeated from the stored seed). Starting the
campaign approaches the target group only (a task of ``task_type`` for the account owner and/or
a message on ``channel`` with the offer, in the customer's language), each at most once however
often it is started; the control group is never contacted.

:func:`campaign_results` then counts, per group, the customers who bought again within
``measure_days`` after the start and the revenue they brought, and compares the groups with
:mod:`patronage.analytics.uplift`: the difference is the campaign's effect because only chance
decided who was in which group (a randomised holdout; e.g. Ascarza 2018, *Journal of Marketing
Research* 55(1), 80–98, on measuring retention campaigns by their uplift over a control group).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, insert, select, update

from patronage.analytics.uplift import mean_difference, proportion_difference
from patronage.care.accounts import account_health, as_of
from patronage.care.outreach import send_message
from patronage.care.tasks import create_task
from patronage.care.texts import COLUMN_SUFFIX, LANGUAGES, customer_language, fill, pick
from patronage.cases.inputs import user_id_of
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_care import (
    MESSAGE_CHANNELS, TASK_TYPES, campaign_members, care_campaigns,
)

#: Named lists a campaign can be made from: ``lost`` (in the last ``days`` days) and
#: ``at_risk`` (key accounts whose health status is at risk).
NAMED_LISTS = {"lost": N_("customers lost in the last {days} days"),
               "at_risk": N_("key accounts at risk")}
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
MIN_GROUP = 30


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def named_list(engine: Engine, name: str, *, days: int = 365,
               today: date | None = None) -> list[int]:
    """The customer ids (panel numbers) of the named list ``name`` (see :data:`NAMED_LISTS`),
    as of ``today`` (default: the panel's latest activity, :func:`patronage.care.accounts.as_of`)."""
    today = today or as_of(engine)
    if name == "lost":
        with engine.connect() as conn:
            return [int(i) for i in conn.execute(
                select(customers.c.id).where(customers.c.lost_on >= today - timedelta(days=days),
                                             customers.c.lost_on <= today)
                .order_by(customers.c.id)).scalars()]
    if name == "at_risk":
        health = account_health(engine, today)
        return sorted(int(i) for i in health.index[health["status"] == "at_risk"])
    raise UserError(N_("There is no list {name!r}; the lists are {known}."), name=str(name)[:40],
                    known=", ".join(NAMED_LISTS))


def _member_ids(conn, given) -> list[int]:
    ids: set[int] = set()
    for value in given:
        if isinstance(value, int | np.integer):
            found = conn.execute(select(customers.c.id).where(customers.c.id == int(value))
                                 ).scalar()
        else:
            found = conn.execute(select(customers.c.id).where(
                customers.c.external_id == str(value).strip())).scalar()
        if found is None:
            raise UserError(N_("There is no customer {customer!r}; check the customer id."),
                            customer=str(value)[:64])
        ids.add(int(found))
    return sorted(ids)


def draw_control(ids: list[int], control_share: float, seed: int) -> set[int]:
    """The control group of ``ids``: ``round(control_share × n)`` of them (at least one when the
    share is above 0 and there are two or more), drawn without replacement by
    ``numpy.random.default_rng(seed).choice`` over the ids in ascending order."""
    ids = sorted(ids)
    size = int(round(control_share * len(ids)))
    if control_share > 0 and len(ids) >= 2:
        size = min(max(size, 1), len(ids) - 1)
    if size <= 0:
        return set()
    rng = np.random.default_rng(seed)
    return {int(i) for i in rng.choice(np.array(ids, dtype=np.int64), size=size, replace=False)}


def create_campaign(engine: Engine, code: str, name: str, *, customer_ids=None,
                    list_name: str | None = None, days: int = 365, offer: str | None = None,
                    task_type: str | None = None, channel: str | None = None,
                    templates: dict | None = None, control_share: float = 0.2,
                    seed: int | None = None, measure_days: int = 90, kind: str = "win_back",
                    by=None, today: date | None = None, now: datetime | None = None) -> dict:
    """A draft campaign over ``customer_ids`` (panel numbers or your ids) or the named list
    ``list_name``, split at random into target and control. ``task_type`` (call, visit,
    message) and/or ``channel`` (sms, email) say how the target group is approached;
    ``templates`` (``{"zh_Hans": ..., "en": ...}``) is the message or call script, with
    ``{name}``, ``{offer}`` … filled per customer. Returns ``{"id", "code", "members",
    "target", "control", "seed"}``."""
    now = now or _now()
    code = (code or "").strip()
    name = (name or "").strip()
    if not CODE.match(code):
        raise UserError(N_("The campaign code must be 1 to 60 letters, digits, '_', '.' or "
                           "'-'; not {code!r}."), code=code[:60])
    if not name or len(name) > 200:
        raise UserError(N_("The campaign needs a name of at most 200 characters."))
    if task_type in ("", None) and channel in ("", None):
        raise UserError(N_("Choose how the target group is approached: a task, a message or "
                           "both."))
    if task_type not in ("", None) and task_type not in TASK_TYPES:
        raise UserError(N_("The task type must be one of {allowed}; not {value!r}."),
                        allowed=", ".join(TASK_TYPES), value=str(task_type)[:20])
    if channel not in ("", None) and channel not in MESSAGE_CHANNELS:
        raise UserError(N_("The channel must be one of {allowed}; not {value!r}."),
                        allowed=", ".join(MESSAGE_CHANNELS), value=str(channel)[:20])
    texts = {lang: (templates or {}).get(lang) or None for lang in LANGUAGES}
    if channel and not any(texts.values()):
        raise UserError(N_("A campaign that sends messages needs the message text."))
    try:
        control_share = float(control_share)
        measure_days = int(measure_days)
    except (TypeError, ValueError):
        raise UserError(N_("The control share must be a number from 0 to 0.9 and the "
                           "measuring period a whole number of days.")) from None
    if not 0 <= control_share <= 0.9 or not 1 <= measure_days <= 3660:
        raise UserError(N_("The control share must be a number from 0 to 0.9 and the "
                           "measuring period a whole number of days."))
    seed = int(seed) if seed not in (None, "") else secrets.randbelow(2 ** 31)
    ids = (named_list(engine, list_name, days=days, today=today) if list_name
           else list(customer_ids or []))
    with write_transaction(engine) as conn:
        ids = _member_ids(conn, ids) if not list_name else sorted(set(ids))
        if not ids:
            raise UserError(N_("The campaign's list has no customers."))
        if conn.execute(select(care_campaigns.c.id).where(care_campaigns.c.code == code)
                        ).first():
            raise UserError(N_("There is already a campaign {code!r}."), code=code)
        user = user_id_of(conn, by) if by not in (None, "") else None
        control = draw_control(ids, control_share, seed)
        campaign_id = conn.execute(insert(care_campaigns).values(
            code=code, name=name, kind=kind, status="draft", offer=(offer or "").strip() or None,
            task_type=task_type or None, channel=channel or None,
            **{f"template_{COLUMN_SUFFIX[lang]}": texts[lang] for lang in LANGUAGES},
            control_share=control_share, seed=seed, measure_days=measure_days,
            created_by=user, created_at=now)).inserted_primary_key[0]
        conn.execute(insert(campaign_members), [
            {"campaign_id": campaign_id, "customer_id": i,
             "group": "control" if i in control else "target", "added_at": now} for i in ids])
    return {"id": int(campaign_id), "code": code, "members": len(ids),
            "target": len(ids) - len(control), "control": len(control), "seed": seed}


def _campaign(conn, code: str) -> dict:
    row = conn.execute(select(care_campaigns).where(care_campaigns.c.code == str(code).strip())
                       ).mappings().first()
    if row is None:
        raise UserError(N_("There is no campaign {code!r}."), code=str(code)[:60])
    return dict(row)


def start_campaign(engine: Engine, code: str, *, by=None, settings=None,
                   now: datetime | None = None) -> dict:
    """Approach the target group: a task (for the customer's account owner) and/or a message,
    once per member however often this runs; the control group is left alone. Returns the
    counts made now: ``{"tasks", "messages", "not_reachable"}``."""
    now = now or _now()
    if settings is None:
        from patronage.settings import Settings
        settings = Settings()
    made = {"tasks": 0, "messages": 0, "not_reachable": 0}
    with write_transaction(engine) as conn:
        campaign = _campaign(conn, code)
        if campaign["status"] == "closed":
            raise UserError(N_("The campaign {code!r} is closed."), code=campaign["code"])
        user = user_id_of(conn, by) if by not in (None, "") else None
        members = conn.execute(
            select(campaign_members.c.customer_id, campaign_members.c.task_id,
                   campaign_members.c.contact_id, customers)
            .join(customers, customers.c.id == campaign_members.c.customer_id)
            .where(campaign_members.c.campaign_id == campaign["id"],
                   campaign_members.c.group == "target")
            .order_by(campaign_members.c.customer_id)).mappings().all()
        texts = {lang: campaign[f"template_{COLUMN_SUFFIX[lang]}"] for lang in LANGUAGES}
        for member in members:
            customer = dict(member)
            language = customer_language(customer, settings.customer_language)
            text = fill(pick(texts, language), customer, {"offer": campaign["offer"] or ""})
            key = f"campaign:{campaign['id']}:{member['customer_id']}"
            values = {}
            if campaign["task_type"] and member["task_id"] is None:
                task = create_task(conn, customer_id=member["customer_id"],
                                   subject=campaign["name"], due_at=now,
                                   type=campaign["task_type"], script=text or campaign["offer"],
                                   assignee_id=customer["account_owner_id"], source_key=key,
                                   campaign_id=campaign["id"], created_by=user, now=now)
                if task is not None:
                    values["task_id"] = task
                    made["tasks"] += 1
            if campaign["channel"] and member["contact_id"] is None:
                contact = send_message(conn, customer=customer, channel=campaign["channel"],
                                       body=text, subject=campaign["name"], kind="message",
                                       campaign_id=campaign["id"], key=key, user_id=user,
                                       settings=settings, now=now)
                if contact is None:
                    made["not_reachable"] += 1
                else:
                    values["contact_id"] = contact
                    made["messages"] += 1
            if values:
                conn.execute(update(campaign_members).where(
                    campaign_members.c.campaign_id == campaign["id"],
                    campaign_members.c.customer_id == member["customer_id"]).values(**values))
        if campaign["status"] == "draft":
            conn.execute(update(care_campaigns).where(care_campaigns.c.id == campaign["id"])
                         .values(status="running", started_at=now))
    return made


def campaign_members_table(engine: Engine, code: str) -> pd.DataFrame:
    """The members with their group, task and message."""
    with engine.connect() as conn:
        campaign = _campaign(conn, code)
        rows = conn.execute(
            select(campaign_members.c.customer_id, customers.c.external_id, customers.c.name,
                   campaign_members.c.group, campaign_members.c.task_id,
                   campaign_members.c.contact_id)
            .join(customers, customers.c.id == campaign_members.c.customer_id)
            .where(campaign_members.c.campaign_id == campaign["id"])
            .order_by(campaign_members.c.customer_id)).all()
    return pd.DataFrame(rows, columns=["customer_id", "external_id", "name", "group", "task_id",
                                       "contact_id"])


def campaign_results(engine: Engine, code: str, today: date | None = None, *,
                     alpha: float = 0.05) -> dict:
    """Target against control: per group ``n``, the customers who bought again within
    ``measure_days`` after the start (up to ``today``), their rate and the revenue (net of
    refunds) in that period; the difference of rates (Newcombe and Wald intervals, z test) and
    of revenue per customer (Welch t), and the incremental revenue (difference per customer ×
    target size). Before the start there is nothing to measure (``started`` False)."""
    today = today or _now().date()
    with engine.connect() as conn:
        campaign = _campaign(conn, code)
        members = pd.DataFrame(conn.execute(
            select(campaign_members.c.customer_id, campaign_members.c.group)
            .where(campaign_members.c.campaign_id == campaign["id"])).all(),
            columns=["customer_id", "group"])
        sales = pd.DataFrame(columns=["customer_id", "amount", "is_refund"])
        start = campaign["started_at"]
        if start is not None:
            end = min(start + timedelta(days=campaign["measure_days"]),
                      datetime.combine(today + timedelta(days=1), datetime.min.time()))
            t = transactions.c
            sales = pd.DataFrame(conn.execute(
                select(t.customer_id, t.amount, t.is_refund)
                .join(campaign_members, campaign_members.c.customer_id == t.customer_id)
                .where(campaign_members.c.campaign_id == campaign["id"], t.occurred_at >= start,
                       t.occurred_at < end)).all(), columns=["customer_id", "amount",
                                                             "is_refund"])
    out = {"campaign": campaign, "started": start is not None, "groups": None,
           "rates": None, "revenue": None, "incremental_revenue": None,
           "complete": False, "measured_until": None}
    if start is None:
        return out
    out["measured_until"] = (end - timedelta(days=1)).date() if end.time() == datetime.min.time() \
        else end.date()
    out["complete"] = today >= (start + timedelta(days=campaign["measure_days"])).date()
    sales["amount"] = sales["amount"].astype(float)
    sales["net"] = sales["amount"].where(~sales["is_refund"].astype(bool),
                                         -sales["amount"].abs())
    bought = set(sales.loc[~sales["is_refund"].astype(bool), "customer_id"].astype(int))
    revenue = sales.groupby("customer_id")["net"].sum()
    members["bought_again"] = members["customer_id"].isin(bought)
    members["revenue"] = members["customer_id"].map(revenue).fillna(0.0).astype(float)
    groups = (members.groupby("group").agg(n=("customer_id", "size"),
                                           bought_again=("bought_again", "sum"),
                                           revenue=("revenue", "sum"))
              .reindex(["target", "control"]).fillna(0))
    groups["n"] = groups["n"].astype(int)
    groups["bought_again"] = groups["bought_again"].astype(int)
    groups["rate"] = groups["bought_again"] / groups["n"].where(groups["n"] > 0)
    groups["revenue_per_customer"] = groups["revenue"] / groups["n"].where(groups["n"] > 0)
    out["groups"] = groups
    out["rates"] = proportion_difference(
        int(groups.loc["target", "bought_again"]), int(groups.loc["target", "n"]),
        int(groups.loc["control", "bought_again"]), int(groups.loc["control", "n"]),
        alpha=alpha, min_n=MIN_GROUP)
    out["revenue"] = mean_difference(
        members.loc[members["group"] == "target", "revenue"].to_numpy(),
        members.loc[members["group"] == "control", "revenue"].to_numpy(),
        alpha=alpha, min_n=MIN_GROUP)
    if out["revenue"]["diff"] == out["revenue"]["diff"]:
        out["incremental_revenue"] = out["revenue"]["diff"] * int(groups.loc["target", "n"])
    return out


def results_table(engine: Engine, code: str, today: date | None = None) -> pd.DataFrame:
    """``patronage care campaign results``: one row per group and one for the difference."""
    result = campaign_results(engine, code, today)
    if not result["started"]:
        raise UserError(N_("The campaign {code!r} has not started yet; start it first."),
                        code=code)
    groups = result["groups"].reset_index()
    rates, revenue = result["rates"], result["revenue"]
    diff = pd.DataFrame([{
        "group": "target - control", "n": int(groups["n"].sum()), "bought_again": None,
        "revenue": result["incremental_revenue"], "rate": rates["diff"],
        "revenue_per_customer": revenue["diff"]}])
    table = pd.concat([groups, diff], ignore_index=True)
    table.attrs["about"] = {"campaign": code, "rates": rates, "revenue": revenue,
                            "measured_until": str(result["measured_until"]),
                            "complete": result["complete"]}
    notes = [f"measured from {result['campaign']['started_at']:%Y-%m-%d} to "
             f"{result['measured_until']} ({result['campaign']['measure_days']} days"
             + ("" if result["complete"] else ", still running") + ")",
             f"bought again: difference {rates['diff']:+.1%}, 95% CI (Newcombe) "
             f"{rates['low']:+.1%} to {rates['high']:+.1%}, p = {rates['p_value']:.3f}",
             f"revenue per customer: difference {revenue['diff']:+.2f}, 95% CI (Welch) "
             f"{revenue['low']:+.2f} to {revenue['high']:+.2f}, p = {revenue['p_value']:.3f}"]
    if rates["small"] or revenue["small"]:
        notes.append(f"small sample: fewer than {MIN_GROUP} customers in a group or fewer than "
                     "5 buyers or non-buyers; the intervals are rough")
    table.attrs["notes"] = notes
    return table


def campaign_list(engine: Engine) -> pd.DataFrame:
    """Every campaign, newest first, with its group sizes."""
    c, m = care_campaigns.c, campaign_members.c
    with engine.connect() as conn:
        campaigns = pd.DataFrame(conn.execute(select(
            c.id, c.code, c.name, c.kind, c.status, c.offer, c.task_type, c.channel,
            c.control_share, c.measure_days, c.created_at, c.started_at)
            .order_by(c.created_at.desc(), c.id.desc())).all(),
            columns=["id", "code", "name", "kind", "status", "offer", "task_type", "channel",
                     "control_share", "measure_days", "created_at", "started_at"])
        sizes = pd.DataFrame(conn.execute(select(m.campaign_id, m.group, func.count())
                                          .group_by(m.campaign_id, m.group)).all(),
                             columns=["id", "group", "n"])
    wide = sizes.pivot_table(index="id", columns="group", values="n", aggfunc="sum")
    for group in ("target", "control"):
        campaigns[group] = (campaigns["id"].map(wide[group]) if group in wide else 0)
        campaigns[group] = campaigns[group].fillna(0).astype(int)
    return campaigns


__all__ = ["MIN_GROUP", "NAMED_LISTS", "campaign_list", "campaign_members_table",
           "campaign_results", "create_campaign", "draw_control", "named_list",
           "results_table", "start_campaign"]
