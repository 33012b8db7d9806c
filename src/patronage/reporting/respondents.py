"""The respondents behind a figure of the overview: the drill-down from an NPS or CSI figure, a
wave's detractors or a dimension bar to the people who answered, with their score and comment.

The list is computed on the same data as the figure (the survey's responses, left out those
flagged by cleaning, narrowed by the page's :class:`~patronage.reporting.filters.Filters`), so
the count of detractors on the list is the count behind the figure. Each row is one response;
the ones from known customers link to the profile and can be selected and turned into work
(tasks, a case, a survey ...) like the other customer lists.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.analytics import csi_scores
from patronage.analytics.scores import DETRACTOR_MAX, PROMOTER_MIN
from patronage.index_system import load_index_system
from patronage.messages import N_, UserError
from patronage.reporting.filters import Filters
from patronage.reporting.formats import ALL_RESPONSES
from patronage.reporting.overview import open_answers
from patronage.reporting.selection_lists import LIST_ROWS, item_label
from patronage.satisfaction.sources import survey_data_from_db
from patronage.storage import read_customers, read_responses

#: The NPS groups a list can be narrowed to (English, translated where shown).
GROUPS = {"promoters": N_("Promoters"), "passives": N_("Passives"),
          "detractors": N_("Detractors")}


@dataclass(frozen=True)
class Respondents:
    """The responses behind a figure: ``table`` indexed by ``response_id`` with ``customer_id,
    customer_pk, name, wave, answered, nps, group, score, comment`` (``score``: the dimension's
    0–100 score when a dimension was chosen), ``base`` the responses the filters keep (the n
    of the figure), ``total`` those on the list (the table shows at most :data:`LIST_ROWS`)."""

    survey: str
    filters: Filters
    group: str | None
    dimension: str | None
    table: pd.DataFrame
    base: int
    total: int

    @property
    def ids(self) -> list[int]:
        """The profile keys of the customers on the list shown, once each, in order."""
        keys = self.table["customer_pk"].dropna().astype(int)
        return list(dict.fromkeys(keys.tolist()))


def _group_of(score: float) -> str | None:
    if score != score:
        return None
    if score >= PROMOTER_MIN:
        return "promoters"
    return "detractors" if score <= DETRACTOR_MAX else "passives"


def respondents(engine: Engine, filters: Filters, *, group: str | None = None,
                dimension: str | None = None) -> Respondents:
    """The responses ``filters`` keep, narrowed to the NPS ``group`` (promoters, passives,
    detractors) and, with ``dimension``, to those who rated it, lowest score first (else the
    latest answer first). An unknown group, dimension or filter value is a ``UserError``."""
    if group is not None and group not in GROUPS:
        raise UserError(N_("There is no respondent group {group!r}; choose promoters, passives or "
                           "detractors."), group=str(group)[:40])
    found = read_responses(engine, survey_code=filters.survey)
    if found.empty:
        raise UserError(N_("No survey responses yet."))
    survey = filters.survey or found["survey"].value_counts().idxmax()
    data = survey_data_from_db(engine, survey)
    if data.meta["wave"].isna().all():  # as the overview names a survey without waves
        data = replace(data, meta=data.meta.assign(wave=ALL_RESPONSES))  # shared: a copy
    data = filters.but(survey=survey).apply(data)
    frame = pd.DataFrame({
        "customer_id": data.meta["customer_id"],
        "wave": data.meta["wave"],
        "answered": pd.to_datetime(data.meta["submitted_at"]),
        "nps": data.answers["nps"] if "nps" in data.answers.columns else np.nan,
    }, index=data.meta.index)
    frame["group"] = [_group_of(s) for s in frame["nps"]]
    base = len(frame)
    if dimension is not None:
        system = load_index_system()
        if dimension not in set(system.dimensions["dimension"]):
            raise UserError(N_("There is no dimension {dimension!r} in the index system."),
                            dimension=str(dimension)[:60])
        scores = csi_scores(data.answers, system.items)
        frame["score"] = (scores[dimension] if dimension in scores.columns
                          else pd.Series(np.nan, index=frame.index))
        frame = frame.dropna(subset=["score"])
    else:
        frame["score"] = np.nan
    if group is not None:
        frame = frame[frame["group"] == group]
    order = (["score", "answered"], [True, False]) if dimension else (["answered"], [False])
    frame = frame.sort_values(order[0], ascending=order[1], na_position="last")
    total = len(frame)
    frame = frame.head(LIST_ROWS)
    texts = open_answers(engine, survey, read_responses(engine, survey_code=survey))
    texts = texts[texts.index.isin(frame.index)].astype(str)
    texts = texts[texts.str.strip() != ""].groupby(level=0).agg(" / ".join)
    people = read_customers(engine)[["customer_id", "customer_pk", "name"]]
    people = people.set_index("customer_id")
    frame = frame.assign(
        customer_pk=people["customer_pk"].reindex(frame["customer_id"]).to_numpy(),
        name=people["name"].reindex(frame["customer_id"]).to_numpy(),
        comment=texts.reindex(frame.index).to_numpy())
    table = frame[["customer_id", "customer_pk", "name", "wave", "answered", "nps", "group",
                   "score", "comment"]]
    return Respondents(survey=survey, filters=filters.but(survey=survey), group=group,
                       dimension=dimension, table=table, base=base, total=total)


def title(listing: Respondents, gettext, language: str) -> str:
    """What the list is, in the reader's language."""
    _ = gettext
    parts = [_(GROUPS[listing.group]) if listing.group else _("All respondents")]
    if listing.dimension:
        parts.append(_("rated on {dimension}").format(
            dimension=item_label(listing.dimension, language)))
    return " · ".join(parts)


__all__ = ["GROUPS", "Respondents", "respondents", "title"]
