"""The desk's settings for admins: teams, case categories, service levels, working days,
assignment rules and API keys.

Every form posts with the CSRF token, runs one call of :mod:`patronage.cases.setup` (or
:mod:`patronage.api_keys`) and redirects back with a notice, or shows the page again with the
reason in the reader's language. What the pages show comes from
:mod:`patronage.reporting.desk_settings`. A new API key is shown once, in the answer to the form
that created it (never in a URL), and only its hash is stored.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage import api_keys
from patronage.cases import setup
from patronage.messages import N_, UserError
from patronage.reporting import desk_settings as shown
from patronage.web.cases import readable
from patronage.web.deps import check_csrf, form_fields, language_of, render, require_user

router = APIRouter(prefix="/desk")
CSRF = [Depends(check_csrf)]
DONE = {
    "team": N_("The team was added."), "member": N_("The member was added to the team."),
    "member_off": N_("The member was taken out of the team."),
    "people": N_("The team's lead and manager were saved."),
    "category": N_("The category was added."), "renamed": N_("The category was renamed."),
    "category_off": N_("The category was switched off."),
    "category_on": N_("The category was switched on."),
    "policy": N_("The policy was added."), "policy_off": N_("The policy was switched off."),
    "day": N_("The company's day was saved."), "rule": N_("The assignment rule was added."),
    "rule_off": N_("The assignment rule was removed."), "revoked": N_("The key was revoked."),
}


def _engine(request: Request):
    return request.app.state.engine


def _today(timezone: str | None):
    return datetime.now(ZoneInfo(timezone) if timezone else None).date()


def _section(request: Request, section: str) -> dict:
    engine, language = _engine(request), language_of(request)
    settings = request.app.state.settings
    return {"teams": lambda: shown.teams_page(engine),
            "categories": lambda: shown.categories_page(engine, language),
            "levels": lambda: shown.levels_page(engine, language),
            "days": lambda: shown.days_page(engine, settings, _today(settings.timezone)),
            "routing": lambda: shown.routing_page(engine, language),
            "keys": lambda: shown.keys_page(engine, settings.timezone)}[section]()


def _page(request: Request, section: str, status: int = 200, **context):
    return render(request, f"desk_{section}.html", status, **_section(request, section),
                  section=section, sections=shown.SECTIONS, form=context.pop("form", {}),
                  **context)


def _act(request: Request, section: str, done: str, action, form: dict):
    """Run ``action()`` for an admin; back to the section with a notice, or the reason."""
    require_user(request, "admin")
    try:
        action()
    except UserError as exc:
        return _page(request, section, 400, error=readable(exc), form=form)
    return RedirectResponse(f"/desk/{section}?done={done}", status_code=303)


def _text(form: dict, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _number(form: dict, name: str) -> int:
    value = _text(form, name)
    if not value.isdigit():
        raise UserError(N_("The form is incomplete; load the page again."))
    return int(value)


@router.get("")
def desk_home(request: Request):
    require_user(request, "admin")
    return RedirectResponse("/desk/teams", status_code=303)


@router.get("/{section}")
def section_page(request: Request, section: str, done: str = ""):
    require_user(request, "admin")
    if section not in dict(shown.SECTIONS):
        raise HTTPException(404)
    return _page(request, section, done=UserError(DONE[done]) if done in DONE else None)


# -- teams ---------------------------------------------------------------------------------------

@router.post("/teams", dependencies=CSRF)
def add_team(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "teams", "team", lambda: setup.add_team(
        _engine(request), _text(form, "name"), lead=_text(form, "lead") or None,
        manager=_text(form, "manager") or None), form)


@router.post("/teams/members", dependencies=CSRF)
def change_member(request: Request, form: dict = Depends(form_fields)):
    remove = _text(form, "action") == "remove"

    def action():
        if not _text(form, "email"):
            raise UserError(N_("Choose a staff member."))
        (setup.remove_member if remove else setup.add_member)(
            _engine(request), _text(form, "team"), _text(form, "email"))
    return _act(request, "teams", "member_off" if remove else "member", action, form)


@router.post("/teams/people", dependencies=CSRF)
def set_people(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "teams", "people", lambda: setup.set_team_people(
        _engine(request), _text(form, "team"), lead=_text(form, "lead") or None,
        manager=_text(form, "manager") or None), form)


# -- categories ----------------------------------------------------------------------------------

@router.post("/categories", dependencies=CSRF)
def add_category(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "categories", "category", lambda: setup.add_category(
        _engine(request), _text(form, "code"), en=_text(form, "en"),
        zh_hans=_text(form, "zh_hans"), zh_hant=_text(form, "zh_hant"),
        parent=_text(form, "parent") or None,
        position=shown.position_of(_text(form, "position"))), form)


@router.post("/categories/rename", dependencies=CSRF)
def rename_category(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "categories", "renamed", lambda: setup.rename_category(
        _engine(request), _text(form, "code"), en=_text(form, "en"),
        zh_hans=_text(form, "zh_hans"), zh_hant=_text(form, "zh_hant")), {})


@router.post("/categories/active", dependencies=CSRF)
def switch_category(request: Request, form: dict = Depends(form_fields)):
    on = _text(form, "active") == "1"
    return _act(request, "categories", "category_on" if on else "category_off",
                lambda: setup.set_category_active(_engine(request), _text(form, "code"), on), {})


# -- service levels and working days -------------------------------------------------------------

@router.post("/levels", dependencies=CSRF)
def add_policy(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "levels", "policy", lambda: setup.add_policy(
        _engine(request), _text(form, "name"),
        first_response_minutes=shown.minutes_of(form.get("first_response"),
                                                N_("first response target")),
        resolution_minutes=shown.minutes_of(form.get("resolution"), N_("resolution target")),
        warn_minutes=shown.minutes_of(form.get("warn"), N_("warning"), allow_zero=True),
        severity=_text(form, "severity") or None, category=_text(form, "category") or None,
        escalation=shown.escalation_of(form)), form)


@router.post("/levels/off", dependencies=CSRF)
def switch_policy_off(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "levels", "policy_off", lambda: setup.set_policy_active(
        _engine(request), _number(form, "id"), False), {})


@router.post("/days", dependencies=CSRF)
def set_day(request: Request, form: dict = Depends(form_fields)):
    kind = _text(form, "kind")

    def action():
        if kind not in ("workday", "off", "official"):
            raise UserError(N_("Choose whether the day is worked."))
        setup.set_business_day(_engine(request), shown.day_of(_text(form, "day")),
                               None if kind == "official" else kind == "workday",
                               _text(form, "name") or None)
    return _act(request, "days", "day", action, form)


# -- assignment rules ----------------------------------------------------------------------------

@router.post("/routing", dependencies=CSRF)
def add_rule(request: Request, form: dict = Depends(form_fields)):
    key = {"yes": True, "no": False}.get(_text(form, "key_account"))
    return _act(request, "routing", "rule", lambda: setup.add_assignment_rule(
        _engine(request), team=_text(form, "team") or None, owner=_text(form, "owner") or None,
        category=_text(form, "category") or None, region=_text(form, "region")[:100] or None,
        key_account=key, position=shown.position_of(_text(form, "position"))), form)


@router.post("/routing/remove", dependencies=CSRF)
def remove_rule(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "routing", "rule_off", lambda: setup.remove_assignment_rule(
        _engine(request), _number(form, "id")), {})


# -- API keys ------------------------------------------------------------------------------------

@router.post("/keys", dependencies=CSRF)
def create_key(request: Request, form: dict = Depends(form_fields)):
    """The new key is shown once, in this answer; it is not cached and never in a URL."""
    user = require_user(request, "admin")
    scopes = form.get("scopes") or []
    scopes = [scopes] if isinstance(scopes, str) else scopes
    try:
        key = api_keys.create_key(_engine(request), _text(form, "name"), scopes, by=user["id"])
    except UserError as exc:
        return _page(request, "keys", 400, error=readable(exc),
                     form={"name": _text(form, "name"), "scopes": scopes})
    response = render(request, "desk_key_created.html", 201, key=key, name=_text(form, "name"),
                      section="keys", sections=shown.SECTIONS)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/keys/revoke", dependencies=CSRF)
def revoke_key(request: Request, form: dict = Depends(form_fields)):
    return _act(request, "keys", "revoked", lambda: api_keys.revoke_key(
        _engine(request), _text(form, "name")), {})


__all__ = ["router"]
