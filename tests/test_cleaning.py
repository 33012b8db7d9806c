"""Tests for patronage.surveys.cleaning on a hand-built survey.

Every expected flag and reason below is worked out by hand from the frames. The speeder rule is
duration < 0.4 × the survey's median duration (Greszki, Meyer & Schoen 2015, POQ 79:471);
straight-lining is the same answer on every item of a grid (Herzog & Bachman 1981, POQ 45:549;
Kim et al. 2019, SSCR 37:214), on its own only on long grids and away from the scale ends,
otherwise only with a second signal such as speeding (Zhang & Conrad 2014, SRM 8:127; valid
straight-lining: Reuning & Plutzer 2020, SRM 14:439).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patronage.surveys.cleaning import FLAGS, cleaning_summary, flag_responses

NAN = np.nan
SERVICE = [f"q{i}" for i in range(1, 7)]
START = pd.Timestamp("2026-03-02 09:00")


def _items():
    rows = [{"survey": "S1", "item_code": q, "scale_min": 1, "scale_max": 10, "required": True,
             "grid": "service"} for q in SERVICE]
    rows.append({"survey": "S1", "item_code": "q7", "scale_min": 0, "scale_max": 10,
                 "required": True, "grid": None})
    rows.append({"survey": "S1", "item_code": "q8", "scale_min": NAN, "scale_max": NAN,
                 "required": False, "grid": None})
    return pd.DataFrame(rows)


def _survey():
    # response, customer, survey, wave, minutes after START of the submission, duration in s
    spec = [
        ("R2", "A", "S1", "W1", 50, 310),   # listed first but submitted after R1
        ("R1", "A", "S1", "W1", 10, 300),
        ("R3", "B", "S1", "W1", 11, 290),
        ("R4", "C", "S1", "W1", 12, 305),
        ("R5", "D", "S1", "W1", 13, 295),
        ("R6", "E", "S1", "W1", 14, 41),
        ("R7", "F", "S1", "W1", 15, 300),
        ("R8", "A", "S1", "W2", 90, 320),   # next wave, same answers as R1
        ("R9", None, "S1", "W1", 16, 280),  # anonymous link, same answers as R1
        ("R14", "H", "S1", "W1", 17, 300),
        ("R10", "X", "S2", "W1", 20, 10),
        ("R11", "X", "S2", "W1", 21, 10),
        ("R12", "Y", "S2", "W1", 22, 3),
    ]
    submitted = [START + pd.Timedelta(minutes=m) for *_, m, _ in spec]
    responses = pd.DataFrame({
        "response_id": [s[0] for s in spec], "customer_id": [s[1] for s in spec],
        "survey": [s[2] for s in spec], "wave": [s[3] for s in spec],
        "started_at": [t - pd.Timedelta(seconds=s[5])
                       for t, s in zip(submitted, spec, strict=True)],
        "submitted_at": submitted,
        "honeypot": [None] * 6 + ["http://spam.example"] + [None] * 6,
    })
    good = [7, 8, 6, 9, 7, 8, 9, NAN]
    rows = {
        "R1": good,
        "R2": [8, 8, 7, 9, 6, 8, 10, "fine"],
        "R3": [7, 7, 7, 7, 7, 7, 8, NAN],
        "R4": [5, 6, 12, 5, 6, 5, 0, NAN],
        "R5": [4, NAN, NAN, NAN, NAN, NAN, 3, NAN],
        "R6": [6, 7, 8, 6, 7, 8, 7, NAN],
        "R7": [9, 8, 9, 8, 9, 8, 9, NAN],
        "R8": good,
        "R9": good,
        "R14": [5, 5, 5, 5, NAN, NAN, 5, NAN],
        "R10": [NAN] * 8,
        "R11": [NAN] * 7 + ["hello"],
    }  # R12 has no row at all in answers
    answers = pd.DataFrame.from_dict(rows, orient="index", columns=SERVICE + ["q7", "q8"])
    answers.index.name = "response_id"
    return responses, answers


@pytest.fixture
def flags():
    responses, answers = _survey()
    return flag_responses(responses, answers, definition_items=_items())


def test_each_flag_with_its_reason(flags):
    assert flags["R2"] == {"duplicate": "duplicate of R1"}
    assert flags["R4"] == {"out_of_range": "q3 = 12 outside 1–10"}
    assert flags["R5"] == {"incomplete": "answered 2 of 7 required questions"}
    # S1 durations: 41 280 290 295 300 300 300 305 310 320 -> median 300, cut-off 120 s
    assert flags["R6"] == {"speeder": "completed in 41 s; the median is 300 s"}
    assert flags["R7"] == {"honeypot": "hidden field filled in: 'http://spam.example'"}
    assert flags["R8"] == {"duplicate": "identical answers to R1"}


def test_clean_responses_get_empty_dicts(flags):
    assert flags["R1"] == {}
    assert flags["R3"] == {}   # 7 on all 6 service items: a short grid, and no other signal
    assert flags["R9"] == {}   # anonymous: nobody to be a duplicate of
    assert flags["R14"] == {}  # only 4 answered grid items (< 5): not straight-lining; 5 of 7
    assert flags["R10"] == {}  # S2 has no item definitions: no item checks
    assert flags.index.tolist() == ["R2", "R1", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R14",
                                    "R10", "R11", "R12"]
    assert flags.name == "flags"


def test_median_uses_all_responses_of_the_survey(flags):
    # S2 durations 10, 10, 3: the median over all three (duplicate R11 included) is 10 s, so
    # 3 s < 4 s is a speeder; without R11 the median would be 6.5 s and 3 s would pass.
    assert flags["R11"] == {"duplicate": "duplicate of R10"}
    assert flags["R12"] == {"speeder": "completed in 3 s; the median is 10 s"}


def test_nan_is_never_out_of_range_and_text_is():
    responses, answers = _survey()
    answers = answers.astype(object)
    answers.loc["R1", "q7"] = "ten"
    answers.loc["R1", "q1"] = NAN
    answers.loc["R3", "q2"] = 0.5
    flags = flag_responses(responses, answers, definition_items=_items())
    assert flags["R1"] == {"out_of_range": "q7 = 'ten' is not a number on 0–10"}
    assert flags["R3"] == {"out_of_range": "q2 = 0.5 outside 1–10"}  # no longer straight
    assert flags["R5"] == {"incomplete": "answered 2 of 7 required questions"}  # NaNs only


def test_several_flags_on_one_response_and_summary():
    responses, answers = _survey()
    answers.loc["R6"] = [10, 10, 10, 10, 10, 10, 11, NAN]
    flags = flag_responses(responses, answers, definition_items=_items())
    assert flags["R6"] == {
        "out_of_range": "q7 = 11 outside 0–10",
        "straight_lining": "the same answer 10 on all 6 service items, also speeder",
        "speeder": "completed in 41 s; the median is 300 s",
    }
    summary = cleaning_summary(flags)
    assert summary.index.tolist() == list(FLAGS) + ["clean", "total"]
    assert summary.to_dict() == {"duplicate": 3, "incomplete": 1, "out_of_range": 2,
                                 "straight_lining": 1, "speeder": 2, "honeypot": 1,
                                 "clean": 5, "total": 13}


def test_parameters_change_the_cut_offs():
    responses, answers = _survey()
    loose = flag_responses(responses, answers, definition_items=_items(), speeder_fraction=0.1,
                           min_grid_items=4, long_grid_items=4, min_completion=0.9)
    assert "speeder" not in loose["R6"]  # 41 s > 0.1 * 300 s
    assert loose["R14"] == {"straight_lining": "the same answer 5 on all 4 service items",
                            "incomplete": "answered 5 of 7 required questions"}


def test_the_plain_zero_variance_rule_is_still_available():
    responses, answers = _survey()
    plain = flag_responses(responses, answers, definition_items=_items(), long_grid_items=5,
                           extremes_need_signal=False)
    assert plain["R3"] == {"straight_lining": "the same answer 7 on all 6 service items"}
    assert plain["R14"] == {}  # 4 answered items, still under min_grid_items


LONG = [f"g{i}" for i in range(1, 11)]


def _long_grid(rows: dict, durations: dict):
    """One survey with a 10-item 1–7 grid ``pride`` and a 5-item 1–7 grid ``brand``; every
    response takes 300 s unless ``durations`` says otherwise."""
    brand = [f"b{i}" for i in range(1, 6)]
    items = pd.DataFrame([{"item_code": q, "scale_min": 1, "scale_max": 7, "required": False,
                           "grid": "pride" if q in LONG else "brand"} for q in LONG + brand])
    ids = list(rows)
    took = [durations.get(r, 300) for r in ids]
    responses = pd.DataFrame({
        "response_id": ids, "customer_id": ids, "survey": "S", "wave": "W",
        "started_at": [START - pd.Timedelta(seconds=t) for t in took],
        "submitted_at": START})
    answers = pd.DataFrame.from_dict(rows, orient="index", columns=LONG + brand)
    return responses, answers, items


def test_long_grids_flag_alone_short_grids_and_scale_ends_need_a_second_signal():
    varied = [1, 2, 3, 4, 5, 6, 7, 6, 5, 4]
    rows = {
        "mid10": [4] * 10 + [2, 3, 4, 5, 6],              # long grid, mid-scale: flagged
        "top10": [7] * 10 + [2, 3, 4, 5, 6],              # long grid, top: a delighted customer
        "bottom10": [1] * 10 + [2, 3, 4, 5, 6],           # long grid, bottom: a furious one
        "top10fast": [7] * 10 + [2, 3, 4, 5, 6],          # ... but a speeder: flagged
        "mid9": [4] * 9 + [NAN] + [2, 3, 4, 5, 6],        # 9 answered: a short grid now
        "brand5": varied + [5] * 5,                       # short grid, no signal
        "brand5fast": varied + [5] * 5,                   # short grid and a speeder
        **{f"ok{i}": varied + [3, 4, 5, 4, 3] for i in range(6)},
    }
    responses, answers, items = _long_grid(rows, {"top10fast": 20, "brand5fast": 30})
    flags = flag_responses(responses, answers, definition_items=items)
    assert flags["mid10"] == {"straight_lining": "the same answer 4 on all 10 pride items"}
    assert flags["top10"] == {} and flags["bottom10"] == {} and flags["mid9"] == {}
    assert flags["brand5"] == {}
    # durations 300 s except 20 and 30 s: median 300 s, cut-off 120 s
    assert flags["top10fast"] == {
        "straight_lining": "the same answer 7 on all 10 pride items, also speeder",
        "speeder": "completed in 20 s; the median is 300 s"}
    assert flags["brand5fast"]["straight_lining"] == (
        "the same answer 5 on all 5 brand items, also speeder")
    assert all(flags[f"ok{i}"] == {} for i in range(6))
    # extremes alone when asked; long grids shorter when asked
    loose = flag_responses(responses, answers, definition_items=items, long_grid_items=5,
                           extremes_need_signal=False)
    assert loose["top10"] == {"straight_lining": "the same answer 7 on all 10 pride items"}
    assert loose["brand5"] == {"straight_lining": "the same answer 5 on all 5 brand items"}
    assert loose["mid9"] == {"straight_lining": "the same answer 4 on all 9 pride items"}


def test_flags_set_earlier_and_honeypots_count_as_the_second_signal():
    varied = [1, 2, 3, 4, 5, 6, 7, 6, 5, 4]
    rows = {"bot": varied + [6] * 5, "again": varied + [6] * 5, "trap": varied + [6] * 5,
            "clean": varied + [6] * 5}
    responses, answers, items = _long_grid(rows, {})
    responses["quality_flags"] = [{"suspected_bot": "honeypot at submission"},
                                  {"straight_lining": "from an earlier run"}, None, {}]
    responses["honeypot"] = [None, None, "x", None]
    flags = flag_responses(responses, answers, definition_items=items)
    assert flags["bot"] == {
        "straight_lining": "the same answer 6 on all 5 brand items, also suspected_bot"}
    assert flags["again"] == {}  # a flag of this very check does not confirm itself
    assert flags["trap"]["straight_lining"].endswith("also honeypot")
    assert flags["clean"] == {}


def test_item_codes_without_survey_column_apply_to_every_survey():
    responses, answers = _survey()
    items = _items().drop(columns="survey")
    flags = flag_responses(responses, answers, definition_items=items)
    assert flags["R10"] == {"incomplete": "answered 0 of 7 required questions"}
    assert flags["R12"]["incomplete"] == "answered 0 of 7 required questions"


def test_inputs_unchanged_and_errors():
    responses, answers = _survey()
    r0, a0, i0 = responses.copy(), answers.copy(), _items()
    flag_responses(responses, answers, definition_items=_items())
    pd.testing.assert_frame_equal(responses, r0)
    pd.testing.assert_frame_equal(answers, a0)
    with pytest.raises(ValueError, match="missing the column"):
        flag_responses(responses.drop(columns="wave"), answers, definition_items=i0)
    with pytest.raises(ValueError, match="not columns of answers"):
        flag_responses(responses, answers.drop(columns="q8"), definition_items=i0)
    with pytest.raises(ValueError, match="unique"):
        flag_responses(pd.concat([responses, responses.iloc[:1]]), answers, definition_items=i0)
    with pytest.raises(ValueError, match="long_grid_items"):
        flag_responses(responses, answers, definition_items=i0, long_grid_items=3)
    with pytest.raises(ValueError, match="speeder_fraction"):
        flag_responses(responses, answers, definition_items=i0, speeder_fraction=0)
    with pytest.raises(ValueError, match="not a time"):
        flag_responses(responses.assign(started_at="soon"), answers, definition_items=i0)
    with pytest.raises(ValueError, match="flag_responses"):
        cleaning_summary({"R1": {}})
