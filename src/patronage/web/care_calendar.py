"""Pages for the care calendar: occasions, festivals and greetings, and the customer-facing opt-out page."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
