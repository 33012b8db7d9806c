"""The journey view (``/journey``) and the service standards pages (``/standards``,
``/standards/<code>``), for analysts and admins; what they show comes from
:mod:`patronage.reporting.standards_page`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.messages import UserError
from patronage.reporting import standards_page
from patronage.standards.records import add_standard
from patronage.storage import PANEL_TABLES
from patronage.web.deps import (
    check_csrf, form_fields, gettext_for, language_of, render, require_user,
)
from patronage.web.pages import ANALYSTS

router = APIRouter()
CSRF = [Depends(check_csrf)]
#: What the standards pages' figures are computed from: a change to any of them computes the
#: pages again. The owners' names (staff accounts, written at every login) are read at each visit.
STANDARD_TABLES = (*PANEL_TABLES, "service_standards", "teams", "business_days")


def _common(request: Request) -> dict:
    return {"language": language_of(request), "gettext": gettext_for(request)}


def _cached(request: Request, page: str, params: tuple, compute):
    """The page's figures kept per data version (and language and settings) between visits."""
    params = (*params, language_of(request), *_minimums(request).values())
    return request.app.state.standard_pages.get(page, params, compute)


def _minimums(request: Request) -> dict:
    settings = request.app.state.settings
    return {"min_sample": int(settings.min_sample),
            "min_events": int(settings.standard_min_events)}


@router.get("/journey")
def journey_page(request: Request):
    require_user(request, *ANALYSTS)
    shown = standards_page.journey_page(
        request.app.state.engine, min_sample=int(request.app.state.settings.min_sample),
        **_common(request))
    return render(request, "journey.html", **shown)


def _list(request: Request, status: int = 200, form: dict | None = None, error=None):
    engine = request.app.state.engine
    shown = standards_page.with_owner_names(engine, _cached(
        request, "standards", (), lambda: standards_page.standards_list(
            engine, min_events=_minimums(request)["min_events"], **_common(request))))
    return render(request, "standards.html", status, form=form or {}, error=error,
                  **shown, **standards_page.form_choices(**_common(request)))


@router.get("/standards")
def standards_page_(request: Request):
    require_user(request, *ANALYSTS)
    return _list(request)


@router.post("/standards", dependencies=CSRF)
def add_standard_(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request, *ANALYSTS)
    form = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        add_standard(request.app.state.engine, code=form.get("code"), name=form.get("name"),
                     metric=form.get("metric"), target=form.get("target"),
                     threshold=form.get("threshold"), period=form.get("period") or "month",
                     touchpoint=form.get("touchpoint") or None,
                     channel=form.get("channel") or None,
                     working_hours=form.get("working_hours") == "1", owner=user["email"])
    except UserError as exc:
        return _list(request, 400, form, exc)
    return RedirectResponse(f"/standards/{form['code'].strip().lower()}", status_code=303)


@router.get("/standards/{code}")
def standard_page(request: Request, code: str, by: str = "", unit: str = ""):
    require_user(request, *ANALYSTS)
    by = by if by in ("site", "team", "agent") else ""
    try:
        shown = _cached(request, "standard", (code, by, unit),
                        lambda: standards_page.standard_page(
                            request.app.state.engine, code, by=by, unit=unit,
                            **_minimums(request), **_common(request)))
    except UserError:
        raise HTTPException(404) from None
    return render(request, "standard.html", **shown)
