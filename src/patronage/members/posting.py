"""Posting many movements at once: the bulk form of :func:`patronage.members.ledger.give` and
:func:`~patronage.members.ledger.take` for the accrual job, with the same invariants.

* Every movement is one double-entry transfer (two for a take beyond the spendable balance),
  written once per ``source_key`` (the unique constraint refuses a second: the caller's
  transaction then rolls back whole).
* The members' cached balances change in the same transaction, by the sum of their transfers
  (``UPDATE … SET balance = balance + x``), so they always equal the sum of the transfers.
* :func:`give_many` settles a member's negative pending balance from what it gives them, as
  ``ledger.give`` does: a ``settle`` transfer per movement until the balance is settled
  (written after the chunk's credits, in one statement).
* :func:`take_many` locks the members' accounts, reads their spendable balances and takes a
  member's movements in order: what the balance cannot cover is carried as a negative pending
  balance or written off, as ``ledger.take`` does with ``shortfall``; the check constraint
  still refuses a negative spendable balance.

Transfers go in by ``executemany`` on SQLite and by binary ``COPY`` on PostgreSQL
(:mod:`patronage.storage.importing.pgcopy`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, insert

from patronage.members.ledger import programme_account
from patronage.members.programme import Policy, company_times, expiry_date
from patronage.storage.importing.pgcopy import SIGNATURE, TRAILER, binary_chunk, binary_plan
from patronage.storage.schema_members import point_transfers

#: Members per ``IN (…)`` list of a query.
IN_CHUNK = 2_000
#: Values per SQLite statement (its limit is 32,766).
_SQLITE_VARIABLES = 30_000
#: Transfers per piece of a PostgreSQL COPY (encoded while the piece before is sent).
_COPY_ROWS = 20_000
_TRANSFER_KINDS = {"debit_account_id": "int", "credit_account_id": "int", "points": "int",
                   "member_id": "int", "transaction_id": "optint", "rule_id": "optint",
                   "response_id": "optint", "occurred_at": "datetime", "earned_on": "date",
                   "expires_on": "date", "created_at": "datetime", "kind": "text",
                   "source_key": "text", "base_points": "optint"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def in_chunks(values, size: int = IN_CHUNK):
    """``values`` (a sequence) in slices of at most ``size``, for ``IN (…)`` lists."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def rows_in(conn: Connection, sql: str, values) -> list[tuple]:
    """The rows of driver SQL whose ``{in}`` stands for a list of ``values`` (``"SELECT id
    FROM members WHERE id {in}"``): ``IN (?, …)`` in slices on SQLite, ``= ANY(%s)`` on
    PostgreSQL. Many values at once: far cheaper than building an expanding ``IN`` for each
    slice."""
    values = list(values)
    if not values:
        return []
    if conn.dialect.name != "sqlite":
        return list(map(tuple, conn.exec_driver_sql(sql.replace("{in}", "= ANY(%s)"),
                                                    (values,)).fetchall()))
    found: list[tuple] = []
    for part in in_chunks(values, _SQLITE_VARIABLES // 3):
        marks = ", ".join("?" * len(part))
        found += conn.exec_driver_sql(sql.replace("{in}", f"IN ({marks})"), tuple(part)).fetchall()
    return list(map(tuple, found))


class Accounts:
    """The members' account ids (``points`` and ``owed``) and the programme's, looked up once
    per member and kept for the run (account ids never change). Shared by the accrual's writer
    and the thread preparing its next chunk: additions and the look-up arrays are made under a
    lock."""

    def __init__(self, conn: Connection) -> None:
        self._lock = threading.Lock()
        self.points: dict[int, int] = {}
        self.owed: dict[int, int] = {}
        self._arrays: dict[str, tuple[int, np.ndarray]] = {}
        self.programme = {kind: programme_account(conn, kind)
                          for kind in ("issue", "write_off")}
        for member, kind, account in conn.exec_driver_sql(
                "SELECT member_id, kind, id FROM point_accounts WHERE member_id IS NOT NULL"):
            (self.points if kind == "points" else self.owed)[int(member)] = int(account)

    def load(self, conn: Connection, member_ids) -> None:
        ids = pd.unique(np.asarray(member_ids, dtype=np.int64))
        missing = sorted(int(m) for m in ids[self._lookup(ids, "points") < 0])
        found = rows_in(conn, "SELECT member_id, kind, id FROM point_accounts WHERE member_id "
                              "{in}", missing)
        with self._lock:
            for member, kind, account in found:
                (self.points if kind == "points" else self.owed)[int(member)] = int(account)

    def _lookup(self, members: np.ndarray, kind: str) -> np.ndarray:
        """The accounts of ``members`` (-1 for none) through an array indexed by member id,
        made again when accounts were added (a dict look-up per row costs far more)."""
        table = self.points if kind == "points" else self.owed
        with self._lock:
            cached = self._arrays.get(kind)
            if cached is None or cached[0] != len(table):
                size = max(table, default=0) + 1
                array = np.full(size, -1, dtype=np.int64)
                if table:
                    array[np.fromiter(table.keys(), np.int64, len(table))] = np.fromiter(
                        table.values(), np.int64, len(table))
                cached = self._arrays[kind] = (len(table), array)
        array = cached[1]
        inside = (members >= 0) & (members < len(array))
        found = np.full(len(members), -1, dtype=np.int64)
        found[inside] = array[members[inside]]
        return found

    def of(self, members: np.ndarray, kind: str = "points") -> np.ndarray:
        found = self._lookup(np.asarray(members, dtype=np.int64), kind)
        if (found < 0).any():
            raise KeyError(int(np.asarray(members)[found < 0][0]))
        return found


def _as_text(values: pd.Series, unit: str) -> np.ndarray:
    """Times (``unit`` "us": ``YYYY-MM-DD HH:MM:SS.ffffff``, as SQLAlchemy writes them to
    SQLite) or days (``"D"``) as text in an object array, None for none. Each distinct value is
    formatted once (a chunk's days, expiry days and write time are few)."""
    array = values.to_numpy()
    array = (np.array(array.tolist(), dtype=f"datetime64[{unit}]") if array.dtype == object
             else array.astype(f"datetime64[{unit}]"))
    codes, unique = pd.factorize(array)
    text = np.datetime_as_string(np.asarray(unique, dtype=f"datetime64[{unit}]"), unit=unit)
    if unit == "us" and len(text):  # the T between day and time becomes a space
        text = text.astype("U26")
        text.view(np.uint32).reshape(len(text), 26)[:, 10] = ord(" ")
    table = np.append(text.astype(object), None)
    return table[codes]  # the sentinel -1 (NaT) picks the appended None


def _sqlite_column(column: pd.Series, kind: str) -> np.ndarray:
    """A column's values as SQLite takes them, in an object array."""
    if kind == "datetime":
        return _as_text(column, "us")
    if kind == "date":
        return _as_text(column, "D")
    if kind == "int":
        return column.to_numpy(dtype=np.int64).astype(object)
    if kind == "optint":
        array = column.to_numpy(dtype="float64")
        missing = np.isnan(array)
        out = np.where(missing, 0, array).astype(np.int64).astype(object)
        out[missing] = None
        return out
    return column.to_numpy(dtype=object)


@contextmanager
def big_cache(conn: Connection):
    """On SQLite, a 256 MiB page cache while a chunk is written (the default 2 MiB makes the
    ledger's index updates thrash), put back afterwards."""
    if conn.dialect.name != "sqlite":
        yield
        return
    dbapi = conn.connection.driver_connection
    previous = dbapi.execute("PRAGMA cache_size").fetchone()[0]
    dbapi.execute("PRAGMA cache_size=-262144")
    try:
        yield
    finally:
        dbapi.execute(f"PRAGMA cache_size={int(previous)}")


@dataclass
class Laid:
    """Transfers laid out for writing (:func:`lay_out`): the frame, and on SQLite its values
    as the driver takes them, a row per transfer (an object array)."""

    dialect: str
    frame: pd.DataFrame
    table: np.ndarray | None = None

    def subset(self, keep: np.ndarray) -> Laid:
        table = None if self.table is None else self.table[keep]
        return Laid(self.dialect, self.frame[keep], table)


def lay_out(dialect: str, frame: pd.DataFrame) -> Laid:
    """``frame`` (columns of ``point_transfers``) ready for :func:`write_laid`; columns empty
    on every row are left out (the database's NULL). On SQLite the values are converted here,
    which the accrual does for the next chunk while the one before is written."""
    frame = frame[[c for c in frame.columns if frame[c].notna().any()]]
    if dialect != "sqlite" or frame.empty:
        return Laid(dialect, frame)
    table = np.empty((len(frame), len(frame.columns)), dtype=object)
    for j, column in enumerate(frame.columns):
        table[:, j] = _sqlite_column(frame[column], _TRANSFER_KINDS[column])
    return Laid(dialect, frame, table)


def write_laid(conn: Connection, laid: Laid) -> int:
    """Write transfers laid out by :func:`lay_out`; returns how many."""
    frame = laid.frame
    if frame.empty:
        return 0
    columns = list(frame.columns)
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "sqlite":
        # Many rows per statement: each statement has its fixed costs, which row-by-row
        # executemany would pay on every row. The values go row after row into one flat list.
        row = f'({", ".join("?" for _ in columns)})'
        per = max(1, _SQLITE_VARIABLES // len(columns))
        values = laid.table.ravel().tolist()
        dbapi = conn.connection.driver_connection
        width = per * len(columns)
        for start in range(0, len(values), width):
            part = values[start:start + width]
            dbapi.execute(f"INSERT INTO point_transfers ({names}) VALUES "
                          + ", ".join([row] * (len(part) // len(columns))), part)
        return len(frame)
    plan = binary_plan(conn, "point_transfers", frame, _TRANSFER_KINDS)
    if plan is None:  # not expected: every column has a binary form
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(insert(point_transfers), records)
        return len(frame)
    cursor = conn.connection.driver_connection.cursor()
    try:
        # A queued writer sends each piece from a thread of its own while the next piece is
        # encoded, so encoding (here) and ingesting (the server) overlap.
        from psycopg.copy import QueuedLibpqWriter

        with cursor.copy(f"COPY point_transfers ({names}) FROM STDIN (FORMAT binary)",
                         writer=QueuedLibpqWriter(cursor)) as copy:
            copy.write(SIGNATURE)
            for start in range(0, len(frame), _COPY_ROWS):
                copy.write(binary_chunk(frame.iloc[start:start + _COPY_ROWS], plan).data)
            copy.write(TRAILER)
    finally:
        cursor.close()
    return len(frame)


def insert_transfers(conn: Connection, frame: pd.DataFrame) -> int:
    """Write the transfers of ``frame`` (columns of ``point_transfers``); returns how many.
    Columns empty on every row are left out (the database's NULL)."""
    if frame.empty:
        return 0
    return write_laid(conn, lay_out(conn.dialect.name, frame))


def add_to_balances(conn: Connection, changes: dict[int, int]) -> None:
    """Add ``{account id: points}`` to the cached balances (in account order)."""
    changes = {int(k): int(v) for k, v in changes.items() if int(v) != 0}
    if not changes:
        return
    ids = sorted(changes)
    deltas = [changes[i] for i in ids]
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.executemany(
            "UPDATE point_accounts SET balance = balance + ? WHERE id = ?",
            zip(deltas, ids, strict=True))
        return
    conn.exec_driver_sql(
        "UPDATE point_accounts AS a SET balance = a.balance + d.delta "
        "FROM unnest(%(ids)s::int[], %(deltas)s::int[]) AS d(id, delta) WHERE a.id = d.id",
        {"ids": ids, "deltas": deltas})


def expiry_dates(policy: Policy, earned_on: pd.Series) -> pd.Series:
    """:func:`patronage.members.programme.expiry_date` of each earning day (NaT: never)."""
    days = pd.to_datetime(earned_on).dt.normalize()
    codes, unique = pd.factorize(days)
    ends = np.array([np.datetime64(expiry_date(policy, pd.Timestamp(day).date()) or "NaT", "D")
                     for day in unique], dtype="datetime64[D]")
    return pd.Series(ends[codes] if len(unique) else np.array([], dtype="datetime64[D]"),
                     index=earned_on.index).astype("datetime64[s]")


def _owing(conn: Connection, members) -> set[int]:
    """Members among ``members`` with a negative pending balance (the few owing members are
    read at once, cheaper than looking up every member of a chunk)."""
    owing = {int(m) for (m,) in conn.exec_driver_sql(
        "SELECT member_id FROM point_accounts WHERE kind = 'owed' AND balance < 0")}
    return owing & {int(m) for m in pd.unique(np.asarray(members, dtype=np.int64))}


@dataclass
class Staged:
    """What :func:`give_many` writes for ``moves``, laid out ahead (:func:`stage_gives`): the
    movements with their earning and expiry days, and their transfers in member order."""

    moves: pd.DataFrame
    laid: Laid

    def replaced(self, drop: np.ndarray, other: Staged | None) -> Staged:
        """These movements without those of the transactions ``drop`` (ids), with ``other``'s
        (None: none) instead, the transfers in member order again."""
        mine = ~np.isin(self.moves["transaction_id"].to_numpy(dtype="float64"), drop)
        laid_mine = ~np.isin(self.laid.frame["transaction_id"].to_numpy(dtype="float64"), drop)
        if other is None:
            return Staged(self.moves[mine].reset_index(drop=True), self.laid.subset(laid_mine))
        moves = pd.concat([self.moves[mine], other.moves], ignore_index=True)
        frame = pd.concat([self.laid.frame[laid_mine], other.laid.frame], ignore_index=True)
        order = np.lexsort((frame["occurred_at"].to_numpy(), frame["member_id"].to_numpy()))
        frame = frame.iloc[order].reset_index(drop=True)
        mine, theirs = self.laid, other.laid
        if mine.table is None or theirs.table is None or list(mine.frame.columns) != list(
                theirs.frame.columns):  # PostgreSQL, or other columns: laid out again
            return Staged(moves, lay_out(mine.dialect, frame))
        table = np.concatenate([mine.table[laid_mine], theirs.table])[order]
        return Staged(moves, Laid(mine.dialect, frame, table))


def stage_gives(conn: Connection, moves: pd.DataFrame, accounts: Accounts, policy: Policy, *,
                now: datetime) -> Staged:
    """Lay out what :func:`give_many` writes for ``moves`` (it reads only account ids, on any
    connection: the accrual stages the next chunk while the one before is written)."""
    if "earned_on" in moves and moves["earned_on"].notna().all():
        earned_on = pd.to_datetime(moves["earned_on"]).dt.normalize()
    else:
        earned_on = company_times(moves["occurred_at"]).dt.normalize()
    moves = moves.assign(earned_on=earned_on)
    moves = moves.assign(expires_on=expiry_dates(policy, moves["earned_on"]))
    accounts.load(conn, moves["member_id"])
    members = moves["member_id"].to_numpy(dtype=np.int64)
    occurred = pd.to_datetime(moves["occurred_at"]).to_numpy()
    # In member order: the ledger's member and account indexes then take the rows in key
    # order (twice as fast on a large ledger as in transaction order). The columns are put in
    # that order before the frame is made (a stable sort, as numpy arrays).
    order = np.lexsort((occurred, members))
    frame = pd.DataFrame({
        "debit_account_id": accounts.programme["issue"],
        "credit_account_id": accounts.of(members)[order],
        "points": moves["points"].to_numpy(dtype=np.int64)[order],
        "kind": moves["kind"].to_numpy()[order], "member_id": members[order],
        "source_key": moves["source_key"].to_numpy()[order],
        "transaction_id": moves["transaction_id"].to_numpy(dtype="float64")[order],
        "rule_id": moves["rule_id"].to_numpy(dtype="float64")[order],
        "response_id": moves["response_id"].to_numpy(dtype="float64")[order],
        "base_points": (moves["base_points"].to_numpy(dtype="float64")[order]
                        if "base_points" in moves else np.nan),
        "occurred_at": occurred[order],
        "earned_on": pd.to_datetime(moves["earned_on"]).to_numpy(dtype="datetime64[s]")[order],
        "expires_on": pd.to_datetime(moves["expires_on"]).to_numpy(
            dtype="datetime64[s]")[order],
        "created_at": pd.Timestamp(now)})
    return Staged(moves, lay_out(conn.dialect.name, frame))


def give_many(conn: Connection, moves: pd.DataFrame, accounts: Accounts, policy: Policy, *,
              now: datetime | None = None, staged: Staged | None = None) -> int:
    """Credit each movement (columns of :data:`patronage.members.points.MOVEMENT_COLUMNS`) to
    its member from the ``issue`` account, earned on its ``earned_on`` day (the company's day
    of ``occurred_at`` when it has none: a purchase at 01:00 on 1 April in Shanghai is stored
    at 17:00 UTC on 31 March, and was earned on 1 April) and expiring by ``policy``; returns
    the points given. ``staged``: the movements laid out ahead by :func:`stage_gives`."""
    if moves.empty:
        return 0
    if staged is None:
        staged = stage_gives(conn, moves, accounts, policy, now=now or _now())
    moves, laid = staged.moves, staged.laid
    owing = _owing(conn, moves["member_id"])
    # Lock the owing members' accounts and read what they owe before anything is written.
    owed = _locked_balances(conn, owing) if owing else {}
    changes: dict[int, int] = {}
    if not laid.frame.empty:
        write_laid(conn, laid)
        credit = laid.frame["credit_account_id"].to_numpy(dtype=np.int64)
        accounts_credited, which = np.unique(credit, return_inverse=True)
        sums = np.bincount(which, weights=laid.frame["points"].to_numpy(dtype=np.int64))
        changes = dict(zip(accounts_credited.tolist(), sums.astype(np.int64).tolist(),
                           strict=True))
    if owing:
        settles = _settles(laid.frame, owing, owed, accounts, now or _now())
        insert_transfers(conn, settles)
        for debit, credit, points in zip(settles["debit_account_id"].tolist(),
                                         settles["credit_account_id"].tolist(),
                                         settles["points"].tolist(), strict=True):
            changes[debit] = changes.get(debit, 0) - points
            changes[credit] = changes.get(credit, 0) + points
    add_to_balances(conn, changes)
    return int(moves["points"].sum())


def _settles(frame: pd.DataFrame, owing: set[int], balances: dict[int, int],
             accounts: Accounts, now: datetime) -> pd.DataFrame:
    """The transfers settling the negative pending balances of the ``owing`` members from the
    points just given to them (``frame``: the credits, a member's in the order they settle;
    ``balances``: the members' locked balances by account id), as ``ledger.give`` settles a
    member's pending balance from each movement until it is settled: each settling transfer
    (kind ``settle``, key ``settle:<source key>``) moves ``min(points given, still owed)``
    from the member's spendable account to the pending one."""
    mine = frame[frame["member_id"].isin(list(owing)).to_numpy()]
    members = mine["member_id"].to_numpy(dtype=np.int64)
    spend_ids, owed_ids = accounts.of(members), accounts.of(members, "owed")
    owed = -np.fromiter((min(balances.get(int(a), 0), 0) for a in owed_ids), dtype=np.int64,
                        count=len(owed_ids))
    points = mine["points"].to_numpy(dtype=np.int64)
    before = pd.Series(points).groupby(members, sort=False).cumsum().to_numpy() - points
    settled = np.clip(owed - before, 0, points)
    keep = settled > 0
    rows = mine[keep]
    return pd.DataFrame({
        "debit_account_id": spend_ids[keep], "credit_account_id": owed_ids[keep],
        "points": settled[keep], "kind": "settle", "member_id": members[keep],
        "source_key": ("settle:" + rows["source_key"].astype(str)).to_numpy(dtype=object),
        **{column: (rows[column].to_numpy(dtype="float64") if column in rows
                    else np.full(len(rows), np.nan))
           for column in ("transaction_id", "rule_id", "response_id")},
        "occurred_at": rows["occurred_at"].to_numpy(), "created_at": pd.Timestamp(now)})


def _locked_balances(conn: Connection, members) -> dict[int, int]:
    """Lock the members' accounts (PostgreSQL ``FOR UPDATE``, in account order) and read their
    balances: ``{account id: balance}``."""
    lock = "" if conn.dialect.name == "sqlite" else " FOR UPDATE"
    return {int(i): int(b) for i, b in rows_in(
        conn, f"SELECT id, balance FROM point_accounts WHERE member_id {{in}} ORDER BY id{lock}",
        sorted({int(m) for m in members}))}


def take_many(conn: Connection, moves: pd.DataFrame, accounts: Accounts, *, shortfall: str,
              to: str = "issue", now: datetime | None = None) -> int:
    """Debit each movement (``member_id, kind, points, source_key, occurred_at,
    transaction_id``, optionally ``base_points``) from its member, in the order given, to the
    programme account ``to``; what the spendable balance cannot cover is ``carry``-ed as a
    negative pending balance or ``write_off``-ed (see :func:`patronage.members.ledger.take`;
    the base points go on the first transfer of each movement). Returns the points taken from
    spendable balances."""
    if moves.empty:
        return 0
    if shortfall not in ("carry", "write_off"):
        raise ValueError(f"shortfall is 'carry' or 'write_off'; not {shortfall!r}")
    now = now or _now()
    moves = moves.reset_index(drop=True)
    accounts.load(conn, moves["member_id"])
    balances = _locked_balances(conn, moves["member_id"])
    members = moves["member_id"].to_numpy(dtype=np.int64)
    spend_ids, owed_ids = accounts.of(members), accounts.of(members, "owed")
    wanted = moves["points"].to_numpy(dtype=np.int64)
    before = moves.assign(p=wanted).groupby("member_id", sort=False)["p"].cumsum().to_numpy() \
        - wanted
    spendable = np.fromiter((balances[int(i)] for i in spend_ids), dtype=np.int64,
                            count=len(spend_ids))
    taken = np.clip(spendable - before, 0, wanted)
    rest = wanted - taken
    target = programme_account(conn, to)
    keys = moves["source_key"].astype(str)
    common = {"member_id": members, "transaction_id": moves["transaction_id"].to_numpy("float64"),
              "occurred_at": pd.to_datetime(moves["occurred_at"]).to_numpy()}
    first = pd.DataFrame({**common, "debit_account_id": spend_ids, "credit_account_id": target,
                          "points": taken, "kind": moves["kind"].to_numpy(),
                          "source_key": keys.to_numpy()})
    carry = shortfall == "carry"
    second = pd.DataFrame({
        **common, "debit_account_id": owed_ids if carry else accounts.programme["write_off"],
        "credit_account_id": target, "points": rest,
        "kind": moves["kind"].to_numpy() if carry else "write_off",
        "source_key": np.where(taken > 0, (keys + ":rest").to_numpy(), keys.to_numpy())})
    base = (moves["base_points"].to_numpy(dtype="float64") if "base_points" in moves
            else np.full(len(moves), np.nan))
    first["base_points"] = base
    second["base_points"] = np.where(taken > 0, np.nan, base)
    frame = pd.concat([first[taken > 0], second[rest > 0]], ignore_index=True)
    frame = frame.assign(rule_id=np.nan, response_id=np.nan, earned_on=None, expires_on=None,
                         created_at=pd.Timestamp(now))
    insert_transfers(conn, frame)
    changes: dict[int, int] = {}
    for account, points in zip(spend_ids, taken, strict=True):
        changes[int(account)] = changes.get(int(account), 0) - int(points)
    if carry:
        for account, points in zip(owed_ids, rest, strict=True):
            changes[int(account)] = changes.get(int(account), 0) - int(points)
    add_to_balances(conn, changes)
    return int(taken.sum())


__all__ = ["Accounts", "IN_CHUNK", "Laid", "Staged", "add_to_balances", "big_cache", "expiry_dates",
           "give_many", "in_chunks", "insert_transfers", "lay_out", "rows_in", "stage_gives",
           "take_many", "write_laid"]
