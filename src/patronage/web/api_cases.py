"""The case desk's JSON API, for a hotline or a ticketing system: open a case, read one, list
them. Callers use an API key (``Authorization: Bearer pat_...``) or a staff session (then a
state-changing request needs the ``X-CSRF-Token`` header, like every form)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from patronage.cases.config import DeskConfig
from patronage.cases.desk import NewCase, case_detail, open_case
from patronage.cases.queues import list_cases_by_name
from patronage.messages import UserError
from patronage.web.deps import ApiCaller
from patronage.web.guard import json_object

router = APIRouter(prefix="/api/cases")
FIELDS = ("customer", "subject", "description", "type", "category", "severity", "contact",
          "touchpoint_kind", "touchpoint", "external_ref", "owner", "team")


_Caller = ApiCaller


def _error(exc: UserError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=422)


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


@router.post("", status_code=201)
def api_open_case(request: Request, caller: dict = Depends(_Caller("cases:write", write=True)),
                  payload: dict = Depends(json_object)):
    """Open a case; ``external_ref`` makes retries safe (the same reference, the same case)."""
    unknown = sorted(set(payload) - set(FIELDS) - {"channel"})
    if unknown:
        return JSONResponse({"error": f"unknown field(s): {', '.join(unknown)}",
                             "fields": unknown}, status_code=422)
    values = {k: (None if payload.get(k) is None else str(payload[k])) for k in FIELDS}
    values["subject"] = values["subject"] or ""
    new = NewCase(**{k: v for k, v in values.items() if v is not None or k == "customer"},
                  channel=str(payload.get("channel") or "api"))
    config = DeskConfig.from_settings(request.app.state.settings)
    try:
        number = open_case(request.app.state.engine, new, by=caller["user_id"], config=config)
    except UserError as exc:
        return _error(exc)
    detail = case_detail(request.app.state.engine, number)
    return JSONResponse({"number": number, "status": detail["status"],
                         "url": f"/cases/{number}"}, status_code=201)


@router.get("")
def api_list_cases(request: Request, status: str = "open", owner: str | None = None,
                   team: str | None = None, customer: str | None = None, breached: bool = False,
                   caller: dict = Depends(_Caller("cases:read", write=False))):
    try:
        frame = list_cases_by_name(request.app.state.engine, status=status, owner=owner,
                                   team=team, customer=customer, breached=breached)
    except UserError as exc:
        return _error(exc)
    rows = frame.drop(columns=["customer_pk"]).astype(object).where(frame.notna(), None)
    return {"cases": [_jsonable(r) for r in rows.to_dict(orient="records")]}


@router.get("/{number}")
def api_case(request: Request, number: str,
             caller: dict = Depends(_Caller("cases:read", write=False))):
    try:
        detail = case_detail(request.app.state.engine, number)
    except UserError:
        raise HTTPException(404) from None
    detail["events"] = [_jsonable(e) for e in detail["events"]]
    return _jsonable(detail)
