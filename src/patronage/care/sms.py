"""Text-message delivery: ``sms_outbox`` rows are claimed, sent outside any transaction and
marked, like the mail outbox (:mod:`patronage.surveys.outbox`).

A row is claimed (``claimed_at`` = now) in a short write transaction; a claim older than
:data:`CLAIM_TIMEOUT` is from a worker that died and may be claimed again. A row held for the
customer's quiet hours (``not_before`` in the future) waits. Each message carries its
``message_key``, fixed when the row was written, so a resend after a crash is recognisable:

* ``sink`` (default): one file per message in ``sms_sink_dir``, named after the key and written
  atomically (temporary file, fsync, rename), so a resend overwrites the same file;
* ``http``: a JSON POST ``{to, body, key, sender}`` to ``sms_gateway_url`` with
  ``Authorization: Bearer {sms_gateway_token}``; any 2xx answer is "sent", and an ``id`` (or
  ``message_id``) in a JSON answer is kept as ``gateway_ref``. A gateway that deduplicates on
  ``key`` delivers a resend once.

A refused message keeps ``pending`` with ``last_error`` and ``attempts`` + 1 and becomes
``failed`` after :data:`MAX_ATTEMPTS`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, or_, select, update

from patronage.storage import write_transaction
from patronage.storage.engine import is_sqlite
from patronage.storage.schema_care import sms_outbox

CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SmsSender(Protocol):
    """Anything with ``send(to, body, key)`` that returns the gateway's reference (or None)
    and raises when the message was not accepted."""

    def send(self, to: str, body: str, key: str) -> str | None: ...


class SinkSms:
    """Write each message to ``directory/<key>.json``; nothing leaves the machine."""

    def __init__(self, directory: str | os.PathLike, sender: str = ""):
        self.directory = Path(directory)
        self.sender = sender

    def path_for(self, key: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
        if safe != key or safe.startswith("."):
            safe = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        return self.directory / f"{safe}.json"

    def send(self, to: str, body: str, key: str) -> str | None:
        if not self.directory.is_dir():  # messages name customers: owner only (0700)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = json.dumps({"to": to, "body": body, "key": key, "sender": self.sender},
                          ensure_ascii=False, indent=1).encode("utf-8")
        handle, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path_for(key))
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return None


class HttpSms:
    """POST each message as JSON to an SMS gateway (standard library HTTP client)."""

    def __init__(self, url: str, token: str = "", sender: str = "", *, timeout: float = 15.0):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the SMS gateway address must start with http:// or https://; "
                             f"got {url!r} (setting sms_gateway_url)")
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, to: str, body: str, key: str) -> str | None:
        payload = json.dumps({"to": to, "body": body, "key": key, "sender": self.sender},
                             ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=payload, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key})
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(65536)
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"the SMS gateway answered HTTP {exc.code}") from None
        try:
            data = json.loads(answer.decode("utf-8")) if answer else None
        except (ValueError, UnicodeDecodeError):
            return None
        if isinstance(data, dict):
            ref = data.get("id") or data.get("message_id")
            return str(ref)[:100] if ref is not None else None
        return None


def sms_sender_from_settings(settings) -> SmsSender:
    """The sender chosen by ``settings.sms_backend``."""
    if settings.sms_backend == "http":
        return HttpSms(settings.sms_gateway_url, settings.sms_gateway_token, settings.sms_sender)
    return SinkSms(settings.sms_sink_dir, settings.sms_sender)


def _claim(engine: Engine, batch: int, now: datetime) -> list[Any]:
    s = sms_outbox.c
    claimable = ((s.status == "pending")
                 & or_(s.not_before.is_(None), s.not_before <= now)
                 & or_(s.claimed_at.is_(None), s.claimed_at < now - CLAIM_TIMEOUT))
    query = select(s.id).where(claimable).order_by(s.id).limit(batch)
    if not is_sqlite(engine):
        query = query.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        ids = list(conn.execute(query).scalars())
        if not ids:
            return []
        conn.execute(update(sms_outbox).where(s.id.in_(ids)).values(claimed_at=now))
        return list(conn.execute(select(sms_outbox).where(s.id.in_(ids)).order_by(s.id)))


def deliver_sms(engine: Engine, sender: SmsSender, *, batch: int = 100,
                now: datetime | None = None) -> int:
    """Send up to ``batch`` pending text messages whose time has come; returns how many were
    sent."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive whole number; got {batch!r}")
    now = now or _now()
    sent = 0
    for row in _claim(engine, batch, now):
        try:
            ref = sender.send(row.to_number, row.body, row.message_key)
        except Exception as exc:  # any refusal: record it and retry on a later run
            attempts = row.attempts + 1
            with write_transaction(engine) as conn:
                conn.execute(update(sms_outbox).where(
                    (sms_outbox.c.id == row.id) & (sms_outbox.c.status == "pending")).values(
                    attempts=attempts, last_error=f"{type(exc).__name__}: {exc}"[:2000],
                    claimed_at=None, status="failed" if attempts >= MAX_ATTEMPTS else "pending"))
            continue
        with write_transaction(engine) as conn:
            conn.execute(update(sms_outbox).where(sms_outbox.c.id == row.id).values(
                status="sent", sent_at=now, attempts=row.attempts + 1, last_error=None,
                gateway_ref=ref))
        sent += 1
    return sent


__all__ = ["CLAIM_TIMEOUT", "HttpSms", "MAX_ATTEMPTS", "SinkSms", "SmsSender", "deliver_sms",
           "sms_sender_from_settings"]
