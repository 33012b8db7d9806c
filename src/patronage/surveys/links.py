"""What a survey link leads to, looked up without changing anything.

An invitation token (``/s/<token>``) or an open link (``/o/<token>``) resolves to a
:class:`SurveyLink`: the survey, its parsed questionnaire (cached per definition version), the
invitation and its customer, and the draft saved so far. A GET of the survey page only reads,
so it is safe to repeat and to be prefetched by mail scanners. Anything that is not shaped like
one of our tokens (URL-safe Base64) is unknown without a query.
"""

from __future__ import annotations

import string
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from patronage.storage.schema import drafts, invitations, responses, surveys
from patronage.surveys.definition import Questionnaire, parse_definition

_MAX_TOKEN = 64
_TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True)
class SurveyLink:
    """What a survey link (an invitation token or an open link) leads to.

    ``invitation_id``, ``customer_pk`` and ``token`` are None for an open link, whose own token
    is ``open_token``. ``version`` is the survey definition's version the questionnaire was
    parsed from. ``response_id`` is set when the invitation was answered already; ``draft``
    holds the saved answers (``answers``, ``page``, ``resume_key``, ``started_at``) when there
    is one.
    """

    survey_id: int
    survey_code: str
    title: str
    language: str
    questionnaire: Questionnaire
    version: int = 1
    open_token: str | None = None
    invitation_id: int | None = None
    token: str | None = None
    customer_pk: int | None = None
    wave_id: int | None = None
    design_weight: float = 1.0
    response_id: int | None = None
    draft: dict | None = None
    touchpoint_id: int | None = None


def _token_ok(token: Any) -> bool:
    """Whether ``token`` can be one of ours (URL-safe Base64, as ``secrets.token_urlsafe``
    makes them), so nothing else reaches a query."""
    return (isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN
            and _TOKEN_CHARS.issuperset(token))


def _draft_of(conn, condition) -> dict | None:
    row = conn.execute(select(drafts).where(condition)).first()
    if row is None:
        return None
    return {"answers": dict(row.answers), "page": row.page, "resume_key": row.resume_key,
            "started_at": row.started_at}


_PARSED: dict[tuple[str, int, int], Questionnaire] = {}
_PARSED_LOCK = threading.Lock()


def stored_questionnaire(conn, survey_id: int, version: int, definition,
                         code: str) -> Questionnaire:
    """The parsed questionnaire of a survey row, cached by (survey id, version).

    A stored definition changes only through a new version (see ``update_definition``), so
    the cache never serves a stale questionnaire; it saves a parse on every submission. The
    database's URL is part of the key (one process may serve several databases).
    """
    key = (conn.engine.url.render_as_string(hide_password=True), int(survey_id), int(version))
    found = _PARSED.get(key)
    if found is None:
        found = parse_definition(definition, name=f"survey {code}")
        with _PARSED_LOCK:
            if len(_PARSED) > 512:
                _PARSED.clear()
            _PARSED[key] = found
    return found


def _link_from_invitation(conn, token: str, *, statuses=("open",)) -> SurveyLink | None:
    i, s = invitations.c, surveys.c
    row = conn.execute(
        select(i.id, i.customer_id, i.wave_id, i.design_weight, i.touchpoint_id,
               s.id.label("survey_id"), s.code,
               s.title, s.language, s.status, s.definition, s.version)
        .join(surveys, s.id == i.survey_id).where(i.token == token)).first()
    if row is None or row.status not in statuses:
        return None
    response_id = conn.execute(select(responses.c.id)
                               .where(responses.c.invitation_id == row.id)).scalar()
    return SurveyLink(
        survey_id=row.survey_id, survey_code=row.code, title=row.title, language=row.language,
        questionnaire=stored_questionnaire(conn, row.survey_id, row.version, row.definition,
                                           row.code),
        version=row.version, invitation_id=row.id, token=token, customer_pk=row.customer_id,
        wave_id=row.wave_id, touchpoint_id=row.touchpoint_id,
        design_weight=float(row.design_weight), response_id=response_id,
        draft=_draft_of(conn, drafts.c.invitation_id == row.id))


def resolve_token(engine: Engine, token: str) -> SurveyLink | None:
    """The invitation behind ``token``, or None when there is none or its survey is not open.

    Reads only: calling it any number of times changes nothing.
    """
    if not _token_ok(token):
        return None
    with engine.connect() as conn:
        return _link_from_invitation(conn, token)


def resolve_open_link(engine: Engine, open_token: str, *,
                      resume_key: str | None = None) -> SurveyLink | None:
    """The open survey behind an anonymous-link token, or None. Reads only.

    With ``resume_key`` the draft saved under it (for this survey) is included.
    """
    if not _token_ok(open_token):
        return None
    with engine.connect() as conn:
        row = conn.execute(select(surveys).where(surveys.c.open_token == open_token)).first()
        if row is None or row.status != "open":
            return None
        draft = None
        if _token_ok(resume_key):
            draft = _draft_of(conn, (drafts.c.resume_key == resume_key)
                              & (drafts.c.survey_id == row.id)
                              & drafts.c.invitation_id.is_(None))
    return SurveyLink(survey_id=row.id, survey_code=row.code, title=row.title,
                      language=row.language,
                      questionnaire=stored_questionnaire(conn, row.id, row.version,
                                                         row.definition, row.code),
                      version=row.version, open_token=open_token, draft=draft)


def resolve_link(engine: Engine, kind: str, token: str, *,
                 resume_key: str | None = None) -> SurveyLink | None:
    """:func:`resolve_token` for ``kind`` "s" (an invitation link ``/s/…``), else
    :func:`resolve_open_link` (``/o/…``, with the draft saved under ``resume_key``)."""
    if kind == "s":
        return resolve_token(engine, token)
    return resolve_open_link(engine, token, resume_key=resume_key)


__all__ = ["SurveyLink", "resolve_link", "resolve_open_link", "resolve_token",
           "stored_questionnaire"]
