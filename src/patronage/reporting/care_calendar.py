"""What the care calendar shows: the coming occasions with their dates, weekdays, lunar dates,
reach, action and channel (the page and ``patronage care calendar``), and the occasions with
their settings for the edit forms.

Labels are English messages marked with :func:`N_`; the page translates them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.care.calendar import PERSONAL_KINDS, upcoming
from patronage.care.occasions import list_occasions
from patronage.care.texts import from_columns, pick
from patronage.messages import N_
from patronage.storage.schema import customers
from patronage.storage.schema_care import care_greetings

KIND_LABELS = {"birthday": N_("Birthday"), "first_purchase": N_("First-purchase anniversary"),
               "contract": N_("Contract anniversary"), "festival": N_("Festival"),
               "company": N_("Company day")}
ACTION_LABELS = {"greeting": N_("Greeting"), "task": N_("Task")}
CHANNEL_LABELS = {"sms": N_("Text message"), "email": N_("E-mail")}
TASK_TYPE_LABELS = {"call": N_("Call"), "visit": N_("Visit"), "message": N_("Message")}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
LANGUAGE_LABELS = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}


def company_today(settings) -> date:
    """Today in the company's time zone (the ``timezone`` setting)."""
    return datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()


def calendar_table(engine: Engine, *, days: int = 60, today: date | None = None,
                   settings=None) -> pd.DataFrame:
    """The coming occasions as a table (``patronage care calendar``), names in English and
    Chinese, lunar dates in Chinese."""
    if settings is None:
        from patronage.settings import Settings
        settings = Settings()
    rows = upcoming(engine, today or company_today(settings), days, settings=settings)
    columns = ["date", "weekday", "code", "kind", "name", "name_zh", "lunar_date", "reach",
               "action", "channel", "days_before", "active"]
    return pd.DataFrame([{
        "date": row["date"].isoformat(), "weekday": row["date"].strftime("%a"),
        "code": row["code"], "kind": row["kind"], "name": row["name_en"],
        "name_zh": row["name_zh_hans"],
        "lunar_date": row["lunar_date"]["zh_Hans"] if row["lunar_date"] else "",
        "reach": row["reach"], "action": row["action"],
        "channel": row["channel"] or "", "days_before": row["days_before"],
        "active": bool(row["active"])} for row in rows], columns=columns)


def occasion_table(engine: Engine) -> pd.DataFrame:
    """Every occasion with its settings (``patronage care occasion list``)."""
    columns = ["code", "kind", "name", "name_zh", "when", "action", "channel", "tiers",
               "days_before", "gift", "gift_cost", "active"]
    return pd.DataFrame([{
        "code": row["code"], "kind": row["kind"], "name": row["name_en"],
        "name_zh": row["name_zh_hans"], "when": _when(row), "action": row["action"],
        "channel": row["channel"] or "", "tiers": ",".join(row["tiers"] or []),
        "days_before": row["days_before"], "gift": row["gift"] or "",
        "gift_cost": row["gift_cost"], "active": bool(row["active"])}
        for row in list_occasions(engine)], columns=columns)


def _when(row: dict) -> str:
    if row["on_date"] is not None:
        return row["on_date"].isoformat()
    if row["month"] and row["day"]:
        return f"{'lunar ' if row['lunar'] else ''}{row['month']:02d}-{row['day']:02d}"
    return row["kind"]


def _tier_choices(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [t for t in conn.execute(select(customers.c.tier).where(
            customers.c.tier.is_not(None)).distinct().order_by(customers.c.tier)).scalars()]


def _sent_counts(engine: Engine) -> dict[tuple[int, date], int]:
    g = care_greetings.c
    with engine.connect() as conn:
        rows = conn.execute(select(g.occasion_id, g.occasion_on, func.count())
                            .where(g.contact_id.is_not(None) | g.task_id.is_not(None))
                            .group_by(g.occasion_id, g.occasion_on)).all()
    return {(oid, on): n for oid, on, n in rows}


def calendar_page(engine: Engine, *, language: str, settings, days: int = 60,
                  today: date | None = None, everything: bool = False) -> dict:
    """The care calendar page: the coming occurrences (name in ``language``, date, weekday,
    lunar date for lunar festivals, reach, action, channel, on/off, greetings already sent)
    and every occasion with its settings for the edit forms.

    Birthdays and anniversaries come every day: those switched off are left out of the list
    unless ``everything``; festivals and company days are always listed."""
    today = today or company_today(settings)
    rows = [row for row in upcoming(engine, today, days, settings=settings)
            if everything or row["active"] or row["kind"] not in PERSONAL_KINDS]
    sent = _sent_counts(engine)
    script = "zh_Hant" if language == "zh_Hant" else "zh_Hans"
    items = [{
        "code": row["code"], "name": pick(from_columns(row, "name"), language),
        "kind": None if row["kind"] in PERSONAL_KINDS else KIND_LABELS[row["kind"]],
        "date": row["date"],
        "weekday": WEEKDAYS[row["weekday"] - 1],
        "lunar": row["lunar_date"][script] if row["lunar_date"] else None,
        "days_away": (row["date"] - today).days, "send_on": row["send_on"],
        "reach": row["reach"], "action": ACTION_LABELS[row["action"]],
        "channel": CHANNEL_LABELS.get(row["channel"]) if row["action"] == "greeting" else
        TASK_TYPE_LABELS.get(row["task_type"] or "call"),
        "active": bool(row["active"]), "done": sent.get((row["id"], row["date"]), 0)}
        for row in rows]
    every = []
    for row in list_occasions(engine):
        every.append({**row, "label": pick(from_columns(row, "name"), language),
                      "kind_label": KIND_LABELS[row["kind"]],
                      "tiers_text": ", ".join(row["tiers"] or []),
                      "builtin": row["kind"] != "company"})
    return {"today": today, "days": days, "everything": everything, "items": items,
            "occasions": every,
            "tiers": _tier_choices(engine), "languages": LANGUAGE_LABELS,
            "channels": CHANNEL_LABELS, "actions": ACTION_LABELS,
            "task_types": TASK_TYPE_LABELS}


__all__ = ["ACTION_LABELS", "CHANNEL_LABELS", "KIND_LABELS", "TASK_TYPE_LABELS", "WEEKDAYS",
           "calendar_page", "calendar_table", "company_today", "occasion_table"]
