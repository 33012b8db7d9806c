"""The rewards catalogue: gifts, coupons and service upgrades members redeem points for.

A reward has a cost in points, and optionally a stock (units left; none: unlimited), a limit per
member, a lowest tier that may redeem it, and the days it is valid. Redeeming is in
:mod:`patronage.members.rewards`; this module adds, changes and lists rewards, with a clear
message for each bad value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.members.programme import company_today
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_members import REWARD_KINDS, member_tiers, redemptions, rewards

KIND_NAMES = {"gift": N_("gift"), "coupon": N_("coupon"), "service": N_("service upgrade")}
#: Fields as people read them (translated with the message).
FIELDS = {
    "code": Term(N_("reward code")), "name_en": Term(N_("English name")),
    "name_zh_hans": Term(N_("Simplified Chinese name")),
    "name_zh_hant": Term(N_("Traditional Chinese name")), "kind": Term(N_("kind of reward")),
    "points": Term(N_("cost in points")), "cost": Term(N_("cost")), "stock": Term(N_("stock")),
    "per_member_limit": Term(N_("limit per member")), "min_tier": Term(N_("lowest tier")),
    "valid_from": Term(N_("first valid day")), "valid_until": Term(N_("last valid day")),
    "description": Term(N_("description")), "active": Term(N_("active")),
}
NAMES = ("name_en", "name_zh_hans", "name_zh_hant")
EDITABLE = (*NAMES, "kind", "points", "cost", "stock", "per_member_limit", "min_tier",
            "valid_from", "valid_until", "description", "active")
MAX_POINTS = 2_000_000_000
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _whole(value, field: str, minimum: int, maximum: int = MAX_POINTS) -> int | None:
    if _blank(value):
        return None
    try:
        number = float(str(value).strip().replace(",", ""))
        if number != int(number):
            raise ValueError
        number = int(number)
    except (TypeError, ValueError, OverflowError):
        number = None
    if number is None or not minimum <= number <= maximum:
        raise UserError(N_("The {field} must be a whole number from {minimum} to {maximum}; "
                           "not {value!r}."), field=FIELDS[field], minimum=minimum,
                        maximum=f"{maximum:,d}", value=str(value)[:40])
    return number


def _day(value, field: str) -> date | None:
    if _blank(value) or isinstance(value, date):
        return None if _blank(value) else value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(N_("The {field} must be a date like 2026-06-30; not {value!r}."),
                        field=FIELDS[field], value=str(value)[:40]) from None


def _text(value, field: str, maximum: int) -> str | None:
    if _blank(value):
        return None
    text = str(value).strip()
    if "\x00" in text:
        raise UserError(N_("The {field} contains a NUL character; remove it."),
                        field=FIELDS[field])
    if len(text) > maximum:
        raise UserError(N_("The {field} can have at most {maximum} characters."),
                        field=FIELDS[field], maximum=maximum)
    return text


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "是")


def tier_rank(conn: Connection, code) -> int | None:
    """The rank of the tier ``code`` (None for a blank code); a clear error when unknown."""
    if _blank(code):
        return None
    rank = conn.execute(select(member_tiers.c.rank)
                        .where(member_tiers.c.code == str(code).strip())).scalar()
    if rank is None:
        known = conn.execute(select(member_tiers.c.code).order_by(member_tiers.c.rank))
        raise UserError(N_("There is no tier {tier!r}; the tiers are {known}."),
                        tier=str(code)[:30], known=", ".join(known.scalars()) or "-")
    return int(rank)


def _clean(conn: Connection, raw: dict) -> dict:
    """The stored values of the fields given in ``raw`` (a bad one raises its message)."""
    values: dict = {}
    for name in NAMES:
        if name in raw:
            values[name] = _text(raw[name], name, 200)
    if "kind" in raw:
        if raw["kind"] not in REWARD_KINDS:
            raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                            field=FIELDS["kind"], allowed=", ".join(REWARD_KINDS),
                            value=str(raw["kind"])[:40])
        values["kind"] = raw["kind"]
    if "points" in raw:
        values["points"] = _whole(raw["points"], "points", 0)
        if values["points"] is None:
            raise UserError(N_("The {field} is required."), field=FIELDS["points"])
    if "cost" in raw:
        values["cost"] = _cost(raw["cost"])
    for name, minimum in (("stock", 0), ("per_member_limit", 1)):
        if name in raw:
            values[name] = _whole(raw[name], name, minimum)
    if "min_tier" in raw:
        values["min_tier_rank"] = tier_rank(conn, raw["min_tier"])
    for name in ("valid_from", "valid_until"):
        if name in raw:
            values[name] = _day(raw[name], name)
    if "description" in raw:
        values["description"] = _text(raw["description"], "description", 2000)
    if "active" in raw:
        values["active"] = _flag(raw["active"])
    return values


def _cost(value) -> float | None:
    if _blank(value):
        return None
    try:
        cost = float(str(value).strip().replace(",", "").lstrip("¥"))
    except ValueError:
        cost = -1.0
    if not 0 <= cost <= 999_999_999_999 or cost != cost:
        raise UserError(N_("The {field} must be an amount of at least 0 yuan; not {value!r}."),
                        field=FIELDS["cost"], value=str(value)[:40])
    return cost


def _check(row: dict) -> None:
    if not any(row.get(n) for n in NAMES):
        raise UserError(N_("Give the reward a name."))
    if row.get("valid_from") and row.get("valid_until") and row["valid_until"] < row["valid_from"]:
        raise UserError(N_("The last valid day {until} is before the first valid day {start}."),
                        until=row["valid_until"].isoformat(), start=row["valid_from"].isoformat())


def _fill_names(values: dict) -> None:
    """A name given in one language stands in for the others left blank."""
    given = [values.get(n) for n in ("name_zh_hans", "name_zh_hant", "name_en") if values.get(n)]
    for name in NAMES:
        values[name] = values.get(name) or (given[0] if given else None)


def add_reward(engine: Engine, code: str, *, now: datetime | None = None, **fields) -> int:
    """Add a reward to the catalogue; returns its id. ``fields`` are those of :data:`EDITABLE`
    (``kind`` and ``points`` required; ``min_tier`` is a tier code)."""
    code = str(code or "").strip()
    if not _CODE.match(code):
        raise UserError(N_("The reward code must be 1 to 60 letters, digits, '.', '-' or '_', "
                           "starting with a letter or digit; not {value!r}."), value=code[:60])
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValueError(f"unknown reward fields {unknown}")
    fields.setdefault("kind", "gift")
    fields.setdefault("points", None)
    with write_transaction(engine) as conn:
        if conn.execute(select(rewards.c.id).where(rewards.c.code == code)).first():
            raise UserError(N_("A reward with the code {reward!r} exists already."), reward=code)
        values = _clean(conn, fields)
        _fill_names(values)
        _check(values)
        savepoint = conn.begin_nested()
        try:
            reward_id = conn.execute(insert(rewards).values(
                code=code, created_at=now or _now(), **values)).inserted_primary_key[0]
        except IntegrityError:
            savepoint.rollback()
            raise UserError(N_("A reward with the code {reward!r} exists already."),
                            reward=code) from None
        savepoint.commit()
    return int(reward_id)


def reward_row(conn: Connection, code: str, *, lock: bool = False) -> dict:
    """The reward ``code`` (row-locked on PostgreSQL when ``lock``); a clear error when there is
    none."""
    query = select(rewards).where(rewards.c.code == str(code or "").strip())
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise UserError(N_("There is no reward {reward!r}."), reward=str(code)[:60])
    return dict(row)


def update_reward(engine: Engine, code: str, **fields) -> dict:
    """Change a reward's fields (those of :data:`EDITABLE`); returns what changed:
    ``{field: (old, new)}``."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValueError(f"unknown reward fields {unknown}")
    with write_transaction(engine) as conn:
        row = reward_row(conn, code, lock=True)
        values = _clean(conn, fields)
        merged = {**row, **values}
        for name in NAMES:  # a name cannot be blanked; it keeps its value
            if name in values and not values[name]:
                values.pop(name)
                merged[name] = row[name]
        _check(merged)
        changed = {k: (row[k], v) for k, v in values.items() if row[k] != v}
        if changed:
            conn.execute(update(rewards).where(rewards.c.id == row["id"])
                         .values({k: new for k, (_old, new) in changed.items()}))
    return changed


def set_stock(engine: Engine, code: str, *, stock=None, add=None) -> int | None:
    """Set a reward's stock (blank: unlimited) or add to it (``add``, negative to remove);
    returns the new stock. Adding never takes it below zero."""
    with write_transaction(engine) as conn:
        row = reward_row(conn, code, lock=True)
        if add is not None and not _blank(add):
            delta = _whole(add, "stock", -MAX_POINTS)
            if row["stock"] is None:
                raise UserError(N_("The reward {reward!r} has no stock limit; set a stock "
                                   "first."), reward=row["code"])
            new = row["stock"] + delta
            if new < 0:
                raise UserError(N_("Only {stock} are in stock; {taken} cannot be taken out."),
                                stock=row["stock"], taken=-delta)
        else:
            new = _whole(stock, "stock", 0)
        conn.execute(update(rewards).where(rewards.c.id == row["id"]).values(stock=new))
    return new


def list_rewards(engine: Engine, *, language: str = "en", active_only: bool = False,
                 today: date | None = None) -> pd.DataFrame:
    """The catalogue: ``id, code, name, kind, points, cost, stock, per_member_limit,
    min_tier_rank, valid_from, valid_until, active, valid_now, redeemed`` (units redeemed and
    not cancelled), by points; ``valid_now`` on ``today`` (default the company's day)."""
    today = today or company_today()
    column = {"zh_Hans": "name_zh_hans", "zh_Hant": "name_zh_hant"}.get(language, "name_en")
    r, d = rewards.c, redemptions.c
    redeemed = (select(d.reward_id, func.sum(d.quantity).label("redeemed"))
                .where(d.status == "done").group_by(d.reward_id).subquery())
    query = (select(r.id, r.code, r[column].label("name"), r.kind, r.points, r.cost, r.stock,
                    r.per_member_limit, r.min_tier_rank, r.valid_from, r.valid_until,
                    r.description, r.active, func.coalesce(redeemed.c.redeemed, 0)
                    .label("redeemed"))
             .outerjoin(redeemed, redeemed.c.reward_id == r.id).order_by(r.points, r.code))
    if active_only:
        query = query.where(r.active.is_(True))
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=["id", "code", "name", "kind", "points", "cost", "stock",
                                      "per_member_limit", "min_tier_rank", "valid_from",
                                      "valid_until", "description", "active", "redeemed"])
    for name in ("stock", "per_member_limit", "min_tier_rank", "redeemed"):
        frame[name] = frame[name].astype("Int64")
    frame["valid_now"] = [bool(a) and (f is None or f <= today) and (u is None or today <= u)
                          for a, f, u in zip(frame["active"], frame["valid_from"],
                                             frame["valid_until"], strict=True)]
    return frame


__all__ = ["EDITABLE", "FIELDS", "KIND_NAMES", "add_reward", "list_rewards", "reward_row",
           "set_stock", "tier_rank", "update_reward"]
