"""The computations behind the analysis and loyalty pages, done once per data version and shared
by the three interface languages.

A page is computed per language (titles, labels and charts are translated), but what it shows is
computed from the panel by library functions that know nothing of languages: reading the
responses, the bootstrap of the key drivers and of the path model, the purchase and spend
models, the retention tables. The report modules call those functions through the wrappers
below. Outside a :func:`sharing` scope a wrapper simply calls the function. Inside one, a call
with the same arguments as an earlier call in the same store returns the earlier result, so the
page's second and third languages only translate and draw.

The page cache keeps one store per page and data version (see
:class:`patronage.reporting.page_cache.PageCache`). Arguments are compared by value when they
are hashable (an engine, a survey code, options) and by identity otherwise (the survey data a
shared call returned, which the store keeps alive, so identities are never reused). A pandas
result is copied on the way out, so a report that relabels its table cannot change what the
next language gets; a ``ValueError`` (the data cannot support the method) is remembered and
raised again, other errors (a database that is busy) are not remembered. Pages computed at the
same time on the page cache's threads compute a shared result once: the second waits for it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pandas as pd

from patronage import loyalty
from patronage.loyalty import retention
from patronage.reporting import filters
from patronage.satisfaction import methods, sources, weights

_STORE: ContextVar[dict | None] = ContextVar("patronage_shared_results", default=None)
_EVERY_PAGE: ContextVar[dict | None] = ContextVar("patronage_version_results", default=None)


@contextmanager
def sharing(store: dict, every_page: dict | None = None) -> Iterator[dict]:
    """Within this block, the wrapped functions keep their results in ``store``, and those
    wrapped with ``every_page`` in ``every_page`` when given (the store of every page and
    filter at one data version)."""
    token, wide = _STORE.set(store), _EVERY_PAGE.set(every_page)
    try:
        yield store
    finally:
        _EVERY_PAGE.reset(wide)
        _STORE.reset(token)


_LOCKS_GUARD = threading.Lock()


def _lock_of(store: dict, key: tuple) -> threading.RLock:
    """The lock of ``key`` in ``store``: pages are computed on two threads, and a result two of
    them ask for at once is computed once, the other waiting for it (the calls nest from the
    page down to the data read, never back, so the locks cannot wait for each other in a
    circle)."""
    with _LOCKS_GUARD:
        return store.setdefault("_locks", {}).setdefault(key, threading.RLock())


def _key_part(value: Any, store: dict) -> Any:
    try:
        hash(value)
    except TypeError:
        store.setdefault("_kept", []).append(value)  # keeps the identity unique in the store
        return ("id", id(value))
    return ("value", value)


def _fresh(result: Any) -> Any:
    """A copy of pandas results (reports relabel tables in place), other results as they are."""
    if isinstance(result, pd.DataFrame | pd.Series):
        return result.copy()
    if isinstance(result, tuple):
        return tuple(_fresh(part) for part in result)
    return result


def shared(function: Callable, *, every_page: bool = False) -> Callable:
    """``function`` with its results kept in the current :func:`sharing` store, if any; with
    ``every_page``, in the store of every page and filter at the data version when there is one
    (for what does not depend on the filters: the survey's responses as read from the
    database, which each filtered view then narrows in memory)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        store = _EVERY_PAGE.get() if every_page else None
        if store is None:
            store = _STORE.get()
        if store is None:
            return function(*args, **kwargs)
        key = (function.__module__, function.__qualname__,
               tuple(_key_part(a, store) for a in args),
               tuple(sorted((k, _key_part(v, store)) for k, v in kwargs.items())))
        if key not in store:
            with _lock_of(store, key):  # two pages computed at once: the first computes
                if key not in store:
                    try:
                        store[key] = (True, function(*args, **kwargs))
                    except ValueError as exc:  # the data cannot support it: the same in
                        store[key] = (False, exc)  # every language
        ok, result = store[key]
        if not ok:
            raise result
        return _fresh(result)

    return wrapper


def shared_call(function: Callable, *args, **kwargs) -> Any:
    """``function(*args, **kwargs)``, its result kept in the current store as by :func:`shared`
    (for a function looked up at call time)."""
    return shared(function)(*args, **kwargs)


def _with_flagged(engine, survey: str | None) -> sources.SurveyData:
    return sources.survey_data_from_db(engine, survey, include_flagged=True)


def _kept_by_cleaning(data: sources.SurveyData) -> sources.SurveyData:
    """``data`` without the responses cleaning flagged: what ``survey_data_from_db`` reads
    without ``include_flagged`` (the items only flagged responses answered left out too)."""
    return data.narrowed(~data.meta["flagged"].astype(bool).to_numpy(), drop_empty_items=True)


def _survey_data_from_db(engine, survey: str | None = None, *,
                         include_flagged: bool = False) -> sources.SurveyData:
    """:func:`patronage.satisfaction.sources.survey_data_from_db`, the responses with and
    without those flagged by cleaning taken from one read (a filtered Overview needs both)."""
    everything = _read_with_flagged(engine, survey)
    return everything if include_flagged else _kept_by_cleaning(everything)


_read_with_flagged = shared(_with_flagged, every_page=True)
_read_survey_data = shared(_survey_data_from_db, every_page=True)
_default_survey = shared(sources.default_survey, every_page=True)


def survey_data_from_db(engine, survey: str | None = None, *,
                        include_flagged: bool = False) -> sources.SurveyData:
    """The shared :func:`_survey_data_from_db`, the default survey (None) named by its code
    first: the Overview names it, the Analysis page does not, and both share one read (a second
    read of a million responses took minutes)."""
    if survey is None:
        survey = _default_survey(engine)
    return _read_survey_data(engine, survey, include_flagged=include_flagged)


#: Filtered views of the survey data kept per data version (each holds part of the responses).
FILTERED_KEPT = 8


def filtered(chosen: filters.Filters, data: sources.SurveyData) -> sources.SurveyData:
    """``data`` narrowed by the filters ``chosen`` (see :meth:`Filters.apply
    <patronage.reporting.filters.Filters.apply>`; the survey is chosen when the data are read).

    Within a :func:`sharing` scope, one object per data and filters for every page and language
    at the data version (the store of every page when there is one, else the page's): the
    Overview and the Analysis page of one filtered view filter the responses once, and what is
    computed on the result (each respondent's scores, the shared calls keyed by it) is shared
    too. The last :data:`FILTERED_KEPT` views are kept; a filter value the data do not have is
    the same ``UserError`` each time."""
    if not chosen.active:
        return data
    store = _EVERY_PAGE.get()
    if store is None:
        store = _STORE.get()
    if store is None:
        return chosen.apply(data)
    key = ("filtered", id(data), chosen.but(survey=None))
    with _LOCKS_GUARD:
        kept = store.setdefault("_filtered", OrderedDict())
    with _lock_of(store, key):  # two pages filtering at once: the first filters
        with _LOCKS_GUARD:
            found = kept.get(key)
            if found is not None and found[0] is data:
                kept.move_to_end(key)
        if found is None or found[0] is not data:
            try:
                found = (data, True, chosen.apply(data))
            except ValueError as exc:  # an unknown value: the same in every language
                found = (data, False, exc)
            with _LOCKS_GUARD:
                kept[key] = found
                while len(kept) > FILTERED_KEPT:
                    kept.popitem(last=False)
    if not found[1]:
        raise found[2]
    return found[2]

# The analysis page (patronage.reporting.satisfaction and scores_page); the survey data read and
# what the filter bar offers are the same for every filter, page and language.
filter_choices = shared(filters.options, every_page=True)
customer_base_margins = shared(weights.customer_base_margins)
composition_table = shared(weights.composition_table)
weighting_effect = shared(weights.weighting_effect)
compare_table = shared(methods.compare_table)
drivers_table = shared(methods.drivers_table)
index_path_model = shared(methods.index_path_model)
gap_table = shared(methods.gap_table)
ipa_table = shared(methods.ipa_table)
kano_table = shared(methods.kano_table)
reliability_table = shared(methods.reliability_table)
trend_table = shared(methods.trend_table)
ces_table = shared(methods.ces_table)
competitor_table = shared(methods.competitor_table)
competitors_in = shared(methods.competitors_in)
crosstab_table = shared(methods.crosstab_table)
csat_table = shared(methods.csat_table)
servqual_table = shared(methods.servqual_table)

# The loyalty page (patronage.reporting.loyalty).
at_risk_table = shared(loyalty.at_risk_table)
clv_table = shared(loyalty.clv_table)
cohort_table = shared(loyalty.cohort_table)
fit_value_models = shared(loyalty.fit_value_models)
holdout_table = shared(loyalty.holdout_table)
rfm_table = shared(loyalty.rfm_table)
segments_table = shared(loyalty.segments_table)
whale_table = shared(loyalty.whale_table)
defection_table = shared(retention.defection_table)
retention_by_satisfaction_table = shared(retention.retention_by_satisfaction_table)
retention_economics_table = shared(retention.retention_economics_table)

__all__ = ["filtered", "shared", "shared_call", "sharing"]
