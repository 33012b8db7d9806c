"""Questionnaire definitions, templates and submission checks (patronage.surveys).

References: SERVQUAL's 22 items in five dimensions (tangibles 1–4, reliability 5–9,
responsiveness 10–13, assurance 14–17, empathy 18–22) follow Parasuraman, Zeithaml & Berry
(1988), *Journal of Retailing* 64(1), Table 1, also encoded in ``patronage.analytics.servqual``;
the Kano answer coding (1 like … 5 dislike) follows Berger et al. (1993); the index-system item
codes and weights come from ``patronage/data/index_system.json``.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from patronage.analytics import csi_scores
from patronage.analytics.servqual import SERVQUAL_DIMENSIONS
from patronage.index_system import load_index_system
from patronage.surveys import (
    MESSAGES,
    DefinitionError,
    list_templates,
    load_template,
    next_version,
    pages,
    parse_definition,
    progress,
    relationship_from_index_system,
    validate_submission,
    visible_items,
)

TEMPLATES = ["acsi", "cdv", "ces", "csat", "ecsi", "employee", "kano", "lost_customer", "nps",
             "servqual22"]
ALL = {"en", "zh_Hans", "zh_Hant"}
TEXT_KEYS = {"title", "intro", "thanks", "text", "functional", "dysfunctional",
             "expectation_text", "perception_text", "low", "high", "label"}


def _texts(node, path="$"):
    """Yield (path, mapping) for every language mapping in a definition dict."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, dict) and "en" in value:
                yield f"{path}.{key}", value
            else:
                yield from _texts(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _texts(value, f"{path}[{i}]")


def _base():
    return {
        "format": 1, "code": "demo", "version": 1, "languages": ["zh_Hans", "zh_Hant", "en"],
        "title": {"en": "Demo", "zh_Hans": "演示", "zh_Hant": "演示"},
        "sections": [{
            "code": "main", "title": {"en": "Main", "zh_Hans": "主要", "zh_Hant": "主要"},
            "items": [
                {"code": "customer_type", "type": "single",
                 "text": {"en": "Type", "zh_Hans": "类型", "zh_Hant": "類型"},
                 "options": [{"code": "b2b", "text": {"en": "Firm", "zh_Hans": "企业",
                                                      "zh_Hant": "企業"}},
                             {"code": "b2c", "text": {"en": "Person", "zh_Hans": "个人",
                                                      "zh_Hant": "個人"}}]},
                {"code": "nps", "type": "nps",
                 "text": {"en": "Recommend?", "zh_Hans": "推荐？", "zh_Hant": "推薦？"}},
                {"code": "quality", "type": "rating", "scale": [1, 10],
                 "text": {"en": "Quality", "zh_Hans": "质量", "zh_Hant": "品質"},
                 "show_if": {"item": "customer_type", "equals": "b2b"}},
                {"code": "channel_used", "type": "multiple",
                 "text": {"en": "Channels", "zh_Hans": "渠道", "zh_Hant": "渠道"},
                 "options": [{"code": c, "text": {"en": c, "zh_Hans": c, "zh_Hant": c}}
                             for c in ("web", "phone", "shop")]},
                {"code": "why_low", "type": "text", "max_length": 10,
                 "text": {"en": "Why?", "zh_Hans": "为什么？", "zh_Hant": "為什麼？"},
                 "show_if": {"item": "nps", "lte": 6}},
            ],
        }],
    }


def _problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    return info.value.problems


# --- templates --------------------------------------------------------------------------------

def test_list_templates_names_every_template_in_three_languages():
    listed = dict(list_templates())
    assert sorted(listed) == TEMPLATES
    assert all(set(title) == ALL for title in listed.values())


@pytest.mark.parametrize("code", TEMPLATES)
def test_template_parses_with_all_languages_and_unique_answer_codes(code):
    q = load_template(code)
    assert q.code == code and set(q.languages) == ALL
    data = q.to_dict()
    texts = list(_texts(data))
    assert texts, "a template without texts"
    for path, mapping in texts:
        assert set(mapping) == ALL, path
        assert all(v.strip() for v in mapping.values()), path
    codes = q.answer_codes()
    assert len(codes) == len(set(codes))
    assert q.intro and q.thanks
    assert parse_definition(data) == q


def test_servqual_has_22_pairs_in_pzb_dimensions():
    """Item numbers per dimension: Parasuraman, Zeithaml & Berry (1988)."""
    q = load_template("servqual22")
    assert [i.code for i in q.items] == [f"sq{n}" for n in range(1, 23)]
    assert {i.type for i in q.items} == {"pair"} and {i.scale for i in q.items} == {(1, 7)}
    expected = {"tangibles": [1, 2, 3, 4], "reliability": [5, 6, 7, 8, 9],
                "responsiveness": [10, 11, 12, 13], "assurance": [14, 15, 16, 17],
                "empathy": [18, 19, 20, 21, 22]}
    assert expected == {k: list(v) for k, v in SERVQUAL_DIMENSIONS.items()}
    got = {}
    for item in q.items:
        got.setdefault(item.index["dimension"], []).append(int(item.code[2:]))
    assert got == expected
    assert set(q.answer_codes()) == {f"sq{n}{s}" for n in range(1, 23) for s in ("", ".exp")}


def test_kano_template_covers_index_system_attributes():
    system = load_index_system()
    q = load_template("kano")
    kano = [i.code for i in q.items if i.type == "kano"]
    assert kano == system.kano_attributes["attribute"].tolist()


def test_unknown_template_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown survey template 'nope'.*servqual22"):
        load_template("nope")


# --- relationship survey from the index system ----------------------------------------------

def test_relationship_survey_covers_every_index_system_item():
    system = load_index_system()
    q = relationship_from_index_system(system)
    codes = set(q.answer_codes())
    items = system.items
    assert set(items["item_code"]) <= codes
    expect = items.loc[items["expectation"], "item_code"]
    assert {f"{c}.exp" for c in expect} <= codes
    kano = {f"kano.{a}.{s}" for a in system.kano_attributes["attribute"] for s in "fd"}
    assert kano <= codes and "comment" in codes
    assert [s.code for s in q.sections][:-2] == system.dimensions["dimension"].tolist()
    assert q.item(system.nps_item).type == "nps"
    assert q.item("quality_performance").type == "pair"
    assert q.item("brand_image").type == "rating"
    assert q.item("quality_performance").text["en"] == "How do you rate: Performance?"
    assert q.item("quality_durability").text["zh_Hant"] == "您對「耐用性」的評價如何？"


def test_relationship_index_items_reproduce_index_system_weights():
    system = load_index_system()
    frame = relationship_from_index_system(system).index_system_items()
    assert list(frame.columns) == list(system.items.columns)
    cols = ["item_code", "dimension", "indicator", "scale_min", "scale_max", "expectation",
            "label_en", "label_zh_Hans", "label_zh_Hant"]
    pd.testing.assert_frame_equal(frame[cols], system.items[cols])
    np.testing.assert_allclose(frame["weight"], system.items["weight"], rtol=1e-12)
    # The CSI of a respondent answering every item at the top of its scale is 100.
    top = pd.DataFrame([frame.set_index("item_code")["scale_max"]])
    assert csi_scores(top, frame)["csi"].iloc[0] == pytest.approx(100.0)


def test_round_trip_and_json_yaml_agree():
    q = relationship_from_index_system()
    assert parse_definition(q.to_dict()) == q
    data = _base()
    from_json = parse_definition(json.dumps(data, ensure_ascii=False))
    from_yaml = parse_definition(yaml.safe_dump(data, allow_unicode=True))
    assert from_json == from_yaml == parse_definition(data)
    assert parse_definition(from_yaml.to_dict()) == from_yaml


def test_next_version_increments_only_when_changed():
    old = parse_definition(_base())
    assert next_version(old, parse_definition(_base())).version == 1
    changed = _base()
    changed["sections"][0]["items"][2]["scale"] = [1, 7]
    assert next_version(old, parse_definition(changed)).version == 2
    other = _base()
    other["code"] = "other"
    with pytest.raises(ValueError, match="codes differ"):
        next_version(old, parse_definition(other))


# --- definition errors ------------------------------------------------------------------------

def test_every_problem_is_listed_with_its_path():
    data = _base()
    items = data["sections"][0]["items"]
    items[2]["scale"] = [1, 6]
    items[1]["colour"] = "red"
    del items[0]["text"]["zh_Hant"]
    items[3]["code"] = "nps"
    items[4]["show_if"] = {"item": "ghost", "gte": 3}
    problems = _problems(data)
    assert "sections[0].items[2].scale: must be one of [1,5], [1,7], [1,10]; got [1,6]" in problems
    assert any(p.startswith("sections[0].items[1]: unknown key 'colour'") for p in problems)
    assert "sections[0].items[0].text: missing zh_Hant" in problems
    assert any(p.startswith("sections[0].items[3].code: duplicate code 'nps'") and
               "sections[0].items[1]" in p for p in problems)
    assert "sections[0].items[4].show_if.item: refers to unknown item 'ghost'" in problems
    assert len(problems) == 5
    with pytest.raises(ValueError, match="5 problem"):
        parse_definition(data)


def test_show_if_on_a_later_item_is_rejected():
    data = _base()
    data["sections"][0]["items"][1]["show_if"] = {"item": "quality", "gte": 5}
    (problem,) = _problems(data)
    assert problem.startswith("sections[0].items[1].show_if.item: refers to 'quality', which "
                              "comes later")


def test_show_if_values_must_fit_the_item():
    data = _base()
    data["sections"][0]["items"][2]["show_if"] = {"item": "customer_type", "equals": "b2x"}
    data["sections"][0]["items"][4]["show_if"] = {"item": "nps", "lte": "six"}
    problems = _problems(data)
    assert problems[0].startswith("sections[0].items[2].show_if.equals: 'customer_type' is a "
                                  "single choice")
    assert problems[1] == "sections[0].items[4].show_if.lte: 'nps' holds numbers; got 'six'"


def test_structural_errors():
    data = _base()
    data["languages"] = ["en", "fr"]
    data["version"] = 0
    data["code"] = "Bad Code"
    data["sections"][0]["items"][0]["type"] = "slider"
    data["sections"][0]["items"][3]["options"] = [{"code": "web", "text": {"en": "w"}}]
    problems = _problems(data)
    assert "languages[1]: unknown language 'fr'; use ['en', 'zh_Hans', 'zh_Hant']" in problems
    assert "version: must be a positive whole number; got 0" in problems
    assert any(p.startswith("code: a survey code must match") for p in problems)
    assert any(p.startswith("sections[0].items[0].type: must be one of") for p in problems)
    assert any(p.startswith("sections[0].items[3].options: must be a list of at least two")
               for p in problems)


def test_index_only_on_scored_items_and_consistent():
    data = _base()
    items = data["sections"][0]["items"]
    items[1]["index"] = {"dimension": "overall", "indicator": "recommend", "weight": 1}
    items[2]["index"] = {"dimension": "product", "indicator": "recommend", "weight": 1}
    items[4]["index"] = {"dimension": "overall"}
    problems = _problems(data)
    assert any(p.startswith("sections[0].items[2].index.indicator: indicator 'recommend' is "
                            "used elsewhere") for p in problems)
    assert any(p.startswith("sections[0].items[4].index: only rating, pair and nps items")
               for p in problems)


def test_invalid_json_and_yaml_report_the_line():
    with pytest.raises(DefinitionError, match=r"invalid JSON at line 3, column"):
        parse_definition('{\n "code": "x",\n "version": 1,,\n}')
    with pytest.raises(DefinitionError, match=r"invalid YAML at line 3, column 14"):
        parse_definition("code: x\nversion: 1\ntitle: {en: a: b}\n")


def test_importance_may_share_the_rating_code():
    data = _base()
    data["sections"][0]["items"].insert(3, {
        "code": "quality", "type": "importance", "scale": [1, 5],
        "text": {"en": "How important?", "zh_Hans": "重要吗？", "zh_Hant": "重要嗎？"}})
    q = parse_definition(data)
    assert q.answer_codes() == ["customer_type", "nps", "quality", "quality.imp",
                                "channel_used.web", "channel_used.phone", "channel_used.shop",
                                "why_low"]


# --- submissions ------------------------------------------------------------------------------

def test_valid_submission_and_multiple_choice_coding():
    q = parse_definition(_base())
    form = {"customer_type": "b2b", "nps": "9", "quality": "7",
            "channel_used": ["web", "shop"], "csrf_token": "abc"}
    answers, errors = validate_submission(q, form, "en")
    assert errors == {}
    assert answers == {"customer_type": "b2b", "nps": 9.0, "quality": 7.0,
                       "channel_used.web": 1.0, "channel_used.phone": 0.0,
                       "channel_used.shop": 1.0}
    # The same answer posted as one field per option.
    alt = {**form, "channel_used": [], "channel_used.web": "on", "channel_used.shop": "1",
           "channel_used.phone": "0"}
    assert validate_submission(q, alt, "en")[0] == answers


def test_required_range_and_option_errors_in_each_language():
    q = parse_definition(_base())
    form = {"customer_type": "b2b", "nps": "11", "quality": "", "channel_used": ["fax"]}
    answers, errors = validate_submission(q, form, "zh_Hans")
    assert errors == {"nps": "请选择 0 到 10 之间的数值。", "quality": "请回答此题。",
                      "channel_used": "请从列出的选项中选择。"}
    assert answers == {"customer_type": "b2b"}
    _, errors = validate_submission(q, {**form, "quality": "7.5"}, "en")
    assert errors["quality"] == "Choose a value from 1 to 10."
    assert errors["nps"] == "Choose a value from 0 to 10."
    _, errors = validate_submission(q, form, "zh_Hant")
    assert errors["quality"] == "請回答此題。"
    assert validate_submission(q, form)[1]["quality"] == "请回答此题。"  # default: first language
    assert set(MESSAGES) >= {"required", "range", "option", "too_long"}
    assert all(set(m) == ALL for m in MESSAGES.values())
    with pytest.raises(ValueError, match="offered in"):
        validate_submission(q, form, "fr")


def test_skip_logic_drops_hidden_answers_and_requirements():
    q = parse_definition(_base())
    # b2c: the quality item is hidden, so it is not required and its answer is dropped.
    form = {"customer_type": "b2c", "nps": "9", "quality": "3", "channel_used": "phone",
            "why_low": "slow"}
    answers, errors = validate_submission(q, form, "en")
    assert errors == {}
    assert "quality" not in answers and "why_low" not in answers
    assert [i.code for i in visible_items(q, answers)] == ["customer_type", "nps",
                                                            "channel_used"]
    # A detractor sees the optional follow-up; its length limit applies.
    answers, errors = validate_submission(q, {**form, "nps": "4", "why_low": "x" * 11}, "en")
    assert errors == {"why_low": "Please keep your answer within 10 characters."}
    answers, errors = validate_submission(q, {**form, "nps": "4", "why_low": "slow"}, "en")
    assert answers["why_low"] == "slow" and errors == {}


def test_pair_and_kano_answers():
    q = relationship_from_index_system()
    form = {"quality_performance": "8", "quality_performance.exp": "9",
            "kano.mobile_app.f": "1", "kano.mobile_app.d": "6"}
    answers, errors = validate_submission(q, form, "en")
    assert answers["quality_performance"] == 8.0 and answers["quality_performance.exp"] == 9.0
    assert answers["kano.mobile_app.f"] == 1.0 and "kano.mobile_app.d" not in answers
    assert errors["kano.mobile_app"] == "Choose one of the listed options."
    assert errors["quality_stability"] == "Please answer this question."
    assert "comment" not in errors  # text is optional by default


def test_progress_counts_visible_required_items():
    q = parse_definition(_base())
    assert progress(q, {}) == pytest.approx(0 / 3)
    # b2b: customer_type, nps, quality, channel_used are required and visible.
    assert progress(q, {"customer_type": "b2b", "nps": 9.0}) == pytest.approx(2 / 4)
    assert progress(q, {"customer_type": "b2c", "nps": 9.0, "quality": 5.0,
                        "channel_used.web": 0.0, "channel_used.phone": 1.0,
                        "channel_used.shop": 0.0}) == pytest.approx(1.0)
    assert progress(q, {"customer_type": "b2c", "nps": math.nan}) == pytest.approx(1 / 3)


def test_pages_follow_sections_and_skip_logic():
    q = relationship_from_index_system()
    assert [p.code for p in pages(q)] == [s.code for s in q.sections]
    data = copy.deepcopy(_base())
    q = parse_definition(data)
    # quality depends on customer_type on the same section: it starts a page of its own, so
    # the server sees the answer before deciding (why_low's nps is then on an earlier page).
    assert [[i.code for i in p.items] for p in pages(q)] == [
        ["customer_type", "nps"], ["quality", "channel_used", "why_low"]]
    first, second = pages(q, {"customer_type": "b2c"})
    assert [i.code for i in first.items] == ["customer_type", "nps"]
    assert [i.code for i in second.items] == ["channel_used"]
    assert [i.code for i in pages(q, {"customer_type": "b2b", "nps": 3.0})[1].items] == [
        "quality", "channel_used", "why_low"]


def test_inputs_are_not_mutated():
    data = _base()
    before = copy.deepcopy(data)
    q = parse_definition(data)
    assert data == before
    form = {"customer_type": "b2b", "nps": "9", "channel_used": ["web"]}
    frozen = copy.deepcopy(form)
    validate_submission(q, form, "en")
    assert form == frozen


@pytest.mark.parametrize("code", TEMPLATES)
def test_every_template_accepts_a_complete_answer(code):
    q = load_template(code)
    form = {}
    for item in q.items:
        if item.type == "multiple":
            form[item.code] = [item.options[0].code]
        elif item.type == "single":
            form[item.code] = item.options[0].code
        elif item.type == "text":
            form[item.code] = "ok"
        else:
            low = 1 if item.type == "kano" else item.scale[0]
            form.update({c: str(low) for c in item.answer_codes()})
    for language in q.languages:
        answers, errors = validate_submission(q, form, language)
        assert errors == {}
        assert progress(q, answers) == 1.0
        assert set(answers) <= set(q.answer_codes())


# --- hostile definitions ----------------------------------------------------------------------

# 305 bytes that expand to 9**5 = 59,049 copies of a 50-character text, shown in a message.
ALIAS_BOMB = (
    "code: x\nversion: 1\n"
    'a: &a ["lolololololololololololololololololololololololol"]\n'
    + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in zip("abcde", "bcdef"))
    + "format: *f\n")


def test_yaml_aliases_are_refused_before_they_expand():
    assert len(ALIAS_BOMB) < 400
    with pytest.raises(DefinitionError) as refused:
        parse_definition(ALIAS_BOMB)
    assert len(str(refused.value)) < 500
    assert refused.value.problems == [
        "invalid YAML at line 4, column 8: aliases (*name) are not allowed; write the values out"]


@pytest.mark.parametrize("text", ["[" * 100_000, "a:\n" + "- " * 50_000 + "x\n",
                                  "{" + '"a":{' * 50_000])
def test_deeply_nested_text_is_a_problem_not_a_crash(text):
    with pytest.raises(DefinitionError, match="nested too deeply|invalid"):
        parse_definition(text)


def test_the_problem_list_is_bounded():
    """5,000 broken items give the first 100 problems and a count of the rest; a long value is
    shown cut."""
    data = _base()
    data["sections"][0]["items"] = [{"code": f"q{i}", "type": "slider",
                                     "text": {"en": "a", "zh_Hans": "b", "zh_Hant": "c"}}
                                    for i in range(5000)]
    data["sections"][0]["items"][0]["type"] = "x" * 100_000
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data)
    problems = refused.value.problems
    assert len(problems) == 101 and problems[-1] == "... and 4,900 more problems"
    assert problems[0].startswith("sections[0].items[0].type: must be one of")
    assert all(len(p) <= 400 for p in problems)
    assert len(str(refused.value)) < 50_000


def test_an_oversized_definition_is_refused_unread():
    with pytest.raises(DefinitionError, match="at most 500,000 characters"):
        parse_definition("code: x\n" + "# padding\n" * 60_000)


@pytest.mark.parametrize("text", ["code: x\nversion: " + "9" * 5000 + "\n",
                                  '{"code": "x", "version": ' + "9" * 5000 + "}"])
def test_a_number_too_long_to_read_is_a_problem(text):
    """Python refuses to read integers of more than 4,300 digits (a ValueError of its own)."""
    with pytest.raises(DefinitionError, match="invalid (JSON|YAML): .*4300 digits"):
        parse_definition(text)
