"""Pages for the customer 360 profile: header, timeline, edits, notes and the actions that start
work (log a contact, schedule a follow-up, open a case, send a survey, mark as lost).

Every form posts with the CSRF token, runs one call of :mod:`patronage.care`, and redirects back
to the profile with a notice, or shows the profile again with the reason in the reader's
language. What the page shows is put together in :mod:`patronage.reporting.customer360`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from patronage.care import contacts as contact_log
from patronage.care import profile as profile_edits
from patronage.messages import N_, UserError
from patronage.reporting import customer360, member_profile, member_rewards
from patronage.surveys.admin import open_surveys
from patronage.web.deps import check_csrf, form_fields, gettext_for, language_of, render
from patronage.web.deps import require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]
DONE = {"saved": N_("The profile was saved."), "unchanged": N_("Nothing was changed."),
        "noted": N_("The note was added."), "logged": N_("The contact was logged."),
        "owner": N_("The account owner was changed."),
        "redeemed": N_("The reward was redeemed."),
        "redemption_cancelled": N_("The redemption was cancelled; its points were returned."),
        "points_adjusted": N_("The points were adjusted.")}
#: Fields each edit form may post (the consent form's unticked boxes mean "no").
SECTIONS = {
    "contact": ("phone", "email", "language", "timezone", "preferences.channel",
                "preferences.best_time", "preferences.do_not_call"),
    "account": ("region", "industry", "size", "tier", "birthday", "contract_on",
                "visit_every_days"),
    "consent": ("consent_survey", "consent_marketing", "consent_care"),
}
_TICKED = ("preferences.do_not_call", "consent_survey", "consent_marketing", "consent_care")


def _values(request: Request):
    """The value models' per-customer results from the page cache (shared with the loyalty
    page's fit) and their state; never waits longer than a page does."""
    app = request.app
    engine = app.state.engine
    try:
        ready = app.state.page_cache.prepared(
            "customer_values", (), lambda: customer360.customer_values(engine),
            group=("loyalty",), wait=app.state.settings.page_wait_seconds)
    except Exception:  # noqa: BLE001  (a failed fit: the header says it is not ready)
        return None, "pending"
    if ready is None:
        return None, "pending"
    return ready[0], "ready" if ready[1] else "stale"


def _profile_page(request: Request, customer_pk: int, status: int = 200, *, kind=(),
                  since: str = "", until: str = "", page: int = 1, **context):
    engine = request.app.state.engine
    values, state = _values(request)
    shown = customer360.customer_360(engine, customer_pk, values=values, value_state=state,
                                     language=language_of(request),
                                     gettext=gettext_for(request))
    if shown is None:
        raise HTTPException(404)
    timeline = customer360.customer_timeline(
        engine, customer_pk, kinds=kind, since=since, until=until, page=page,
        timezone=request.app.state.settings.timezone)
    language = language_of(request)
    return render(request, "customer.html", status, c360=shown, profile=shown.profile,
                  timeline=timeline, open_surveys=open_surveys(engine),
                  membership=member_profile.membership_panel(
                      engine, customer_pk, language, timezone=request.app.state.settings.timezone),
                  redeem=member_rewards.redeem_choices(
                      engine, customer_pk, language, timezone=request.app.state.settings.timezone),
                  sections=SECTIONS, choices=_choices(),
                  **customer360.form_choices(engine, language_of(request)),
                  form=context.pop("form", {}), **context)


def _choices() -> dict:
    return {"channels": contact_log.CHANNEL_NAMES, "kinds": contact_log.KIND_NAMES,
            "directions": contact_log.DIRECTION_NAMES, "timeline": customer360.TIMELINE_KINDS,
            "preferred": profile_edits.PREFERRED_CHANNELS, "best_times": profile_edits.BEST_TIMES,
            "fields": profile_edits.FIELD_NAMES, "preferences": profile_edits.PREFERENCE_NAMES,
            "risk": customer360.RISK_NAMES, "task_types": customer360.TASK_TYPE_NAMES}


@router.get("/customers/{customer_pk}")
def customer_page(request: Request, customer_pk: int, kind: list[str] = Query([]),
                  since: str = "", until: str = "", page: int = 1, done: str = ""):
    require_user(request)
    return _profile_page(request, customer_pk, kind=kind or (), since=since, until=until,
                         page=page, done=UserError(DONE[done]) if done in DONE else None)


def _act(request: Request, customer_pk: int, action, form: dict):
    """Run ``action(user)``; back to the profile with a notice, or the profile with the reason."""
    user = require_user(request)
    try:
        done = action(user)
    except UserError as exc:
        return _profile_page(request, customer_pk, 400, error=exc, form=form)
    return RedirectResponse(f"/customers/{customer_pk}?" + urlencode({"done": done}),
                            status_code=303)


@router.post("/customers/{customer_pk}/edit", dependencies=CSRF)
def edit_profile(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    section = form.get("section", "")
    if section not in SECTIONS and section != "attributes":
        raise HTTPException(422)
    changes = _changes(section, form)

    def action(user):
        changed = profile_edits.update_customer(request.app.state.engine, customer_pk, changes,
                                                by_user_id=user["id"])
        return "saved" if changed else "unchanged"
    return _act(request, customer_pk, action, {**form, "section": section})


def _changes(section: str, form: dict) -> dict:
    """The changes an edit form posted: its fields (unticked boxes are "no"), or for the
    attributes form the listed attributes and a new one."""
    if section == "attributes":
        changes = {k: v for k, v in form.items() if k.startswith("attributes.")}
        key = str(form.get("new_key", "")).strip()
        if key:
            changes[f"attributes.{key}"] = form.get("new_value", "")
        return changes
    return {name: form.get(name, "no" if name in _TICKED else "") for name in SECTIONS[section]}


@router.post("/customers/{customer_pk}/note", dependencies=CSRF)
def add_note(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    return _act(request, customer_pk, lambda user: profile_edits.add_note(
        request.app.state.engine, customer_pk, str(form.get("body", "")),
        by_user_id=user["id"]) and "noted", {"note": form.get("body", "")})


@router.post("/customers/{customer_pk}/contact", dependencies=CSRF)
def log_a_contact(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    fields = {k: str(form.get(k, "")) for k in ("channel", "kind", "direction", "outcome",
                                                 "body", "at")}
    return _act(request, customer_pk, lambda user: contact_log.record_contact(
        request.app.state.engine, customer_id=customer_pk, user_id=user["id"],
        timezone=request.app.state.settings.timezone, **fields) and "logged",
        {"contact": fields})


@router.post("/customers/{customer_pk}/owner", dependencies=CSRF)
def set_owner(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    return _act(request, customer_pk, lambda user: profile_edits.set_owner(
        request.app.state.engine, customer_pk, form.get("owner") or None,
        by_user_id=user["id"]) and "owner" or "unchanged", {})


__all__ = ["router"]
