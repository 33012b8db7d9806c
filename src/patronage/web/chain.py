"""The service-profit chain page (``/chain``, admins and analysts): employee results per site
or team beside the customers', from :mod:`patronage.reporting.chain_page`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from patronage.reporting.chain_page import chain_page
from patronage.web.deps import language_of, render, require_user

router = APIRouter()


@router.get("/chain")
def chain(request: Request, by: str = "site", wave: str = "", site: str = "", team: str = ""):
    require_user(request, "admin", "analyst")
    language = language_of(request)
    shown = chain_page(request.app.state.engine, unit=by if by in ("site", "team") else "site",
                       minimum=request.app.state.settings.employee_min_group,
                       language=language,
                       gettext=request.app.state.translations[language].gettext,
                       wave=wave or None, site=site or None, team=team or None)
    return render(request, "chain.html", page_title=shown["title"],
                  min_sample=request.app.state.settings.min_sample, **shown)


__all__ = ["router"]
