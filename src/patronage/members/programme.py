"""The programme's policy (one row of ``member_programme``) and the tiers it offers.

:func:`load_policy` reads the policy into a :class:`Policy`; :func:`expiry_date` says when points
earned on a day expire under it; :func:`load_tiers` lists the tiers from the entry card up.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from sqlalchemy import Connection, select

from patronage.storage.schema_members import member_programme, member_tiers


@dataclass(frozen=True)
class Policy:
    """The programme's rules, as stored (see :mod:`patronage.storage.schema_members`)."""

    name: str = "Membership"
    card_prefix: str = "8"
    tier_basis: str = "spend"
    tier_window_months: int = 12
    review_months: int = 12
    grace_days: int = 90
    expiry_policy: str = "rolling"
    expiry_months: int = 24
    expiry_month: int = 12
    expiry_day: int = 31
    expiry_years: int = 1
    cost_per_point: float = 0.01
    refund_shortfall: str = "carry"
    active_months: int = 12


@dataclass(frozen=True)
class Tier:
    code: str
    rank: int
    qualify_value: float
    multiplier: float
    case_severity: str | None
    gift_rewards: tuple[str, ...]
    names: dict[str, str]

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names["en"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def load_policy(conn: Connection) -> Policy:
    """The programme's policy (the defaults when the row is missing)."""
    names = [f.name for f in fields(Policy)]
    row = conn.execute(select(*(member_programme.c[n] for n in names))
                       .where(member_programme.c.id == 1)).mappings().first()
    return Policy(**{k: v for k, v in dict(row or {}).items() if v is not None})


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, kept to the last day of a shorter month (31 Jan + 1 month
    is 28 or 29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_date(policy: Policy, earned_on: date) -> date | None:
    """When points earned on ``earned_on`` expire: never (``none``), ``expiry_months`` later
    (``rolling``), or on the fixed day ``expiry_years`` after the year they were earned in
    (``fixed``; 31 Dec with one year: points of 2026 expire on 31 Dec 2027)."""
    if policy.expiry_policy == "none":
        return None
    if policy.expiry_policy == "rolling":
        return add_months(earned_on, policy.expiry_months)
    year = earned_on.year + policy.expiry_years
    last = calendar.monthrange(year, policy.expiry_month)[1]
    return date(year, policy.expiry_month, min(policy.expiry_day, last))


def load_tiers(conn: Connection, *, active_only: bool = True) -> list[Tier]:
    """The tiers, entry tier first."""
    t = member_tiers
    query = select(t).order_by(t.c.rank)
    if active_only:
        query = query.where(t.c.active.is_(True))
    return [Tier(code=r["code"], rank=int(r["rank"]), qualify_value=float(r["qualify_value"]),
                 multiplier=float(r["multiplier"]), case_severity=r["case_severity"],
                 gift_rewards=tuple(r["gift_rewards"] or ()),
                 names={"en": r["name_en"], "zh_Hans": r["name_zh_hans"],
                        "zh_Hant": r["name_zh_hant"]})
            for r in conn.execute(query).mappings()]


__all__ = ["Policy", "Tier", "add_months", "expiry_date", "load_policy", "load_tiers"]
