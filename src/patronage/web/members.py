"""The membership programme's pages: the member list, the programme's policy and tiers, enrolment."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

__all__ = ["router"]
