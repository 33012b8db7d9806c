"""Pages for the agents' care work: today, overdue and team task lists, the call screen with its outcome form, follow-up rules and the care report."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
