"""The improvement actions' JSON API, read-only: the actions with their measured effect, and one
action with its history. Callers use an API key with the ``actions:read`` scope
(``Authorization: Bearer pat_...``) or a staff session."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse

from patronage.actions.board import board, detail
from patronage.messages import UserError
from patronage.web.deps import ApiCaller

router = APIRouter(prefix="/api/actions")
FIELDS = ("id", "title", "status", "group", "due_on", "late", "owner_email", "team", "budget",
          "source", "source_ref", "survey", "metric_kind", "metric_code", "segment",
          "target_change", "baseline_wave", "baseline_until", "created_at", "updated_at")
EFFECT = ("method", "change", "ci_low", "ci_high", "p_value", "before", "after", "n_before",
          "n_after", "other_before", "other_after", "n_other_before", "n_other_after")


def _value(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value != value:
        return None
    return value


def _json(row: dict) -> dict:
    found = {key: _value(row.get(key)) for key in FIELDS}
    effect = row["effect"]
    found["effect"] = None if effect is None else {
        **{key: _value(getattr(effect, key)) for key in EFFECT},
        "intervals": {name: [_value(low), _value(high)]
                      for name, (low, high) in effect.intervals.items()},
        "significant": effect.significant(), "achieved": row["measurement"].achieved,
        "small_sample": row["measurement"].small,
        "before_label": row["measurement"].before_label,
        "after_label": row["measurement"].after_label,
        "unit": row["measurement"].unit or None}
    found["sentence"] = row["sentence"]
    return found


def _min_sample(request: Request) -> int:
    return int(request.app.state.settings.min_sample)


@router.get("")
def api_list_actions(request: Request, status: str | None = None, owner: str | None = None,
                     team: str | None = None, group: str | None = None,
                     caller: dict = Depends(ApiCaller("actions:read", write=False))):
    """The actions (soonest due first) with their measured effect, the sentence in English."""
    try:
        shown = board(request.app.state.engine, status=status, owner=owner, team=team,
                      group=group, min_sample=_min_sample(request))
    except UserError as exc:
        return JSONResponse({"error": str(exc)}, status_code=422)
    return {"actions": [_json(row) for row in shown["rows"]], "counts": shown["counts"]}


@router.get("/{number}")
def api_action(request: Request, number: str,
               caller: dict = Depends(ApiCaller("actions:read", write=False))):
    try:
        row = detail(request.app.state.engine, number, min_sample=_min_sample(request))
    except UserError:
        raise HTTPException(404) from None
    return {**_json(row), "history": [{key: _value(value) for key, value in event.items()}
                                      for event in row["history"]]}


__all__ = ["router"]
