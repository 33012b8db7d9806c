"""The draws of a survey (the invitations one sample created together) and withdrawing a draw
whose mail has not gone out.

A draw is the set of invitations :func:`patronage.surveys.program.draw_sample` wrote in one
transaction: they share the survey, the wave and the moment they were created. A draw can be
withdrawn while none of its mails was sent or is being sent and nobody has opened or answered
it; its invitations and their queued mail are then deleted together, as if it had never been
drawn.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, case, delete, func, or_, select

from patronage.messages import N_, UserError
from patronage.storage.engine import write_transaction
from patronage.storage.schema import drafts, invitations, outbox, surveys, waves

_COLUMNS = ["drawn_at", "wave", "channel", "invitations", "mails_queued", "mails_sent",
            "responded", "withdrawable"]


def _survey_id(conn, code: str, *, lock: bool = False) -> int:
    query = select(surveys.c.id).where(surveys.c.code == code)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    found = conn.execute(query).scalar()
    if found is None:
        raise UserError(N_("There is no survey {code!r}; create it first or check the code."),
                        code=code)
    return int(found)


def _touched(conn, invitation_ids) -> int:
    """How many of ``invitation_ids`` were sent, opened or answered, or have mail that is being
    or has been sent (nothing of theirs may be taken back)."""
    i, o = invitations.c, outbox.c
    touched = select(i.id).where(i.id.in_(invitation_ids) & or_(
        i.sent_at.is_not(None), i.reminded_at.is_not(None), i.responded_at.is_not(None),
        i.id.in_(select(drafts.c.invitation_id).where(drafts.c.invitation_id.is_not(None))),
        i.id.in_(select(o.invitation_id).where(
            (o.status != "pending") | o.claimed_at.is_not(None) | (o.attempts > 0)))))
    return len(conn.execute(touched).all())


def list_draws(engine: Engine, code: str, limit: int = 20) -> pd.DataFrame:
    """The latest ``limit`` draws of survey ``code``, newest first: ``drawn_at, wave, channel,
    invitations, mails_queued, mails_sent, responded, withdrawable``."""
    i, o = invitations.c, outbox.c
    with engine.connect() as conn:
        survey_id = _survey_id(conn, code)
        mails = (select(o.invitation_id,
                        func.sum(case((o.status == "pending", 1), else_=0)).label("queued"),
                        func.sum(case((o.status == "sent", 1), else_=0)).label("sent"))
                 .where(o.invitation_id.is_not(None)).group_by(o.invitation_id).subquery())
        rows = conn.execute(
            select(i.created_at, waves.c.name, func.min(i.channel),
                   func.count(i.id), func.coalesce(func.sum(mails.c.queued), 0),
                   func.coalesce(func.sum(mails.c.sent), 0),
                   func.count(i.responded_at))
            .select_from(invitations)
            .outerjoin(waves, waves.c.id == i.wave_id)
            .outerjoin(mails, mails.c.invitation_id == i.id)
            .where(i.survey_id == survey_id)
            .group_by(i.created_at, waves.c.name)
            .order_by(i.created_at.desc()).limit(limit)).all()
        out = []
        for at, wave, channel, count, queued, sent, responded in rows:
            ids = select(i.id).where((i.survey_id == survey_id) & (i.created_at == at))
            out.append((at, wave, channel, int(count), int(queued), int(sent), int(responded),
                        _touched(conn, ids) == 0))
    return pd.DataFrame(out, columns=_COLUMNS)


def parse_drawn_at(text: str | None) -> datetime:
    """The moment of a draw as the survey page sends it back (ISO format)."""
    try:
        return datetime.fromisoformat(str(text or "").strip())
    except ValueError:
        raise UserError(N_("There is no such draw; reload the survey page and choose one from "
                           "its list of draws.")) from None


def withdraw_draw(engine: Engine, code: str, drawn_at: datetime) -> int:
    """Delete the draw of survey ``code`` made at ``drawn_at`` with its queued mail; returns
    how many invitations were withdrawn. Refused when any of its mail was sent (or is being
    sent) or any invitation was opened or answered."""
    i = invitations.c
    with write_transaction(engine) as conn:
        survey_id = _survey_id(conn, code, lock=True)
        ids = select(i.id).where((i.survey_id == survey_id) & (i.created_at == drawn_at))
        found = conn.execute(ids).scalars().all()
        if not found:
            raise UserError(N_("There is no such draw; reload the survey page and choose one "
                               "from its list of draws."))
        if conn.dialect.name != "sqlite":  # hold the queued mail against the mail worker
            conn.execute(select(outbox.c.id).where(outbox.c.invitation_id.in_(found))
                         .with_for_update())
        touched = _touched(conn, found)
        if touched:
            raise UserError(N_("This draw cannot be withdrawn: {count} of its invitations were "
                               "sent, opened or answered already. Close the wave or the survey "
                               "instead."), count=touched)
        conn.execute(delete(outbox).where(outbox.c.invitation_id.in_(found)))
        conn.execute(delete(invitations).where(i.id.in_(found)))
    return len(found)


__all__ = ["list_draws", "parse_drawn_at", "withdraw_draw"]
