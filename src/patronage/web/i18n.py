"""Interface languages through gettext catalogs.

The catalogs are ``locale/<language>/LC_MESSAGES/messages.po`` beside this module, compiled in
memory with Babel once per process by :mod:`patronage.catalogs` (which code outside the web app
uses too), so no build step or ``.mo`` file is needed.
"""

from __future__ import annotations

import gettext

from patronage.catalogs import translations

LANGUAGES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
#: ``<html lang>`` values.
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}


def load_translations() -> dict[str, gettext.NullTranslations]:
    """One translations object per interface language (English is the source language)."""
    return {language: translations(language) for language in LANGUAGES}


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    """The language from the cookie, else from ``Accept-Language``, else ``default``."""
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag in ("zh-tw", "zh-hk", "zh-mo", "zh-hant") or tag.startswith("zh-hant"):
            return "zh_Hant"
        if tag.startswith("zh"):
            return "zh_Hans"
        if tag.startswith("en"):
            return "en"
    return default


__all__ = ["HTML_LANG", "LANGUAGES", "load_translations", "negotiate"]
