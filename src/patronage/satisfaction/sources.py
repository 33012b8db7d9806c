"""Survey data for analysis, from the database or from a CSV/XLSX file.

Both give a :class:`SurveyData`: ``answers`` (one row per response, one numeric column per item
code, missing answers as NaN), ``comments`` (free text per response) and ``meta`` (wave, weight,
channel, language and the respondent's segment attributes), all indexed by ``response_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.analytics import csi_scores
from patronage.index_system import COMMENT_ITEM
from patronage.messages import N_, UserError
from patronage.storage import read_customers, read_responses
from patronage.storage.answer_matrix import read_answer_matrix, read_answer_texts
from patronage.storage.schema import answers as answer_rows
from patronage.storage.schema import customers as customer_rows
from patronage.storage.schema import responses as response_rows
from patronage.storage.schema import surveys as survey_rows
from patronage.storage.schema import touchpoints

SEGMENT_COLUMNS = ("region", "industry", "size", "channel", "tier")
#: The meta column of the touchpoint kinds a response is about (";"-joined, "" for none): the
#: kind of the touchpoint it is tagged with (``responses.touchpoint_id``) when it has one, else
#: those of its customer's touchpoints in the ``TOUCHPOINT_DAYS`` days up to the answer (not the
#: survey's own touchpoint).
TOUCHPOINTS, TOUCHPOINT_DAYS = "touchpoints", 30
#: The employee template's overall item: a survey answering it is an anonymous employee survey.
EMPLOYEE_ITEM = "emp_overall"
META_COLUMNS = ("wave", "wave_start", "survey", "customer_id", "channel", "language", "weight",
                "submitted_at", "flagged", *(f"customer_{c}" for c in SEGMENT_COLUMNS),
                TOUCHPOINTS)


def items_key(items: pd.DataFrame) -> tuple:
    """What identifies the index system's ``items`` for the scores computed on them."""
    return tuple(items[["item_code", "dimension", "weight", "scale_min", "scale_max"]]
                 .itertuples(index=False, name=None))


@dataclass(frozen=True)
class SurveyData:
    """Survey responses ready for analysis (see the module docstring)."""

    answers: pd.DataFrame
    comments: pd.Series
    meta: pd.DataFrame
    _computed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def scores(self, items: pd.DataFrame) -> pd.DataFrame:
        """Each respondent's CSI and dimension scores on the index system's ``items`` (see
        :func:`patronage.analytics.csi_scores`), computed once per data and items: the key
        drivers, the IPA and the weighting effect share them (a million responses). The frame
        is shared: callers must not modify it."""
        key = items_key(items)
        if key not in self._computed:
            known = self._known_scores(key)
            self._computed[key] = csi_scores(self.answers, items) if known is None else known
        return self._computed[key]

    def once(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()``, computed once per data and ``key`` (a tuple naming what it is): what
        several sections of a page compute alike on a million responses (the key drivers'
        fit, for their table and the importance–performance analysis). The result is
        shared: callers must not modify it."""
        if key not in self._computed:
            self._computed[key] = compute()
        return self._computed[key]

    def _known_scores(self, key: tuple) -> pd.DataFrame | None:
        """The scores ``key`` of these responses taken from the data they were narrowed from,
        when those have them (each respondent's scores depend on their own answers only: a
        filtered view of a million responses takes its rows, bit for bit what
        :func:`~patronage.analytics.csi_scores` gives on them); else None."""
        if key in self._computed:
            return self._computed[key]
        source = self._computed.get("source")
        if source is None:
            return None
        parent, keep = source
        found = parent._known_scores(key)
        return None if found is None else found[keep]

    def comment_rows(self) -> np.ndarray | None:
        """The position in ``meta`` of each comment's response (kept, so that narrowing the
        data to some responses finds their comments by position, not by a million ids)."""
        if "rows" not in self._computed:  # -1: a comment without its response
            self._computed["rows"] = (self.meta.index.get_indexer(self.comments.index)
                                      if self.meta.index.is_unique else None)
        return self._computed["rows"]

    def narrowed(self, keep: np.ndarray, *, drop_empty_items: bool = False) -> SurveyData:
        """The responses where ``keep`` (booleans over ``meta``'s rows) is true, with their
        answers and comments; ``drop_empty_items``: without the items none of them answered."""
        rows = self.comment_rows()
        by_position = self.answers.index.equals(self.meta.index)
        if by_position:  # no lookup of labels
            answers = self.answers[keep]
        else:
            answers = self.answers.loc[self.meta.index[keep]]
        if drop_empty_items:
            answers = answers.loc[:, answers.notna().any()]
        if rows is None:  # responses sharing an id: their comments looked up by id
            mine = self.comments.index.isin(self.meta.index[keep])
        else:
            mine = (rows >= 0) & keep[rows]
        meta = self.meta[keep]
        if by_position:  # one index of the ids for both: its hash table is built once for the
            answers.index = meta.index  # lookups by id (a third of a million strings)
        out = SurveyData(answers=answers, comments=self.comments[mine], meta=meta)
        if by_position and answers.columns.equals(self.answers.columns):  # the same items:
            out._computed["source"] = (self, keep)  # their scores are taken over (scores)
        if rows is not None:
            out._computed["rows"] = (np.cumsum(keep) - 1)[rows[mine]]
        return out

    @property
    def weights(self) -> pd.Series:
        return self.meta["weight"]

    def groups(self, by: str) -> pd.Series:
        """The grouping column ``by`` (a meta column; segment names may omit ``customer_``).

        ``mode`` (also ``channel``) is how the survey was answered (web, phone, paper ...);
        ``sales_channel`` is the customer's sales channel (the customer profile's channel).
        """
        names = {"mode": ("channel",), "sales_channel": ("customer_channel",)}.get(
            by, (by, f"customer_{by}"))
        for name in names:
            if name in self.meta.columns:
                return self.meta[name]
        shown = {"channel": "mode", "customer_channel": "sales_channel"}
        available = ", ".join(dict.fromkeys(
            shown.get(c, c.removeprefix("customer_")) for c in self.meta.columns
            if c not in ("flagged", "wave_start", TOUCHPOINTS)))
        raise UserError(N_("Cannot group by {by!r}: choose one of {available}."), by=by,
                        available=available)

    def waves_in_order(self) -> list[str]:
        """The waves by start date (a wave's first response's start; waves starting together
        in the order they first appear), computed once per data on the waves' codes: one row
        per wave sorted, not one per response (a million, each a string)."""
        if "waves" not in self._computed:
            codes, uniques = pd.factorize(self.meta["wave"])  # in order of appearance, no NA
            present, first = np.unique(codes, return_index=True)
            first = first[present >= 0]
            waves = pd.DataFrame({"wave": uniques[present[present >= 0]],
                                  "wave_start": self.meta["wave_start"].iloc[first].reset_index(drop=True)})
            self._computed["waves"] = waves.sort_values("wave_start", kind="stable")[
                "wave"].tolist()
        return list(self._computed["waves"])


def _is_flagged(flags) -> bool:
    return isinstance(flags, dict) and len(flags) > 0


def employee_surveys(engine: Engine) -> set[str]:
    """The codes of the anonymous employee surveys (those answering the employee template's
    overall item): no analysis of single responses reads them (see :mod:`patronage.chain`)."""
    # From the answers to the item (index ix_answers_item_response) to their surveys: a join
    # from the surveys would probe every response of every survey (a second on 1M responses).
    answered = select(answer_rows.c.response_id).where(answer_rows.c.item_code == EMPLOYEE_ITEM)
    surveys = select(response_rows.c.survey_id).where(response_rows.c.id.in_(answered))
    query = select(survey_rows.c.code).where(survey_rows.c.id.in_(surveys))
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}


def default_survey(engine: Engine, internal: set[str] | None = None) -> str | None:
    """The code of the survey with the most responses (the first answered on a tie), leaving
    out the anonymous employee surveys (``internal``, read when not given); None without
    responses. Counted in the database, so that naming the default survey reads nothing else."""
    internal = employee_surveys(engine) if internal is None else internal
    r = response_rows.c
    with engine.connect() as conn:
        # The counts from the index on the responses' survey (a million responses counted in
        # it, not read: 7 s to 1 s); the answer dates read only to break a tie.
        counts = dict(conn.execute(select(r.survey_id, func.count()).group_by(r.survey_id)).all())
        codes = dict(conn.execute(select(survey_rows.c.id, survey_rows.c.code)).all())
        counts = {key: n for key, n in counts.items() if codes.get(key) not in internal}
        if not counts:
            return None
        most = max(counts.values())
        tied = sorted(key for key, n in counts.items() if n == most)
        if len(tied) == 1:
            return codes[tied[0]]
        query = (select(survey_rows.c.code)
                 .join(response_rows, r.survey_id == survey_rows.c.id)
                 .where(survey_rows.c.id.in_(tied))
                 .group_by(survey_rows.c.id, survey_rows.c.code)
                 .order_by(func.min(r.submitted_at), func.min(r.id)))
        return conn.execute(query.limit(1)).scalar()


def survey_data_from_db(engine: Engine, survey: str | None = None, *,
                        include_flagged: bool = False) -> SurveyData:
    """Responses of ``survey`` (default: the survey with the most responses).

    Responses flagged by cleaning (speeders, straight-liners, suspected bots ...) are left out
    unless ``include_flagged``.
    """
    internal = employee_surveys(engine)
    if survey is None:
        survey = default_survey(engine, internal)
    responses = read_responses(engine, survey_code=survey)
    if survey in internal:
        raise UserError(N_("Survey {survey!r} is the anonymous employee survey: its results are "
                           "shown only for groups of a minimum size, by site and team, on the "
                           "service-profit chain page (patronage analyze chain)."), survey=survey)
    if responses.empty:
        if survey:
            raise UserError(N_("No responses for survey {survey!r} yet."), survey=survey)
        raise UserError(N_("No survey responses yet."))
    responses = responses.assign(flagged=responses["quality_flags"].map(_is_flagged))
    if not include_flagged:
        responses = responses[~responses["flagged"]]
    answers = read_answer_matrix(engine, survey, responses["response_pk"])
    answers.index = pd.Index(responses["response_id"], name="response_id")
    texts = read_answer_texts(engine, survey, COMMENT_ITEM)
    key = responses.set_index("response_pk")["response_id"]
    texts = texts[texts["response_pk"].isin(responses["response_pk"])]
    comments = pd.Series(texts["value_text"].to_numpy(), name="value_text",
                         index=pd.Index(texts["response_pk"].map(key), name="response_id"))
    customers = read_customers(engine)[["customer_id", *SEGMENT_COLUMNS]]
    customers = customers.rename(columns={c: f"customer_{c}" for c in SEGMENT_COLUMNS})
    meta = responses.merge(customers, on="customer_id", how="left").set_index("response_id")
    meta[TOUCHPOINTS] = _followed(engine, meta)
    meta = meta[[c for c in META_COLUMNS if c in meta.columns]]
    data = SurveyData(answers=answers, comments=comments.rename("comment"), meta=meta)
    # meta in the responses' order: each comment's row found by the numeric key
    data._computed["rows"] = pd.Index(responses["response_pk"]).get_indexer(texts["response_pk"])
    return data


def _tagged(engine: Engine, ids: pd.Index) -> pd.Series:
    """The kind of the touchpoint each of the responses ``ids`` (external ids) is tagged with;
    only the tagged ones."""
    r, tp = response_rows.c, touchpoints.c
    query = (select(r.external_id, tp.kind).join(touchpoints, tp.id == r.touchpoint_id))
    wanted = list(ids)
    found: dict = {}
    with engine.connect() as conn:
        if len(wanted) > 5000:  # cheaper to read every tag than to list the ids
            asked = set(wanted)
            found = {e: k for e, k in conn.execute(query) if e in asked}
        else:
            for start in range(0, len(wanted), 500):
                found.update(conn.execute(query.where(
                    r.external_id.in_(wanted[start:start + 500]))).all())
    return pd.Series(found, dtype=object)


def _followed(engine: Engine, meta: pd.DataFrame) -> pd.Series:
    """Per response (``meta``: ``customer_id``, ``submitted_at``): the kind of its tagged
    touchpoint, else the kinds of its customer's touchpoints in the :data:`TOUCHPOINT_DAYS`
    days up to the answer, sorted and ";"-joined."""
    found = pd.Series("", index=meta.index, dtype=object)
    tagged = _tagged(engine, meta.index)
    if len(tagged):
        found.loc[tagged.index] = tagged
        meta = meta[~meta.index.isin(tagged.index)]
    answered = pd.to_datetime(meta["submitted_at"]).dropna()
    if answered.empty:
        return found
    tp, people = touchpoints.c, customer_rows.c
    query = (select(people.external_id.label("customer_id"), tp.occurred_at, tp.kind)
             .join(customer_rows, people.id == tp.customer_id)
             .where(tp.kind != "survey",
                    tp.occurred_at > (answered.min() - pd.Timedelta(days=TOUCHPOINT_DAYS))
                    .to_pydatetime(), tp.occurred_at <= answered.max().to_pydatetime()))
    with engine.connect() as conn:
        points = pd.DataFrame([tuple(row) for row in conn.execute(query)],
                              columns=["customer_id", "occurred_at", "kind"])
    points = points[points["customer_id"].isin(meta["customer_id"].dropna())]
    if points.empty:
        return found
    points["occurred_at"] = pd.to_datetime(points["occurred_at"])
    asked = meta[["customer_id", "submitted_at"]].dropna().reset_index(names="_response")
    pairs = asked.merge(points[["customer_id", "occurred_at", "kind"]], on="customer_id")
    answered = pd.to_datetime(pairs["submitted_at"])
    before = pairs[(pairs["occurred_at"] <= answered)
                   & (pairs["occurred_at"] > answered - pd.Timedelta(days=TOUCHPOINT_DAYS))]
    kinds = before.groupby("_response")["kind"].agg(lambda k: ";".join(sorted(set(k))))
    found.loc[kinds.index] = kinds
    return found


def survey_data_from_csv(path: str | Path, *, encoding: str | None = None,
                         sheet: str | None = None, missing=()) -> SurveyData:
    """Responses from a wide CSV or XLSX file: one row per response.

    Read like an import (encoding detected or given, Chinese or English headers, see
    :mod:`patronage.satisfaction.files`): ``response_id`` (line numbers when absent), ``wave``,
    ``weight``, ``comment`` and the segment columns are recognised; every other column is an item
    and must hold numbers. Blank cells and the ``missing`` codes are missing answers.
    """
    from patronage.satisfaction.files import read_answers_file

    answers, meta, comments = read_answers_file(path, encoding=encoding, sheet=sheet,
                                                missing=missing)
    return SurveyData(answers=answers, comments=comments, meta=meta)
