"""Pages for key accounts, lost customers and win-back campaigns.

``/care/accounts`` (key-account health, a visit form per account), ``/care/lost`` (the lost list
and its breakdown), ``/care/lost/new?customer=<id>`` (mark a customer lost),
``/care/campaigns`` (list), ``/care/campaigns/new`` (from a named list or a selection:
``?customer_id=1&customer_id=2``) and ``/care/campaigns/{code}`` (result; start). What they show
is put together in :mod:`patronage.reporting.care_accounts`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.care import accounts, campaigns, lost
from patronage.messages import N_, UserError
from patronage.reporting import care_accounts as pages
from patronage.web.deps import check_csrf, form_fields, gettext_for, render, require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]
MANAGERS = ("admin", "analyst")
DONE = {"visit": N_("The visit was recorded."), "plan": N_("The visit plan was saved."),
        "lost": N_("The customer was marked lost."),
        "unlost": N_("The customer is no longer marked lost."),
        "created": N_("The campaign was created; start it when ready."),
        "started": N_("The campaign started: {tasks} tasks and {messages} messages."),
        }


def _engine(request: Request):
    return request.app.state.engine


def _done(key: str, **params) -> UserError | None:
    return UserError(DONE[key], **params) if key in DONE else None


def _back(path: str, **query) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


def _form(form: dict) -> dict:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


# -- key accounts --------------------------------------------------------------------------------

def _accounts(request: Request, status: str = "", code: int = 200, page: int = 1, **context):
    shown = pages.accounts_page(_engine(request), gettext_for(request), status=status, page=page)
    return render(request, "care_accounts.html", code, **shown, **context)


@router.get("/care/accounts")
def accounts_page(request: Request, status: str = "", done: str = "", page: int = 1):
    require_user(request)
    return _accounts(request, status, page=page, done=_done(done))


@router.post("/care/accounts/{external_id}/visit", dependencies=CSRF)
def record_visit(request: Request, external_id: str, form: dict = Depends(form_fields)):
    user = require_user(request)
    form = _form(form)
    try:
        accounts.record_visit(_engine(request), external_id, by=user["id"],
                              at=lost.parse_day(form["on"]) if form.get("on") else None,
                              report=form.get("report"), outcome=form.get("outcome") or None)
    except UserError as exc:
        return _accounts(request, code=400, error=exc, failed=external_id, form=form)
    return _back("/care/accounts", done="visit")


@router.post("/care/accounts/{external_id}/plan", dependencies=CSRF)
def set_plan(request: Request, external_id: str, form: dict = Depends(form_fields)):
    user = require_user(request, *MANAGERS)
    form = _form(form)
    try:
        accounts.set_visit_plan(_engine(request), external_id, form.get("every_days") or None,
                                form.get("owner") or None, by=user["id"])
    except UserError as exc:
        return _accounts(request, code=400, error=exc, failed=external_id, form=form)
    return _back("/care/accounts", done="plan")


# -- lost customers ------------------------------------------------------------------------------

@router.get("/care/lost")
def lost_page(request: Request, days: int = 0, done: str = "", page: int = 1):
    require_user(request)
    shown = pages.lost_page(_engine(request), days=max(days, 0) or None, page=page)
    return render(request, "care_lost.html", **shown, done=_done(done))


def _lost_form(request: Request, customer: str, form: dict, code: int = 200, **context):
    found = pages.customer_for_lost_form(_engine(request), customer)
    if found is None:
        raise HTTPException(404)
    return render(request, "care_lost_new.html", code, customer=found, form=form,
                  choices=pages.lost_choices(_engine(request)), **context)


@router.get("/care/lost/new")
def lost_form(request: Request, customer: str = ""):
    require_user(request)
    return _lost_form(request, customer, {})


@router.post("/care/lost/new", dependencies=CSRF)
def mark_lost(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request)
    form = _form(form)
    customer = form.get("customer", "")
    try:
        if form.get("action") == "unmark":
            lost.unmark_lost(_engine(request), customer, user["id"], note=form.get("note"))
        else:
            lost.mark_lost(_engine(request), customer, form.get("on") or None, form.get("reason"),
                           form.get("competitor"), user["id"], note=form.get("note"))
    except UserError as exc:
        return _lost_form(request, customer, form, 400, error=exc)
    return _back("/care/lost", done="unlost" if form.get("action") == "unmark" else "lost")


# -- win-back campaigns --------------------------------------------------------------------------

@router.get("/care/campaigns")
def campaigns_page(request: Request):
    require_user(request)
    return render(request, "care_campaigns.html", **pages.campaigns_page(_engine(request)))


def _ids(values) -> list[int]:
    values = values if isinstance(values, list) else [values] if values else []
    return sorted({int(v) for v in values if str(v).isdigit()})


def _new_form(request: Request, ids: list[int], form: dict, code: int = 200, **context):
    shown = pages.new_campaign_form(_engine(request), ids)
    return render(request, "care_campaign_new.html", code, **shown, form=form, **context)


@router.get("/care/campaigns/new")
def new_campaign_page(request: Request, list: str = "", days: int = 365):
    require_user(request, *MANAGERS)
    ids = _ids(request.query_params.getlist("customer_id"))
    return _new_form(request, ids, {"list": list or ("" if ids else "lost"), "days": str(days),
                                    "control_share": "0.2", "measure_days": "90",
                                    "task_type": "call"})


@router.post("/care/campaigns/new", dependencies=CSRF)
def create_campaign(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request, *MANAGERS)
    ids = _ids(form.get("customer_id"))
    form = _form(form)
    try:
        made = campaigns.create_campaign(
            _engine(request), form.get("code", ""), form.get("name", ""),
            customer_ids=ids, list_name=None if ids else form.get("list") or None,
            days=int(form.get("days") or 365) if (form.get("days") or "").isdigit() else 365,
            offer=form.get("offer"), task_type=form.get("task_type") or None,
            channel=form.get("channel") or None,
            templates={lang: form.get(f"text_{lang}") for lang in ("zh_Hans", "zh_Hant", "en")},
            control_share=form.get("control_share") or 0.2, seed=form.get("seed") or None,
            measure_days=form.get("measure_days") or 90, by=user["id"])
    except UserError as exc:
        return _new_form(request, ids, form, 400, error=exc)
    return _back(f"/care/campaigns/{made['code']}", done="created")


@router.get("/care/campaigns/{code}")
def campaign_page(request: Request, code: str, done: str = "", tasks: int = 0,
                  messages: int = 0):
    require_user(request)
    try:
        shown = pages.campaign_page(_engine(request), code)
    except UserError:
        raise HTTPException(404) from None
    return render(request, "care_campaign.html", **shown,
                  done=_done(done, tasks=tasks, messages=messages))


@router.post("/care/campaigns/{code}/start", dependencies=CSRF)
def start_campaign(request: Request, code: str):
    user = require_user(request, *MANAGERS)
    try:
        made = campaigns.start_campaign(_engine(request), code, by=user["id"],
                                        settings=request.app.state.settings)
    except UserError as exc:
        shown = pages.campaign_page(_engine(request), code)
        return render(request, "care_campaign.html", 400, **shown, error=exc)
    return _back(f"/care/campaigns/{code}", done="started", tasks=made["tasks"],
                 messages=made["messages"])


__all__ = ["router"]
