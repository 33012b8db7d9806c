"""The interface's translations for code outside the web app (the report command, the worker's
scheduled reports): the same gettext catalogs the pages use, compiled in memory with Babel.

The catalogs are package data of :mod:`patronage.web` (``web/locale/<language>/LC_MESSAGES``);
they are read as files, so nothing of the web app is imported.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from importlib.resources import files

LANGUAGES = ("en", "zh_Hans", "zh_Hant")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The translations of ``language`` (English, the source language, translates nothing)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}: choose one of {', '.join(LANGUAGES)}")
    if language == "en":
        return gettext.NullTranslations()
    po = files("patronage") / "web" / "locale" / language / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(language: str):
    """``gettext`` of ``language``."""
    return translations(language).gettext


__all__ = ["LANGUAGES", "gettext_for", "translations"]
