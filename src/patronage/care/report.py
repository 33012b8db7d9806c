"""The care report: completion rate, reach rate and outcome mix of follow-up tasks per team
and ISO week (definitions in :mod:`patronage.analytics.care`), for the page and
``patronage analyze care``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics.care import care_rates, iso_week, outcome_mix
from patronage.care.outcomes import list_outcomes
from patronage.care.tasks import day_bounds, local_zone
from patronage.messages import N_, UserError
from patronage.storage.schema_care import care_outcomes, care_tasks
from patronage.storage.schema_cases import teams

BY = ["team", "week"]


def _tasks(engine: Engine, since: datetime, until: datetime) -> pd.DataFrame:
    t = care_tasks.c
    query = (select(t.id, t.due_at, t.status, t.outcome, teams.c.name.label("team"),
                    care_outcomes.c.reached)
             .outerjoin(teams, teams.c.id == t.team_id)
             .outerjoin(care_outcomes, care_outcomes.c.code == t.outcome)
             .where(t.due_at >= since, t.due_at < until))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return pd.DataFrame([dict(r) for r in rows],
                        columns=["id", "due_at", "status", "outcome", "team", "reached"])


def care_report(engine: Engine, *, weeks: int = 12, now: datetime | None = None,
                timezone: str | None = None) -> dict:
    """``{"rates", "weekly", "mix", "since", "until", "weeks", "outcomes"}``: the rates per team
    and week (``team`` "" for tasks of no team), per week over all teams, the outcome mix per
    team and week, over the last ``weeks`` ISO weeks up to this one (in ``timezone``)."""
    if not 1 <= int(weeks) <= 520:
        raise UserError(N_("The number of weeks must be from 1 to 520; not {weeks}."),
                        weeks=weeks)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    today_start, _ = day_bounds(now, timezone)
    local_today = now.replace(tzinfo=UTC).astimezone(local_zone(timezone)).date()
    monday = local_today - timedelta(days=local_today.weekday())
    first = monday - timedelta(weeks=int(weeks) - 1)
    since = today_start - timedelta(days=(local_today - first).days)
    until = today_start + timedelta(days=(monday - local_today).days + 7)
    tasks = _tasks(engine, since, until)
    zone = local_zone(timezone)
    local = pd.to_datetime(tasks["due_at"]).dt.tz_localize("UTC").dt.tz_convert(zone)
    tasks = tasks.assign(week=iso_week(local.dt.tz_localize(None)) if len(tasks) else [],
                         team=tasks["team"].fillna(""))
    outcomes = {o["code"]: o for o in list_outcomes(engine)}
    return {"rates": care_rates(tasks, BY), "weekly": care_rates(tasks, ["week"]),
            "mix": outcome_mix(tasks, BY), "since": first, "until": monday + timedelta(days=6),
            "weeks": int(weeks), "outcomes": outcomes, "tasks": len(tasks)}


def last_completed(engine: Engine) -> datetime | None:
    """When a follow-up task was last completed (None: never)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(care_tasks.c.completed_at))).scalar()


def care_table(report: dict) -> pd.DataFrame:
    """One row per team and week: the rates with their n and the count of each outcome."""
    rates, mix = report["rates"], report["mix"]
    table = rates.copy()
    if not mix.empty:
        counts = mix.pivot_table(index=BY, columns="outcome", values="n", aggfunc="sum",
                                 fill_value=0)
        counts.columns = [f"outcome_{c}" for c in counts.columns]
        table = table.merge(counts.reset_index(), on=BY, how="left")
        table[list(counts.columns)] = table[list(counts.columns)].fillna(0).astype(int)
    table.attrs["about"] = {
        "since": f"{report['since']:%Y-%m-%d}", "until": f"{report['until']:%Y-%m-%d}",
        "weeks": report["weeks"],
        "definitions": {"completion_rate": "completed tasks / tasks due in the week "
                        "(cancelled tasks left out); n = tasks",
                        "reach_rate": "completed tasks whose outcome reached the customer / "
                        "completed tasks; n = completed",
                        "outcome_<code>": "completed tasks with that final outcome"}}
    table.attrs["notes"] = [f"Tasks due {report['since']:%Y-%m-%d} to "
                            f"{report['until']:%Y-%m-%d}, by team and ISO week; intervals are "
                            "Wilson 95%."]
    return table


__all__ = ["care_report", "care_table"]
