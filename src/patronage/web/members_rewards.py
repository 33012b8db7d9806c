"""The rewards catalogue, redemption on a member's profile and by the API, and cancellation."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

__all__ = ["router"]
