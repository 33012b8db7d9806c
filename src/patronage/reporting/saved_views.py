"""Saved views: a staff member's named filter choices on a dashboard page (Overview, Analysis,
Loyalty), listed on the page's filter bar and opened with one click.

A view is stored as the page's query string in the form :meth:`Filters.to_query` writes it: the
query given is parsed with :meth:`Filters.from_query` first, so a malformed date, a reversed
range or an over-long value is refused when the view is saved, never when it is opened, and
parameters that are not filters are left out. Each user sees, opens and deletes only their own
views; a second view of the same name on the same page is refused unless it is to replace the
first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from patronage.messages import N_, UserError
from patronage.reporting.filters import Filters
from patronage.storage import write_transaction
from patronage.storage.schema_views import SAVED_VIEW_NAME_MAX, SAVED_VIEW_PAGES, saved_views

#: Where each page is.
PAGE_PATHS = {"overview": "/", "analysis": "/analysis", "loyalty": "/loyalty"}
#: The most views one user keeps on one page.
MAX_VIEWS_PER_PAGE = 50
#: The query parameters kept besides the filters, per page (the Analysis page's choice to
#: include the responses flagged by cleaning).
_EXTRA = {"analysis": ("flagged",)}


class DuplicateView(UserError):
    """The user already has a view of this name on this page (``existing`` is its id)."""

    def __init__(self, name: str, existing: int):
        super().__init__(N_("You already have a view named “{name}” on this page. Replace it, "
                            "or choose another name."), name=name)
        self.existing = existing


def page_of_path(path: str) -> str | None:
    """The page a path shows (``/analysis`` → ``analysis``), or None for other pages."""
    return next((page for page, where in PAGE_PATHS.items() if where == path), None)


def _page(page: str) -> str:
    if page not in SAVED_VIEW_PAGES:
        raise UserError(N_("Views can be saved on the Overview, Analysis and Loyalty pages "
                           "only."))
    return page


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise UserError(N_("Give the view a name."))
    if len(name) > SAVED_VIEW_NAME_MAX:
        raise UserError(N_("A view's name has at most {limit} characters."),
                        limit=SAVED_VIEW_NAME_MAX)
    return name


def canonical_query(page: str, query: str | Mapping[str, str]) -> str:
    """The query string a view of ``page`` stores for ``query`` (a query string or parsed
    parameters): its filters, checked and in their usual order, and the page's own options.
    A filter that cannot be parsed is a :class:`UserError`."""
    params = dict(parse_qsl(query, keep_blank_values=True)) if isinstance(query, str) else query
    filters = Filters.from_query(params)
    chosen = {key: "true" for key in _EXTRA.get(_page(page), ())
              if str(params.get(key) or "").strip().lower() in ("true", "1", "on")}
    return filters.to_query(**chosen)


def _row(row) -> dict:
    query = row.query
    return {"id": row.id, "page": row.page, "name": row.name, "query": query,
            "url": PAGE_PATHS[row.page] + (f"?{query}" if query else ""),
            "created_at": row.created_at}


def save_view(engine: Engine, user_id: int, page: str, name: str, query: str | Mapping[str, str],
              *, replace: bool = False) -> dict:
    """Store ``query`` as the user's view ``name`` on ``page`` and return it. A view of the same
    name is a :class:`DuplicateView` unless ``replace`` (then its filters are replaced)."""
    page, name = _page(page), _name(name)
    stored = canonical_query(page, query)
    mine = (saved_views.c.user_id == user_id) & (saved_views.c.page == page)
    with write_transaction(engine) as conn:
        existing = conn.execute(select(saved_views.c.id).where(
            mine & (saved_views.c.name == name))).scalar()
        if existing is not None and not replace:
            raise DuplicateView(name, existing)
        if existing is not None:
            conn.execute(update(saved_views).where(saved_views.c.id == existing)
                         .values(query=stored, created_at=datetime.now()))
            view_id = existing
        else:
            count = conn.execute(select(func.count()).select_from(saved_views)
                                 .where(mine)).scalar()
            if count >= MAX_VIEWS_PER_PAGE:
                raise UserError(N_("You have {limit} saved views on this page already: delete "
                                   "one first."), limit=MAX_VIEWS_PER_PAGE)
            try:
                view_id = conn.execute(saved_views.insert().values(
                    user_id=user_id, page=page, name=name, query=stored,
                    created_at=datetime.now())).inserted_primary_key[0]
            except IntegrityError:  # the same name saved at the same moment elsewhere
                raise DuplicateView(name, 0) from None
        row = conn.execute(select(saved_views).where(saved_views.c.id == view_id)).one()
    return _row(row)


def list_views(engine: Engine, user_id: int, page: str | None = None) -> list[dict]:
    """The user's views (of ``page`` when given), by page and name."""
    query = select(saved_views).where(saved_views.c.user_id == user_id)
    if page is not None:
        query = query.where(saved_views.c.page == _page(page))
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(saved_views.c.page, saved_views.c.name)).all()
    return [_row(row) for row in rows]


def delete_view(engine: Engine, user_id: int, view_id: int) -> dict:
    """Delete the user's view ``view_id`` and return what it was; a view that is not theirs
    (or no longer exists) is a :class:`UserError`."""
    mine = (saved_views.c.id == view_id) & (saved_views.c.user_id == user_id)
    with write_transaction(engine) as conn:
        row = conn.execute(select(saved_views).where(mine)).first()
        if row is None:
            raise UserError(N_("There is no such saved view: it may have been deleted "
                               "already."))
        conn.execute(delete(saved_views).where(mine))
    return _row(row)


__all__ = ["MAX_VIEWS_PER_PAGE", "PAGE_PATHS", "DuplicateView", "canonical_query",
           "delete_view", "list_views", "page_of_path", "save_view"]
