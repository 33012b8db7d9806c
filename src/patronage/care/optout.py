"""Opting out of care messages: signed links in e-mail, replies to text messages.

An opt-out link carries ``{customer id}.{HMAC-SHA256 of the id}`` keyed with the ``secret_key``
setting, so no table of tokens is needed and nobody can make a link for another customer without
the key (changing the key makes the links already sent stop working). Opting out sets
``consent_care`` false and ``preferences.opted_out`` to the time, logs a contact of kind
``opt_out`` (direction in) and cancels the customer's care messages still waiting to leave.
"""

from __future__ import annotations

import hashlib
import hmac


def _secret(settings=None) -> bytes:
    if settings is None:
        from patronage.settings import Settings
        settings = Settings()
    return settings.secret_key.encode("utf-8")


def optout_token(customer_id: int, settings=None) -> str:
    """The opt-out token of a customer: ``"{id}.{hex HMAC}"``."""
    digest = hmac.new(_secret(settings), f"optout:{int(customer_id)}".encode(),
                      hashlib.sha256).hexdigest()
    return f"{int(customer_id)}.{digest}"


def verify_token(token: str | None, settings=None) -> int | None:
    """The customer id of a genuine token, else None."""
    if not token or len(token) > 100 or "." not in token:
        return None
    head = token.split(".", 1)[0]
    if not head.isdigit() or len(head) > 18:
        return None
    expected = optout_token(int(head), settings)
    return int(head) if hmac.compare_digest(expected.encode(), token.encode()) else None


def optout_link(customer_id: int, settings=None) -> str:
    """The public opt-out address of a customer: ``{public base}/u/{token}``."""
    if settings is None:
        from patronage.settings import Settings
        settings = Settings()
    return f"{settings.survey_base_url().rstrip('/')}/u/{optout_token(customer_id, settings)}"
