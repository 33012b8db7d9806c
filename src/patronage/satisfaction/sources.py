"""Survey data for analysis, from the database or from a CSV/XLSX file.

Both give a :class:`SurveyData`: ``answers`` (one row per response, one numeric column per item
code, missing answers as NaN), ``comments`` (free text per response) and ``meta`` (wave, weight,
channel, language and the respondent's segment attributes), all indexed by ``response_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.index_system import COMMENT_ITEM
from patronage.storage import read_answers, read_customers, read_responses

SEGMENT_COLUMNS = ("region", "industry", "size", "channel", "tier")
META_COLUMNS = ("wave", "wave_start", "survey", "customer_id", "channel", "language", "weight",
                "submitted_at", "flagged", *(f"customer_{c}" for c in SEGMENT_COLUMNS))


@dataclass(frozen=True)
class SurveyData:
    """Survey responses ready for analysis (see the module docstring)."""

    answers: pd.DataFrame
    comments: pd.Series
    meta: pd.DataFrame

    @property
    def weights(self) -> pd.Series:
        return self.meta["weight"]

    def groups(self, by: str) -> pd.Series:
        """The grouping column ``by`` (a meta column; segment names may omit ``customer_``)."""
        for name in (by, f"customer_{by}"):
            if name in self.meta.columns:
                return self.meta[name]
        available = ", ".join(c for c in self.meta.columns if c != "flagged")
        raise ValueError(f"cannot group by {by!r}: choose one of {available}")

    def waves_in_order(self) -> list[str]:
        order = self.meta.dropna(subset=["wave"]).sort_values("wave_start")["wave"]
        return list(dict.fromkeys(order))


def _is_flagged(flags) -> bool:
    return isinstance(flags, dict) and len(flags) > 0


def survey_data_from_db(engine: Engine, survey: str | None = None, *,
                        include_flagged: bool = False) -> SurveyData:
    """Responses of ``survey`` (default: the survey with the most responses).

    Responses flagged by cleaning (speeders, straight-liners, suspected bots ...) are left out
    unless ``include_flagged``.
    """
    responses = read_responses(engine, survey_code=survey)
    if survey is None and not responses.empty:
        survey = responses["survey"].value_counts().idxmax()
        responses = responses[responses["survey"] == survey]
    if responses.empty:
        raise ValueError(f"no responses for survey {survey!r}" if survey else "no survey responses yet")
    responses = responses.assign(flagged=responses["quality_flags"].map(_is_flagged))
    if not include_flagged:
        responses = responses[~responses["flagged"]]
    long = read_answers(engine, survey_code=survey)
    long = long[long["response_pk"].isin(responses["response_pk"])]
    key = responses.set_index("response_pk")["response_id"]
    long = long.assign(response_id=long["response_pk"].map(key))
    numeric = long.dropna(subset=["value_num"])
    answers = numeric.pivot(index="response_id", columns="item_code", values="value_num")
    answers = answers.reindex(responses["response_id"])
    answers.columns.name = None
    comments = long[long["item_code"] == COMMENT_ITEM].set_index("response_id")["value_text"]
    customers = read_customers(engine)[["customer_id", *SEGMENT_COLUMNS]]
    customers = customers.rename(columns={c: f"customer_{c}" for c in SEGMENT_COLUMNS})
    meta = responses.merge(customers, on="customer_id", how="left").set_index("response_id")
    meta = meta[[c for c in META_COLUMNS if c in meta.columns]]
    return SurveyData(answers=answers, comments=comments.rename("comment"), meta=meta)


def survey_data_from_csv(path: str | Path) -> SurveyData:
    """Responses from a wide CSV or XLSX file: one row per response.

    Recognised columns: ``response_id`` (row numbers when absent), ``wave``, ``weight``,
    ``comment`` and segment columns (region, industry, size, channel, tier); every other column
    with numeric values is an item. Blank cells are missing answers.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path)
    else:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    if "response_id" not in frame.columns:
        frame.insert(0, "response_id", [f"row {i + 2}" for i in range(len(frame))])
    frame["response_id"] = frame["response_id"].astype(str)
    frame = frame.set_index("response_id")
    meta = pd.DataFrame(index=frame.index)
    meta["wave"] = frame["wave"].astype(str) if "wave" in frame else "all"
    meta["wave_start"] = pd.Series(pd.factorize(meta["wave"])[0], index=frame.index)
    meta["weight"] = frame["weight"].astype(float) if "weight" in frame else 1.0
    meta["flagged"] = False
    for column in SEGMENT_COLUMNS:
        if column in frame:
            meta[f"customer_{column}"] = frame[column]
    comments = frame[COMMENT_ITEM] if COMMENT_ITEM in frame else pd.Series(dtype=object)
    skip = {"wave", "weight", COMMENT_ITEM, *SEGMENT_COLUMNS}
    items = {}
    for column in frame.columns:
        if column in skip:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() & frame[column].notna() & (frame[column].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise ValueError(f"{path.name}, line {row}, column {column}: "
                             f"{frame[column].iloc[row - 2]!r} is not a number")
        items[column] = values
    answers = pd.DataFrame(items, index=frame.index)
    return SurveyData(answers=answers, comments=comments.rename("comment"), meta=meta)
