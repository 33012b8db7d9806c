"""What the key-account, lost-customer and win-back campaign pages show: rows ready for the
templates, with reasons in the reader's language and every figure with its n."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd
from sqlalchemy import Engine, select

from patronage.care.accounts import (
    REASON_TEXTS, STATUS_TEXTS, account_health, as_of, reason_text,
)
from patronage.care.campaigns import (
    MIN_GROUP, NAMED_LISTS, campaign_list, campaign_members_table, campaign_results,
)
from patronage.care.lost import lost_breakdown, lost_customers
from patronage.messages import N_
from patronage.storage.schema import customers, users

#: Words of the pages that come from codes.
TASK_TYPE_TEXTS = {"call": N_("call"), "visit": N_("visit"), "message": N_("message")}
CHANNEL_TEXTS = {"sms": N_("text message"), "email": N_("e-mail")}
CAMPAIGN_STATUS_TEXTS = {"draft": N_("draft"), "running": N_("running"), "closed": N_("closed")}
GROUP_TEXTS = {"target": N_("target group"), "control": N_("control group")}
LOST_PERIODS = (90, 180, 365)


def _none(value):
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def accounts_page(engine: Engine, gettext: Callable[[str], str], today: date | None = None,
                  status: str = "", page: int = 1, per_page: int = 50) -> dict:
    """The key-account health table, at-risk accounts first, with counts per status; one
    page of ``per_page`` accounts."""
    table = account_health(engine, today).reset_index()
    counts = {key: int((table["status"] == key).sum()) for key in STATUS_TEXTS}
    if status in STATUS_TEXTS:
        table = table[table["status"] == status]
    pages = max(1, -(-len(table) // per_page))
    page = min(max(1, page), pages)
    shown_total = len(table)
    table = table.iloc[(page - 1) * per_page:page * per_page]
    rows = []
    for row in table.to_dict(orient="records"):
        reasons = [r for r in (row["reasons"] or "").split(";") if r]
        rows.append({
            "customer_id": int(row["customer_id"]), "external_id": row["external_id"],
            "name": row["name"], "tier": _none(row["tier"]), "owner": _none(row["owner"]),
            "every_days": None if _none(row["every_days"]) is None else int(row["every_days"]),
            "last_visit": _none(row["last_visit"]), "due_on": _none(row["due_on"]),
            "overdue_days": _none(row["overdue_days"]), "never": bool(row["never_visited"]),
            "recent": _none(row["recent_spend"]), "baseline": _none(row["baseline_spend"]),
            "ratio": _none(row["spend_ratio"]), "z": _none(row["spend_z"]),
            "windows": int(row["spend_windows"]), "drop": bool(row["spend_drop"]),
            "open_cases": int(row["open_cases"]), "last_nps": _none(row["last_nps"]),
            "status": row["status"], "status_text": STATUS_TEXTS[row["status"]],
            "reason": reason_text(reasons, row, row["overdue_days"], gettext)})
    return {"rows": rows, "counts": counts, "total": sum(counts.values()), "status": status,
            "page": page, "pages": pages, "listed": shown_total,
            "today": table.attrs.get("about", {}).get("today")}


def lost_page(engine: Engine, days: int | None = None, today: date | None = None,
              page: int = 1, per_page: int = 100) -> dict:
    """The lost customers (of the last ``days`` days; one page of ``per_page``) and their
    breakdown by reason and competitor (of all of them)."""
    since = None
    if days:
        since = (pd.Timestamp(today or as_of(engine)) - pd.Timedelta(days=int(days))).date()
    lost = lost_customers(engine, since=since)
    parts = lost_breakdown(lost)
    pages = max(1, -(-len(lost) // per_page))
    page = min(max(1, page), pages)
    rows = lost.iloc[(page - 1) * per_page:page * per_page].to_dict(orient="records")
    for row in rows:
        row["last_purchase"] = _none(row["last_purchase"])
        row["competitor"] = _none(row["competitor"])
    return {"rows": rows, "n": len(lost), "days": days, "periods": LOST_PERIODS,
            "page": page, "pages": pages,
            "won_back": int(lost["bought_again"].sum()) if len(lost) else 0,
            "by_reason": parts["reason"].to_dict(orient="records"),
            "by_competitor": parts["competitor"].to_dict(orient="records"),
            "reason_n": parts["reason"].attrs["recorded"],
            "competitor_n": parts["competitor"].attrs["recorded"],
            "competitor_missing": parts["competitor"].attrs["not_recorded"]}


def customer_for_lost_form(engine: Engine, external_id: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(customers.c.id, customers.c.external_id, customers.c.name,
                                  customers.c.lost_on, customers.c.lost_reason,
                                  customers.c.lost_to)
                           .where(customers.c.external_id == (external_id or "").strip())
                           ).mappings().first()
    return dict(row) if row else None


def lost_choices(engine: Engine) -> dict:
    """Reasons and competitors already used, offered as suggestions on the form."""
    with engine.connect() as conn:
        reasons = sorted({r for (r,) in conn.execute(
            select(customers.c.lost_reason).where(customers.c.lost_reason.is_not(None))
            .distinct())})
        rivals = sorted({r for (r,) in conn.execute(
            select(customers.c.lost_to).where(customers.c.lost_to.is_not(None)).distinct())})
    return {"reasons": reasons, "competitors": rivals}


def campaigns_page(engine: Engine) -> dict:
    table = campaign_list(engine)
    return {"rows": table.to_dict(orient="records"), "status_texts": CAMPAIGN_STATUS_TEXTS,
            "task_texts": TASK_TYPE_TEXTS, "channel_texts": CHANNEL_TEXTS}


def selected_customers(engine: Engine, ids: list[int]) -> list[dict]:
    """The customers of a selection made on another list (by panel number)."""
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(customers.c.id, customers.c.external_id, customers.c.name)
                            .where(customers.c.id.in_(ids[:5000])).order_by(customers.c.id))
        return [dict(r) for r in rows.mappings()]


def new_campaign_form(engine: Engine, ids: list[int]) -> dict:
    return {"selected": selected_customers(engine, ids), "lists": NAMED_LISTS,
            "task_texts": TASK_TYPE_TEXTS, "channel_texts": CHANNEL_TEXTS}


def campaign_page(engine: Engine, code: str, today: date | None = None) -> dict:
    """A campaign and its result: per group n, bought again, rate, revenue; the differences
    with their intervals and p-values; small samples flagged."""
    result = campaign_results(engine, code, today)
    campaign = result["campaign"]
    with engine.connect() as conn:
        creator = conn.execute(select(users.c.display_name, users.c.email)
                               .where(users.c.id == campaign["created_by"])).first()
    groups = []
    if result["groups"] is not None:
        for name, row in result["groups"].iterrows():
            groups.append({"group": name, "label": GROUP_TEXTS[name], "n": int(row["n"]),
                           "bought_again": int(row["bought_again"]),
                           "rate": _none(row["rate"]), "revenue": float(row["revenue"]),
                           "per_customer": _none(row["revenue_per_customer"])})
    members = campaign_members_table(engine, code)
    sizes = {name: int((members["group"] == name).sum()) for name in ("target", "control")}
    return {"campaign": campaign, "result": result, "groups": groups, "sizes": sizes,
            "creator": (creator[0] or creator[1]) if creator else None,
            "status_texts": CAMPAIGN_STATUS_TEXTS, "task_texts": TASK_TYPE_TEXTS,
            "channel_texts": CHANNEL_TEXTS, "min_group": MIN_GROUP,
            "reason_texts": REASON_TEXTS}


__all__ = ["accounts_page", "campaign_page", "campaigns_page", "customer_for_lost_form",
           "lost_choices", "lost_page", "new_campaign_form", "selected_customers"]
