"""Refused redemptions kept under their idempotency key, so a key has one answer.

A redemption request names its idempotency key. When the programme's rules refuse it (too few
points, out of stock, over the limit per member, the reward switched off or out of its dates, a
higher tier's reward, the membership closed), the refusal is written to ``redemption_refusals``
in a transaction of its own, after the refused one has rolled back. A retry of the same request
with the same key then gets the same refusal (same reason, same message, in the reader's
language) even if it would now succeed: the caller that wants another try uses a new key. The
same key for another request is a conflict, whether it was first used for a redemption or a
refusal: :func:`replay` looks in both tables.

Keys are unique across the two tables. On SQLite writers take turns anyway; on PostgreSQL every
transaction that may write a key first takes a transaction-level advisory lock on it
(:func:`lock_key`), so a redemption and a refusal under one key cannot be written side by side.

The refusal's message is kept as its English template and values (JSON), so a replay can be
shown in whatever language the retry asks for.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import Connection, insert, select, text

from patronage.messages import N_, UserError
from patronage.storage.schema_members import redemption_refusals, redemptions, rewards

#: First half of the advisory lock's two-number name: the idempotency keys of redemptions.
_KEY_LOCK_CLASS = 7_340_021


class RedemptionRefused(UserError):
    """A redemption the programme's rules do not allow; ``reason`` names the rule for
    programs (``unknown_reward``, ``not_valid``, ``tier``, ``limit``, ``stock``, ``closed``,
    ``quantity``, ``points``); ``replayed`` says the refusal was given before under the same
    key."""

    def __init__(self, reason: str, message: str, *, replayed: bool = False, **params):
        super().__init__(message, **params)
        self.reason = reason
        self.replayed = replayed


class KeyReused(UserError):
    """An idempotency key already used for another request."""


def lock_key(conn: Connection, key: str) -> None:
    """Hold the idempotency key for the rest of the transaction (PostgreSQL; SQLite's writers
    take turns already)."""
    if conn.dialect.name != "postgresql":
        return
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_xact_lock(:kind, :key)"),
                 {"kind": _KEY_LOCK_CLASS, "key": number})


def _conflict(key: str) -> KeyReused:
    return KeyReused(N_("The idempotency key {key!r} was used for another request; use a new "
                        "key for a new redemption."), key=key[:100])


def replay(conn: Connection, key: str, digest: str) -> int | None:
    """The redemption made earlier under ``key`` for the same request (its id), or None when the
    key is new. Raises :class:`KeyReused` when the key was used for another request and the
    earlier :class:`RedemptionRefused` (``replayed``) when the same request was refused."""
    found = conn.execute(select(redemptions.c.id, redemptions.c.request_hash)
                         .where(redemptions.c.idempotency_key == key)).first()
    if found is not None:
        if found[1] != digest:
            raise _conflict(key)
        return int(found[0])
    refused = conn.execute(select(redemption_refusals.c.request_hash,
                                  redemption_refusals.c.reason, redemption_refusals.c.message)
                           .where(redemption_refusals.c.idempotency_key == key)).first()
    if refused is None:
        return None
    if refused[0] != digest:
        raise _conflict(key)
    raise _stored_refusal(refused[1], refused[2])


def _stored_refusal(reason: str, stored: str) -> RedemptionRefused:
    try:
        message = json.loads(stored)
        return RedemptionRefused(reason, str(message["message"]), replayed=True,
                                 **dict(message.get("params") or {}))
    except (ValueError, TypeError, KeyError):  # a message written by hand: shown as it is
        return RedemptionRefused(reason, "{text}", replayed=True, text=stored)


def message_of(error: UserError) -> str:
    """The refusal's message as kept: its English template and values, as JSON."""
    params = {k: v if isinstance(v, int | float | str) else str(v)
              for k, v in error.params.items()}
    return json.dumps({"message": error.message, "params": params}, ensure_ascii=False)


def keep(conn: Connection, error: UserError, *, key: str, digest: str, member_id: int,
         reward_code: str, quantity: int, channel: str, actor_id: int | None,
         api_key_id: int | None, now: datetime) -> int | None:
    """Write the refusal ``error`` under ``key`` on the write connection ``conn`` (which holds
    :func:`lock_key`). Returns the id of a redemption made under the key meanwhile by the same
    request (the key's answer is that one), else None; raises the refusal kept meanwhile, or
    :class:`KeyReused`."""
    made = replay(conn, key, digest)
    if made is not None:
        return made
    reward_id = conn.execute(select(rewards.c.id).where(rewards.c.code == reward_code)).scalar()
    conn.execute(insert(redemption_refusals).values(
        idempotency_key=key, request_hash=digest, member_id=member_id, reward_id=reward_id,
        quantity=quantity, reason=getattr(error, "reason", "points"),
        message=message_of(error), channel=channel, actor_id=actor_id,
        api_key_id=api_key_id, created_at=now))
    return None


__all__ = ["KeyReused", "RedemptionRefused", "keep", "lock_key", "message_of", "replay"]
