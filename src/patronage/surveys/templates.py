"""Questionnaire templates and the default relationship survey built from the index system.

Templates ship as ``patronage/surveys/templates/<code>.json`` in the definition format of
:mod:`patronage.surveys.definition`, with every text in en, zh_Hans and zh_Hant. The item
wording is Patronage's own; the constructs follow the cited models:

* ``nps`` — Net Promoter Score (Reichheld 2003, *Harvard Business Review* 81(12));
* ``csat`` — overall satisfaction 1–5 and attribute ratings;
* ``ces`` — Customer Effort Score 1–7 (Dixon, Freeman & Toman 2010, *HBR* 88(7/8));
* ``acsi`` — ACSI constructs (Fornell et al. 1996, *Journal of Marketing* 60(4)), 1–10;
* ``ecsi`` — ECSI constructs (Tenenhaus et al. 2005, *CSDA* 48(1)), 1–10;
* ``servqual22`` — the 22 SERVQUAL attributes as expectation/perception pairs on 1–7
  (Parasuraman, Zeithaml & Berry 1988, *Journal of Retailing* 64(1));
* ``kano`` — the Kano pairs for the index system's attributes (Berger et al. 1993);
* ``cdv`` — customer delivered value: value and cost items (Kotler);
* ``employee`` — employee satisfaction and eNPS.
* ``lost_customer`` — the lost-customer interview: why the customer left, for which competitor,
  what would bring them back, the likelihood of returning 0–10 (defection analysis, Reichheld &
  Sasser 1990, *HBR* 68(5)).
"""

from __future__ import annotations

from importlib.resources import files

from patronage.index_system import IndexSystem, load_index_system
from patronage.surveys.definition import LANGUAGES, Questionnaire, parse_definition

_WORDING = {
    "rate": {"en": "How do you rate: {label}?", "zh_Hans": "您对“{label}”的评价如何？",
             "zh_Hant": "您對「{label}」的評價如何？"},
    "expect": {"en": "What level did you expect: {label}?",
               "zh_Hans": "您原本期望的水平：{label}", "zh_Hant": "您原本期望的水準：{label}"},
    "perceive": {"en": "What level did you actually get: {label}?",
                 "zh_Hans": "您实际感受到的水平：{label}", "zh_Hant": "您實際感受到的水準：{label}"},
    "low": {"en": "Very poor", "zh_Hans": "非常差", "zh_Hant": "非常差"},
    "high": {"en": "Excellent", "zh_Hans": "非常好", "zh_Hant": "非常好"},
    "nps": {"en": "How likely are you to recommend us to a friend or colleague? (0-10)",
            "zh_Hans": "您有多大可能把我们推荐给朋友或同事？（0-10）",
            "zh_Hant": "您有多大可能把我們推薦給朋友或同事？（0-10）"},
    "nps_low": {"en": "Not at all likely", "zh_Hans": "完全不可能", "zh_Hant": "完全不可能"},
    "nps_high": {"en": "Extremely likely", "zh_Hans": "非常可能", "zh_Hant": "非常可能"},
    "functional": {"en": "If we offered {label}, how would you feel?",
                   "zh_Hans": "如果我们提供“{label}”，您的感受是？",
                   "zh_Hant": "如果我們提供「{label}」，您的感受是？"},
    "dysfunctional": {"en": "If we did not offer {label}, how would you feel?",
                      "zh_Hans": "如果我们不提供“{label}”，您的感受是？",
                      "zh_Hant": "如果我們不提供「{label}」，您的感受是？"},
    "kano_section": {"en": "Possible features", "zh_Hans": "可能提供的功能",
                     "zh_Hant": "可能提供的功能"},
    "comment_section": {"en": "Anything else", "zh_Hans": "其他意见", "zh_Hant": "其他意見"},
    "comment": {"en": "Is there anything else you would like to tell us?",
                "zh_Hans": "您还有什么想告诉我们的吗？", "zh_Hant": "您還有什麼想告訴我們的嗎？"},
    "title": {"en": "Customer relationship survey", "zh_Hans": "客户关系调查",
              "zh_Hant": "客戶關係調查"},
    "intro": {"en": "Thank you for taking a few minutes to tell us how we are doing.",
              "zh_Hans": "感谢您花几分钟时间告诉我们做得怎么样。",
              "zh_Hant": "感謝您花幾分鐘時間告訴我們做得怎麼樣。"},
    "thanks": {"en": "Thank you! Your answers help us serve you better.",
               "zh_Hans": "谢谢！您的回答将帮助我们更好地为您服务。",
               "zh_Hant": "謝謝！您的回答將幫助我們更好地為您服務。"},
}


def _template_dir():
    return files("patronage.surveys") / "templates"


def list_templates() -> list[tuple[str, dict[str, str]]]:
    """``(code, title per language)`` of every shipped template, sorted by code."""
    out = []
    for entry in sorted(_template_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            q = load_template(entry.name[:-5])
            out.append((q.code, dict(q.title)))
    return out


def load_template(code: str) -> Questionnaire:
    """The template ``code`` (see :func:`list_templates`) as a :class:`Questionnaire`."""
    entry = _template_dir() / f"{code}.json"
    if not isinstance(code, str) or "/" in code or not entry.is_file():
        names = sorted(e.name[:-5] for e in _template_dir().iterdir() if e.name.endswith(".json"))
        raise ValueError(f"unknown survey template {code!r}; choose one of {names}")
    return parse_definition(entry.read_text(encoding="utf-8"), name=f"template {code}")


def _say(key: str, **values: str) -> dict[str, str]:
    return {lang: _WORDING[key][lang].format(**{k: v[lang] for k, v in values.items()})
            for lang in LANGUAGES}


def _labels(system: IndexSystem, kind: str, code: str) -> dict[str, str]:
    return {lang: system.label(kind, code, lang) for lang in LANGUAGES}


def _index_item(system: IndexSystem, row) -> dict:
    label = _labels(system, "item", row.item_code)
    scale = [int(row.scale_min), int(row.scale_max)]
    item: dict = {"code": row.item_code, "text": _say("rate", label=label),
                  "index": {"dimension": row.dimension, "indicator": row.indicator,
                            "weight": float(row.item_weight),
                            "indicator_weight": float(row.indicator_weight),
                            "dimension_weight": float(row.dimension_weight), "label": label}}
    if row.item_code == system.nps_item:
        item.update(type="nps", text=_WORDING["nps"],
                    anchors={"low": _WORDING["nps_low"], "high": _WORDING["nps_high"]})
        return item
    item.update(type="pair" if row.expectation else "rating", scale=scale,
                anchors={"low": _WORDING["low"], "high": _WORDING["high"]})
    if row.expectation:
        item.update(expectation_text=_say("expect", label=label),
                    perception_text=_say("perceive", label=label))
    return item


def relationship_from_index_system(system: IndexSystem | None = None) -> Questionnaire:
    """The default relationship survey built from an index system.

    One section per dimension holding its items (``pair`` when the item asks the expectation,
    ``nps`` for the system's NPS item, else ``rating``), each carrying its index weights, then a
    Kano section with a pair of questions per Kano attribute and a free-text comment. The
    texts are the index-system labels set in a question (e.g. "How do you rate: Performance?").
    """
    system = system if system is not None else load_index_system()
    sections = []
    for dim in system.dimensions.itertuples():
        rows = system.items[system.items["dimension"] == dim.dimension]
        sections.append({"code": dim.dimension, "title": _labels(system, "dimension", dim.dimension),
                         "items": [_index_item(system, row) for row in rows.itertuples()]})
    kano = [{"code": a, "type": "kano",
             "text": _labels(system, "kano", a),
             "functional": _say("functional", label=_labels(system, "kano", a)),
             "dysfunctional": _say("dysfunctional", label=_labels(system, "kano", a))}
            for a in system.kano_attributes["attribute"]]
    if kano:
        sections.append({"code": "kano", "title": _WORDING["kano_section"], "items": kano})
    sections.append({"code": "comments", "title": _WORDING["comment_section"],
                     "items": [{"code": "comment", "type": "text", "required": False,
                                "max_length": 2000, "text": _WORDING["comment"]}]})
    return parse_definition({
        "format": 1, "code": "relationship", "version": 1,
        "languages": ["zh_Hans", "zh_Hant", "en"], "title": _WORDING["title"],
        "intro": _WORDING["intro"], "thanks": _WORDING["thanks"], "sections": sections,
    }, name=f"relationship survey from index system {system.name!r}")


__all__ = [
    "list_templates",
    "load_template",
    "relationship_from_index_system",
]
