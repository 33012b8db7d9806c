"""Earning points from imported transactions and survey answers, exactly once (the accrual job).

The worker runs :func:`run_accrual` every round; ``patronage members earn`` runs
:func:`accrue`. What a purchase, a refund or a survey answer earns is decided by
:mod:`patronage.members.points` (the rules are stated there); this module reads the rows,
keeps the work exactly-once and writes the ledger.

**Exactly once.** Transactions are read in id order, in chunks (:data:`CHUNK`, on PostgreSQL
:data:`PG_CHUNK`, reached by doubling from a smaller first chunk, and read by ``COPY``). Each
chunk is one database transaction that writes its transfers, updates the members' cached
balances and moves the cursor (``worker_cursors`` row ``members:earn``:
every transaction with an id up to it is done). A kill mid-run loses the chunk in progress and
nothing else; the next run starts after the last committed chunk. Two workers queue on the
cursor row (locked ``FOR UPDATE`` on PostgreSQL; SQLite admits one writer), and every transfer's source key is unique
(``earn:<transaction id>``, ``bonus:<rule id>:<transaction id>``, ``first:<member id>``,
``referral:<member id>``, ``refund:<transaction id>``, ``survey:<response id>``), so a
transfer is never written twice. On PostgreSQL a run first waits for imports in progress to
commit (a brief ``SHARE`` lock), so that no transaction with a smaller id appears after the
cursor has passed it. A chunk commits without waiting for the disk (SQLite
``synchronous=NORMAL``, PostgreSQL ``synchronous_commit = off``; see
:func:`patronage.storage.write_transaction`): a power cut may lose the last chunks committed,
never part of one, and since the cursor commits with the transfers, a lost chunk is simply not
done and the next run accrues it again; the ledger stays whole.

**Two chunks at once.** While a chunk of transactions is written (inserting its transfers
is most of the job, and SQLite does much of it without holding Python's lock), the next one is
read, its points worked out and its transfers laid out for writing
(:func:`patronage.members.posting.stage_gives`) on a read connection of its own, in a thread
(:mod:`patronage.members.accrual_batch`); the writer then only writes. The prepared chunk reads
the ledger as of the last committed chunk; the chunk being written is added to it (what it gave
under monthly caps) and put right after it (the members it moved up a tier earn at their new
tier: their purchases, and those of members they referred, are worked out again). The writer
commits only once the next chunk's snapshot is taken, so that snapshot never holds the chunk
being written. A prepared chunk is thrown away and prepared again when another worker's run
moved a cursor in between.

**What earns.** Purchases of active members dated on or after the day they joined, up to the
run's time (``until``, by default now). A transaction dated later waits: the cursor stops
before it, later ones are still accrued, and the next run skips those it finds already posted
(``members:earn:seen`` marks how far the accrual has read). Survey responses are accrued the
same way behind ``members:survey``. A member enrolled after their purchases were read (an
imported join date in the past) is caught up at the next run: the members cursor
(``members:earn:members``) says which members the main pass covers, and newer members' earlier
transactions and responses are accrued first. The accrual waits while no earning rule is
switched on (nothing is marked as read); rules apply to what is accrued after they change.

**Within a chunk** a member's tier at the start of the chunk applies, their earnings are posted
before their refunds, and the members who earned are then moved up a tier at once
(:func:`patronage.members.tiers.upgrade_now`). A refund takes back points with the programme's
shortfall policy: ``carry`` leaves a negative pending balance that later earnings settle,
``write_off`` lets the programme bear it; a refund to a closed membership takes nothing back.
A transaction changed by a re-import keeps the points it earned when it was first accrued (a
correction is a refund row).

**Days are the company's** (``PATRONAGE_TIMEZONE``; times are stored in UTC): a purchase's
earning day and expiry, joining day, member day, birthday month and capped month, the upgrades'
day and a run ``until`` a day (each chunk's times are converted a column at a time).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from threading import Event
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from patronage.members.accrual_batch import (
    Accrued, Prepared, Run, accrue_responses, accrue_rows, apply, capped_moves, prepare,
    read_people, response_rows, retier, set_tiers, transaction_rows,
)
from patronage.members.points import MULTIPLIER_KINDS, PURCHASE_KINDS
from patronage.members.posting import Accounts, big_cache
from patronage.members.programme import company_day, company_zone, load_policy
from patronage.storage import write_transaction
from patronage.storage.schema import responses, transactions
from patronage.storage.schema_cases import worker_cursors
from patronage.storage.schema_members import earn_rules, member_tiers, members

#: Transactions per database transaction of the accrual: large, because each commit rewrites
#: much of the ledger's member index (about 0.4 GB of memory at the peak for 200k).
CHUNK = 200_000
#: On PostgreSQL: larger still. Each chunk locks (the transfers' statement trigger) and updates
#: the two rows of every member who earned in it, and so does it again in the next chunk: with
#: 500k instead of 200k per chunk, the server did a third less work for 1M transactions of 100k
#: members (20.7 s of CPU instead of 30.3 s), and the client a seventh less.
PG_CHUNK = 500_000
#: On PostgreSQL, by default, the first chunk is this part of :data:`PG_CHUNK` and each next one
#: twice the one before: nothing is written while the first chunk is read and prepared (about
#: 6 s for 500k transactions), so a small first chunk lets writing start sooner (with the
#: transactions read by COPY, 1M transactions took 18.2-20.1 s instead of 24.4-24.9 s). On
#: SQLite the extra chunks cost more than they saved (every chunk updates most members'
#: balances and tiers again).
PG_RAMP = 8
#: Newly enrolled members caught up per database transaction.
MEMBER_CHUNK = 2_000
CURSOR, SEEN, MEMBERS = "members:earn", "members:earn:seen", "members:earn:members"
SURVEYS, SURVEYS_SEEN = "members:survey", "members:survey:seen"
#: The last run (minutes since 1970) and the last run that earned points, with its totals.
RUN_AT, LAST_AT = "members:earn:run_at", "members:earn:last_at"
LAST_TRANSACTIONS, LAST_POINTS = "members:earn:last_transactions", "members:earn:last_points"
CURSORS = (CURSOR, SEEN, MEMBERS, SURVEYS, SURVEYS_SEEN, RUN_AT, LAST_AT, LAST_TRANSACTIONS,
           LAST_POINTS)
_INT4 = 2**31 - 1
#: Cursors that move only when the accrual works (another worker's run moves them).
_WORK = (CURSOR, SEEN, MEMBERS, SURVEYS, SURVEYS_SEEN)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _minutes(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds() // 60)


# -- cursors -------------------------------------------------------------------------------------

def _ensure_cursors(engine: Engine) -> None:
    with engine.connect() as conn:
        have = set(conn.execute(select(worker_cursors.c.name)
                                .where(worker_cursors.c.name.in_(CURSORS))).scalars())
    for name in CURSORS:
        if name in have:
            continue
        try:
            with write_transaction(engine) as conn:
                conn.execute(insert(worker_cursors).values(name=name, position=0))
        except IntegrityError:  # another worker made it first
            pass


def _lock(conn: Connection) -> dict[str, int]:
    """Lock the accrual's cursor row (the other rows follow it) and read every cursor."""
    c = worker_cursors.c
    query = select(c.position).where(c.name == CURSOR)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    conn.execute(query)
    return {name: int(position) for name, position in conn.execute(
        select(c.name, c.position).where(c.name.in_(CURSORS)))}


def _move(conn: Connection, **positions: int) -> None:
    names = {"tc": CURSOR, "seen": SEEN, "mc": MEMBERS, "rc": SURVEYS, "rseen": SURVEYS_SEEN}
    for key, value in positions.items():
        conn.execute(update(worker_cursors).where(worker_cursors.c.name == names.get(key, key))
                     .values(position=min(int(value), _INT4)))


def _horizon(engine: Engine) -> dict[str, int]:
    """The highest ids of transactions, responses and members whose writers have committed."""
    tables = {"transactions": transactions, "responses": responses, "members": members}
    postgres = engine.dialect.name == "postgresql"
    with (write_transaction(engine) if postgres else engine.connect()) as conn:
        if postgres:
            conn.exec_driver_sql("LOCK TABLE transactions, responses, members IN SHARE MODE")
        return {name: int(conn.execute(select(func.max(t.c.id))).scalar() or 0)
                for name, t in tables.items()}


# -- the passes ----------------------------------------------------------------------------------

def _catch_up(engine: Engine, run: Run, top: dict) -> None:
    """Accrue the earlier transactions and responses of members enrolled since the last run."""
    purchase_rules = any(r["kind"] in PURCHASE_KINDS for r in run.rules)
    survey_rules = any(r["kind"] == "survey_completed" for r in run.rules)
    while True:
        with write_transaction(engine, durable=False) as conn, big_cache(conn):
            cur = _lock(conn)
            mc = cur[MEMBERS]
            if mc >= top["members"]:
                return
            nothing_read = ((not purchase_rules or cur[CURSOR] == 0)
                            and (not survey_rules or cur[SURVEYS] == 0))
            # Before the first accrual nobody has earlier rows to catch up: one step.
            hi = top["members"] if nothing_read else conn.execute(select(members.c.id).where(
                members.c.id > mc, members.c.id <= top["members"]).order_by(members.c.id)
                .offset(MEMBER_CHUNK - 1).limit(1)).scalar() or top["members"]
            read_people(conn, run, hi)
            new = select(members.c.customer_id).where(members.c.id > mc, members.c.id <= hi)
            if purchase_rules and cur[CURSOR] > 0:
                rows = transaction_rows(conn, run, and_(
                    transactions.c.customer_id.in_(new), transactions.c.id <= cur[CURSOR]))
                accrue_rows(conn, run, rows[rows["member_id"] > mc], check=False)
            if survey_rules and cur[SURVEYS] > 0:
                rows = response_rows(conn, run, and_(
                    responses.c.customer_id.in_(new), responses.c.id <= cur[SURVEYS]))
                accrue_responses(conn, run, rows[rows["member_id"] > mc], check=False)
            _move(conn, mc=hi)
            _note(conn, run)


def _stream(engine: Engine, run: Run, top: int, chunk: int, *, table, stamp: str, cursor: str,
            seen: str, accrue, read) -> None:
    """Accrue ``table``'s rows after ``cursor`` dated up to the run's limit, chunk by chunk."""
    after, first_held = None, None
    limit = run.limit
    while True:
        with write_transaction(engine, durable=False) as conn, big_cache(conn):
            cur = _lock(conn)
            after = max(after or 0, cur[cursor])
            if first_held is None:
                first_held = conn.execute(select(func.min(table.c.id)).where(
                    table.c.id > cur[cursor], table.c.id <= top,
                    table.c[stamp] > limit)).scalar() or top + 1
            # The chunk ends at its last row dated up to the limit (or at the top).
            hi = conn.execute(select(table.c.id).where(
                table.c.id > after, table.c.id <= top, table.c[stamp] <= limit)
                .order_by(table.c.id).offset(chunk - 1).limit(1)).scalar() or top
            if hi > after:
                window = and_(table.c.id > after, table.c.id <= hi, table.c[stamp] <= limit)
                read_people(conn, run, cur[MEMBERS])
                accrue(conn, run, read(conn, run, window), check=after < cur[seen])
            _move(conn, **{cursor: max(cur[cursor], min(hi, first_held - 1)),
                           seen: max(cur[seen], hi)})
            _note(conn, run)
        after = hi
        if hi >= top:
            return


def _chunk_end(conn: Connection, run: Run, after: int, top: int, chunk: int) -> int:
    """The id ending the chunk of transactions after ``after``: its last row dated up to the
    run's limit (or the top)."""
    t = transactions.c
    return conn.execute(select(t.id).where(t.id > after, t.id <= top, t.occurred_at <= run.limit)
                        .order_by(t.id).offset(chunk - 1).limit(1)).scalar() or top


def _window(run: Run, after: int, hi: int):
    t = transactions.c
    return and_(t.id > after, t.id <= hi, t.occurred_at <= run.limit)


@dataclass
class _Ahead:
    """A chunk prepared on a connection of its own: the transactions after ``after`` up to
    ``hi`` (``prepared`` is None when none of them is a covered member's)."""

    after: int
    hi: int
    prepared: Prepared | None


def _reading(engine: Engine) -> Connection:
    """A connection whose reads all see one snapshot of the database (SQLite: a deferred
    transaction in WAL mode; PostgreSQL: repeatable read)."""
    conn = engine.connect()
    if engine.dialect.name != "sqlite":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _prepare_ahead(engine: Engine, run: Run, after: int, top: int, chunk: int, *, check: bool,
                   pending: pd.DataFrame | None, started: Event) -> _Ahead:
    """Prepare the chunk after ``after`` (in a thread, while the chunk before is written);
    ``started`` is set once its snapshot is taken, which the writer waits for before it
    commits: the snapshot then holds every chunk but the one being written (``pending``)."""
    try:
        with _reading(engine) as conn:
            conn.execute(select(worker_cursors.c.position).limit(1))  # the snapshot starts
            started.set()
            hi = _chunk_end(conn, run, after, top, chunk)
            rows = transaction_rows(conn, run, _window(run, after, hi)) if hi > after else None
            if rows is None or rows.empty:
                return _Ahead(after, hi, None)
            return _Ahead(after, hi, prepare(conn, run, rows, check=check, pending=pending))
    finally:
        started.set()


def _purchases(engine: Engine, run: Run, top: int, chunk: int, ramp: bool = False) -> None:
    """Accrue the transactions after the cursor dated up to the run's limit, chunk by chunk,
    each chunk prepared on a read connection while the chunk before it is written (the two
    overlap: the database writes without holding Python's lock). A prepared chunk is used only
    when no other worker's run moved a cursor in between; else it is prepared again.
    ``ramp``: the first chunk is ``chunk // PG_RAMP`` and each next one twice the one before,
    up to ``chunk``."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database in (None, "", ":memory:"):
        _stream(engine, run, top, chunk, table=transactions, stamp="occurred_at",
                cursor=CURSOR, seen=SEEN, accrue=accrue_rows, read=transaction_rows)
        return
    pool = ThreadPoolExecutor(1, thread_name_prefix="patronage-accrual")
    after, first_held, ahead, left, moved = None, None, None, None, None
    size = chunk if not ramp else max(1, chunk // PG_RAMP)
    try:
        while True:
            with write_transaction(engine, durable=False) as conn, big_cache(conn):
                cur = _lock(conn)
                planned, ahead = (ahead.result() if ahead is not None else None), None
                after = max(after or 0, cur[CURSOR])
                if first_held is None:
                    first_held = conn.execute(select(func.min(transactions.c.id)).where(
                        transactions.c.id > cur[CURSOR], transactions.c.id <= top,
                        transactions.c.occurred_at > run.limit)).scalar() or top + 1
                covered = run.people_upto
                read_people(conn, run, cur[MEMBERS])
                if moved is not None:
                    set_tiers(run, moved)
                if (planned is not None and planned.after == after and left is not None
                        and all(cur[k] == left[k] for k in _WORK)
                        and run.people_upto == covered):
                    hi, prepared = planned.hi, planned.prepared
                    if prepared is not None and moved is not None:
                        prepared = retier(conn, run, prepared, moved)
                else:
                    hi, prepared = _chunk_end(conn, run, after, top, size), None
                    if hi > after:
                        rows = transaction_rows(conn, run, _window(run, after, hi))
                        if not rows.empty:
                            prepared = prepare(conn, run, rows, check=after < cur[SEEN])
                started, moved = Event(), None
                if hi < top:
                    pending = capped_moves(run, prepared.moves) if prepared else None
                    size = min(chunk, size * 2)
                    ahead = pool.submit(_prepare_ahead, engine, run, hi, top, size,
                                        check=hi < cur[SEEN], pending=pending, started=started)
                else:
                    started.set()
                if prepared is not None:
                    moved = apply(conn, run, prepared)
                left = {**cur, CURSOR: max(cur[CURSOR], min(hi, first_held - 1)),
                        SEEN: max(cur[SEEN], hi)}
                _move(conn, tc=left[CURSOR], seen=left[SEEN])
                _note(conn, run)
                started.wait()
            after = hi
            if hi >= top:
                break
    finally:
        if ahead is not None:
            ahead.cancel()
        pool.shutdown(wait=True)
    if moved is not None:
        set_tiers(run, moved)


def _note(conn: Connection, run: Run) -> None:
    """Record the run (and, when it earned, its totals so far) for the rules page."""
    stamp = _minutes(run.now)
    _move(conn, **{RUN_AT: stamp})
    if run.done.transactions or run.done.points or run.done.points_taken:
        _move(conn, **{LAST_AT: stamp, LAST_TRANSACTIONS: run.done.transactions,
                       LAST_POINTS: run.done.points})


def _active_rules(conn: Connection, day: date) -> list[dict]:
    r = earn_rules.c
    rows = conn.execute(select(earn_rules).where(r.active.is_(True)).order_by(r.id)).mappings()
    return [dict(row) for row in rows if row["starts_on"] is None or row["starts_on"] <= day]


def _until(until, zone: ZoneInfo) -> datetime | None:
    """The run's limit (naive UTC): ``until``, or the end of that day in the company's."""
    if until is None or isinstance(until, datetime):
        return until
    end = datetime.combine(until + timedelta(days=1), time(), tzinfo=zone)
    return end.astimezone(UTC).replace(tzinfo=None) - timedelta(microseconds=1)


def accrue(engine: Engine, *, until: date | datetime | None = None,
           now: datetime | None = None, chunk: int | None = None,
           timezone: str | None = None) -> Accrued:
    """Earn the points of every transaction and survey response not yet accrued, dated up to
    ``until`` (a day counts whole, in the company's time zone: ``timezone``, by default the
    setting; by default up to ``now``), ``chunk`` transactions per database transaction (by
    default :data:`CHUNK`, on PostgreSQL :data:`PG_CHUNK` reached by doubling from a smaller
    first chunk, :data:`PG_RAMP`); returns what was done."""
    ramp = chunk is None and engine.dialect.name != "sqlite"
    chunk = chunk or (CHUNK if engine.dialect.name == "sqlite" else PG_CHUNK)
    now = now or _now()
    zone = company_zone(timezone)
    limit = _until(until, zone) or now
    day = company_day(limit, zone)
    with engine.connect() as conn:
        rules = _active_rules(conn, day)
        multipliers = {code: float(x) for code, x in conn.execute(
            select(member_tiers.c.code, member_tiers.c.multiplier))}
        multiplier_rules = conn.execute(select(earn_rules.c.id).where(
            earn_rules.c.kind.in_(MULTIPLIER_KINDS))).scalars().all()
        policy = load_policy(conn)
    run = Run(rules, multipliers, list(multiplier_rules), policy, None, limit, now, Accrued(),
               zone=zone, day=day)
    if not rules:
        return run.done
    _ensure_cursors(engine)
    top = _horizon(engine)
    with engine.connect() as conn:
        run.accounts = Accounts(conn)
    _catch_up(engine, run, top)
    if any(r["kind"] in PURCHASE_KINDS for r in rules):
        _purchases(engine, run, top["transactions"], chunk, ramp)
    if any(r["kind"] == "survey_completed" for r in rules):
        _stream(engine, run, top["responses"], chunk, table=responses, stamp="submitted_at",
                cursor=SURVEYS, seen=SURVEYS_SEEN, accrue=accrue_responses, read=response_rows)
    return run.done


def run_accrual(engine: Engine, *, now: datetime | None = None) -> int:
    """Earn the points of every transaction not yet accrued; returns how many purchases
    earned points (the worker's job; see :func:`accrue`)."""
    return accrue(engine, now=now).transactions


def last_run(engine: Engine) -> dict:
    """When the accrual last ran and last earned points (with how many purchases earned how
    many points), and how many transactions wait for it."""
    with engine.connect() as conn:
        found = dict(conn.execute(select(worker_cursors.c.name, worker_cursors.c.position)
                                  .where(worker_cursors.c.name.in_(CURSORS))).all())
        waiting = conn.execute(select(func.count()).select_from(transactions).where(
            transactions.c.id > found.get(CURSOR, 0))).scalar_one()

    def moment(name):
        value = found.get(name)
        return datetime(1970, 1, 1) + timedelta(minutes=value) if value else None

    return {"run_at": moment(RUN_AT), "earned_at": moment(LAST_AT),
            "transactions": int(found.get(LAST_TRANSACTIONS, 0)),
            "points": int(found.get(LAST_POINTS, 0)), "waiting": int(waiting)}


__all__ = ["CHUNK", "PG_CHUNK", "Accrued", "accrue", "last_run", "run_accrual"]
