"""The management view (``/management``): one short screen of the figures a manager follows,
each taken from the page that details it and linking there.

- satisfaction: CSI and NPS of the latest wave against the wave before (the Overview's figures,
  :func:`patronage.reporting.overview.overview`);
- the three drivers to improve, in words (the Analysis page's importance–performance table);
- complaint categories of the latest month with cases against the month before (the cases the
  case list counts by category);
- value at risk (the Loyalty page's at-risk customers), programme liability (the programme
  report's figures) and open cases past their service level (the case list's "Breached" tab).

The survey figures honour the dashboard's filters; the others count every customer and case
(the filters choose survey responses). The slow part (models, bootstrap-free drivers, CLV) is
computed in the background like the Overview (:func:`slow_figures`); the case counts are cheap
queries of the moment (:func:`case_figures`), so a breach shows at once.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.cases.inputs import now_utc
from patronage.cases.queues import list_cases
from patronage.index_system import load_index_system
from patronage.members import report as programme
from patronage.messages import N_, UserError, translated
from patronage.reporting.case_desk import category_names
from patronage.reporting.filters import Filters
from patronage.reporting.formats import number, percent, wave_label
from patronage.reporting.overview import overview
from patronage.reporting.shared import (
    at_risk_table, fit_value_models, ipa_table, shared_call, survey_data_from_db, trend_table,
)
from patronage.storage.schema import OPEN_CASE_STATUSES, cases

log = logging.getLogger(__name__)

#: How many complaint categories the view lists.
TOP_CATEGORIES = 5
#: How many drivers to improve it names.
TOP_DRIVERS = 3
#: Why a card is empty when its computation failed on data it did not foresee (logged).
UNAVAILABLE = N_("This figure cannot be computed from the data yet.")
NOT_GIVEN = N_("Not given")
DRIVER_FOCUS = N_("{name}: matters much to customers (importance {importance}, rank {rank} of "
                  "{count}) but scores {performance} of 100, below the average of {average}.")
DRIVER_NEXT = N_("{name}: importance {importance} (rank {rank} of {count}), scores "
                 "{performance} of 100 (average {average}).")


def _card(build, gettext) -> dict:
    """``{"problem": None, **build()}`` or the reason the card cannot be shown (one card's
    failure never fails the view; an unexpected one is logged)."""
    try:
        return {"problem": None, **build()}
    except UserError as exc:
        return {"problem": translated(exc, gettext)}
    except ValueError as exc:  # the data cannot support the method (too few, no variance)
        log.warning("a management view card cannot be computed: %r", exc)
        return {"problem": gettext(UNAVAILABLE)}
    except Exception:  # noqa: BLE001
        log.exception("a management view card failed")
        return {"problem": gettext(UNAVAILABLE)}


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


# -- satisfaction ------------------------------------------------------------------------------

def _scores(engine: Engine, filters: Filters, gettext) -> dict:
    """The Overview's CSI and NPS of the latest wave and the change from the wave before, with
    what the filter bar offers (``options``, ``surveys``)."""
    result = shared_call(overview, engine, filters.survey, filters=filters)
    bar = {"options": result.options, "surveys": result.surveys, "survey": result.survey,
           "filters": result.filters}
    if result.empty:
        return {**bar, "problem": gettext(N_("No response matches these filters. Remove a filter "
                                            "or clear them all.") if result.filters.active
                                         else N_("No survey responses yet."))}
    waves = result.waves.to_dict(orient="records")
    latest, previous = waves[-1], (waves[-2] if len(waves) > 1 else None)
    figures = {}
    for key in ("csi", "nps"):
        now, before = _finite(latest[key]), _finite(previous[key]) if previous else None
        figures[key] = {"value": now, "previous": before,
                        "change": now - before if now is not None and before is not None
                        else None}
    return {**bar, "problem": None, "wave": wave_label(latest["wave"], gettext),
            "wave_code": latest["wave"], "n": int(latest["n"]),
            "previous_wave": wave_label(previous["wave"], gettext) if previous else None,
            "previous_n": int(previous["n"]) if previous else None, **figures}


def nps_change_p(engine: Engine, survey: str, filters: Filters, wave) -> float | None:
    """The p-value of the latest change of NPS as the Analysis page's trend gives it, when its
    latest wave is ``wave`` (else None)."""
    table = trend_table(filters.apply(survey_data_from_db(engine, survey)))
    return _finite(table.iloc[-1]["p_value"]) if table.index[-1] == wave else None


def drivers_to_improve(engine: Engine, survey: str, filters: Filters) -> pd.DataFrame:
    """The Analysis page's importance–performance table (same survey, filters and responses)
    in the order of what to improve first: the dimensions of the "concentrate here" quadrant
    by importance, then the others by importance times the points they miss to 100."""
    data = filters.apply(survey_data_from_db(engine, survey))
    table = ipa_table(data).copy()
    table["rank"] = table["importance"].rank(ascending=False, method="first").astype(int)
    focus = table["quadrant"].eq("concentrate_here")
    table["priority"] = table["importance"] * (100 - table["performance"])
    ordered = pd.concat([table[focus].sort_values("importance", ascending=False),
                         table[~focus].sort_values("priority", ascending=False)])
    ordered.attrs.update(table.attrs, n=len(data.meta))
    return ordered


def _drivers(engine: Engine, survey: str, filters: Filters, language: str, gettext) -> dict:
    table = drivers_to_improve(engine, survey, filters)
    system = load_index_system()
    average = table.attrs.get("performance_cut", table["performance"].mean())
    rows = []
    for code, row in table.head(TOP_DRIVERS).iterrows():
        focus = row["quadrant"] == "concentrate_here"
        name = system.label("dimension", str(code), language)
        text = gettext(DRIVER_FOCUS if focus else DRIVER_NEXT).format(
            name=name, importance=percent(row["importance"]), rank=int(row["rank"]),
            count=len(table), performance=number(row["performance"]),
            average=number(average))
        rows.append({"code": str(code), "name": name, "text": text, "focus": bool(focus)})
    return {"rows": rows, "n": int(table.attrs["n"])}


# -- value and liability -----------------------------------------------------------------------

def value_at_risk(engine: Engine) -> dict:
    """The Loyalty page's at-risk customers: their value at risk, how many, and how many
    customers the purchase model scored (the n)."""
    models = fit_value_models(engine)
    table = at_risk_table(engine, models=models)
    return {"value": float(table["value_at_risk"].sum()), "customers": len(table),
            "n": len(models.customers)}


def liability(engine: Engine) -> dict:
    """The programme report's outstanding points and liability (its default period)."""
    data = shared_call(programme.load_data, engine)
    found = shared_call(programme.programme_figures, engine, data=data)
    owed = found.liability
    return {"outstanding": float(found.headline["outstanding"]),
            "members": int(found.headline["members"]),
            "cost_per_point": float(owed["cost_per_point"]), "gross": float(owed["gross"]),
            "net": _finite(owed["net"]), "until": found.until}


def slow_figures(engine: Engine, filters: Filters, *, language: str, gettext) -> dict:
    """The cards computed in the background: satisfaction, drivers, value at risk,
    liability. A filter the data cannot take is the ``problem`` of the whole view."""
    try:
        scores = _scores(engine, filters, gettext)
    except UserError as exc:
        if getattr(exc, "kind", None) is not None:  # an unknown filter value: said by the route
            return {"filter_problem": exc}
        scores = {"problem": translated(exc, gettext), "options": {}, "surveys": [],
                  "filters": filters}
    if not scores["problem"] and scores["previous_wave"] is not None:
        try:
            scores["nps"]["p"] = nps_change_p(engine, scores["survey"], scores["filters"],
                                              scores["wave_code"])
        except ValueError:  # UserError included: no trend to test on these answers
            scores["nps"]["p"] = None
    drivers = ({"problem": scores["problem"]} if scores["problem"] else
               _card(lambda: _drivers(engine, scores["survey"], scores["filters"], language,
                                      gettext), gettext))
    return {"filter_problem": None, "scores": scores, "drivers": drivers,
            "risk": _card(lambda: value_at_risk(engine), gettext),
            "liability": _card(lambda: liability(engine), gettext)}


# -- cases (live) ------------------------------------------------------------------------------

def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def complaint_months(engine: Engine, *, now: datetime | None = None) -> dict:
    """Cases per category in the latest month with cases and in the month before: the current
    month up to now against the same days of the month before, or a past month (the data end
    there) against the whole month before. Months are those of the stored opening times, as
    the complaint analysis page counts its cases by month."""
    now = now or now_utc()
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(cases.c.opened_at))).scalar()
    if latest is None:
        raise UserError(N_("There are no cases yet."))
    latest = min(pd.Timestamp(latest).to_pydatetime(), now)
    start = _month_start(latest)
    before = _month_start(start - timedelta(days=1))
    current = start == _month_start(now)
    if current:
        end = now
        before_end = min(before + (end - start), start)
    else:
        end = _month_start(start + timedelta(days=32))
        before_end = start
    counts = {}
    with engine.connect() as conn:
        for key, low, high in (("now", start, end), ("before", before, before_end)):
            counts[key] = dict(conn.execute(
                select(cases.c.category, func.count()).where(
                    cases.c.opened_at >= low, cases.c.opened_at < high)
                .group_by(cases.c.category)).all())
    last = timedelta(microseconds=1)
    return {"counts": counts, "current": current, "start": start.date(),
            "end": (end - last).date(), "before": before.date(),
            "before_end": (before_end - last).date()}


def _complaints(engine: Engine, language: str, gettext, now) -> dict:
    months = complaint_months(engine, now=now)
    names = category_names(engine, language)
    this, last = months["counts"]["now"], months["counts"]["before"]
    total, total_before = sum(this.values()), sum(last.values())
    order = sorted(this, key=lambda k: (-this[k], str(k)))[:TOP_CATEGORIES]
    rows = [{"code": code, "name": names.get(code, code) if code else gettext(NOT_GIVEN),
             "count": this[code], "share": this[code] / total, "before": last.get(code, 0),
             "change": this[code] - last.get(code, 0)} for code in order]
    return {"rows": rows, "n": total, "n_before": total_before,
            **{k: months[k] for k in ("current", "start", "end", "before", "before_end")}}


def open_cases_past_sla(engine: Engine, *, now: datetime | None = None) -> dict:
    """Open cases past their service level (the case list's "Breached" tab, every owner) and
    the open cases they are among (the n)."""
    now = now or now_utc()
    breached = list_cases(engine, status="open", breached=True, now=now, limit=None)
    with engine.connect() as conn:
        open_total = conn.execute(select(func.count()).select_from(cases).where(
            cases.c.status.in_(OPEN_CASE_STATUSES))).scalar()
    return {"count": len(breached), "n": int(open_total or 0)}


def case_figures(engine: Engine, *, language: str, gettext,
                 now: datetime | None = None) -> dict:
    """The cards read at each visit: complaint categories and the open cases past SLA."""
    now = now or now_utc()
    return {"complaints": _card(lambda: _complaints(engine, language, gettext, now),
                                gettext),
            "sla": _card(lambda: open_cases_past_sla(engine, now=now), gettext)}


__all__ = ["case_figures", "complaint_months", "drivers_to_improve", "liability",
           "open_cases_past_sla", "slow_figures", "value_at_risk"]
