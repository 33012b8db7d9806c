"""The care calendar (placeholder; filled in below)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def customer_zone(customer: Mapping, default: str = "Asia/Shanghai") -> ZoneInfo:
    """The customer's own time zone (``customers.timezone``), else ``default``."""
    for name in (customer.get("timezone"), default, "Asia/Shanghai"):
        if name:
            try:
                return ZoneInfo(str(name))
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def local_time(now: datetime, zone: ZoneInfo) -> datetime:
    """The naive-UTC instant ``now`` as a wall-clock time in ``zone`` (naive)."""
    return now.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The date it is in ``zone`` at the naive-UTC instant ``now``."""
    return local_time(now, zone).date()


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in ``zone`` as naive UTC."""
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
