"""The action board: every action with its measured effect, grouped as a manager follows them —
late (open, past its due date), open, achieved, not achieved, done but not yet measurable —
with counts; and one action's page. The sentences come in the reader's language."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, select

from patronage.actions.measure import SurveyCache, SurveyStore, measure, sentence
from patronage.actions.records import (
    METRIC_LABELS, SOURCE_LABELS, STATUS_LABELS, action_of, is_late, is_open, list_actions,
    segment_pairs,
)
from patronage.actions.sources import prefill
from patronage.actions.standard_effect import StandardCache
from patronage.index_system import load_index_system
from patronage.labels import labels_for
from patronage.messages import N_
from patronage.storage.schema import users
from patronage.storage.schema_actions import ACTION_STATUSES
from patronage.storage.schema_cases import teams

#: The board's groups in page order, with their English names.
GROUPS = (("late", N_("Late")), ("open", N_("Open, on time")), ("achieved", N_("Achieved")),
          ("not_achieved", N_("Not achieved")), ("waiting", N_("Done, effect not yet known")),
          ("cancelled", N_("Cancelled")))


ALL_CUSTOMERS = N_("All customers")


def group_of(row: dict, achieved: bool | None, today: date) -> str:
    if row["status"] == "cancelled":
        return "cancelled"
    if is_open(row):
        return "late" if is_late(row, today) else "open"
    if achieved is None:
        return "waiting"
    return "achieved" if achieved else "not_achieved"


def metric_label(kind: str, code: str | None, language: str, gettext) -> str:
    """The metric as the reader knows it: a dimension's or item's name, NPS, CSI."""
    if kind in ("dimension", "item"):
        return load_index_system().label(kind, code, language)
    if kind == "standard":
        return f"{gettext(METRIC_LABELS[kind])} {code}"
    return gettext(METRIC_LABELS[kind])


def segment_label(segment: str | None, label, gettext) -> str:
    """The segment in the reader's words (``label``: :func:`~patronage.labels.labels_for`)."""
    pairs = segment_pairs(segment)
    if not pairs:
        return gettext(ALL_CUSTOMERS)
    return " · ".join(label(key, value) for key, value in pairs)


def _shown(row: dict, label, data, standards: StandardCache, *, language: str, gettext,
           today: date, min_sample: int) -> dict:
    engine = data.engine
    metric = metric_label(row["metric_kind"], row["metric_code"], language, gettext)
    if row["metric_kind"] == "standard":
        found, promise = standards.measure(row, min_sample=min_sample)
        metric = promise["name"] if promise is not None else metric
    else:
        found = measure(row, data(row["survey"]), min_sample=min_sample)
    return {**row, "measurement": found, "effect": found.effect, "metric": metric,
            "sentence": sentence(found, metric, row["target_change"], gettext),
            "group": group_of(row, found.achieved, today), "late": is_late(row, today),
            "status_label": STATUS_LABELS[row["status"]],
            "source_label": SOURCE_LABELS[row["source"]],
            "source_name": prefill(engine, row["source"], row["source_ref"] or "",
                                   language=language, gettext=gettext)["about"],
            "segment_label": segment_label(row["segment"], label, gettext),
            "owner": row["owner_name"] or row["owner_email"]}


def board(engine: Engine, *, status: str | None = None, owner: str | int | None = None,
          team: str | None = None, group: str | None = None, language: str = "en",
          gettext=lambda s: s, today: date | None = None, min_sample: int = 30,
          store: SurveyStore | None = None) -> dict:
    """``{"rows", "counts", "groups", "group"}``: the actions the filters keep (``group`` one of
    :data:`GROUPS`' keys narrows the rows, not the counts), each with its measurement (the
    surveys' data from ``store`` when given)."""
    today = today or date.today()
    data, standards = SurveyCache(engine, store), StandardCache(engine)
    label = labels_for(engine, language, gettext)
    rows = [_shown(row, label, data, standards, language=language, gettext=gettext, today=today,
                   min_sample=min_sample)
            for row in list_actions(engine, status=status, owner=owner, team=team)]
    counts = {key: sum(1 for r in rows if r["group"] == key) for key, _name in GROUPS}
    if group:
        rows = [r for r in rows if r["group"] == group]
    elif not status:
        rows = [r for r in rows if r["group"] != "cancelled"]
    return {"rows": rows, "counts": counts, "groups": GROUPS, "group": group}


def detail(engine: Engine, action_id, *, language: str = "en", gettext=lambda s: s,
           today: date | None = None, min_sample: int = 30,
           store: SurveyStore | None = None) -> dict:
    """One action with its measurement and history."""
    row = action_of(engine, action_id)
    return _shown(row, labels_for(engine, language, gettext), SurveyCache(engine, store),
                  StandardCache(engine), language=language, gettext=gettext,
                  today=today or date.today(), min_sample=min_sample)


def people(engine: Engine) -> dict:
    """The active staff and the teams, for the forms' choices."""
    with engine.connect() as conn:
        staff = conn.execute(select(users.c.id, users.c.email, users.c.display_name)
                             .where(users.c.is_active).order_by(users.c.email)).mappings().all()
        team_rows = conn.execute(select(teams.c.id, teams.c.name).order_by(teams.c.name)).all()
    return {"staff": [{"id": s["id"], "email": s["email"],
                       "name": s["display_name"] or s["email"]} for s in staff],
            "teams": [{"id": t[0], "name": t[1]} for t in team_rows],
            "statuses": [(s, STATUS_LABELS[s]) for s in ACTION_STATUSES]}


__all__ = ["GROUPS", "board", "detail", "group_of", "metric_label", "people", "segment_label"]
