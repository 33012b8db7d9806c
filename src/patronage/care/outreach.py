"""Outreach: one care message to one customer, by e-mail or text message, on the contact log.

:func:`send_message` is the one way a care message leaves (greetings, win-back offers, agents'
messages). It checks that the customer consents to care and has not opted out, adds the opt-out
line in the customer's language (e-mail: a signed link ``{public base}/u/{token}``; SMS: "回复TD
退订" / "Reply STOP to opt out"), queues the message (e-mail in the mail outbox with kind
``care``; SMS in ``sms_outbox``, held until the customer's quiet hours end) and logs a contact,
all on the caller's open write connection: the message, its contact and whatever the caller
records with them commit together.

A message ``key`` makes sending idempotent: the contact is logged with ``external_id = key`` and
a text message carries it as its ``message_key``, so sending again with the same key returns the
first contact and queues nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from html import escape
from uuid import uuid4

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.care.calendar import customer_zone, local_time, to_utc
from patronage.care.contacts import log_contact
from patronage.care.optout import optout_link
from patronage.care.reach import REASONS, opted_out, reachable_channel, why_not
from patronage.care.texts import customer_language, pick
from patronage.hours import parse_quiet_hours
from patronage.settings import Settings
from patronage.storage.schema import customers
from patronage.storage.schema_care import MESSAGE_CHANNELS, contacts, sms_outbox
from patronage.surveys.outbox import enqueue

OPTOUT_SMS = {"en": "Reply STOP to opt out", "zh_Hans": "回复TD退订", "zh_Hant": "回覆TD退訂"}
OPTOUT_MAIL = {
    "en": "To receive no more of these messages, open: {link}",
    "zh_Hans": "如不希望再收到此类消息，请打开：{link}",
    "zh_Hant": "如不希望再收到此類訊息，請打開：{link}",
}
DEFAULT_SUBJECT = {"en": "A message for you", "zh_Hans": "致您的问候", "zh_Hant": "致您的問候"}
_CUSTOMER_COLUMNS = ("id", "external_id", "name", "phone", "email", "tier", "language",
                     "timezone", "consent_care", "preferences", "birthday", "contract_on",
                     "region")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _settings(settings):
    if settings is None:
        return Settings()
    return settings


def quiet_until(now: datetime, zone, hours: tuple[time, time] | None) -> datetime | None:
    """When the quiet hours the naive-UTC instant ``now`` falls in end (naive UTC), or None
    when ``now`` is outside them (in the wall-clock time of ``zone``)."""
    if hours is None:
        return None
    start, end = hours
    local = local_time(now, zone)
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # wraps midnight: 21:00-08:00
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return to_utc(datetime.combine(end_day, end), zone)


def load_customer(conn: Connection, customer_id: int) -> dict | None:
    """The customer fields messages need, as a dict (None when there is no such customer)."""
    row = conn.execute(select(*(customers.c[name] for name in _CUSTOMER_COLUMNS))
                       .where(customers.c.id == customer_id)).mappings().first()
    return dict(row) if row else None


def _fixed_key(key: str | None) -> str:
    key = key or f"care:{uuid4().hex}"
    return key if len(key) <= 64 else hashlib.sha256(key.encode("utf-8")).hexdigest()


def send_message(conn: Connection, *, customer: Mapping | int, channel: str, body: str,
                 subject: str | None = None, kind: str = "message",
                 campaign_id: int | None = None, task_id: int | None = None,
                 key: str | None = None, user_id: int | None = None, settings=None,
                 now: datetime | None = None) -> int | None:
    """Queue one care message to ``customer`` (a row mapping or an id) on ``channel`` (``sms``
    or ``email``) and log it; returns the contact's id, or None when it may not or cannot be
    sent (:func:`why_not` says why).

    ``body`` is the text in the customer's language (see :mod:`patronage.care.texts`); the
    opt-out line is appended here. ``kind`` is the contact kind (``message`` or ``greeting``).
    ``key`` (at most 64 characters are kept; a longer key is hashed) makes a repeat send a
    no-op returning the first contact. ``settings`` gives the public address, the secret that
    signs opt-out links, the default language, time zone and quiet hours. A text message asked
    for in the customer's quiet hours is held until they end (``sms_outbox.not_before``).
    """
    if channel not in MESSAGE_CHANNELS:
        raise ValueError(f"channel must be one of {list(MESSAGE_CHANNELS)}; got {channel!r}")
    if not (body or "").strip():
        raise ValueError("a care message needs a body")
    settings = _settings(settings)
    now = now or _now()
    if not isinstance(customer, Mapping):
        customer = load_customer(conn, int(customer))
    if why_not(customer, channel) is not None:
        return None
    key = _fixed_key(key)
    done = conn.execute(select(contacts.c.id).where(contacts.c.external_id == key)).scalar()
    if done is not None:
        return done
    language = customer_language(customer, settings.customer_language)
    body = body.strip()
    if channel == "sms":
        text = f"{body} {OPTOUT_SMS[language]}"
        zone = customer_zone(customer, settings.timezone)
        held = quiet_until(now, zone, parse_quiet_hours(settings.care_quiet_hours))
        savepoint = conn.begin_nested()
        try:
            conn.execute(insert(sms_outbox).values(
                customer_id=customer["id"], to_number=customer["phone"].strip(), body=text,
                message_key=key, status="pending", attempts=0, not_before=held,
                created_at=now))
        except IntegrityError:  # queued already under this key (a concurrent send)
            savepoint.rollback()
            return conn.execute(select(contacts.c.id)
                                .where(contacts.c.external_id == key)).scalar()
        savepoint.commit()
    else:
        link = optout_link(customer["id"], settings)
        line = OPTOUT_MAIL[language].format(link=link)
        text = f"{body}\n\n{line}\n"
        paragraphs = "".join(f"<p>{escape(part)}</p>\n" for part in body.split("\n\n") if part)
        html = (paragraphs + f'<p><small>{escape(OPTOUT_MAIL[language].split("{")[0])}'
                f'<a href="{escape(link)}">{escape(link)}</a></small></p>\n')
        enqueue(conn, kind="care", to_address=customer["email"].strip(),
                subject=subject or pick(DEFAULT_SUBJECT, language), body_text=text,
                body_html=html, now=now)
    return log_contact(conn, customer_id=customer["id"], channel=channel, kind=kind,
                       user_id=user_id, subject=subject, body=text, task_id=task_id,
                       campaign_id=campaign_id, external_id=key, now=now)


__all__ = ["DEFAULT_SUBJECT", "OPTOUT_MAIL", "OPTOUT_SMS", "REASONS", "load_customer",
           "opted_out", "parse_quiet_hours", "quiet_until", "reachable_channel", "send_message",
           "why_not"]
