"""The case desk on the web: work queues, a case's page with its forms, opening a case, and the
alert rules (admins).

Every form posts with the CSRF token, runs one call of :mod:`patronage.cases`, and either
redirects back with a notice (POST-redirect-GET) or shows the page again with the reason in the
reader's language. What the pages show is put together in :mod:`patronage.reporting.case_desk`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from jinja2 import pass_context
from sqlalchemy.exc import SQLAlchemyError

from patronage.cases import desk, remedies, rules
from patronage.cases.config import DeskConfig
from patronage.cases.records import case_id_of, case_number
from patronage.messages import N_, Term, UserError
from patronage.reporting import case_desk, case_remedies, complaints_page
from patronage.storage.schema_cases import REMEDY_KINDS
from patronage.web.deps import Forbidden, check_csrf, form_fields, language_of, render, require_user
from patronage.web.i18n import LANGUAGES
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
CSRF = [Depends(check_csrf)]
ADMIN = "admin"
DONE = {
    "opened": N_("The case was opened."), "replied": N_("Your reply was sent to the case."),
    "noted": N_("The internal note was added."), "assigned": N_("The case was assigned."),
    "status": N_("The status was changed."), "reopened": N_("The case was reopened."),
    "bulk": N_("{count} cases were assigned."), "rule": N_("The rule was added."),
    "rule_off": N_("The rule was switched off."),
    "remedy": N_("The remedy was recorded."),
    "remedy_pending": N_("The remedy was recorded; it waits for a manager's approval."),
    "approved": N_("The remedy was approved."), "rejected": N_("The remedy was rejected."),
}
FILTERS = ("status", "severity", "category", "team", "owner", "q")


def _engine(request: Request):
    return request.app.state.engine


def _tz(request: Request) -> str | None:
    return request.app.state.settings.timezone


def _config(request: Request) -> DeskConfig:
    return DeskConfig.from_settings(request.app.state.settings)


def _done(key: str, count: int = 0) -> UserError | None:
    return UserError(DONE[key], count=count) if key in DONE else None


def readable(error: UserError) -> UserError:
    """The error with case statuses in its values shown as their labels."""
    params = {k: Term(case_desk.STATUS_LABELS[v]) if k in ("status", "target")
              and v in case_desk.STATUS_LABELS else v for k, v in error.params.items()}
    return UserError(error.message, **params)


def _back(path: str, **query) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "", 0)}
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


# -- queues --------------------------------------------------------------------------------------

def _queue(request: Request, user: dict, tab: str, filters: dict, status: int = 200,
           hours: float = case_desk.DUE_SOON_HOURS, **context):
    engine = _engine(request)
    shown = case_desk.queue(engine, user, tab, filters, timezone=_tz(request),
                            hours=min(max(hours, 0.25), 24 * 30) if hours == hours else 4)
    return render(request, "cases.html", status, **shown, filters=filters,
                  tabs=case_desk.tabs_for(user["role"]),
                  choices=case_desk.form_choices(engine, language_of(request)),
                  pending_remedies=case_remedies.pending_count(engine)
                  if user["role"] == ADMIN else 0, **context)


@router.get("/cases")
def queue_page(request: Request, tab: str = "mine", status: str = "", severity: str = "",
               category: str = "", team: str = "", owner: str = "", q: str = "",
               done: str = "", count: int = 0, hours: float = case_desk.DUE_SOON_HOURS):
    """``hours``: how soon "due soon" is."""
    user = require_user(request)
    filters = {"status": status, "severity": severity, "category": category, "team": team,
               "owner": owner, "q": q}
    return _queue(request, user, tab, filters, hours=hours, done=_done(done, count))


@router.post("/cases/assign", dependencies=CSRF)
def assign_many(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request)
    numbers = form.get("numbers") or []
    numbers = [numbers] if isinstance(numbers, str) else numbers
    filters = {k: form.get(k, "") for k in FILTERS}
    try:
        if not numbers:
            raise UserError(N_("Choose the cases to assign."))
        for number in numbers:
            _visible(request, user, number)
            desk.assign(_engine(request), number, owner=_owner(form.get("owner")),
                        team=form.get("team") or None, by=user["id"], config=_config(request))
    except UserError as exc:
        return _queue(request, user, form.get("tab", "mine"), filters, 400, error=readable(exc))
    return _back("/cases", tab=form.get("tab", "mine"), done="bulk", count=len(numbers), **filters)


def _owner(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


# -- opening a case ------------------------------------------------------------------------------

def _new_form(request: Request, form: dict, status: int = 200, **context):
    choices = case_desk.form_choices(_engine(request), language_of(request))
    return render(request, "case_new.html", status, form=form, choices=choices, **context)


@router.get("/cases/new")
def new_case_page(request: Request, customer: str = ""):
    require_user(request)
    return _new_form(request, {"customer": customer, "type": "complaint", "severity": "normal",
                               "channel": "phone"})


@router.post("/cases/new", dependencies=CSRF)
def open_new_case(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request)
    form = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        number = desk.open_case(_engine(request), desk.NewCase(
            customer=form.get("customer", ""), subject=form.get("subject", ""),
            description=form.get("description"), type=form.get("type", ""),
            channel=form.get("channel", ""), category=form.get("category") or None,
            severity=form.get("severity", ""), contact=form.get("contact"),
            owner=_owner(form.get("owner")), team=form.get("team") or None,
            touchpoint=form.get("touchpoint") or None),
            by=user["id"], config=_config(request))
    except UserError as exc:
        return _new_form(request, form, 400, error=readable(exc))
    return _back(f"/cases/{number}", done="opened")


# -- alert rules ---------------------------------------------------------------------------------

def _rules(request: Request, status: int = 200, **context):
    shown = case_desk.rules_page(_engine(request), language_of(request))
    return render(request, "case_rules.html", status, **shown, **context)


@router.get("/cases/rules")
def rules_page(request: Request, done: str = ""):
    require_user(request, ADMIN)
    return _rules(request, form={"type": "detractor", "severity": "normal"}, done=_done(done))


@router.post("/cases/rules", dependencies=CSRF)
def add_rule(request: Request, code: str = Form(""), name: str = Form(""),
             condition: str = Form(""), type: str = Form("detractor"),
             severity: str = Form("normal"), category: str = Form(""), survey: str = Form("")):
    require_user(request, ADMIN)
    form = {"code": code, "name": name, "condition": condition, "type": type,
            "severity": severity, "category": category, "survey": survey}
    try:
        rules.add_rule(_engine(request), code, name, condition, case_type=type,
                       severity=severity, category=category or None, survey=survey or None)
    except UserError as exc:
        return _rules(request, 400, form=form, error=readable(exc))
    return _back("/cases/rules", done="rule")


@router.post("/cases/rules/{code}/off", dependencies=CSRF)
def switch_rule_off(request: Request, code: str):
    require_user(request, ADMIN)
    try:
        rules.remove_rule(_engine(request), code)
    except UserError:
        raise HTTPException(404) from None
    return _back("/cases/rules", done="rule_off")


# -- service recovery and complaint analysis ------------------------------------------------------

def _approvals(request: Request, status: int = 200, **context):
    rows = case_remedies.pending_remedies(_engine(request), timezone=_tz(request))
    return render(request, "case_approvals.html", status, rows=rows, **context)


@router.get("/cases/approvals")
def approvals_page(request: Request, done: str = ""):
    require_user(request, ADMIN)
    return _approvals(request, done=_done(done))


@router.post("/cases/remedies/{remedy_id}/decide", dependencies=CSRF)
def decide_remedy(request: Request, remedy_id: int, decision: str = Form(""),
                  note: str = Form(""), back: str = Form("")):
    """Approve or reject a remedy someone else asked for (admins)."""
    user = require_user(request, ADMIN)
    case_id = case_remedies.remedy_case(_engine(request), remedy_id)
    if case_id is None or decision not in ("approve", "reject"):
        raise HTTPException(404 if case_id is None else 422)
    page = "/cases/approvals" if back == "approvals" else f"/cases/{case_number(case_id)}"
    try:
        remedies.decide(_engine(request), remedy_id, decision == "approve", by=user["id"],
                        note=note)
    except UserError as exc:
        if back == "approvals":
            return _approvals(request, 400, error=readable(exc))
        return _case(request, user, case_id, 400, error=readable(exc))
    return _back(page, done="approved" if decision == "approve" else "rejected")


def complaints_job(app, language: str) -> Job:
    """The complaint analysis in ``language``, computed in the background and kept per data
    version like the Overview; its figures are shared by the languages."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    min_sample = app.state.settings.min_sample
    return Job("complaints", (language,),
               lambda: complaints_page.complaints_page(engine, gettext, language=language,
                                                       min_sample=min_sample), ("complaints",))


def default_jobs(app) -> list[Job]:
    """What the warmer prepares: the complaint analysis in every language."""
    return [complaints_job(app, language) for language in LANGUAGES]


@router.get("/cases/analysis")
def complaint_analysis_page(request: Request):
    require_user(request, ADMIN, "analyst")
    ready = prepared(request, complaints_job(request.app, language_of(request)))
    if ready is None:
        return preparing(request, N_("Complaint analysis"))
    shown, current = ready
    return render(request, "case_analysis.html", **shown, **freshness(current),
                  kept_as=([shown], "complaints") if current else None)


# -- one case ------------------------------------------------------------------------------------

def _visible(request: Request, user: dict, number) -> dict:
    """The case page's content, if the case exists (404) and ``user`` may see it (403)."""
    try:
        shown = case_desk.case_page(_engine(request), number, language=language_of(request),
                                    timezone=_tz(request))
    except UserError:
        raise HTTPException(404) from None
    if not case_desk.may_see(_engine(request), user, shown["case"]):
        raise Forbidden()
    return shown


def _case(request: Request, user: dict, number, status: int = 200, **context):
    shown = _visible(request, user, number)
    choices = case_desk.form_choices(_engine(request), language_of(request))
    recovery = case_remedies.case_remedies_of(_engine(request), shown["case"]["id"],
                                              timezone=_tz(request))
    return render(request, "case.html", status, **shown, **recovery, choices=choices,
                  form=context.pop("form", {}), **context)


@router.get("/cases/{number}")
def case_page(request: Request, number: str, done: str = ""):
    user = require_user(request)
    return _case(request, user, number, done=_done(done))


def _act(request: Request, number: str, done: str, action, **form):
    """Run ``action(user)`` on a case the user may see; back to the case page with a notice."""
    user = require_user(request)
    _visible(request, user, number)
    try:
        action(user)
    except UserError as exc:
        return _case(request, user, number, 400, error=readable(exc), form=form)
    return _back(f"/cases/{case_number(case_id_of(number))}",
                 done=done() if callable(done) else done)


@router.post("/cases/{number}/reply", dependencies=CSRF)
def reply(request: Request, number: str, body: str = Form("")):
    return _act(request, number, "replied", lambda user: desk.reply(
        _engine(request), number, body, by=user["id"], config=_config(request)), reply=body)


@router.post("/cases/{number}/note", dependencies=CSRF)
def note(request: Request, number: str, body: str = Form("")):
    return _act(request, number, "noted", lambda user: desk.reply(
        _engine(request), number, body, by=user["id"], internal=True, config=_config(request)),
        note=body)


@router.post("/cases/{number}/assign", dependencies=CSRF)
def assign(request: Request, number: str, owner: str = Form(""), team: str = Form("")):
    return _act(request, number, "assigned", lambda user: desk.assign(
        _engine(request), number, owner=_owner(owner), team=team or None, by=user["id"],
        config=_config(request)))


@router.post("/cases/{number}/status", dependencies=CSRF)
def change_status(request: Request, number: str, to: str = Form(""), note: str = Form("")):
    if to not in case_desk.STEPS:
        raise HTTPException(422)
    return _act(request, number, "status", lambda user: desk.set_status(
        _engine(request), number, to, note=note, by=user["id"], config=_config(request)),
        status_note=note)


@router.post("/cases/{number}/reopen", dependencies=CSRF)
def reopen(request: Request, number: str, reason: str = Form("")):
    return _act(request, number, "reopened", lambda user: desk.reopen(
        _engine(request), number, reason=reason, by=user["id"], config=_config(request)),
        reason=reason)


@router.post("/cases/{number}/remedy", dependencies=CSRF)
def add_remedy(request: Request, number: str, kind: str = Form(""), amount: str = Form(""),
               points: str = Form(""), note: str = Form("")):
    if kind not in REMEDY_KINDS:
        raise HTTPException(422)
    made = {}

    def action(user):
        made["status"] = remedies.add_remedy(
            _engine(request), number, kind, amount=amount.replace(",", "").replace("¥", "").strip(),
            points=points.strip(), note=note, by=user["id"], config=_config(request))[1]
    return _act(request, number, lambda: "remedy_pending" if made["status"] == "pending"
                else "remedy", action, remedy={"kind": kind, "amount": amount, "points": points,
                                               "note": note})


# -- templates -----------------------------------------------------------------------------------

def _label(labels: dict):
    @pass_context
    def label(context, value) -> str:
        return context["_"](labels[value]) if value in labels else str(value)
    return label


@pass_context
def my_open_cases(context) -> int:
    """The menu's badge: the open cases the logged-in user owns."""
    user, request = context.get("user"), context.get("request")
    if not user or request is None:
        return 0
    try:
        return case_desk.open_count(request.app.state.engine, user["id"])
    except SQLAlchemyError:  # the error page of an unavailable database still shows
        return 0


def install(environment) -> None:
    """The case desk's filters and the menu badge on the templates' environment."""
    environment.filters.update({
        "case_status": _label(case_desk.STATUS_LABELS),
        "case_severity": _label(case_desk.SEVERITY_LABELS),
        "case_channel": _label(case_desk.CHANNEL_LABELS),
        "case_type": _label(case_desk.TYPE_LABELS),
        "case_number": case_number,
        "remedy_kind": _label(case_remedies.REMEDY_LABELS),
        "remedy_status": _label(case_remedies.REMEDY_STATUS_LABELS),
    })
    environment.globals["my_open_cases"] = my_open_cases


__all__ = ["install", "readable", "router"]
