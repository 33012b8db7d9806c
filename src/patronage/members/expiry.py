"""Points expiry by the programme's policy, oldest points first (the expiry job).

Points given to a member carry the day they expire (set when they are given, from the
programme's policy: :func:`patronage.members.programme.expiry_date`); from that day on they
cannot be spent. The job takes the points left in every lot whose day has come to the
programme's ``expiry`` account: one transfer per member and expiry day, source key
``expire:<member>:<day>``, so running it twice, or in two workers at once, expires them once.
Which points are left is worked out by :mod:`patronage.members.lots` (oldest earning first).

It is cheap to run every worker round: a day's first run looks at the members with points
whose day came since the last run's day; later runs that day only look at points written
since (points earned by a late import may already be past their day). Two
``worker_cursors`` rows keep the day and the last transfer looked at. A redemption expires the
member's due points first (:func:`expire_member`), so points past their day are never spent
even before the job has run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.members import lots
from patronage.members.ledger import Movement, entries, lock_member, posted, take
from patronage.members.programme import company_today, company_zone, expiry_date, load_policy
from patronage.storage import write_transaction
from patronage.storage.schema_cases import worker_cursors
from patronage.storage.schema_members import point_accounts, point_transfers

DAY_CURSOR = "members:expire:day"
SEEN_CURSOR = "members:expire:seen"
#: Members expired per transaction.
CHUNK = 500


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def expires_for(conn: Connection, earned_on: date) -> date | None:
    """When points earned on ``earned_on`` expire under the programme's policy now."""
    return expiry_date(load_policy(conn), earned_on)


def _post(conn: Connection, member_id: int, member_lots: list[lots.Lot], today: date,
          zone: ZoneInfo) -> int:
    """Expire the lots due by ``today``; points of day D expire at the start of D in the
    company's time zone (stored, like every time, in UTC)."""
    expired = 0
    for day, (points, newest) in lots.due(member_lots, today).items():
        key = f"expire:{member_id}:{day.isoformat()}"
        if posted(conn, key):  # points written late, past a day already expired
            key = f"{key}:{newest}"
        start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
        movement = Movement(kind="expire", points=points, source_key=key,
                            occurred_at=start, expires_on=day)
        if take(conn, member_id, movement, to="expiry") is not None:
            expired += points
    return expired


def expire_member(conn: Connection, member_id: int, today: date, *,
                  timezone: str | ZoneInfo | None = None) -> int:
    """Expire the member's points due on or before ``today`` (the company's day, in
    ``timezone`` or the setting's) on the write connection ``conn`` (the member's accounts are
    locked first); returns the points expired."""
    lock_member(conn, member_id)
    return _post(conn, member_id, lots.open_lots(entries(conn, [member_id])[member_id]), today,
                 timezone if isinstance(timezone, ZoneInfo) else company_zone(timezone))


def _cursors(conn: Connection) -> dict[str, int]:
    rows = dict(conn.execute(select(worker_cursors.c.name, worker_cursors.c.position)
                             .where(worker_cursors.c.name.in_([DAY_CURSOR, SEEN_CURSOR]))).all())
    return {DAY_CURSOR: int(rows.get(DAY_CURSOR, 0)), SEEN_CURSOR: int(rows.get(SEEN_CURSOR, 0))}


def _candidates(conn: Connection, today: date, cursors: dict[str, int]) -> list[int]:
    """Members who may have points due: those with points written since the last run that are
    already past their day, and, on a new day, those with points whose day came since the
    last run's day (the runs before expired everything due by then)."""
    t, a = point_transfers.c, point_accounts.c
    due = (select(t.member_id).join(point_accounts, a.id == t.credit_account_id)
           .where(a.kind == "points", a.balance > 0, t.expires_on <= today))
    found = {int(m) for m in conn.execute(due.where(t.id > cursors[SEEN_CURSOR]).distinct())
             .scalars()}
    if cursors[DAY_CURSOR] < today.toordinal():
        since = date.fromordinal(max(cursors[DAY_CURSOR], 1))
        found |= {int(m) for m in conn.execute(due.where(t.expires_on > since).distinct())
                  .scalars()}
    return sorted(found)


def _move_cursors(conn: Connection, today: date, seen: int) -> None:
    for name, value in ((DAY_CURSOR, today.toordinal()), (SEEN_CURSOR, seen)):
        done = conn.execute(update(worker_cursors).where(worker_cursors.c.name == name,
                                                         worker_cursors.c.position < value)
                            .values(position=value)).rowcount
        if not done and conn.execute(select(worker_cursors.c.name)
                                     .where(worker_cursors.c.name == name)).first() is None:
            savepoint = conn.begin_nested()
            try:
                conn.execute(insert(worker_cursors).values(name=name, position=value))
                savepoint.commit()
            except IntegrityError:  # another worker wrote it first
                savepoint.rollback()


def run_expiry(engine: Engine, *, now: datetime | None = None, today: date | None = None,
               timezone: str | None = None) -> int:
    """Expire every point whose day has come (on or before ``today``: by default the company's
    day at ``now``, in ``timezone`` or the setting's); returns how many members lost points."""
    zone = company_zone(timezone)
    today = today or company_today(now or _now(), zone)
    with engine.connect() as conn:
        cursors = _cursors(conn)
        seen = int(conn.execute(select(func.max(point_transfers.c.id))).scalar() or 0)
        members = _candidates(conn, today, cursors)
    touched = 0
    for start in range(0, len(members), CHUNK):
        chunk = members[start:start + CHUNK]
        with write_transaction(engine) as conn:
            _lock(conn, chunk)
            for member_id, member_entries in entries(conn, chunk).items():
                if _post(conn, member_id, lots.open_lots(member_entries), today, zone):
                    touched += 1
    with write_transaction(engine) as conn:
        _move_cursors(conn, today, seen)
    return touched


def _lock(conn: Connection, member_ids: list[int]) -> None:
    """Lock the members' accounts in one statement, in account order (as single locks are
    taken), so the job and redemptions queue instead of deadlocking."""
    if conn.dialect.name == "sqlite" or not member_ids:
        return
    conn.execute(select(point_accounts.c.id).where(point_accounts.c.member_id.in_(member_ids))
                 .order_by(point_accounts.c.id).with_for_update()).all()


def member_points(conn: Connection, member_id: int, today: date) -> dict:
    """A member's spendable and pending points and what expires next:
    ``{"points": 420, "pending": -30, "due": 0, "expiring": {"on": date, "points": 120}}``
    (``due``: points already past their day that the job has not yet taken; ``expiring`` is
    None when nothing will expire)."""
    member_lots = lots.open_lots(entries(conn, [member_id]).get(member_id, []))
    due = sum(points for points, _newest in lots.due(member_lots, today).values())
    upcoming = lots.next_expiring(member_lots, today)
    rows = dict(conn.execute(select(point_accounts.c.kind, point_accounts.c.balance)
                             .where(point_accounts.c.member_id == member_id)).all())
    return {"points": int(rows.get("points", 0)), "pending": int(rows.get("owed", 0)),
            "due": due,
            "expiring": None if upcoming is None else {"on": upcoming[0], "points": upcoming[1]}}


__all__ = ["CHUNK", "expire_member", "expires_for", "member_points", "run_expiry"]
