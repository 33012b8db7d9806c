"""The mail outbox: enqueueing, mail texts, senders and exactly-once delivery across crashes
(the transactional-outbox pattern; Richardson, *Microservices Patterns*, 2018, ch. 3.3)."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from email import policy

import pytest
from sqlalchemy import select

from patronage.settings import Settings
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import customers, invitations, outbox
from patronage.surveys import outbox as mail
from patronage.surveys import program
from patronage.surveys.templates import load_template

T0 = datetime(2026, 6, 1, 9, 0)


def queue(engine, n, start=0):
    with write_transaction(engine) as conn:
        return [mail.enqueue(conn, kind="invitation", to_address=f"p{k}@example.com",
                             subject=f"Survey {k}", body_text=f"Hello {k}",
                             body_html=f"<p>Hello {k}</p>", now=T0)
                for k in range(start, start + n)]


def rows(engine):
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(outbox).order_by(outbox.c.id))}


def eml_files(directory):
    return sorted(p for p in directory.iterdir() if p.suffix == ".eml"
                  and not p.name.startswith("."))


class SimulatedCrash(BaseException):
    """Like the process dying: not an Exception, so deliver_pending does not record it."""


class CrashAfter:
    """Hands messages to ``inner`` and 'crashes' right after the ``n``-th one was written."""

    def __init__(self, inner, n):
        self.inner, self.n, self.calls = inner, n, 0

    def send(self, message):
        self.inner.send(message)
        self.calls += 1
        if self.calls == self.n:
            raise SimulatedCrash()


def test_enqueue_fixes_message_id_and_mail_texts():
    subject, text, html = mail.survey_mail("invitation", title="A <b> survey",
                                           link="https://x.test/s/TOKEN", language="en")
    assert "https://x.test/s/TOKEN" in text and "A <b> survey" in subject
    assert "A &lt;b&gt; survey" in html and 'href="https://x.test/s/TOKEN"' in html
    hans = mail.survey_mail("reminder", title="客户调查", link="L", language="zh_Hans")
    hant = mail.survey_mail("invitation", title="客戶調查", link="L", language="zh_Hant")
    assert hans[0].startswith("提醒") and "尊敬的客户" in hans[1]
    assert "請點擊" in hant[1] and "客戶調查" in hant[0]
    assert mail.survey_link("abc", "https://survey.example.com/") == \
        "https://survey.example.com/s/abc"
    assert mail.survey_link("abc") == f"{Settings().survey_base_url()}/s/abc"
    with pytest.raises(ValueError, match="language"):
        mail.survey_mail("invitation", title="t", link="l", language="fr")
    with pytest.raises(ValueError, match="kind"):
        mail.survey_mail("newsletter", title="t", link="l", language="en")


def test_enqueue_rows(engine):
    ids = queue(engine, 2)
    with pytest.raises(ValueError, match="e-mail address"), write_transaction(engine) as conn:
        mail.enqueue(conn, kind="invitation", to_address="nobody", subject="s", body_text="b")
    stored = rows(engine)
    assert list(stored) == ids
    assert all(r.status == "pending" and r.attempts == 0 for r in stored.values())
    assert len({r.message_id for r in stored.values()}) == 2
    assert all(r.message_id.startswith("<") and r.message_id.endswith("@patronage>")
               for r in stored.values())


def test_sink_is_atomic_and_idempotent(tmp_path, engine):
    queue(engine, 1)
    row = next(iter(rows(engine).values()))
    sink = mail.SinkSender(tmp_path / "sink")
    message = mail.build_message(row, "Survey <survey@example.com>")
    sink.send(message)
    (path,) = eml_files(tmp_path / "sink")
    first = path.read_bytes()
    sink.send(mail.build_message(row, "Someone else <x@example.com>"))  # a resend
    assert eml_files(tmp_path / "sink") == [path] and path.read_bytes() == first
    assert os.listdir(tmp_path / "sink") == [path.name]  # no temporary files left
    parsed = email.message_from_bytes(first, policy=policy.default)
    assert parsed["Message-ID"] == row.message_id and parsed["To"] == "p0@example.com"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello 0"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hello 0</p>"


def test_deliver_marks_sent_and_sets_invitation_sent_at(engine, tmp_path):
    with write_transaction(engine) as conn:
        insert_rows(conn, customers, [{"external_id": f"C{i}", "name": "n",
                                       "email": f"c{i}@example.com", "created_at": T0,
                                       "updated_at": T0} for i in range(5)])
    code = program.create_survey(engine, load_template("nps"))
    program.set_status(engine, code, "open")
    program.add_wave(engine, code, "W1", date(2026, 6, 1))
    program.draw_sample(engine, code, "W1", n=5, seed=1, today=date(2026, 6, 1))
    sink = mail.SinkSender(tmp_path)
    assert mail.deliver_pending(engine, sink, batch=3, now=T0) == 3
    assert mail.deliver_pending(engine, sink, batch=3, now=T0 + timedelta(minutes=1)) == 2
    assert mail.deliver_pending(engine, sink, now=T0 + timedelta(hours=1)) == 0
    stored = rows(engine)
    assert all(r.status == "sent" and r.attempts == 1 and r.last_error is None
               for r in stored.values())
    assert len(eml_files(tmp_path)) == 5
    with engine.connect() as conn:
        sent = conn.execute(select(invitations.c.sent_at).order_by(invitations.c.id)).scalars()
        assert list(sent) == [T0] * 3 + [T0 + timedelta(minutes=1)] * 2
    with pytest.raises(ValueError, match="batch"):
        mail.deliver_pending(engine, sink, batch=0)


def test_failures_retry_then_fail(engine):
    queue(engine, 2)

    class Refuses:
        def send(self, message):
            if message["To"] == "p1@example.com":
                raise ConnectionRefusedError("mail server down")

    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        sent = mail.deliver_pending(engine, Refuses(), now=T0 + timedelta(minutes=attempt))
        assert sent == (1 if attempt == 1 else 0)
        bad = rows(engine)[2]
        assert bad.attempts == attempt and "mail server down" in bad.last_error
        assert bad.status == ("failed" if attempt == mail.MAX_ATTEMPTS else "pending")
    assert mail.deliver_pending(engine, Refuses(), now=T0 + timedelta(days=1)) == 0
    assert rows(engine)[2].attempts == mail.MAX_ATTEMPTS


def test_crash_after_write_before_mark_sends_once(engine, tmp_path):
    """A crash between the sink writing the file and the row being marked sent: the claim
    expires after 10 minutes, the message is sent again and the sink keeps exactly one file."""
    queue(engine, 6)
    sink = mail.SinkSender(tmp_path)
    with pytest.raises(SimulatedCrash):
        mail.deliver_pending(engine, CrashAfter(sink, 4), now=T0)
    stored = rows(engine)
    assert sum(r.status == "sent" for r in stored.values()) == 3
    assert len(eml_files(tmp_path)) == 4  # the 4th was written, never marked
    # within the claim timeout the crashed worker's rows are left alone
    assert mail.deliver_pending(engine, sink, now=T0 + timedelta(minutes=9)) == 0
    later = T0 + mail.CLAIM_TIMEOUT + timedelta(seconds=1)
    assert mail.deliver_pending(engine, sink, now=later) == 3
    stored = rows(engine)
    assert all(r.status == "sent" for r in stored.values())
    names = {sink.path_for(r.message_id).name for r in stored.values()}
    assert {p.name for p in eml_files(tmp_path)} == names and len(names) == 6


def test_sigkill_mid_batch_then_recovery(engine, db_url, tmp_path):
    """A worker process killed by SIGKILL after writing its 3rd file; a later run completes the
    batch and every message is in the sink exactly once."""
    queue(engine, 8)
    child = textwrap.dedent(f"""
        import os, signal, sys
        from datetime import datetime
        from patronage.storage import make_engine
        from patronage.surveys import outbox as mail
        sink = mail.SinkSender({str(tmp_path)!r})
        class Killer:
            calls = 0
            def send(self, message):
                sink.send(message)
                Killer.calls += 1
                if Killer.calls == 3:
                    os.kill(os.getpid(), signal.SIGKILL)
        mail.deliver_pending(make_engine(sys.argv[1]), Killer(), now=datetime(2026, 6, 1, 9))
    """)
    done = subprocess.run([sys.executable, "-c", child, db_url], capture_output=True,
                          timeout=60)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert len(eml_files(tmp_path)) == 3
    assert sum(r.status == "sent" for r in rows(engine).values()) == 2
    sink = mail.SinkSender(tmp_path)
    assert mail.deliver_pending(engine, sink, now=T0 + timedelta(minutes=11)) == 6
    stored = rows(engine)
    assert all(r.status == "sent" for r in stored.values())
    assert {p.name for p in eml_files(tmp_path)} == {sink.path_for(r.message_id).name
                                                      for r in stored.values()}


def test_smtp_sender_uses_settings(monkeypatch, engine):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls.append(("quit",))

        def starttls(self):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user, password))

        def send_message(self, message):
            calls.append(("send", message["Message-ID"]))

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    settings = Settings(mail_backend="smtp", smtp_host="mail.example.com", smtp_port=2525,
                        smtp_username="u", smtp_password="p")
    sender = mail.sender_from_settings(settings)
    assert isinstance(sender, mail.SMTPSender)
    queue(engine, 1)
    assert mail.deliver_pending(engine, sender, now=T0, mail_from="s@example.com") == 1
    message_id = rows(engine)[1].message_id
    assert calls == [("connect", "mail.example.com", 2525), ("starttls",), ("login", "u", "p"),
                     ("send", message_id), ("quit",)]
    assert isinstance(mail.sender_from_settings(Settings()), mail.SinkSender)
