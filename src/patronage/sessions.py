"""Login sessions and the login rate limit.

A session id is 256 random bits held only in the user's cookie; the database keeps its SHA-256,
so a copy of the table opens no sessions. Each session carries its own CSRF token, checked on
every state-changing request. Sessions are written in quiet transactions (see
:func:`patronage.storage.quiet_transaction`): a login or a logout does not make the
prepared pages compute again.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, insert, select, update

from patronage.storage import quiet_transaction
from patronage.storage.schema import sessions, users


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A random token of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def start_session(engine: Engine, user_id: int, *, hours: int) -> str:
    """Open a session for ``user_id`` (a login); returns the session id for the cookie.

    The user's last login is recorded; expired sessions of every user are removed on the way.
    """
    session_id = new_token()
    now = _now()
    with quiet_transaction(engine) as conn:
        conn.execute(delete(sessions).where(sessions.c.expires_at < now))
        conn.execute(insert(sessions).values(
            id_hash=_digest(session_id), user_id=user_id, csrf_token=new_token(),
            created_at=now, expires_at=now + timedelta(hours=hours),
        ))
        conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))
    return session_id


def session_user(engine: Engine, session_id: str | None) -> dict | None:
    """The user of a live session (``id, email, display_name, role, must_change_password,
    csrf_token``), else None."""
    if not session_id or len(session_id) > 128:
        return None
    query = (
        select(users.c.id, users.c.email, users.c.display_name, users.c.role,
               users.c.must_change_password, sessions.c.csrf_token)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.id_hash == _digest(session_id), sessions.c.expires_at > _now(),
               users.c.is_active.is_(True))
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def renew_session(engine: Engine, session_id: str | None) -> str | None:
    """Give a live session a new id and CSRF token (after a password change, so that a copy
    of the old cookie opens nothing); returns the new id, or None when the session is gone."""
    if not session_id:
        return None
    renewed = new_token()
    with quiet_transaction(engine) as conn:
        changed = conn.execute(update(sessions).where(sessions.c.id_hash == _digest(session_id))
                               .values(id_hash=_digest(renewed), csrf_token=new_token())).rowcount
    return renewed if changed else None


def end_session(engine: Engine, session_id: str | None) -> None:
    """Log out: the session stops working at once."""
    if not session_id:
        return
    with quiet_transaction(engine) as conn:
        conn.execute(delete(sessions).where(sessions.c.id_hash == _digest(session_id)))


def end_user_sessions(conn: Connection, user_id: int, *, keep: str | None = None) -> int:
    """End every session of ``user_id`` (but the session ``keep``) inside the caller's
    transaction; returns how many ended."""
    condition = sessions.c.user_id == user_id
    if keep:
        condition = condition & (sessions.c.id_hash != _digest(keep))
    return conn.execute(delete(sessions).where(condition)).rowcount


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(expected) and bool(given) and secrets.compare_digest(str(expected), str(given))


class AttemptLimiter:
    """At most ``limit`` failures per key in a sliding window of ``window_seconds``.

    Kept in memory by the serving process: it slows password guessing against one account or
    from one address without a shared store.
    """

    def __init__(self, limit: int, window_seconds: float = 3600.0, clock=time.monotonic):
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str) -> deque[float]:
        stamps = self._failures[key]
        horizon = self._clock() - self.window_seconds
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        return stamps

    def blocked(self, *keys: str) -> bool:
        """Whether any of ``keys`` has used up its failures."""
        with self._lock:
            return any(len(self._prune(key)) >= self.limit for key in keys)

    def fail(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._prune(key).append(self._clock())

    def attempt(self, *keys: str) -> bool:
        """Count an attempt against every key, unless one has used up its failures (then
        False and nothing is counted). Check and count are one step, so concurrent attempts
        cannot all pass the check before any is counted; :meth:`forgive` takes the count
        back for an attempt that succeeded."""
        with self._lock:
            if any(len(self._prune(key)) >= self.limit for key in keys):
                return False
            now = self._clock()
            for key in keys:
                self._failures[key].append(now)
            return True

    def forgive(self, *keys: str) -> None:
        """Take back the latest attempt counted against each key."""
        with self._lock:
            for key in keys:
                stamps = self._failures.get(key)
                if stamps:
                    stamps.pop()

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


__all__ = [
    "AttemptLimiter",
    "end_session",
    "end_user_sessions",
    "new_token",
    "renew_session",
    "session_user",
    "start_session",
    "tokens_match",
]
