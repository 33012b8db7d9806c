"""The rewards catalogue, redemption on a member's profile and by the API, and cancellation.

Pages: ``/members/rewards`` (the catalogue, the latest redemptions with a cancel button, a
redeem-by-card form for agents; admins add and change rewards), ``POST /customers/{pk}/redeem``
(the profile's redemption form), ``POST /customers/{pk}/points`` (an admin's adjustment with its
reason), ``POST /members/redemptions`` (redeem by card number) and
``POST /members/redemptions/{id}/cancel``. Each form carries an idempotency key made when the
page was shown, so a double click redeems once.

API (an API key with scope ``members:read`` / ``members:redeem``, or a staff session with the
CSRF header): ``GET /api/members/{card}`` (points, tier, what expires next) and
``POST /api/members/{card}/redemptions`` with ``{"reward": code, "quantity": 1}`` and the header
``Idempotency-Key`` (or ``idempotency_key`` in the body). A replay of the same request answers
as the first time (201, the redemption as it is now, header ``Idempotent-Replayed: true``);
the key reused for another request is 409; a redemption the rules refuse is 422 with the reason
in the reader's language and a ``reason`` code, and the refusal is kept under its key: the same
request again gets the same 422 (with ``Idempotent-Replayed: true``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse

from patronage.members import catalogue, rewards
from patronage.members.adjustments import adjust_customer, member_summary
from patronage.messages import N_, UserError
from patronage.reporting import member_rewards as pages
from patronage.web.customer_pages import _profile_page
from patronage.web.deps import (
    STAFF_ROLES,
    ApiCaller,
    check_csrf,
    form_fields,
    gettext_for,
    language_of,
    render,
    require_user,
)
from patronage.web.guard import json_object

router = APIRouter()
CSRF = [Depends(check_csrf)]
REDEEMERS = ("admin", "agent")
DONE = {"added": N_("The reward was added."), "saved": N_("The reward was saved."),
        "redeemed": N_("The reward was redeemed."),
        "cancelled": N_("The redemption was cancelled; its points were returned.")}


def _zone(request: Request) -> str:
    """The company's time zone: the days of rewards' validity, expiry and dates shown."""
    return request.app.state.settings.timezone


def _form(form: dict) -> dict:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _back(path: str, anchor: str = "", **query) -> RedirectResponse:
    query = {k: v for k, v in query.items() if v not in (None, "")}
    return RedirectResponse(path + ("?" + urlencode(query) if query else "") + anchor,
                            status_code=303)


def _page(request: Request, code: int = 200, edit: str = "", **context):
    shown = pages.rewards_page(request.app.state.engine, language_of(request), edit=edit,
                               timezone=_zone(request))
    return render(request, "members_rewards.html", code, **shown, **context)


@router.get("/members/rewards")
def rewards_page(request: Request, done: str = "", edit: str = ""):
    user = require_user(request)
    return _page(request, edit=edit if user["role"] == "admin" else "",
                 done=UserError(DONE[done]) if done in DONE else None)


def _fields(form: dict) -> dict:
    fields = {k: form.get(k, "") for k in catalogue.EDITABLE if k != "active"}
    return {**fields, "active": form.get("active", "") == "on"}


@router.post("/members/rewards", dependencies=CSRF)
def add_reward(request: Request, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    form = _form(form)
    try:
        catalogue.add_reward(request.app.state.engine, form.get("code", ""), **_fields(form))
    except UserError as exc:
        return _page(request, 400, error=exc, form=form, failed="new")
    return _back("/members/rewards", done="added")


@router.post("/members/rewards/{code}", dependencies=CSRF)
def update_reward(request: Request, code: str, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    form = _form(form)
    try:
        catalogue.update_reward(request.app.state.engine, code, **_fields(form))
    except UserError as exc:
        return _page(request, 400, edit=code, error=exc, form=form, failed=code)
    return _back("/members/rewards", done="saved")


@router.post("/members/redemptions", dependencies=CSRF)
def redeem_by_card(request: Request, form: dict = Depends(form_fields)):
    user = require_user(request, *REDEEMERS)
    form = _form(form)
    try:
        rewards.redeem(request.app.state.engine, form.get("card", ""), form.get("reward", ""),
                       form.get("quantity") or 1, key=form.get("key", ""), channel="agent",
                       by=user["id"], timezone=_zone(request))
    except UserError as exc:  # the form comes back with a new key: this one has its answer
        return _page(request, 400, error=exc, form={**form, "key": ""}, failed="redeem")
    return _back("/members/rewards", "#recent", done="redeemed")


@router.post("/customers/{customer_pk}/redeem", dependencies=CSRF)
def redeem_on_profile(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    user = require_user(request, *REDEEMERS)
    try:
        rewards.redeem_for_customer(request.app.state.engine, customer_pk, form.get("reward", ""),
                                    form.get("quantity") or 1, key=form.get("key", ""),
                                    by=user["id"], timezone=_zone(request))
    except UserError as exc:
        return _profile_page(request, customer_pk, 400, error=exc)
    return _back(f"/customers/{customer_pk}", "#membership", done="redeemed")


@router.post("/customers/{customer_pk}/points", dependencies=CSRF)
def adjust_on_profile(request: Request, customer_pk: int, form: dict = Depends(form_fields)):
    user = require_user(request, "admin")
    try:
        adjust_customer(request.app.state.engine, customer_pk, form.get("points", ""),
                        form.get("reason", ""), by=user["id"])
    except UserError as exc:
        return _profile_page(request, customer_pk, 400, error=exc)
    return _back(f"/customers/{customer_pk}", "#membership", done="points_adjusted")


@router.post("/members/redemptions/{redemption_id}/cancel", dependencies=CSRF)
def cancel_redemption(request: Request, redemption_id: int, form: dict = Depends(form_fields)):
    user = require_user(request, *REDEEMERS)
    back = form.get("back") if form.get("back") == "profile" else "rewards"
    try:
        done = rewards.cancel(request.app.state.engine, redemption_id, form.get("reason", ""),
                              by=user["id"], timezone=_zone(request))
    except UserError as exc:
        customer = form.get("customer", "")
        if back == "profile" and str(customer).isdigit():
            return _profile_page(request, int(customer), 400, error=exc)
        return _page(request, 400, error=exc)
    if back == "profile":
        return _back(f"/customers/{done['customer_id']}", "#membership",
                     done="redemption_cancelled")
    return _back("/members/rewards", "#recent", done="cancelled")


# -- API -----------------------------------------------------------------------------------------

def _Caller(scope: str, write: bool) -> ApiCaller:
    """Catalogue readers are any staff; redemption by a person needs an admin or an agent."""
    return ApiCaller(scope, write, REDEEMERS if write else STAFF_ROLES)


def _refused(request: Request, exc: UserError, status: int, reason: str) -> JSONResponse:
    replayed = {"Idempotent-Replayed": "true"} if getattr(exc, "replayed", False) else None
    return JSONResponse({"error": exc.translate(gettext_for(request)),
                         "reason": getattr(exc, "reason", reason)}, status_code=status,
                        headers=replayed)


@router.get("/api/members/{card}")
def api_member(request: Request, card: str,
               caller: dict = Depends(_Caller("members:read", write=False))):
    """A member's points, tier and what expires next."""
    try:
        return member_summary(request.app.state.engine, card, language_of(request),
                              timezone=_zone(request))
    except UserError as exc:
        return _refused(request, exc, 404, "unknown_card")


@router.post("/api/members/{card}/redemptions", status_code=201)
def api_redeem(request: Request, card: str,
               caller: dict = Depends(_Caller("members:redeem", write=True)),
               payload: dict = Depends(json_object)):
    """Redeem a reward, once per idempotency key."""
    unknown = sorted(set(payload) - {"reward", "quantity", "idempotency_key"})
    if unknown:
        return JSONResponse({"error": f"unknown field(s): {', '.join(unknown)}",
                             "fields": unknown}, status_code=422)
    key = request.headers.get("idempotency-key") or payload.get("idempotency_key")
    if not key:
        return _refused(request, UserError(rewards.KEY_REQUIRED), 400, "key_required")
    try:
        done = rewards.redeem(request.app.state.engine, card, str(payload.get("reward") or ""),
                              payload.get("quantity", 1), key=str(key), channel="api",
                              by=caller["user_id"], api_key_id=caller["key_id"],
                              timezone=_zone(request))
    except rewards.KeyReused as exc:
        return _refused(request, exc, 409, "key_reused")
    except rewards.UnknownCard as exc:
        return _refused(request, exc, 404, "unknown_card")
    except rewards.NotEnoughPoints as exc:
        return _refused(request, exc, 422, "points")
    except UserError as exc:
        return _refused(request, exc, 422, "invalid")
    return JSONResponse(done.body, status_code=201,
                        headers={"Idempotent-Replayed": "true"} if done.replayed else None)


__all__ = ["router"]
