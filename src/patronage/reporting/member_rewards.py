"""Rewards as the pages show them: the catalogue, and the rewards a member can redeem now."""

from __future__ import annotations

from sqlalchemy import Engine


def redeem_choices(engine: Engine, customer_pk: int, language: str = "en") -> dict | None:
    """What the profile's redemption form offers the member, or None for a non-member."""
    return None


__all__ = ["redeem_choices"]
