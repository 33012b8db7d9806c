"""Scheduled work, run by one worker (``patronage work``): survey triggers, alert rules on new
answers, case follow-up answers (a low one reopens its case), service-level timers and
escalations, and the mail they queue.

Each job is safe to run in two workers at once and after a kill: triggers, rules and timers record
what they did under unique constraints in the same transaction as its effect, and the outbox
claims each message before sending it. So a job is done once however many workers run it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from patronage.care.greetings import run_greetings
from patronage.care.rules import run_rules as run_care_rules
from patronage.care.sms import deliver_sms, sms_sender_from_settings
from patronage.cases.config import DeskConfig
from patronage.cases.followup import check_followups
from patronage.cases.rules import apply_rules
from patronage.cases.timers import run_timers
from patronage.surveys.outbox import deliver_pending, sender_from_settings
from patronage.surveys.triggers import run_triggers


def work_once(engine: Engine, settings, *, now: datetime | None = None) -> dict[str, int]:
    """One round of every job; returns what each did."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    config = DeskConfig.from_settings(settings)
    done = {"invited": run_triggers(engine, now, base_url=settings.public_base_url or None),
            "cases opened": apply_rules(engine, now=now, config=config),
            "cases reopened": check_followups(engine, now=now, config=config),
            "care tasks made": run_care_rules(engine, settings, now=now)}
    timers = run_timers(engine, now=now, config=config)
    done.update({"warnings": timers["warning"], "breaches": timers["breach"],
                 "escalations": timers["escalation"]})
    greeted = run_greetings(engine, settings, now=now)
    done["greetings"] = greeted["greetings"] + greeted["tasks"]
    done["mail sent"] = deliver_pending(engine, sender_from_settings(settings),
                                        mail_from=settings.mail_from)
    done["sms sent"] = deliver_sms(engine, sms_sender_from_settings(settings), now=now)
    return done


__all__ = ["work_once"]
