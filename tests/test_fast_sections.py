"""The Analysis page's sections on a filtered view of many responses: the key drivers' fit made
once for their table and the IPA, the methods on pairs of answers (expectations, a competitor's
ratings) taking only the rows that answer them, the complete rows found column by column. Each
gives what the plain computation it replaced gave, on the demo company's relationship survey
(whole and narrowed to a region, and padded with responses answering nothing, as the million
responses of the benchmark answer a few items); the references below are those computations
as they were, kept here only to compare."""

from __future__ import annotations

import json
import tracemalloc
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from patronage.analytics import drivers as driver_module
from patronage.analytics import competitor_comparison, satisfaction_gap
from patronage.analytics.drivers import driver_importance
from patronage.analytics.ipa import importance_performance
from patronage.index_system import EXPECTATION_SUFFIX, load_index_system
from patronage.satisfaction import methods
from patronage.satisfaction.sources import SurveyData, survey_data_from_db
from patronage.storage import make_engine


@pytest.fixture(scope="module")
def demo(demo_company):
    engine = make_engine(demo_company[0])
    try:
        yield survey_data_from_db(engine, "relationship", include_flagged=True)
    finally:
        engine.dispose()


def _padded(data: SurveyData, extra: int) -> SurveyData:
    """``data`` and ``extra`` more responses that answer nothing (weight 1)."""
    ids = pd.Index([f"pad{i}" for i in range(extra)], name=data.answers.index.name)
    empty = pd.DataFrame(np.nan, index=ids, columns=data.answers.columns)
    more = pd.DataFrame({"weight": np.ones(extra)}, index=ids)
    return SurveyData(answers=pd.concat([data.answers, empty]), comments=data.comments,
                      meta=pd.concat([data.meta, more]))


@pytest.fixture(scope="module", params=["whole", "region", "padded"])
def data(demo, request) -> SurveyData:
    if request.param == "whole":
        return demo
    if request.param == "region":
        regions = demo.meta["customer_region"]
        return demo.narrowed((regions == regions.value_counts().index[0]).to_numpy())
    return _padded(demo, 20_000)


def _fresh(data: SurveyData) -> SurveyData:
    return SurveyData(answers=data.answers, comments=data.comments, meta=data.meta)


# --- the references: the computations as they were ------------------------------------------

def _old_drivers(data: SurveyData, n_boot: int) -> pd.DataFrame:
    system = load_index_system()
    X = methods._dimension_scores(data, system).drop(columns=["overall"], errors="ignore")
    methods._enough(int(pd.concat([X, data.answers["overall_satisfaction"]], axis=1).notna()
                        .all(axis=1).sum()), X.shape[1] + 2)
    return driver_importance(X, data.answers["overall_satisfaction"], n_boot=n_boot,
                             random_state=0, sample_weight=data.weights.to_numpy())


def _old_ipa(data: SurveyData) -> pd.DataFrame:
    system = load_index_system()
    drivers = _old_drivers(data, 0)
    scores = methods._dimension_scores(data, system).drop(columns=["overall"], errors="ignore")
    return importance_performance(drivers["share"].rename_axis("dimension"),
                                  methods._mean_scores(scores, data.weights))


def _old_gap(data: SurveyData) -> pd.DataFrame:
    items = methods._items(data, load_index_system())
    paired = [c for c in items["item_code"] if c + EXPECTATION_SUFFIX in data.answers.columns]
    expectation = data.answers[[c + EXPECTATION_SUFFIX for c in paired]]
    expectation.columns = paired
    return satisfaction_gap(data.answers[paired], expectation, data.weights).sort_values("gap")


def _old_competitor(data: SurveyData, competitor: str) -> pd.DataFrame:
    prefix = f"competitor.{competitor}."
    pairs = [c[len(prefix):] for c in data.answers.columns if c.startswith(prefix)]
    pairs = [item for item in pairs if item in data.answers.columns]
    theirs = data.answers[[prefix + item for item in pairs]].set_axis(pairs, axis=1)
    return competitor_comparison(data.answers[pairs], theirs)


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.parametrize("little", [False, True], ids=["bootstrap", "little bootstraps"])
def test_drivers_and_ipa_equal_the_plain_computation(data, little, monkeypatch):
    """The key drivers (with their intervals, by the plain bootstrap and by the Bag of Little
    Bootstraps) and the IPA from one fit are the tables each computing its own gave."""
    if little:
        monkeypatch.setattr(driver_module, "BLB_MIN_ROWS", 100)
    view = _fresh(data)
    found = methods.drivers_table(view, n_boot=50)
    expected = _old_drivers(data, 50)
    assert found.attrs["interval"] == ("little bootstraps" if little else "bootstrap")
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    assert found.attrs == expected.attrs
    pd.testing.assert_frame_equal(methods.ipa_table(view), _old_ipa(data), check_exact=True)


def test_the_key_drivers_are_fitted_once_for_their_table_and_the_ipa(data, monkeypatch):
    """The drivers' table (with intervals), the IPA and the table again on the same data
    prepare and fit the responses once; other data fit their own."""
    calls = []
    original = driver_module._prepare
    monkeypatch.setattr(driver_module, "_prepare",
                        lambda *a: calls.append(len(a[0])) or original(*a))
    view = _fresh(data)
    methods.drivers_table(view, n_boot=20)
    methods.ipa_table(view)
    methods.drivers_table(view, n_boot=20, random_state=1)
    assert len(calls) == 1
    methods.drivers_table(_fresh(data), n_boot=20)
    assert len(calls) == 2
    methods.drivers_table(view, n_boot=0, method="shapley")
    assert len(calls) == 3


def test_the_drivers_still_refuse_too_few_complete_responses(demo):
    few = demo.narrowed(np.arange(len(demo.meta)) < 5)
    with pytest.raises(methods.UserError, match="Too few complete responses"):
        methods.drivers_table(few, n_boot=0)


def test_gaps_take_only_the_responses_with_an_expectation(data, demo, monkeypatch):
    """The gap table is the plain computation's, computed on the responses that answered an
    expectation (not a copy of every response's answers)."""
    expected = _old_gap(data)
    seen = []
    monkeypatch.setattr(methods, "satisfaction_gap",
                        lambda b, a, w: seen.append(len(b)) or satisfaction_gap(b, a, w))
    found = methods.gap_table(data)
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    asked = [c for c in data.answers.columns if c.endswith(EXPECTATION_SUFFIX)]
    answering = int(data.answers[asked].notna().any(axis=1).sum())
    assert seen == [answering] and 0 < answering <= len(demo.answers)


def test_gaps_with_a_bad_weight_fail_as_before(demo):
    """A negative weight fails the gaps as before, also on a response without expectations."""
    padded = _padded(demo, 10)
    weights = padded.meta["weight"].copy()
    weights.iloc[-1] = -1.0
    bad = SurveyData(answers=padded.answers, comments=padded.comments,
                     meta=padded.meta.assign(weight=weights))
    with pytest.raises(ValueError, match="non-negative"):
        methods.gap_table(bad)


def test_a_competitor_is_compared_on_the_responses_that_rate_it(data, demo, monkeypatch):
    competitors = methods.competitors_in(data)
    assert competitors
    seen = []
    monkeypatch.setattr(methods, "competitor_comparison",
                        lambda own, theirs: seen.append(len(own))
                        or competitor_comparison(own, theirs))
    for competitor in competitors:
        prefix = f"competitor.{competitor}."
        rating = int(data.answers[[c for c in data.answers.columns if c.startswith(prefix)]]
                     .notna().any(axis=1).sum())
        try:
            expected = _old_competitor(data, competitor)
        except ValueError as exc:
            with pytest.raises(ValueError, match=str(exc)):
                methods.competitor_table(data, competitor=competitor)
        else:
            pd.testing.assert_frame_equal(methods.competitor_table(data, competitor=competitor),
                                          expected, check_exact=True)
        assert seen[-1] == rating <= len(demo.answers)


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reliability_and_the_path_model_find_complete_rows_without_copying_them_all(demo):
    """With many responses answering nothing (a million answering a few items), reliability
    and the path model (its check of the complete rows, its bootstrap) copy no answers of all
    the rows: their results are the demo's, and none holds more than a small part of the
    padded answers at once."""
    padded = _padded(demo, 200_000)
    table = methods.reliability_table(padded)
    pd.testing.assert_frame_equal(table, methods.reliability_table(demo), check_exact=True)
    columns = [c for c in load_index_system().items["item_code"] if c in padded.answers.columns]
    whole = len(padded.answers) * len(columns) * 8  # the answers of those items, as floats
    assert _peak_bytes(lambda: methods.reliability_table(padded)) < whole / 4
    inner, outer = methods.index_path_structure(padded.answers.columns,
                                                load_index_system())
    indicators = [c for codes in outer.values() for c in codes]
    assert _peak_bytes(lambda: methods._enough(int(methods._answered(
        padded.answers, indicators, every=True).sum()), 10)) < whole / 20
    model = methods.index_path_model(padded, n_boot=20)
    reference = methods.index_path_model(demo, n_boot=20)
    pd.testing.assert_frame_equal(model.paths_, reference.paths_, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(model.bootstrap_, reference.bootstrap_, rtol=1e-9,
                                  atol=1e-12)
    # its bootstrap takes the complete rows of each indicator, not all rows of them all
    assert _peak_bytes(lambda: methods.index_path_model(padded, n_boot=20)) < whole / 4


def test_a_narrowed_view_shares_one_index_of_the_ids(demo):
    """A filtered view's answers and meta share one index object (its hash table of the
    response ids built once for every lookup by id), with the rows the plain narrowing kept."""
    keep = (demo.meta["customer_region"] == demo.meta["customer_region"].iloc[0]).to_numpy()
    view = demo.narrowed(keep)
    assert view.answers.index is view.meta.index
    pd.testing.assert_frame_equal(view.answers, demo.answers[keep], check_exact=True)
    pd.testing.assert_frame_equal(view.meta, demo.meta[keep], check_exact=True)
    again = view.narrowed(np.arange(len(view.meta)) % 2 == 0)
    assert again.answers.index is again.meta.index
    assert demo.answers.index is not view.answers.index  # the data narrowed keep theirs


def test_the_default_index_system_is_parsed_once_and_each_caller_gets_its_own_tables(
        monkeypatch):
    from patronage import index_system

    first = load_index_system()
    calls = []
    original = index_system.parse_index_system
    monkeypatch.setattr(index_system, "parse_index_system",
                        lambda data: calls.append(1) or original(data))
    second, third = load_index_system(), load_index_system()
    assert calls == []
    fresh = original(json.loads((files("patronage") / "data" / "index_system.json")
                                .read_text(encoding="utf-8")))
    for name in ("items", "dimensions", "indicators", "kano_attributes"):
        pd.testing.assert_frame_equal(getattr(second, name), getattr(fresh, name))
        assert getattr(second, name) is not getattr(third, name)
    assert (second.name, second.nps_item) == (fresh.name, fresh.nps_item)
    second.items.loc[:, "label_en"] = "changed"  # a caller changing its copy
    assert load_index_system().items["label_en"].equals(first.items["label_en"])


@pytest.mark.parametrize("language", ["en", "zh_Hans", "zh_Hant", "fr"])
def test_the_analysis_labels_are_those_of_the_index_system_looked_up_one_by_one(
        language, monkeypatch):
    """The Analysis page's labeller names every dimension, item, Kano attribute and other code
    as looking each up in the index system did, without looking them up one by one."""
    from patronage.index_system import IndexSystem
    from patronage.reporting.satisfaction import _labeller

    system = load_index_system()
    codes = [*system.dimensions["dimension"], *system.items["item_code"],
             *system.kano_attributes["attribute"], "satisfaction", "loyalty", "2025-Q3",
             "nobody", 7]
    expected = {}
    for code in codes:
        for kind in ("dimension", "item", "kano"):
            text = system.label(kind, str(code), language)
            if text != str(code):
                expected[code] = text
                break
    for kind in ("dimension", "indicator", "item", "kano"):
        frame = {"dimension": system.dimensions, "indicator": system.indicators,
                 "item": system.items, "kano": system.kano_attributes}[kind]
        key = {"dimension": "dimension", "indicator": "indicator", "item": "item_code",
               "kano": "attribute"}[kind]
        assert system.labels(kind, language) == {c: system.label(kind, c, language)
                                                 for c in frame[key]}
    monkeypatch.setattr(IndexSystem, "label", lambda *a: pytest.fail("looked up one by one"))
    label = _labeller(language, lambda text: f"<{text}>")
    for code in codes:
        if code in expected:
            assert label(code) == expected[code]
    assert label("satisfaction") == "<satisfaction>" and label("2025-Q3") != "2025-Q3"


def test_kish_sizes_take_the_weights_by_position_not_by_their_labels(monkeypatch):
    """Kish's effective sample size and design effect of a Series indexed by response ids do
    not look at the ids (pandas built their hash table first: 0.1 s for a third of a million),
    and are the plain formulas' values, missing weights left out, as for a list."""
    from patronage.analytics.weighting import design_effect, effective_sample_size

    rng = np.random.default_rng(3)
    values = rng.uniform(0.5, 2.0, 30_000)
    values[::7] = np.nan
    weights = pd.Series(values, index=pd.Index([f"R{i:07d}" for i in range(len(values))]))
    present = values[~np.isnan(values)]
    deff = float(len(present) * np.sum(present**2) / np.sum(present) ** 2)
    monkeypatch.setattr(pd.Index, "__contains__",
                        lambda *a: pytest.fail("the weights' labels were looked at"))
    assert design_effect(weights) == deff
    assert effective_sample_size(weights) == float(len(present) / deff)
    assert effective_sample_size(list(values)) == effective_sample_size(weights)
    assert design_effect([1.0, None, 3.0]) == 2 * 10 / 16
