"""The JSON API (same session as the pages; read-only so far)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from patronage.reporting import customer_list, customer_profile, overview
from patronage.surveys.field import field_summary
from patronage.web.deps import require_user

router = APIRouter(prefix="")


@router.get("/health")
def health(request: Request):
    """Liveness and database reachability (no login needed)."""
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return {"status": "ok", "database": "ok"}


@router.get("/api/overview")
def api_overview(request: Request, survey: str | None = None):
    require_user(request, "admin", "analyst")
    return overview(request.app.state.engine, survey).to_dict()


@router.get("/api/customers")
def api_customers(request: Request, q: str = "", page: int = 1):
    require_user(request)
    listing = customer_list(request.app.state.engine, search=q, page=page)
    frame = listing.customers.astype(object).where(listing.customers.notna(), None)
    rows = [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
    return {"total": listing.total, "page": listing.page, "pages": listing.pages,
            "customers": rows}


@router.get("/api/customers/{customer_pk}")
def api_customer(request: Request, customer_pk: int):
    require_user(request)
    profile = customer_profile(request.app.state.engine, customer_pk)
    if profile is None:
        raise HTTPException(404)
    return profile.to_dict()


@router.get("/api/surveys/{code}/field")
def api_field(request: Request, code: str, wave: str | None = None):
    """The survey's field work (funnel, responses lately, by wave and stratum): what the
    survey page's live dashboard polls."""
    require_user(request, "admin", "analyst")
    try:
        return field_summary(request.app.state.engine, code, wave)
    except ValueError:
        raise HTTPException(404) from None
