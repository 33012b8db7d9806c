"""How the desk is set up for a company: working hours and time zone for the service levels,
the amount above which a remedy needs approval, where links in mail point, the mail language."""

from __future__ import annotations

from dataclasses import dataclass

from patronage.cases.calendar import DEFAULT_HOURS


@dataclass(frozen=True)
class DeskConfig:
    """``timezone=None`` treats stored times as local times (handy in tests); the settings give
    ``Asia/Shanghai`` by default, with stored times in UTC."""

    hours: str = DEFAULT_HOURS
    timezone: str | None = None
    approval_above: float = 500.0
    base_url: str = "http://127.0.0.1:8000"
    language: str = "zh_Hans"

    @classmethod
    def from_settings(cls, settings) -> DeskConfig:
        return cls(hours=settings.business_hours, timezone=settings.timezone,
                   approval_above=settings.remedy_approval_above,
                   base_url=settings.public_base_url or cls.base_url,
                   language=settings.default_language if settings.default_language != "en"
                   else "en")


DEFAULT = DeskConfig()

__all__ = ["DEFAULT", "DeskConfig"]
