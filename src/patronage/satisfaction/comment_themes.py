"""Editing the themes of comments: pin keywords to a named theme, rename a theme, merge themes,
drop an edit. Stored in ``comment_themes`` per scope (``survey:<code>`` or ``cases``).

Every edit is a pinned theme (see :mod:`patronage.analytics.comments.themes`): its comments are
those holding one of its keywords, taken before the other themes are found. Renaming a found
theme (named by its top words, ``设备/故障/维修``) pins those words under the new name; merging
pins the union of the themes' words under one name and drops the merged edits.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, delete, select, update

from patronage.analytics.comments import normalise
from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema_comments import comment_themes

MAX_NAME = 120
MAX_KEYWORDS = 50
MAX_KEYWORD = 40


def scope_of(survey: str | None = None, *, cases: bool = False) -> str:
    """The scope of edits: ``cases`` or ``survey:<code>``."""
    return "cases" if cases else f"survey:{survey}"


def pinned_themes(engine: Engine, scope: str) -> dict[str, list[str]]:
    """The pinned themes of ``scope``, oldest first: name → keywords."""
    t = comment_themes.c
    with engine.connect() as conn:
        rows = conn.execute(select(t.name, t.keywords).where(t.scope == scope).order_by(t.id))
        return {name: list(keywords) for name, keywords in rows}


def _name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise UserError(N_("Give the theme a name."))
    if len(name) > MAX_NAME:
        raise UserError(N_("A theme's name has at most {n} characters."), n=MAX_NAME)
    return name


def _keywords(words) -> list[str]:
    if isinstance(words, str):
        words = words.replace("，", ",").replace("、", ",").split(",")
    kept = list(dict.fromkeys(w.strip() for w in words if w and w.strip()))
    if not kept:
        raise UserError(N_("Give at least one keyword, e.g. 延迟, delay."))
    if len(kept) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD for w in kept):
        raise UserError(N_("At most {n} keywords of at most {m} characters each."),
                        n=MAX_KEYWORDS, m=MAX_KEYWORD)
    if not all(normalise(w) for w in kept):
        raise UserError(N_("A keyword must hold a letter or a character."))
    return kept


def _words_of(engine: Engine, scope: str, theme: str) -> list[str]:
    """A theme's keywords: a pinned theme's own, else a found theme's top words."""
    pinned = pinned_themes(engine, scope)
    if theme in pinned:
        return pinned[theme]
    return [w for w in theme.split("/") if w]


def pin_theme(engine: Engine, scope: str, name: str, keywords) -> None:
    """Pin ``keywords`` (a list, or text separated by commas or 、) to the theme ``name``,
    replacing the keywords it had."""
    name, words = _name(name), _keywords(keywords)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    t = comment_themes.c
    with write_transaction(engine) as conn:
        done = conn.execute(update(comment_themes).where(t.scope == scope, t.name == name)
                            .values(keywords=words, updated_at=now))
        if done.rowcount == 0:
            conn.execute(comment_themes.insert().values(scope=scope, name=name, keywords=words,
                                                        created_at=now, updated_at=now))


def rename_theme(engine: Engine, scope: str, theme: str, new_name: str) -> None:
    """Give ``theme`` (a pinned name or a found theme's ``a/b/c``) the name ``new_name``."""
    new_name = _name(new_name)
    words = _words_of(engine, scope, theme)
    if not words:
        raise UserError(N_("No theme {theme!r} to rename."), theme=theme)
    drop_theme(engine, scope, theme, missing_ok=True)
    pin_theme(engine, scope, new_name, words)


def merge_themes(engine: Engine, scope: str, themes, new_name: str) -> None:
    """One theme ``new_name`` holding the keywords of all ``themes``."""
    themes = [t for t in dict.fromkeys(themes) if t]
    if len(themes) < 2:
        raise UserError(N_("Choose at least two themes to merge."))
    words = [w for theme in themes for w in _words_of(engine, scope, theme)]
    new_name = _name(new_name)
    for theme in themes:
        drop_theme(engine, scope, theme, missing_ok=True)
    pin_theme(engine, scope, new_name, words)


def drop_theme(engine: Engine, scope: str, name: str, *, missing_ok: bool = False) -> None:
    """Forget the edit ``name``: its comments go back to the themes found in the data."""
    t = comment_themes.c
    with write_transaction(engine) as conn:
        gone = conn.execute(delete(comment_themes).where(t.scope == scope, t.name == name))
    if gone.rowcount == 0 and not missing_ok:
        raise UserError(N_("No edited theme {theme!r}."), theme=name)
