"""What a chart or table means, in one or two sentences in the reader's language.

Each function takes what a page has already computed (the Overview's table by wave, the Analysis
page's section tables) and returns a translated sentence, or None when the figures say nothing
worth a sentence. Nothing is computed again: the sentences read the same numbers as the page, so
they never disagree with it. A figure on fewer answers than the page's minimum sample is worded
as a hint, never as a finding; a change is called a change only when it is larger than sampling
error (two-sided test at 5%).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from patronage.messages import N_
from patronage.reporting import formats

#: Below this p-value a change or a difference is read as real.
ALPHA = 0.05

NPS_ROSE = N_("NPS rose {change} points from {previous} to {latest}, to {score} (n = {n}); the "
              "rise is larger than sampling error ({p}).")
NPS_FELL = N_("NPS fell {change} points from {previous} to {latest}, to {score} (n = {n}); the "
              "fall is larger than sampling error ({p}).")
NPS_SAME = N_("NPS changed by {change} points from {previous} to {latest} (n = {n}), within "
              "sampling error ({p}): no real change can be read from it.")
NPS_FEW = N_("NPS changed by {change} points from {previous} to {latest}, but on few answers "
             "(n = {n_previous} and {n}): read it as a hint, not a result.")
NPS_ONE = N_("There is one wave so far: NPS is {score} (n = {n}); a trend needs a second wave.")
NPS_ONE_CHOSEN = N_("NPS is {score} in the chosen wave (n = {n}); choose all waves in the filters "
                    "to see how it changed.")
DIMENSION_LOWEST = N_("{dimension} scores lowest ({score} of 100): the first dimension to look "
                      "at.")
DIMENSION_FELL = N_("{dimension} fell most since the previous wave ({change} points).")
DIMENSION_NONE_FELL = N_("No dimension fell by a point or more since the previous wave.")
#: A dimension's fall smaller than this (points on 0–100) is not worth a sentence.
NOTABLE_FALL = 1.0
DRIVER_FIRST = N_("{first} moves overall satisfaction most ({share} of what the drivers explain), "
                  "followed by {second}.")
DRIVER_ONLY = N_("{first} moves overall satisfaction most ({share} of what the drivers explain).")
DRIVER_OVERLAP = N_("Their 95% intervals overlap, so which comes first is not certain.")
FEW_ANSWERS = N_("On {n} answers only: read this as a hint, not a result.")
IPA_FIRST = N_("{item} is the first thing to improve: high importance, low performance "
               "({performance} of 100).")
IPA_ALSO = N_("Also in this quadrant: {items}.")
IPA_NONE = N_("No item is both important and performing poorly; {item} performs lowest "
              "({performance} of 100) but matters less.")
KANO = {"M": N_("Must-be: {items}. Done badly, they cause dissatisfaction."),
        "O": N_("One-dimensional: {items}. The better they are, the more satisfied customers "
                "are."),
        "A": N_("Attractive: {items}. Doing them delights; not doing them is not held against "
                "you."),
        "I": N_("Indifferent: {items}. Customers hardly care either way.")}
GAP_LARGEST = N_("{item} falls furthest short of expectation ({gap} points on the answer "
                 "scale); {count} of {total} items fall short enough to read as "
                 "dissatisfaction.")
GAP_NONE = N_("Every item meets or exceeds what customers expected.")
SEGMENT_REAL = N_("{lowest} has the lowest NPS ({score}, n = {n}) and {highest} the highest "
                  "({top}, n = {n_top}); mean satisfaction differs between them beyond chance "
                  "({p}).")
SEGMENT_CHANCE = N_("{lowest} has the lowest NPS ({score}, n = {n}) and {highest} the highest "
                    "({top}, n = {n_top}); the differences in mean satisfaction are within "
                    "chance ({p}).")
CROSSTAB_REAL = N_("{group} has the largest share of detractors ({share}, n = {n}); the mix of "
                   "promoters, passives and detractors differs between groups beyond chance "
                   "({p}).")
CROSSTAB_CHANCE = N_("{group} has the largest share of detractors ({share}, n = {n}), but the mix "
                     "of promoters, passives and detractors does not differ between groups beyond "
                     "chance ({p}).")
COMPETITOR_BOTH = N_("Against the competitor, the same respondents rate us better on {better} and "
                     "worse on {worse}, beyond chance (Holm-adjusted p < 0.05).")
COMPETITOR_BETTER = N_("Against the competitor, the same respondents rate us better on {better}, "
                       "beyond chance (Holm-adjusted p < 0.05), and worse on nothing.")
COMPETITOR_WORSE = N_("Against the competitor, the same respondents rate us worse on {worse}, "
                      "beyond chance (Holm-adjusted p < 0.05), and better on nothing.")
COMPETITOR_NONE = N_("No difference from the competitor is beyond chance.")
RFM_TOP = N_("{segment} ({customers} customers, {share} of customers) account for {spend} of all "
             "spend.")
COHORT_RETENTION = N_("A year after their first purchase, {share} of customers still buy (cohorts "
                      "acquired from {first} to {last}, n = {n}).")
HOLDOUT_FIT = N_("In the holdout weeks the purchase model expected {predicted} purchases per "
                 "customer and they made {actual} ({difference} off, n = {n}).")


def _missing(value) -> bool:
    return formats.is_missing(value)


def p_text(p) -> str:
    """``p = 0.012`` or ``p < 0.001``."""
    shown = formats.p_value(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _join(parts, language: str) -> str:
    """Sentences one after the other: a space between English ones, none between Chinese."""
    return ("" if language.startswith("zh") else " ").join(p for p in parts if p)


def _names(names, language: str, limit: int = 3) -> str:
    """``a, b, c`` (``a、b、c`` in Chinese), at most ``limit`` names and "…" for the rest."""
    names = [str(n) for n in names]
    shown = names[:limit] + (["…"] if len(names) > limit else [])
    return ("、" if language.startswith("zh") else ", ").join(shown)


def difference_p(score_a, low_a, high_a, score_b, low_b, high_b) -> float:
    """The two-sided p-value of the difference of two independent estimates, from their 95%
    intervals (each a normal interval ``score ± 1.96 se``; the wider side is taken, as an
    interval cut at the end of its scale is narrower on that side)."""
    z975 = stats.norm.ppf(0.975)
    se = [max(h - s, s - lo) / z975 for s, lo, h in ((score_a, low_a, high_a),
                                                     (score_b, low_b, high_b))]
    spread = math.hypot(*se)
    if spread <= 0 or any(_missing(v) for v in se):
        return math.nan
    return float(2 * stats.norm.sf(abs(score_b - score_a) / spread))


def nps_change(previous: str, latest: str, *, score, change, n, n_previous, p, gettext,
               min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> str | None:
    """The sentence on the change of NPS from wave ``previous`` to wave ``latest`` (names as
    readers see them): a rise or fall when ``p`` is below :data:`ALPHA`, "no real change"
    otherwise, a hint when either wave has fewer than ``min_sample`` answers."""
    _ = gettext
    if _missing(change) or _missing(score):
        return None
    values = dict(previous=previous, latest=latest, n=formats.integer(n),
                  n_previous=formats.integer(n_previous), score=formats.number(score, 1))
    if formats.small_sample(n, min_sample) or formats.small_sample(n_previous, min_sample):
        return _(NPS_FEW).format(change=formats.signed(change, 1), **values)
    if not _missing(p) and p < ALPHA and round(abs(change), 1) > 0:
        message = NPS_ROSE if change > 0 else NPS_FELL
        return _(message).format(change=formats.number(abs(change), 1), p=p_text(p), **values)
    return _(NPS_SAME).format(change=formats.signed(change, 1), p=p_text(p), **values)


def overview_trend(waves: pd.DataFrame, gettext,
                   min_sample: int = formats.DEFAULT_MIN_SAMPLE, *,
                   wave_chosen: bool = False) -> str | None:
    """The Overview's NPS by wave (``wave, n, nps, ci_low, ci_high``): the change from the
    previous wave to the latest, its significance from the two waves' intervals. With
    ``wave_chosen`` (the filters keep one wave) a single wave is not "the only one so far"."""
    _ = gettext
    if waves.empty or "nps" not in waves:
        return None
    rows = waves[waves["nps"].notna()].to_dict(orient="records")
    if not rows:
        return None
    last = rows[-1]
    if len(rows) == 1:
        if formats.small_sample(last["n"], min_sample):
            return None
        return _(NPS_ONE_CHOSEN if wave_chosen else NPS_ONE).format(
            score=formats.number(last["nps"], 1), n=formats.integer(last["n"]))
    first = rows[-2]
    p = difference_p(first["nps"], first["ci_low"], first["ci_high"],
                     last["nps"], last["ci_low"], last["ci_high"])
    return nps_change(formats.wave_label(first["wave"], _), formats.wave_label(last["wave"], _),
                      score=last["nps"], change=last["nps"] - first["nps"], n=last["n"],
                      n_previous=first["n"], p=p, gettext=_, min_sample=min_sample)


def overview_dimensions(dimensions: pd.DataFrame, labels: list[str], gettext,
                        language: str = "en") -> str | None:
    """The Overview's dimension scores (``score, change``; ``labels`` their names in order): the
    lowest one, and the one that fell most since the previous wave (by :data:`NOTABLE_FALL` or
    more)."""
    _ = gettext
    if dimensions.empty or dimensions["score"].isna().all():
        return None
    table = dimensions.assign(_label=labels)
    lowest = table.loc[table["score"].idxmin()]
    parts = [_(DIMENSION_LOWEST).format(dimension=lowest["_label"],
                                        score=formats.number(lowest["score"], 1))]
    changes = table["change"].dropna() if "change" in table else pd.Series(dtype=float)
    if not changes.empty:
        worst = table.loc[changes.idxmin()]
        parts.append(_(DIMENSION_FELL).format(dimension=worst["_label"],
                                              change=formats.signed(worst["change"], 1))
                     if worst["change"] <= -NOTABLE_FALL else _(DIMENSION_NONE_FELL))
    return _join(parts, language)


def _few(n, gettext, min_sample: int) -> str | None:
    return (gettext(FEW_ANSWERS).format(n=formats.integer(n))
            if not _missing(n) and formats.small_sample(n, min_sample) else None)


def drivers(table: pd.DataFrame, gettext, language: str = "en",
            min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> str | None:
    """Key drivers (``importance, share, lower, upper``, most important first, rows named): the
    first and the second, whether their intervals overlap, and a caution on few answers
    (``attrs["n_used"]``)."""
    _ = gettext
    if table.empty:
        return None
    top = table.iloc[0]
    parts = []
    if len(table) == 1:
        parts.append(_(DRIVER_ONLY).format(first=table.index[0],
                                           share=formats.percent(top["share"])))
    else:
        second = table.iloc[1]
        parts.append(_(DRIVER_FIRST).format(first=table.index[0], second=table.index[1],
                                            share=formats.percent(top["share"])))
        if top["lower"] <= second["upper"]:
            parts.append(_(DRIVER_OVERLAP))
    parts.append(_few(table.attrs.get("n_used"), _, min_sample))
    return _join(parts, language)


def ipa(table: pd.DataFrame, gettext, language: str = "en") -> str | None:
    """Importance–performance (``importance, performance, quadrant``, rows named): the most
    important item to improve (high importance, low performance), or the lowest performer."""
    _ = gettext
    if table.empty:
        return None
    focus = table[table["quadrant"] == "concentrate_here"].sort_values("importance",
                                                                       ascending=False)
    if focus.empty:
        lowest = table.sort_values("performance").iloc[[0]]
        return _(IPA_NONE).format(item=lowest.index[0],
                                  performance=formats.number(lowest["performance"].iloc[0], 1))
    parts = [_(IPA_FIRST).format(item=focus.index[0],
                                 performance=formats.number(focus["performance"].iloc[0], 1))]
    if len(focus) > 1:
        parts.append(_(IPA_ALSO).format(items=_names(focus.index[1:], language)))
    return _join(parts, language)


def kano(table: pd.DataFrame, gettext, language: str = "en",
         min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> str | None:
    """Kano categories (``category``, ``n``, rows named): the attributes of each category, in
    the order must-be, one-dimensional, attractive, indifferent."""
    _ = gettext
    if table.empty or "category" not in table:
        return None
    parts = [_(message).format(items=_names(table.index[table["category"] == code], language))
             for code, message in KANO.items() if (table["category"] == code).any()]
    if not parts:
        return None
    if "n" in table and table["n"].notna().any():
        parts.append(_few(table["n"].min(), _, min_sample))
    return _join(parts, language)


def gap(table: pd.DataFrame, gettext, language: str = "en") -> str | None:
    """Perception against expectation (``gap`` = perception − expectation, ``verdict``, rows
    named): the largest shortfall and how many items the table's verdict calls dissatisfied
    (without a verdict: how many fall short at all)."""
    _ = gettext
    gaps = table["gap"].dropna() if "gap" in table else pd.Series(dtype=float)
    if gaps.empty:
        return None
    short = gaps[gaps < 0]
    if short.empty:
        return _(GAP_NONE)
    worst = short.idxmin()
    count = (int((table.loc[gaps.index, "verdict"] == "dissatisfied").sum())
             if "verdict" in table else len(short))
    return _(GAP_LARGEST).format(item=worst, gap=formats.number(abs(short[worst]), 2),
                                 count=count, total=len(gaps))


def trend(table: pd.DataFrame, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE
          ) -> str | None:
    """The Analysis page's trend (``n, score, change, p_value``, rows named by wave): the last
    change, with the test the table shows."""
    rows = table[table["score"].notna()]
    if len(rows) < 2:
        return None
    last, first = rows.iloc[-1], rows.iloc[-2]
    return nps_change(str(rows.index[-2]), str(rows.index[-1]), score=last["score"],
                      change=last["change"], n=last["n"], n_previous=first["n"],
                      p=last["p_value"], gettext=gettext, min_sample=min_sample)


def segments(table: pd.DataFrame, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE
             ) -> str | None:
    """NPS by segment (``n, nps, p_value``, rows named): the lowest and the highest among the
    segments with enough answers, and whether satisfaction differs beyond chance."""
    _ = gettext
    enough = table[[not formats.small_sample(n, min_sample) for n in table["n"]]]
    enough = enough[enough["nps"].notna()]
    if len(enough) < 2:
        return None
    low, high = enough["nps"].idxmin(), enough["nps"].idxmax()
    p = table["p_value"].dropna()
    p = p.iloc[0] if not p.empty else math.nan
    message = SEGMENT_REAL if not _missing(p) and p < ALPHA else SEGMENT_CHANCE
    return _(message).format(lowest=low, score=formats.number(enough.loc[low, "nps"], 1),
                             n=formats.integer(enough.loc[low, "n"]), highest=high,
                             top=formats.number(enough.loc[high, "nps"], 1),
                             n_top=formats.integer(enough.loc[high, "n"]), p=p_text(p))


def crosstab(table: pd.DataFrame, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE
             ) -> str | None:
    """NPS groups by a segment (``detractor`` share, ``n``, ``p_value`` of the chi-square test,
    rows named): the group with the most detractors and whether the mix differs."""
    _ = gettext
    if "detractor" not in table:
        return None
    enough = table[[not formats.small_sample(n, min_sample) for n in table["n"]]]
    enough = enough[enough["detractor"].notna()]
    if enough.empty:
        return None
    worst = enough["detractor"].idxmax()
    p = table["p_value"].dropna()
    p = p.iloc[0] if not p.empty else math.nan
    message = CROSSTAB_REAL if not _missing(p) and p < ALPHA else CROSSTAB_CHANCE
    return _(message).format(group=worst, share=formats.percent(enough.loc[worst, "detractor"]),
                             n=formats.integer(enough.loc[worst, "n"]), p=p_text(p))


def competitor(table: pd.DataFrame, gettext, language: str = "en") -> str | None:
    """Paired ratings against a competitor (``difference`` = ours − theirs, ``p_holm``, rows
    named): the items rated better and worse beyond chance, largest differences first."""
    _ = gettext
    if "difference" not in table or "p_holm" not in table:
        return None
    real = table[table["p_holm"] < ALPHA].sort_values("difference", key=abs, ascending=False)
    better = list(real.index[real["difference"] > 0])
    worse = list(real.index[real["difference"] < 0])
    if better and worse:
        return _(COMPETITOR_BOTH).format(better=_names(better, language),
                                         worse=_names(worse, language))
    if better:
        return _(COMPETITOR_BETTER).format(better=_names(better, language))
    if worse:
        return _(COMPETITOR_WORSE).format(worse=_names(worse, language))
    return _(COMPETITOR_NONE)


def analysis_insights(sections, gettext, language: str = "en",
                      min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> dict[str, str]:
    """The sentence under each section of the Analysis page that has one, by section key
    (sections whose table is missing or has no sentence are left out)."""
    rules = {"drivers": lambda t: drivers(t, gettext, language, min_sample),
             "ipa": lambda t: ipa(t, gettext, language),
             "kano": lambda t: kano(t, gettext, language, min_sample),
             "gap": lambda t: gap(t, gettext, language),
             "trend": lambda t: trend(t, gettext, min_sample),
             "segments": lambda t: segments(t, gettext, min_sample),
             "crosstab": lambda t: crosstab(t, gettext, min_sample),
             "competitor": lambda t: competitor(t, gettext, language)}
    found = {}
    for section in sections:
        if section.key in rules and section.table is not None and not section.table.empty:
            text = rules[section.key](section.table)
            if text:
                found[section.key] = text
    return found


def rfm(table: pd.DataFrame, gettext) -> str | None:
    """RFM segments (``customers``, ``monetary``, rows named): the segment with the largest
    share of spend, and its share of customers."""
    if table.empty or not {"customers", "monetary"} <= set(table.columns):
        return None
    spend, people = table["monetary"].sum(), table["customers"].sum()
    if not spend or not people:
        return None
    top = table["monetary"].idxmax()
    return gettext(RFM_TOP).format(segment=top, customers=formats.integer(
        table.loc[top, "customers"]), share=formats.percent(table.loc[top, "customers"] / people),
        spend=formats.percent(table.loc[top, "monetary"] / spend))


def cohorts(table: pd.DataFrame, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE,
            after: int = 4) -> str | None:
    """Acquisition cohorts (``cohort_size`` and the share still buying ``0, 1, ...`` quarters
    later, rows named by quarter): the share still buying ``after`` quarters on, over the
    cohorts with enough customers that are that old (weighted by their size)."""
    column = after if after in table.columns else str(after)
    if column not in table.columns or "cohort_size" not in table:
        return None
    old = table[table[column].notna()]
    old = old[[not formats.small_sample(n, min_sample) for n in old["cohort_size"]]]
    if old.empty:
        return None
    share = (old[column] * old["cohort_size"]).sum() / old["cohort_size"].sum()
    return gettext(COHORT_RETENTION).format(share=formats.percent(share), first=old.index[0],
                                            last=old.index[-1],
                                            n=formats.integer(old["cohort_size"].sum()))


def holdout(table: pd.DataFrame, gettext) -> str | None:
    """The purchase model's holdout check (``customers, actual, predicted``, the last row for
    all customers): expected against actual purchases per customer."""
    if table.empty or not {"customers", "actual", "predicted"} <= set(table.columns):
        return None
    row = table.iloc[-1]
    if _missing(row["actual"]) or _missing(row["predicted"]):
        return None
    off = (row["predicted"] - row["actual"]) / row["actual"] if row["actual"] else math.nan
    return gettext(HOLDOUT_FIT).format(predicted=formats.number(row["predicted"], 2),
                                       actual=formats.number(row["actual"], 2),
                                       difference=formats.percent(abs(off), 1),
                                       n=formats.integer(row["customers"]))


def loyalty_insights(sections, gettext, min_sample: int = formats.DEFAULT_MIN_SAMPLE
                     ) -> dict[str, str]:
    """The sentence under the Loyalty page's RFM, cohort and holdout sections, by key."""
    rules = {"rfm": lambda t: rfm(t, gettext), "holdout": lambda t: holdout(t, gettext),
             "cohorts": lambda t: cohorts(t, gettext, min_sample)}
    found = {}
    for section in sections:
        if section.key in rules and section.table is not None and not section.table.empty:
            text = rules[section.key](section.table)
            if text:
                found[section.key] = text
    return found


def overview_insights(result, gettext, language: str = "en",
                      min_sample: int = formats.DEFAULT_MIN_SAMPLE) -> dict[str, str]:
    """The sentences under the Overview's charts: ``trend`` (NPS by wave) and ``dimensions``
    (latest wave's dimension scores, when it has enough answers)."""
    found = {}
    if result.empty:
        return found
    text = overview_trend(result.waves, gettext, min_sample,
                          wave_chosen=getattr(result.filters, "wave", None) is not None)
    if text:
        found["trend"] = text
    dims = result.dimensions
    if not dims.empty and not formats.small_sample(result.latest.get("n"), min_sample):
        text = overview_dimensions(dims, dims[f"label_{language}"].tolist(), gettext, language)
        if text:
            found["dimensions"] = text
    return found


__all__ = ["ALPHA", "analysis_insights", "cohorts", "competitor", "crosstab", "difference_p",
           "drivers", "gap", "holdout", "ipa", "kano", "loyalty_insights", "nps_change",
           "overview_dimensions", "overview_insights", "overview_trend", "p_text", "rfm",
           "segments", "trend"]
