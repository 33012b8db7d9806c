"""Request helpers shared by pages and the API: user, language, CSRF, rendering."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse

from patronage.messages import translated
from patronage.reporting.saved_views import list_views, page_of_path
from patronage.sessions import new_token, session_user, tokens_match
from patronage.web.i18n import HTML_LANG, LANGUAGES, negotiate

SESSION_COOKIE = "patronage_session"
ANON_CSRF_COOKIE = "patronage_csrf"
LANGUAGE_COOKIE = "patronage_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised when a page needs a logged-in user."""


class Forbidden(Exception):
    """Raised when the user's role does not allow the page."""


class CSRFFailed(Exception):
    """Raised when a state-changing request lacks the right CSRF token."""


class PasswordChangeRequired(Exception):
    """Raised when the user must change a password an admin reset before doing anything else."""


def user_of(request: Request) -> dict | None:
    """The logged-in user of this request (looked up once per request)."""
    if not hasattr(request.state, "user"):
        request.state.user = session_user(request.app.state.engine,
                                          request.cookies.get(SESSION_COOKIE))
    return request.state.user


def require_user(request: Request, *roles: str, pending_password: bool = False) -> dict:
    """The logged-in user, who must have one of ``roles`` when given.

    A user whose password an admin reset may do nothing but change it (``pending_password``
    marks the page where they do).
    """
    user = user_of(request)
    if user is None:
        raise LoginRequired()
    if user.get("must_change_password") and not pending_password:
        raise PasswordChangeRequired()
    if roles and user["role"] not in roles:
        raise Forbidden()
    return user


def language_of(request: Request) -> str:
    settings = request.app.state.settings
    return negotiate(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"),
                     settings.default_language)


def gettext_for(request: Request):
    return request.app.state.translations[language_of(request)].gettext


def expected_csrf(request: Request) -> str | None:
    user = user_of(request)
    if user is not None:
        return user["csrf_token"]
    return request.cookies.get(ANON_CSRF_COOKIE)


async def form_fields(request: Request) -> dict:
    """The posted form as a dict (a field given several times becomes a list).

    A dependency, so that a route using it can be a plain ``def``: FastAPI then runs it in the
    thread pool and its database work never blocks the event loop.
    """
    form = await request.form()
    return {k: (v if len(v) > 1 else v[0]) for k in form.keys() for v in [form.getlist(k)]}


STAFF_ROLES = ("admin", "analyst", "agent")


async def check_csrf(request: Request) -> None:
    """Reject a state-changing request whose CSRF token (form field or header) is wrong."""
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            given = form.get(CSRF_FIELD)
    if not tokens_match(expected_csrf(request), given):
        raise CSRFFailed()


class ApiCaller:
    """Who calls an API route: an API key with ``scope`` (``Authorization: Bearer …``), or a
    logged-in staff member of ``roles`` (CSRF checked on writes). A FastAPI dependency returning
    ``{"key": name, "key_id": id, "user_id": None}`` or ``{"key": None, "key_id": None,
    "user_id": id}``."""

    def __init__(self, scope: str, write: bool, roles: tuple[str, ...] = STAFF_ROLES):
        self.scope, self.write, self.roles = scope, write, roles

    async def __call__(self, request: Request) -> dict:
        from fastapi import HTTPException

        from patronage.api_keys import authenticate

        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            key = authenticate(request.app.state.engine, header[7:].strip())
            if key is None:
                raise HTTPException(401)
            if self.scope not in key["scopes"]:
                raise HTTPException(403)
            if not request.app.state.api_key_limiter.attempt(f"key:{key['id']}"):
                raise HTTPException(429)
            return {"key": key["name"], "key_id": key["id"], "user_id": None}
        user = require_user(request, *self.roles)
        if self.write:
            await check_csrf(request)
        return {"key": None, "key_id": None, "user_id": user["id"]}


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(path, safe="")


def set_session_cookie(request: Request, response, session_id: str) -> None:
    """Put the session id in the hardened cookie (HttpOnly, SameSite, Secure in production)."""
    settings = request.app.state.settings
    response.set_cookie(SESSION_COOKIE, session_id, max_age=settings.session_hours * 3600,
                        httponly=True, samesite="lax", secure=settings.environment == "production")


def _views_shown(request: Request, user: dict) -> tuple:
    """The user's saved views of this page, which its filter bar lists: kept content is
    rendered again when they change (a user's views are not part of the data version)."""
    page = page_of_path(request.url.path)
    if page is None:
        return ()
    return tuple((view["id"], view["name"], view["query"])
                 for view in list_views(request.app.state.engine, user["id"], page))


def render(request: Request, template: str, status_code: int = 200, *,
           kept_as: tuple | None = None, **context) -> HTMLResponse:
    """Render ``template`` with the user, language, translations and CSRF token. ``kept_as``:
    ``(results, key)``, the computed values the page shows and what else its content depends
    on; its content is then rendered once per visitor and kept (see
    :mod:`patronage.web.kept_pages`)."""
    language = language_of(request)
    user = user_of(request)
    anon_token = None
    if user is None:
        anon_token = request.cookies.get(ANON_CSRF_COOKIE) or new_token()
    csrf = user["csrf_token"] if user else anon_token
    base = {
        "request": request, "user": user, "lang": language, "html_lang": HTML_LANG[language],
        "languages": LANGUAGES, "_": request.app.state.translations[language].gettext,
        "csrf_token": csrf, "csrf_field": CSRF_FIELD, "path": request.url.path,
        "say": lambda error: translated(error, request.app.state.translations[language].gettext),
    }
    if kept_as is not None and user is not None:
        results, key = kept_as
        page = request.app.state.templates.env.get_template(template)
        html = request.app.state.kept_pages.render(
            page, {**base, **context}, results,
            (key, language, user["id"], csrf, request.url.path, request.url.query,
             _views_shown(request, user)))
        return HTMLResponse(html, status_code=status_code)
    response = request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code)
    if user is None and request.cookies.get(ANON_CSRF_COOKIE) != anon_token:
        response.set_cookie(ANON_CSRF_COOKIE, anon_token, httponly=True, samesite="strict",
                            secure=request.app.state.settings.environment == "production")
    return response
