"""The comments page: sentiment and themes of a survey's comments, searchable, by wave and
segment, computed in the background (:mod:`patronage.web.prepared`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from patronage.reporting.comments_page import (
    SEGMENT_LABELS, SENTIMENT_LABELS, comments_page, segment_label,
)
from patronage.storage import read_surveys
from patronage.web.deps import N_, language_of, render, require_user
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
TITLE = N_("Comments")


def comments_job(app, survey, wave, segment, query, language) -> Job:
    """The page for one choice of filters in ``language``."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    return Job("comments", (survey, wave, segment, query, language),
               lambda: comments_page(engine, survey=survey, wave=wave, segment=segment,
                                     query=query, language=language, gettext=gettext),
               ("comments", survey, wave, segment, query))


@router.get("/comments")
def comments(request: Request, survey: str = "", wave: str = "", segment: str = "",
             q: str = ""):
    require_user(request, "admin", "analyst")
    filters = {"survey": survey.strip() or None, "wave": wave.strip() or None,
               "segment": segment.strip() or None, "query": q.strip()[:200] or None}
    ready = prepared(request, comments_job(request.app, *filters.values(), language_of(request)))
    if ready is None:
        return preparing(request, TITLE)
    page, current = ready
    return render(request, "comments.html", page_title=TITLE, page=page, filters=filters,
                  surveys=read_surveys(request.app.state.engine)["code"].tolist(),
                  sentiment_labels=SENTIMENT_LABELS, segment_labels=SEGMENT_LABELS,
                  segment_label=segment_label, **freshness(current))
