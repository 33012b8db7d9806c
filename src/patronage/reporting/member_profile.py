"""The membership panel of a customer's profile: card, tier, points, what expires next, tier
history and the latest point movements in words (also ``patronage members show``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from patronage.cases.records import case_number
from patronage.members.enrolment import member_of_customer
from patronage.members.expiry import member_points
from patronage.members.ledger import KIND_NAMES, statement
from patronage.members.programme import (
    company_today,
    company_zone,
    load_policy,
    load_tiers,
    local_moment,
)
from patronage.members.tiers import best_tier, qualifying_values
from patronage.messages import N_
from patronage.reporting.case_desk import SEVERITY_LABELS
from patronage.storage.schema import transactions, users
from patronage.storage.schema_members import (
    member_tier_changes, point_accounts, point_transfers, redemptions, rewards,
)

#: Tier history entries in words.
CHANGE_NAMES = {"enrol": N_("Enrolled"), "upgrade": N_("Moved up"), "downgrade": N_("Moved down"),
                "grace": N_("Short at review: grace period"), "kept": N_("Kept at review"),
                "manual": N_("Changed by staff")}
#: Ledger lines shown on the profile.
LEDGER_LINES = 10
#: Transfers that count as points earned.
EARNED_KINDS = ("earn", "bonus")


def membership_panel(engine: Engine, customer_pk: int, language: str = "en", *,
                     today: date | None = None, timezone: str | None = None) -> dict | None:
    """The panel's figures for a member, or None when the customer is not a member:
    card, status, join date and channel; the tier in ``language`` with its since-date, next
    review or end of grace, privileges; the qualifying value and the next tier's threshold;
    spendable points, the negative pending balance, the points expiring next; points earned
    this year; the tier history and the :data:`LEDGER_LINES` latest ledger lines, newest
    first, each with what made it. Days and times are the company's (``timezone``, default
    the setting's)."""
    zone = company_zone(timezone)
    today = today or company_today(timezone=zone)
    with engine.connect() as conn:
        member = member_of_customer(conn, customer_pk)
        if member is None:
            return None
        member_id = int(member["id"])
        policy = load_policy(conn)
        every = load_tiers(conn, active_only=False)
        names = {t.code: t.name(language) for t in every}
        tier = next((t for t in every if t.code == member["tier_code"]), None)
        value = float(qualifying_values(conn, [member_id], on=today, policy=policy)
                      .get(member_id, 0.0))
        better = [t for t in every if t.active and tier is not None and t.rank > tier.rank]
        upcoming = min(better, key=lambda t: t.rank) if better else None
        points = member_points(conn, member_id, today)
        earned = _earned_in(conn, member_id, today.year, zone)
        history = _history(conn, member_id, names)
        ledger = _ledger(conn, member_id, language, zone)
    return {
        "member_id": member_id, "card_no": member["card_no"], "status": member["status"],
        "joined_on": member["joined_on"], "channel": member["channel"],
        "consent": bool(member["consent"]), "closed_at": member["closed_at"],
        "tier": None if tier is None else {
            "code": tier.code, "name": tier.name(language), "since": member["tier_since"],
            "review_on": member["review_on"], "grace_until": member["grace_until"],
            "benefit": tier.benefit(language), "multiplier": tier.multiplier,
            "case_severity": tier.case_severity,
            "severity": SEVERITY_LABELS.get(tier.case_severity)},
        "qualify_value": value, "basis": policy.tier_basis,
        "window_months": policy.tier_window_months,
        "qualifies_for": (best_tier(every, value).name(language)
                          if best_tier(every, value) else None),
        "next_tier": None if upcoming is None else {
            "name": upcoming.name(language), "qualify_value": upcoming.qualify_value,
            "gap": max(upcoming.qualify_value - value, 0.0)},
        "points": points["points"], "pending": points["pending"], "due": points["due"],
        "expiring": points["expiring"], "earned_this_year": earned, "year": today.year,
        "history": history, "ledger": ledger,
        "tiers": [(t.code, t.name(language)) for t in every if t.active],
    }


def programme_tier(conn, customer_pk: int, language: str = "en") -> dict | None:
    """The programme card the profile's header shows for an active member with a tier
    (``code``, ``name`` in ``language``, ``card_no``), else None: then the header shows the
    imported CRM tier instead, and for a member the CRM tier is an attribute of the profile,
    never a second badge."""
    member = member_of_customer(conn, customer_pk)
    if member is None or member["status"] != "active" or member["tier_code"] is None:
        return None
    tier = next((t for t in load_tiers(conn, active_only=False)
                 if t.code == member["tier_code"]), None)
    name = tier.name(language) if tier is not None else member["tier_code"]
    return {"code": member["tier_code"], "name": name, "card_no": member["card_no"]}


def _earned_in(conn, member_id: int, year: int, zone: ZoneInfo) -> int:
    """Points earned in the company's calendar year ``year``."""
    t, a = point_transfers.c, point_accounts.c
    account = select(a.id).where(a.member_id == member_id, a.kind == "points").scalar_subquery()
    start, end = (datetime(y, 1, 1, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
                  for y in (year, year + 1))
    total = conn.execute(select(func.coalesce(func.sum(t.points), 0)).where(
        t.member_id == member_id, t.credit_account_id == account, t.kind.in_(EARNED_KINDS),
        t.occurred_at >= start, t.occurred_at < end)).scalar_one()
    return int(total)


def _history(conn, member_id: int, names: dict) -> list[dict]:
    h = member_tier_changes.c
    rows = conn.execute(
        select(h.changed_on, h.kind, h.from_tier, h.to_tier, h.qualify_value, h.reason,
               func.coalesce(users.c.display_name, users.c.email).label("by"))
        .outerjoin(users, users.c.id == h.actor_id)
        .where(h.member_id == member_id).order_by(h.changed_on.desc(), h.id.desc())
    ).mappings().all()
    return [{"on": r["changed_on"], "kind": r["kind"], "what": CHANGE_NAMES.get(r["kind"]),
             "from": names.get(r["from_tier"], r["from_tier"]),
             "to": names.get(r["to_tier"], r["to_tier"]),
             "value": None if r["qualify_value"] is None else float(r["qualify_value"]),
             "reason": r["reason"], "by": r["by"]} for r in rows]


def _ledger(conn, member_id: int, language: str, zone: ZoneInfo) -> list[dict]:
    """The latest ledger lines, newest first: the change to spendable points, the balance
    after it, and what made it (the purchase, the reward, the case, the reason); times in the
    company's time zone."""
    lines = statement(conn, member_id).tail(LEDGER_LINES).iloc[::-1]
    if lines.empty:
        return []
    ids = [int(i) for i in lines["id"]]
    t = point_transfers.c
    column = {"zh_Hans": rewards.c.name_zh_hans, "zh_Hant": rewards.c.name_zh_hant}.get(
        language, rewards.c.name_en)
    about = {row.id: row for row in conn.execute(
        select(t.id, t.case_id, transactions.c.external_id.label("order"),
               column.label("reward"))
        .outerjoin(transactions, transactions.c.id == t.transaction_id)
        .outerjoin(redemptions, redemptions.c.id == t.redemption_id)
        .outerjoin(rewards, rewards.c.id == redemptions.c.reward_id)
        .where(t.id.in_(ids)))}
    out = []
    lines = lines.astype(object).where(lines.notna(), None)
    for line in lines.to_dict(orient="records"):
        row = about.get(int(line["id"]))
        detail = None
        if row is not None:
            detail = row.order or row.reward or (case_number(row.case_id) if row.case_id
                                                 else None)
        out.append({"at": local_moment(line["occurred_at"], zone), "kind": line["kind"],
                    "what": KIND_NAMES.get(line["kind"], line["kind"]),
                    "points": int(line["points"]), "balance": int(line["balance"]),
                    "pending": int(line["pending"]), "detail": detail,
                    "reason": line["reason"], "by": line["by"],
                    "expires_on": line["expires_on"]})
    return out


def panel_text(panel: dict) -> str:
    """The panel as ``patronage members show`` prints it (English)."""
    tier = panel["tier"]
    status = {"active": "current"}.get(panel["status"], panel["status"])
    lines = [f"Card {panel['card_no']} · {status} membership · joined {panel['joined_on']}"
             + (f" ({panel['channel']})" if panel["channel"] else "")]
    if tier:
        state = (f"grace until {tier['grace_until']}" if tier["grace_until"]
                 else f"next review {tier['review_on']}")
        lines.append(f"Tier: {tier['name']} since {tier['since']}; {state}")
    unit = "¥" if panel["basis"] == "spend" else "points "
    lines.append(f"Qualifying value ({panel['window_months']} months): {unit}{panel['qualify_value']:,.0f}"
                 + (f"; {unit}{panel['next_tier']['gap']:,.0f} more for {panel['next_tier']['name']}"
                    if panel["next_tier"] else ""))
    lines.append(f"Points: {panel['points']:,}"
                 + (f" (pending {panel['pending']:,})" if panel["pending"] else "")
                 + (f"; {panel['expiring']['points']:,} expire on {panel['expiring']['on']}"
                    if panel["expiring"] else ""))
    lines.append(f"Earned in {panel['year']}: {panel['earned_this_year']:,}")
    for entry in panel["history"]:
        lines.append(f"  {entry['on']} {entry['kind']}: {entry['from'] or '-'} -> {entry['to']}"
                     + (f" ({entry['reason']})" if entry["reason"] else ""))
    for line in panel["ledger"]:
        lines.append(f"  {line['at']:%Y-%m-%d} {line['kind']} {line['points']:+,} = "
                     f"{line['balance']:,}" + (f" {line['detail']}" if line["detail"] else "")
                     + (f" ({line['reason']})" if line["reason"] else ""))
    return "\n".join(lines)


__all__ = ["CHANGE_NAMES", "membership_panel", "panel_text", "programme_tier"]
