"""HTML pages. Each route parses the request, calls the library and renders a template."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from patronage.accounts import authenticate, normalize_email
from patronage.messages import N_, UserError
from patronage.reporting import customer_list
from patronage.reporting import respondents as respondents_list
from patronage.reporting import chart_links
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import Filters
from patronage.reporting.formats import wave_label
from patronage.reporting import loyalty as loyalty_page_data
from patronage.reporting.selection_lists import action_choices
from patronage.sessions import end_session, start_session
from patronage.web.deps import (
    ANON_CSRF_COOKIE,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    gettext_for,
    language_of,
    render,
    require_user,
    safe_next,
    set_session_cookie,
    translated,
    user_of,
)
from patronage.web.i18n import LANGUAGES
from patronage.web.labels import labels_of
from patronage.web.landing import home_of
from patronage.web.prepared import Job, freshness, prepared, preparing
from patronage.web.selection import with_notice

router = APIRouter()
ANALYSTS = ("admin", "analyst")


@router.get("/login")
def login_page(request: Request, next: str = "/"):
    if user_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", next=safe_next(next))


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(request: Request, email: str = Form(""), password: str = Form(""), next: str = Form("/")):
    limiter = request.app.state.login_limiter
    keys = (f"ip:{request.client.host if request.client else '?'}",
            f"email:{normalize_email(email)}")
    if not limiter.attempt(*keys):  # counted before the password is hashed
        return render(request, "login.html", 429, next=safe_next(next), email=email,
                      error=N_("Too many failed logins. Wait an hour or ask an administrator."))
    user = authenticate(request.app.state.engine, email, password) if email and password else None
    if user is None:
        return render(request, "login.html", 400, next=safe_next(next), email=email,
                      error=N_("The e-mail or the password is wrong."))
    limiter.forgive(keys[0])
    limiter.reset(keys[1])
    settings = request.app.state.settings
    session_id = start_session(request.app.state.engine, user["id"], hours=settings.session_hours)
    target = safe_next(next)
    if target == "/":  # an agent lands on their work; others on the start page they chose
        target = home_of(request, user)
    if user["must_change_password"]:  # an admin reset the password: a new one comes first
        target = "/account/password?next=" + quote(target, safe="")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, session_id)
    response.delete_cookie(ANON_CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request):
    end_session(request.app.state.engine, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/language", dependencies=[Depends(check_csrf)])
def set_language(request: Request, lang: str = Form(...), next: str = Form("/")):
    if lang not in LANGUAGES:
        raise HTTPException(422)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax",
                        httponly=True,
                        secure=request.app.state.settings.environment == "production")
    return response


def _bad_filters(request: Request, problem: UserError) -> HTMLResponse:
    """A filter the data cannot take: said in the reader's language (the values to choose
    from by their labels), with the way back."""
    gettext = gettext_for(request)
    kind, choices = getattr(problem, "kind", None), getattr(problem, "choices", None)
    if choices is not None:
        label = labels_of(request)
        shown = [wave_label(v, gettext) if kind == "wave" else label(kind, v)
                 for v in choices[:12]]
        problem = UserError(problem.message, **{**problem.params, "choices": ", ".join(shown)})
    return render(request, "error.html", 400, status=400, message=translated(problem, gettext))


@router.get("/respondents")
def respondents_page(request: Request, group: str = "", dimension: str = ""):
    """The respondents behind an overview figure: the filters in the address, narrowed to an
    NPS ``group`` and, with ``dimension``, to those who rated it."""
    require_user(request, *ANALYSTS)
    engine, language = request.app.state.engine, language_of(request)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    ready = prepared(request, respondents_job(request.app, filters, group or None,
                                              dimension[:60] or None))
    if ready is None:
        return preparing(request, N_("Respondents"))
    listing, current = ready
    if isinstance(listing, UserError):
        return _bad_filters(request, listing)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "respondents.html", listing=listing,
                  title=respondents_list.title(listing, gettext_for(request), language),
                  choices=action_choices(engine), next=with_notice(here),
                  filter_names=FILTER_NAMES, groups=respondents_list.GROUPS,
                  due=(date.today() + timedelta(days=1)).isoformat(), **freshness(current))


def respondents_job(app, filters: Filters, group: str | None, dimension: str | None) -> Job:
    """The respondents behind a figure, computed in the background like the pages they come
    from (seconds on a large panel); the same in every language. A list the data cannot give
    is kept as its error, shown by the route."""
    engine = app.state.engine

    def compute():
        try:
            return respondents_list.respondents(engine, filters, group=group,
                                                dimension=dimension)
        except UserError as exc:
            return exc

    return Job("respondents", (filters, group, dimension), compute,
               ("respondents", filters, group, dimension))


@router.get("/customers")
def customers_page(request: Request, q: str = "", page: int = 1):
    require_user(request)
    listing = customer_list(request.app.state.engine, search=q, page=page)
    return render(request, "customers.html", listing=listing)


def loyalty_job(app, language: str, filters: Filters | None = None) -> Job:
    """The loyalty page on ``filters`` in ``language``; its computations (the purchase models
    fitted on every customer above all) are shared by the languages and the filters."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    min_sample, filters = app.state.settings.min_sample, filters or Filters()
    return Job("loyalty", (language, filters),
               lambda: loyalty_page_data.loyalty_page(engine, filters, gettext=gettext,
                                                      language=language,
                                                      min_sample=min_sample), ("loyalty",))


@router.get("/loyalty")
def loyalty_page(request: Request):
    """The loyalty page on the customers the segment filters in the address keep; the
    filters that choose responses (wave, dates, touchpoint) are named as not applied."""
    require_user(request, *ANALYSTS)
    title = N_("Loyalty and customer value")
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    ready = prepared(request, loyalty_job(request.app, language_of(request), filters))
    if ready is None:
        return preparing(request, title)
    shown, current = ready
    if shown["problem"]:
        return _bad_filters(request, shown["problem"])
    extras = chart_links.loyalty_extras(shown["sections"], gettext_for(request),
                                        request.app.state.settings.min_sample)
    return render(request, "loyalty.html", **shown, **extras, filters=filters,
                  filter_names=FILTER_NAMES,
                  column_labels=loyalty_page_data.COLUMN_LABELS,
                  value_labels=loyalty_page_data.VALUE_LABELS, page_title=title,
                  **freshness(current), kept_as=([shown], "loyalty") if current else None)
