"""Compliance with a service standard: its events (touchpoints or cases) each within the
standard or not, the share within per period and per site, team or agent, the p chart of that
share (limits varying with each period's n) and, for times, the X̄/S chart of the times per
period (the individuals chart of the period means when a period has a single event), with the
Western Electric run rules flagging special causes (:mod:`patronage.analytics.control_charts`).

And whether the standard matters to customers: the satisfaction answered after a touchpoint
served within the standard against after one served outside it (Welch's t test).
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics.control_charts import individuals_chart, p_chart, xbar_s_chart
from patronage.analytics.effect import mean_change
from patronage.analytics.ratings import mean_summary
from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.sla import calendar as business_calendar
from patronage.storage.schema import answers, cases, responses, touchpoints, users
from patronage.storage.schema_cases import teams

UNITS = ("site", "team", "agent")
#: Items read, in this order, as the satisfaction after a touchpoint.
SATISFACTION_ITEMS = ("overall_satisfaction", "csat", "satisfaction", "nps")
#: A response counts for the touchpoint it follows within this many days.
AFTER_DAYS = 30
EVENT_COLUMNS = ["at", "customer_id", "site", "team", "agent", "seconds", "within"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def period_start(at: pd.Series, period: str) -> pd.Series:
    """The first day of each time's week (Monday) or month."""
    day = pd.to_datetime(at).dt.normalize()
    if period == "week":
        return (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.date
    return day.dt.to_period("M").dt.start_time.dt.date


def events(engine: Engine, standard: dict, *, now: datetime | None = None,
           config: DeskConfig = DEFAULT) -> pd.DataFrame:
    """The standard's events, oldest first: ``at``, ``customer_id``, ``site``, ``team``,
    ``agent``, ``seconds`` (the measured time; NaN for right the first time) and ``within``."""
    now = now or _now()
    if standard["source"] == "case":
        frame = _case_events(engine, standard, now, config)
    else:
        frame = _touchpoint_events(engine, standard, config)
    return frame.sort_values("at", kind="stable").reset_index(drop=True)[EVENT_COLUMNS]


def _working(engine: Engine, config: DeskConfig, starts, ends) -> np.ndarray:
    with engine.connect() as conn:
        cal = business_calendar(conn, config)
    return np.array([np.nan if pd.isna(a) or pd.isna(b) else
                     cal.between(a.to_pydatetime(), b.to_pydatetime()).total_seconds()
                     for a, b in zip(starts, ends, strict=True)], dtype=float)


def _touchpoint_events(engine: Engine, standard: dict, config: DeskConfig) -> pd.DataFrame:
    t = touchpoints.c
    query = (select(t.occurred_at.label("at"), t.customer_id, t.site, t.team, t.agent,
                    t.waiting_seconds, t.handling_seconds, t.answered_at, t.ended_at,
                    t.right_first_time)
             .where(t.kind == standard["touchpoint_kind"]))
    if standard.get("channel"):
        query = query.where(t.channel == standard["channel"])
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=["at", "customer_id", "site", "team", "agent",
                                      "waiting_seconds", "handling_seconds", "answered_at",
                                      "ended_at", "right_first_time"])
    frame["at"] = pd.to_datetime(frame["at"]).astype("datetime64[ns]")
    metric = standard["metric"]
    if metric == "right_first_time":
        frame = frame[frame["right_first_time"].notna()].copy()
        frame["seconds"] = np.nan
        frame["within"] = frame["right_first_time"].astype(bool)
        return frame
    wait = pd.to_numeric(frame["waiting_seconds"], errors="coerce")
    handle = pd.to_numeric(frame["handling_seconds"], errors="coerce")
    if metric == "waiting":
        value, start = wait, frame["at"]
    elif metric == "handling":
        value, start = handle, frame["at"] + pd.to_timedelta(wait.fillna(0), unit="s")
    else:
        value = wait.fillna(0) + handle.fillna(0)
        value[wait.isna() & handle.isna()] = np.nan
        start = frame["at"]
    if standard.get("working_hours"):
        value = pd.Series(_working(engine, config, start,
                                   start + pd.to_timedelta(value, unit="s")), index=frame.index)
    frame["seconds"] = value
    frame = frame[frame["seconds"].notna()].copy()
    frame["within"] = frame["seconds"] <= float(standard["threshold_seconds"])
    return frame


def _case_events(engine: Engine, standard: dict, now: datetime,
                 config: DeskConfig) -> pd.DataFrame:
    """Resolved cases with their time to resolve; an open case already older than the threshold
    counts as outside (it cannot come back within), a younger one is not counted yet."""
    k = cases.c
    query = (select(k.opened_at.label("at"), k.customer_id, teams.c.name.label("team"),
                    func.coalesce(users.c.display_name, users.c.email).label("agent"),
                    k.resolved_at)
             .select_from(cases.outerjoin(teams, teams.c.id == k.team_id)
                          .outerjoin(users, users.c.id == k.owner_id)))
    if standard.get("case_category"):
        query = query.where(k.category == standard["case_category"])
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=["at", "customer_id", "team", "agent", "resolved_at"])
    frame["site"] = None
    frame["at"] = pd.to_datetime(frame["at"]).astype("datetime64[ns]")
    end = pd.to_datetime(frame["resolved_at"]).astype("datetime64[ns]").fillna(pd.Timestamp(now))
    if standard.get("working_hours"):
        seconds = pd.Series(_working(engine, config, frame["at"], end), index=frame.index)
    else:
        seconds = (end - frame["at"]).dt.total_seconds()
    limit = float(standard["threshold_seconds"])
    open_ = frame["resolved_at"].isna()
    frame["seconds"] = seconds.where(~open_, np.nan)
    frame["within"] = (seconds <= limit) & ~open_
    return frame[~open_ | (seconds > limit)].copy()


def compliance(frame: pd.DataFrame, standard: dict, by: str | None = None) -> pd.DataFrame:
    """Per period (and unit): ``n``, ``within``, ``share``, ``met`` (share ≥ target)."""
    columns = ["period", "unit", "n", "within", "share", "met"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    period = frame["period"] if "period" in frame.columns else \
        period_start(frame["at"], standard["period"])
    data = frame.assign(period=period, unit=frame[by].fillna("–") if by else "")
    table = (data.groupby(["unit", "period"], sort=True)["within"]
             .agg(n="size", within="sum").reset_index())
    table["share"] = table["within"] / table["n"]
    table["met"] = table["share"] >= float(standard["target"]) - 1e-12
    return table[columns]


def share_chart(table: pd.DataFrame, *, revisions: int = 1) -> pd.DataFrame:
    """The p chart of one unit's shares per period (periods without events are left out), with
    revised limits: as Montgomery does with trial limits (Example 7.1), the periods beyond the
    limits are left out of the centre line and the limits computed once more (``revisions``
    times), so that a quarter that slipped does not hide itself by dragging the centre line
    towards it. Every period is then judged against the revised limits."""
    within, n = table["within"].to_numpy(dtype=float), table["n"].to_numpy(dtype=float)
    keep = np.ones(len(n), dtype=bool)
    for _ in range(revisions + 1):
        center = float(within[keep].sum() / n[keep].sum())
        chart = p_chart(within, n, center=center)
        beyond = np.array([1 in r for r in chart["rules"]])
        if not (beyond & keep).any() or (keep & ~beyond).sum() < 2:
            break
        keep &= ~beyond
    chart.insert(0, "period", table["period"].to_numpy())
    return chart


def time_chart(frame: pd.DataFrame, standard: dict) -> tuple[str, pd.DataFrame] | None:
    """The X̄ chart of the times per period (``"xbar"``), or the individuals chart of the period
    means (``"i"``) when some period has a single time; None with fewer than 2 periods or for
    right the first time."""
    data = frame[frame["seconds"].notna()]
    if data.empty or standard["metric"] == "right_first_time":
        return None
    data = data.assign(period=period_start(data["at"], standard["period"]))
    groups = [(period, g["seconds"].to_numpy()) for period, g in data.groupby("period")]
    if len(groups) < 2:
        return None
    if all(len(values) >= 2 for _p, values in groups):
        chart, kind = xbar_s_chart([values for _p, values in groups])[0], "xbar"
    else:
        chart, kind = individuals_chart([values.mean() for _p, values in groups])[0], "i"
    chart.insert(0, "period", [period for period, _v in groups])
    return kind, chart


def judged_periods(part: pd.DataFrame, min_events: int = 0) -> pd.DataFrame | None:
    """The periods of one unit's compliance that its chart judges: those with at least
    ``min_events`` events; None when fewer than two are left (the unit is not judged)."""
    kept = part[part["n"] >= max(int(min_events), 1)]
    return kept if len(kept) >= 2 else None


def per_period(part: pd.DataFrame) -> int:
    """A unit's typical number of events per period (the median over its periods)."""
    return int(round(float(part["n"].median()))) if len(part) else 0


def judge(frame: pd.DataFrame, standard: dict, *,
          min_events: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The special causes on the p charts of the whole company and of each site, team and
    agent, each chart built on its periods with at least ``min_events`` events
    (:func:`judged_periods`): ``(signals, unjudged)``. ``signals``: ``unit_kind``, ``unit``,
    ``period``, ``share``, ``n``, ``rules``; ``unjudged``: the units with fewer than two such
    periods among two or more, ``unit_kind``, ``unit`` and ``n`` (their events per period,
    :func:`per_period`)."""
    found, skipped = [], []
    if frame.empty:
        return (pd.DataFrame(columns=["unit_kind", "unit", "period", "share", "n", "rules"]),
                pd.DataFrame(columns=["unit_kind", "unit", "n"]))
    data = frame.assign(period=period_start(frame["at"], standard["period"]))
    floor = max(int(min_events), 1)
    for by in (None, *UNITS):
        if by is not None and frame[by].isna().all():
            continue
        table = compliance(data, standard, by)
        periods = table.groupby("unit", sort=True)["n"].agg(["size", "median"])
        kept = table[table["n"] >= floor]
        judged = kept.groupby("unit").size().reindex(periods.index, fill_value=0)
        # One period: nothing to chart yet, whatever its size; two or more, too few judged.
        skipped += [{"unit_kind": by or "", "unit": unit, "n": int(round(float(median)))}
                    for unit, median in periods.loc[(periods["size"] >= 2) & (judged < 2),
                                                    "median"].items()]
        kept = kept[kept["unit"].isin(judged.index[judged >= 2])]
        for unit, part in kept.groupby("unit", sort=True):
            chart = share_chart(part)
            for row in chart[chart["signal"]].itertuples():
                found.append({"unit_kind": by or "", "unit": unit, "period": row.period,
                              "share": row.value, "n": int(row.n), "rules": row.rules})
    return (pd.DataFrame(found, columns=["unit_kind", "unit", "period", "share", "n", "rules"]),
            pd.DataFrame(skipped, columns=["unit_kind", "unit", "n"]))


def signals(frame: pd.DataFrame, standard: dict, *, min_events: int = 0) -> pd.DataFrame:
    """Every special cause (:func:`judge`'s first frame); ``min_events`` 0 judges every unit
    with at least 2 periods."""
    return judge(frame, standard, min_events=min_events)[0]


def _satisfaction(engine: Engine) -> tuple[str | None, pd.DataFrame]:
    """The first satisfaction item answered, and its answers with customer and time."""
    with engine.connect() as conn:
        present = set(conn.execute(select(answers.c.item_code).where(
            answers.c.item_code.in_(SATISFACTION_ITEMS)).distinct()).scalars())
        item = next((i for i in SATISFACTION_ITEMS if i in present), None)
        if item is None:
            return None, pd.DataFrame()
        r = responses.c
        rows = conn.execute(select(r.customer_id, r.submitted_at, answers.c.value_num)
                            .join(answers, answers.c.response_id == r.id)
                            .where(answers.c.item_code == item, answers.c.value_num.is_not(None),
                                   r.customer_id.is_not(None))).all()
    frame = pd.DataFrame(rows, columns=["customer_id", "submitted_at", "value"])
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"]).astype("datetime64[ns]")
    return item, frame


def within_vs_outside(engine: Engine, standard: dict, frame: pd.DataFrame) -> dict | None:
    """The satisfaction of customers after a touchpoint served within the standard against
    after one served outside it: each group's n, mean and 95% interval, the difference with
    Welch's interval and p-value. Each response is matched to the customer's latest event of
    the standard in the :data:`AFTER_DAYS` days before it (as the dashboards' touchpoint
    filter); responses after none are left out. None without satisfaction answers."""
    item, answered = _satisfaction(engine)
    if item is None or answered.empty or frame.empty:
        return None
    left = answered.sort_values("submitted_at")
    right = frame[["at", "customer_id", "within"]].sort_values("at")
    right = right.assign(at=right["at"].astype("datetime64[ns]"))
    left = left.assign(customer_id=left["customer_id"].astype("int64"))
    right = right.assign(customer_id=right["customer_id"].astype("int64"))
    matched = pd.merge_asof(left, right, left_on="submitted_at", right_on="at",
                            by="customer_id", direction="backward",
                            tolerance=pd.Timedelta(days=AFTER_DAYS)).dropna(subset=["at"])
    groups = {name: matched.loc[matched["within"] == flag, "value"].astype(float)
              for name, flag in (("within", True), ("outside", False))}
    out = {"item": item, "n": int(len(matched))}
    for name, values in groups.items():
        out[name] = mean_summary(values).to_dict() if len(values) else {"n": 0}
    if all(len(v) >= 2 for v in groups.values()):
        effect = mean_change(groups["outside"], groups["within"])
        out.update(difference=effect.change, ci_low=effect.ci_low, ci_high=effect.ci_high,
                   p_value=effect.p_value)
    return out


__all__ = ["AFTER_DAYS", "UNITS", "compliance", "events", "judge", "judged_periods", "per_period",
           "period_start", "share_chart", "signals", "time_chart", "within_vs_outside"]
