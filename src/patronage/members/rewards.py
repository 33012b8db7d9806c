"""The rewards catalogue and redemptions."""

from __future__ import annotations


def give_free(conn, member_id: int, reward_code: str, *, source_key: str, now=None) -> int | None:
    """Give the member one ``reward_code`` at no points (a tier's gift), once per
    ``source_key``; returns the redemption id, or None when given already or out of stock."""
    return None


__all__ = ["give_free"]
