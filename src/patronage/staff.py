"""What an admin does to staff accounts: list them, change roles, deactivate and reactivate,
reset passwords and end sessions.

The web Users page and ``patronage user`` both call these. Two rules hold however the calls
interleave: there is always an active admin (the last one can be neither demoted nor
deactivated; the check and the change run in one transaction with the admins' rows locked),
and an admin acting on the web (``actor_id``) cannot lock themselves out by deactivating or
demoting their own account.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, select, update

from patronage.accounts import check_role, hash_password, normalize_email
from patronage.messages import N_, UserError
from patronage.passwords import check_password, one_time_password
from patronage.sessions import end_user_sessions
from patronage.storage import write_transaction
from patronage.storage.schema import sessions, users

log = logging.getLogger("patronage.staff")
USER_COLUMNS = ("id", "email", "display_name", "role", "is_active", "must_change_password",
                "created_at", "last_login_at", "password_changed_at", "deactivated_at",
                "sessions")


class NoSuchUser(UserError):
    """The account asked for does not exist."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def user_table(engine: Engine) -> list[dict]:
    """Every account, by e-mail: role, status, last login, creation and the number of open
    sessions (:data:`USER_COLUMNS`)."""
    live = (select(sessions.c.user_id, func.count().label("sessions"))
            .where(sessions.c.expires_at > _now()).group_by(sessions.c.user_id).subquery())
    query = (select(*(users.c[name] for name in USER_COLUMNS[:-1]),
                    func.coalesce(live.c.sessions, 0).label("sessions"))
             .outerjoin(live, live.c.user_id == users.c.id).order_by(users.c.email))
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def find_user(engine: Engine, email: str) -> int:
    """The id of the account of ``email`` (in any case)."""
    with engine.connect() as conn:
        user_id = conn.execute(select(users.c.id).where(
            func.lower(users.c.email) == normalize_email(email))).scalar()
    if user_id is None:
        raise NoSuchUser(N_("There is no user with the e-mail {email}."),
                        email=normalize_email(email))
    return int(user_id)


def _target(conn: Connection, user_id: int) -> dict:
    """Lock and read the account. The active admins are locked first, in id order, so that two
    changes to different admins queue up instead of deadlocking (PostgreSQL would abort one)."""
    conn.execute(select(users.c.id).where(users.c.role == "admin", users.c.is_active.is_(True))
                 .order_by(users.c.id).with_for_update())
    row = conn.execute(select(users.c.id, users.c.email, users.c.role, users.c.is_active)
                       .where(users.c.id == user_id).with_for_update()).mappings().first()
    if row is None:
        raise NoSuchUser(N_("There is no such user."))
    return dict(row)


def _audit(conn: Connection, actor_id: int | None, what: str, *values) -> None:
    """Log an admin action on an account: what, to whom and by whom (never a password)."""
    actor = None
    if actor_id is not None:
        actor = conn.execute(select(users.c.email).where(users.c.id == actor_id)).scalar()
    log.info(what + " (by %s)", *values, actor or "the command line")


def _keep_an_admin(conn: Connection, target: dict) -> None:
    """Refuse to take away the last active admin. ``_target`` locked the active admins' rows
    until the transaction ends, so two admins demoting each other at once cannot both succeed."""
    if target["role"] != "admin" or not target["is_active"]:
        return
    admins = conn.execute(select(users.c.id).where(
        users.c.role == "admin", users.c.is_active.is_(True))).scalars().all()
    if set(admins) <= {target["id"]}:
        raise UserError(N_("{email} is the last active admin; make another user an admin "
                           "first."), email=target["email"])


def _not_yourself(target: dict, actor_id: int | None, message: str) -> None:
    if actor_id is not None and target["id"] == actor_id:
        raise UserError(message)


def set_role(engine: Engine, user_id: int, role: str, *, actor_id: int | None = None) -> str:
    """Give the account ``role`` (open sessions get it at once); returns the e-mail."""
    check_role(role)
    with write_transaction(engine) as conn:
        target = _target(conn, user_id)
        if target["role"] == role:
            return target["email"]
        _not_yourself(target, actor_id, N_("You cannot change your own role; ask another admin."))
        _keep_an_admin(conn, target)
        conn.execute(update(users).where(users.c.id == user_id).values(role=role))
        _audit(conn, actor_id, "user %s: role %s -> %s", target["email"], target["role"], role)
    return target["email"]


def deactivate(engine: Engine, user_id: int, *, actor_id: int | None = None) -> int:
    """Deactivate the account: it cannot log in and its sessions end at once. Returns how many
    sessions ended."""
    with write_transaction(engine) as conn:
        target = _target(conn, user_id)
        _not_yourself(target, actor_id,
                      N_("You cannot deactivate your own account; ask another admin."))
        _keep_an_admin(conn, target)
        if target["is_active"]:
            conn.execute(update(users).where(users.c.id == user_id)
                         .values(is_active=False, deactivated_at=_now()))
        ended = end_user_sessions(conn, user_id)
        _audit(conn, actor_id, "user %s: deactivated, %d sessions ended", target["email"], ended)
        return ended


def activate(engine: Engine, user_id: int, *, actor_id: int | None = None) -> str:
    """Let a deactivated account log in again (with its old password); returns the e-mail."""
    with write_transaction(engine) as conn:
        target = _target(conn, user_id)
        conn.execute(update(users).where(users.c.id == user_id)
                     .values(is_active=True, deactivated_at=None))
        _audit(conn, actor_id, "user %s: activated", target["email"])
    return target["email"]


def reset_password(engine: Engine, user_id: int, password: str | None = None, *,
                   actor_id: int | None = None) -> str:
    """Give the account a temporary password (``password``, or a generated one-time password)
    that must be changed at the next login; every session of the account ends. Returns the
    temporary password, to hand over once."""
    with engine.connect() as conn:
        target = _target(conn, user_id)
    _not_yourself(target, actor_id, N_("To change your own password use “Change my password”."))
    temporary = password if password is not None else one_time_password()
    check_password(temporary, target["email"])
    hashed = hash_password(temporary)  # slow on purpose: outside the write transaction
    with write_transaction(engine) as conn:
        _target(conn, user_id)
        conn.execute(update(users).where(users.c.id == user_id).values(
            password_hash=hashed, must_change_password=True, password_changed_at=_now()))
        ended = end_user_sessions(conn, user_id)
        _audit(conn, actor_id, "user %s: password reset, %d sessions ended", target["email"],
               ended)
    return temporary


def revoke_sessions(engine: Engine, user_id: int, *, actor_id: int | None = None) -> int:
    """End every session of the account (it stays active); returns how many ended."""
    with write_transaction(engine) as conn:
        target = _target(conn, user_id)
        ended = end_user_sessions(conn, user_id)
        _audit(conn, actor_id, "user %s: %d sessions revoked", target["email"], ended)
        return ended


__all__ = ["USER_COLUMNS", "NoSuchUser", "activate", "deactivate", "find_user", "reset_password",
           "revoke_sessions", "set_role", "user_table"]
