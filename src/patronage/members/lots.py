"""Which of a member's points are left from which earning, oldest first (pure; no database).

Every credit to a member's spendable account is a *lot*: the points it gave, the day they count
as earned and the day they expire (None: never; from that day on they cannot be spent). Every debit from the account consumes lots,
oldest earning day first (ties: the lot written first), so the points left are always the
newest; an expiry debit consumes the lots that expired by its date first. Entries are read in
the order they were written (transfer id), which is the order the balance moved in: a debit
only ever consumes lots that existed when it was written, and the ledger's balance check
guarantees they were enough.

The points left in all lots always add up to the spendable balance; :func:`open_lots` raises
when they would not (a ledger that does not add up).
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Entry:
    """One transfer as it touched the member's spendable account: ``points`` is positive for a
    credit (a lot), negative for a debit. ``expires_on`` on an expiry debit is the day it
    expired."""

    id: int
    points: int
    earned_on: date
    expires_on: date | None = None
    kind: str = ""


@dataclass
class Lot:
    """Points given by one credit and what is left of them."""

    transfer_id: int
    earned_on: date
    expires_on: date | None
    points: int
    left: int


def _take(lots: list[Lot], points: int) -> int:
    for lot in lots:
        if points == 0:
            break
        used = min(lot.left, points)
        lot.left -= used
        points -= used
    return points


def open_lots(entries: Iterable[Entry]) -> list[Lot]:
    """Every lot of the entries with the points left in it, oldest earning day first."""
    lots: list[Lot] = []
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.points > 0:
            insort(lots, Lot(entry.id, entry.earned_on, entry.expires_on, entry.points,
                             entry.points), key=lambda lot: (lot.earned_on, lot.transfer_id))
            continue
        wanted = -entry.points
        if entry.kind == "expire" and entry.expires_on is not None:
            wanted = _take([lot for lot in lots if lot.expires_on is not None
                            and lot.expires_on <= entry.expires_on], wanted)
        if _take(lots, wanted):
            raise ValueError(f"transfer {entry.id} takes more points than the member's lots "
                             "hold: the ledger does not add up")
    return lots


def left(lots: Iterable[Lot]) -> int:
    """The points left in the lots (the spendable balance)."""
    return sum(lot.left for lot in lots)


def due(lots: Iterable[Lot], on: date) -> dict[date, tuple[int, int]]:
    """The points left in lots that expire on or before ``on``, by expiry day:
    ``{day: (points, id of the newest such lot)}``."""
    found: dict[date, tuple[int, int]] = {}
    for lot in lots:
        if lot.left and lot.expires_on is not None and lot.expires_on <= on:
            points, newest = found.get(lot.expires_on, (0, 0))
            found[lot.expires_on] = (points + lot.left, max(newest, lot.transfer_id))
    return dict(sorted(found.items()))


def next_expiring(lots: Iterable[Lot], after: date) -> tuple[date, int] | None:
    """The next day after ``after`` on which points expire, and how many: ``(day, points)``,
    or None when none are due to expire."""
    days: dict[date, int] = {}
    for lot in lots:
        if lot.left and lot.expires_on is not None and lot.expires_on > after:
            days[lot.expires_on] = days.get(lot.expires_on, 0) + lot.left
    if not days:
        return None
    first = min(days)
    return first, days[first]


__all__ = ["Entry", "Lot", "due", "left", "next_expiring", "open_lots"]
