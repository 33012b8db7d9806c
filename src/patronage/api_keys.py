"""API keys for integrations (a hotline, a ticketing system, a data warehouse).

An admin creates a named key with scopes; the key is shown once and only its SHA-256 is stored.
A request presents it as ``Authorization: Bearer <key>``: it then needs no login and no CSRF token
(it carries no cookie a browser could be tricked into sending), and is rate-limited per key.
A revoked key stops working at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_cases import api_keys

SCOPES = {
    "actions:read": N_("read improvement actions"),
    "cases:read": N_("read cases"),
    "cases:write": N_("open cases"),
    "customers:read": N_("read customers"),
    "members:read": N_("read members' points"),
    "members:redeem": N_("redeem members' points"),
    "sms:inbound": N_("receive replies to text messages"),
}
PREFIX = "pat_"
_TOUCH_EVERY = timedelta(minutes=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(engine: Engine, name: str, scopes: list[str], *, by: int | None = None) -> str:
    """A new key (returned once: store it in the integration, it cannot be shown again)."""
    name = (name or "").strip()
    if not name or len(name) > 100 or "\x00" in name:
        raise UserError(N_("Give the key a name of 1 to 100 characters."))
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise UserError(N_("Choose scopes among {known}; not {given}."),
                        known=", ".join(SCOPES), given=", ".join(unknown) or "-")
    key = PREFIX + secrets.token_urlsafe(32)
    try:
        with write_transaction(engine) as conn:
            conn.execute(insert(api_keys).values(
                name=name, prefix=key[:12], key_hash=_digest(key), scopes=sorted(set(scopes)),
                created_by=by, created_at=_now()))
    except IntegrityError:
        raise UserError(N_("A key named {name!r} exists already."), name=name) from None
    return key


def revoke_key(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        done = conn.execute(update(api_keys)
                            .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                            .values(revoked_at=_now())).rowcount
    if not done:
        raise UserError(N_("There is no active key named {name!r}."), name=name)


def list_keys(engine: Engine) -> list[dict[str, Any]]:
    """Every key without its secret: name, prefix, scopes, dates."""
    k = api_keys.c
    with engine.connect() as conn:
        rows = conn.execute(select(k.id, k.name, k.prefix, k.scopes, k.created_at,
                                   k.last_used_at, k.revoked_at).order_by(k.id)).mappings().all()
    return [dict(r) for r in rows]


def authenticate(engine: Engine, presented: str | None) -> dict[str, Any] | None:
    """The active key ``presented`` (``id, name, scopes``), or None."""
    if not presented or not presented.startswith(PREFIX) or len(presented) > 200:
        return None
    k = api_keys.c
    with engine.connect() as conn:
        row = conn.execute(select(k.id, k.name, k.scopes, k.last_used_at)
                           .where(k.key_hash == _digest(presented), k.revoked_at.is_(None))) \
            .mappings().first()
    if row is None:
        return None
    now = _now()
    if row["last_used_at"] is None or now - row["last_used_at"] >= _TOUCH_EVERY:
        with write_transaction(engine) as conn:
            conn.execute(update(api_keys).where(k.id == row["id"]).values(last_used_at=now))
    return {"id": row["id"], "name": row["name"], "scopes": list(row["scopes"])}


__all__ = ["PREFIX", "SCOPES", "authenticate", "create_key", "list_keys", "revoke_key"]
