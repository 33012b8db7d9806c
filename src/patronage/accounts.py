"""Staff accounts: creation, password hashing (Argon2id), authentication and password change.

Every new password goes through the policy of :mod:`patronage.passwords`. What an admin does
to other accounts (roles, deactivation, resets) is in :mod:`patronage.staff`.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, UserError
from patronage.passwords import MIN_PASSWORD_LENGTH, check_password
from patronage.sessions import end_user_sessions
from patronage.storage import write_transaction
from patronage.storage.schema import USER_ROLES, users
from patronage.storage.text import storable_text

_hasher = None
MAX_DISPLAY_NAME = 200


class WrongPassword(UserError):
    """The current password given to confirm a change is wrong."""


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


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise UserError(N_("The role must be one of {roles}, not {role}."),
                        roles=", ".join(USER_ROLES), role=role)
    return role


def create_user(engine: Engine, email: str, password: str, role: str, *,
                display_name: str | None = None, must_change_password: bool = False) -> int:
    """Create a staff account and return its id.

    Raises :class:`~patronage.messages.UserError` when the e-mail is not an address or is
    taken, the role is unknown or the password fails the policy. With
    ``must_change_password`` the user must choose a new password at the first login.
    """
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(
            c.isspace() for c in email):
        raise UserError(N_("{email} is not an e-mail address."), email=email)
    check_role(role)
    display_name = (display_name or "").strip() or None
    if display_name and len(display_name) > MAX_DISPLAY_NAME:
        raise UserError(N_("The name can have at most {maximum} characters."),
                        maximum=MAX_DISPLAY_NAME)
    check_password(password, email)
    hashed = hash_password(password)  # slow on purpose: outside the write transaction
    now = _now()
    try:
        with write_transaction(engine) as conn:
            result = conn.execute(insert(users).values(
                email=email, display_name=display_name, password_hash=hashed,
                role=role, created_at=now, password_changed_at=now,
                must_change_password=must_change_password))
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        raise UserError(N_("A user with the e-mail {email} already exists."),
                        email=email) from None


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_password(engine: Engine, user_id: int, current: str, new: str, *,
                    keep_session: str | None = None) -> None:
    """The user's own password change: ``current`` must be right and ``new`` pass the policy.

    Every other session of the user ends (a thief holding one is out); ``keep_session``, the
    session making the change, stays open. Clears the demand to change the password.
    """
    with engine.connect() as conn:
        row = conn.execute(select(users.c.email, users.c.password_hash)
                           .where(users.c.id == user_id, users.c.is_active.is_(True))
                           ).mappings().first()
    if row is None or not _verify(row["password_hash"], current):
        raise WrongPassword(N_("The current password is wrong."))
    if new == current:
        raise UserError(N_("The new password must differ from the current one."))
    check_password(new, row["email"])
    hashed = hash_password(new)  # slow on purpose: outside the write transaction
    with write_transaction(engine) as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(
            password_hash=hashed, must_change_password=False,
            password_changed_at=_now()))
        end_user_sessions(conn, user_id, keep=keep_session)


def authenticate(engine: Engine, email: str, password: str) -> dict | None:
    """The user row (``id, email, display_name, role, must_change_password``) when the
    password matches and the account is active, else None.

    Unknown e-mails cost the same hashing work as known ones, so timing does not reveal which
    addresses have accounts.
    """
    email = normalize_email(email)
    row = None
    if storable_text(email):  # no account has a NUL in its e-mail (PostgreSQL refuses one)
        with engine.connect() as conn:
            row = conn.execute(
                select(users.c.id, users.c.email, users.c.display_name, users.c.role,
                       users.c.must_change_password, users.c.password_hash)
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
    return {k: row[k] for k in ("id", "email", "display_name", "role", "must_change_password")}


_dummy = None


def _dummy_hash() -> str:
    global _dummy
    if _dummy is None:
        _dummy = hash_password("not-a-real-password")
    return _dummy


__all__ = ["MIN_PASSWORD_LENGTH", "WrongPassword", "authenticate", "change_password", "check_role", "create_user",
           "hash_password", "normalize_email"]
