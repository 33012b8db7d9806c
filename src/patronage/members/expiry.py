"""Points expiry by the programme's policy, oldest points first (the expiry job)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine


def run_expiry(engine: Engine, *, now: datetime | None = None) -> int:
    """Expire every point whose day has come; returns how many members lost points."""
    return 0


__all__ = ["run_expiry"]
