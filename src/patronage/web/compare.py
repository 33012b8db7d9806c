"""The Overview's comparison mode: ``/compare`` shows two groups of the filtered responses side
by side (this period and the previous one, a group and the others) with the significance of
each difference (:mod:`patronage.reporting.compare`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from patronage.messages import N_, UserError
from patronage.reporting.compare import SMALL_SAMPLE, comparison
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import SEGMENTS, Filters
from patronage.web.deps import render, require_user
from patronage.web.pages import ANALYSTS, _bad_filters
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()


def compare_job(app, filters: Filters, choice: str, other: str) -> Job:
    """The comparison, computed in the background like the Overview; the same in every
    language. Choices the data cannot take are kept as their error, shown by the route."""
    engine = app.state.engine

    def compute():
        try:
            return comparison(engine, filters, choice, other)
        except UserError as exc:
            return exc

    key = (filters, choice, other)
    return Job("compare", key, compute, ("compare", *key))


@router.get("/compare")
def compare_page(request: Request, compare: str = "period", other: str = ""):
    """Two groups of the responses the filters in the address keep: ``compare`` is ``period``
    or a group ``key:value``, ``other`` another value of that key (blank: all the others)."""
    require_user(request, *ANALYSTS)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    ready = prepared(request, compare_job(request.app, filters, compare[:250], other[:120]))
    if ready is None:
        return preparing(request, N_("Comparison of two groups"))
    found, current = ready
    if isinstance(found, UserError):
        if getattr(found, "choices", None) is not None:  # an unknown filter value
            return _bad_filters(request, found)
        return render(request, "compare.html", 400, problem=found, filters=filters,
                      choice=compare, filter_names=FILTER_NAMES)
    return render(request, "compare.html", result=found, filters=found.filters,
                  options=found.options, choice=compare, other=other.strip(),
                  filter_names=FILTER_NAMES, segments=SEGMENTS, small_sample=SMALL_SAMPLE,
                  **freshness(current))


__all__ = ["compare_job", "router"]
