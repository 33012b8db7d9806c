"""The service-profit chain report: per unit (site or team), the employees' results beside the
customers' (CSI, NPS, complaint rate, retention, revenue), their correlation across units with
n, and the chain as a PLS path model when there are enough units.

Standard compliance (the share of the active service standards' events within their standard,
per unit) joins the customer results when there are standards.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from patronage.analytics import PLSPathModel
from patronage.analytics.service_chain import correlation_table
from patronage.chain.customers import (
    business_by_unit, compliance_by_unit, customer_units, survey_by_unit,
)
from patronage.chain.employees import UNITS, by_unit, employee_answers
from patronage.messages import N_, Message, UserError
from patronage.satisfaction import survey_data_from_db
from patronage.storage.schema import answers, responses, surveys

#: Units needed before correlations are read as more than a hint, and before the path model is
#: fitted (ten times the most arrows pointing at one construct, Hair et al. 2017).
MIN_UNITS = 10
EMPLOYEE_MEASURES = ("employee_index", "enps")
CUSTOMER_MEASURES = ("csi", "nps", "complaint_rate", "compliance", "retention", "revenue")
#: The chain's constructs (unit figures as indicators) and paths.
CONSTRUCTS = {"EMP": ["employee_index", "enps"], "CUS": ["csi", "nps"],
              "RES": ["retention", "revenue"]}
PATHS = {"CUS": ["EMP"], "RES": ["CUS"]}


@dataclass(frozen=True)
class ChainReport:
    unit: str
    employee_survey: str
    customer_survey: str | None
    minimum: int
    dropped_cells: int
    waves: list[str]
    table: pd.DataFrame
    correlations: pd.DataFrame
    model: PLSPathModel | None = None
    model_problem: Message | None = None
    notes: list[Message] = field(default_factory=list)

    @property
    def units_n(self) -> int:
        return int(self.table["employees_n"].notna().sum()) if len(self.table) else 0


def _customer_survey(engine: Engine, code: str | None, employee: str) -> str | None:
    if code:
        return code
    query = (select(surveys.c.code).join(responses, responses.c.survey_id == surveys.c.id)
             .join(answers, answers.c.response_id == responses.c.id)
             .where(answers.c.item_code == "nps", surveys.c.code != employee))
    with engine.connect() as conn:
        found = pd.Series([row[0] for row in conn.execute(query)], dtype=object)
    return None if found.empty else str(found.value_counts().idxmax())


def _fit(table: pd.DataFrame):
    complete = table[[c for block in CONSTRUCTS.values() for c in block]].dropna()
    if len(complete) < MIN_UNITS:
        return None, Message(N_("The chain's path model needs at least {needed} units with "
                                "every figure; there are {n}."), needed=MIN_UNITS,
                             n=len(complete))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = PLSPathModel(PATHS, CONSTRUCTS, n_boot=200, random_state=0).fit(complete)
        except ValueError:
            return None, Message(N_("These units' figures cannot support the path model "
                                    "(figures that do not vary)."))
    return model, None


def chain_report(engine: Engine, *, unit: str = "site", minimum: int = 5,
                 employee_survey: str | None = None, customer_survey: str | None = None,
                 wave: str | None = None, site: str | None = None,
                 team: str | None = None) -> ChainReport:
    """The chain per ``unit`` on the employee answers of ``wave`` (default: all waves) and the
    ``site`` / ``team`` filters; every employee figure rests on cells of at least ``minimum``
    answers (see :mod:`patronage.chain.employees`)."""
    if unit not in UNITS:
        raise UserError(N_("Group employees by site or team, not {by!r}."), by=unit)
    staff = employee_answers(engine, employee_survey, minimum)
    kept = staff.frame
    if wave:
        if wave not in staff.waves:
            raise UserError(N_("The employee survey has no wave {wave!r}."), wave=wave)
        kept = kept[kept["wave"] == wave]
    for name, value in (("site", site), ("team", team)):
        if value:
            kept = kept[kept[name] == value]
    if staff.frame[unit].isna().all():
        raise UserError(N_("The employee survey's answers name no {unit}: ask it as a question "
                           "coded {unit}, or import it as the column {unit}.text."), unit=unit)
    employees = by_unit(kept, unit, minimum)
    if employees.empty:
        raise UserError(N_("No employee group of at least {minimum} answers among these "
                           "filters: groups under {minimum} are never shown."), minimum=minimum)
    units = customer_units(engine, unit)
    code = _customer_survey(engine, customer_survey, staff.survey)
    customers = business_by_unit(engine, units)
    if code is not None:
        data = survey_data_from_db(engine, code)
        customers = customers.join(survey_by_unit(data.answers, data.meta["customer_id"],
                                                  data.weights, units), how="outer")
    compliance = compliance_by_unit(engine, unit)
    if not compliance.empty:
        customers = customers.join(compliance, how="outer")
    table = employees.join(customers, how="left")
    for column in CUSTOMER_MEASURES:
        if column not in table:
            table[column] = float("nan")
    known = [c for c in CUSTOMER_MEASURES if table[c].notna().any()]
    correlations = correlation_table(table[list(EMPLOYEE_MEASURES)], table[known])
    model, problem = _fit(table)
    notes = []
    if len(table) < MIN_UNITS:
        notes.append(Message(N_("Only {n} units: read the correlations as a hint, not as "
                                "evidence."), n=len(table)))
    return ChainReport(unit, staff.survey, code, minimum, staff.dropped_cells, staff.waves,
                       table.sort_index(), correlations, model, problem, notes)




def chain_output(report: ChainReport, show: str = "units") -> pd.DataFrame:
    """One table of ``report`` for the command line: ``units``, ``correlations`` or ``paths``
    (the path coefficients with their bootstrap intervals), its notes (in English) in
    ``attrs["notes"]``."""
    notes = [f"employee survey {report.employee_survey}, customer survey "
             f"{report.customer_survey or '(none)'}; {report.units_n} units by {report.unit}",
             f"groups of fewer than {report.minimum} employee answers are left out of every "
             f"figure ({report.dropped_cells} left out)"]
    notes += [str(note) for note in report.notes]
    if show == "correlations":
        table = report.correlations.copy()
        if len(table):
            table.index = [f"{a} ~ {b}" for a, b in table.index]
    elif show == "paths":
        if report.model is None:
            raise UserError(report.model_problem.message if report.model_problem else
                            N_("No employee results to model."),
                            **(report.model_problem.params if report.model_problem else {}))
        table = report.model.bootstrap_.xs("path", level="kind").assign(
            n=report.model.n_samples_)
        table.index = [f"{a} -> {b}" for a, b in table.index]
    else:
        table = report.table.rename_axis(report.unit)
    table.attrs["notes"] = notes
    return table


__all__ = ["CONSTRUCTS", "CUSTOMER_MEASURES", "EMPLOYEE_MEASURES", "MIN_UNITS", "PATHS",
           "ChainReport", "chain_output", "chain_report"]
