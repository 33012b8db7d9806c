"""The satisfaction analysis page, computed section by section in the background.

The page is its head (the surveys, what the filters offer, whether the filters fit the data)
and seventeen sections, each a background job of the page cache (see
:mod:`patronage.web.prepared`) sharing one store per filters and data version, so the survey
data are read once for every page and filtered once for every section and language. A visit
waits for them at most ``page_wait_seconds`` in all; the sections not ready by then are shown
as "being computed" and fetched by static/sections.js from ``/analysis/section/<key>`` as each
is computed, in page order. Once all are computed (a repeat visit, another language, another
user with the same filters) the page comes whole from memory.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from patronage.labels import labels_for
from patronage.messages import N_, UserError, translated
from patronage.reporting import chart_links
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import Filters
from patronage.reporting.satisfaction import (
    COLUMN_LABELS,
    SECTION_KEYS,
    TITLES,
    VALUE_LABELS,
    analysis_section,
)
from patronage.reporting.shared import filter_choices, filtered
from patronage.reporting.shared import survey_data_from_db as shared_survey_data
from patronage.storage import read_surveys
from patronage.web.deps import language_of, render, require_user
from patronage.web.i18n import LANGUAGES
from patronage.web.pages import ANALYSTS, _bad_filters
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
TITLE = N_("Satisfaction analysis")
#: The Retry-After of a section still being computed (whole seconds).
RETRY_SECONDS = 1
#: Seconds between sections.js's questions about a section still being computed.
POLL_SECONDS = 0.5
#: A visit waits up to this long for the page's head (at least ``page_wait_seconds``): the
#: head only filters data already read (about a second for a million responses), and without
#: it the visit gets the "being prepared" note instead of the sections being computed.
HEAD_WAIT_SECONDS = 1.5


def _head(engine, filters: Filters, gettext, flagged: bool) -> dict:
    """The surveys, what the filters can choose and the page's problem (no responses, a filter
    value the data do not have), from the data as read and filtered for the sections."""
    common = {"surveys": read_surveys(engine)["code"].tolist(), "options": {}, "problem": None}
    try:
        data = shared_survey_data(engine, filters.survey, include_flagged=flagged)
        common["options"] = filter_choices(data)
        filtered(filters, data)  # kept for the sections; an unknown value fails here
    except UserError as exc:
        if getattr(exc, "choices", None) is not None:
            return {**common, "bad_filter": exc}
        return {**common, "problem": translated(exc, gettext)}
    except ValueError as exc:
        return {**common, "problem": translated(exc, gettext)}
    return common


def _section(engine, filters: Filters, key: str, language: str, gettext, flagged: bool,
             min_sample: int) -> dict:
    """Section ``key`` with its sentence and chart links."""
    section = analysis_section(engine, filters.survey, key, language=language, gettext=gettext,
                               include_flagged=flagged, filters=filters)
    data = shared_survey_data(engine, filters.survey, include_flagged=flagged)
    extras = chart_links.analysis_extras([section], filters, filter_choices(data),
                                         labels_for(engine, language, gettext), language,
                                         gettext, min_sample)
    return {"section": section, **extras}


def head_job(app, filters: Filters, language: str, flagged: bool) -> Job:
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    return Job("analysis", (filters, language, flagged),
               lambda: _head(engine, filters, gettext, flagged), ("analysis", filters, flagged))


def section_job(app, filters: Filters, key: str, language: str, flagged: bool) -> Job:
    """Section ``key`` in ``language``: one cache entry per section (a page keeps a few
    parameter sets each), its computations shared by the languages and the other sections."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    min_sample = app.state.settings.min_sample
    return Job(f"analysis:{key}", (filters, language, flagged),
               lambda: _section(engine, filters, key, language, gettext, flagged, min_sample),
               ("analysis", filters, flagged))


def default_jobs(app) -> list[Job]:
    """The default page in every language, for the warmer: its head and sections in order."""
    return [job for language in LANGUAGES
            for job in [head_job(app, Filters(), language, False)]
            + [section_job(app, Filters(), key, language, False) for key in SECTION_KEYS]]


def analysis_view(request: Request, filters: Filters, flagged: bool) -> dict | None:
    """The page's context: the head and the sections ready within the visit's wait (the others
    placeholders ``{"key", "pending"}``, shown as being computed; all are asked for, in page
    order), with ``kept_as`` (see :func:`patronage.web.deps.render`) when the page is whole and
    current; None while the head is first prepared."""
    app, language = request.app, language_of(request)
    wait = app.state.settings.page_wait_seconds
    deadline = time.monotonic() + wait
    ready = prepared(request, head_job(app, filters, language, flagged),
                     wait=max(wait, HEAD_WAIT_SECONDS))
    if ready is None:
        return None
    head, current = ready
    view = {**head, "sections": [], "insights": {}, "chart_links": {}, "pending": []}
    if head["problem"] or head.get("bad_filter"):
        return {**view, **freshness(current)}
    results = [head]
    for key in SECTION_KEYS:
        wait = max(0.0, deadline - time.monotonic())
        part = prepared(request, section_job(app, filters, key, language, flagged), wait=wait)
        if part is None:
            view["sections"].append({"key": key, "pending": True})
            view["pending"].append(key)
            continue
        value, fresh = part
        current = current and fresh
        results.append(value)
        view["sections"].append(value["section"])
        view["insights"].update(value["insights"])
        view["chart_links"].update(value["chart_links"])
    whole = current and not view["pending"]  # rendered once per visitor and kept
    return {**view, **freshness(current), "kept_as": (results, "analysis") if whole else None}


def _context(filters: Filters, flagged: bool) -> dict:
    return {"page_title": TITLE, "survey": filters.survey or "", "flagged": flagged,
            "filters": filters, "filter_names": FILTER_NAMES, "column_labels": COLUMN_LABELS,
            "value_labels": VALUE_LABELS, "titles": TITLES, "retry_seconds": POLL_SECONDS,
            "section_query": filters.to_query(flagged="true" if flagged else None)}


@router.get("/analysis")
def analysis_page(request: Request, flagged: bool = False):
    """The analysis on the responses the filters in the address keep; ``flagged`` keeps the
    responses that cleaning flagged (left out by default)."""
    require_user(request, *ANALYSTS)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    view = analysis_view(request, filters, flagged)
    if view is None:
        return preparing(request, TITLE)
    if view.get("bad_filter"):
        return _bad_filters(request, view["bad_filter"])
    return render(request, "analysis.html", **_context(filters, flagged), **view)


@router.get("/analysis/section/{key}")
def analysis_section_part(request: Request, key: str, flagged: bool = False):
    """One section of the page as HTML once computed at the current data version; 202 with
    ``Retry-After`` while it is being computed."""
    require_user(request, *ANALYSTS)
    if key not in SECTION_KEYS:
        raise HTTPException(404)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    job = section_job(request.app, filters, key, language_of(request), flagged)
    ready = prepared(request, job)
    if ready is None or not ready[1]:
        return Response(status_code=202, headers={"Retry-After": str(RETRY_SECONDS)})
    return render(request, "_analysis_section.html", **_context(filters, flagged),
                  **ready[0], path="/analysis")


__all__ = ["analysis_view", "default_jobs", "head_job", "router", "section_job"]
