"""Pages for key accounts, lost customers and win-back campaigns."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
