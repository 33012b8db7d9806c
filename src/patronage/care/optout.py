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
import re
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from patronage.care.contacts import log_contact
from patronage.care.profile import record_change
from patronage.messages import N_, UserError
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import customers, outbox
from patronage.storage.schema_care import sms_outbox


def _secret(settings=None) -> bytes:
    if settings is None:
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
        settings = Settings()
    return f"{settings.survey_base_url().rstrip('/')}/u/{optout_token(customer_id, settings)}"


# --------------------------------------------------------------------------- opting out

OPTOUT_WORDS = frozenset({"TD", "退订", "退訂", "STOP", "UNSUBSCRIBE", "取消订阅", "取消訂閱"})
_CHANNEL_OF = {"link": "web", "sms": "sms", "email": "email", "phone": "phone", "api": "other"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def opt_out(engine: Engine, customer_id: int, via: str = "link", now: datetime | None = None,
            *, body: str | None = None) -> bool:
    """Stop care messages to a customer: ``consent_care`` false, ``preferences.opted_out`` the
    time (and ``opted_out_via``), a contact ``opt_out`` (direction in), the profile change
    recorded, and their care text messages and e-mails still waiting cancelled (``failed``,
    "opted out"). Returns False when there is no such customer or they had opted out already."""
    now = now or _now()
    c = customers.c
    with write_transaction(engine) as conn:
        row = conn.execute(select(c.id, c.email, c.consent_care, c.preferences)
                           .where(c.id == customer_id)).mappings().first()
        if row is None:
            return False
        preferences = dict(row["preferences"] or {})
        if preferences.get("opted_out") and not row["consent_care"]:
            return False
        preferences.update(opted_out=now.isoformat(timespec="seconds"), opted_out_via=via)
        conn.execute(update(customers).where(c.id == customer_id).values(
            consent_care=False, preferences=preferences, updated_at=now))
        if row["consent_care"]:
            record_change(conn, customer_id, "consent_care", True, False, by=None, at=now)
        log_contact(conn, customer_id=customer_id, channel=_CHANNEL_OF.get(via, "other"),
                    kind="opt_out", direction="in", body=body, now=now)
        conn.execute(update(sms_outbox).where(
            (sms_outbox.c.customer_id == customer_id) & (sms_outbox.c.status == "pending"))
            .values(status="failed", last_error="opted out"))
        if row["email"]:
            conn.execute(update(outbox).where(
                (outbox.c.kind == "care") & (outbox.c.status == "pending")
                & (outbox.c.to_address == row["email"].strip())).values(
                status="failed", last_error="opted out"))
    return True


def _digits(number: str | None) -> str:
    return re.sub(r"\D", "", number or "")


def _same_number(a: str, b: str) -> bool:
    """The same phone number written with or without a country code (+86 138..., 138...)."""
    if not a or not b:
        return False
    short, long = sorted((a, b), key=len)
    return len(short) >= 7 and long.endswith(short)


def is_optout(body: str | None) -> bool:
    """Does a reply ask to stop (TD, 退订, 退訂, STOP, unsubscribe ...)?"""
    word = re.sub(r"[\s\W_]+", "", body or "").upper()
    return word in OPTOUT_WORDS


def record_replies(engine: Engine, rows, now: datetime | None = None) -> dict[str, int]:
    """Record replies to text messages (``{"from", "body", "at"}``; ``at`` naive UTC or None):
    an opt-out word from a known number opts out every customer with that number; any other
    reply is logged as a contact ``reply`` (direction in). Each reply is logged once, however
    often the same file is read. Returns counts: opted out, replies, unknown numbers."""
    now = now or _now()
    with engine.connect() as conn:
        phones = [(cid, _digits(phone)) for cid, phone in conn.execute(
            select(customers.c.id, customers.c.phone).where(customers.c.phone.is_not(None)))]
    counts = {"opted out": 0, "replies": 0, "unknown numbers": 0}
    for row in rows:
        sender, body, at = _digits(row.get("from")), (row.get("body") or "").strip(), row.get("at")
        found = [cid for cid, phone in phones if _same_number(sender, phone)]
        if not found:
            counts["unknown numbers"] += 1
            continue
        if is_optout(body):
            counts["opted out"] += sum(opt_out(engine, cid, "sms", at or now, body=body)
                                       for cid in found)
            continue
        key = hashlib.sha256(f"{sender}|{at}|{body}".encode()).hexdigest()[:40]
        with write_transaction(engine) as conn:
            for cid in found:
                log_contact(conn, customer_id=cid, channel="sms", kind="reply", direction="in",
                            body=body[:4000], at=at or now, external_id=f"sms-reply:{cid}:{key}",
                            now=now)
        counts["replies"] += 1
    return counts


def read_replies_csv(path, zone: str = "Asia/Shanghai") -> list[dict]:
    """The replies of a CSV file with columns ``from``, ``body`` and optionally ``at`` (ISO
    time; without an offset it is read in ``zone``), for :func:`record_replies`."""
    import csv
    from zoneinfo import ZoneInfo

    rows = []
    try:
        handle = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115
    except OSError as exc:
        raise UserError(N_("Cannot read {file}: {reason}"), file=str(path),
                        reason=exc.strerror or str(exc)) from None
    with handle:
        reader = csv.DictReader(handle)
        missing = {"from", "body"} - set(reader.fieldnames or ())
        if missing:
            raise UserError(N_("{file} needs the columns from and body (and optionally at); "
                               "it lacks {columns}."), file=str(path),
                            columns=", ".join(sorted(missing)))
        for number, record in enumerate(reader, start=2):
            at = (record.get("at") or "").strip()
            when = None
            if at:
                try:
                    when = datetime.fromisoformat(at)
                except ValueError:
                    raise UserError(N_("{file} row {row}: the time {value!r} is not an ISO time "
                                       "such as 2027-02-06 09:30."), file=str(path), row=number,
                                    value=at) from None
                if when.tzinfo is None:
                    when = when.replace(tzinfo=ZoneInfo(zone))
                when = when.astimezone(UTC).replace(tzinfo=None)
            rows.append({"from": record.get("from"), "body": record.get("body"), "at": when})
    return rows


__all__ = ["OPTOUT_WORDS", "is_optout", "opt_out", "optout_link", "optout_token",
           "read_replies_csv", "record_replies", "verify_token"]
