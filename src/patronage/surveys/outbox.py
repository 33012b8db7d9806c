"""The mail outbox: survey mail is written in the transaction that causes it, then delivered.

The transactional-outbox pattern (Richardson, *Microservices Patterns*, 2018, ch. 3.3): an
invitation and its mail are committed together, so neither exists without the other. A separate
step, :func:`deliver_pending`, hands pending rows to a sender:

1. *claim* a batch in a short write transaction (``claimed_at`` = now; a claim older than
   :data:`CLAIM_TIMEOUT` is taken to be from a crashed worker and may be claimed again);
2. *send* each message outside any transaction;
3. *mark* it sent (or record the error) in a transaction of its own.

A crash between 2 and 3 resends the message later. Delivery stays exactly-once where the
receiving end recognises the message by its Message-ID, which is fixed when the row is written:
:class:`SinkSender` names each file after a hash of the Message-ID and writes it atomically, so a
resend leaves the one file in place. (An SMTP server cannot promise this; a resend after a crash
there reaches the recipient twice with the same Message-ID, which mail clients collapse.)
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import tempfile
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

from sqlalchemy import Connection, Engine, insert, or_, select, update

from patronage.settings import Settings
from patronage.storage.engine import is_sqlite, write_transaction
from patronage.storage.schema import invitations, outbox
from patronage.storage.schema_reports import outbox_attachments

#: A claim older than this is from a worker that died; its rows may be claimed again.
CLAIM_TIMEOUT = timedelta(minutes=10)
#: After this many failed attempts a message is marked ``failed`` and no longer retried.
MAX_ATTEMPTS = 5
MAIL_KINDS = ("invitation", "reminder")

_TEXTS: dict[str, dict[str, str]] = {
    "invitation_subject": {"en": "Your opinion on {title}",
                           "zh_Hans": "邀请您参加：{title}", "zh_Hant": "邀請您參加：{title}"},
    "reminder_subject": {"en": "Reminder: your opinion on {title}",
                         "zh_Hans": "提醒：邀请您参加{title}", "zh_Hant": "提醒：邀請您參加{title}"},
    "greeting": {"en": "Dear customer,", "zh_Hans": "尊敬的客户：", "zh_Hant": "尊敬的客戶："},
    "invitation_body": {
        "en": "We would like to hear how we are doing. The survey \u201c{title}\u201d takes a few "
              "minutes; please answer it here:",
        "zh_Hans": "我们希望了解您对我们服务的看法。“{title}”只需几分钟，请点击以下链接作答：",
        "zh_Hant": "我們希望了解您對我們服務的看法。「{title}」只需幾分鐘，請點擊以下連結作答：",
    },
    "reminder_body": {
        "en": "A few days ago we invited you to the survey \u201c{title}\u201d. If you have not "
              "found the time yet, you can still answer it here:",
        "zh_Hans": "数天前我们邀请您参加“{title}”。如果您还没来得及作答，仍可通过以下链接参与：",
        "zh_Hant": "數天前我們邀請您參加「{title}」。如果您還沒來得及作答，仍可透過以下連結參與：",
    },
    "closing": {"en": "Thank you for your time.", "zh_Hans": "感谢您的支持！",
                "zh_Hant": "感謝您的支持！"},
}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def survey_link(token: str, base_url: str | None = None) -> str:
    """The public address of a survey token: ``{base_url}/s/{token}``.

    ``base_url`` defaults to the settings' :meth:`~patronage.settings.Settings.survey_base_url`.
    """
    if base_url is None:
        base_url = Settings().survey_base_url()
    return f"{base_url.rstrip('/')}/s/{token}"


def survey_mail(kind: str, *, title: str, link: str, language: str) -> tuple[str, str, str]:
    """``(subject, body_text, body_html)`` of an invitation or reminder in ``language``."""
    if kind not in MAIL_KINDS:
        raise ValueError(f"mail kind must be one of {list(MAIL_KINDS)}; got {kind!r}")
    if language not in _TEXTS["greeting"]:
        raise ValueError(f"mail language must be one of {sorted(_TEXTS['greeting'])}; "
                         f"got {language!r}")

    def say(key: str) -> str:
        return _TEXTS[key][language].format(title=title)

    subject = say(f"{kind}_subject")
    lines = [say("greeting"), say(f"{kind}_body"), link, say("closing")]
    text = "\n\n".join(lines) + "\n"
    html = (f"<p>{_escape(lines[0])}</p>\n<p>{_escape(lines[1])}</p>\n"
            f'<p><a href="{_escape(link)}">{_escape(link)}</a></p>\n<p>{_escape(lines[3])}</p>\n')
    return subject, text, html


def enqueue(conn: Connection, *, kind: str, to_address: str, subject: str, body_text: str,
            body_html: str | None = None, invitation_id: int | None = None,
            now: datetime | None = None, attachments=()) -> int:
    """Add a pending message on the open (write) connection ``conn``; returns its id.

    The Message-ID ``<hex@patronage>`` is fixed here, so every resend of the row carries it.
    The caller owns the transaction: commit it together with what the mail is about.
    ``attachments``: ``(filename, media type, bytes)`` triples sent with the message.
    """
    if not isinstance(to_address, str) or "@" not in to_address:
        raise ValueError(f"to_address must be an e-mail address; got {to_address!r}")
    if not subject or not body_text:
        raise ValueError("a message needs a subject and a body_text")
    result = conn.execute(insert(outbox).values(
        kind=kind, invitation_id=invitation_id, to_address=to_address.strip(), subject=subject,
        body_text=body_text, body_html=body_html, message_id=f"<{uuid4().hex}@patronage>",
        status="pending", attempts=0, created_at=now or _now()))
    message_id = int(result.inserted_primary_key[0])
    for filename, media_type, content in attachments:
        conn.execute(insert(outbox_attachments).values(
            outbox_id=message_id, filename=filename, media_type=media_type, content=content))
    return message_id


def enqueue_invitation(conn: Connection, *, invitation_id: int, token: str, to_address: str,
                       language: str, title: str, kind: str = "invitation",
                       base_url: str | None = None, now: datetime | None = None) -> int:
    """Enqueue the invitation (or reminder) mail of one invitation in the survey language."""
    subject, text, html = survey_mail(kind, title=title, link=survey_link(token, base_url),
                                      language=language)
    return enqueue(conn, kind=kind, to_address=to_address, subject=subject, body_text=text,
                   body_html=html, invitation_id=invitation_id, now=now)


# --------------------------------------------------------------------------- senders

class Sender(Protocol):
    """Anything with ``send(message)`` that raises when the message was not accepted."""

    def send(self, message: EmailMessage) -> None: ...


def build_message(row: Any, mail_from: str, attachments=()) -> EmailMessage:
    """The e-mail of an outbox row (plain text, with an HTML alternative when present, and its
    attached files)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at.replace(tzinfo=UTC))
    message.set_content(row.body_text)
    if row.body_html:
        message.add_alternative(row.body_html, subtype="html")
    for filename, media_type, content in attachments:
        main, _slash, sub = media_type.partition(";")[0].partition("/")
        message.add_attachment(bytes(content), maintype=main, subtype=sub, filename=filename)
    return message


def _attachments_of(engine: Engine, ids: list[int]) -> dict[int, list[tuple]]:
    """The files attached to the outbox rows ``ids``, per row."""
    a = outbox_attachments.c
    found: dict[int, list[tuple]] = {}
    with engine.connect() as conn:
        for row in conn.execute(select(a.outbox_id, a.filename, a.media_type, a.content)
                                .where(a.outbox_id.in_(ids)).order_by(a.id)):
            found.setdefault(row.outbox_id, []).append((row.filename, row.media_type,
                                                        row.content))
    return found


class SinkSender:
    """Write each message to ``directory/<sha256 of Message-ID>.eml``; nothing is mailed.

    The file is written to a temporary name, flushed to disk and renamed (``os.replace`` is
    atomic), so a crash never leaves half a message. A message whose file exists is skipped:
    sending the same outbox row twice leaves one file.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def path_for(self, message_id: str) -> Path:
        digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:32]
        return self.directory / f"{digest}.eml"

    def send(self, message: EmailMessage) -> None:
        if not message["Message-ID"]:
            raise ValueError("the message has no Message-ID; enqueue it through the outbox")
        if not self.directory.is_dir():  # messages name respondents: owner only (0700)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.path_for(str(message["Message-ID"]))
        if target.exists():
            return
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(message.as_bytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


class SMTPSender:
    """Send through the SMTP server of ``settings`` (host, port, optional STARTTLS and login)."""

    def __init__(self, settings, *, timeout: float = 30.0):
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)


def sender_from_settings(settings) -> Sender:
    """The sender chosen by ``settings.mail_backend``."""
    if settings.mail_backend == "smtp":
        return SMTPSender(settings)
    return SinkSender(settings.mail_sink_dir)


# --------------------------------------------------------------------------- delivery

def _claim(engine: Engine, batch: int, now: datetime) -> list[Any]:
    o = outbox.c
    claimable = (o.status == "pending") & or_(o.claimed_at.is_(None),
                                              o.claimed_at < now - CLAIM_TIMEOUT)
    query = select(o.id).where(claimable).order_by(o.id).limit(batch)
    if not is_sqlite(engine):
        query = query.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        ids = list(conn.execute(query).scalars())
        if not ids:
            return []
        conn.execute(update(outbox).where(o.id.in_(ids)).values(claimed_at=now))
        return list(conn.execute(select(outbox).where(o.id.in_(ids)).order_by(o.id)))


def deliver_pending(engine: Engine, sender: Sender, *, batch: int = 100,
                    now: datetime | None = None, mail_from: str | None = None) -> int:
    """Send up to ``batch`` pending messages; returns how many were sent.

    Each sent message is marked ``sent`` (``sent_at``, ``attempts`` + 1; an invitation's
    ``sent_at`` is set with it) in its own transaction. A message the sender rejects keeps
    ``pending`` with ``last_error`` and ``attempts`` + 1, and becomes ``failed`` after
    :data:`MAX_ATTEMPTS`. ``mail_from`` defaults to the ``mail_from`` setting.
    """
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive whole number; got {batch!r}")
    now = now or _now()
    if mail_from is None:
        mail_from = Settings().mail_from
    sent = 0
    claimed = _claim(engine, batch, now)
    files = _attachments_of(engine, [row.id for row in claimed]) if claimed else {}
    for row in claimed:
        try:
            sender.send(build_message(row, mail_from, files.get(row.id, ())))
        except Exception as exc:  # any refusal: record it and retry on a later run
            attempts = row.attempts + 1
            with write_transaction(engine) as conn:
                conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                    attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    claimed_at=None, status="failed" if attempts >= MAX_ATTEMPTS else "pending"))
            continue
        with write_transaction(engine) as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None))
            if row.invitation_id is not None and row.kind == "invitation":
                conn.execute(update(invitations).where(
                    (invitations.c.id == row.invitation_id) & invitations.c.sent_at.is_(None)
                ).values(sent_at=now))
        sent += 1
    return sent


__all__ = [
    "CLAIM_TIMEOUT",
    "MAIL_KINDS",
    "MAX_ATTEMPTS",
    "SMTPSender",
    "Sender",
    "SinkSender",
    "build_message",
    "deliver_pending",
    "enqueue",
    "enqueue_invitation",
    "sender_from_settings",
    "survey_link",
    "survey_mail",
]
