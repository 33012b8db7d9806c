"""User errors: English where they are raised, translated where they are shown."""

from __future__ import annotations

from patronage.messages import N_, UserError, translated
from patronage.web.i18n import load_translations


def test_user_error_reads_in_english_and_translates_with_its_values():
    error = UserError(N_("Item {item} is not in the data."), item="ces")
    assert str(error) == "Item ces is not in the data."
    assert isinstance(error, ValueError)
    fake = {"Item {item} is not in the data.": "数据中没有题目 {item}。"}
    assert error.translate(lambda m: fake.get(m, m)) == "数据中没有题目 ces。"
    assert translated(error, lambda m: fake.get(m, m)) == "数据中没有题目 ces。"


def test_a_broken_catalog_placeholder_falls_back_to_english():
    error = UserError(N_("Item {item} is not in the data."), item="ces")
    assert error.translate(lambda m: "数据中没有题目 {题目}。") == "Item ces is not in the data."


def test_values_are_filled_in_after_translation_and_never_read_as_templates():
    error = UserError(N_("Item {item} is not in the data."), item="{0}{__class__}")
    assert error.translate(lambda m: m) == "Item {0}{__class__} is not in the data."


def test_plain_errors_pass_through_the_catalog():
    translations = load_translations()["zh_Hans"]
    assert translated(ValueError("Overview"), translations.gettext) != "Overview"


def test_terms_among_the_values_are_translated_with_the_message():
    from patronage.messages import Term

    error = UserError(N_("The {field} is required."), field=Term(N_("subject")))
    fake = {"The {field} is required.": "{field}必填。", "subject": "主题"}
    assert error.translate(lambda m: fake.get(m, m)) == "主题必填。"
    assert str(error) == "The subject is required."
