"""Which texts every supported database can store.

SQLite and PostgreSQL take text as UTF-8: a lone surrogate (``"\\ud800"``, which JSON can
carry as an escape) has no UTF-8 form, so the driver refuses the whole statement, and
PostgreSQL refuses the NUL character in any text. Checking input with :func:`storable_text`
turns either into a message for the one field instead of a failed transaction.
"""

from __future__ import annotations

from typing import Any


def unstorable_reason(text: str) -> str | None:
    """Why ``text`` cannot be stored (a short English phrase), or None when it can."""
    if "\x00" in text:
        return "it contains the NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "it contains an unpaired surrogate character (not valid Unicode)"
    return None


def storable_text(value: Any) -> bool:
    """Whether ``value`` is a text every supported database stores as given."""
    return isinstance(value, str) and unstorable_reason(value) is None


def all_storable(value: Any) -> bool:
    """Whether every text in ``value`` (nested lists and dicts, keys included) is storable."""
    if isinstance(value, str):
        return unstorable_reason(value) is None
    if isinstance(value, dict):
        return all(all_storable(k) and all_storable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(all_storable(v) for v in value)
    return True


__all__ = ["all_storable", "storable_text", "unstorable_reason"]
