"""Staff accounts on the web: the Users page (admins) and "Change my password" (everyone).

Each route checks the role, calls :mod:`patronage.staff` or :mod:`patronage.accounts` and shows
the Users page again with what happened, or with the reason it did not, in the reader's language.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage import staff
from patronage.accounts import WrongPassword, change_password, create_user
from patronage.messages import N_, UserError
from patronage.passwords import MIN_PASSWORD_LENGTH, one_time_password
from patronage.sessions import renew_session
from patronage.storage.schema import USER_ROLES
from patronage.web.deps import (
    SESSION_COOKIE,
    check_csrf,
    gettext_for,
    render,
    require_user,
    safe_next,
    set_session_cookie,
)

router = APIRouter()
CSRF = [Depends(check_csrf)]
ADMIN = "admin"


def password_change_url(request: Request) -> str:
    """Where a user whose password was reset goes first (then back to the page they asked for)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    back = back if request.method == "GET" else "/"
    return "/account/password?next=" + quote(back, safe="")


def _users(request: Request, status: int = 200, **context):
    """The Users page with ``context`` (what was done, an error, a one-time password, the form)."""
    return render(request, "users.html", status, users=staff.user_table(request.app.state.engine),
                  roles=USER_ROLES, minimum=MIN_PASSWORD_LENGTH, form=context.pop("form", {}),
                  **context)


@router.get("/users")
def users_page(request: Request):
    require_user(request, ADMIN)
    return _users(request)


@router.post("/users", dependencies=CSRF)
def add_user(request: Request, email: str = Form(""), name: str = Form(""),
             role: str = Form("analyst"), password: str = Form("")):
    require_user(request, ADMIN)
    temporary = password or one_time_password()
    try:
        create_user(request.app.state.engine, email, temporary, role, display_name=name,
                    must_change_password=True)
    except UserError as exc:
        return _users(request, 400, error=exc, form={"email": email, "name": name, "role": role})
    address = email.strip().lower()
    return _users(request, done=UserError(N_(
        "Created the account {email}. They choose their own password at the first login."),
        email=address), one_time=None if password else temporary, one_time_for=address)


def _act(request: Request, action, done: str, **values):
    """Run ``action()`` for the admin; the page shows ``done`` (filled with ``values`` and
    the action's result as ``count``) or why the action was refused."""
    try:
        result = action()
    except staff.NoSuchUser:
        raise HTTPException(404) from None
    except UserError as exc:
        return _users(request, 400, error=exc)
    return _users(request, done=UserError(done, count=result, **values))


def _email(request: Request, user_id: int) -> str:
    for row in staff.user_table(request.app.state.engine):
        if row["id"] == user_id:
            return row["email"]
    raise HTTPException(404)


@router.post("/users/{user_id}/role", dependencies=CSRF)
def change_role(request: Request, user_id: int, role: str = Form("")):
    me = require_user(request, ADMIN)
    engine = request.app.state.engine
    return _act(request, lambda: staff.set_role(engine, user_id, role, actor_id=me["id"]),
                N_("{email} now has the role {role}."), email=_email(request, user_id),
                role=gettext_for(request)(role))


@router.post("/users/{user_id}/deactivate", dependencies=CSRF)
def deactivate_user(request: Request, user_id: int):
    me = require_user(request, ADMIN)
    engine = request.app.state.engine
    return _act(request, lambda: staff.deactivate(engine, user_id, actor_id=me["id"]),
                N_("{email} is deactivated and cannot log in; {count} open sessions ended."),
                email=_email(request, user_id))


@router.post("/users/{user_id}/activate", dependencies=CSRF)
def activate_user(request: Request, user_id: int):
    me = require_user(request, ADMIN)
    engine = request.app.state.engine
    return _act(request, lambda: staff.activate(engine, user_id, actor_id=me["id"]),
                N_("{email} can log in again."), email=_email(request, user_id))


@router.post("/users/{user_id}/reset-password", dependencies=CSRF)
def reset_user_password(request: Request, user_id: int, password: str = Form("")):
    me = require_user(request, ADMIN)
    email = _email(request, user_id)
    try:
        temporary = staff.reset_password(request.app.state.engine, user_id, password or None,
                                         actor_id=me["id"])
    except UserError as exc:
        return _users(request, 400, error=exc)
    return _users(request, done=UserError(N_(
        "The password of {email} was reset and their sessions ended. They must choose a new "
        "password at the next login."), email=email),
        one_time=None if password else temporary, one_time_for=email)


@router.post("/users/{user_id}/revoke-sessions", dependencies=CSRF)
def revoke_user_sessions(request: Request, user_id: int):
    me = require_user(request, ADMIN)
    engine = request.app.state.engine
    return _act(request, lambda: staff.revoke_sessions(engine, user_id, actor_id=me["id"]),
                N_("{count} sessions of {email} ended; the account stays active."),
                email=_email(request, user_id))


def _password_page(request: Request, user: dict, status: int = 200, **context):
    return render(request, "account_password.html", status, minimum=MIN_PASSWORD_LENGTH,
                  must_change=bool(user.get("must_change_password")), **context)


@router.get("/account/password")
def password_page(request: Request, next: str = "", changed: bool = False):
    user = require_user(request, pending_password=True)
    done = UserError(N_("Your password was changed. Your other sessions have ended."))
    return _password_page(request, user, next=safe_next(next) if next else "",
                          done=done if changed else None)


@router.post("/account/password", dependencies=CSRF)
def change_my_password(request: Request, current: str = Form(""), new: str = Form(""),
                       repeat: str = Form(""), next: str = Form("")):
    user = require_user(request, pending_password=True)
    limiter, key = request.app.state.login_limiter, f"password:{user['id']}"
    back = safe_next(next) if next else ""
    if limiter.blocked(key):
        return _password_page(request, user, 429, next=back, error=UserError(N_(
            "Too many wrong current passwords. Wait an hour or ask an administrator.")))
    try:
        if new != repeat:
            raise UserError(N_("The two new passwords do not match."))
        change_password(request.app.state.engine, user["id"], current, new,
                        keep_session=request.cookies.get(SESSION_COOKIE))
    except WrongPassword as exc:
        limiter.fail(key)
        return _password_page(request, user, 400, next=back, error=exc)
    except UserError as exc:
        return _password_page(request, user, 400, next=back, error=exc)
    response = RedirectResponse(back or "/account/password?changed=1", status_code=303)
    renewed = renew_session(request.app.state.engine, request.cookies.get(SESSION_COOKIE))
    if renewed:  # this browser gets a new session id; a copy of the old cookie opens nothing
        set_session_cookie(request, response, renewed)
    return response


__all__ = ["password_change_url", "router"]
