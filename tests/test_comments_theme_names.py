"""Theme names on the comments page in the reader's language: a theme found in Chinese comments
is named by its Chinese words; a theme found in comments of another language than the reader's is
shown by its words, said to be those comments' keywords, and listed after the reader's own."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from test_comments_service import sentiment_models  # noqa: F401

from patronage.catalogs import gettext_for
from patronage.reporting.comments_page import comments_page, words_language
from patronage.storage import insert_rows, write_transaction
from patronage.storage.schema import answers, responses, surveys, waves

pytestmark = pytest.mark.db
#: Two planted topics in Chinese comments and two in English ones.
TEXTS = ["设备故障太多，影响生产", "设备经常故障需要维修", "设备故障停机维修",
         "交货延迟了两周", "发货延迟，交货时间太长", "交货延迟没人通知",
         "The delivery was late again", "Late delivery, nobody called", "Delivery two weeks late",
         "The machine keeps breaking down", "Machine broke, long repair", "Machine repair slow"]


@pytest.fixture
def bilingual(engine):
    """96 responses of one wave, each with a comment of :data:`TEXTS`."""
    now = datetime(2026, 6, 1, 9, 0)
    with write_transaction(engine) as conn:
        insert_rows(conn, surveys, [{"id": 1, "code": "relationship", "title": "Relationship",
                                     "status": "closed", "definition": {}, "created_at": now}])
        insert_rows(conn, waves, [{"id": 1, "survey_id": 1, "name": "2026-Q2",
                                   "starts_on": date(2026, 4, 1)}])
        insert_rows(conn, responses, [
            {"id": i + 1, "external_id": f"R{i}", "survey_id": 1, "wave_id": 1,
             "channel": "web", "submitted_at": now, "weight": 1.0} for i in range(96)])
        insert_rows(conn, answers, [
            {"response_id": i + 1, "item_code": "comment", "value_num": None,
             "value_text": TEXTS[i % len(TEXTS)]} for i in range(96)])
    return engine


def test_words_language():
    assert words_language(["设备", "故障"]) == "zh"
    assert words_language(["price", "high"]) == "en"
    assert words_language(["price", "價格"]) == "zh"


@pytest.mark.parametrize("language, own, other, said", [
    ("zh_Hans", "zh", "en", "英文意见的关键词"),
    ("zh_Hant", "zh", "en", "英文意見的關鍵詞"),
    ("en", "en", "zh", "keywords of comments in Chinese"),
])
def test_foreign_themes_are_said_to_be_keywords_and_come_last(bilingual, language, own, other,
                                                             said):
    page = comments_page(bilingual, survey="relationship", language=language,
                         gettext=gettext_for(language))
    themes = page["themes"]
    kinds = [theme["words"] for theme in themes]
    assert own in kinds and other in kinds, [t["name"] for t in themes]  # both kinds were found
    first_foreign = kinds.index(other)
    assert all(kind == other for kind in kinds[first_foreign:])  # the reader's own come first
    for theme in themes:
        assert theme["words_label"] == (said if theme["words"] == other else None)
    names = " ".join(t["name"] for t in themes if t["words"] == "en")
    assert "delivery" in names or "machine" in names
