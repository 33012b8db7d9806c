"""The action pages: the board (late, open, achieved, not achieved, with counts; filtered by
owner, team or status), a new action (prefilled when opened from an analysis) and an action's
page (its measured effect, status, notes and history). Every form posts with the CSRF token and
runs one call of :mod:`patronage.actions`; the board and the page come from
:mod:`patronage.actions.board`."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.actions import board, records, sources
from patronage.actions.measure import SurveyStore
from patronage.actions.reminders import today_in
from patronage.cases.inputs import now_utc
from patronage.messages import N_, UserError
from patronage.reporting.case_desk import local_time
from patronage.reporting.filters import NAMES as FILTER_NAMES
from patronage.web.deps import (
    Forbidden, check_csrf, form_fields, gettext_for, language_of, render, require_user,
)
from patronage.web.pages import ANALYSTS

router = APIRouter()
CSRF = [Depends(check_csrf)]
DONE = {"created": N_("The action was added."), "updated": N_("The action was updated.")}


def _engine(request: Request):
    return request.app.state.engine


def _store(request: Request) -> SurveyStore:
    """The app's surveys' data for measuring actions, kept per data version."""
    state = request.app.state
    store = getattr(state, "action_surveys", None)
    if store is None:
        store = state.action_surveys = SurveyStore(state.data_version)
    return store


def _common(request: Request) -> dict:
    return {"language": language_of(request), "gettext": gettext_for(request),
            "min_sample": int(request.app.state.settings.min_sample), "store": _store(request),
            "today": today_in(now_utc(), request.app.state.settings.timezone)}


def _text(form: dict) -> dict:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@router.get("/actions")
def board_page(request: Request, status: str = "", owner: str = "", team: str = "",
               group: str = ""):
    require_user(request)
    chosen = {"status": status, "owner": owner, "team": team, "group": group}
    try:
        shown = board.board(_engine(request), status=status or None,
                            owner=int(owner) if owner.isdigit() else None, team=team or None,
                            group=group if group in dict(board.GROUPS) else None,
                            **_common(request))
        problem = None
    except UserError as exc:
        shown, problem = {"rows": [], "counts": {}, "groups": board.GROUPS, "group": None}, exc
    keep = {k: v for k, v in chosen.items() if v and k != "group"}
    return render(request, "actions.html", 400 if problem else 200, **shown,
                  **board.people(_engine(request)), chosen=chosen, problem=problem,
                  group_link=lambda key: "/actions?" + urlencode({**keep, "group": key}),
                  may_add=require_user(request)["role"] in ANALYSTS)


def _form_page(request: Request, form: dict, status: int = 200, error=None):
    engine = _engine(request)
    return render(request, "action_new.html", status, form=form, error=error,
                  segments=records.segment_choices(engine), **board.people(engine),
                  **sources.form_choices(engine, language_of(request)),
                  filter_names=FILTER_NAMES,
                  source_label=records.SOURCE_LABELS.get(form.get("source") or "manual"))


@router.get("/actions/new")
def new_action_page(request: Request, source: str = "", ref: str = "", survey: str = "",
                    segment: str = ""):
    user = require_user(request, *ANALYSTS)
    filled = sources.prefill(_engine(request), source, ref, language=language_of(request),
                             gettext=gettext_for(request))
    form = {**filled, "survey": survey[:64], "segment": segment[:500], "owner": str(user["id"]),
            "due": "", "target": "",
            "budget": ""}
    return _form_page(request, form)


@router.post("/actions/new", dependencies=CSRF)
def add_action(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request, *ANALYSTS)
    form = _text(form)
    try:
        number = records.create_action(
            _engine(request), title=form.get("title"), due=form.get("due"),
            metric=form.get("metric") or "csi", survey=form.get("survey") or None,
            source=form.get("source") or "manual", source_ref=form.get("source_ref"),
            owner=int(form["owner"]) if form.get("owner", "").isdigit() else None,
            team=form.get("team") or None, budget=form.get("budget"),
            target=form.get("target"), segment=form.get("segment"),
            description=form.get("description"), by=user["id"])
    except UserError as exc:
        return _form_page(request, form, 400, exc)
    return RedirectResponse(f"/actions/{number}?done=created", status_code=303)


def _detail(request: Request, action_id: int, status: int = 200, **context):
    try:
        shown = board.detail(_engine(request), action_id, **_common(request))
    except UserError:
        raise HTTPException(404) from None
    zone = request.app.state.settings.timezone
    for event in shown["history"]:
        event["at_local"] = local_time(event["at"], zone)
    return render(request, "action.html", status, action=shown, **board.people(_engine(request)),
                  status_labels=records.STATUS_LABELS,
                  min_sample=int(request.app.state.settings.min_sample),
                  **context)


def _may_change(user: dict, action_id: int, request: Request) -> None:
    if user["role"] in ANALYSTS:
        return
    try:
        owner = records.action_of(_engine(request), action_id)["owner_id"]
    except UserError:
        raise HTTPException(404) from None
    if owner != user["id"]:
        raise Forbidden()


@router.get("/actions/{action_id}")
def action_page(request: Request, action_id: int, done: str = ""):
    require_user(request)
    return _detail(request, action_id, done=UserError(DONE[done]) if done in DONE else None)


@router.post("/actions/{action_id}", dependencies=CSRF)
def change_action(request: Request, action_id: int, form: dict = Depends(form_fields)):
    user = require_user(request)
    _may_change(user, action_id, request)
    form = _text(form)
    try:
        owner = form.get("owner", "")
        records.update_action(_engine(request), action_id, status=form.get("status") or None,
                              note=form.get("note"), due=form.get("due") or None,
                              owner=int(owner) if owner.isdigit() and user["role"] in ANALYSTS
                              else None, by=user["id"])
    except UserError as exc:
        return _detail(request, action_id, 400, error=exc, form=form)
    return RedirectResponse(f"/actions/{action_id}?done=updated", status_code=303)


__all__ = ["router"]
