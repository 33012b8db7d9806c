"""Tiers (VIP cards): upgrades at once, reviews with a grace period, privileges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine


def run_reviews(engine: Engine, *, now: datetime | None = None) -> int:
    """Review the tiers that are due; returns how many members changed tier."""
    return 0




def upgrade_now(conn, member_ids, *, on, now=None) -> int:
    """Move each of ``member_ids`` up to the best tier they qualify for on ``on`` (upgrades
    happen at once; downgrades only at review); returns how many moved up."""
    return 0


__all__ = ["run_reviews", "upgrade_now"]
