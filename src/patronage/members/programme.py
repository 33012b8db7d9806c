"""The programme's policy (one row of ``member_programme``) and the tiers it offers.

:func:`load_policy` reads the policy into a :class:`Policy`; :func:`expiry_date` says when points
earned on a day expire under it; :func:`load_tiers` lists the tiers from the entry card up.
:func:`update_policy` changes the policy, :func:`add_tier`, :func:`update_tier` and
:func:`remove_tier` the tiers (a tier members hold cannot be removed: switch it off or move
them first), each after checking every value and naming the first bad one.
:func:`case_severity_floor` is the tiers' service priority for the case desk.

The programme's days are the company's: :func:`company_today` and :func:`company_day` turn the
stored times (naive UTC) into dates in the company's time zone (the ``PATRONAGE_TIMEZONE``
setting, as the case desk's working days and the care work lists use), so a reward valid until
the 31st can be redeemed until midnight on the 31st in Shanghai, not until 08:00.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import CASE_SEVERITIES
from patronage.storage.schema_members import (
    EXPIRY_POLICIES, SHORTFALL_POLICIES, TIER_BASES, member_programme, member_tiers, members,
    rewards,
)


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
    active: bool = True
    benefits: dict[str, str | None] = field(default_factory=dict)

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names["en"]

    def benefit(self, language: str = "en") -> str | None:
        """What the tier offers, in ``language`` (the English text when there is none)."""
        return self.benefits.get(language) or self.benefits.get("en")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def company_zone(timezone: str | None = None) -> ZoneInfo:
    """The company's time zone: ``timezone``, else the ``PATRONAGE_TIMEZONE`` setting (which
    the settings check when they are read)."""
    if timezone is None:
        from patronage.settings import Settings

        timezone = Settings().timezone
    return ZoneInfo(str(timezone))


def company_day(moment: datetime, zone: ZoneInfo | str | None = None) -> date:
    """The company's date of ``moment`` (naive UTC, as stored)."""
    zone = zone if isinstance(zone, ZoneInfo) else company_zone(zone)
    return moment.replace(tzinfo=UTC).astimezone(zone).date()


def company_times(stamps: pd.Series, zone: ZoneInfo | str | None = None) -> pd.Series:
    """Stored moments (naive UTC) as the company's wall-clock times (naive), a whole column at
    once (the accrual judges a purchase's day, its member day and its month on these:
    ``.dt.normalize()`` gives the company's day)."""
    zone = zone if isinstance(zone, ZoneInfo) else company_zone(zone)
    stamps = pd.to_datetime(stamps)
    return stamps.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)


def company_today(now: datetime | None = None, timezone: ZoneInfo | str | None = None) -> date:
    """Today in the company's time zone (``now``: naive UTC, default the current time): the day
    a reward's validity, the expiry run and the tier reviews go by."""
    return company_day(now or _now(), timezone)


def local_moment(moment: datetime | None, zone: ZoneInfo | str | None = None) -> datetime | None:
    """A stored moment (naive UTC) as the company's wall-clock time (naive), for showing."""
    if moment is None:
        return None
    zone = zone if isinstance(zone, ZoneInfo) else company_zone(zone)
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


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
                        "zh_Hant": r["name_zh_hant"]}, active=bool(r["active"]),
                 benefits={"en": r["benefits_en"], "zh_Hans": r["benefits_zh_hans"],
                           "zh_Hant": r["benefits_zh_hant"]})
            for r in conn.execute(query).mappings()]


#: The policy's settings as people read them (translated with the messages that name them).
POLICY_LABELS = {
    "name": N_("programme name"), "card_prefix": N_("card number prefix"),
    "tier_basis": N_("tier qualification basis"),
    "tier_window_months": N_("qualification window (months)"),
    "review_months": N_("tier review every (months)"), "grace_days": N_("grace period (days)"),
    "expiry_policy": N_("points expiry"), "expiry_months": N_("points expire after (months)"),
    "expiry_month": N_("fixed expiry month"), "expiry_day": N_("fixed expiry day"),
    "expiry_years": N_("fixed expiry after (years)"), "cost_per_point": N_("cost per point (¥)"),
    "refund_shortfall": N_("refund of spent points"),
    "active_months": N_("active member: activity within (months)"),
}
#: Whole-number settings and their ranges.
POLICY_RANGES = {"tier_window_months": (1, 120), "review_months": (1, 120),
                 "grace_days": (0, 3650), "expiry_months": (1, 240), "expiry_month": (1, 12),
                 "expiry_day": (1, 31), "expiry_years": (0, 50), "active_months": (1, 120)}
POLICY_CHOICES = {"tier_basis": TIER_BASES, "expiry_policy": EXPIRY_POLICIES,
                  "refund_shortfall": SHORTFALL_POLICIES}
#: The words of the policy's choices.
CHOICE_LABELS = {
    "points": N_("base points earned"), "spend": N_("spend (¥)"), "none": N_("never"),
    "rolling": N_("rolling, N months after earning"),
    "fixed": N_("on a fixed date each year"),
    "carry": N_("carry as a negative balance settled by future earnings"),
    "write_off": N_("written off by the programme"),
}
#: A tier's settings as people read them.
TIER_LABELS = {
    "code": N_("tier code"), "name_en": N_("English name"),
    "name_zh_hans": N_("Simplified Chinese name"), "name_zh_hant": N_("Traditional Chinese name"),
    "rank": N_("rank"), "qualify_value": N_("qualifying value"),
    "multiplier": N_("points multiplier"), "case_severity": N_("case priority"),
    "gift_rewards": N_("gift rewards"), "benefits_en": N_("benefits (English)"),
    "benefits_zh_hans": N_("benefits (Simplified Chinese)"),
    "benefits_zh_hant": N_("benefits (Traditional Chinese)"), "active": N_("active"),
}
TIER_FIELDS = tuple(TIER_LABELS)
_CODE = re.compile(r"[a-z0-9][a-z0-9_\-]{0,29}")
_TRUE = {"1", "true", "yes", "y", "on", "是"}
_FALSE = {"0", "false", "no", "n", "off", "否", ""}
SEVERITY_ORDER = {severity: rank for rank, severity in enumerate(CASE_SEVERITIES)}


def _bad(field: str, labels: dict, message: str, **params) -> UserError:
    return UserError(message, field=Term(labels.get(field, field)), **params)


def _whole(value, field: str, low: int, high: int, labels: dict) -> int:
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise _bad(field, labels, N_("The {field} must be a whole number from {low} to {high}; "
                                     "not {value!r}."), low=low, high=high, value=text[:40])
    return number


def _number(value, field: str, low: float, high: float, labels: dict, *,
            above: bool = False) -> float:
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if (number is None or number != number or number > high or number < low
            or (above and number <= low)):
        message = (N_("The {field} must be a number above {low} and at most {high}; not "
                      "{value!r}.") if above else
                   N_("The {field} must be a number from {low} to {high}; not {value!r}."))
        raise _bad(field, labels, message, low=f"{low:g}", high=f"{high:g}", value=text[:40])
    return number


def _text(value, field: str, limit: int, labels: dict, *, required: bool = False) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text:
        if required:
            raise _bad(field, labels, N_("The {field} is required."))
        return None
    if "\x00" in text:
        raise _bad(field, labels, N_("The {field} contains a NUL character; remove it."))
    if len(text) > limit:
        raise _bad(field, labels, N_("The {field} can have at most {maximum} characters."),
                   maximum=limit)
    return text


def _choice(value, field: str, choices: tuple[str, ...], labels: dict) -> str:
    text = str(value).strip()
    if text not in choices:
        raise _bad(field, labels, N_("The {field} must be one of {allowed}; not {value!r}."),
                   allowed=", ".join(choices), value=text[:40])
    return text


def _flag(value, field: str, labels: dict) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _bad(field, labels, N_("The {field} must be yes or no; not {value!r}."),
               value=text[:40])


def check_policy(values: dict) -> dict:
    """The policy settings of ``values`` checked and converted (text as typed is fine:
    ``{"grace_days": "60"}``); UserError names the first unknown or bad setting."""
    known = {f.name for f in fields(Policy)}
    out = {}
    for key, value in values.items():
        if key not in known:
            raise UserError(N_("There is no programme setting {name!r}; the settings are "
                               "{choices}."), name=str(key)[:40], choices=", ".join(sorted(known)))
        labels = POLICY_LABELS
        if key == "name":
            out[key] = _text(value, key, 100, labels, required=True)
        elif key == "card_prefix":
            prefix = _text(value, key, 8, labels, required=True)
            if not prefix.isdigit():
                raise _bad(key, labels, N_("The {field} must be 1 to 8 digits; not {value!r}."),
                           value=prefix)
            out[key] = prefix
        elif key in POLICY_CHOICES:
            out[key] = _choice(value, key, POLICY_CHOICES[key], labels)
        elif key == "cost_per_point":
            out[key] = _number(value, key, 0.0, 1000.0, labels)
        else:
            out[key] = _whole(value, key, *POLICY_RANGES[key], labels)
    return out


def update_policy(engine: Engine, *, now: datetime | None = None, **values) -> Policy:
    """Change the programme's settings named in ``values`` (see :class:`Policy`); returns the
    policy as it now stands. Nothing is changed when one value is bad.

    A change applies from now on: points already earned keep the expiry date they were given,
    and members keep their next review date."""
    checked = check_policy(values)
    with write_transaction(engine) as conn:
        merged = {**asdict(load_policy(conn)), **checked}
        if merged["expiry_day"] > calendar.monthrange(2024, merged["expiry_month"])[1]:
            raise _bad("expiry_day", POLICY_LABELS, N_(
                "The {field} {day} does not exist in month {month}."),
                day=merged["expiry_day"], month=merged["expiry_month"])
        if checked:
            exists = conn.execute(select(member_programme.c.id)
                                  .where(member_programme.c.id == 1)).first()
            stamp = {"updated_at": now or _now()}
            if exists:
                conn.execute(update(member_programme).where(member_programme.c.id == 1)
                             .values(**checked, **stamp))
            else:
                conn.execute(insert(member_programme).values(id=1, **merged, **stamp))
        return load_policy(conn)


def _reward_codes(conn: Connection, value) -> list[str]:
    if value is None:
        return []
    codes = value if isinstance(value, list | tuple) else str(value).replace("，", ",").split(",")
    codes = [str(c).strip() for c in codes if str(c).strip()]
    if codes:
        found = set(conn.execute(select(rewards.c.code).where(rewards.c.code.in_(codes)))
                    .scalars())
        missing = [c for c in codes if c not in found]
        if missing:
            raise UserError(N_("There is no reward {code!r} in the catalogue; add it first or "
                               "fix the code."), code=missing[0][:60])
    return list(dict.fromkeys(codes))


def _tier_values(conn: Connection, values: dict) -> dict:
    """``values`` for a tier row, checked; UserError names the first bad one."""
    labels, out = TIER_LABELS, {}
    for key, value in values.items():
        if key not in TIER_FIELDS or key == "code":
            raise UserError(N_("There is no tier setting {name!r}; the settings are {choices}."),
                            name=str(key)[:40], choices=", ".join(TIER_FIELDS[1:]))
        if key in ("name_en", "name_zh_hans", "name_zh_hant"):
            out[key] = _text(value, key, 100, labels, required=True)
        elif key.startswith("benefits_"):
            out[key] = _text(value, key, 2000, labels)
        elif key == "rank":
            out[key] = _whole(value, key, 0, 99, labels)
        elif key == "qualify_value":
            out[key] = _number(value, key, 0.0, 1e12, labels)
        elif key == "multiplier":
            out[key] = _number(value, key, 0.0, 100.0, labels, above=True)
        elif key == "case_severity":
            text = "" if value is None else str(value).strip()
            out[key] = _choice(text, key, CASE_SEVERITIES, labels) if text else None
        elif key == "gift_rewards":
            out[key] = _reward_codes(conn, value) or None
        else:
            out[key] = _flag(value, key, labels)
    return out


def _tier_code(value) -> str:
    code = str(value or "").strip().lower()
    if not _CODE.fullmatch(code):
        raise _bad("code", TIER_LABELS, N_("The {field} must be 1 to 30 lower-case letters, "
                                           "digits, - or _; not {value!r}."), value=code[:40])
    return code


def _write_tier(conn: Connection, statement) -> None:
    savepoint = conn.begin_nested()
    try:
        conn.execute(statement)
    except IntegrityError:
        savepoint.rollback()
        raise UserError(N_("Another tier has this rank; give each tier its own rank (0 is "
                           "the entry card).")) from None
    savepoint.commit()


def add_tier(engine: Engine, code: str, *, name_en: str, name_zh_hans: str | None = None,
             name_zh_hant: str | None = None, rank: int | str, qualify_value=0,
             multiplier=1.0, **more) -> Tier:
    """Add a tier (a VIP card): ``code`` (``gold``), names in the three languages (Chinese
    names default to the Simplified one, then the English one), ``rank`` (0 = the entry card),
    the ``qualify_value`` that reaches it (base points or ¥ in the window, by the programme's
    basis), its points ``multiplier``, and optionally ``case_severity``, ``gift_rewards``,
    ``benefits_*``. Members qualifying for it move up when they next earn or at review."""
    code = _tier_code(code)
    name_zh_hans = name_zh_hans or name_en
    values = {"name_en": name_en, "name_zh_hans": name_zh_hans,
              "name_zh_hant": name_zh_hant or name_zh_hans, "rank": rank,
              "qualify_value": qualify_value, "multiplier": multiplier, **more}
    with write_transaction(engine) as conn:
        checked = _tier_values(conn, values)
        if conn.execute(select(member_tiers.c.code).where(member_tiers.c.code == code)).first():
            raise UserError(N_("There is a tier {code!r} already; change it instead."), code=code)
        _write_tier(conn, insert(member_tiers).values(code=code, **checked))
        return next(t for t in load_tiers(conn, active_only=False) if t.code == code)


def update_tier(engine: Engine, code: str, **values) -> Tier:
    """Change the settings of tier ``code`` named in ``values`` (see :func:`add_tier`;
    ``active=False`` switches it off: nobody new reaches it, its members keep it until their
    review)."""
    with write_transaction(engine) as conn:
        code = _existing_tier(conn, code)
        checked = _tier_values(conn, values)
        if checked:
            _write_tier(conn, update(member_tiers).where(member_tiers.c.code == code)
                        .values(**checked))
        return next(t for t in load_tiers(conn, active_only=False) if t.code == code)


def _existing_tier(conn: Connection, code) -> str:
    text = str(code or "").strip().lower()
    if not conn.execute(select(member_tiers.c.code).where(member_tiers.c.code == text)).first():
        raise UserError(N_("There is no tier {code!r}; the tiers are {choices}."),
                        code=text[:40], choices=", ".join(
                            t.code for t in load_tiers(conn, active_only=False)) or "–")
    return text


def remove_tier(engine: Engine, code: str) -> None:
    """Remove tier ``code``; refused while members hold it (switch it off with
    :func:`update_tier` ``active=False``, or move its members first)."""
    with write_transaction(engine) as conn:
        code = _existing_tier(conn, code)
        held = conn.execute(select(func.count()).select_from(members)
                            .where(members.c.tier_code == code)).scalar_one()
        if held:
            raise UserError(N_("{count} members hold tier {code}; it cannot be removed. Switch "
                               "it off or move its members to another tier first."),
                            count=int(held), code=code)
        conn.execute(delete(member_tiers).where(member_tiers.c.code == code))


def tier_members(conn: Connection) -> dict[str, int]:
    """How many active members hold each tier."""
    rows = conn.execute(select(members.c.tier_code, func.count()).where(
        members.c.status == "active").group_by(members.c.tier_code)).all()
    return {code: int(n) for code, n in rows if code is not None}


@dataclass(frozen=True)
class Priority:
    """A case's severity floor from the customer's tier."""

    severity: str
    tier: str


def case_severity_floor(conn: Connection, customer_id: int | None) -> Priority | None:
    """The least severity a new case of this customer opens at: their tier's
    ``case_severity`` while they are an active member (None otherwise)."""
    if customer_id is None:
        return None
    row = conn.execute(
        select(member_tiers.c.case_severity, member_tiers.c.code)
        .join(members, members.c.tier_code == member_tiers.c.code)
        .where(members.c.customer_id == customer_id, members.c.status == "active",
               member_tiers.c.case_severity.is_not(None))).first()
    return Priority(row[0], row[1]) if row else None


def raised_severity(severity: str, floor: Priority | None) -> str:
    """``severity`` raised to the floor's when the floor is higher."""
    if floor is None or SEVERITY_ORDER.get(floor.severity, -1) <= SEVERITY_ORDER.get(severity, -1):
        return severity
    return floor.severity


__all__ = ["CHOICE_LABELS", "POLICY_LABELS", "Policy", "Priority", "TIER_FIELDS", "TIER_LABELS",
           "Tier", "add_months", "add_tier", "case_severity_floor", "check_policy",
           "company_day", "company_times", "company_today", "company_zone", "local_moment",
           "expiry_date", "load_policy", "load_tiers", "raised_severity", "remove_tier",
           "tier_members", "update_policy", "update_tier"]
