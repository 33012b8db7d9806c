"""The survey data shared by every page at a data version (patronage.reporting.shared): the
responses kept by cleaning are taken from the same read as those with the flagged ones, and
are exactly what reading them alone gives."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import update

from patronage.reporting.shared import sharing, survey_data_from_db
from patronage.satisfaction import sources
from patronage.storage import write_transaction
from patronage.storage.schema import answers, responses

pytestmark = pytest.mark.db


def _same(found: sources.SurveyData, expected: sources.SurveyData) -> None:
    pd.testing.assert_frame_equal(found.answers, expected.answers)
    pd.testing.assert_frame_equal(found.meta, expected.meta)
    pd.testing.assert_series_equal(found.comments, expected.comments)


def test_the_kept_responses_are_those_read_without_the_flagged_ones(panel, monkeypatch):
    engine, _ = panel
    with write_transaction(engine) as conn:
        conn.execute(update(responses).where(responses.c.id.in_([2, 5, 6]))
                     .values(quality_flags={"speeder": "completed in 41 s"}))
        # an item only a flagged response answered: left out of the kept responses' columns
        conn.execute(answers.insert().values(response_id=5, item_code="only_flagged",
                                             value_num=3.0))
    reads = []
    original = sources.survey_data_from_db

    def counted(*args, **kwargs):
        reads.append(kwargs.get("include_flagged", False))
        return original(*args, **kwargs)

    monkeypatch.setattr(sources, "survey_data_from_db", counted)
    with sharing({}, {}):
        kept = survey_data_from_db(engine, None)
        everything = survey_data_from_db(engine, None, include_flagged=True)
        again = survey_data_from_db(engine, None)
    assert reads == [True]  # one read for both
    assert again is kept
    _same(kept, original(engine, None))
    _same(everything, original(engine, None, include_flagged=True))
    assert "only_flagged" in everything.answers and "only_flagged" not in kept.answers
    assert len(everything.meta) == len(kept.meta) + 3


def test_the_default_survey_and_its_code_share_one_read(panel, monkeypatch):
    """The Overview names the default survey by its code, the Analysis page leaves it out: both
    are served by one read (on a million responses a second read took minutes)."""
    engine, _ = panel
    code = sources.default_survey(engine)
    counts = sources.read_responses(engine)["survey"].value_counts()
    assert code == counts.idxmax() and (counts.drop(code) < counts[code]).all()
    reads = []
    original = sources.survey_data_from_db

    def counted(*args, **kwargs):
        reads.append(args[1:])
        return original(*args, **kwargs)

    monkeypatch.setattr(sources, "survey_data_from_db", counted)
    with sharing({}, {}):
        named = survey_data_from_db(engine, code)
        default = survey_data_from_db(engine, None)
    assert reads == [(code,)]
    _same(default, named)
    _same(default, original(engine, None))


def test_a_filtered_view_filters_once_for_the_overview_and_the_analysis_page(panel, monkeypatch):
    """The Overview and the Analysis page of one filtered view (each its own store of shared
    results) share the filtered survey data, and what is computed on it: the responses are
    filtered once. The Overview's count of the flagged responses the filters keep is the
    same as counting them among all the survey's responses."""
    from patronage.reporting import shared
    from patronage.reporting.filters import Filters
    from patronage.reporting.overview import overview
    from patronage.reporting.satisfaction import analysis_section

    engine, _ = panel
    with write_transaction(engine) as conn:
        conn.execute(update(responses).where(responses.c.id.in_([2, 5, 6]))
                     .values(quality_flags={"speeder": "completed in 41 s"}))
    everything = sources.survey_data_from_db(engine, None, include_flagged=True)
    region = everything.meta["customer_region"].dropna().value_counts().index[0]
    chosen = Filters(region=region)
    applied = []
    original = Filters.apply

    def counted(self, data):
        applied.append(self)
        return original(self, data)

    monkeypatch.setattr(Filters, "apply", counted)
    every = {}
    with sharing({}, every):  # the Overview's store
        shown = overview(engine, None, filters=chosen)
    with sharing({}, every):  # the Analysis page's
        kept = shared.filtered(chosen, survey_data_from_db(engine, None))
        analysis_section(engine, None, "trend", filters=chosen)
    assert len(applied) == 1
    expected = original(chosen, sources.survey_data_from_db(engine, None))
    _same(kept, expected)
    assert shown.total == len(expected.meta)
    assert shown.flagged == int(chosen.keep(everything.meta).sum()) - shown.total


def test_the_filtered_views_kept_are_the_last_few(panel, monkeypatch):
    """A data version keeps the last FILTERED_KEPT filtered views; a value the data do not
    have is the same error each time."""
    from patronage.messages import UserError
    from patronage.reporting import shared
    from patronage.reporting.filters import Filters

    engine, _ = panel
    monkeypatch.setattr(shared, "FILTERED_KEPT", 2)
    with sharing({}, {}):
        data = survey_data_from_db(engine, None)
        waves = data.waves_in_order()
        region = data.meta["customer_region"].dropna().iloc[0]
        first = shared.filtered(Filters(wave=waves[0]), data)
        assert shared.filtered(Filters(wave=waves[0], survey="any"), data) is first
        shared.filtered(Filters(wave=waves[1]), data)
        shared.filtered(Filters(region=region), data)
        again = shared.filtered(Filters(wave=waves[0]), data)
        assert again is not first  # filtered again: no longer kept
        _same(again, first)
        assert shared.filtered(Filters(), data) is data
        for _ in range(2):
            with pytest.raises(UserError, match="Atlantis"):
                shared.filtered(Filters(region="Atlantis"), data)


def test_the_default_survey_is_the_most_answered_and_the_first_answered_on_a_tie(panel):
    """Counted from the index on the responses' survey, the dates read only on a tie: the
    survey with the most responses, on a tie the one answered first, never an employee one."""
    from datetime import datetime

    from sqlalchemy import insert

    from patronage.storage.schema import surveys

    engine, _ = panel
    with write_transaction(engine) as conn:
        conn.execute(insert(surveys).values(code="pulse", title="Pulse", status="closed",
                                            definition={}, created_at=datetime(2026, 1, 1)))
        pulse = conn.execute(surveys.select().where(surveys.c.code == "pulse")).one().id
        # 30 and 30 responses: a tie, relationship answered first (February against May)
        conn.execute(update(responses).where(responses.c.id > 30).values(survey_id=pulse))
    assert sources.default_survey(engine) == "relationship"
    with write_transaction(engine) as conn:  # pulse answered first: it wins the tie
        conn.execute(update(responses).where(responses.c.id == 31)
                     .values(submitted_at=datetime(2025, 12, 1)))
    assert sources.default_survey(engine) == "pulse"
    assert sources.default_survey(engine, {"pulse"}) == "relationship"
    with write_transaction(engine) as conn:  # 28 against 32: the most answered
        conn.execute(update(responses).where(responses.c.id.in_([1, 2, 3, 4, 5]))
                     .values(survey_id=pulse))
        conn.execute(update(responses).where(responses.c.id.in_([31, 32, 33]))
                     .values(survey_id=1))
    assert sources.default_survey(engine) == "pulse"
    assert sources.default_survey(engine, {"pulse", "relationship"}) is None
