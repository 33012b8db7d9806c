"""Questionnaire definitions: the format, parsing and validation ("Item types").

A definition is JSON or YAML text (or the equivalent ``dict``)::

    format: 1
    code: relationship
    version: 1
    languages: [zh_Hans, zh_Hant, en]        # first = default
    title: {en: ..., zh_Hans: ..., zh_Hant: ...}
    intro: {...}
    thanks: {...}
    sections:
      - code: product
        title: {...}
        items:
          - {code: quality_performance, type: pair, scale: [1, 10], text: {...},
             index: {dimension: product, indicator: quality, weight: 1.0}}

Item types and the answer codes they store (the convention of :mod:`patronage.index_system`):

* ``rating`` (scale [1,5], [1,7] or [1,10]) → ``<code>``;
* ``nps`` (0–10) → ``<code>``;
* ``pair`` (expectation + perception on one scale) → ``<code>`` (perception) and ``<code>.exp``;
* ``importance`` → ``<code>.imp`` (it may share its code with the rating of the same attribute);
* ``kano`` (functional / dysfunctional question, answers coded 1 = like … 5 = dislike as in
  Berger et al. 1993, *Center for Quality Management Journal* 2(4)) → ``kano.<code>.f``,
  ``kano.<code>.d``;
* ``single`` → ``<code>`` holding the chosen option's code;
* ``multiple`` → ``<code>.<option>``: 1 when chosen, 0 when the question was answered without it;
* ``text`` → ``<code>``.

``show_if`` hides an item unless an earlier answer (named by its answer code) meets one condition:
``equals``, ``in``, ``lte`` or ``gte``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import yaml

from patronage.messages import N_, Message, Term, UserError
from patronage.storage.text import unstorable_reason
from patronage.surveys._crosschecks import cross_item_problems, is_number

LANGUAGES = ("en", "zh_Hans", "zh_Hant")
ITEM_TYPES = ("importance", "kano", "multiple", "nps", "pair", "rating", "single", "text")
SCALES = ((1, 5), (1, 7), (1, 10))
NPS_SCALE = (0, 10)
CONDITIONS = ("equals", "gte", "in", "lte")
DEFAULT_MAX_LENGTH = 2000
#: The longest definition text accepted (the largest template is under 30,000 characters).
MAX_DEFINITION_CHARS = 500_000
#: How many problems a :class:`DefinitionError` lists; the rest are counted.
MAX_PROBLEMS = 100
_MAX_PROBLEM_CHARS = 300
#: Kano answers (value, texts), in the order of the Kano evaluation table (Berger et al. 1993).
KANO_CHOICES = (
    (1, {"en": "I like it", "zh_Hans": "我喜欢", "zh_Hant": "我喜歡"}),
    (2, {"en": "I expect it", "zh_Hans": "理应如此", "zh_Hant": "理應如此"}),
    (3, {"en": "I don't mind", "zh_Hans": "无所谓", "zh_Hant": "無所謂"}),
    (4, {"en": "I can live with it", "zh_Hans": "可以忍受", "zh_Hant": "可以忍受"}),
    (5, {"en": "I dislike it", "zh_Hans": "我不喜欢", "zh_Hant": "我不喜歡"}),
)

_SURVEY_CODE = re.compile(r"[a-z0-9_-]{1,64}\Z")
_ITEM_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_OPTION_CODE = re.compile(r"[a-z0-9_]{1,64}\Z")
_TOP_KEYS = ("code", "format", "intro", "languages", "sections", "thanks", "title", "version")
_SCALED = ("importance", "nps", "pair", "rating")
_ITEM_KEYS = {
    "rating": ("scale", "anchors", "index"),
    "nps": ("scale", "anchors", "index"),
    "pair": ("scale", "anchors", "index", "expectation_text", "perception_text"),
    "importance": ("scale", "anchors"),
    "kano": ("functional", "dysfunctional"),
    "single": ("options",),
    "multiple": ("options",),
    "text": ("max_length",),
}
_INDEX_KEYS = ("dimension", "dimension_weight", "indicator", "indicator_weight", "label", "weight")


class DefinitionError(ValueError):
    """A questionnaire definition is invalid; ``problems`` lists every problem with its path."""

    def __init__(self, name: str, problems: list[str]):
        problems = list(problems)
        self.problems = [p if len(p) <= _MAX_PROBLEM_CHARS else
                         f"{p[:_MAX_PROBLEM_CHARS]}… ({len(p):,} characters)"
                         for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(Message(N_("... and {count:,} more problems"),
                                         count=len(problems) - MAX_PROBLEMS))
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{name}: {len(self.problems)} problem(s); fix them and load it again:\n"
                         f"{lines}")


@dataclass(frozen=True)
class Option:
    """A choice of a ``single`` or ``multiple`` item."""

    code: str
    text: dict[str, str]


@dataclass(frozen=True)
class Item:
    """One question; ``scale`` is ``(low, high)`` for scaled types, else ``None``."""

    code: str
    type: str
    text: dict[str, str] | None = None
    required: bool = True
    scale: tuple[int, int] | None = None
    anchors: dict[str, dict[str, str]] | None = None
    index: dict[str, Any] | None = None
    show_if: dict[str, Any] | None = None
    options: tuple[Option, ...] = ()
    functional: dict[str, str] | None = None
    dysfunctional: dict[str, str] | None = None
    expectation_text: dict[str, str] | None = None
    perception_text: dict[str, str] | None = None
    max_length: int | None = None

    def answer_codes(self) -> tuple[str, ...]:
        """The codes under which this item's answers are stored (see the module docstring)."""
        if self.type == "pair":
            return self.code, f"{self.code}.exp"
        if self.type == "importance":
            return (f"{self.code}.imp",)
        if self.type == "kano":
            return f"kano.{self.code}.f", f"kano.{self.code}.d"
        if self.type == "multiple":
            return tuple(f"{self.code}.{o.code}" for o in self.options)
        return (self.code,)

    def to_dict(self) -> dict[str, Any]:
        """The item in definition form, with defaults written out."""
        out: dict[str, Any] = {"code": self.code, "type": self.type}
        for name in ("text", "functional", "dysfunctional", "expectation_text", "perception_text"):
            value = getattr(self, name)
            if value is not None:
                out[name] = dict(value)
        if self.scale is not None:
            out["scale"] = list(self.scale)
        if self.anchors is not None:
            out["anchors"] = {k: dict(v) for k, v in self.anchors.items()}
        if self.options:
            out["options"] = [{"code": o.code, "text": dict(o.text)} for o in self.options]
        if self.max_length is not None:
            out["max_length"] = self.max_length
        out["required"] = self.required
        if self.index is not None:
            out["index"] = {k: (dict(v) if isinstance(v, dict) else v)
                            for k, v in self.index.items()}
        if self.show_if is not None:
            out["show_if"] = {k: (list(v) if isinstance(v, list | tuple) else v)
                              for k, v in self.show_if.items()}
        return out


@dataclass(frozen=True)
class Section:
    """A titled group of items; the public form shows one section per page."""

    code: str
    title: dict[str, str]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Questionnaire:
    """A parsed, valid questionnaire definition (see :func:`parse_definition`)."""

    code: str
    version: int
    languages: tuple[str, ...]
    title: dict[str, str]
    sections: tuple[Section, ...]
    intro: dict[str, str] | None = None
    thanks: dict[str, str] | None = None
    items: tuple[Item, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "items", tuple(i for s in self.sections for i in s.items))

    def answer_codes(self) -> list[str]:
        """Every stored answer code, in question order."""
        return [c for item in self.items for c in item.answer_codes()]

    def item(self, code: str) -> Item:
        """The item with ``code`` (a rating's code, not an importance item sharing it, first)."""
        for item in sorted(self.items, key=lambda i: i.type == "importance"):
            if item.code == code:
                return item
        raise KeyError(f"survey {self.code!r} has no item {code!r}")

    def text(self, obj: Any, language: str | None = None) -> str:
        """The text of ``obj`` (a texts mapping, an item or a section) in ``language``.

        Falls back to the survey's default language, then to any language present.
        """
        language = language or self.languages[0]
        if language not in LANGUAGES:
            raise ValueError(f"unknown language {language!r}; use one of {list(LANGUAGES)}")
        if isinstance(obj, Item):
            obj = obj.text or obj.functional
        elif isinstance(obj, Section | Questionnaire):
            obj = obj.title
        if not isinstance(obj, Mapping) or not obj:
            raise ValueError(f"no texts to choose from in {obj!r}")
        for lang in (language, self.languages[0]):
            if lang in obj:
                return obj[lang]
        return next(iter(obj.values()))

    def to_dict(self) -> dict[str, Any]:
        """The definition as a plain dict; ``parse_definition(q.to_dict()) == q``."""
        out: dict[str, Any] = {"format": 1, "code": self.code, "version": self.version,
                               "languages": list(self.languages), "title": dict(self.title)}
        if self.intro is not None:
            out["intro"] = dict(self.intro)
        if self.thanks is not None:
            out["thanks"] = dict(self.thanks)
        out["sections"] = [{"code": s.code, "title": dict(s.title),
                            "items": [i.to_dict() for i in s.items]} for s in self.sections]
        return out

    def index_system_items(self) -> pd.DataFrame:
        """Items carrying ``index`` info, shaped like :attr:`patronage.index_system.IndexSystem.items`.

        ``weight`` is item × indicator × dimension weight normalised to sum to 1, so the result
        can be passed to :func:`patronage.analytics.csi_scores`. Labels come from ``index.label``
        or else the item text, in the default language where a language is missing.
        """
        rows = []
        for item in self.items:
            if item.index is None:
                continue
            idx = item.index
            labels = idx.get("label") or item.text or {}
            rows.append({
                "item_code": item.code, "dimension": idx["dimension"],
                "indicator": idx["indicator"], "item_weight": float(idx["weight"]),
                "indicator_weight": float(idx["indicator_weight"]),
                "dimension_weight": float(idx["dimension_weight"]),
                "scale_min": float(item.scale[0]), "scale_max": float(item.scale[1]),
                "expectation": item.type == "pair",
                **{f"label_{lang}": self.text(labels, lang) for lang in LANGUAGES},
            })
        columns = ["item_code", "dimension", "indicator", "item_weight", "indicator_weight",
                   "dimension_weight", "scale_min", "scale_max", "expectation",
                   *(f"label_{lang}" for lang in LANGUAGES), "weight"]
        frame = pd.DataFrame(rows, columns=columns[:-1])
        raw = frame["item_weight"] * frame["indicator_weight"] * frame["dimension_weight"]
        frame["weight"] = raw / raw.sum() if len(frame) else raw
        return frame


def next_version(old: Questionnaire, new: Questionnaire) -> Questionnaire:
    """``new`` numbered after ``old``: version ``old.version + 1`` when its content changed.

    An unchanged definition keeps ``old.version``, so re-saving a survey does not start a new
    version. Both must have the same code.
    """
    if old.code != new.code:
        raise UserError(N_("Cannot version survey {new!r} after {old!r}: codes differ; give "
                           "the new definition the same code."), new=new.code, old=old.code)
    if replace(new, version=old.version) == old:
        return replace(new, version=old.version)
    return replace(new, version=old.version + 1)


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without aliases: ``*name`` repeats a whole subtree, so a few hundred bytes of
    nested aliases expand to millions of values (the "billion laughs")."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem=N_("aliases (*name) are not allowed; write the values out"),
                problem_mark=self.peek_event().start_mark)
        return super().compose_node(parent, index)


#: The JSON parser's messages (shown translated inside "invalid JSON at line …").
JSON_PROBLEMS = (N_("Expecting value"), N_("Expecting property name enclosed in double quotes"),
                 N_("Expecting ',' delimiter"), N_("Expecting ':' delimiter"),
                 N_("Unterminated string starting at"), N_("Invalid control character at"),
                 N_("Extra data"))


def _load_text(source: str, name: str) -> Any:
    if len(source) > MAX_DEFINITION_CHARS:
        raise DefinitionError(name, [Message(
            N_("the definition has {count:,} characters; at most {maximum:,} characters"),
            count=len(source), maximum=MAX_DEFINITION_CHARS)])
    text = source.lstrip()
    if text.startswith(("{", "[")):
        try:
            return json.loads(source)
        except json.JSONDecodeError as exc:
            raise DefinitionError(name, [Message(
                N_("invalid JSON at line {line}, column {column}: {problem}"),
                line=exc.lineno, column=exc.colno, problem=Term(exc.msg))]) from None
        except ValueError as exc:  # a number of more than 4,300 digits
            raise DefinitionError(name, [Message(N_("invalid JSON: {problem}"),
                                                 problem=str(exc)[:200])]) from None
    try:
        return yaml.load(source, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark:
            raise DefinitionError(name, [Message(
                N_("invalid YAML at line {line}, column {column}: {problem}"),
                line=mark.line + 1, column=mark.column + 1, problem=Term(problem))]) from None
        raise DefinitionError(name, [Message(N_("invalid YAML: {problem}"),
                                             problem=problem)]) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise DefinitionError(name, [Message(N_("invalid YAML: {problem}"),
                                             problem=str(exc)[:200])]) from None


def parse_definition(source: str | Mapping, *, name: str = "definition") -> Questionnaire:
    """Parse and validate a questionnaire definition (JSON or YAML text, or a dict).

    Raises :class:`DefinitionError` listing every problem found, each with its path such as
    ``sections[1].items[3].scale``.
    """
    parser = _Parser()
    try:
        data = _load_text(source, name) if isinstance(source, str) else source
        questionnaire = parser.questionnaire(data)
    except RecursionError:
        raise DefinitionError(name, [Message(N_(
            "the definition is nested too deeply; a questionnaire needs only a few levels of "
            "lists and mappings"))]) from None
    if parser.problems:
        raise DefinitionError(name, parser.problems)
    return questionnaire


class _Parser:
    """Collects every problem while building the questionnaire."""

    def __init__(self):
        self.problems: list[str] = []
        self.languages: tuple[str, ...] = LANGUAGES

    def bad(self, path: str, message: str, **params: Any) -> None:
        """Note a problem at ``path``: an English template marked with ``N_`` and its values."""
        self.problems.append(Message(message, prefix=path, **params))

    def mapping(self, node: Any, path: str, allowed, required=()) -> dict | None:
        if not isinstance(node, Mapping):
            self.bad(path or "definition", N_("must be a mapping; got {kind}"),
                     kind=type(node).__name__)
            return None
        for key in node:
            if key not in allowed:
                self.bad(path or "definition", N_("unknown key {key!r}; allowed: {allowed}"),
                         key=key, allowed=sorted(allowed))
        for key in required:
            if key not in node:
                self.bad(f"{path}.{key}" if path else key, N_("required"))
        return dict(node)

    def texts(self, node: Any, path: str, required: bool = True) -> dict[str, str] | None:
        if node is None:
            if required:
                self.bad(path, N_("required: texts in {languages}"),
                         languages=", ".join(self.languages))
            return None
        if not isinstance(node, Mapping):
            self.bad(path, N_("must be a mapping of language to text, e.g. {example}"),
                     example="{en: ..., zh_Hans: ...}")
            return None
        out = {}
        for lang, text in node.items():
            if lang not in LANGUAGES:
                self.bad(path, N_("unknown language {language!r}; use {languages}"), language=lang,
                         languages=", ".join(LANGUAGES))
            elif not isinstance(text, str) or not text.strip():
                self.bad(f"{path}.{lang}", N_("must be a non-empty text"))
            elif (reason := unstorable_reason(text)) is not None:
                self.bad(f"{path}.{lang}", N_("cannot be stored: {reason}; remove it"), reason=reason)
            else:
                out[lang] = text
        for lang in self.languages:
            if lang not in node:
                self.bad(path, N_("missing {language}"), language=lang)
        return out

    def code(self, node: dict, path: str, pattern: re.Pattern, what: str) -> str:
        value = node.get("code")
        if value is None:
            return ""
        if not isinstance(value, str) or not pattern.match(value):
            where = f"{path}.code" if path else "code"
            if isinstance(value, bool):
                self.bad(where, N_("quote it in YAML; {what} must match {pattern}; got {value!r}"),
                         what=Term(what), pattern=pattern.pattern[:-2], value=value)
            else:
                self.bad(where, N_("{what} must match {pattern}; got {value!r}"),
                         what=Term(what), pattern=pattern.pattern[:-2], value=value)
            return str(value)
        return value

    def questionnaire(self, data: Any) -> Questionnaire:
        top = self.mapping(data, "", _TOP_KEYS, ("code", "format", "languages", "sections",
                                                 "title", "version")) or {}
        if "format" in top and top["format"] != 1:
            self.bad("format", N_("must be 1; got {value!r}"), value=top['format'])
        code = self.code(top, "", _SURVEY_CODE, N_("a survey code"))
        version = top.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.bad("version", N_("must be a positive whole number; got {value!r}"), value=version)
            version = 1
        self.languages = self.parse_languages(top.get("languages"))
        title = self.texts(top.get("title"), "title") if "title" in top else {}
        intro = self.texts(top.get("intro"), "intro", required=False)
        thanks = self.texts(top.get("thanks"), "thanks", required=False)
        sections = self.sections(top.get("sections"))
        return Questionnaire(code=code, version=version, languages=self.languages,
                             title=title or {}, sections=sections, intro=intro, thanks=thanks)

    def parse_languages(self, value: Any) -> tuple[str, ...]:
        if value is None:
            return LANGUAGES
        if not isinstance(value, list | tuple) or not value:
            self.bad("languages", N_("must be a non-empty list drawn from {languages}"),
                     languages=list(LANGUAGES))
            return LANGUAGES
        good = []
        for i, lang in enumerate(value):
            if lang not in LANGUAGES:
                self.bad(f"languages[{i}]", N_("unknown language {language!r}; use {languages}"),
                         language=lang, languages=list(LANGUAGES))
            elif lang in good:
                self.bad(f"languages[{i}]", N_("{language} is listed twice"), language=lang)
            else:
                good.append(lang)
        return tuple(good) or LANGUAGES

    def sections(self, value: Any) -> tuple[Section, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            self.bad("sections", N_("must be a non-empty list of sections"))
            return ()
        sections, seen, entries = [], {}, []
        for s, node in enumerate(value):
            path = f"sections[{s}]"
            sec = self.mapping(node, path, ("code", "items", "title"), ("code", "items", "title"))
            if sec is None:
                continue
            code = self.code(sec, path, _ITEM_CODE, N_("a section code"))
            if code in seen:
                self.bad(f"{path}.code", N_("duplicate section code {code!r} (also {other})"),
                         code=code, other=seen[code])
            seen[code] = path
            items = []
            nodes = sec.get("items")
            if "items" in sec and (not isinstance(nodes, list) or not nodes):
                self.bad(f"{path}.items", N_("must be a non-empty list of items"))
                nodes = []
            for i, item_node in enumerate(nodes or []):
                item = self.item(item_node, f"{path}.items[{i}]")
                if item is not None:
                    items.append(item)
                    entries.append((f"{path}.items[{i}]", item))
            sections.append(Section(code=code, title=self.texts(sec.get("title"), f"{path}.title")
                                    or {}, items=tuple(items)))
        self.problems.extend(cross_item_problems(entries))
        return tuple(sections)

    def item(self, node: Any, path: str) -> Item | None:
        kind = node.get("type") if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and kind not in ITEM_TYPES:
            self.bad(f"{path}.type", N_("must be one of {choices}; got {value!r}"),
                     choices=list(ITEM_TYPES), value=kind)
            kind = None
        extra = _ITEM_KEYS.get(kind, tuple(k for v in _ITEM_KEYS.values() for k in v))
        item = self.mapping(node, path, ("code", "type", "text", "required", "show_if", *extra),
                            ("code", "type"))
        if item is None or kind is None:
            return None
        code = self.code(item, path, _ITEM_CODE, N_("an item code"))
        text_required = kind not in ("kano",)
        text = self.texts(item.get("text"), f"{path}.text", required=text_required)
        required = item.get("required", kind != "text")
        if not isinstance(required, bool):
            self.bad(f"{path}.required", N_("must be true or false; got {value!r}"),
                     value=required)
            required = kind != "text"
        fields: dict[str, Any] = {}
        if kind in _SCALED:
            fields["scale"] = self.scale(item.get("scale"), f"{path}.scale", kind)
            if "anchors" in item:
                anchors = self.mapping(item["anchors"], f"{path}.anchors", ("high", "low")) or {}
                fields["anchors"] = {k: self.texts(v, f"{path}.anchors.{k}") or {}
                                     for k, v in anchors.items() if k in ("high", "low")}
        if kind == "pair":
            for key in ("expectation_text", "perception_text"):
                fields[key] = self.texts(item.get(key), f"{path}.{key}", required=False)
        if kind == "kano":
            for key in ("functional", "dysfunctional"):
                fields[key] = self.texts(item.get(key), f"{path}.{key}")
        if kind in ("single", "multiple"):
            fields["options"] = self.options(item.get("options"), f"{path}.options")
        if kind == "text":
            length = item.get("max_length", DEFAULT_MAX_LENGTH)
            if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 100_000:
                self.bad(f"{path}.max_length",
                         N_("must be a whole number from 1 to 100000; got {value!r}"),
                         value=length)
                length = DEFAULT_MAX_LENGTH
            fields["max_length"] = length
        if "index" in item:
            fields["index"] = self.index(item["index"], f"{path}.index")
        if "show_if" in item:
            fields["show_if"] = self.show_if_shape(item["show_if"], f"{path}.show_if")
        return Item(code=code, type=kind, text=text, required=required, **fields)

    def scale(self, value: Any, path: str, kind: str) -> tuple[int, int]:
        if kind == "nps":
            if value is not None and list(value) != list(NPS_SCALE):
                self.bad(path, N_("an nps item is always [0,10]; got {value!r}"), value=value)
            return NPS_SCALE
        allowed = ", ".join(f"[{a},{b}]" for a, b in SCALES)
        if value is None:
            self.bad(path, N_("required for a {kind} item: one of {allowed}"), kind=kind,
                     allowed=allowed)
            return SCALES[-1]
        ok = (isinstance(value, list | tuple) and len(value) == 2
              and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
        if not ok or tuple(value) not in SCALES:
            shown = ("[" + ",".join(map(str, value)) + "]"
                     if isinstance(value, list | tuple) else repr(value))
            self.bad(path, N_("must be one of {choices}; got {value}"), choices=allowed,
                     value=shown)
            return SCALES[-1]
        return tuple(value)

    def options(self, value: Any, path: str) -> tuple[Option, ...]:
        if not isinstance(value, list) or len(value) < 2:
            self.bad(path, N_("must be a list of at least two options {example}"),
                     example="{code: ..., text: {...}}")
            return ()
        out, seen = [], set()
        for k, node in enumerate(value):
            opt = self.mapping(node, f"{path}[{k}]", ("code", "text"), ("code", "text"))
            if opt is None:
                continue
            code = self.code(opt, f"{path}[{k}]", _OPTION_CODE, N_("an option code"))
            if code in seen:
                self.bad(f"{path}[{k}].code", N_("duplicate option code {code!r}"), code=code)
            seen.add(code)
            out.append(Option(code=code, text=self.texts(opt.get("text"), f"{path}[{k}].text")
                              or {}))
        return tuple(out)

    def index(self, value: Any, path: str) -> dict[str, Any] | None:
        node = self.mapping(value, path, _INDEX_KEYS, ("dimension",))
        if node is None:
            return None
        out: dict[str, Any] = {}
        for key in ("dimension", "indicator"):
            code = node.get(key, node.get("dimension"))
            if not isinstance(code, str) or not _OPTION_CODE.match(code):
                self.bad(f"{path}.{key}", N_("must be a code matching {pattern}; got {value!r}"),
                         pattern="[a-z0-9_]{1,64}", value=code)
            out[key] = code
        for key in ("weight", "indicator_weight", "dimension_weight"):
            weight = node.get(key, 1.0)
            if not is_number(weight) or weight < 0:
                self.bad(f"{path}.{key}", N_("must be a number >= 0; got {value!r}"), value=weight)
                weight = 1.0
            out[key] = float(weight)
        if "label" in node:
            out["label"] = self.texts(node["label"], f"{path}.label")
        return out

    def show_if_shape(self, value: Any, path: str) -> dict[str, Any] | None:
        node = self.mapping(value, path, ("item", *CONDITIONS), ("item",))
        if node is None:
            return None
        used = [c for c in CONDITIONS if c in node]
        if len(used) != 1:
            self.bad(path, N_("needs exactly one condition of {choices}; got {used}"),
                     choices=list(CONDITIONS), used=used)
            return None
        if used[0] == "in":
            if not isinstance(node["in"], list) or not node["in"]:
                self.bad(f"{path}.in", N_("must be a non-empty list of values"))
                return None
            node["in"] = list(node["in"])
        return node


__all__ = [
    "CONDITIONS",
    "DefinitionError",
    "ITEM_TYPES",
    "Item",
    "KANO_CHOICES",
    "LANGUAGES",
    "NPS_SCALE",
    "Option",
    "Questionnaire",
    "SCALES",
    "Section",
    "next_version",
    "parse_definition",
]
