"""Earning points from imported transactions, exactly once per transaction (the accrual job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine


def run_accrual(engine: Engine, *, now: datetime | None = None) -> int:
    """Earn the points of every transaction not yet accrued; returns how many were."""
    return 0


__all__ = ["run_accrual"]
