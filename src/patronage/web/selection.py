"""Turning a selection of customers on any list into work: tasks, cases or a targeted survey."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
