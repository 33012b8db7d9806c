"""The Overview's comparison mode: two groups of responses side by side, with their difference
and whether it is significant.

Two kinds of comparison, both on the responses the page's filters keep:

* ``period``: with a date range, that period against the previous period of the same length
  (the days just before it); without one, the latest wave (or the wave chosen) against the wave
  before it.
* ``segment``: the responses of customers with one value of a customer attribute
  (``region=East China``) against those of all other values, or of one other value.

For each side: the number of responses, the CSI (0–100, weighted as on the Overview), the NPS
and each dimension's score. Means are compared with Welch's t test, NPS with a z test (see
:mod:`patronage.analytics.compare`); each row is tested on its own, with no correction for the
number of rows. A side with fewer than :data:`SMALL_SAMPLE` answers is marked as a small sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Engine

from patronage.analytics import csi_scores
from patronage.analytics.compare import mean_difference, nps_test
from patronage.index_system import load_index_system
from patronage.messages import N_, UserError
from patronage.reporting.filters import SEGMENTS, Filters
from patronage.reporting.filters import options as filter_options
from patronage.reporting.formats import ALL_RESPONSES, DEFAULT_MIN_SAMPLE
from patronage.reporting.shared import survey_data_from_db
from patronage.satisfaction.sources import SurveyData

MODES = ("period", "segment")
#: Fewer answers than this on a side: the row says that its sample is small.
SMALL_SAMPLE = DEFAULT_MIN_SAMPLE
#: Significance level of the tests.
ALPHA = 0.05


@dataclass(frozen=True)
class Side:
    """One group: ``kind`` is ``period`` (``start``–``end``), ``wave``, ``segment`` (``key`` =
    ``value``) or ``rest`` (every other ``key`` than ``value``). ``drill`` are the filters of its
    respondents list; for ``rest`` they keep every value of ``key`` (the list cannot leave one
    out), ``drill_exact`` says so."""

    kind: str
    n: int
    drill: Filters
    drill_exact: bool = True
    start: date | None = None
    end: date | None = None
    wave: str | None = None
    key: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b``: ``rows`` hold ``measure`` (``nps``, ``csi`` or a dimension code),
    ``label_en/zh_Hans/zh_Hant`` for dimensions, ``n_a, n_b, a, b, difference, p_value``,
    ``verdict`` (``higher``: a is significantly higher, ``lower``, ``same``: no significant
    difference, None: cannot be tested) and ``small`` (a side has fewer than
    :data:`SMALL_SAMPLE` answers)."""

    survey: str
    filters: Filters
    mode: str
    a: Side
    b: Side
    rows: list[dict]
    options: dict = field(default_factory=dict)

    @property
    def small(self) -> bool:
        return min(self.a.n, self.b.n) < SMALL_SAMPLE


def parse_segment(text: str) -> tuple[str, str]:
    """``region:East China`` → ``("region", "East China")`` (the comparison control's value)."""
    key, _, value = (text or "").partition(":")
    key, value = key.strip(), value.strip()
    if key not in SEGMENTS or not value:
        raise UserError(N_("Choose what to compare: this period with the previous one, or a "
                           "group (such as a region) with the others."))
    return key, value


def comparison(engine: Engine, filters: Filters, choice: str, other: str = "") -> Comparison:
    """Compare two groups of the responses ``filters`` keep (see the module's description).

    ``choice`` is ``period`` or a group ``key:value`` (``region:East China``), compared with
    ``other``, another value of the same key (blank: all other values). Unusable choices (no
    earlier wave, one date of a range, an unknown value) are a :class:`UserError`.
    """
    mode = "period" if choice == "period" else "segment"
    segment = parse_segment(choice) if mode == "segment" else None
    data = survey_data_from_db(engine, filters.survey)
    if data.meta["wave"].isna().all():
        data = replace(data, meta=data.meta.assign(wave=ALL_RESPONSES))  # shared: a copy
    survey = filters.survey or str(data.meta["survey"].iloc[0])
    filters = filters.but(survey=survey)
    choices = filter_options(data)
    if segment is None:
        (a, mask_a), (b, mask_b) = _periods(data, filters)
    else:
        (a, mask_a), (b, mask_b) = _segments(data, filters, *segment, (other or "").strip())
    return Comparison(survey=survey, filters=filters, mode=mode, a=a, b=b,
                      rows=_rows(data, mask_a, mask_b), options=choices)


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before ``start``–``end`` (inclusive days): whole
    calendar months are followed back by as many whole months (a quarter by the quarter
    before), any other range by as many days."""
    following = end + timedelta(days=1)
    if start.day == 1 and following.day == 1:
        months = (following.year - start.year) * 12 + following.month - start.month
        first = start.year * 12 + start.month - 1 - months
        return date(first // 12, first % 12 + 1, 1), start - timedelta(days=1)
    length = (end - start).days + 1
    return start - timedelta(days=length), start - timedelta(days=1)


def _kept(data: SurveyData, filters: Filters) -> pd.Series:
    """Which of ``data``'s responses ``filters`` keep (a boolean mask on ``data.meta``)."""
    return pd.Series(data.meta.index.isin(filters.apply(data).meta.index), index=data.meta.index)


def _periods(data: SurveyData, filters: Filters):
    if (filters.date_from is None) != (filters.date_to is None):
        raise UserError(N_("Choose both dates to compare a period with the one before it, or "
                           "no date to compare the latest wave with the previous one."))
    if filters.date_from is not None:
        start, end = previous_period(filters.date_from, filters.date_to)
        before = filters.but(date_from=start, date_to=end)
        now_mask, before_mask = _kept(data, filters), _kept(data, before)
        return ((Side("period", int(now_mask.sum()), filters, start=filters.date_from,
                      end=filters.date_to), now_mask),
                (Side("period", int(before_mask.sum()), before, start=start, end=end),
                 before_mask))
    everything = _kept(data, filters.without("wave"))
    order = [w for w in data.waves_in_order() if (everything & data.meta["wave"].eq(w)).any()]
    if filters.wave is not None:
        _kept(data, filters)  # an unknown wave is explained
        order = order[:order.index(filters.wave) + 1] if filters.wave in order else []
    if len(order) < 2:
        raise UserError(N_("There is no earlier wave to compare with. Choose a date range to "
                           "compare a period with the one before it."))
    sides = []
    for wave in order[-1], order[-2]:
        mask = everything & data.meta["wave"].eq(wave)
        sides.append((Side("wave", int(mask.sum()), filters.but(wave=wave), wave=wave), mask))
    return sides


def _segments(data: SurveyData, filters: Filters, key: str, value: str, other: str):
    base = filters.without(key)
    chosen = _kept(data, base.but(**{key: value}))  # an unknown value is explained
    if other:
        if other == value:
            raise UserError(N_("Choose two different groups to compare."))
        rest = _kept(data, base.but(**{key: other}))
        return ((Side("segment", int(chosen.sum()), base.but(**{key: value}), key=key,
                      value=value), chosen),
                (Side("segment", int(rest.sum()), base.but(**{key: other}), key=key,
                      value=other), rest))
    values = data.groups(key)
    rest = _kept(data, base) & values.notna() & values.ne(value)
    return ((Side("segment", int(chosen.sum()), base.but(**{key: value}), key=key, value=value),
             chosen),
            (Side("rest", int(rest.sum()), base, drill_exact=False, key=key, value=value),
             rest))


def _verdict(difference: float, p: float) -> str | None:
    if pd.isna(p) or pd.isna(difference):
        return None
    if p >= ALPHA:
        return "same"
    return "higher" if difference > 0 else "lower"


def _row(measure: str, found: pd.Series, a_key: str, b_key: str, labels: dict) -> dict:
    n_a, n_b = int(found["n_a"]), int(found["n_b"])
    return {"measure": measure, **labels, "n_a": n_a, "n_b": n_b, "a": found[a_key],
            "b": found[b_key], "difference": found["difference"], "p_value": found["p_value"],
            "verdict": _verdict(found["difference"], found["p_value"]),
            "small": min(n_a, n_b) < SMALL_SAMPLE}


def _rows(data: SurveyData, mask_a: pd.Series, mask_b: pd.Series) -> list[dict]:
    weights = data.weights.astype(float).fillna(1.0)
    rows = []
    system = load_index_system()
    try:  # the index system's scores per respondent, as the Overview's CSI
        scores = csi_scores(data.answers, system.items)
    except ValueError:  # none of the index system's items was asked
        scores = pd.DataFrame(index=data.answers.index)
    if "csi" in scores.columns:
        rows.append(_row("csi", mean_difference(
            scores.loc[mask_a.to_numpy(), "csi"], scores.loc[mask_b.to_numpy(), "csi"],
            weights[mask_a], weights[mask_b]), "mean_a", "mean_b", {}))
    if "nps" in data.answers.columns:
        answers = data.answers["nps"]
        rows.insert(0, _row("nps", nps_test(answers[mask_a.to_numpy()],
                                            answers[mask_b.to_numpy()],
                                            weights[mask_a], weights[mask_b]),
                            "nps_a", "nps_b", {}))
    labels = system.dimensions.set_index("dimension")
    for dimension in [d for d in system.dimensions["dimension"] if d in scores.columns]:
        column = scores[dimension]
        found = mean_difference(column[mask_a.to_numpy()], column[mask_b.to_numpy()],
                                weights[mask_a], weights[mask_b])
        if found["n_a"] or found["n_b"]:
            rows.append(_row(dimension, found, "mean_a", "mean_b",
                             labels.loc[dimension].filter(like="label_").to_dict()))
    return rows


__all__ = ["ALPHA", "MODES", "SMALL_SAMPLE", "Comparison", "Side", "comparison",
           "parse_segment", "previous_period"]
