"""The care calendar: the occasions a customer is greeted or thanked on, and their dates.

Occasions are rows of ``care_occasions``:

* personal ones, one date per customer: ``birthday`` (``customers.birthday``), ``first_purchase``
  (the anniversary of the first transaction that is not a refund, on the customer's local date)
  and ``contract`` (``customers.contract_on``); an anniversary counts from the first full year;
* ``festival``: 春节 (lunar 1/1), 元宵 (lunar 1/15), 端午 (lunar 5/5), 中秋 (lunar 8/15), 国庆
  (10-01) and 元旦 (01-01), and any the company adds with a month and day, solar or lunar;
* ``company``: a day the company defines, on a date (``on_date``) or every year on a month and
  day (solar or lunar).

The built-in occasions (birthday, the two anniversaries and the six festivals) are inserted on
first use, **switched off**: nothing is sent until someone turns an occasion on and reads its
templates. Lunar dates are converted with the maintained ``lunar_python`` package (6tail's
calendar, which follows the Purple Mountain Observatory's tables). A lunar day that a given year
lacks (the 30th of a 29-day month, such as 除夕 on 腊月三十) falls on the month's last day.

**29 February.** A birthday or anniversary on 29 February falls on **28 February** in a common
year: it stays in February, in the same month the customer counts it in, and it comes before
the real day rather than after it. The same holds for a company day on 29 February.

A customer's "today" is the date in their own time zone (``customers.timezone``, else the
``timezone`` setting): a customer in New York has their birthday greeting when it is their
birthday in New York, half a day after a customer in Shanghai born on the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.care.reach import reachable_channel, why_not
from patronage.storage import write_transaction
from patronage.storage.schema import customers, transactions
from patronage.storage.schema_care import care_occasions

PERSONAL_KINDS = ("birthday", "first_purchase", "contract")
#: When a customer has several occasions within the quiet period, the first kind here wins.
KIND_PRIORITY = {"birthday": 0, "contract": 1, "first_purchase": 2, "company": 3, "festival": 4}

_GREETING = {
    "birthday": ("Happy birthday, {name}! With our best wishes from all of us.",
                 "{name}，祝您生日快乐！感谢您一直以来的支持。",
                 "{name}，祝您生日快樂！感謝您一直以來的支持。"),
    "first_purchase": ("{name}, it is a year since your first purchase with us. Thank you!",
                       "{name}，感谢您与我们相伴又一年！",
                       "{name}，感謝您與我們相伴又一年！"),
    "contract": ("{name}, thank you for another year of working together.",
                 "{name}，感谢您又一年的信任与合作！",
                 "{name}，感謝您又一年的信任與合作！"),
    "festival": ("{name}, we wish you a happy {occasion}!",
                 "{name}，祝您{occasion}快乐，阖家幸福！",
                 "{name}，祝您{occasion}快樂，闔家幸福！"),
}
#: The built-in occasions: code, kind, names (en, zh_Hans, zh_Hant), month, day, lunar.
BUILTIN = (
    ("birthday", "birthday", ("Birthday", "生日", "生日"), None, None, False),
    ("first_purchase", "first_purchase",
     ("Anniversary of first purchase", "首次购买周年", "首次購買週年"), None, None, False),
    ("contract", "contract", ("Contract anniversary", "签约周年", "簽約週年"), None, None, False),
    ("new_year", "festival", ("New Year's Day", "元旦", "元旦"), 1, 1, False),
    ("spring_festival", "festival", ("Spring Festival", "春节", "春節"), 1, 1, True),
    ("lantern_festival", "festival", ("Lantern Festival", "元宵节", "元宵節"), 1, 15, True),
    ("dragon_boat", "festival", ("Dragon Boat Festival", "端午节", "端午節"), 5, 5, True),
    ("mid_autumn", "festival", ("Mid-Autumn Festival", "中秋节", "中秋節"), 8, 15, True),
    ("national_day", "festival", ("National Day", "国庆节", "國慶節"), 10, 1, False),
)
_LUNAR_MONTHS = ("正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊")
_LUNAR_DAYS = ("初一", "初二", "初三", "初四", "初五", "初六", "初七", "初八", "初九", "初十",
               "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十",
               "廿一", "廿二", "廿三", "廿四", "廿五", "廿六", "廿七", "廿八", "廿九", "三十")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- time zones

def customer_zone(customer: Mapping, default: str = "Asia/Shanghai") -> ZoneInfo:
    """The customer's own time zone (``customers.timezone``), else ``default``."""
    for name in (customer.get("timezone"), default, "Asia/Shanghai"):
        if name:
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_time(now: datetime, zone: ZoneInfo) -> datetime:
    """The naive-UTC instant ``now`` as a wall-clock time in ``zone`` (naive)."""
    return now.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The date it is in ``zone`` at the naive-UTC instant ``now``."""
    return local_time(now, zone).date()


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone`` as naive UTC."""
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- dates

def yearly(month: int, day: int, year: int) -> date:
    """``month``/``day`` in ``year``; 29 February is 28 February in a common year."""
    try:
        return date(year, month, day)
    except ValueError:
        if month == 2 and day == 29:
            return date(year, 2, 28)
        raise


def anniversary(start: date | None, year: int) -> date | None:
    """The anniversary of ``start`` in ``year`` (None before its first full year)."""
    if start is None or year <= start.year:
        return None
    return yearly(start.month, start.day, year)


def birthday_in(birthday: date | None, year: int) -> date | None:
    """The birthday in ``year`` (also in the year of birth: the calendar greets the living)."""
    return None if birthday is None else yearly(birthday.month, birthday.day, year)


def lunar_to_solar(year: int, month: int, day: int) -> date:
    """The solar date of lunar ``month``/``day`` of lunar year ``year`` (a missing 30th falls
    on the month's 29th)."""
    from lunar_python import Lunar

    for wanted in (day, day - 1):
        try:
            solar = Lunar.fromYmd(year, month, wanted).getSolar()
        except Exception:  # noqa: BLE001 - the package raises a bare Exception for a bad day
            continue
        return date(solar.getYear(), solar.getMonth(), solar.getDay())
    raise ValueError(f"lunar year {year} has no month {month} day {day}")


def lunar_of(on: date) -> dict:
    """The lunar date of ``on``: month, day, leap (a leap month) and Chinese text in both
    scripts (正月初一, 闰六月初五 / 閏六月初五)."""
    from lunar_python import Solar

    lunar = Solar.fromYmd(on.year, on.month, on.day).getLunar()
    month, day = abs(lunar.getMonth()), lunar.getDay()
    leap = lunar.getMonth() < 0
    name = _LUNAR_MONTHS[month - 1] + "月" + _LUNAR_DAYS[day - 1]
    return {"month": month, "day": day, "leap": leap,
            "zh_Hans": ("闰" if leap else "") + name,
            "zh_Hant": ("閏" if leap else "") + name.replace("腊", "臘")}


def occasion_dates(occasion: Mapping, start: date, end: date) -> list[date]:
    """The dates of a festival or company occasion from ``start`` to ``end`` (both included);
    personal occasions have no dates of their own (see :func:`personal_date`)."""
    if occasion.get("on_date") is not None:
        on = occasion["on_date"]
        return [on] if start <= on <= end else []
    month, day = occasion.get("month"), occasion.get("day")
    if not month or not day:
        return []
    found = set()
    for year in range(start.year - 1, end.year + 1):
        on = (lunar_to_solar(year, month, day) if occasion.get("lunar")
              else yearly(month, day, year))
        if start <= on <= end:
            found.add(on)
    return sorted(found)


def personal_date(kind: str, person: Mapping, year: int) -> date | None:
    """The date of a personal occasion of ``person`` in ``year`` (``person`` has ``birthday``,
    ``contract_on`` and ``first_purchase_on``)."""
    if kind == "birthday":
        return birthday_in(person.get("birthday"), year)
    if kind == "contract":
        return anniversary(person.get("contract_on"), year)
    if kind == "first_purchase":
        return anniversary(person.get("first_purchase_on"), year)
    return None


def personal_dates(kind: str, person: Mapping, start: date, end: date) -> list[date]:
    """The dates of a personal occasion of ``person`` from ``start`` to ``end``."""
    found = (personal_date(kind, person, year) for year in range(start.year, end.year + 1))
    return [on for on in found if on is not None and start <= on <= end]


# --------------------------------------------------------------------------- built-ins

def _builtin_rows(now: datetime) -> list[dict]:
    rows = []
    for code, kind, (en, hans, hant), month, day, lunar in BUILTIN:
        template = _GREETING["festival" if kind == "festival" else kind]
        rows.append(dict(code=code, kind=kind, name_en=en, name_zh_hans=hans, name_zh_hant=hant,
                         month=month, day=day, lunar=lunar, action="greeting", channel="sms",
                         template_en=template[0], template_zh_hans=template[1],
                         template_zh_hant=template[2], days_before=0, active=False,
                         created_at=now))
    return rows


def ensure_builtin(engine: Engine, now: datetime | None = None) -> int:
    """Insert the built-in occasions that are missing (switched off); returns how many."""
    with engine.connect() as conn:
        have = set(conn.execute(select(care_occasions.c.code)).scalars())
    missing = [row for row in _builtin_rows(now or _now()) if row["code"] not in have]
    if not missing:
        return 0
    added = 0
    with write_transaction(engine) as conn:
        for row in missing:
            savepoint = conn.begin_nested()
            try:
                conn.execute(insert(care_occasions).values(**row))
            except IntegrityError:  # another process inserted it just now
                savepoint.rollback()
                continue
            savepoint.commit()
            added += 1
    return added


# --------------------------------------------------------------------------- audience

def occasions(conn: Connection, *, active_only: bool = False) -> list[dict]:
    """Every occasion (or the active ones) as dicts, by kind priority then code."""
    query = select(care_occasions)
    if active_only:
        query = query.where(care_occasions.c.active.is_(True))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    return sorted(rows, key=lambda r: (KIND_PRIORITY.get(r["kind"], 9), r["code"]))


def audience(conn: Connection, *, default_zone: str = "Asia/Shanghai",
             customer_ids: Iterable[int] | None = None, consenting: bool = False) -> list[dict]:
    """Customers as the calendar sees them: contact fields, consent, tier, time zone, language,
    birthday, contract date and the local date of their first purchase (not a refund); with
    ``consenting`` only those who consent to care."""
    c = customers.c
    query = select(c.id, c.external_id, c.name, c.phone, c.email, c.tier, c.language,
                   c.timezone, c.consent_care, c.preferences, c.birthday, c.contract_on,
                   c.region)
    first = (select(transactions.c.customer_id,
                    func.min(transactions.c.occurred_at).label("first_at"))
             .where(transactions.c.is_refund.is_(False))
             .group_by(transactions.c.customer_id))
    if consenting:
        query = query.where(c.consent_care.is_(True))
    if customer_ids is not None:
        ids = list(customer_ids)
        query = query.where(c.id.in_(ids))
        first = first.where(transactions.c.customer_id.in_(ids))
    people = [dict(r) for r in conn.execute(query.order_by(c.id)).mappings()]
    firsts = dict(conn.execute(first).all())
    for person in people:
        at = firsts.get(person["id"])
        zone = customer_zone(person, default_zone)
        person["zone"] = zone
        person["first_purchase_on"] = local_today(at, zone) if at is not None else None
    return people


def in_audience(occasion: Mapping, person: Mapping) -> bool:
    """Is ``person`` among those the occasion is for (its tiers; NULL: everyone)?"""
    tiers = occasion.get("tiers")
    return not tiers or person.get("tier") in tiers


def reaches(occasion: Mapping, person: Mapping) -> bool:
    """Would the occasion reach ``person``: in its audience, consenting to care, not opted out,
    and for a greeting reachable by text message or e-mail?"""
    if not in_audience(occasion, person) or why_not(person, "any") is not None:
        return False
    return occasion["action"] == "task" or reachable_channel(person, occasion["channel"]) is not None


def upcoming(engine: Engine, today: date, days: int = 60, *, settings=None) -> list[dict]:
    """The occurrences of every occasion from ``today`` to ``today + days``: one row per
    occasion and date with the number of customers it would reach (``reach``), whether it is
    switched on, and for lunar festivals the lunar date. Sorted by date."""
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 366:
        raise ValueError(f"days must be a whole number from 0 to 366; got {days!r}")
    zone = settings.timezone if settings is not None else "Asia/Shanghai"
    ensure_builtin(engine)
    end = today + timedelta(days=days)
    with engine.connect() as conn:
        every = occasions(conn)
        people = audience(conn, default_zone=zone)
    rows = []
    for occasion in every:
        if occasion["kind"] in PERSONAL_KINDS:
            counts: dict[date, int] = {}
            for person in people:
                for on in personal_dates(occasion["kind"], person, today, end):
                    counts.setdefault(on, 0)
                    counts[on] += reaches(occasion, person)
            dated = sorted(counts.items())
        else:
            reach = sum(reaches(occasion, person) for person in people)
            dated = [(on, reach) for on in occasion_dates(occasion, today, end)]
        for on, reach in dated:
            rows.append({**{k: occasion[k] for k in (
                "id", "code", "kind", "name_en", "name_zh_hans", "name_zh_hant", "lunar",
                "action", "channel", "active", "tiers", "gift", "gift_cost", "days_before",
                "task_type")},
                "date": on, "send_on": on - timedelta(days=occasion["days_before"]),
                "weekday": on.isoweekday(), "reach": reach,
                "lunar_date": lunar_of(on) if occasion["lunar"] else None})
    rows.sort(key=lambda r: (r["date"], KIND_PRIORITY.get(r["kind"], 9), r["code"]))
    return rows


__all__ = [
    "BUILTIN", "KIND_PRIORITY", "PERSONAL_KINDS", "anniversary", "audience", "birthday_in",
    "customer_zone", "ensure_builtin", "in_audience", "local_time", "local_today",
    "lunar_of", "lunar_to_solar", "occasion_dates", "occasions", "personal_date",
    "personal_dates", "reaches", "to_utc", "upcoming", "yearly",
]
