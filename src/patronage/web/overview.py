"""The Overview shown part by part: its head at once, its figures as they are computed.

The head (the surveys, what the filters can choose, how many responses they keep) is a
background job of its own, shared by the languages and quick once the survey is read (see
:func:`patronage.reporting.overview.overview_head`). The figures (this module's overview
job) are waited for at most ``page_wait_seconds``; when they are not
ready by then the page is sent with each part (the latest wave's figures, the charts, the
tables, the comments) as a "being computed" placeholder, which static/sections.js swaps for
``/overview/section/<key>`` once computed, as on the Analysis page.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from patronage.messages import N_, UserError
from patronage.reporting import chart_links, overview
from patronage.reporting import respondents as respondents_list
from patronage.reporting.charts import dimension_bars, nps_groups, nps_trend
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import Filters
from patronage.reporting.formats import small_sample, wave_label
from patronage.reporting.overview import overview_head
from patronage.reporting.shared import shared_call
from patronage.web.deps import language_of, render, require_user
from patronage.web.pages import ANALYSTS, _bad_filters
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
#: The parts of the page computed with its figures, in page order, with their titles (shown
#: while they are computed).
PARTS = {"kpis": N_("Latest wave"), "charts": N_("NPS and CSI by wave"),
         "waves": N_("NPS by wave"), "dimensions": N_("Dimension scores"),
         "comments": N_("Latest comments")}
#: The head waits at least this long (the survey's filtering, about a second on a million
#: responses); without it the visit gets the note that the page is being prepared.
HEAD_WAIT_SECONDS = 1.5
#: Seconds between sections.js's questions about a part still being computed.
POLL_SECONDS = 0.5


def _head(engine, filters: Filters):
    """The head, or the filters' problem as the error (shown by the route)."""
    try:
        return overview_head(engine, filters.survey, filters=filters)
    except UserError as exc:
        return exc


def head_job(app, filters: Filters) -> Job:
    """The head on ``filters``: the same in every language, in the overview's sharing group
    (its reading and filtering are the figures' too)."""
    engine = app.state.engine
    return Job("overview:head", (filters,), lambda: _head(engine, filters), ("overview", filters))


def _overview(engine, filters: Filters, lang: str, _, min_sample: int = 1) -> dict:
    """The overview's figures and charts on the filtered responses (translated titles: the
    language is in the cache key; the figures are shared by the languages), or the problem with
    the filters in the reader's language."""
    try:
        result = shared_call(overview, engine, filters.survey, filters=filters)
    except UserError as exc:  # shown by the route, with the reader's labels
        return {"problem": exc}
    charts = {}
    if not result.empty:
        charts["trend"] = nps_trend(result.waves, title=_("NPS and CSI by wave"),
                                    nps_label=_("NPS"), csi_label=_("CSI (0–100)"),
                                    wave_labels=[wave_label(w, _) for w in result.waves["wave"]],
                                    min_sample=min_sample)
        if result.waves["nps"].notna().any():
            charts["groups"] = nps_groups(
                result.waves, title=_("Promoters, passives and detractors by wave"),
                names={g: _(respondents_list.GROUPS[g]) for g in respondents_list.GROUPS},
                axis_title=_("Share of respondents"), min_sample=min_sample,
                wave_labels=[wave_label(w, _) for w in result.waves["wave"]])
        if not result.dimensions.empty and not small_sample(result.latest["n"], min_sample):
            charts["dimensions"] = dimension_bars(
                result.dimensions[f"label_{lang}"].tolist(), result.dimensions["score"].tolist(),
                title=_("Dimension scores, latest wave"), axis_title=_("Score (0–100)"))
    return {"overview": result, "charts": charts, "problem": None,
            **chart_links.overview_extras(result, filters, charts, lang, _, min_sample)}


def overview_job(app, filters: Filters, language: str) -> Job:
    """The overview on ``filters`` in ``language``; its figures are shared by the languages."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    min_sample = app.state.settings.min_sample
    return Job("overview", (filters, language),
               lambda: _overview(engine, filters, language, gettext, min_sample),
               ("overview", filters))


def overview_view(request: Request, filters: Filters) -> dict | UserError | None:
    """The page's context: the whole overview when its figures are ready within the visit's
    wait (or those of the previous data, marked as being updated), else the head with the
    parts to fetch (``pending``); the filters' problem; None while the head is first
    prepared."""
    app = request.app
    wait = app.state.settings.page_wait_seconds
    deadline = time.monotonic() + wait
    ready = prepared(request, head_job(app, filters), wait=max(wait, HEAD_WAIT_SECONDS))
    if ready is None:
        return None
    head, current = ready
    if isinstance(head, UserError):
        return head
    common = {"filter_names": FILTER_NAMES, "parts": PARTS, "retry_seconds": POLL_SECONDS,
              "section_query": head.filters.to_query()}
    if head.empty:
        return {**common, "head": head, "overview": None, "pending": [], **freshness(current)}
    body = prepared(request, overview_job(app, filters, language_of(request)),
                    wait=max(0.0, deadline - time.monotonic()))
    if body is None:
        return {**common, "head": head, "overview": None, "pending": list(PARTS),
                **freshness(current)}
    shown, fresh = body
    if shown["problem"]:
        return shown["problem"]
    whole = current and fresh  # rendered once per visitor and kept
    return {**common, **shown, "head": shown["overview"], "pending": [],
            **freshness(whole), "kept_as": ([head, shown], "overview") if whole else None}


@router.get("/")
def overview_page(request: Request):
    """The overview on the responses the filters in the address keep (see
    :class:`~patronage.reporting.filters.Filters`): its head at once, its figures as they are
    computed (see :mod:`patronage.web.overview`)."""
    user = require_user(request)
    if user["role"] not in ANALYSTS:
        return RedirectResponse("/my", status_code=303)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    view = overview_view(request, filters)
    if view is None:
        return preparing(request, N_("Overview"))
    if isinstance(view, UserError):
        return _bad_filters(request, view)
    return render(request, "overview.html", **view)


@router.get("/overview/section/{key}")
def overview_part(request: Request, key: str):
    """One part of the Overview as HTML once computed at the current data version (nothing
    when the data give it nothing to show); 202 with ``Retry-After`` while it is computed."""
    require_user(request, *ANALYSTS)
    if key not in PARTS:
        raise HTTPException(404)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    ready = prepared(request, overview_job(request.app, filters, language_of(request)))
    if ready is None or not ready[1]:
        return Response(status_code=202, headers={"Retry-After": "1"})
    if ready[0]["problem"]:
        return _bad_filters(request, ready[0]["problem"])
    return render(request, "_overview_part.html", **ready[0], part=key, path="/")


__all__ = ["PARTS", "head_job", "overview_job", "overview_view", "router"]
