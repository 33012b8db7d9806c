"""The filtered views' fast computations (numpy on the columns, groups compared once by their
codes, filters as boolean masks) give what the plain pandas computations they replaced gave, on
the demo company's relationship survey. The references below are those computations as they
were, kept here only to compare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.analytics import csi_scores
from patronage.analytics.scores import nps_summary, rescale_0_100
from patronage.index_system import load_index_system
from patronage.reporting.filters import Filters
from patronage.satisfaction.indices import csi_table, nps_table
from patronage.satisfaction.sources import SurveyData, survey_data_from_db
from patronage.storage import make_engine


@pytest.fixture(scope="module")
def data(demo_company):
    engine = make_engine(demo_company[0])
    try:
        yield survey_data_from_db(engine, "relationship", include_flagged=True)
    finally:
        engine.dispose()


def _old_waves(data: SurveyData) -> list[str]:
    order = data.meta.dropna(subset=["wave"]).sort_values("wave_start")["wave"]
    return list(dict.fromkeys(order))


def _old_csi_scores(answers: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    present = items[items["item_code"].isin(answers.columns)]
    scaled = pd.DataFrame(index=answers.index)
    for row in present.itertuples(index=False):
        scaled[row.item_code] = rescale_0_100(answers[row.item_code], row.scale_min, row.scale_max)
    weights = present.set_index("item_code")["weight"]

    def weighted(frame, w):
        num = (frame.fillna(0.0) * w).sum(axis=1)
        den = (frame.notna() * w).sum(axis=1)
        return num / den.where(den > 0)

    out = pd.DataFrame(index=answers.index)
    out["csi"] = weighted(scaled[weights.index], weights)
    for dimension, group in present.groupby("dimension", sort=False):
        codes = group["item_code"].tolist()
        out[dimension] = weighted(scaled[codes], weights[codes])
    return out


def _old_csi_table(data: SurveyData, by: str) -> pd.DataFrame:
    per_respondent = _old_csi_scores(data.answers, load_index_system().items)

    def weighted_means(mask) -> pd.Series:
        part, w = per_respondent[mask], data.weights[mask]
        out = {"n": float(mask.sum())}
        for column in part.columns:
            valid = part[column].notna()
            total = float(w[valid].sum())
            out[column] = float((part[column][valid] * w[valid]).sum() / total) if total else np.nan
        return pd.Series(out)

    groups = data.groups(by)
    keys = _old_waves(data) if by == "wave" else sorted(groups.dropna().unique(), key=str)
    return pd.DataFrame({key: weighted_means(groups == key) for key in keys}).T.rename_axis(by)


def _old_nps_table(data: SurveyData, by: str) -> pd.DataFrame:
    values, weights, groups = data.answers["nps"], data.weights, data.groups(by)
    keys = _old_waves(data) if by == "wave" else sorted(groups.dropna().unique(), key=str)
    keys = [key for key in keys if values[(groups == key).to_numpy()].notna().any()]
    rows = {key: nps_summary(values[groups == key], weights[groups == key]) for key in keys}
    return pd.DataFrame(rows).T.rename_axis(by)


def _old_filter(filters: Filters, data: SurveyData) -> SurveyData:
    meta = data.meta
    keep = pd.Series(True, index=meta.index)
    if filters.wave is not None:
        keep &= meta["wave"].eq(filters.wave)
    for key in ("region", "industry", "size", "tier", "channel"):
        value = getattr(filters, key)
        if value is not None:
            keep &= meta[f"customer_{key}"].eq(value).reindex(meta.index, fill_value=False)
    kept = keep[keep].index
    return SurveyData(answers=data.answers.loc[kept],
                      comments=data.comments[data.comments.index.isin(kept)],
                      meta=meta.loc[kept])


def test_waves_and_scores_equal_the_plain_computation(data):
    assert data.waves_in_order() == _old_waves(data)
    assert len(data.waves_in_order()) > 1
    items = load_index_system().items
    pd.testing.assert_frame_equal(csi_scores(data.answers, items),
                                  _old_csi_scores(data.answers, items), rtol=1e-12)


@pytest.mark.parametrize("by", ["wave", "region", "industry"])
def test_csi_and_nps_tables_equal_the_plain_computation(data, by):
    new, old = csi_table(data, by=by), _old_csi_table(data, by)
    assert len(new) > 1 and new["csi"].notna().all()
    pd.testing.assert_frame_equal(new, old, rtol=1e-12)
    pd.testing.assert_frame_equal(nps_table(data, by=by), _old_nps_table(data, by), rtol=1e-12)


def test_filters_keep_the_rows_the_plain_comparison_kept(data):
    region = data.meta["customer_region"].dropna().iloc[0]
    wave = data.waves_in_order()[-1]
    for filters in (Filters(region=region), Filters(region=region, wave=wave)):
        new, old = filters.apply(data), _old_filter(filters, data)
        assert 0 < len(new.meta) < len(data.meta)
        pd.testing.assert_frame_equal(new.answers, old.answers)
        pd.testing.assert_frame_equal(new.meta, old.meta)
        pd.testing.assert_series_equal(new.comments, old.comments)
        assert filters.keep(data.meta).sum() == len(old.meta)


def test_weighting_effect_equals_the_plain_computation(data):
    # The three weightings were once three copies of the data through nps_table and csi_table.
    from patronage.analytics import design_effect, effective_sample_size, rake
    from patronage.satisfaction.weights import _known, weighting_effect

    base = {"region": data.meta["customer_region"].value_counts(normalize=True).iloc[::-1]}
    base["region"] = base["region"] * 0 + 1 / len(base["region"])  # equal shares: raking moves
    table = weighting_effect(data, base)
    sample = _known(data, base)
    raked = rake(sample, base, weights=data.weights.reindex(sample.index))
    versions = {"unweighted": pd.Series(1.0, index=data.meta.index),
                "weighted": data.weights, "raked": raked}
    for name, weights in versions.items():
        part = SurveyData(answers=data.answers.loc[weights.index], comments=data.comments,
                          meta=data.meta.loc[weights.index].assign(weight=weights))
        expected = {"NPS": float(nps_table(part, by=None)["nps"].iloc[0]),
                    "CSI": float(csi_table(part, by=None)["csi"].iloc[0]),
                    "n": float(len(weights)), "n_effective": effective_sample_size(weights),
                    "design_effect": design_effect(weights)}
        for measure, value in expected.items():
            assert table.loc[measure, name] == pytest.approx(value, rel=1e-12)
    assert table.loc["NPS", "raked"] != pytest.approx(table.loc["NPS", "unweighted"], rel=1e-6)


@pytest.mark.parametrize("include_flagged", [True, False])
def test_survey_read_as_a_matrix_equals_the_pivot_of_the_long_rows(demo_company, include_flagged):
    # The survey's answers were once read as long rows and pivoted; the matrix read numbers
    # the items in SQL and places the values with numpy. Same frames, flagged or not.
    from patronage.index_system import COMMENT_ITEM
    from patronage.storage import read_answers, read_responses

    engine = make_engine(demo_company[0])
    try:
        data = survey_data_from_db(engine, "relationship", include_flagged=include_flagged)
        responses = read_responses(engine, survey_code="relationship")
        flagged = responses["quality_flags"].map(lambda f: isinstance(f, dict) and len(f) > 0)
        if not include_flagged:
            assert flagged.any()  # the demo has responses cleaning flagged
            responses = responses[~flagged]
        long = read_answers(engine, survey_code="relationship")
    finally:
        engine.dispose()
    long = long[long["response_pk"].isin(responses["response_pk"])]
    key = responses.set_index("response_pk")["response_id"]
    long = long.assign(response_id=long["response_pk"].map(key))
    answers = long.dropna(subset=["value_num"]).pivot(index="response_id", columns="item_code",
                                                       values="value_num")
    answers = answers.reindex(responses["response_id"])
    answers.columns.name = None
    comments = long[long["item_code"] == COMMENT_ITEM].set_index("response_id")["value_text"]
    assert answers.shape[1] > 10 and comments.notna().any()
    pd.testing.assert_frame_equal(data.answers, answers)
    pd.testing.assert_series_equal(data.comments, comments.rename("comment"))


def test_each_respondents_scores_are_computed_once_for_drivers_ipa_and_weighting(data,
                                                                               monkeypatch):
    """The Analysis page's key drivers, IPA and weighting effect take each respondent's CSI and
    dimension scores from one computation per data, and show what each computing its own gives."""
    from patronage.satisfaction import sources
    from patronage.satisfaction.methods import drivers_table, ipa_table
    from patronage.satisfaction.weights import weighting_effect

    base = {"region": data.meta["customer_region"].value_counts(normalize=True)}

    def fresh() -> SurveyData:  # no scores kept yet
        return SurveyData(answers=data.answers, comments=data.comments, meta=data.meta)

    alone = (drivers_table(fresh(), n_boot=20), ipa_table(fresh()),
             weighting_effect(fresh(), base))
    calls = []
    original = sources.csi_scores

    def counted(answers, items):
        calls.append(len(answers))
        return original(answers, items)

    monkeypatch.setattr(sources, "csi_scores", counted)
    shared = fresh()
    together = (drivers_table(shared, n_boot=20), ipa_table(shared),
                weighting_effect(shared, base))
    assert calls == [len(data.answers)]
    for found, expected in zip(together, alone, strict=True):
        pd.testing.assert_frame_equal(found, expected)
    pd.testing.assert_frame_equal(shared.scores(load_index_system().items),
                                  csi_scores(data.answers, load_index_system().items))


def test_narrowing_keeps_the_comments_of_the_kept_responses(data):
    """Filters find the comments of the responses they keep by position (kept from the read and
    through each narrowing): the same comments as looking their ids up, also on data built
    without positions and with a comment whose response is not in the data."""
    def by_ids(source: SurveyData, keep: np.ndarray) -> pd.Series:
        return source.comments[source.comments.index.isin(source.meta.index[keep])]

    rng = np.random.default_rng(7)
    first = rng.random(len(data.meta)) < 0.5
    once = data.narrowed(first)
    pd.testing.assert_series_equal(once.comments, by_ids(data, first))
    assert len(once.comments) > 0
    second = rng.random(len(once.meta)) < 0.5
    pd.testing.assert_series_equal(once.narrowed(second).comments, by_ids(once, second))
    stray = pd.concat([data.comments, pd.Series(["no response"], name=data.comments.name,
                                                index=pd.Index(["nobody"], name="response_id"))])
    built = SurveyData(answers=data.answers, comments=stray, meta=data.meta)
    pd.testing.assert_series_equal(built.narrowed(first).comments, by_ids(data, first))
    pd.testing.assert_frame_equal(built.narrowed(first).meta, data.meta[first])


def test_a_narrowed_view_takes_its_scores_from_the_data_it_was_narrowed_from(data, monkeypatch):
    """Each respondent's scores depend on their own answers only: a filtered view (twice
    narrowed) takes its rows of the scores already computed on the whole data, the same bit for
    bit as computing them on its own rows (random answers with gaps and random filters); a view
    whose items differ (items none of its responses answered, dropped) computes its own."""
    from patronage.satisfaction import sources

    items = load_index_system().items
    rng = np.random.default_rng(11)
    answers = data.answers.copy()
    codes = [c for c in items["item_code"] if c in answers.columns]
    for code in codes:  # random answers on each item's scale, a quarter missing
        row = items.set_index("item_code").loc[code]
        values = rng.integers(int(row["scale_min"]), int(row["scale_max"]) + 1,
                              size=len(answers)).astype(float)
        values[rng.random(len(answers)) < 0.25] = np.nan
        answers[code] = values
    whole = SurveyData(answers=answers, comments=data.comments, meta=data.meta)
    computed = whole.scores(items)
    calls = []
    original = sources.csi_scores
    monkeypatch.setattr(sources, "csi_scores",
                        lambda a, i: calls.append(len(a)) or original(a, i))
    for _ in range(5):
        first = rng.random(len(whole.meta)) < rng.uniform(0.1, 0.9)
        once = whole.narrowed(first)
        second = rng.random(len(once.meta)) < 0.5
        twice = once.narrowed(second)
        for view in (once, twice):
            found = view.scores(items)
            expected = original(view.answers, items)
            assert found.index.equals(view.answers.index)
            assert np.array_equal(found.to_numpy(), expected.to_numpy(), equal_nan=True)
            assert list(found.columns) == list(expected.columns)
    assert calls == []  # every view took its rows
    pd.testing.assert_frame_equal(computed, original(answers, items))
    fresh = SurveyData(answers=answers, comments=data.comments, meta=data.meta)
    fresh.narrowed(first).scores(items)  # nothing computed on the whole: computed on the view
    assert calls == [int(first.sum())]
    sparse = answers.copy()
    sparse.loc[first, codes[0]] = np.nan
    dropped = SurveyData(answers=sparse, comments=data.comments, meta=data.meta)
    dropped.scores(items)
    view = dropped.narrowed(first, drop_empty_items=True)
    assert codes[0] not in view.answers.columns
    pd.testing.assert_frame_equal(view.scores(items), original(view.answers, items))
    assert calls[-1] == int(first.sum())


def _plain_waves(data: SurveyData) -> list[str]:
    """The waves in order as computed before on the whole meta (one row per response)."""
    waves = data.meta[["wave", "wave_start"]].dropna(subset=["wave"])
    first = waves.drop_duplicates(subset="wave")
    return first.sort_values("wave_start", kind="stable")["wave"].tolist()


def test_the_waves_in_order_are_those_of_the_plain_computation(data):
    """Found on the waves' codes once per data: the same order as sorting the first response of
    each wave by its start, also with responses without a wave, waves starting on the same day
    (in the order they first appear), a wave without a start and shuffled rows."""
    assert data.waves_in_order() == _plain_waves(data)
    rng = np.random.default_rng(5)
    meta = data.meta.iloc[rng.permutation(len(data.meta))].copy()
    waves = np.array(meta["wave"].astype(object), dtype=object)
    waves[rng.random(len(meta)) < 0.1] = None
    extra = rng.random(len(meta)) < 0.05
    waves[extra] = "tied"
    meta["wave"] = pd.array(waves, dtype=data.meta["wave"].dtype)
    starts = meta["wave_start"].copy()
    starts[extra] = starts.dropna().iloc[0]
    lone = (rng.random(len(meta)) < 0.02) & ~extra
    meta.loc[lone, "wave"] = "unstarted"
    starts[lone] = None
    meta["wave_start"] = starts
    shuffled = SurveyData(answers=data.answers.loc[meta.index], comments=data.comments, meta=meta)
    found = shuffled.waves_in_order()
    assert found == _plain_waves(shuffled)
    assert {"tied", "unstarted"} <= set(found) and found[-1] == "unstarted"
    assert shuffled.waves_in_order() == found and shuffled.narrowed(extra).waves_in_order() == [
        "tied"]
