"""Checks of a questionnaire definition that span several items (codes, skip logic, index).

Each check takes ``(path, item)`` pairs in question order, ``item`` being a parsed
:class:`patronage.surveys.definition.Item`, and returns problem messages prefixed by their path.
"""

from __future__ import annotations

import math
from typing import Any

from patronage.messages import N_, Message


def is_number(value: Any) -> bool:
    """A finite int or float that is not a bool."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def code_problems(entries: list[tuple[str, Any]]) -> list[str]:
    """Item codes used twice (an importance item may share a rating's code) or clashing answers."""
    problems = []
    items: dict[tuple[str, bool], str] = {}
    answers: dict[str, str] = {}
    for path, item in entries:
        key = (item.code, item.type == "importance")
        if key in items:
            problems.append(Message(N_("duplicate code {code!r} (already used at {other})"),
                                    prefix=f"{path}.code", code=item.code, other=items[key]))
        items.setdefault(key, path)
        for answer in item.answer_codes():
            if answer in answers and items[key] != answers[answer]:
                problems.append(Message(N_("answer code {code!r} is also stored by {other}"),
                                        prefix=f"{path}.code", code=answer,
                                        other=answers[answer]))
            answers.setdefault(answer, path)
    return problems


def _condition_problems(cond: dict, path: str, earlier: dict, all_codes: set) -> list[str]:
    target = cond["item"]
    if target not in earlier:
        if target in all_codes:
            return [Message(N_("refers to {code!r}, which comes later or is this item; a "
                               "condition can only use earlier questions"),
                            prefix=f"{path}.item", code=target)]
        return [Message(N_("refers to unknown item {code!r}"), prefix=f"{path}.item",
                        code=target)]
    ref = earlier[target]
    op = next(k for k in cond if k != "item")
    problems = []
    for value in cond[op] if op == "in" else [cond[op]]:
        if ref.type == "single":
            codes = [o.code for o in ref.options]
            if op in ("lte", "gte") or value not in codes:
                problems.append(Message(N_("{code!r} is a single choice; compare it with "
                                           "equals/in and one of its options {options}"),
                                        prefix=f"{path}.{op}", code=target, options=codes))
        elif ref.type == "text":
            if op in ("lte", "gte") or not isinstance(value, str):
                problems.append(Message(N_("{code!r} is a text; compare it with equals/in and "
                                           "a text"), prefix=f"{path}.{op}", code=target))
        elif not is_number(value):
            problems.append(Message(N_("{code!r} holds numbers; got {value!r}"),
                                    prefix=f"{path}.{op}", code=target, value=value))
    return problems


def condition_problems(entries: list[tuple[str, Any]]) -> list[str]:
    """``show_if`` must name an earlier answer code and compare it with a value it can hold."""
    all_codes = {c for _, item in entries for c in item.answer_codes()}
    earlier: dict[str, Any] = {}
    problems = []
    for path, item in entries:
        if item.show_if is not None:
            problems += _condition_problems(item.show_if, f"{path}.show_if", earlier, all_codes)
        for code in item.answer_codes():
            earlier.setdefault(code, item)
    return problems


def index_problems(entries: list[tuple[str, Any]]) -> list[str]:
    """Index info only on scored items, one weight per dimension/indicator, not all zero."""
    problems = []
    dims: dict[str, float] = {}
    inds: dict[str, tuple[str, float]] = {}
    total = 0.0
    for path, item in entries:
        if item.index is None:
            continue
        if item.type not in ("nps", "pair", "rating"):
            problems.append(Message(N_("only rating, pair and nps items count in the index; "
                                       "this is a {kind} item"), prefix=f"{path}.index",
                                    kind=item.type))
            continue
        idx = item.index
        total += idx["weight"] * idx["indicator_weight"] * idx["dimension_weight"]
        dim, ind = idx["dimension"], idx["indicator"]
        if dims.setdefault(dim, idx["dimension_weight"]) != idx["dimension_weight"]:
            problems.append(Message(N_("dimension {dimension!r} has weight {weight} elsewhere"),
                                    prefix=f"{path}.index.dimension_weight", dimension=dim,
                                    weight=dims[dim]))
        seen = inds.setdefault(ind, (dim, idx["indicator_weight"]))
        if seen != (dim, idx["indicator_weight"]):
            problems.append(Message(N_("indicator {indicator!r} is used elsewhere with "
                                       "dimension/weight {seen}"),
                                    prefix=f"{path}.index.indicator", indicator=ind, seen=seen))
    if inds and total <= 0:
        problems.append(Message(N_("all index weights are zero; give at least one item a "
                                   "weight > 0"), prefix="sections"))
    return problems


def cross_item_problems(entries: list[tuple[str, Any]]) -> list[str]:
    """All the checks above, in order."""
    return code_problems(entries) + condition_problems(entries) + index_problems(entries)


__all__ = [
    "code_problems",
    "condition_problems",
    "cross_item_problems",
    "index_problems",
    "is_number",
]
