"""Data-quality flags for survey responses.

:func:`flag_responses` marks suspicious responses with a reason per flag; it never drops or
changes anything (every removal is recorded with its reason and the raw response kept).
The checks follow common survey-quality practice: duplicates, item nonresponse, out-of-range
values, straight-lining in grids and speeders judged against the median completion time
(Greszki, Meyer & Schoen 2015, *Public Opinion Quarterly* 79:471, who flag durations below a
fraction of the median; 40 % is a common cut-off).

Straight-lining (identical answers to every item of a grid) is a sign of satisficing that grows
with the length of the battery (Herzog & Bachman 1981, "Effects of questionnaire length on
response quality", *Public Opinion Quarterly* 45(4):549–559), and simple non-differentiation is
the usual indicator (Kim, Dykema, Stevenson, Black & Moberg 2019, "Straightlining: overview of
measurement, comparison of indicators, and effects in mail–web mixed-mode surveys", *Social
Science Computer Review* 37(2):214–233).  But identical answers are also what a valid, reliable
battery produces from a respondent who feels the same about every item: the better the items
measure one construct, the more honest straight-liners there are (Reuning & Plutzer 2020, "Valid
vs. invalid straightlining: the complex relationship between straightlining and data quality",
*Survey Research Methods* 14(5):439–459).  On short grids of one construct (the five brand
items of a satisfaction survey) and at the ends of the scale (a customer delighted with
everything) this is common; dropping such respondents removes real opinions and biases the
scores.  The default rule therefore flags

* identical answers on a *long* grid (at least ``long_grid_items`` answered items, 10 by
  default) on their own, unless they sit at an end of the scale;
* identical answers on a shorter grid (at least ``min_grid_items``, 5), or at the top or bottom
  of the scale on any grid, only together with another sign of careless responding on the same
  response: speeding, which goes with straight-lining (Zhang & Conrad 2014, "Speeding in web
  surveys: the tendency to answer very fast and its association with straightlining", *Survey
  Research Methods* 8(2):127–135), a filled honeypot, or a bot flag set at submission.

``long_grid_items=min_grid_items, extremes_need_signal=False`` gives the plain zero-variance
rule on every grid of at least ``min_grid_items`` items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAGS = ("duplicate", "incomplete", "out_of_range", "straight_lining", "speeder", "honeypot")
_RESPONSE_COLUMNS = ("response_id", "customer_id", "survey", "wave", "started_at", "submitted_at")
_ITEM_COLUMNS = ("item_code", "scale_min", "scale_max", "required", "grid")
#: Flags that, together with identical answers on a short grid, make it straight-lining.
_SIGNALS = ("speeder", "honeypot", "suspected_bot")


def _fmt(value) -> str:
    """A number as people write it: 12, 7.5; anything else as its text."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return f"{float(value):g}"
    return str(value)


def _require(frame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing the column(s) {', '.join(map(repr, missing))}; "
                         f"it has {', '.join(map(repr, map(str, frame.columns)))}")


def _timestamps(values: pd.Series, what: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, format="mixed")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"responses.{what} has a value that is not a time: {exc}") from None
    if out.dt.tz is not None:
        out = out.dt.tz_convert(None)
    return out


def _answered(values: pd.DataFrame) -> pd.DataFrame:
    """True where an answer was given: not NaN and not blank text."""
    blank = values.apply(lambda col: col.astype("string").str.strip() == "").fillna(False)
    return values.notna() & ~blank.astype(bool)


def _hashable(value):
    """An answer as a dictionary key: missing -> None, lists (multiple choice) -> text."""
    if isinstance(value, (list, dict, set, np.ndarray)):
        return repr(value)
    return None if pd.isna(value) else value


def _items_for(items: pd.DataFrame, survey) -> pd.DataFrame:
    if "survey" not in items.columns:
        return items
    return items[items["survey"].astype(str) == str(survey)]


def _add(flags: dict, response_id, flag: str, reason: str) -> None:
    entry = flags[response_id]
    entry[flag] = f"{entry[flag]}; {reason}" if flag in entry else reason


def _check_items(items: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    _require(items, _ITEM_COLUMNS, "definition_items")
    if items["item_code"].isna().any():
        raise ValueError("definition_items has an item without item_code")
    keys = ["survey", "item_code"] if "survey" in items.columns else ["item_code"]
    if items.duplicated(keys).any():
        raise ValueError(f"definition_items lists an item twice: "
                         f"{items.loc[items.duplicated(keys), 'item_code'].tolist()}")
    items = items.copy()
    items["item_code"] = items["item_code"].astype(str)
    unknown = sorted(set(items["item_code"]) - set(map(str, answers.columns)))
    if unknown:
        raise ValueError(f"definition_items names item(s) {unknown} that are not columns of "
                         "answers; add them (as NaN) or remove them from the definition")
    items["scale_min"] = pd.to_numeric(items["scale_min"], errors="raise")
    items["scale_max"] = pd.to_numeric(items["scale_max"], errors="raise")
    bad = items["scale_min"] > items["scale_max"]
    if bad.any():
        raise ValueError(f"item(s) {items.loc[bad, 'item_code'].tolist()} have scale_min above "
                         "scale_max")
    items["required"] = items["required"].fillna(False).astype(bool)
    return items


def _duplicates(responses: pd.DataFrame, answers: pd.DataFrame, flags: dict) -> None:
    order = responses.assign(_pos=np.arange(len(responses))).sort_values(
        ["submitted_at", "started_at", "_pos"], na_position="last", kind="stable")
    known = order[order["customer_id"].notna()]
    first: dict = {}
    for row in known.itertuples(index=False):
        key = (row.customer_id, row.survey, row.wave)
        if key in first:
            _add(flags, row.response_id, "duplicate", f"duplicate of {first[key]}")
        else:
            first[key] = row.response_id
    # identical answer vectors from the same customer in the same survey (any wave)
    grid = answers.reindex(known["response_id"].to_numpy())
    given = _answered(grid).any(axis=1).to_numpy()
    text = [tuple(map(_hashable, row)) for row in grid.to_numpy(dtype=object)]
    seen: dict = {}
    for row, has_answers, vector in zip(known.itertuples(index=False), given, text, strict=True):
        if not has_answers:
            continue
        key = (row.customer_id, row.survey, vector)
        if key in seen:
            if "duplicate" not in flags[row.response_id]:
                _add(flags, row.response_id, "duplicate", f"identical answers to {seen[key]}")
        else:
            seen[key] = row.response_id


def _signals(responses: pd.DataFrame, flags: dict) -> dict:
    """Per response, the careless-responding signals other than straight-lining: the speeder and
    honeypot flags of this run and, when ``responses`` has a ``quality_flags`` column, those
    set earlier (for instance at submission)."""
    out = {rid: [f for f in _SIGNALS if f in flags[rid]] for rid in responses["response_id"]}
    if "quality_flags" in responses.columns:
        for rid, before in zip(responses["response_id"], responses["quality_flags"],
                               strict=True):
            if isinstance(before, dict):
                out[rid] += [f for f in _SIGNALS if f in before and f not in out[rid]]
    return out


def _straight_lining(block, given, grids, flags, signals, *, min_grid_items, long_grid_items,
                     extremes_need_signal) -> None:
    for grid, members in grids.groupby("grid", sort=True):
        cols = members["item_code"].tolist()
        if len(cols) < min_grid_items:
            continue
        sub = block[cols].apply(pd.to_numeric, errors="coerce")
        n_given = given[cols].sum(axis=1)
        distinct = block[cols].where(given[cols]).nunique(axis=1)
        same = (n_given >= min_grid_items) & (distinct == 1)
        ends = set(members["scale_min"].dropna()) | set(members["scale_max"].dropna())
        for rid in sub.index[same.to_numpy()]:
            value = block.loc[rid, cols][given.loc[rid, cols]].iloc[0]
            n = int(n_given[rid])
            text = f"the same answer {_fmt(value)} on all {n} {grid} items"
            at_end = pd.notna(sub.loc[rid, cols]).any() and float(sub.loc[rid, cols].max()) in ends
            if n >= long_grid_items and not (extremes_need_signal and at_end):
                _add(flags, rid, "straight_lining", text)
            elif signals[rid]:
                _add(flags, rid, "straight_lining", f"{text}, also {' and '.join(signals[rid])}")


def _item_checks(responses, answers, items, flags, *, min_completion, **straight) -> None:
    signals = _signals(responses, flags)
    for survey, group in responses.groupby("survey", sort=False, dropna=False):
        spec = _items_for(items, survey)
        if spec.empty:
            continue
        ids = group["response_id"].to_numpy()
        block = answers.reindex(index=ids, columns=spec["item_code"].tolist())
        given = _answered(block)
        required = spec.loc[spec["required"], "item_code"].tolist()
        if required:
            counts = given[required].sum(axis=1)
            for rid, k in counts.items():
                if k < min_completion * len(required):
                    _add(flags, rid, "incomplete",
                         f"answered {int(k)} of {len(required)} required questions")
        scaled = spec[spec["scale_min"].notna() | spec["scale_max"].notna()]
        for item in scaled.itertuples(index=False):
            raw = block[item.item_code]
            numbers = pd.to_numeric(raw, errors="coerce")
            lo = -np.inf if pd.isna(item.scale_min) else item.scale_min
            hi = np.inf if pd.isna(item.scale_max) else item.scale_max
            span = f"{_fmt(item.scale_min)}–{_fmt(item.scale_max)}"
            for rid in raw.index[given[item.item_code] & numbers.isna()]:
                _add(flags, rid, "out_of_range",
                     f"{item.item_code} = {raw[rid]!r} is not a number on {span}")
            outside = numbers.notna() & ((numbers < lo) | (numbers > hi))
            for rid in raw.index[outside.to_numpy()]:
                _add(flags, rid, "out_of_range",
                     f"{item.item_code} = {_fmt(numbers[rid])} outside {span}")
        grids = spec[spec["grid"].notna() & (spec["grid"].astype(str).str.strip() != "")]
        _straight_lining(block, given, grids, flags, signals, **straight)


def _speeders(responses: pd.DataFrame, flags: dict, fraction: float) -> None:
    seconds = (responses["submitted_at"] - responses["started_at"]).dt.total_seconds()
    seconds = seconds.where(seconds >= 0)  # unfinished or clock errors carry no duration
    median = seconds.groupby(responses["survey"], dropna=False).transform("median")
    fast = seconds < fraction * median
    for rid, took, typical in zip(responses["response_id"][fast], seconds[fast], median[fast],
                                  strict=True):
        _add(flags, rid, "speeder", f"completed in {took:.0f} s; the median is {typical:.0f} s")


def _honeypots(responses: pd.DataFrame, answers: pd.DataFrame, flags: dict) -> None:
    sources = []
    if "honeypot" in responses.columns:
        sources.append(pd.Series(responses["honeypot"].to_numpy(),
                                 index=responses["response_id"].to_numpy()))
    if "honeypot" in answers.columns:
        sources.append(answers["honeypot"].reindex(responses["response_id"].to_numpy()))
    for values in sources:
        filled = _answered(values.to_frame()).iloc[:, 0]
        for rid in values.index[filled.to_numpy()]:
            if "honeypot" not in flags[rid]:
                _add(flags, rid, "honeypot", f"hidden field filled in: {str(values[rid])!r}")


def flag_responses(responses: pd.DataFrame, answers: pd.DataFrame, *,
                   definition_items: pd.DataFrame, speeder_fraction: float = 0.4,
                   min_grid_items: int = 5, long_grid_items: int = 10,
                   extremes_need_signal: bool = True, min_completion: float = 0.5) -> pd.Series:
    """Quality flags for each response: a Series ``response_id -> {flag: reason}``.

    ``responses`` has ``response_id``, ``customer_id``, ``survey``, ``wave``, ``started_at`` and
    ``submitted_at`` (optionally ``honeypot`` and ``quality_flags``, the dicts of flags set
    earlier); ``answers`` is wide, indexed by ``response_id``
    with one column per item code (NaN = not answered); ``definition_items`` has ``item_code``,
    ``scale_min``, ``scale_max``, ``required`` and ``grid`` (and optionally ``survey``, when
    item codes are defined per survey). Flags and their reasons:

    * ``duplicate`` — a later response of the same customer to the same survey and wave
      (``"duplicate of R123"``; the earliest submission is kept clean), or an answer vector
      identical to an earlier one of the same customer in the same survey
      (``"identical answers to R123"``);
    * ``incomplete`` — fewer than ``min_completion`` of the required items answered
      (``"answered 4 of 20 required questions"``);
    * ``out_of_range`` — ``"q3 = 12 outside 1–10"``; unanswered items are never out of range;
    * ``straight_lining`` — the same answer on every answered item of a grid (see the module
      notes): on its own when at least ``long_grid_items`` items are answered and the answer is
      not an end of the scale (``"the same answer 7 on all 12 service items"``); on grids of
      ``min_grid_items`` answered items or more, or at the top or bottom of the scale when
      ``extremes_need_signal``, only if the response is also a speeder, filled the honeypot or
      carries such a flag in an optional ``quality_flags`` column of ``responses``
      (``"the same answer 7 on all 5 brand items, also speeder"``);
    * ``speeder`` — duration below ``speeder_fraction`` × the median duration of all responses
      of the survey (``"completed in 41 s; the median is 300 s"``);
    * ``honeypot`` — a hidden ``honeypot`` field (in responses or answers) was filled in.

    A clean response gets an empty dict. Nothing is dropped; the index follows ``responses``.
    """
    _require(responses, _RESPONSE_COLUMNS, "responses")
    if not isinstance(answers, pd.DataFrame):
        raise ValueError(f"answers must be a pandas DataFrame, got {type(answers).__name__}")
    if not 0 < speeder_fraction <= 1:
        raise ValueError(f"speeder_fraction must be in (0, 1], got {speeder_fraction!r}")
    if not 0 <= min_completion <= 1:
        raise ValueError(f"min_completion must be in [0, 1], got {min_completion!r}")
    if isinstance(min_grid_items, bool) or not isinstance(min_grid_items, (int, np.integer)) \
            or min_grid_items < 2:
        raise ValueError(f"min_grid_items must be an integer of at least 2, got {min_grid_items!r}")
    if isinstance(long_grid_items, bool) or not isinstance(long_grid_items, (int, np.integer)) \
            or long_grid_items < min_grid_items:
        raise ValueError(f"long_grid_items must be an integer of at least min_grid_items "
                         f"({min_grid_items}), got {long_grid_items!r}")
    if responses["response_id"].isna().any() or not responses["response_id"].is_unique:
        raise ValueError("responses.response_id must be present and unique")
    if not answers.index.is_unique:
        raise ValueError("answers has a response_id twice in its index; pivot the answers to "
                         "one row per response first")
    answers = answers.rename(columns=str)
    items = _check_items(definition_items, answers)
    responses = responses.copy()
    responses["started_at"] = _timestamps(responses["started_at"], "started_at")
    responses["submitted_at"] = _timestamps(responses["submitted_at"], "submitted_at")

    flags: dict = {rid: {} for rid in responses["response_id"]}
    _duplicates(responses, answers, flags)
    _speeders(responses, flags, speeder_fraction)
    _honeypots(responses, answers, flags)
    _item_checks(responses, answers, items, flags, min_completion=min_completion,
                 min_grid_items=min_grid_items, long_grid_items=long_grid_items,
                 extremes_need_signal=extremes_need_signal)
    ordered = [{f: flags[rid][f] for f in FLAGS if f in flags[rid]} for rid in flags]
    return pd.Series(ordered, index=pd.Index(responses["response_id"].to_numpy(),
                                             name="response_id"), name="flags", dtype=object)


def cleaning_summary(flags: pd.Series) -> pd.Series:
    """Number of responses carrying each flag, then ``clean`` (no flag) and ``total``.

    A response with several flags counts once under each of them.
    """
    if not isinstance(flags, pd.Series):
        raise ValueError("flags must be the Series returned by flag_responses")
    if not all(isinstance(v, dict) for v in flags):
        raise ValueError("flags must hold one dict {flag: reason} per response")
    names = list(FLAGS) + sorted({f for v in flags for f in v} - set(FLAGS))
    counts = {name: sum(name in v for v in flags) for name in names}
    counts["clean"] = sum(not v for v in flags)
    counts["total"] = len(flags)
    return pd.Series(counts, name="responses", dtype=int)


__all__ = ["FLAGS", "cleaning_summary", "flag_responses"]
