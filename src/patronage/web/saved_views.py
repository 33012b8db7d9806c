"""Saved views on the dashboard's filter bar: "save the current view" under a name, the list of
the user's own views (each opens its page with its filters) and deleting one, confirmed
(:mod:`patronage.reporting.saved_views`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from jinja2 import pass_context

from patronage.messages import UserError
from patronage.reporting.saved_views import (
    PAGE_PATHS, DuplicateView, canonical_query, delete_view, list_views, page_of_path, save_view,
)
from patronage.web.deps import check_csrf, render, require_user, safe_next, user_of
from patronage.web.pages import ANALYSTS

router = APIRouter()
CSRF = [Depends(check_csrf)]


@pass_context
def my_saved_views(context) -> dict:
    """``{{ my_saved_views() }}`` on a dashboard page: its ``page``, the current view's ``query``
    (to save) and the user's ``views`` of that page (``current`` marks the one shown)."""
    request = context.get("request")
    user = user_of(request) if request is not None else None
    page = page_of_path(request.url.path) if request is not None else None
    if user is None or page is None or user["role"] not in ANALYSTS:
        return {"page": None, "query": "", "views": []}
    try:
        query = canonical_query(page, request.query_params)
    except UserError:
        query = None
    views = list_views(request.app.state.engine, user["id"], page)
    return {"page": page, "query": query or "",
            "views": [{**view, "current": query is not None and view["query"] == query}
                      for view in views]}


def install(environment) -> None:
    environment.globals["my_saved_views"] = my_saved_views


@router.post("/views", dependencies=CSRF)
def save(request: Request, page: str = Form(""), name: str = Form(""), query: str = Form(""),
         replace: str = Form("")):
    """Save the posted query as the user's view; a name they already use is asked about."""
    user = require_user(request, *ANALYSTS)
    try:
        view = save_view(request.app.state.engine, user["id"], page, name[:200], query,
                         replace=replace == "yes")
    except UserError as exc:
        back = PAGE_PATHS.get(page, "/") + (f"?{query}" if query else "")
        return render(request, "saved_view.html", 409 if isinstance(exc, DuplicateView) else 400,
                      problem=exc, duplicate=isinstance(exc, DuplicateView), page=page,
                      name=name[:200], query=query, back=safe_next(back))
    return RedirectResponse(view["url"], status_code=303)


@router.post("/views/{view_id}/delete", dependencies=CSRF)
def delete(request: Request, view_id: int, next: str = Form("/")):
    """Delete one of the user's views and go back to the page it was deleted on."""
    user = require_user(request, *ANALYSTS)
    try:
        delete_view(request.app.state.engine, user["id"], view_id)
    except UserError as exc:
        return render(request, "saved_view.html", 404, problem=exc, duplicate=False,
                      page="", name="", query="", back=safe_next(next))
    return RedirectResponse(safe_next(next), status_code=303)


__all__ = ["install", "my_saved_views", "router"]
