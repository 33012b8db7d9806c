"""Public survey pages (no login) and the JSON submission API.

A GET never spends a token (mail scanners follow links); draft and closed surveys answer 404.
Submissions are rate-limited per client address, generously, so that many respondents behind
one company network can answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from patronage.messages import N_
from patronage.surveys.definition import LANGUAGES
from patronage.surveys.respond import (
    AnswerErrors,
    Unavailable,
    choose_language,
    item_fields,
    start,
    step,
    unavailable,
)
from patronage.surveys.submissions import SubmissionConflict, resolve_link
from patronage.web.deps import check_csrf, form_fields, language_of, render
from patronage.web.guard import json_object

router = APIRouter()


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _limit(request: Request) -> None:
    limiter = request.app.state.submission_limiter
    key = f"ip:{_client(request)}"
    if not limiter.attempt(key):  # counts every submission in the window
        raise HTTPException(429)


def _look_up(request: Request) -> str:
    """Count a link look-up as a miss before it runs, so that concurrent guesses cannot all
    pass the check first: 429 for an address that asked for too many unknown or closed links
    this minute. :func:`_found` takes the count back for a link that exists."""
    key = f"ip:{_client(request)}"
    if not request.app.state.link_miss_limiter.attempt(key):
        raise HTTPException(429)
    return key


def _found(request: Request, key: str) -> None:
    request.app.state.link_miss_limiter.forgive(key)


def _may_start_draft(request: Request, kind: str, link) -> str | None:
    """The limiter key when this post may save a new anonymous draft (an open link without a
    draft of its own); 429 when the address started too many this hour."""
    if kind != "o" or link.draft is not None:
        return None
    key = f"ip:{_client(request)}"
    if request.app.state.draft_limiter.blocked(key):
        raise HTTPException(429)
    return key


def _link(request: Request, kind: str, token: str, resume: str | None = None):
    miss = _look_up(request)
    link = resolve_link(request.app.state.engine, kind, token, resume_key=resume)
    if link is None:
        request.state.unavailable = unavailable(
            request.app.state.engine, kind, token, request.query_params.get("lang"),
            language_of(request))
        raise HTTPException(404)
    _found(request, miss)
    return link


_UNAVAILABLE = {
    False: (N_("This survey link does not work"),
            N_("Check that the whole address from your invitation was opened, or ask the "
               "sender for a new link.")),
    True: (N_("This survey is closed"),
           N_("It no longer takes answers. Thank you for your interest.")),
}


def is_public(request: Request) -> bool:
    """A respondent's page (``/s/…``, ``/o/…``; a customer's opt-out page ``/u/…``): errors
    there get :func:`error_page`."""
    return request.url.path.startswith(("/s/", "/o/", "/u/"))


def error_page(request: Request, status: int, message: str):
    """The respondent's page for a survey link that failed (``message``: the app's text for
    ``status``): no staff menu, in the survey's language, else the one asked for."""
    info = getattr(request.state, "unavailable", None)
    if info is None:
        asked = request.query_params.get("lang")
        info = Unavailable(False, asked if asked in LANGUAGES else language_of(request))
    heading, text = (_UNAVAILABLE[info.closed] if status == 404
                     else (N_("The page could not be shown"), message))
    translations = request.app.state.translations[info.language]
    return render(request, "survey_unavailable.html", status, t=translations.gettext,
                  survey_lang=info.language, heading=heading, text=text)


def _page(request: Request, kind: str, token: str, state, status: int = 200):
    translations = request.app.state.translations[state.language]
    return render(request, "survey_form.html", status, state=state, kind=kind, token=token,
                  t=translations.gettext, item_fields=item_fields, survey_lang=state.language)


def _kind(request: Request) -> str:
    return request.url.path[1]  # "s" (invitation) or "o" (open link)


@router.get("/s/{token}", include_in_schema=False)
@router.get("/o/{token}", include_in_schema=False)
def survey_page(request: Request, token: str, lang: str | None = None, resume: str | None = None):
    kind = _kind(request)
    link = _link(request, kind, token, resume)
    language = choose_language(link, lang)
    if link.response_id is not None:
        translations = request.app.state.translations[language]
        return render(request, "survey_done.html", link=link, t=translations.gettext,
                      survey_lang=language, already=True)
    return _page(request, kind, token, start(link, language))


@router.post("/s/{token}", dependencies=[Depends(check_csrf)])
@router.post("/o/{token}", dependencies=[Depends(check_csrf)])
def survey_post(request: Request, token: str, form: dict = Depends(form_fields)):
    kind = _kind(request)
    _limit(request)
    link = _link(request, kind, token, form.get("resume_key"))
    language = choose_language(link, form.get("lang"))
    starts = _may_start_draft(request, kind, link)
    try:
        state = step(request.app.state.engine, link, form, language=language,
                     open_token=token if kind == "o" else None)
    except SubmissionConflict:
        raise HTTPException(409) from None
    if starts and state.resume_key and state.result is None:
        request.app.state.draft_limiter.fail(starts)
    if state.result is not None:
        translations = request.app.state.translations[language]
        return render(request, "survey_done.html", link=link, t=translations.gettext,
                      survey_lang=language, already=not state.result.created)
    return _page(request, kind, token, state, 422 if state.errors else 200)


def _refused(exc: ValueError) -> JSONResponse:
    if isinstance(exc, AnswerErrors):
        return JSONResponse({"error": str(exc), "fields": exc.fields}, status_code=422)
    status = 409 if isinstance(exc, SubmissionConflict) else 422
    return JSONResponse({"error": str(exc)}, status_code=status)


@router.post("/api/responses", status_code=201)
async def api_submit(request: Request, payload: dict = Depends(json_object)):
    """Submit a complete response as JSON with an invitation ``token`` or an ``open_token``.

    Stored with group commit (:class:`~patronage.surveys.intake.SubmissionIntake`); the answer
    comes after the commit.
    """
    _limit(request)
    miss = _look_up(request)
    kind, token = (("s", payload.get("token")) if payload.get("token")
                   else ("o", payload.get("open_token")))
    try:
        result = await request.app.state.intake.submit_payload(kind, str(token or ""), payload)
    except ValueError as exc:  # the link exists; the submission is refused
        _found(request, miss)
        return _refused(exc)
    if result is None:
        raise HTTPException(404)
    _found(request, miss)
    body = {"response_id": result.response_id, "created": result.created}
    return JSONResponse(body, status_code=201 if result.created else 200)
