"""The application factory."""

from __future__ import annotations

import gc
import logging
import threading
from contextlib import asynccontextmanager
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from patronage.labels import LabelCache
from patronage.messages import N_
from patronage.reporting.page_cache import PageCache
from patronage.sessions import AttemptLimiter
from patronage.settings import Settings
from patronage.storage import DataVersion, make_engine
from patronage.surveys.intake import SubmissionIntake
from patronage.web import (
    api, api_cases, care, care_accounts, care_calendar, cases, comments, customer_pages, dashboards,
    desk_admin, imports, labels,
    members, members_report, members_rewards, members_rules, pages, public, reports, selection,
    staff, survey_admin,
)
from patronage.web import actions as action_pages
from patronage.web import analysis as analysis_pages
from patronage.web import overview as overview_pages
from patronage.web import standards as standard_pages
from patronage.web import chain as chain_pages
from patronage.web import api_actions
from patronage.web import compare as compare_pages
from patronage.web import saved_views, warming
from patronage.web.assets import IMMUTABLE, Assets
from patronage.web.compressed import GzippedFile, compressed_static
from patronage.web.deps import (
    CSRFFailed, Forbidden, LoginRequired, PasswordChangeRequired, login_url, render,
)
from patronage.web.formatting import install as install_formatting
from patronage.web.guard import RequestGuard
from patronage.web.kept_pages import KeptPages
from patronage.web.prepared import RECENT_VISIT_SECONDS, PageWarmer
from patronage.web.serving import redact
from patronage.web.i18n import load_translations

log = logging.getLogger("patronage.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _plotly_js() -> Path:
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


_FROZEN = threading.Event()


def _freeze_startup_objects() -> None:
    """Move what start-up built out of the cyclic garbage collector's reach, once per process.

    The modules behind the analytics (pandas, SciPy, Plotly, SQLAlchemy) leave about 175,000
    tracked objects; a full collection over them took 80-140 ms and ran every second or two
    under submission load, where it set the p99 latency. ``gc.freeze`` (after one collection,
    so no garbage is kept) excludes them from later collections; they live for the whole
    process anyway.
    """
    if not _FROZEN.is_set():
        _FROZEN.set()
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the web application for ``settings`` (default: from the environment).

    The database engine is created here and disposed when the application shuts down.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        _freeze_startup_objects()
        warmer = _page_warmer(app)
        yield
        if warmer is not None:
            warmer.stop()
        for cache in (app.state.page_cache, app.state.standard_pages, app.state.care_reports):
            cache.close()
        app.state.intake.close()
        app.state.engine.dispose()

    app = FastAPI(title="Patronage", lifespan=lifespan, docs_url="/api/docs", redoc_url=None,
                  openapi_url="/api/openapi.json")
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url,
                                   busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    app.state.intake = SubmissionIntake(app.state.engine)
    app.state.data_version = DataVersion(app.state.engine)
    app.state.page_cache = PageCache(app.state.data_version)
    # Pages whose figures come from tables beyond the panel: kept per data version of those.
    app.state.standard_pages = PageCache(DataVersion(app.state.engine,
                                                     standard_pages.STANDARD_TABLES))
    app.state.care_reports = PageCache(DataVersion(app.state.engine, care.REPORT_TABLES))
    app.state.kept_pages = KeptPages()
    app.state.translations = load_translations()
    app.state.templates = Jinja2Templates(directory=str(files("patronage.web") / "templates"))
    install_formatting(app.state.templates.env)
    cases.install(app.state.templates.env)
    care.install(app.state.templates.env)
    labels.install(app.state.templates.env)
    saved_views.install(app.state.templates.env)
    app.state.labels = LabelCache(app.state.engine,
                                  DataVersion(app.state.engine, ("category_labels",)))
    app.state.login_limiter = AttemptLimiter(settings.login_attempts_per_hour)
    app.state.submission_limiter = AttemptLimiter(settings.public_submissions_per_minute, 60.0)
    app.state.link_miss_limiter = AttemptLimiter(settings.public_link_misses_per_minute, 60.0)
    app.state.api_key_limiter = AttemptLimiter(settings.api_requests_per_minute, 60.0)
    app.state.draft_limiter = AttemptLimiter(settings.public_new_drafts_per_hour)
    app.mount("/static", compressed_static(str(files("patronage.web") / "static")),
              name="static")
    app.state.plotly_js = GzippedFile(_plotly_js(), "text/javascript")
    app.state.assets = Assets(Path(str(files("patronage.web") / "static")), version("plotly"))
    app.state.assets.install(app.state.templates.env)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_bundle(request: Request):
        return app.state.plotly_js.response(request)

    @app.get("/vendor/plotly-{release}.min.js", include_in_schema=False)
    def versioned_plotly_bundle(request: Request, release: str):
        current = release == app.state.assets.plotly_version
        return app.state.plotly_js.response(request, IMMUTABLE if current else None)

    app.include_router(customer_pages.router)
    app.include_router(pages.router)
    app.include_router(analysis_pages.router)
    app.include_router(overview_pages.router)
    app.include_router(dashboards.router)
    app.include_router(comments.router)
    app.include_router(compare_pages.router)
    app.include_router(saved_views.router)
    app.include_router(action_pages.router)
    app.include_router(standard_pages.router)
    app.include_router(chain_pages.router)
    app.include_router(api_actions.router)
    app.include_router(reports.router)
    app.include_router(api.router)
    app.include_router(api_cases.router)
    app.include_router(survey_admin.router)
    app.include_router(labels.router)
    app.include_router(imports.router)
    app.include_router(staff.router)
    app.include_router(cases.router)
    app.include_router(desk_admin.router)
    app.include_router(care.router)
    app.include_router(care_calendar.router)
    app.include_router(care_accounts.router)
    app.include_router(members.router)
    app.include_router(members_rewards.router)
    app.include_router(members_rules.router)
    app.include_router(members_report.router)
    app.include_router(selection.router)
    app.include_router(public.router)
    _install_handlers(app)
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_request_bytes, error=_error)
    app.add_middleware(SecurityHeaders, assets=app.state.assets)
    return app


def _page_warmer(app: FastAPI) -> PageWarmer | None:
    """Prepare the overview, analysis and loyalty pages in every language at start-up, and after
    a change of the data those visited recently, so that visits find them ready (and compress
    the Plotly bundle)."""
    interval = app.state.settings.warm_pages_seconds
    if not interval:
        return None
    cache = app.state.page_cache

    def jobs(first: bool):  # at start-up all of them, later those visited recently
        return [job for job in (warming.default_jobs(app) + dashboards.default_jobs(app)
                                + cases.default_jobs(app))
                if first or cache.visited_within(job.page, job.params, RECENT_VISIT_SECONDS)]

    app.state.page_warmer = PageWarmer(
        app.state.data_version, jobs,
        lambda job: cache.prepared(job.page, job.params, job.compute, group=job.group,
                                   visit=False),
        interval=interval, before=app.state.plotly_js.compressed)
    return app.state.page_warmer.start()


_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, ``no-store`` on pages and
    API answers, the cache lifetime of static files (see :mod:`patronage.web.assets`), and an
    error page instead of a traceback when a request fails."""

    def __init__(self, app, assets: Assets):
        self.app = app
        self.assets = assets

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        cacheable = path.startswith("/vendor/") or path.startswith("/static/")
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in _HEADERS if k not in present]
                if (path.startswith("/static/") and message["status"] in (200, 304)
                        and b"cache-control" not in present):
                    query = scope.get("query_string", b"").decode("latin-1")
                    control = self.assets.static_cache_control(path, query)
                    headers.append((b"cache-control", control.encode()))
                elif ((not cacheable or message["status"] >= 400)
                      and b"cache-control" not in present):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # never a traceback to a user
            log.exception("unhandled error on %s %s", scope.get("method"), redact(path))
            if started:
                raise
            response = _error(Request(scope), 500)
            await response(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/health"


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc):
        if _wants_json(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        return RedirectResponse(login_url(request), status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, _exc):
        if _wants_json(request):
            return JSONResponse({"error": "change your password first"}, status_code=403)
        return RedirectResponse(staff.password_change_url(request), status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _exc):
        return _error(request, 403)

    @app.exception_handler(CSRFFailed)
    async def csrf_failed(request: Request, _exc):
        return _error(request, 403, "csrf")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error(request, exc.status_code)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError):
        # A lock held beyond the busy timeout, a full disk, a lost PostgreSQL connection: the
        # request did nothing (its transaction rolled back), so it is safe to send again.
        log.warning("database unavailable on %s %s: %s", request.method,
                    redact(request.url.path), exc.orig)
        response = _error(request, 503)
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(DataError)
    @app.exception_handler(UnicodeEncodeError)
    @app.exception_handler(OverflowError)
    async def database_refused_text(request: Request, exc: Exception):
        # A value the driver cannot send (a NUL for PostgreSQL, an unpaired surrogate, a number
        # beyond 64 bits for SQLite): input checks keep most out; whatever slips through is
        # the client's bad request, not a 500.
        log.warning("the database refused a value on %s %s: %s", request.method,
                    redact(request.url.path), exc)
        return _error(request, 400)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        if _wants_json(request):
            fields = ["/".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
            return JSONResponse({"error": "invalid request", "fields": fields}, status_code=422)
        return _error(request, 422)


_MESSAGES = {
    400: N_("The request was not understood. Check the address and the form fields."),
    413: N_("The request is too large. Send less at a time."),
    "csrf": N_("The form has expired. Go back, reload the page and try again."),
    401: N_("Log in first."),
    403: N_("Your role does not allow this page."),
    404: N_("There is no such page."),
    405: N_("This address does not accept that kind of request."),
    409: N_("This answer was sent with an identifier already used for another survey link. "
            "Nothing was saved: reload the survey page and send it again."),
    422: N_("The request was not understood. Check the address and the form fields."),
    429: N_("Too many attempts. Wait a while and try again."),
    503: N_("The service is busy. Nothing was saved; please try again in a moment."),
    500: N_("Something went wrong on our side. The error was logged; please try again."),
}


def _error(request: Request, status: int, key=None):
    message = _MESSAGES.get(key or status, "The request could not be completed.")
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    try:
        if public.is_public(request):  # a respondent: no staff menu, the survey's language
            return public.error_page(request, status, message)
        return render(request, "error.html", status_code=status, status=status, message=message)
    except Exception:  # the error page itself must not fail
        log.exception("error page failed")
        return JSONResponse({"error": message}, status_code=status)
