"""Saved views (migration 0012): a staff member's named filter choices on a dashboard page, to
open again with one click. They live on the same :data:`~patronage.storage.schema.metadata` as
the panel (imported at the end of :mod:`patronage.storage.schema`). A view belongs to one user
(gone with them) and is stored as the page's filter query string, checked when saved
(:mod:`patronage.reporting.saved_views`).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Table, Text, UniqueConstraint,
)

from patronage.storage.schema_base import metadata

#: The pages a view can be saved on.
SAVED_VIEW_PAGES = ("overview", "analysis", "loyalty")
#: The longest name of a view.
SAVED_VIEW_NAME_MAX = 80

saved_views = Table(
    "saved_views",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("page", String(10), nullable=False),
    Column("name", String(SAVED_VIEW_NAME_MAX), nullable=False),
    # The filters as the page's query string without "?" (Filters.to_query).
    Column("query", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("page IN (" + ", ".join(repr(p) for p in SAVED_VIEW_PAGES) + ")",
                    name="page"),
    CheckConstraint(f"length(name) BETWEEN 1 AND {SAVED_VIEW_NAME_MAX}", name="name_length"),
    UniqueConstraint("user_id", "page", "name"),
)

__all__ = ["SAVED_VIEW_NAME_MAX", "SAVED_VIEW_PAGES", "saved_views"]
