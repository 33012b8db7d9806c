"""Pages for the care calendar: occasions, festivals and greetings, and the customer-facing opt-out page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse

from patronage.api_keys import authenticate
from patronage.care import occasions as occasion_service
from patronage.care.optout import opt_out, record_replies, verify_token
from patronage.care.outreach import load_customer, opted_out
from patronage.care.texts import customer_language
from patronage.messages import N_, UserError
from patronage.reporting.care_calendar import calendar_page
from patronage.web.deps import check_csrf, form_fields, language_of, render, require_user
from patronage.web.guard import json_object

router = APIRouter()
CSRF = [Depends(check_csrf)]
DONE = {"added": N_("The occasion was added."), "saved": N_("The occasion was saved."),
        "on": N_("The occasion was switched on."), "off": N_("The occasion was switched off."),
        "removed": N_("The occasion was removed.")}
FIELDS = ("name_en", "name_zh_hans", "name_zh_hant", "template_en", "template_zh_hans",
          "template_zh_hant", "action", "channel", "task_type", "gift", "gift_cost",
          "days_before", "on_date", "month", "day")
SMS_SCOPE = "sms:inbound"


def _calendar(request: Request, status: int = 200, **context):
    user = require_user(request, "admin", "analyst", "agent")
    days = request.query_params.get("days", "60")
    days = min(int(days), 366) if days.isdigit() else 60
    shown = calendar_page(request.app.state.engine, language=language_of(request),
                          settings=request.app.state.settings, days=days,
                          everything=request.query_params.get("all") == "1")
    return render(request, "care_calendar.html", status, **shown,
                  may_edit=user["role"] == "admin", **context)


@router.get("/care/calendar")
def calendar(request: Request, done: str = ""):
    return _calendar(request, done=UserError(DONE[done]) if done in DONE else None)


def _values(form: dict) -> dict:
    values = {k: form[k] for k in FIELDS
              if k in form and not (k.startswith("name_") and not str(form[k]).strip())}
    tiers = form.get("tiers") or []
    values["tiers"] = [tiers] if isinstance(tiers, str) else tiers
    if "month" in form:
        values["lunar"] = bool(form.get("lunar"))
    return values


@router.post("/care/calendar/occasions", dependencies=CSRF)
def add_occasion(request: Request, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    values = _values(form)
    try:
        occasion_service.add_occasion(request.app.state.engine, str(form.get("code", "")),
                                      name=str(form.get("name", "")), **values)
    except UserError as exc:
        return _calendar(request, 400, error=exc, form=form)
    return RedirectResponse("/care/calendar?done=added", status_code=303)


@router.post("/care/calendar/occasions/{code}", dependencies=CSRF)
def edit_occasion(request: Request, code: str, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    action = form.get("do", "save")
    engine = request.app.state.engine
    try:
        if action in ("on", "off"):
            occasion_service.set_active(engine, code, action == "on")
        elif action == "remove":
            occasion_service.remove_occasion(engine, code)
        else:
            action = "saved"
            occasion_service.update_occasion(engine, code, **_values(form))
    except UserError as exc:
        return _calendar(request, 400, error=exc, editing=code)
    return RedirectResponse(f"/care/calendar?done={'removed' if action == 'remove' else action}",
                            status_code=303)


# -- the customer's opt-out page -------------------------------------------------------------

def _optout_page(request: Request, token: str, template: str, status: int = 200):
    customer_id = verify_token(token, request.app.state.settings)
    customer = None
    if customer_id is not None:
        with request.app.state.engine.connect() as conn:
            customer = load_customer(conn, customer_id)
    asked = request.query_params.get("lang")
    language = (asked if asked in request.app.state.translations else
                customer_language(customer, request.app.state.settings.customer_language)
                if customer else language_of(request))
    t = request.app.state.translations[language].gettext
    if customer is None:
        return render(request, "optout_invalid.html", 404, t=t, survey_lang=language)
    if opted_out(customer):
        template = "optout_done.html"
    return render(request, template, status, t=t, survey_lang=language, token=token,
                  customer_id=customer_id)


@router.get("/u/{token}", include_in_schema=False)
def optout_page(request: Request, token: str):
    """A GET never opts out (mail scanners follow links): it asks for a confirmation."""
    return _optout_page(request, token, "optout.html")


@router.post("/u/{token}", dependencies=CSRF, include_in_schema=False)
def optout_confirm(request: Request, token: str):
    customer_id = verify_token(token, request.app.state.settings)
    if customer_id is not None:
        opt_out(request.app.state.engine, customer_id, "link")
    return _optout_page(request, token, "optout_done.html")


# -- inbound text messages from the SMS gateway ---------------------------------------------

def _gateway_key(request: Request) -> dict:
    """The SMS gateway's API key (scope ``sms:inbound``), checked before the body is read; a
    staff session does not count (the gateway has none)."""
    header = request.headers.get("authorization", "")
    key = (authenticate(request.app.state.engine, header[7:].strip())
           if header.lower().startswith("bearer ") else None)
    if key is None:
        raise HTTPException(401)
    if SMS_SCOPE not in key["scopes"]:
        raise HTTPException(403)
    if not request.app.state.api_key_limiter.attempt(f"key:{key['id']}"):
        raise HTTPException(429)
    return key


@router.post("/api/sms/inbound")
def sms_inbound(request: Request, key: dict = Depends(_gateway_key),
                payload: dict = Depends(json_object)):
    """A reply to a care text message, posted by the SMS gateway as ``{from, body}`` with an
    API key of scope ``sms:inbound``: TD / 退订 / STOP opts the sender out."""
    sender, body = payload.get("from"), payload.get("body")
    if not isinstance(sender, str) or not sender.strip() or not isinstance(body, str):
        return JSONResponse({"error": "send a JSON object with the text fields from and body",
                             "fields": ["from", "body"]}, status_code=422)
    counts = record_replies(request.app.state.engine, [{"from": sender[:40], "body": body[:2000]}])
    return JSONResponse({"opted_out": counts["opted out"], "replies": counts["replies"],
                         "unknown_number": counts["unknown numbers"]})
