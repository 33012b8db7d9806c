"""Rewards as the pages show them: the catalogue page, and the rewards a member can redeem now
(the redemption form on a customer's profile)."""

from __future__ import annotations

import uuid
from datetime import date

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.members.catalogue import EDITABLE, KIND_NAMES, list_rewards, reward_row
from patronage.members.expiry import member_points
from patronage.members.programme import company_today, load_tiers
from patronage.members.rewards import CHANNEL_NAMES, MAX_QUANTITY, redemptions_table
from patronage.messages import UserError
from patronage.storage.schema_members import member_tiers, members, redemptions

#: Redemptions listed on the catalogue page and on a profile.
RECENT = 30
ON_PROFILE = 8


def _records(frame) -> list[dict]:
    """Rows of a frame as dicts, with missing values as None (never NaN on a page)."""
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()}
            for row in frame.astype(object).to_dict(orient="records")]


def _tier_names(engine: Engine, language: str) -> dict[int, str]:
    with engine.connect() as conn:
        return {tier.rank: tier.name(language) for tier in load_tiers(conn, active_only=False)}


def redeem_choices(engine: Engine, customer_pk: int, language: str = "en",
                   today: date | None = None, *, timezone: str | None = None) -> dict | None:
    """What the profile's redemption form offers the member, or None for a non-member:
    the points they can spend now, the rewards they can afford (with the most units each),
    how many more need more points, the member's latest redemptions, and a fresh idempotency
    key for the form (a second click of the same form redeems once). Days are the company's
    (``timezone``, default the setting's)."""
    today = today or company_today(timezone=timezone)
    with engine.connect() as conn:
        member = conn.execute(select(members.c.id, members.c.card_no, members.c.status,
                                     func.coalesce(member_tiers.c.rank, 0).label("rank"))
                              .outerjoin(member_tiers, member_tiers.c.code == members.c.tier_code)
                              .where(members.c.customer_id == customer_pk)).mappings().first()
        if member is None:
            return None
        points = member_points(conn, member["id"], today)
        done = dict(conn.execute(select(redemptions.c.reward_id, func.sum(redemptions.c.quantity))
                                 .where(redemptions.c.member_id == member["id"],
                                        redemptions.c.status == "done")
                                 .group_by(redemptions.c.reward_id)).all())
    spendable = points["points"] - points["due"]
    catalogue = list_rewards(engine, language=language, active_only=True, today=today)
    choices, short = [], 0
    for reward in _records(catalogue):
        if not reward["valid_now"] or (reward["min_tier_rank"] or 0) > member["rank"]:
            continue
        most = [MAX_QUANTITY]
        if reward["stock"] is not None:
            most.append(int(reward["stock"]))
        if reward["per_member_limit"] is not None:
            most.append(int(reward["per_member_limit"]) - int(done.get(reward["id"], 0)))
        if reward["points"]:
            most.append(spendable // int(reward["points"]))
        if min(most) < 1:
            short += int(reward["points"] > spendable)
            continue
        choices.append({"code": reward["code"], "name": reward["name"], "kind": reward["kind"],
                        "points": int(reward["points"]), "most": min(most)})
    recent = redemptions_table(engine, member_id=member["id"], limit=ON_PROFILE,
                               language=language, timezone=timezone)
    return {"member_id": member["id"], "customer_id": customer_pk, "card_no": member["card_no"],
            "active": member["status"] == "active", "points": points["points"],
            "due": points["due"], "spendable": spendable, "pending": points["pending"],
            "expiring": points["expiring"], "choices": choices, "short": short,
            "recent": _records(recent), "channels": CHANNEL_NAMES, "kinds": KIND_NAMES,
            "most": max((c["most"] for c in choices), default=1), "key": uuid.uuid4().hex}


def reward_form(engine: Engine, code: str) -> dict | None:
    """A reward's fields as the edit form shows them (None when there is no such reward)."""
    with engine.connect() as conn:
        try:
            row = reward_row(conn, code)
        except UserError:
            return None
        tier = conn.execute(select(member_tiers.c.code)
                            .where(member_tiers.c.rank == row["min_tier_rank"])).scalar()
    values = {k: ("" if row[k] is None else row[k]) for k in EDITABLE if k in row}
    values.update(code=row["code"], min_tier=tier or "", active=bool(row["active"]),
                  cost="" if row["cost"] is None else f"{row['cost']:g}")
    for name in ("valid_from", "valid_until"):
        values[name] = row[name].isoformat() if row[name] else ""
    return values


def rewards_page(engine: Engine, language: str = "en", today: date | None = None, *,
                 edit: str = "", timezone: str | None = None) -> dict:
    """The catalogue page: every reward with its terms and units redeemed, the tiers for the
    forms, headline counts, the latest redemptions, a fresh idempotency key for the
    redeem-by-card form, and the reward being edited (``edit``: its code) if any."""
    today = today or company_today(timezone=timezone)
    names = _tier_names(engine, language)
    rows = _records(list_rewards(engine, language=language, today=today))
    for row in rows:
        row["min_tier"] = names.get(row["min_tier_rank"]) if row["min_tier_rank"] else None
    recent = _records(redemptions_table(engine, limit=RECENT, language=language,
                                        timezone=timezone))
    with engine.connect() as conn:
        tiers = [{"code": t.code, "name": t.name(language), "rank": t.rank}
                 for t in load_tiers(conn)]
        totals = conn.execute(select(func.count(), func.coalesce(func.sum(redemptions.c.points), 0))
                              .where(redemptions.c.status == "done")).one()
    return {"rows": rows, "tiers": tiers, "recent": recent, "channels": CHANNEL_NAMES,
            "kinds": KIND_NAMES,
            "valid_now": sum(1 for r in rows if r["valid_now"]),
            "redemptions": int(totals[0]), "points_redeemed": int(totals[1]),
            "editing": reward_form(engine, edit) if edit else None, "key": uuid.uuid4().hex}


__all__ = ["ON_PROFILE", "RECENT", "redeem_choices", "reward_form", "rewards_page"]
