"""Texts for customers: a template in the customer's language with the customer's fields filled.

A template is a mapping ``{"en": ..., "zh_Hans": ..., "zh_Hant": ...}``; placeholders are
``{name}``, ``{first_name}``, ``{external_id}``, ``{tier}``, ``{phone}``, ``{email}`` and any
``extra`` field (``{product}``, ``{offer}``, ``{occasion}`` ...). An unknown placeholder stays as
written rather than failing: the text is shown to an agent, who sees what is missing.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

LANGUAGES = ("en", "zh_Hans", "zh_Hant")
#: Column suffixes of per-language text columns (``script_zh_hans`` ...).
COLUMN_SUFFIX = {"en": "en", "zh_Hans": "zh_hans", "zh_Hant": "zh_hant"}


def customer_language(customer: Mapping, default: str = "zh_Hans") -> str:
    """The language to address ``customer`` in: their own, else ``default``."""
    language = customer.get("language")
    return language if language in LANGUAGES else (default if default in LANGUAGES else "en")


def pick(texts: Mapping[str, str | None], language: str) -> str | None:
    """The text for ``language``; else Simplified for Traditional (and back), else English,
    else any text given."""
    order = [language, {"zh_Hant": "zh_Hans", "zh_Hans": "zh_Hant"}.get(language), "en",
             *LANGUAGES]
    for key in order:
        if key and texts.get(key):
            return texts[key]
    return None


def from_columns(row: Mapping, prefix: str) -> dict[str, str | None]:
    """``{"en": row[prefix_en], "zh_Hans": row[prefix_zh_hans], ...}`` of a table row."""
    return {lang: row.get(f"{prefix}_{suffix}") for lang, suffix in COLUMN_SUFFIX.items()}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str | None, customer: Mapping, extra: Mapping | None = None) -> str:
    """``template`` with the customer's fields (and ``extra``) filled in."""
    if not template:
        return ""
    name = str(customer.get("name") or "")
    fields = _Keep({key: "" if value is None else value for key, value in customer.items()})
    fields["first_name"] = name.split()[0] if " " in name.strip() else name
    fields.update({k: "" if v is None else v for k, v in (extra or {}).items()})
    formatter = string.Formatter()
    try:
        return formatter.vformat(template, (), fields)
    except (ValueError, IndexError, AttributeError, KeyError):
        return template


__all__ = ["COLUMN_SUFFIX", "LANGUAGES", "customer_language", "fill", "from_columns", "pick"]
