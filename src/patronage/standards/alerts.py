"""The worker's alerts of breached service standards: when a period has ended, the owner of
each active standard whose share within it fell below the target, for the whole company or a
site, team or agent, gets one mail per period and unit, through the outbox.

The breach is recorded under the unique ``(standard, period, unit)`` in the same transaction as
its mail, so two workers at once, or a worker killed after sending, alert once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.actions.reminders import today_in
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.inputs import now_utc
from patronage.standards.compliance import UNITS, compliance, events
from patronage.standards.records import list_standards
from patronage.storage import write_transaction
from patronage.storage.schema import users
from patronage.storage.schema_standards import standard_breaches
from patronage.surveys.outbox import enqueue

#: A site, team or agent is alerted of from this many events in the period.
MIN_UNIT_EVENTS = 10
MAIL = {
    "en": {"subject": "Service standard missed: {name} ({unit}, {period})",
           "body": "{share} of {n} were within the standard \"{name}\" in the {period_word} "
                   "from {period} ({unit}); the target is {target}.\nSee {link}\n",
           "all": "whole company", "week": "week", "month": "month",
           "site": "site", "team": "team", "agent": "agent"},
    "zh_Hans": {"subject": "服务标准未达成：{name}（{unit}，{period}）",
                "body": "自 {period} 起的这一{period_word}，「{name}」的 {n} 次服务中达标 {share}"
                        "（{unit}），目标为 {target}。\n详见 {link}\n",
                "all": "全公司", "week": "周", "month": "月",
                "site": "网点", "team": "团队", "agent": "人员"},
    "zh_Hant": {"subject": "服務標準未達成：{name}（{unit}，{period}）",
                "body": "自 {period} 起的這一{period_word}，「{name}」的 {n} 次服務中達標 {share}"
                        "（{unit}），目標為 {target}。\n詳見 {link}\n",
                "all": "全公司", "week": "週", "month": "月",
                "site": "網點", "team": "團隊", "agent": "人員"},
}


def last_complete_period(today: date, period: str) -> date:
    """The first day of the last week (Monday) or month that has ended before ``today``."""
    if period == "week":
        return today - timedelta(days=today.weekday() + 7)
    first = today.replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


def breaches(frame: pd.DataFrame, standard: dict, period: date) -> list[dict]:
    """The breaches of one ended period: the whole company, and each site, team or agent with
    at least :data:`MIN_UNIT_EVENTS` events."""
    found = []
    for by in (None, *UNITS):
        table = compliance(frame, standard, by)
        table = table[(table["period"] == period) & ~table["met"]]
        if by:
            table = table[table["n"] >= MIN_UNIT_EVENTS]
        for row in table.itertuples():
            found.append({"unit": f"{by}:{row.unit}" if by else "", "share": float(row.share),
                          "n": int(row.n)})
    return found


def run_standard_alerts(engine: Engine, *, now: datetime | None = None,
                        config: DeskConfig = DEFAULT) -> int:
    """Alert the owner of every breached active standard of its last ended period; returns
    how many alerts were queued."""
    now = now or now_utc()
    today = today_in(now, config.timezone)
    words = MAIL.get(config.language, MAIL["en"])
    sent = 0
    for standard in list_standards(engine, active_only=True).to_dict("records"):
        if standard["owner_id"] is None or pd.isna(standard["owner_id"]):
            continue
        period = last_complete_period(today, standard["period"])
        frame = events(engine, standard, now=now, config=config)
        for breach in breaches(frame, standard, period):
            sent += _alert(engine, standard, period, breach, now, words, config)
    return sent


def _alert(engine, standard, period, breach, now, words, config: DeskConfig) -> int:
    with write_transaction(engine) as conn:
        owner = conn.execute(select(users.c.email, users.c.is_active)
                             .where(users.c.id == int(standard["owner_id"]))).first()
        if owner is None or not owner.is_active:
            return 0
        savepoint = conn.begin_nested()
        try:
            conn.execute(insert(standard_breaches).values(
                standard_id=int(standard["id"]), period_start=period, unit=breach["unit"],
                share=breach["share"], n=breach["n"], alerted_at=now,
                user_id=int(standard["owner_id"])))
        except IntegrityError:  # alerted of this period and unit before, here or elsewhere
            savepoint.rollback()
            return 0
        savepoint.commit()
        kind, _, name = breach["unit"].partition(":")
        values = {"name": standard["name"], "period": period.isoformat(),
                  "period_word": words[standard["period"]],
                  "unit": f"{words[kind]} {name}" if kind else words["all"],
                  "share": f"{breach['share'] * 100:.1f}%", "n": breach["n"],
                  "target": f"{standard['target'] * 100:g}%",
                  "link": f"{config.base_url.rstrip('/')}/standards/{standard['code']}"}
        enqueue(conn, kind="standard_breach", to_address=owner.email,
                subject=words["subject"].format(**values)[:300],
                body_text=words["body"].format(**values), now=now)
        return 1


__all__ = ["MAIL", "MIN_UNIT_EVENTS", "breaches", "last_complete_period",
           "run_standard_alerts"]
