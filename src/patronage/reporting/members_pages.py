"""What the membership pages show: the member list with its filters (tier, status, joined
between, a search by card number, name or customer id) and the programme page (the policy
form and the tiers table), tier names in the reader's language and every count with its n."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select

from patronage.members.programme import (
    CHOICE_LABELS, POLICY_LABELS, POLICY_RANGES, TIER_LABELS, load_policy, load_tiers,
    tier_members,
)
from patronage.messages import N_, Term, UserError
from patronage.reporting.case_desk import SEVERITY_LABELS
from patronage.storage.schema import transactions
from patronage.storage.schema import customers as customer_table
from patronage.storage.schema_members import (
    EXPIRY_POLICIES, SHORTFALL_POLICIES, TIER_BASES, members, point_accounts, point_transfers,
    rewards,
)

#: A membership's status: "current" (not closed) and "closed". Not "active": the programme
#: report's active members are those who bought, earned or redeemed in the last months.
STATUS_LABELS = {"active": N_("Current"), "closed": N_("Closed")}
#: The statuses as the command line names them (``--status current``).
STATUS_WORDS = {"active": "current", "closed": "closed"}
#: Columns of ``patronage members list``.
LIST_COLUMNS = ["card_no", "customer", "name", "tier", "status", "points", "pending",
                "joined_on", "last_activity"]
PER_PAGE = 50
#: The policy form's sections: (title, settings).
POLICY_SECTIONS = (
    (N_("Programme"), ("name", "card_prefix", "active_months", "cost_per_point")),
    (N_("Tier qualification and reviews"), ("tier_basis", "tier_window_months", "review_months",
                                            "grace_days")),
    (N_("Points expiry"), ("expiry_policy", "expiry_months", "expiry_month", "expiry_day",
                           "expiry_years")),
    (N_("Refunds"), ("refund_shortfall",)),
)
POLICY_FIELDS = tuple(name for _title, names in POLICY_SECTIONS for name in names)
POLICY_CHOICES = {"tier_basis": TIER_BASES, "expiry_policy": EXPIRY_POLICIES,
                  "refund_shortfall": SHORTFALL_POLICIES}


def _day(value, what: str) -> date | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(N_("The {what} date must be a date like 2026-03-31; not {value!r}."),
                        what=what, value=text[:40]) from None


def _filters(tier: str = "", status: str = "", joined_from=None, joined_to=None,
             search: str = "") -> list:
    m, c = members.c, customer_table.c
    where = []
    if tier:
        where.append(m.tier_code == tier)
    if status in STATUS_LABELS:
        where.append(m.status == status)
    start = _day(joined_from, Term(N_("joined from")))
    end = _day(joined_to, Term(N_("joined until")))
    if start:
        where.append(m.joined_on >= start)
    if end:
        where.append(m.joined_on <= end)
    text = (search or "").strip()[:100]
    if text:
        like = f"%{text.lower()}%"
        where.append(or_(m.card_no.like(f"%{text}%"), func.lower(c.name).like(like),
                         func.lower(c.external_id).like(like)))
    return where


def _balances():
    a = point_accounts.c
    points = (select(a.member_id, a.balance).where(a.kind == "points")
              .subquery("points_account"))
    owed = select(a.member_id, a.balance).where(a.kind == "owed").subquery("owed_account")
    return points, owed


def members_table(engine: Engine, *, tier: str = "", status: str = "", joined_from=None,
                  joined_to=None, search: str = "", limit: int | None = None, offset: int = 0,
                  language: str = "en") -> pd.DataFrame:
    """Members matching the filters, newest first: card number, customer (id and name),
    tier (code and name in ``language``), status, spendable points, negative pending balance,
    join date and last activity (a purchase or a point movement); ``customer_pk`` and
    ``member_id`` as well. ``attrs["total"]`` is how many match."""
    m, c = members.c, customer_table.c
    points, owed = _balances()
    where = _filters(tier, status, joined_from, joined_to, search)
    base = (select(m.id).join(customer_table, c.id == m.customer_id).where(and_(True, *where)))
    query = (select(m.id.label("member_id"), m.customer_id.label("customer_pk"),
                    m.card_no, c.external_id.label("customer"), c.name, m.tier_code,
                    m.status, func.coalesce(points.c.balance, 0).label("points"),
                    func.coalesce(owed.c.balance, 0).label("pending"), m.joined_on,
                    m.tier_since, m.review_on, m.grace_until)
             .join(customer_table, c.id == m.customer_id)
             .outerjoin(points, points.c.member_id == m.id)
             .outerjoin(owed, owed.c.member_id == m.id)
             .where(and_(True, *where))
             .order_by(m.joined_on.desc(), m.id.desc()))
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        frame = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=["member_id", "customer_pk", "card_no", "customer", "name",
                                      "tier_code", "status", "points", "pending", "joined_on",
                                      "tier_since", "review_on", "grace_until"])
        names = {t.code: t.name(language) for t in load_tiers(conn, active_only=False)}
        frame["last_activity"] = _last_activity(conn, frame)
    frame.insert(5, "tier", [names.get(code, code) if code else None
                             for code in frame["tier_code"]])
    frame.attrs["total"] = int(total)
    return frame


def _last_activity(conn, frame: pd.DataFrame) -> list:
    """The later of each member's last purchase and last point movement (None: neither)."""
    if frame.empty:
        return []
    t, p = transactions.c, point_transfers.c
    bought = dict(conn.execute(select(t.customer_id, func.max(t.occurred_at))
                               .where(t.customer_id.in_(frame["customer_pk"].tolist()))
                               .group_by(t.customer_id)).all())
    moved = dict(conn.execute(select(p.member_id, func.max(p.occurred_at))
                              .where(p.member_id.in_(frame["member_id"].tolist()))
                              .group_by(p.member_id)).all())
    out = []
    for customer, member in zip(frame["customer_pk"], frame["member_id"], strict=True):
        days = [d for d in (bought.get(customer), moved.get(member)) if d is not None]
        out.append(max(days) if days else None)
    return out


def member_list(engine: Engine, *, tier: str = "", status: str = "", joined_from: str = "",
                joined_to: str = "", search: str = "", page: int = 1,
                language: str = "en") -> dict:
    """The member list page: one page of :func:`members_table` (``PER_PAGE`` rows), the
    filters as given, the tiers to filter by with their members, the count of current
    memberships (status, not activity), and an ``error`` when
    a filter could not be read (the list is then unfiltered by date)."""
    filters = {"tier": tier, "status": status, "joined_from": joined_from,
               "joined_to": joined_to, "search": search}
    error = None
    try:
        _filters(**filters)
    except UserError as exc:
        error, filters["joined_from"], filters["joined_to"] = exc, "", ""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(members)).scalar_one()
        active = conn.execute(select(func.count()).select_from(members)
                              .where(members.c.status == "active")).scalar_one()
        held = tier_members(conn)
        tiers = [{"code": t.code, "name": t.name(language), "members": held.get(t.code, 0)}
                 for t in load_tiers(conn, active_only=False)]
    page = max(1, int(page))
    table = members_table(engine, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                          language=language, **filters)
    count = table.attrs["total"]
    pages = max(1, -(-count // PER_PAGE))
    if page > pages:
        page = pages
        table = members_table(engine, limit=PER_PAGE, offset=(page - 1) * PER_PAGE,
                              language=language, **filters)
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    return {"rows": rows, "count": count, "page": page, "pages": pages, "filters": filters,
            "tiers": tiers, "total": int(total), "active": int(active), "error": error,
            "statuses": STATUS_LABELS}


def programme_page(engine: Engine, language: str = "en") -> dict:
    """The programme page: the policy as a form (sections, labels, choices in words, ranges)
    and the tiers with their active members, privileges and gifts."""
    with engine.connect() as conn:
        policy = load_policy(conn)
        held = tier_members(conn)
        tiers = load_tiers(conn, active_only=False)
        reward_codes = conn.execute(select(rewards.c.code, rewards.c.name_en,
                                           rewards.c.name_zh_hans, rewards.c.name_zh_hant)
                                    .order_by(rewards.c.code)).all()
        untiered = conn.execute(select(func.count()).select_from(members).where(
            members.c.status == "active", members.c.tier_code.is_(None))).scalar_one()
    column = {"en": 1, "zh_Hans": 2, "zh_Hant": 3}.get(language, 1)
    gift_names = {row[0]: row[column] or row[1] for row in reward_codes}
    rows = [{"code": t.code, "name": t.name(language), "names": t.names, "rank": t.rank,
             "qualify_value": t.qualify_value, "multiplier": t.multiplier,
             "case_severity": t.case_severity, "gifts": list(t.gift_rewards),
             "gift_names": [gift_names.get(g, g) for g in t.gift_rewards],
             "benefit": t.benefit(language), "benefits": t.benefits, "active": t.active,
             "members": held.get(t.code, 0)} for t in tiers]
    return {"policy": asdict(policy), "sections": POLICY_SECTIONS, "labels": POLICY_LABELS,
            "choices": POLICY_CHOICES, "choice_labels": CHOICE_LABELS, "ranges": POLICY_RANGES,
            "tiers": rows, "tier_labels": TIER_LABELS, "severities": SEVERITY_LABELS,
            "rewards": [(code, gift_names[code]) for code, *_names in reward_codes],
            "untiered": int(untiered), "next_rank": max((t.rank for t in tiers), default=-1) + 1}


def tiers_table(engine: Engine) -> pd.DataFrame:
    """``patronage members tier list``: every tier with its settings and active members."""
    shown = programme_page(engine)
    frame = pd.DataFrame([{
        "code": t["code"], "rank": t["rank"], "name_en": t["names"]["en"],
        "name_zh_hans": t["names"]["zh_Hans"], "name_zh_hant": t["names"]["zh_Hant"],
        "qualify_value": t["qualify_value"], "multiplier": t["multiplier"],
        "case_severity": t["case_severity"], "gift_rewards": ",".join(t["gifts"]),
        "active": t["active"], "members": t["members"]} for t in shown["tiers"]],
        columns=["code", "rank", "name_en", "name_zh_hans", "name_zh_hant", "qualify_value",
                 "multiplier", "case_severity", "gift_rewards", "active", "members"])
    basis = shown["policy"]["tier_basis"]
    frame.attrs["notes"] = [f"Tiers qualify by {'spend (¥)' if basis == 'spend' else 'base points'}"
                            f" in {shown['policy']['tier_window_months']} months."]
    return frame


__all__ = ["LIST_COLUMNS", "PER_PAGE", "POLICY_FIELDS", "POLICY_SECTIONS", "STATUS_LABELS",
           "STATUS_WORDS", "member_list",
           "members_table", "programme_page", "tiers_table"]
