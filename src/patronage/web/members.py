"""The membership programme's pages: the member list, the programme's policy and tiers, and
the membership card's actions on a customer's profile (enrol, change the tier, close, reopen).

``/members`` lists members with filters in the address (``tier``, ``status``,
``joined_from``, ``joined_to``, ``q``) and selection boxes that turn members into tasks, a
case, a survey or a campaign like any customer list. ``/members/programme`` (admins) holds
the policy form and the tiers table. What they show is put together in
:mod:`patronage.reporting.members_pages` and :mod:`patronage.reporting.member_profile`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.members import enrolment, programme, tiers
from patronage.messages import N_, UserError
from patronage.reporting import members_pages as pages
from patronage.storage.schema_members import TIER_BASES
from patronage.web.customer_pages import _profile_page
from patronage.web.deps import check_csrf, form_fields, language_of, render, require_user

router = APIRouter()
CSRF = [Depends(check_csrf)]
DONE = {"policy": N_("The programme's settings were saved."),
        "tier_added": N_("The tier was added."), "tier_saved": N_("The tier was saved."),
        "tier_removed": N_("The tier was removed.")}
#: The fields of the tier forms (the checkbox ``active`` unticked means "no").
TIER_FORM = ("name_en", "name_zh_hans", "name_zh_hant", "rank", "qualify_value", "multiplier",
             "case_severity", "gift_rewards", "benefits_en", "benefits_zh_hans",
             "benefits_zh_hant")


def _engine(request: Request):
    return request.app.state.engine


def _text(form: dict) -> dict:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


@router.get("/members")
def members_page(request: Request, tier: str = "", status: str = "", joined_from: str = "",
                 joined_to: str = "", q: str = "", page: int = 1):
    """The member list, filtered by the address."""
    require_user(request)
    shown = pages.member_list(_engine(request), tier=tier[:30], status=status[:10],
                              joined_from=joined_from[:20], joined_to=joined_to[:20],
                              search=q[:100], page=page, language=language_of(request))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    kept = {**shown["filters"], "q": shown["filters"]["search"]}
    query = {k: kept[k] for k in ("q", "tier", "status", "joined_from", "joined_to") if kept[k]}
    return render(request, "members.html", **shown, here=here, query=query)


def _programme(request: Request, code: int = 200, **context):
    shown = pages.programme_page(_engine(request), language_of(request))
    return render(request, "members_programme.html", code, **shown, bases=TIER_BASES,
                  **context)


@router.get("/members/programme")
def programme_page(request: Request, done: str = ""):
    require_user(request, "admin")
    return _programme(request, done=UserError(DONE[done]) if done in DONE else None)


def _back(done: str) -> RedirectResponse:
    return RedirectResponse("/members/programme?" + urlencode({"done": done}), status_code=303)


@router.post("/members/programme", dependencies=CSRF)
def save_policy(request: Request, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    values = {k: v for k, v in _text(form).items() if k in pages.POLICY_FIELDS}
    try:
        programme.update_policy(_engine(request), **values)
    except UserError as exc:
        return _programme(request, 400, error=exc, form=values)
    return _back("policy")


def _tier_values(form: dict) -> dict:
    values = {k: form.get(k, "") for k in TIER_FORM}
    values["active"] = "yes" if form.get("active") else "no"
    return values


@router.post("/members/programme/tiers", dependencies=CSRF)
def add_tier(request: Request, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    form = _text(form)
    values = {k: v for k, v in _tier_values(form).items() if v not in ("", None)}
    try:
        programme.add_tier(_engine(request), form.get("code", ""), **values)
    except (UserError, TypeError) as exc:
        error = exc if isinstance(exc, UserError) else UserError(
            N_("Give the tier a code, an English name and a rank."))
        return _programme(request, 400, error=error, new_tier=form)
    return _back("tier_added")


@router.post("/members/programme/tiers/{code}", dependencies=CSRF)
def change_tier(request: Request, code: str, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    form = _text(form)
    try:
        if form.get("action") == "remove":
            programme.remove_tier(_engine(request), code)
            return _back("tier_removed")
        programme.update_tier(_engine(request), code, **_tier_values(form))
    except UserError as exc:
        return _programme(request, 400, error=exc, failed=code, tier_form=form)
    return _back("tier_saved")


# -- the membership card on a customer's profile ----------------------------------------------

def _to_profile(customer_pk: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"/customers/{customer_pk}?" + urlencode({"member": done})
                            + "#membership", status_code=303)


def _on_profile(request: Request, customer_pk: int, action):
    """Run ``action()``; back to the profile with what was done, or the profile with the
    reason it was refused."""
    try:
        done = action()
    except UserError as exc:
        return _profile_page(request, customer_pk, 400, error=exc)
    return _to_profile(customer_pk, done)


@router.post("/customers/{customer_pk}/enrol", dependencies=CSRF)
def enrol_customer(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    """The profile's "Enrol in the programme" button."""
    user = require_user(request)
    channel = str(form.get("channel") or "").strip() or None

    def action():
        made = enrolment.enrol_customers(_engine(request), [customer_pk], channel=channel,
                                         actor_id=user["id"])
        return "enrolled" if made.created else "unchanged"
    return _on_profile(request, customer_pk, action)


@router.post("/customers/{customer_pk}/membership", dependencies=CSRF)
def change_membership(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    """An admin's change on the membership card: ``action`` tier (with ``tier`` and
    ``reason``), close or reopen."""
    user = require_user(request, "admin")
    engine, form = _engine(request), _text(form)
    action = form.get("action", "")

    def act():
        if action == "tier":
            with engine.connect() as conn:
                member = enrolment.member_of_customer(conn, customer_pk)
            if member is None:
                raise UserError(N_("The customer is not a member."))
            changed = tiers.set_tier(engine, member["id"], form.get("tier", ""),
                                     reason=form.get("reason", ""), actor_id=user["id"])
            return "tier" if changed else "unchanged"
        if action in ("close", "reopen"):
            change = enrolment.close_membership if action == "close" \
                else enrolment.reopen_membership
            return (action + "d" if action == "close" else "reopened") \
                if change(engine, customer_pk, reason=form.get("reason", ""),
                          by=user["id"]) else "unchanged"
        raise HTTPException(422)
    return _on_profile(request, customer_pk, act)


__all__ = ["router"]
