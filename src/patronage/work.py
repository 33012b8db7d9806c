"""Scheduled work, run by one worker (``patronage work``): survey triggers, alert rules on new
answers, case follow-up answers (a low one reopens its case), care follow-up rules, service-level
timers and escalations, care greetings, the membership programme's points accrual, expiry and
tier reviews, reminders of overdue improvement actions, alerts of breached service standards,
the mail and text messages they queue, and (PostgreSQL) the transactions' monthly partitions for
this month and the next ones.

Each job is safe to run in two workers at once and after a kill: triggers, rules and timers record
what they did under unique constraints in the same transaction as its effect, and the outbox
claims each message before sending it. So a job is done once however many workers run it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from patronage.actions.reminders import run_reminders as run_action_reminders
from patronage.care.greetings import run_greetings
from patronage.care.rules import run_rules as run_care_rules
from patronage.care.sms import deliver_sms, sms_sender_from_settings
from patronage.cases.config import DeskConfig
from patronage.cases.followup import check_followups
from patronage.cases.rules import apply_rules
from patronage.cases.timers import run_timers
from patronage.members.accrual import run_accrual
from patronage.members.expiry import run_expiry
from patronage.members.tiers import run_reviews
from patronage.reporting.report_mail import run_schedules
from patronage.standards.alerts import run_standard_alerts
from patronage.storage.partitions import ensure_ahead as make_partitions_ahead
from patronage.surveys.outbox import deliver_pending, sender_from_settings
from patronage.surveys.triggers import run_triggers

LOG = logging.getLogger("patronage.work")


def work_once(engine: Engine, settings, *, now: datetime | None = None) -> dict[str, int]:
    """One round of every job; returns what each did.

    A job that fails is logged with its traceback (logger ``patronage.work``) and counted under
    ``"failed"``; the other jobs still run, so one bad rule cannot stop the mail. Its work was
    done in transactions, so nothing of the failed part was kept, and the next round retries it.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    config = DeskConfig.from_settings(settings)
    failed: list[str] = []

    def job(name: str, run, empty):
        try:
            return run()
        except Exception:  # noqa: BLE001 - logged in full, retried next round
            LOG.exception("worker job %r failed; the other jobs go on", name)
            failed.append(name)
            return empty

    done = {
        "invited": job("survey triggers", lambda: run_triggers(
            engine, now, base_url=settings.public_base_url or None), 0),
        "cases opened": job("alert rules", lambda: apply_rules(engine, now=now, config=config), 0),
        "cases reopened": job("case follow-ups",
                              lambda: check_followups(engine, now=now, config=config), 0),
        "care tasks made": job("care rules", lambda: run_care_rules(engine, settings, now=now), 0),
    }
    timers = job("service-level timers", lambda: run_timers(engine, now=now, config=config),
                 {"warning": 0, "breach": 0, "escalation": 0})
    done.update({"warnings": timers["warning"], "breaches": timers["breach"],
                 "escalations": timers["escalation"]})
    greeted = job("greetings", lambda: run_greetings(engine, settings, now=now),
                  {"greetings": 0, "tasks": 0})
    done["greetings"] = greeted["greetings"] + greeted["tasks"]
    done["points earned"] = job("points accrual", lambda: run_accrual(engine, now=now), 0)
    done["points expired"] = job("points expiry", lambda: run_expiry(engine, now=now), 0)
    done["tier changes"] = job("tier reviews", lambda: run_reviews(engine, now=now), 0)
    done["actions reminded"] = job("action reminders",
                                   lambda: run_action_reminders(engine, now=now, config=config), 0)
    done["standards breached"] = job(
        "service standard alerts", lambda: run_standard_alerts(engine, now=now, config=config), 0)
    done["reports queued"] = job("scheduled reports",
                                 lambda: run_schedules(engine, settings, now=now), 0)
    done["partitions made"] = job("monthly partitions",
                                  lambda: make_partitions_ahead(engine, now=now), 0)
    done["mail sent"] = job("mail", lambda: deliver_pending(
        engine, sender_from_settings(settings), mail_from=settings.mail_from), 0)
    done["sms sent"] = job("text messages", lambda: deliver_sms(
        engine, sms_sender_from_settings(settings), now=now), 0)
    if failed:
        done["failed"] = len(failed)
    return done


__all__ = ["work_once"]
