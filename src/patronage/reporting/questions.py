"""Stored answers shown as their questions and answers in the reader's language.

The question of an answer code comes from the survey's own questionnaire (its stored definition),
else from the relationship survey built from the index system (the codes the index system
defines), else, for a competitor rating ``competitor.<name>.<item>``, from the rated item and the
competitor's name. Only a code no questionnaire knows is shown as it is.
"""

from __future__ import annotations

import math
from functools import cache

from sqlalchemy import Engine, select

from patronage.messages import N_
from patronage.storage.schema import surveys
from patronage.surveys.definition import KANO_CHOICES, Item, Questionnaire, parse_definition
from patronage.surveys.templates import relationship_from_index_system

CHOSEN, NOT_CHOSEN = N_("yes"), N_("no")
COMPETITOR_PREFIX = "competitor."


def _texts_of(q: Questionnaire, language: str) -> dict[str, tuple[Item, str]]:
    """Answer code -> (item, question text) for every answer code of ``q``."""
    out: dict[str, tuple[Item, str]] = {}
    for item in q.items:
        text = q.text(item, language) if (item.text or item.functional) else item.code
        codes = item.answer_codes()
        if item.type == "pair":
            out[codes[0]] = (item, q.text(item.perception_text, language)
                             if item.perception_text else text)
            out[codes[1]] = (item, q.text(item.expectation_text, language)
                             if item.expectation_text else text)
        elif item.type == "kano":
            out[codes[0]] = (item, q.text(item.functional, language))
            out[codes[1]] = (item, q.text(item.dysfunctional, language))
        elif item.type == "multiple":
            for option, code in zip(item.options, codes, strict=True):
                out[code] = (item, f"{text} · {q.text(option.text, language)}")
        else:
            out[codes[0]] = (item, text)
    return out


@cache
def _index_system_texts(language: str) -> dict[str, tuple[Item, str]]:
    return _texts_of(relationship_from_index_system(), language)


class QuestionTexts:
    """Questions and answers of the surveys in ``engine`` in ``language`` (read once each)."""

    def __init__(self, engine: Engine, language: str, gettext=lambda s: s):
        self.engine, self.language, self.gettext = engine, language, gettext
        self._surveys: dict[str, dict[str, tuple[Item, str]]] = {}
        self._titles: dict[str, str] = {}

    def _survey(self, survey: str) -> dict[str, tuple[Item, str]]:
        if survey not in self._surveys:
            with self.engine.connect() as conn:
                row = conn.execute(select(surveys.c.definition, surveys.c.title)
                                   .where(surveys.c.code == survey)).first()
            definition, title = row if row is not None else (None, None)
            try:
                q = parse_definition(definition or {})
                texts = _texts_of(q, self.language)
                if not title or title in q.title.values():  # not renamed: the reader's words
                    title = q.text(q.title, self.language)
            except ValueError:  # no questionnaire stored (imported responses)
                texts = {}
            self._surveys[survey], self._titles[survey] = texts, title or survey
        return self._surveys[survey]

    def title(self, survey: str) -> str:
        """The survey's title: in the reader's language when it is its questionnaire's title,
        as stored when the survey was given a title of its own (or has no questionnaire)."""
        self._survey(survey)
        return self._titles[survey]

    def _lookup(self, survey: str | None, code: str) -> tuple[Item | None, str | None]:
        for texts in (self._survey(survey) if survey else {}, _index_system_texts(self.language)):
            if code in texts:
                return texts[code]
        if code.startswith(COMPETITOR_PREFIX) and code.count(".") >= 2:
            name, item = code[len(COMPETITOR_PREFIX):].rsplit(".", 1)
            _item, text = self._lookup(survey, item)
            return None, f"{text or item} · {name}"
        return None, None

    def question(self, survey: str | None, code: str) -> str:
        """The question asked for answer ``code`` of ``survey``."""
        _item, text = self._lookup(survey, code)
        return text or code

    def answer(self, survey: str | None, code: str, value_num, value_text) -> str:
        """The answer as the respondent chose it: an option's or Kano choice's text, yes/no for
        a ticked option, a number, or the respondent's own text ("" when missing)."""
        item, _text = self._lookup(survey, code)
        if _missing(value_text):
            value_text = None
        if _missing(value_num):
            value_num = None
        if item is not None and item.type == "single" and value_text is not None:
            for option in item.options:
                if option.code == value_text:
                    return _pick(option.text, self.language)
        if value_text is not None:
            return str(value_text)
        if value_num is None:
            return ""
        if item is not None and item.type == "multiple":
            return self.gettext(CHOSEN if value_num else NOT_CHOSEN)
        if item is not None and item.type == "kano":
            for number, texts in KANO_CHOICES:
                if number == value_num:
                    return f"{int(number)} · {_pick(texts, self.language)}"
        return number_text(value_num)


def _pick(texts: dict[str, str], language: str) -> str:
    return texts.get(language) or next(iter(texts.values()), "")


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False


def number_text(value) -> str:
    """A number as people write it: whole numbers without decimals, others with up to two."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.2f}".rstrip("0")


__all__ = ["QuestionTexts", "number_text"]
