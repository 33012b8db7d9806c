"""Where a staff member lands after logging in: agents on their work (``/my``), admins and
analysts on the Overview or on the management view when they chose it (a cookie of this browser,
set by :mod:`patronage.web.dashboards`). The login (:mod:`patronage.web.pages`) asks.
"""

from __future__ import annotations

from fastapi import Request

ANALYSTS = ("admin", "analyst")
HOME_COOKIE = "patronage_home"


def home_of(request: Request, user: dict) -> str:
    """Where ``user`` lands after logging in: agents on their work, others on the Overview
    or the management view when they chose it."""
    if user["role"] not in ANALYSTS:
        return "/my"
    return "/management" if request.cookies.get(HOME_COOKIE) == "management" else "/"


__all__ = ["ANALYSTS", "HOME_COOKIE", "home_of"]
