"""The membership panel of a customer's profile: card, tier, points, what expires next, tier
history and the latest point movements (filled in by the membership work)."""

from __future__ import annotations

from sqlalchemy import Engine


def membership_panel(engine: Engine, customer_pk: int, language: str = "en") -> dict | None:
    """The panel's figures for a member, or None when the customer is not a member."""
    return None


__all__ = ["membership_panel"]
