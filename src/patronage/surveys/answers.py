"""Checking a respondent's submitted form against a questionnaire (item types, skip logic).

A form maps field names to a text or a list of texts, as an HTML form posts them. The field name
is the answer code (:meth:`Questionnaire.answer_codes`); a ``multiple`` item may instead post its
item code once per chosen option (a checkbox group), or ``<code>.<option>`` = ``1``/``on``.
Empty fields are unanswered: missing answers are left out (NaN downstream), never stored as 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from patronage.storage.text import storable_text
from patronage.surveys.definition import LANGUAGES, Item, Questionnaire, Section

#: Respondent-facing messages per language; ``{low}``, ``{high}``, ``{max}`` are filled in.
MESSAGES: dict[str, dict[str, str]] = {
    "required": {"en": "Please answer this question.", "zh_Hans": "请回答此题。",
                 "zh_Hant": "請回答此題。"},
    "range": {"en": "Choose a value from {low} to {high}.",
              "zh_Hans": "请选择 {low} 到 {high} 之间的数值。",
              "zh_Hant": "請選擇 {low} 到 {high} 之間的數值。"},
    "option": {"en": "Choose one of the listed options.", "zh_Hans": "请从列出的选项中选择。",
               "zh_Hant": "請從列出的選項中選擇。"},
    "one_value": {"en": "Give only one answer.", "zh_Hans": "只能选择一个答案。",
                  "zh_Hant": "只能選擇一個答案。"},
    "too_long": {"en": "Please keep your answer within {max} characters.",
                 "zh_Hans": "请将回答控制在 {max} 个字符以内。",
                 "zh_Hant": "請將回答控制在 {max} 個字元以內。"},
    "bad_text": {"en": "Your answer contains characters that cannot be saved (such as a NUL "
                       "character). Please remove them.",
                 "zh_Hans": "您的回答含有无法保存的字符（例如空字符），请删除后再提交。",
                 "zh_Hant": "您的回答含有無法儲存的字元（例如空字元），請刪除後再提交。"},
}
_CHOSEN = {"1", "on", "true", "yes"}
_NOT_CHOSEN = {"0", "off", "false", "no"}


def _message(key: str, language: str, **values: Any) -> str:
    return MESSAGES[key][language].format(**values)


def _language(q: Questionnaire, language: str | None) -> str:
    if language is None:
        return q.languages[0]
    if language not in LANGUAGES or language not in q.languages:
        raise ValueError(f"survey {q.code!r} is offered in {list(q.languages)}; "
                         f"got language {language!r}")
    return language


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return not (isinstance(value, str) and not value.strip())


def _matches(value: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        return isinstance(value, str) and value == expected
    try:
        return float(value) == float(expected)
    except (TypeError, ValueError):
        return False


def condition_met(condition: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> bool:
    """Whether a ``show_if`` condition holds for ``answers``; an unanswered item meets none."""
    if condition is None:
        return True
    value = answers.get(condition["item"])
    if not _present(value):
        return False
    if "equals" in condition:
        return _matches(value, condition["equals"])
    if "in" in condition:
        return any(_matches(value, v) for v in condition["in"])
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if "lte" in condition:
        return number <= condition["lte"]
    return number >= condition["gte"]


def visible_items(q: Questionnaire, answers: Mapping[str, Any]) -> list[Item]:
    """The items shown given ``answers``, in order.

    Conditions are evaluated in question order and see only the answers of visible items, so an
    item depending on a hidden one is hidden too.
    """
    kept: dict[str, Any] = {}
    shown = []
    for item in q.items:
        if condition_met(item.show_if, kept):
            shown.append(item)
            kept.update({c: answers[c] for c in item.answer_codes() if c in answers})
    return shown


def _complete(item: Item, answers: Mapping[str, Any]) -> bool:
    codes = item.answer_codes()
    if item.type == "multiple":
        return any(_present(answers.get(c)) for c in codes)
    return all(_present(answers.get(c)) for c in codes)


def progress(q: Questionnaire, answers: Mapping[str, Any]) -> float:
    """Share of the visible required items answered (1.0 when none is required)."""
    required = [i for i in visible_items(q, answers) if i.required]
    if not required:
        return 1.0
    return sum(_complete(i, answers) for i in required) / len(required)


def _split(section: Section) -> list[Section]:
    """``section`` cut before every item whose ``show_if`` names an answer given on the same
    part, so that the follow-up comes on a later page, after the server has seen the answer
    (skip logic without JavaScript)."""
    parts: list[list[Item]] = [[]]
    on_part: set[str] = set()
    for item in section.items:
        if item.show_if is not None and item.show_if["item"] in on_part:
            parts.append([])
            on_part = set()
        parts[-1].append(item)
        on_part.update(item.answer_codes())
    return [replace(section, items=tuple(p)) for p in parts if p]


def pages(q: Questionnaire, answers: Mapping[str, Any] | None = None) -> list[Section]:
    """The pages of the public form: one per section, a section cut where an item depends on
    an answer of the same page (see :func:`_split`).

    With ``answers``, each page keeps only its visible items and pages left empty are dropped.
    """
    split = [part for section in q.sections for part in _split(section)]
    if answers is None:
        return split
    shown = {id(i) for i in visible_items(q, answers)}
    out = []
    for part in split:
        items = tuple(i for i in part.items if id(i) in shown)
        if items:
            out.append(replace(part, items=items))
    return out


def may_follow(q: Questionnaire, answers: Mapping[str, Any], page: Section) -> bool:
    """Whether a page could still come after ``page`` once its answers are known: some later
    item is visible, or depends on an answer not yet given (on ``page`` or after it)."""
    items = list(q.items)
    last = max((n for n, i in enumerate(items) if any(i is p for p in page.items)), default=-1)
    later = items[last + 1:]
    visible = {id(i) for i in visible_items(q, answers)}
    pending = {c for i in (*page.items, *later) for c in i.answer_codes()}
    return any(id(i) in visible or (i.show_if is not None and i.show_if["item"] in pending)
               for i in later)


def _values(form: Mapping[str, Any], key: str) -> list[str]:
    raw = form.get(key)
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        values = raw
    else:
        values = [raw]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _number(text: str, low: int, high: int) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or value != int(value) or not low <= value <= high:
        return None
    return value


def error_key(item: Item) -> str:
    """The key of ``item`` in the errors of :func:`validate_submission`.

    The item code, except ``<code>.imp`` for importance and ``kano.<code>`` for Kano items, so
    that an attribute's rating, importance and Kano questions never share a key.
    """
    if item.type == "importance":
        return f"{item.code}.imp"
    if item.type == "kano":
        return f"kano.{item.code}"
    return item.code


def _parse_multiple(item: Item, form: Mapping[str, Any]) -> tuple[dict[str, float], str | None]:
    options = [o.code for o in item.options]
    chosen = set(_values(form, item.code))
    answered = bool(chosen)
    if chosen - set(options):
        return {}, "option"
    for option in options:
        for value in _values(form, f"{item.code}.{option}"):
            answered = True
            if value.lower() in _CHOSEN:
                chosen.add(option)
            elif value.lower() not in _NOT_CHOSEN:
                return {}, "option"
    if not answered:
        return {}, None
    return {f"{item.code}.{o}": float(o in chosen) for o in options}, None


def _parse_item(item: Item, form: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The item's answers and the key of the first problem (``None`` when fine)."""
    if item.type == "multiple":
        return _parse_multiple(item, form)
    out: dict[str, Any] = {}
    for code in item.answer_codes():
        values = _values(form, code)
        if not values:
            continue
        if len(values) > 1:
            return out, "one_value"
        text = values[0]
        if item.type == "text":
            if len(text) > item.max_length:
                return out, "too_long"
            if not storable_text(text):
                return out, "bad_text"
            out[code] = text
        elif item.type == "single":
            if text not in {o.code for o in item.options}:
                return out, "option"
            out[code] = text
        elif item.type == "kano":
            value = _number(text, 1, 5)
            if value is None:
                return out, "option"
            out[code] = value
        else:
            value = _number(text, *item.scale)
            if value is None:
                return out, "range"
            out[code] = value
    return out, None


def validate_submission(q: Questionnaire, form: Mapping[str, Any],
                        language: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse and check a submitted form.

    Returns ``(answers, errors)``: ``answers`` maps answer codes to floats (scaled, Kano and
    multiple-choice answers) or texts (single choice option codes and free text); ``errors`` maps
    :func:`error_key` (the item code, ``<code>.imp``, ``kano.<code>``) to a message in ``language`` (default: the survey's first language). Required
    items are enforced only when visible; answers to hidden items are dropped. Fields that are
    not answer codes of the survey are ignored.
    """
    language = _language(q, language)
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for item in q.items:
        if not condition_met(item.show_if, answers):
            continue
        values, problem = _parse_item(item, form)
        answers.update(values)
        if problem is None and item.required and not _complete(item, values):
            problem = "required"
        if problem is not None:
            low, high = item.scale or (None, None)
            errors[error_key(item)] = _message(problem, language, low=low, high=high,
                                         max=item.max_length)
    return answers, errors


__all__ = [
    "MESSAGES",
    "condition_met",
    "error_key",
    "may_follow",
    "pages",
    "progress",
    "validate_submission",
    "visible_items",
]
