"""The overview: responses, NPS with its interval, CSI and dimension scores per wave."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.satisfaction.indices import csi_table, nps_table
from patronage.analytics import margin_of_error
from patronage.index_system import load_index_system
from patronage.index_system import COMMENT_ITEM
from patronage.reporting.filters import Filters
from patronage.reporting.shared import filter_choices, filtered, shared
from patronage.reporting.shared import survey_data_from_db as shared_survey_data
from patronage.reporting.formats import ALL_RESPONSES
from patronage.storage import read_answers, read_responses, read_surveys
from patronage.surveys.program import get_survey


@dataclass(frozen=True)
class Overview:
    """What the overview page shows for one survey.

    ``waves``: one row per wave in date order with ``wave, n, promoters, passives, detractors,
    nps, ci_low, ci_high, csi`` (shares as fractions, NPS on -100..100, CSI on 0–100).
    ``dimensions``: ``dimension, label_en, label_zh_Hans, label_zh_Hant, score, previous, change``
    for the latest wave. ``comments``: the latest free-text answers (``wave, nps, comment``).
    """

    survey: str | None
    surveys: list[str]
    waves: pd.DataFrame
    dimensions: pd.DataFrame
    comments: pd.DataFrame
    flagged: int = 0
    total: int = 0
    notes: list[str] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    options: dict = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.waves.empty

    @property
    def latest(self) -> dict:
        return self.waves.iloc[-1].to_dict() if not self.waves.empty else {}

    def to_dict(self) -> dict:
        """A JSON-ready form (NaN becomes None)."""
        def records(frame: pd.DataFrame) -> list[dict]:
            clean = frame.astype(object).where(frame.notna(), None)
            return clean.to_dict(orient="records")

        return {
            "survey": self.survey, "surveys": self.surveys, "responses": self.total,
            "flagged_responses_left_out": self.flagged, "waves": records(self.waves),
            "dimensions": records(self.dimensions), "comments": records(self.comments),
        }


_EMPTY_WAVES = ["wave", "n", "promoters", "passives", "detractors", "nps", "ci_low", "ci_high", "csi",
                "margin_of_error"]


def overview(engine: Engine, survey: str | None = None, *, comments: int = 8,
             filters: Filters | None = None) -> Overview:
    """Compute the overview of ``survey`` (default: the survey with the most responses) on the
    responses ``filters`` keep (their survey is ``survey``; ``options`` lists what the filters can
    choose, from all the survey's responses). An unknown filter value is a ``UserError``.

    What does not depend on the filters (the survey's responses and free-text answers as read,
    the filter choices) is read through :mod:`patronage.reporting.shared`: in the background
    computation of a page, once per data version for every filtered view."""
    filters = (filters or Filters()).but(survey=survey)
    codes = read_surveys(engine)["code"].tolist()
    chosen, count, texts = _survey_basics(engine, survey)
    if chosen is None:
        return Overview(survey=survey, surveys=codes, waves=pd.DataFrame(columns=_EMPTY_WAVES),
                        dimensions=pd.DataFrame(), comments=pd.DataFrame())
    survey = chosen
    filters = filters.but(survey=survey)
    data = _survey_data(engine, survey)
    flagged = count - len(data.meta)
    choices = filter_choices(data)
    data = filtered(filters, data)
    total = len(data.meta)
    if filters.active:  # the flagged responses among those the filters keep, not the survey's
        flagged = int(filters.keep(_flagged_meta(engine, survey), checked=False).sum())
    if data.meta.empty:
        return Overview(survey=survey, surveys=codes, waves=pd.DataFrame(columns=_EMPTY_WAVES),
                        dimensions=pd.DataFrame(), comments=pd.DataFrame(), flagged=flagged,
                        filters=filters, options=choices)
    system = load_index_system()
    try:  # the scores per wave, computed once for both tables
        by_wave = csi_table(data, by="wave", index_system=system)
    except ValueError:
        by_wave = None
    waves = _wave_table(data, by_wave)
    dimensions = _dimension_table(by_wave, system)
    recent = _recent_comments(data, texts, comments)
    return Overview(survey=survey, surveys=codes, waves=waves, dimensions=dimensions,
                    comments=recent, flagged=flagged, total=total, filters=filters,
                    options=choices)


@dataclass(frozen=True)
class OverviewHead:
    """What the Overview shows before its figures: the survey chosen, the surveys, the filters
    and what they can choose, and how many responses they keep."""

    survey: str | None
    surveys: list[str]
    filters: Filters
    options: dict
    responses: int

    @property
    def empty(self) -> bool:
        return self.responses == 0


def overview_head(engine: Engine, survey: str | None = None, *,
                  filters: Filters | None = None) -> OverviewHead:
    """The head of :func:`overview` (an unknown filter value is a ``UserError``), from the
    survey data it reads and narrows (shared with it in a page's background computation: a
    fraction of a second once the survey is read)."""
    filters = (filters or Filters()).but(survey=survey)
    codes = read_surveys(engine)["code"].tolist()
    chosen, _, _ = _survey_basics(engine, survey)
    if chosen is None:
        return OverviewHead(survey=survey, surveys=codes, filters=filters, options={},
                            responses=0)
    filters = filters.but(survey=chosen)
    data = _survey_data(engine, chosen)
    choices = filter_choices(data)
    kept = filtered(filters, data)
    return OverviewHead(survey=chosen, surveys=codes, filters=filters, options=choices,
                        responses=len(kept.meta))


def survey_basics(engine: Engine, survey: str | None) -> tuple[str | None, int, pd.Series | None]:
    """``survey`` (None: the survey with the most responses), how many responses it has (the
    flagged ones too) and its free-text answers by ``response_id``; ``(None, 0, None)`` when
    there are no responses."""
    responses = read_responses(engine, survey_code=survey)
    if responses.empty:
        return None, 0, None
    if survey is None:
        survey = responses["survey"].value_counts().idxmax()
    return (survey, int(responses["survey"].eq(survey).sum()),
            open_answers(engine, survey, responses))


def survey_data(engine: Engine, survey: str, include_flagged: bool = False):
    """The survey's responses as the overview reads them: a survey without waves has one,
    :data:`ALL_RESPONSES` (a copy: the data read are shared with other pages)."""
    data = shared_survey_data(engine, survey, include_flagged=include_flagged)
    if data.meta["wave"].isna().all():
        data = replace(data, meta=data.meta.assign(wave=ALL_RESPONSES))
    return data


def flagged_meta(engine: Engine, survey: str):
    """The meta of the survey's responses that cleaning flagged (the filters' values checked on
    the others already: a filtered view counts its flagged ones without a million rows)."""
    meta = _survey_data(engine, survey, include_flagged=True).meta
    return meta[meta["flagged"].to_numpy(dtype=bool)]


_survey_basics = shared(survey_basics, every_page=True)
_survey_data = shared(survey_data, every_page=True)
_flagged_meta = shared(flagged_meta, every_page=True)


def _wave_table(data, by_wave: pd.DataFrame | None) -> pd.DataFrame:
    if "nps" in data.answers.columns:
        nps = nps_table(data, by="wave")[["n", "promoters", "passives", "detractors", "nps",
                                            "ci_low", "ci_high"]]
    else:  # a survey without the NPS question: its columns are empty, never missing
        nps = pd.DataFrame(np.nan, index=pd.Index(data.waves_in_order(), name="wave"),
                           columns=["promoters", "passives", "detractors", "nps", "ci_low",
                                    "ci_high"])
    if by_wave is not None:
        csi = by_wave[["csi"]]
    else:
        csi = pd.DataFrame({"csi": np.nan}, index=nps.index)
    counts = data.meta.groupby("wave").size().rename("responses")
    table = nps.join(csi, how="outer").join(counts, how="left")
    table = table.reindex([w for w in data.waves_in_order() if w in table.index])
    table["n"] = table["responses"]
    table["margin_of_error"] = [100 * margin_of_error(n) if n and n > 0 else np.nan
                                for n in table["n"]]
    return table.drop(columns="responses").reset_index(names="wave")


def _dimension_table(by_wave: pd.DataFrame | None, system) -> pd.DataFrame:
    if by_wave is None:
        return pd.DataFrame()
    dims = [d for d in system.dimensions["dimension"] if d in by_wave.columns]
    latest = by_wave.iloc[-1]
    previous = by_wave.iloc[-2] if len(by_wave) > 1 else pd.Series(np.nan, index=by_wave.columns)
    labels = system.dimensions.set_index("dimension")
    rows = []
    for dim in dims:
        rows.append({"dimension": dim, **labels.loc[dim].filter(like="label_").to_dict(),
                     "score": latest[dim], "previous": previous[dim],
                     "change": latest[dim] - previous[dim]})
    return pd.DataFrame(rows)


def text_items(engine: Engine, survey: str) -> list[str]:
    """The codes of the survey's open (free-text) questions: every item of type ``text`` in its
    questionnaire, and the index system's comment item (imported surveys have no questionnaire)."""
    try:
        questionnaire = get_survey(engine, survey).questionnaire
    except ValueError:  # no stored questionnaire (an imported survey)
        return [COMMENT_ITEM]
    codes = [item.code for section in questionnaire.sections for item in section.items
             if item.type == "text"]
    return list(dict.fromkeys([*codes, COMMENT_ITEM]))


def open_answers(engine: Engine, survey: str, responses: pd.DataFrame) -> pd.Series:
    """Every free-text answer of ``survey`` by ``response_id`` (a response may give several)."""
    long = read_answers(engine, survey_code=survey, item_codes=text_items(engine, survey))
    long = long.dropna(subset=["value_text"])
    key = responses.set_index("response_pk")["response_id"]
    return pd.Series(long["value_text"].to_numpy(), name="comment",
                     index=pd.Index(long["response_pk"].map(key), name="response_id"))


def _recent_comments(data, texts: pd.Series, limit: int) -> pd.DataFrame:
    # A hash lookup in the (unique) response ids: Index.isin on Arrow strings turns each of
    # them into a Python string first (15 s against 1M responses, get_indexer 0.8 s).
    ids = data.meta.index
    kept = ids.get_indexer(texts.index) >= 0 if ids.is_unique else texts.index.isin(ids)
    comments = texts[kept].dropna()
    comments = comments[comments.astype(str).str.strip() != ""]
    if comments.empty:
        return pd.DataFrame(columns=["wave", "nps", "comment"])
    meta = data.meta.loc[comments.index]
    frame = pd.DataFrame({"wave": meta["wave"], "comment": comments.astype(str)})
    if "nps" in data.answers.columns:
        frame["nps"] = data.answers.loc[comments.index, "nps"]
    else:
        frame["nps"] = np.nan
    if "submitted_at" in meta.columns:
        frame = frame.assign(_at=meta["submitted_at"]).sort_values("_at", ascending=False)
        frame = frame.drop(columns="_at")
    return frame.head(limit)[["wave", "nps", "comment"]].reset_index(drop=True)


__all__ = ["Overview", "OverviewHead", "overview", "overview_head"]
