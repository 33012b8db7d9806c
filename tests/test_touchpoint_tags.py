"""Survey answers and cases tagged with the touchpoint they concern (migration 0015): the
responses import's touchpoint column, a case's touchpoint reference, transactional surveys that
carry their touchpoint to the answer, and the journey view and touchpoint filter that read the
tag before the 30-day window."""

from __future__ import annotations

from datetime import datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select, update

from patronage.cli import main
from patronage.journey.importing import import_touchpoints
from patronage.storage import write_transaction
from patronage.storage.importing import import_file
from patronage.storage.schema import responses, touchpoints

pytestmark = pytest.mark.db


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _points(engine, tmp_path):
    """Touchpoints TP1 (C001's delivery) and TP2 (C002's installation), imported."""
    report = import_touchpoints(engine, _csv(tmp_path / "tp.csv", (
        "id,customer_id,kind,start\n"
        "TP1,C001,delivery,2026-05-20 10:00\n"
        "TP2,C002,installation,2026-05-21 10:00\n")))
    assert report.ok
    with engine.connect() as conn:
        return dict(conn.execute(select(touchpoints.c.external_id, touchpoints.c.id)
                                 .where(touchpoints.c.external_id.is_not(None))).all())


def _tags(engine, *external_ids):
    with engine.connect() as conn:
        found = dict(conn.execute(select(responses.c.external_id, responses.c.touchpoint_id)
                                  .where(responses.c.external_id.in_(external_ids))).all())
    return [found[e] for e in external_ids]


def test_the_responses_import_tags_answers_by_the_touchpoints_id(panel, tmp_path):
    engine = panel[0]
    ids = _points(engine, tmp_path)
    path = _csv(tmp_path / "答卷.csv", (
        "答卷编号,问卷,客户编号,提交时间,触点编号,csat\n"
        "X1,after-delivery,C001,2026-05-22 09:00,TP1,4\n"
        "X2,after-delivery,C002,2026-05-22 09:00,TP2,2\n"
        "X3,after-delivery,C003,2026-05-22 09:00,,5\n"))
    report = import_file(engine, "responses", path)
    assert report.ok and report.inserted == 3
    assert _tags(engine, "X1", "X2", "X3") == [ids["TP1"], ids["TP2"], None]
    again = import_file(engine, "responses", path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    # A file without the column leaves the tags as they are.
    plain = _csv(tmp_path / "plain.csv", "response_id,survey,customer_id,submitted_at,csat\n"
                                        "X1,after-delivery,C001,2026-05-22 09:00,5\n")
    assert import_file(engine, "responses", plain).updated == 1
    assert _tags(engine, "X1") == [ids["TP1"]]


def test_an_unknown_or_foreign_touchpoint_is_named_and_nothing_is_written(panel, db_url,
                                                                          tmp_path):
    engine = panel[0]
    _points(engine, tmp_path)
    path = _csv(tmp_path / "r.csv", (
        "response_id,survey,customer_id,submitted_at,touchpoint_id,csat\n"
        "Y1,s,C001,2026-05-22 09:00,TP9,4\n"
        "Y2,s,C001,2026-05-22 09:00,TP2,4\n"
        "Y3,s,C001,2026-05-22 09:00,TP1,4\n"))
    result = CliRunner().invoke(main, ["import", "responses", str(path), "--db", db_url])
    assert result.exit_code != 0
    assert "r.csv" in result.output and "Nothing was written: 2 problems" in result.output
    assert "line 2, column touchpoint_id (touchpoint): 'TP9' — touchpoint 'TP9' is not among " \
        "the imported touchpoints" in result.output
    assert "line 3, column touchpoint_id (touchpoint): 'TP2' — touchpoint 'TP2' belongs to " \
        "another customer" in result.output
    assert "Traceback" not in result.output
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.id)
                            .where(responses.c.external_id.like("Y%"))).first() is None
