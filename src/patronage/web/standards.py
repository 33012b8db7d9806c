"""The journey view (``/journey``) and the service standards pages (``/standards``,
``/standards/<code>``), for analysts and admins; what they show comes from
:mod:`patronage.reporting.standards_page`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from patronage.messages import UserError
from patronage.reporting import standards_page
from patronage.web.deps import gettext_for, language_of, render, require_user
from patronage.web.pages import ANALYSTS

router = APIRouter()


def _common(request: Request) -> dict:
    return {"language": language_of(request), "gettext": gettext_for(request)}


@router.get("/journey")
def journey_page(request: Request):
    require_user(request, *ANALYSTS)
    shown = standards_page.journey_page(
        request.app.state.engine, min_sample=int(request.app.state.settings.min_sample),
        **_common(request))
    return render(request, "journey.html", **shown)


@router.get("/standards")
def standards_page_(request: Request):
    require_user(request, *ANALYSTS)
    return render(request, "standards.html",
                  **standards_page.standards_list(request.app.state.engine, **_common(request)))


@router.get("/standards/{code}")
def standard_page(request: Request, code: str, by: str = "", unit: str = ""):
    require_user(request, *ANALYSTS)
    by = by if by in ("site", "team", "agent") else ""
    try:
        shown = standards_page.standard_page(
            request.app.state.engine, code, by=by, unit=unit,
            min_sample=int(request.app.state.settings.min_sample), **_common(request))
    except UserError:
        raise HTTPException(404) from None
    return render(request, "standard.html", **shown)
