"""Pages for the customer 360 profile: header, timeline, edits, notes and the actions that start work, and turning a selection of customers into work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
