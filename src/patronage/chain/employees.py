"""Employee survey answers by unit, anonymous: only cells of at least the minimum group size.

The employee-satisfaction template runs as an internal survey: responses carry no customer, and
the unit a respondent works in is an answer of its own, ``site`` and ``team`` (a ``single``
question of the survey, or the columns ``site.text`` / ``team.text`` of an imported file).
Answers are cut into cells wave × site × team and a cell under the minimum is dropped before
anything is counted (:func:`patronage.analytics.service_chain.keep_large_cells`), so no page,
export or API figure rests on a smaller group, whatever filters intersect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from patronage.analytics import nps
from patronage.analytics.service_chain import keep_large_cells
from patronage.messages import N_, UserError
from patronage.storage.schema import answers, responses, surveys, waves

UNITS = ("site", "team")
#: The employee template's rating items (1–5) behind the employee satisfaction index.
RATING_ITEMS = ("work_content", "work_load", "work_conditions", "pay_fair", "pay_benefits",
                "mgmt_support", "mgmt_communication", "mgmt_recognition", "dev_training",
                "dev_career", "team_cooperation", "team_respect", "emp_overall")
MARKER = "emp_overall"


@dataclass(frozen=True)
class EmployeeAnswers:
    """The kept answers (one row per response: ``wave, site, team`` and the items) and how many
    cells were left out as too small."""

    survey: str
    frame: pd.DataFrame
    dropped_cells: int
    minimum: int
    waves: list[str]


def employee_survey(engine: Engine, code: str | None) -> str:
    """``code``, or the survey with most responses that asks the employee template's items."""
    with engine.connect() as conn:
        if code:
            if conn.execute(select(surveys.c.id).where(surveys.c.code == code)).first() is None:
                raise UserError(N_("No survey {survey!r}."), survey=code)
            return code
        query = (select(surveys.c.code).join(responses, responses.c.survey_id == surveys.c.id)
                 .join(answers, answers.c.response_id == responses.c.id)
                 .where(answers.c.item_code == MARKER))
        found = pd.Series([row[0] for row in conn.execute(query)], dtype=object)
    if found.empty:
        raise UserError(N_("No employee survey has answers yet: create one from the employee "
                           "template and collect or import its answers (with site and team)."))
    return str(found.value_counts().idxmax())


def _read(engine: Engine, survey: str) -> pd.DataFrame:
    r, a = responses.c, answers.c
    query = (select(r.id, waves.c.name, waves.c.starts_on, a.item_code, a.value_num, a.value_text)
             .join(surveys, surveys.c.id == r.survey_id)
             .outerjoin(waves, waves.c.id == r.wave_id)
             .join(answers, a.response_id == r.id)
             .where(surveys.c.code == survey))
    with engine.connect() as conn:
        rows = pd.DataFrame([tuple(row) for row in conn.execute(query)],
                            columns=["response", "wave", "wave_start", "item", "num", "text"])
    if rows.empty:
        raise UserError(N_("No responses for survey {survey!r} yet."), survey=survey)
    rows["item"] = rows["item"].str.removesuffix(".text")
    units = rows[rows["item"].isin(UNITS)].assign(
        value=lambda f: f["text"].where(f["text"].notna(), f["num"].map(
            lambda v: None if pd.isna(v) else f"{v:g}")))
    units = units.pivot_table(index="response", columns="item", values="value", aggfunc="first")
    numbers = rows.dropna(subset=["num"])
    numbers = numbers[numbers["item"].isin([*RATING_ITEMS, "enps"])]
    wide = numbers.pivot_table(index="response", columns="item", values="num", aggfunc="first")
    meta = rows.drop_duplicates("response").set_index("response")[["wave", "wave_start"]]
    frame = meta.join(wide).join(units.reindex(columns=list(UNITS)))
    for unit in UNITS:
        frame[unit] = frame[unit].astype(object).where(frame[unit].notna(), None)
    return frame


def employee_answers(engine: Engine, survey: str | None, minimum: int) -> EmployeeAnswers:
    """The employee survey's answers in cells of at least ``minimum`` (see the module)."""
    code = employee_survey(engine, survey)
    frame = _read(engine, code)
    order = (frame.dropna(subset=["wave"]).sort_values("wave_start")["wave"].drop_duplicates()
             .tolist())
    kept, dropped = keep_large_cells(frame.assign(wave=frame["wave"].fillna("")),
                                     ["wave", *UNITS], minimum)
    return EmployeeAnswers(code, kept, dropped, minimum, order)


def employee_index(frame: pd.DataFrame) -> pd.Series:
    """Per response: the mean of its answered 1–5 ratings, on 0–100."""
    items = [c for c in RATING_ITEMS if c in frame.columns]
    return (frame[items].mean(axis=1) - 1) / 4 * 100


def by_unit(kept: pd.DataFrame, unit: str, minimum: int) -> pd.DataFrame:
    """Per unit (``site`` or ``team``) of the kept answers: ``n``, the employee satisfaction
    index (0–100), the mean overall satisfaction (1–5) and the eNPS. A unit is a union of kept
    cells, so it has at least ``minimum`` answers."""
    if unit not in UNITS:
        raise UserError(N_("Group employees by site or team, not {by!r}."), by=unit)
    frame = kept.dropna(subset=[unit])
    rows = {}
    for name, part in frame.groupby(unit):
        if len(part) < minimum:  # cannot happen with kept cells; kept as a second lock
            continue
        enps = part["enps"].dropna() if "enps" in part else pd.Series(dtype=float)
        rows[str(name)] = {
            "employees_n": len(part), "employee_index": float(employee_index(part).mean()),
            "employee_overall": float(part[MARKER].mean()) if MARKER in part else np.nan,
            "enps": float(nps(enps)) if len(enps) else np.nan}
    return pd.DataFrame.from_dict(rows, orient="index")


__all__ = ["UNITS", "EmployeeAnswers", "by_unit", "employee_answers", "employee_index",
           "employee_survey"]
