"""The role dashboards: the management view (``/management``, admins and analysts) and the
staff member's own work (``/my``, everyone; where agents land). What they show is put together
in :mod:`patronage.reporting.management` and :mod:`patronage.reporting.my_work`.

The management view's slow figures are computed in the background and kept per filters,
language and data version like the Overview (see :mod:`patronage.web.prepared`); its case
figures are read at each visit. An admin or analyst may make it the page they land on after
logging in (a cookie of this browser).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from patronage.messages import N_, UserError
from patronage.reporting import management, my_work
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.reporting.filters import Filters
from patronage.web.deps import check_csrf, language_of, render, require_user
from patronage.web.i18n import LANGUAGES
from patronage.web.landing import ANALYSTS, HOME_COOKIE, home_of
from patronage.web.pages import _bad_filters
from patronage.web.prepared import RELOAD_SECONDS, Job, PREPARING, freshness, prepared

router = APIRouter()
TITLE = N_("Management overview")


def management_job(app, filters: Filters, language: str) -> Job:
    """The view's slow figures on ``filters`` in ``language``. Its computations are shared
    with the Loyalty page's (the group: the purchase models are fitted once per data version
    for both) and between languages and filters (their results are kept by arguments)."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    return Job("management", (filters, language),
               lambda: management.slow_figures(engine, filters, language=language,
                                               gettext=gettext), ("loyalty",))


def default_jobs(app) -> list[Job]:
    """What the warmer prepares: the unfiltered view in every language."""
    return [management_job(app, Filters(), language) for language in LANGUAGES]


@router.get("/management")
def management_page(request: Request):
    require_user(request, *ANALYSTS)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _bad_filters(request, exc)
    app, language = request.app, language_of(request)
    ready = prepared(request, management_job(app, filters, language))
    slow, current = ready if ready is not None else (None, False)
    if slow is not None and slow["filter_problem"] is not None:
        return _bad_filters(request, slow["filter_problem"])
    cases = management.case_figures(app.state.engine, language=language,
                                    gettext=app.state.translations[language].gettext)
    waiting = {"notice": PREPARING, "refresh_after": RELOAD_SECONDS} if slow is None else {}
    return render(request, "management.html", 202 if slow is None else 200, page_title=TITLE,
                  slow=slow, filters=filters, filter_names=FILTER_NAMES, **cases,
                  is_home=request.cookies.get(HOME_COOKIE) == "management",
                  **(waiting or freshness(current)))


@router.post("/management/home", dependencies=[Depends(check_csrf)])
def choose_home(request: Request, home: str = Form("")):
    """Land on the management view after logging in (``home=management``) or on the
    Overview (anything else)."""
    require_user(request, *ANALYSTS)
    response = RedirectResponse("/management", status_code=303)
    if home == "management":
        response.set_cookie(HOME_COOKIE, "management", max_age=365 * 24 * 3600, samesite="lax",
                            httponly=True,
                            secure=request.app.state.settings.environment == "production")
    else:
        response.delete_cookie(HOME_COOKIE)
    return response


@router.get("/my")
def my_work_page(request: Request):
    user = require_user(request)
    shown = my_work.my_work(request.app.state.engine, user,
                            timezone=request.app.state.settings.timezone)
    return render(request, "my_work.html", page_title=N_("My work"), **shown,
                  follow_up_days=my_work.FOLLOW_UP_DAYS)


__all__ = ["default_jobs", "home_of", "management_job", "router"]
