"""Customer delivered value from the CDV template's answers, per segment and against a
competitor (the method: :mod:`patronage.analytics.delivered_value`)."""

from __future__ import annotations

import pandas as pd

from patronage.analytics.delivered_value import (
    COST_PARTS, VALUE_PARTS, cdv_against, cdv_summary,
)
from patronage.messages import N_, NotAsked, UserError
from patronage.satisfaction.methods import COMPETITOR_PREFIX, competitors_in
from patronage.satisfaction.sources import SurveyData

CODES = (*VALUE_PARTS.values(), *COST_PARTS.values())


def _require(data: SurveyData) -> None:
    absent = [c for c in CODES if c not in data.answers.columns]
    if absent:
        raise NotAsked(N_("The survey has no customer delivered value answers (the cdv "
                          "template's {items})."), items=", ".join(absent))


def cdv_table(data: SurveyData, *, by: str | None = None) -> pd.DataFrame:
    """Total customer value, total customer cost and the delivered value (their difference),
    with each part's mean, for everyone (row ``all``) and per group ``by`` (a segment such as
    region, or wave)."""
    _require(data)
    groups = data.groups(by).astype(object) if by else None
    table = cdv_summary(data.answers, groups)
    if table["n"].iloc[0] == 0:
        raise UserError(N_("No respondent answered all eight parts of customer delivered "
                           "value."))
    return table.rename_axis(by or "group")


def cdv_competitor(data: SurveyData, competitor: str | None = None) -> tuple[str, pd.DataFrame]:
    """The same respondents' delivered value of us and of ``competitor`` (default: the first
    competitor whose eight parts were rated, answer codes ``competitor.<name>.cdv_…``)."""
    _require(data)
    rated = [name for name in competitors_in(data)
             if all(f"{COMPETITOR_PREFIX}{name}.{c}" in data.answers.columns for c in CODES)]
    if competitor is None:
        if not rated:
            raise UserError(N_("No competitor's customer delivered value was rated (answer "
                               "codes competitor.<name>.cdv_product …)."))
        competitor = rated[0]
    elif competitor not in rated:
        raise UserError(N_("No ratings of competitor {competitor!r} for all eight parts of "
                           "customer delivered value; rated: {rated}."), competitor=competitor,
                        rated=", ".join(rated) or "–")
    table = cdv_against(data.answers, f"{COMPETITOR_PREFIX}{competitor}.")
    if table["n"].iloc[0] == 0:
        raise UserError(N_("No respondent rated all eight parts for both us and {competitor!r}."),
                        competitor=competitor)
    return competitor, table.rename_axis("part")


__all__ = ["cdv_competitor", "cdv_table"]
