"""The dashboard pages' global filters: which responses (and customers) every figure is computed on.

A :class:`Filters` is parsed from a page's query parameters (:meth:`Filters.from_query`), so a
filtered page is a shareable address, and written back with :meth:`Filters.to_query` for links
(the drill-down lists, the filter bar's "clear" links). It is frozen and hashable: the page cache
keys a computed page by it. Values are checked twice: their form when parsed (dates, lengths),
and against the survey's responses when applied (:meth:`Filters.apply`): an unknown region or
wave is a :class:`~patronage.messages.UserError` naming the values there are, never an empty page
that looks like a result.

The touchpoint filter keeps the responses about a moment of truth of one kind: those tagged with a
touchpoint of that kind (a survey sent after it, an import's touchpoint column) and, of the
untagged ones, those whose customer had a touchpoint of that kind (an installation, a delivery
...) in the :data:`~patronage.satisfaction.sources.TOUCHPOINT_DAYS` days before answering (the
survey's own touchpoint is not one). Pages about customers rather than responses (the Loyalty page) take the
segment filters only: :func:`customer_filters` splits the rest off so the page can say so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from patronage.messages import N_, Term, UserError
from patronage.satisfaction.sources import TOUCHPOINTS, SurveyData
from patronage.storage.schema import TOUCHPOINT_KINDS

#: The customer attributes a page can be filtered by (columns of the customer panel; the survey
#: data has them as ``customer_<name>``). ``channel`` is the customer's sales channel.
SEGMENTS = ("region", "industry", "size", "tier", "channel")
#: Every filter's query parameter, in the order the filter bar shows them.
KEYS = ("survey", "wave", "date_from", "date_to", "touchpoint", *SEGMENTS)
#: The filters' names (English, translated where shown).
NAMES = {"survey": N_("Survey"), "wave": N_("Wave"), "date_from": N_("Answered from"),
         "date_to": N_("Answered until"), "touchpoint": N_("Touchpoint"), "region": N_("Region"), "industry": N_("Industry"),
         "size": N_("Size"), "tier": N_("Tier"), "channel": N_("Channel")}
#: Longest value accepted for a text filter (longer is not a value of the panel).
MAX_VALUE = 120


def _day(key: str, text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(N_("The filter {field} must be a date such as 2026-03-31, not {value!r}."),
                        field=Term(NAMES[key]), value=text[:40]) from None


@dataclass(frozen=True)
class Filters:
    """The chosen filters; None means "all". Dates are inclusive days of ``submitted_at``."""

    survey: str | None = None
    wave: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    touchpoint: str | None = None
    region: str | None = None
    industry: str | None = None
    size: str | None = None
    tier: str | None = None
    channel: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """The filters in a page's query parameters (other parameters are ignored; blank is
        "all"). A malformed date, a range that ends before it starts or an over-long value is
        a :class:`UserError`."""
        values: dict = {}
        for key in KEYS:
            raw = params.get(key)
            if raw is None or not str(raw).strip():
                continue
            text = str(raw).strip()
            if key.startswith("date_"):
                values[key] = _day(key, text)
            elif len(text) > MAX_VALUE:
                raise UserError(N_("The filter {field} is too long to be a value of the data."),
                                field=Term(NAMES[key]))
            elif key == "touchpoint" and text not in TOUCHPOINT_KINDS:
                error = UserError(N_("There is no touchpoint {value!r}; choose one of: "
                                     "{choices}."), value=text[:60],
                                  choices=", ".join(TOUCHPOINT_KINDS))
                error.kind, error.choices = key, list(TOUCHPOINT_KINDS)  # shown by their labels
                raise error
            else:
                values[key] = text
        found = cls(**values)
        if found.date_from and found.date_to and found.date_from > found.date_to:
            raise UserError(N_("The date range ends ({end}) before it starts ({start}): swap the "
                               "two dates."), start=found.date_from.isoformat(),
                            end=found.date_to.isoformat())
        return found

    def items(self) -> list[tuple[str, str]]:
        """The active filters as ``(key, value)`` in :data:`KEYS` order (dates as ISO days)."""
        found = []
        for key in KEYS:
            value = getattr(self, key)
            if value is not None:
                found.append((key, value.isoformat() if isinstance(value, date) else value))
        return found

    def to_query(self, **extra) -> str:
        """The query string (without ``?``) that :meth:`from_query` reads back to these
        filters, followed by ``extra`` parameters whose value is not None."""
        pairs = self.items() + [(k, str(v)) for k, v in extra.items() if v is not None]
        return urlencode(pairs)

    def without(self, *keys: str) -> Filters:
        """These filters with ``keys`` set back to "all"."""
        return replace(self, **{key: None for key in keys})

    def cleared(self) -> Filters:
        """Every filter back to "all", the survey kept (the filter bar's "clear all")."""
        return Filters(survey=self.survey)

    def but(self, **values) -> Filters:
        """These filters with some values replaced."""
        return replace(self, **values)

    @property
    def active(self) -> bool:
        """Whether anything but the survey narrows the data."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "survey")

    def apply(self, data: SurveyData) -> SurveyData:
        """``data`` with only the responses these filters keep (the survey is chosen when the
        data are read, not here). A wave or segment value the responses do not have is a
        :class:`UserError` listing those they have."""
        meta = data.meta
        if not self.active:
            return data
        return data.narrowed(self.keep(meta))

    def keep(self, meta: pd.DataFrame, *, checked: bool = True) -> np.ndarray:
        """Which rows of ``meta`` (a survey's response meta) these filters keep, as a boolean
        array; an unknown value is a :class:`UserError` as in :meth:`apply`, unless not
        ``checked`` (rows known to be part of data already checked: it keeps none of them)."""
        _known = _known_value if checked else lambda *_: True
        keep = np.ones(len(meta), dtype=bool)
        if self.wave is not None:
            keep &= _equal(meta["wave"], self.wave) & _known("wave", self.wave, meta["wave"])
        if self.date_from is not None or self.date_to is not None:
            days = pd.to_datetime(meta["submitted_at"])  # compared as days at midnight: no
            if days.dt.tz is not None:  # Python date per response (a second on 1M responses)
                days = days.dt.tz_localize(None)
            days = days.dt.normalize()
            if self.date_from is not None:
                keep &= days.ge(pd.Timestamp(self.date_from)).fillna(False).to_numpy(dtype=bool)
            if self.date_to is not None:
                keep &= days.le(pd.Timestamp(self.date_to)).fillna(False).to_numpy(dtype=bool)
        if self.touchpoint is not None:
            kinds = meta[TOUCHPOINTS] if TOUCHPOINTS in meta.columns else pd.Series(
                "", index=meta.index)
            lists = kinds.fillna("").astype(str).str.split(";")
            keep &= lists.map(lambda found: self.touchpoint in found).to_numpy(dtype=bool) & _known(
                "touchpoint", self.touchpoint, pd.Series(_kinds(kinds)))
        for key in SEGMENTS:
            value = getattr(self, key)
            column = f"customer_{key}"
            if value is None:
                continue
            if column in meta.columns:
                keep &= _equal(meta[column], value) & _known(key, value, meta[column])
            else:
                keep &= _known(key, value, pd.Series(dtype=object))
        return keep

    def apply_customers(self, panel: pd.DataFrame) -> pd.DataFrame:
        """The customers of ``panel`` (the customer table, with the segment columns) that the
        segment filters keep; an unknown value is a :class:`UserError`."""
        keep = pd.Series(True, index=panel.index)
        for key in SEGMENTS:
            value = getattr(self, key)
            if value is not None:
                column = panel[key] if key in panel.columns else pd.Series(dtype=object)
                keep &= column.eq(value).reindex(panel.index, fill_value=False) & _known_value(
                    key, value, column)
        return panel[keep]


def _equal(column: pd.Series, value: str) -> np.ndarray:
    """``column == value`` as a boolean array (missing is not equal), on the column's codes."""
    codes, uniques = pd.factorize(column)  # on the column's own (Arrow) type: no str per row
    found = [i for i, unique in enumerate(uniques) if unique == value]
    return np.isin(codes, found) if found else np.zeros(len(column), dtype=bool)


def _kinds(column: pd.Series) -> list[str]:
    """The touchpoint kinds in a ``touchpoints`` column (";"-joined), in the schema's order."""
    found = {kind for text in column.dropna().unique() for kind in str(text).split(";") if kind}
    return [kind for kind in TOUCHPOINT_KINDS if kind in found]


def customer_filters(filters: Filters) -> tuple[Filters, list[str]]:
    """The part of ``filters`` a page about customers can take (the segments), and the keys of
    those it cannot (the survey's wave, answer dates, touchpoint), for the page to name."""
    dropped = [key for key, _value in filters.items()
               if key not in SEGMENTS and key != "survey"]
    return filters.without(*dropped, "survey"), dropped


def _known_value(key: str, value: str, values: pd.Series) -> bool:
    """True when ``value`` is among ``values``; else the error that says which there are."""
    # The distinct values first, then their missing one left out: not a str per response, and
    # no mask Series over a million rows (numpy asks it for attributes that its string index
    # then looks up among its labels).
    present = sorted({str(v) for v in values.unique() if not pd.isna(v)})
    if value in present:
        return True
    shown = ", ".join(present[:12]) + (" …" if len(present) > 12 else "")
    error = UserError(N_("There is no {field} {value!r} in these responses; choose one of: "
                         "{choices}."), field=Term(NAMES[key]), value=value[:60],
                      choices=shown or "–")
    error.kind, error.choices = key, present  # a page shows them with their labels
    raise error


def options(data: SurveyData) -> dict[str, list[str]]:
    """What the filter bar offers for ``data`` (unfiltered): the waves in date order, the
    touchpoint kinds the responses followed and each segment's values, sorted."""
    found = {"wave": data.waves_in_order(),
             "touchpoint": _kinds(data.meta[TOUCHPOINTS]) if TOUCHPOINTS in data.meta.columns
             else []}
    for key in SEGMENTS:
        column = f"customer_{key}"
        # The distinct values first: a million responses have a few dozen regions.
        values = data.meta[column].dropna().unique() if column in data.meta.columns else []
        found[key] = sorted({str(v) for v in values})
    return found


__all__ = ["KEYS", "NAMES", "SEGMENTS", "Filters", "customer_filters", "options"]
