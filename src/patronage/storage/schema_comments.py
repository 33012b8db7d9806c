"""Comment analytics' table: the themes people named or edited (migration 0010).

A row is a theme pinned to keywords for one scope of comments (``survey:<code>`` for a survey's
comments, ``cases`` for case descriptions): every comment holding one of its keywords belongs to
it, before themes are found in the rest. Renaming a found theme pins its words under the new
name; merging themes pins the union of their words under one name. It lives on the same
:data:`~patronage.storage.schema.metadata` as the panel (imported at the end of
:mod:`patronage.storage.schema`).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, UniqueConstraint

from patronage.storage.schema_base import metadata

comment_themes = Table(
    "comment_themes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("scope", String(120), nullable=False),
    Column("name", String(120), nullable=False),
    # The keywords, a JSON list of strings, matched on the comments' normal form.
    Column("keywords", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("scope", "name"),
)

__all__ = ["comment_themes"]
