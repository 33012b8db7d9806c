"""Staff accounts: creation, password hashing (Argon2id) and authentication."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.storage import write_transaction
from patronage.storage.schema import USER_ROLES, users
from patronage.storage.text import storable_text

_hasher = None
MIN_PASSWORD_LENGTH = 8


#: Argon2 hashes running at once at most; each takes 64 MiB and a core for about 50 ms, so a
#: burst of logins queues instead of taking the machine's memory.
MAX_CONCURRENT_HASHES = 4


class _BoundedHasher(PasswordHasher):
    """Argon2id (the library's defaults) with at most ``slots`` hashes at a time."""

    def __init__(self, slots: int):
        super().__init__()
        self._slots = threading.BoundedSemaphore(slots)

    def hash(self, password, *, salt=None):
        with self._slots:
            return super().hash(password, salt=salt)

    def verify(self, hash, password):  # noqa: A002 - the library's parameter name
        with self._slots:
            return super().verify(hash, password)


def _password_hasher() -> PasswordHasher:
    global _hasher
    if _hasher is None:
        _hasher = _BoundedHasher(MAX_CONCURRENT_HASHES)
    return _hasher


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted; safe to store)."""
    return _password_hasher().hash(password)


def create_user(engine: Engine, email: str, password: str, role: str, *,
                display_name: str | None = None) -> int:
    """Create a staff account and return its id.

    Raises ``ValueError`` with a message for the user when the e-mail is taken, the role is
    unknown or the password is too short.
    """
    email = normalize_email(email)
    if "@" not in email:
        raise ValueError(f"{email!r} is not an e-mail address")
    if role not in USER_ROLES:
        raise ValueError(f"role must be one of {', '.join(USER_ROLES)}, not {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    try:
        with write_transaction(engine) as conn:
            result = conn.execute(insert(users).values(
                email=email, display_name=display_name, password_hash=hash_password(password),
                role=role, created_at=_now()))
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        raise ValueError(f"a user with the e-mail {email} already exists") from None


def authenticate(engine: Engine, email: str, password: str) -> dict | None:
    """The user row (``id, email, display_name, role``) when the password matches, else None.

    Unknown e-mails cost the same hashing work as known ones, so timing does not reveal which
    addresses have accounts.
    """
    email = normalize_email(email)
    row = None
    if storable_text(email):  # no account has a NUL in its e-mail (PostgreSQL refuses one)
        with engine.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.email, users.c.display_name, users.c.role,
                       users.c.password_hash)
                .where(func.lower(users.c.email) == email, users.c.is_active.is_(True))
            ).mappings().first()
    hasher = _password_hasher()
    if row is None:
        try:
            hasher.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return None
    try:
        hasher.verify(row["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(row["password_hash"]):
        with write_transaction(engine) as conn:
            conn.execute(update(users).where(users.c.id == row["id"])
                         .values(password_hash=hasher.hash(password)))
    return {k: row[k] for k in ("id", "email", "display_name", "role")}


_dummy = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None:
        _dummy = hash_password("not-a-real-password")
    return _dummy


__all__ = ["authenticate", "create_user", "hash_password", "normalize_email"]
