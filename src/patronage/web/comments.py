"""The comments page: sentiment and themes of a survey's comments, searchable, by wave and
segment, computed in the background (:mod:`patronage.web.prepared`), and the edits of its
themes (pin keywords, rename, merge, drop) by analysts and admins."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from patronage.messages import N_
from patronage.reporting.comments_page import (
    SEGMENT_LABELS, SENTIMENT_LABELS, comments_page, segment_label,
)
from patronage.satisfaction import comment_themes as edits
from patronage.satisfaction.comments import default_survey
from patronage.storage import read_surveys
from patronage.web.deps import check_csrf, language_of, render, require_user, translated
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
TITLE = N_("Comments")
EDITORS = ("admin", "analyst")


def comments_job(app, survey, wave, segment, query, cases, language) -> Job:
    """The page for one choice of filters in ``language``."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    return Job("comments", (survey, wave, segment, query, cases, language),
               lambda: comments_page(engine, survey=survey, wave=wave, segment=segment,
                                     query=query, language=language, gettext=gettext,
                                     cases=cases),
               ("comments", survey, wave, segment, query, cases))


def _filters(survey: str, wave: str, segment: str, q: str, source: str) -> dict:
    cases = source == "cases"
    return {"survey": None if cases else survey.strip() or None,
            "wave": None if cases else wave.strip() or None,
            "segment": segment.strip() or None, "query": q.strip()[:200] or None,
            "cases": cases}


def _show(request: Request, filters: dict, status: int = 200, edit_error: str | None = None):
    ready = prepared(request, comments_job(request.app, *filters.values(), language_of(request)))
    if ready is None:
        return preparing(request, TITLE)
    page, current = ready
    return render(request, "comments.html", status, page_title=TITLE, page=page, filters=filters,
                  surveys=read_surveys(request.app.state.engine)["code"].tolist(),
                  sentiment_labels=SENTIMENT_LABELS, segment_labels=SEGMENT_LABELS,
                  segment_label=segment_label, edit_error=edit_error, **freshness(current))


@router.get("/comments")
def comments(request: Request, survey: str = "", wave: str = "", segment: str = "",
             q: str = "", source: str = ""):
    """``source=cases``: the case descriptions instead of a survey's comments."""
    require_user(request, *EDITORS)
    return _show(request, _filters(survey, wave, segment, q, source))


@router.post("/comments/themes", dependencies=[Depends(check_csrf)])
def edit_themes(request: Request, action: str = Form(""), themes: list[str] = Form([]),
                name: str = Form(""), keywords: str = Form(""), survey: str = Form(""),
                wave: str = Form(""), segment: str = Form(""), q: str = Form(""),
                source: str = Form("")):
    """Pin keywords to a theme, rename, merge or drop themes, then show the page again."""
    require_user(request, *EDITORS)
    filters, engine = _filters(survey, wave, segment, q, source), request.app.state.engine
    try:
        scope = edits.scope_of(None if filters["cases"] else
                               default_survey(engine, filters["survey"]), cases=filters["cases"])
        {"pin": lambda: edits.pin_theme(engine, scope, name, keywords),
         "rename": lambda: edits.rename_theme(engine, scope, (themes or [""])[0], name),
         "merge": lambda: edits.merge_themes(engine, scope, themes, name),
         "drop": lambda: [edits.drop_theme(engine, scope, t) for t in themes or [""]],
         }.get(action, lambda: edits.drop_theme(engine, scope, ""))()
    except ValueError as exc:
        message = translated(exc, request.app.state.translations[language_of(request)].gettext)
        return _show(request, filters, 400, message)
    kept = {"survey": survey, "wave": wave, "segment": segment, "q": q, "source": source}
    query = urlencode({k: v for k, v in kept.items() if v})
    return RedirectResponse("/comments" + (f"?{query}" if query else "") + "#edit", 303)
