"""The programme's analytics page: members, earn and burn, liability and breakage, tier migration, incrementality and loyalty types."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

__all__ = ["router"]
