"""Interface languages through gettext catalogs.

The catalogs are ``locale/<language>/LC_MESSAGES/messages.po`` beside this module. They are
compiled in memory with Babel when the app is created, so no build step or ``.mo`` file is needed.
"""

from __future__ import annotations

import gettext
import io
from importlib.resources import files

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = {"en": "English", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
#: ``<html lang>`` values.
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans", "zh_Hant": "zh-Hant"}


def load_translations() -> dict[str, gettext.NullTranslations]:
    """One translations object per interface language (English is the source language)."""
    out: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
    locale_dir = files("patronage.web") / "locale"
    for language in LANGUAGES:
        if language == "en":
            continue
        po = locale_dir / language / "LC_MESSAGES" / "messages.po"
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        out[language] = gettext.GNUTranslations(buffer)
    return out


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
