"""Turning a selection of customers on any list into work: tasks, cases, a campaign, a
targeted survey or membership of the programme; and the lists of named customers behind the loyalty page's tables and the key
drivers.

A list page ticks customers (``customer_id``, the profile key, repeated; ``all_ids``: the whole
list, comma-separated) and posts them with the action to ``POST /selection``, which does the
work through :mod:`patronage.care.selection` and goes back to ``next`` with the counts in the
address (``selected=task&count=12``); ``base.html`` shows them as a notice. A list page with
room only for the action (the loyalty page, the customer list) asks for it and continues to
``GET /selection/new``, the full form.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import math
from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from patronage.care import selection
from patronage.care.tasks import local_zone
from patronage.messages import N_, UserError, translated
from patronage.reporting import selection_lists
from patronage.reporting.filters import Filters
from patronage.reporting.loyalty import COLUMN_LABELS as LOYALTY_COLUMNS
from patronage.reporting.loyalty import VALUE_LABELS
from patronage.web.deps import (
    Forbidden, check_csrf, form_fields, gettext_for, language_of, render, require_user, safe_next,
)
from patronage.web.prepared import Job, freshness, prepared, preparing

router = APIRouter()
CSRF = [Depends(check_csrf)]
ANALYSTS = ("admin", "analyst")
#: The address parameters of a notice after an action (dropped from ``next`` before adding).
NOTICE_KEYS = ("selected", "count", "skipped", *selection.SKIP_REASONS)
COLUMN_LABELS = {**LOYALTY_COLUMNS, **selection_lists.COLUMN_LABELS}
FIELDS = ("action", "type", "due", "subject", "assignee", "team", "survey", "channel", "next")


def back_to(target: str | None, default: str = "/customers") -> str:
    """``target`` when it is a path on this site, else ``default`` (never another site)."""
    target = (target or "").strip()
    if not target or any(ord(ch) < 33 for ch in target):
        return default
    safe = safe_next(target)
    return safe if safe == target else default


def with_notice(target: str, **counts) -> str:
    """``target`` with the notice's counts in its query (earlier ones replaced)."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in NOTICE_KEYS]
    query += [(k, str(v)) for k, v in counts.items() if v not in (None, 0, "") or k == "count"]
    return urlunsplit(("", "", parts.path, urlencode(query), ""))


def _chosen(ids, every) -> list:
    """The ticked customers plus the whole list's when "all on this list" was ticked."""
    ids = [ids] if isinstance(ids, str) else list(ids or [])
    everyone = every if isinstance(every, str) else ",".join(every or [])
    return ids + [i for i in everyone.split(",") if i.strip()]


def _int(value) -> int | None:
    return int(value) if value and str(value).strip().isdigit() else None


def _tomorrow(request: Request) -> str:
    """Tomorrow in the company's time zone: the due date a form proposes."""
    zone = local_zone(request.app.state.settings.timezone)
    return (datetime.now(zone).date() + timedelta(days=1)).isoformat()


def _form(request: Request, ids: list, form: dict, status: int = 200, **context):
    """The full form for the selected customers (also after a refused action)."""
    engine = request.app.state.engine
    form = {**form, "next": back_to(form.get("next"))}
    try:
        chosen = selection.selection(ids)
    except UserError as exc:
        chosen, context["error"], status = [], context.get("error") or exc, 400
    return render(request, "selection_new.html", status, ids=chosen, form=form,
                  customers=selection_lists.selected_customers(engine, chosen),
                  choices=selection_lists.action_choices(engine),
                  due=_tomorrow(request), **context)


def _act(request: Request, user: dict, ids: list, form: dict) -> str:
    """Do the chosen action; the address to go to next."""
    engine, settings = request.app.state.engine, request.app.state.settings
    action, back = form.get("action"), back_to(form.get("next"))
    if action == "campaign":
        return selection.campaign_address(ids)
    if action == "case":
        return selection.case_address(engine, ids)
    if action == "task":
        made = selection.tasks_for(
            engine, ids, type=form.get("type") or "call", subject=form.get("subject", ""),
            due_at=selection.due_at_from_day(form.get("due", ""), settings.timezone),
            assignee_id=_int(form.get("assignee")), team_id=_int(form.get("team")),
            by=user["id"])
        return with_notice(back, selected="task", count=made,
                           skipped=len(selection.selection(ids)) - made)
    if action == "survey":
        if user["role"] not in ANALYSTS and len(selection.selection(ids)) > 1:
            raise Forbidden()
        done = selection.survey_for(engine, form.get("survey", ""), ids,
                                    channel=form.get("channel") or "email", by=user["id"],
                                    base_url=settings.survey_base_url())
        return with_notice(back, selected="survey", count=done.invited, **done.skipped)
    if action == "enrol":
        if user["role"] not in ANALYSTS:
            raise Forbidden()
        done = selection.enrol_for(engine, ids, by=user["id"])
        return with_notice(back, selected="enrol", count=done.created, skipped=done.existing)
    raise UserError(N_("Choose what to do with the selected customers."))


@router.get("/selection/new")
def selection_form(request: Request, action: str = "task", next: str = ""):
    """The full form for the customers ticked on a list; a campaign or a case goes on to its
    own form at once."""
    user = require_user(request)
    query = request.query_params
    ids = _chosen(query.getlist("customer_id"), query.getlist("all_ids"))
    form = {"action": action, "next": back_to(next), "type": "call", "channel": "email"}
    if action in ("campaign", "case"):
        try:
            return RedirectResponse(_act(request, user, ids, form), status_code=303)
        except UserError as exc:
            return _form(request, ids, form, 400, error=exc)
    return _form(request, ids, form)


@router.post("/selection", dependencies=CSRF)
def act_on_selection(request: Request, form: dict = Depends(form_fields)):
    """Tasks, invitations, a case, a campaign or enrolment for the selected customers."""
    user = require_user(request)
    ids = _chosen(form.get("customer_id"), form.get("all_ids"))
    fields = {k: form[k] for k in FIELDS if isinstance(form.get(k), str)}
    try:
        target = _act(request, user, ids, fields)
    except UserError as exc:
        return _form(request, ids, fields, 400, error=exc)
    return RedirectResponse(target, status_code=303)


# -- the lists -----------------------------------------------------------------------------------

def _list_page(request: Request, listing, current: bool = True, **context):
    engine = request.app.state.engine
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(request, "customer_list.html", listing=listing,
                  column_labels=COLUMN_LABELS, value_labels=VALUE_LABELS,
                  choices=selection_lists.action_choices(engine),
                  next=with_notice(here), due=_tomorrow(request), **freshness(current),
                  **context)


def loyalty_list_job(app, key: str, segment: str, language: str,
                     filters: Filters | None = None) -> Job:
    """A loyalty list in ``language`` on the page's ``filters``, sharing the loyalty page's
    computed models."""
    engine, gettext = app.state.engine, app.state.translations[language].gettext
    return Job("loyalty_list", (key, segment, language, filters),
               lambda: _or_problem(lambda: selection_lists.loyalty_list(
                   engine, key, segment=segment, gettext=gettext, language=language,
                   filters=filters)),
               ("loyalty",))


def _missing(request: Request, error: UserError):
    return render(request, "error.html", 404, status=404,
                  message=translated(error, gettext_for(request)))


def _or_problem(make):
    try:
        return make()
    except ValueError as exc:  # the data cannot give this list (no sales yet): said, not kept
        return exc if isinstance(exc, UserError) else UserError(str(exc))


@router.get("/loyalty/customers")
def loyalty_list_page(request: Request, kind: str = Query("clv", alias="list"),
                      segment: str = ""):
    """Everyone behind a table of the loyalty page: ``list`` = clv, at_risk, segment (with
    ``segment``), whales or unprofitable; among the customers the page's filters keep."""
    require_user(request, *ANALYSTS)
    try:
        filters = Filters.from_query(request.query_params)
    except UserError as exc:
        return _missing(request, exc)
    ready = prepared(request, loyalty_list_job(request.app, kind[:40], segment[:60],
                                               language_of(request), filters))
    if ready is None:
        return preparing(request, N_("Loyalty and customer value"))
    listing, current = ready
    if isinstance(listing, UserError):
        return _missing(request, listing)
    return _list_page(request, listing, current)


@router.get("/analysis/respondents")
def respondents_page(request: Request, item: str = "", survey: str = "",
                     max: float = selection_lists.LOW_RATING):
    """The respondents who rated a driver (a dimension or an item) at most ``max``, among the
    responses the analysis page's filters (in the address) keep."""
    require_user(request, *ANALYSTS)
    max = max if math.isfinite(max) else selection_lists.LOW_RATING
    try:
        filters = Filters.from_query(request.query_params)
        listing = selection_lists.respondents(
            request.app.state.engine, survey or None, item[:60], max_rating=max,
            gettext=gettext_for(request), language=language_of(request), filters=filters)
    except UserError as exc:
        return _missing(request, exc)
    return _list_page(request, listing, item=item, survey=survey, max_rating=f"{max:g}",
                      list_filters=filters)


__all__ = ["back_to", "router", "with_notice"]
