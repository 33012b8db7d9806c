"""Pages for the agents' care work: today, overdue and team task lists, the call screen with its
outcome form, scheduling a follow-up by hand, follow-up rules (admins) and the care report.

Every form posts with the CSRF token, runs one call of :mod:`patronage.care` and redirects back
with a notice, or shows the page again with the reason in the reader's language. What the pages
show is put together in :mod:`patronage.reporting.care_pages`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from jinja2 import pass_context
from sqlalchemy.exc import SQLAlchemyError

from patronage.care import outcomes, rules, tasks
from patronage.cases.config import DeskConfig
from patronage.messages import N_, UserError
from patronage.reporting import care_pages
from patronage.web.deps import Forbidden, check_csrf, form_fields, language_of, render, require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]
ADMIN = "admin"
DONE = {
    "done": N_("The outcome was recorded."), "retry": N_("No answer: the task is due again {at}."),
    "case": N_("Case {case} was opened for the problem."),
    "cancelled": N_("The task was cancelled."), "scheduled": N_("{count} follow-ups were scheduled."),
    "rule": N_("The rule was added."), "rule_off": N_("The rule was switched off."),
    "rule_on": N_("The rule was switched on."), "rule_removed": N_("The rule was removed."),
    "outcome": N_("The outcome was saved."),
}


def _engine(request: Request):
    return request.app.state.engine


def _tz(request: Request) -> str | None:
    return request.app.state.settings.timezone


def _done(key: str, **params) -> UserError | None:
    return UserError(DONE[key], **params) if key in DONE else None


def _back(path: str, **query) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


def _text(form: dict) -> dict:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


# -- work lists and the call screen --------------------------------------------------------------

@router.get("/care")
def work_list_page(request: Request, tab: str = "today", done: str = "", count: int = 0):
    user = require_user(request)
    shown = care_pages.work_list(_engine(request), user, tab, language=language_of(request),
                                 timezone=_tz(request))
    return render(request, "care_tasks.html", **shown, done=_done(done, count=count))


def _task(request: Request, user: dict, task_id: int, status: int = 200, **context):
    try:
        shown = care_pages.task_page(_engine(request), task_id, user,
                                     language=language_of(request), timezone=_tz(request))
    except UserError:
        raise HTTPException(404) from None
    if shown is None:
        raise Forbidden()
    return render(request, "care_task.html", status, **shown, **context)


@router.get("/care/tasks/new")
def new_task_page(request: Request, customer: str = ""):
    require_user(request)
    shown = care_pages.new_task_form(_engine(request), customer)
    return render(request, "care_task_new.html", **shown,
                  form={"customer": customer, "type": "call",
                        "due": care_pages.default_due(_tz(request))})


@router.post("/care/tasks/new", dependencies=CSRF)
def schedule_task(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request)
    form = _text(form)
    try:
        made = tasks.schedule_by_name(
            _engine(request), customers=[form.get("customer", "")], type=form.get("type", ""),
            due=form.get("due", ""), subject=form.get("subject", ""),
            assignee=int(form["assignee"]) if form.get("assignee", "").isdigit() else None,
            team=form.get("team") or None, note=form.get("note"), by=user["id"],
            timezone=_tz(request))
    except UserError as exc:
        shown = care_pages.new_task_form(_engine(request), form.get("customer", ""))
        return render(request, "care_task_new.html", 400, **shown, form=form, error=exc)
    if len(made) == 1:
        return _back(f"/care/tasks/{made[0]}", done="scheduled", count=1)
    return _back("/care", tab="all", done="scheduled", count=len(made))


@router.get("/care/tasks/{task_id}")
def task_page(request: Request, task_id: int, done: str = "", case: str = "", at: str = ""):
    user = require_user(request)
    return _task(request, user, task_id, done=_done(done, case=case, at=at, count=1))


@router.post("/care/tasks/{task_id}/done", dependencies=CSRF)
def complete(request: Request, task_id: int, form: dict = Depends(form_fields)):
    user = require_user(request)
    form = _text(form)
    try:
        result = tasks.complete_task(
            _engine(request), task_id, form.get("outcome", ""), note=form.get("note"),
            by=user["id"], user=user, config=DeskConfig.from_settings(request.app.state.settings))
    except UserError as exc:
        return _task(request, user, task_id, 400, error=exc, form=form)
    if result["case"]:
        return _back(f"/care/tasks/{task_id}", done="case", case=result["case"])
    if result["status"] == "open":
        at = care_pages.local_time(result["due_at"], _tz(request))
        return _back(f"/care/tasks/{task_id}", done="retry", at=at)
    return _back(f"/care/tasks/{task_id}", done="done")


@router.post("/care/tasks/{task_id}/cancel", dependencies=CSRF)
def cancel(request: Request, task_id: int, form: dict = Depends(form_fields)):
    user = require_user(request)
    _task(request, user, task_id)  # 404 / 403 before anything changes
    try:
        tasks.cancel_task(_engine(request), task_id, by=user["id"], note=_text(form).get("note"))
    except UserError as exc:
        return _task(request, user, task_id, 400, error=exc)
    return _back(f"/care/tasks/{task_id}", done="cancelled")


# -- rules and outcomes (admins) -----------------------------------------------------------------

def _rules(request: Request, status: int = 200, **context):
    shown = care_pages.rules_page(_engine(request), language_of(request))
    return render(request, "care_rules.html", status, **shown, **context)


@router.get("/care/rules")
def rules_page(request: Request, done: str = ""):
    require_user(request, ADMIN)
    return _rules(request, form={"trigger": "purchase", "type": "call"}, done=_done(done))


@router.post("/care/rules", dependencies=CSRF)
def add_rule(request: Request, form: dict = Depends(form_fields)):
    require_user(request, ADMIN)
    form = _text(form)
    params = {k: form.get(k) for k in ("days", "category", "product", "kind", "every_days",
                                       "below", "tiers") if form.get(k)}
    try:
        rules.add_rule(
            _engine(request), trigger=form.get("trigger", ""), params=params,
            task_type=form.get("type", "call"), name=form.get("name"), team=form.get("team"),
            assignee=int(form["assignee"]) if form.get("assignee", "").isdigit() else None,
            to_account_owner=bool(form.get("to_owner")),
            scripts={"zh_Hans": form.get("script_zh_hans"), "zh_Hant": form.get("script_zh_hant"),
                     "en": form.get("script_en")},
            language=request.app.state.settings.customer_language)
    except UserError as exc:
        return _rules(request, 400, form=form, error=exc)
    return _back("/care/rules", done="rule")


@router.post("/care/rules/{rule_id}/{action}", dependencies=CSRF)
def change_rule(request: Request, rule_id: int, action: str):
    require_user(request, ADMIN)
    if action not in ("off", "on", "remove"):
        raise HTTPException(404)
    try:
        if action == "remove":
            rules.remove_rule(_engine(request), rule_id)
        else:
            rules.switch_rule(_engine(request), rule_id, action == "on")
    except UserError:
        raise HTTPException(404) from None
    return _back("/care/rules", done={"off": "rule_off", "on": "rule_on"}.get(action,
                                                                             "rule_removed"))


@router.post("/care/outcomes", dependencies=CSRF)
def add_outcome(request: Request, form: dict = Depends(form_fields)):
    require_user(request, ADMIN)
    form = _text(form)
    try:
        outcomes.add_outcome(
            _engine(request), form.get("code", ""), form.get("name_en", ""),
            effect=form.get("effect", "done"), name_zh_hans=form.get("name_zh_hans") or None,
            name_zh_hant=form.get("name_zh_hant") or None, reached=bool(form.get("reached")),
            retry_after_hours=form.get("retry_after_hours"),
            max_attempts=form.get("max_attempts"))
    except UserError as exc:
        return _rules(request, 400, form={"trigger": "purchase", "type": "call"},
                      outcome_form=form, outcome_error=exc)
    return _back("/care/rules", done="outcome")


def _day(text: str):
    """A date from a query parameter, or None when it is empty or no date."""
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None


#: What the care report is computed from: a change to any of them computes it again.
REPORT_TABLES = ("care_tasks", "care_outcomes", "teams")


@router.get("/care/report")
def report_page(request: Request, weeks: int = 12, until: str = ""):
    """The care report, kept per data version, language, time zone and the company's day (the
    weeks shown end with this week)."""
    require_user(request, ADMIN, "analyst")
    state, language, timezone = request.app.state, language_of(request), _tz(request)
    weeks, day = min(max(weeks, 1), 104), _day(until)
    today = tasks.day_bounds(datetime.now(UTC).replace(tzinfo=None), timezone)[0]
    shown = state.care_reports.get("care_report", (weeks, day, language, timezone, today),
                      lambda: care_pages.report_page(state.engine, language=language,
                                                     timezone=timezone, weeks=weeks, until=day))
    return render(request, "care_report.html", **shown)


# -- templates -----------------------------------------------------------------------------------

@pass_context
def my_care_today(context) -> int:
    """The menu's badge: the logged-in user's open care tasks due by the end of today."""
    user, request = context.get("user"), context.get("request")
    if not user or request is None:
        return 0
    try:
        return tasks.open_today_count(request.app.state.engine, user["id"],
                                      timezone=request.app.state.settings.timezone)
    except SQLAlchemyError:  # the error page of an unavailable database still shows
        return 0


def install(environment) -> None:
    """The care menu badge on the templates' environment."""
    environment.globals["my_care_today"] = my_care_today


__all__ = ["install", "router"]
