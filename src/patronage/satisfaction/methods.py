"""Satisfaction methods over :class:`SurveyData`, ready to render (CLI, dashboard, API).

Each function picks the right answer columns by the index system's item-code conventions
(``<item>``, ``<item>.exp``, ``kano.<attr>.f/.d``) and calls :mod:`patronage.analytics`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patronage.satisfaction.indices import per_group
from patronage.satisfaction.path_models import fit_path_model
from patronage.satisfaction.sources import SurveyData, items_key
from patronage.analytics import (
    ces,
    compare_groups,
    competitor_comparison,
    nps_difference,
    crosstab_test,
    csat,
    satisfaction_gap,
    wave_trend,
)
from patronage.analytics.drivers import DriverFit, driver_importance, fit_drivers
from patronage.analytics.ipa import importance_performance
from patronage.analytics.kano import kano_result
from patronage.analytics.pls import PLSPathModel
from patronage.analytics.reliability import (
    average_variance_extracted,
    composite_reliability,
    cronbach_alpha,
    htmt,
)
from patronage.analytics.servqual import gap1, servqual_gaps, servqual_items
from patronage.index_system import EXPECTATION_SUFFIX, IndexSystem, kano_items, load_index_system
from patronage.messages import N_, NotAsked, UserError

OVERALL = "overall"


def _system(index_system: IndexSystem | None) -> IndexSystem:
    return index_system or load_index_system()


def _items(data: SurveyData, system: IndexSystem, *, exclude_overall: bool = True) -> pd.DataFrame:
    return items_answered(data.answers.columns, system, exclude_overall=exclude_overall)


def items_answered(columns, system: IndexSystem, *, exclude_overall: bool = True) -> pd.DataFrame:
    """The index system's items among the answered item ``columns`` (its perception items,
    without the overall ones, unless ``exclude_overall`` is False)."""
    items = system.items[system.items["item_code"].isin(columns)]
    if exclude_overall:
        items = items[items["dimension"] != OVERALL]
    if items.empty:
        raise UserError(N_("The data have none of the index system's perception items."))
    return items


def _require_item(data: SurveyData, item: str) -> None:
    if item not in data.answers.columns:
        raise UserError(N_("The data have no {item!r} item."), item=item)


def _enough(n: int, needed: int) -> None:
    """Refuse a method for fewer than ``needed`` complete responses."""
    if n < needed:
        raise UserError(N_("Too few complete responses: {n}; this method needs at least "
                           "{needed}."), n=n, needed=needed)


def _answered(answers: pd.DataFrame, columns, *, every: bool) -> np.ndarray:
    """Which rows of ``answers`` answer ``every`` one of ``columns`` (else any of them), column
    by column: a copy of those columns of a million responses costs more than the method."""
    rows = np.full(len(answers), every, dtype=bool)
    for column in columns:
        if every:
            rows &= answers[column].notna().to_numpy()
        else:
            rows |= answers[column].notna().to_numpy()
    return rows


def _rows_of(answers: pd.DataFrame, rows: np.ndarray, columns: list) -> pd.DataFrame:
    """``answers[columns].iloc[rows]`` (``rows`` positions), taking the rows of each column
    (pandas would copy the columns of every row first)."""
    return pd.DataFrame({c: answers[c].to_numpy()[rows] for c in columns},
                        index=answers.index[rows], columns=pd.Index(columns))


def _rows_answering(data: SurveyData, asked: list, columns: list
                    ) -> tuple[pd.DataFrame, pd.Series]:
    """The answers to ``columns`` and the weights of the responses that answer any of
    ``asked`` (the methods on pairs of answers count no other; a few of a million responses
    answer the expectations or a competitor's ratings). All of them when a weight is negative
    or missing (the method's error names it)."""
    weights = data.weights
    if not (weights.to_numpy(dtype=float) >= 0).all():
        return data.answers[columns], weights
    rows = np.flatnonzero(_answered(data.answers, asked, every=False))
    return _rows_of(data.answers, rows, columns), weights.iloc[rows]


def _no_ratings(data: SurveyData, competitor: str) -> UserError:
    return UserError(N_("No ratings of {competitor!r} (answer codes competitor.{competitor}."
                        "<item>); rated competitors: {known}."),
                     competitor=competitor, known=", ".join(competitors_in(data)) or "–")


def csat_table(data: SurveyData, *, item: str = "overall_satisfaction", by: str | None = "wave",
               scale=(1, 10), boxes: int = 2) -> pd.DataFrame:
    """Mean and top-box share of ``item`` with intervals, overall or per group."""
    _require_item(data, item)
    return per_group(data, item, by,
                     lambda v, w: csat(v, w, scale=scale, boxes=boxes))


def ces_table(data: SurveyData, *, item: str = "ces", by: str | None = "wave",
              scale=(1, 7)) -> pd.DataFrame:
    """Customer effort: mean with interval and the share answering on the easy side."""
    if item not in data.answers.columns:
        raise NotAsked(N_("The data have no {item!r} item (use the 'ces' template)."), item=item)
    return per_group(data, item, by, lambda v, w: ces(v, w, scale=scale))


def gap_table(data: SurveyData, index_system: IndexSystem | None = None) -> pd.DataFrame:
    """Satisfaction ratio C = b/a and gap b − a per item that was asked with its expectation."""
    items = _items(data, _system(index_system))
    paired = [c for c in items["item_code"] if c + EXPECTATION_SUFFIX in data.answers.columns]
    if not paired:
        raise UserError(N_("The data have no expectation answers (<item>.exp columns)."))
    asked = [c + EXPECTATION_SUFFIX for c in paired]
    answers, weights = _rows_answering(data, asked, paired + asked)
    perception = answers[paired]
    expectation = answers[asked]
    expectation.columns = paired
    return satisfaction_gap(perception, expectation, weights).sort_values("gap")


def kano_table(data: SurveyData, index_system: IndexSystem | None = None) -> pd.DataFrame:
    """Kano category shares, resulting category and Better / Worse per attribute."""
    system = _system(index_system)
    pairs = {}
    for attribute in system.kano_attributes["attribute"]:
        f, d = kano_items(attribute)
        if f in data.answers.columns and d in data.answers.columns:
            pairs[attribute] = (data.answers[f], data.answers[d])
    if not pairs:
        raise UserError(N_("The data have no Kano answer pairs "
                           "(kano.<attribute>.f / .d columns)."))
    return kano_result(pairs, weights=data.weights.to_numpy())


def _dimension_scores(data: SurveyData, system: IndexSystem) -> pd.DataFrame:
    return data.scores(system.items).drop(columns=["csi"])  # once per data, for every method


def driver_predictors(columns, *, target: str, level: str = "dimension",
                      predictors: list[str] | None = None,
                      system: IndexSystem) -> tuple[str, list[str]]:
    """What explains ``target`` among the answered item ``columns``: ``("item", codes)`` (the
    ``predictors`` named, or the index system's items) or ``("dimension", names)`` (the
    dimensions of the answered items, as each respondent's dimension scores)."""
    if target not in columns:
        raise UserError(N_("The data have no {item!r} item to explain."), item=target)
    if predictors:
        absent = [c for c in predictors if c not in columns]
        if absent:
            raise UserError(N_("Predictor(s) {names} are not in the data; its items are {items}."),
                            names=", ".join(absent), items=_listed(columns))
        if target in predictors:
            raise UserError(N_("{item!r} is the outcome; it cannot also be a predictor."),
                            item=target)
        return "item", list(predictors)
    if level == "dimension":
        present = system.items[system.items["item_code"].isin(columns)]
        if present.empty:
            raise ValueError("none of the index system's items appear in the answers")
        return "dimension", [d for d in present["dimension"].drop_duplicates() if d != OVERALL]
    if level == "item":
        return "item", items_answered(columns, system)["item_code"].tolist()
    raise UserError(N_("The level must be 'dimension' or 'item'."))


def drivers_table(data: SurveyData, *, target: str = "overall_satisfaction",
                  level: str = "dimension", method: str = "relative_weights", n_boot: int = 200,
                  random_state: int = 0, index_system: IndexSystem | None = None,
                  predictors: list[str] | None = None) -> pd.DataFrame:
    """Derived importance of dimensions (or items) for ``target`` with bootstrap intervals;
    ``predictors`` names the explaining columns instead (any columns of the data)."""
    system = _system(index_system)
    kind, names = driver_predictors(data.answers.columns, target=target, level=level,
                                    predictors=predictors, system=system)
    key = ("drivers fit", target, kind, tuple(names), method, items_key(system.items))
    fit = data.once(key, lambda: _drivers_fit(data, target, kind, names, method, system))
    return driver_importance(None, n_boot=n_boot, random_state=random_state, fit=fit)


def _drivers_fit(data: SurveyData, target: str, kind: str, names: list[str], method: str,
                 system: IndexSystem) -> DriverFit:
    """The key drivers' point estimate on ``data`` (computed once per data: the table with
    its intervals and the importance–performance analysis both need it)."""
    if kind == "dimension":
        X = _dimension_scores(data, system).drop(columns=[OVERALL], errors="ignore")
    else:
        X = data.answers[names]
    y = data.answers[target]
    complete = y.notna().to_numpy().copy()  # column by column, not a copy of them all
    for j in range(X.shape[1]):
        complete &= X.iloc[:, j].notna().to_numpy()
    _enough(int(complete.sum()), X.shape[1] + 2)
    return fit_drivers(X, y, method=method, sample_weight=data.weights.to_numpy())


def _listed(columns, limit: int = 40) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:limit]) + (f" … ({len(names)})" if len(names) > limit else "")


def _mean_scores(scores: pd.DataFrame, w: pd.Series) -> pd.Series:
    """The weighted mean of each column's answered scores (on the arrays: a million rows)."""
    weights = w.reindex(scores.index).to_numpy(dtype=float)
    means = {}
    for column in scores.columns:
        values = scores[column].to_numpy(dtype=float)
        valid = ~np.isnan(values)
        if valid.any():
            means[column] = float(np.average(values[valid], weights=weights[valid]))
    return pd.Series(means)


def ipa_table(data: SurveyData, *, target: str = "overall_satisfaction",
              competitor: str | None = None,
              index_system: IndexSystem | None = None) -> pd.DataFrame:
    """Importance–performance quadrants of the dimensions: derived importance (relative
    weights) against the weighted dimension score (0–100); with ``competitor``, also that
    competitor's dimension scores from the same respondents' ratings
    (``competitor.<name>.<item>``) and the gap."""
    system = _system(index_system)
    drivers = drivers_table(data, target=target, n_boot=0, index_system=system)
    scores = _dimension_scores(data, system).drop(columns=[OVERALL], errors="ignore")
    performance = _mean_scores(scores, data.weights)
    importance = drivers["share"] if "share" in drivers else drivers.iloc[:, 0]
    theirs = None
    if competitor is not None:
        prefix = f"{COMPETITOR_PREFIX}{competitor}."
        rated = {c: c[len(prefix):] for c in data.answers.columns if c.startswith(prefix)}
        if not rated:
            raise _no_ratings(data, competitor)
        their_answers = data.answers[list(rated)].rename(columns=rated)
        their_scores = _dimension_scores(SurveyData(their_answers, data.comments, data.meta),
                                         system).drop(columns=[OVERALL], errors="ignore")
        theirs = _mean_scores(their_scores, data.weights)
    return importance_performance(importance.rename_axis("dimension"), performance,
                                  competitor_performance=theirs)


def reliability_table(data: SurveyData, index_system: IndexSystem | None = None) -> pd.DataFrame:
    """Cronbach's α, composite reliability and AVE per dimension, and the largest HTMT ratio
    with another dimension. CR and AVE use each block's standardised loadings on its first
    principal component."""
    system = _system(index_system)
    items = _items(data, system, exclude_overall=False)
    blocks = {d: g["item_code"].tolist() for d, g in items.groupby("dimension", sort=False)
              if len(g) >= 2}
    if len(blocks) < 2:
        raise UserError(N_("Reliability needs at least two dimensions with two or more "
                           "items."))
    columns = [c for b in blocks.values() for c in b]
    rows = np.flatnonzero(_answered(data.answers, columns, every=True))  # dropna
    complete = _rows_of(data.answers, rows, columns)
    _enough(len(complete), 3)
    ratios = htmt(complete, blocks)
    rows = {}
    for name, codes in blocks.items():
        corr = np.corrcoef(complete[codes].to_numpy(), rowvar=False)
        values, vectors = np.linalg.eigh(corr)
        loadings = np.abs(vectors[:, -1]) * np.sqrt(values[-1])
        rows[name] = {"items": len(codes), "n": len(complete),
                      "cronbach_alpha": cronbach_alpha(complete[codes]),
                      "composite_reliability": composite_reliability(loadings),
                      "ave": average_variance_extracted(loadings),
                      "max_htmt": float(ratios.loc[name].drop(name).max())}
    return pd.DataFrame(rows).T.rename_axis("dimension")


def trend_table(data: SurveyData, *, item: str = "nps") -> pd.DataFrame:
    """``item`` per wave (NPS for ``nps``, else the mean) with each change's significance."""
    _require_item(data, item)
    waves = [w for w in data.waves_in_order()
             if data.answers.loc[(data.meta["wave"] == w).to_numpy(), item].notna().any()]
    if len(waves) < 2:
        raise UserError(N_("A trend needs answers in at least two waves; this survey has "
                           "{n} wave(s) with answers. Add a wave and collect answers in it."),
                        n=len(waves))
    kind = "nps" if item == "nps" else "mean"
    return wave_trend(data.answers[item].reset_index(drop=True),
                      data.meta["wave"].reset_index(drop=True), order=data.waves_in_order(),
                      weights=data.weights.reset_index(drop=True), kind=kind)


def _column(data: SurveyData, name: str) -> pd.Series:
    """An answer column, ``nps_group`` (promoter / passive / detractor) or a grouping column."""
    if name == "nps_group":
        _require_item(data, "nps")
        scores = data.answers["nps"]
        groups = np.select([scores >= 9, scores >= 7, scores >= 0],
                           ["promoter", "passive", "detractor"], "")
        return pd.Series(groups, index=scores.index).replace("", np.nan)
    if name in data.answers.columns:
        return data.answers[name]
    return data.groups(name)


def compare_table(data: SurveyData, *, item: str = "overall_satisfaction",
                  by: str = "region") -> pd.DataFrame:
    """Mean of ``item`` per group with the test across groups (Welch t / ANOVA, and the rank
    test) and the effect size, in the frame's ``attrs`` and as trailing columns."""
    _require_item(data, item)
    groups = data.groups(by)
    answered = groups[data.answers[item].notna().to_numpy()]  # nunique leaves missing out
    if answered.nunique() < 2:
        raise UserError(N_("A comparison needs answers from at least two groups; these data "
                           "have {n}."), n=int(answered.nunique()))
    result = compare_groups(data.answers[item], data.groups(by))
    table = result["summary"].rename_axis(by)
    for key in ("test", "statistic", "p_value", "rank_test", "rank_p_value", "effect",
                "effect_size"):
        table[key] = result[key]
    return table


def crosstab_table(data: SurveyData, *, rows: str = "region", columns: str = "nps_group"
                   ) -> pd.DataFrame:
    """Weighted crosstab (row percentages) with χ², p and Cramér's V as trailing columns."""
    first, second = _column(data, rows), _column(data, columns)
    if first.index.equals(second.index):  # rows answered in both, by an array mask
        both = (first.notna() & second.notna()).to_numpy()
        answered = pd.concat([first[both], second[both]], axis=1)
    else:
        answered = pd.concat([first, second], axis=1).dropna()
    if answered.iloc[:, 0].nunique() < 2 or answered.iloc[:, 1].nunique() < 2:
        raise UserError(N_("A crosstab needs answers in at least two groups of its rows and two "
                           "of its columns."))
    result = crosstab_test(first, second, weights=data.weights.to_numpy())
    table = result["table"]
    shares = table.div(table.sum(axis=1), axis=0)
    shares["n"] = table.sum(axis=1)
    shares["chi2"], shares["p_value"] = result["chi2"], result["p_value"]
    shares["cramers_v"] = result["cramers_v"]
    shares.index.name, shares.columns.name = rows, None
    return shares


def nps_difference_table(data: SurveyData, *, by: str, a, b) -> pd.DataFrame:
    """NPS of group ``b`` minus group ``a`` (two waves, regions, tiers ...) with its 95%
    interval and a two-sided z test."""
    groups = data.groups(by).astype(str)
    missing = [g for g in (a, b) if not (groups == str(g)).any()]
    if missing:
        raise UserError(N_("No responses with {by} = {value!r}; choose from {choices}."),
                        by=by, value=missing[0], choices=sorted(groups.dropna().unique()))
    _require_item(data, "nps")
    scores, weights = data.answers["nps"], data.weights
    ma, mb = groups == str(a), groups == str(b)
    result = nps_difference(scores[ma], scores[mb], weights[ma], weights[mb])
    return result.to_frame(f"{b} − {a}").T.rename_axis(by)


COMPETITOR_PREFIX = "competitor."


def competitors_in(data: SurveyData) -> list[str]:
    """Competitor names rated in the data (answer codes ``competitor.<name>.<item>``)."""
    names = {c[len(COMPETITOR_PREFIX):].rsplit(".", 1)[0] for c in data.answers.columns
             if c.startswith(COMPETITOR_PREFIX) and c.count(".") >= 2}
    return sorted(names)


def competitor_table(data: SurveyData, *, competitor: str) -> pd.DataFrame:
    """The same respondents' ratings of us and of ``competitor`` per item (answer codes
    ``competitor.<name>.<item>``): means, difference, paired t and Wilcoxon tests, Holm."""
    prefix = f"{COMPETITOR_PREFIX}{competitor}."
    pairs = [c[len(prefix):] for c in data.answers.columns if c.startswith(prefix)]
    pairs = [item for item in pairs if item in data.answers.columns]
    if not pairs:
        raise _no_ratings(data, competitor)
    rated = [prefix + item for item in pairs]
    answers, _ = _rows_answering(data, rated, pairs + rated)
    theirs = answers[rated].set_axis(pairs, axis=1)
    return competitor_comparison(answers[pairs], theirs)


def servqual_table(data: SurveyData) -> pd.DataFrame:
    """SERVQUAL gaps (perception − expectation) per dimension and item, from the SERVQUAL-22
    template's answers ``sq1``…``sq22`` (perception) and ``sq1.exp``… (expectation)."""
    dimensions = servqual_items()
    codes = [c for items in dimensions.values() for c in items]
    missing = [c for c in codes if c not in data.answers or f"{c}.exp" not in data.answers]
    if missing:
        raise NotAsked(N_("The data are not a SERVQUAL survey: missing {items} (use the "
                          "servqual22 template)."),
                       items=", ".join(missing[:4]) + (" …" if len(missing) > 4 else ""))
    expectation = data.answers[[f"{c}.exp" for c in codes]].set_axis(codes, axis=1)
    result = servqual_gaps(data.answers[codes], expectation, dimensions, data.weights)
    dims = result["dimensions"].assign(level="dimension")
    items = result["items"].drop(columns="dimension").assign(level="item")
    overall = pd.DataFrame({"gap": [result["overall"]], "level": ["overall"]}, index=["overall"])
    return pd.concat([overall, dims, items]).rename_axis("name")


def servqual_gap1_table(customers: SurveyData, management: SurveyData) -> pd.DataFrame:
    """SERVQUAL gap 1 per dimension: managers' view of customers' expectations (the same
    items answered as "what customers expect", ``sq<i>.exp``) minus the customers' own
    expectations (Parasuraman, Zeithaml & Berry 1985)."""
    codes = [f"{c}.exp" for items in servqual_items().values() for c in items]
    for name, data in (("customer", customers), ("management", management)):
        missing = [c for c in codes if c not in data.answers]
        if missing:
            raise UserError(N_("The {name} data lack the expectation answers {items} …"),
                            name=name, items=missing[:3])
    dims = {d: [f"{c}.exp" for c in items] for d, items in servqual_items().items()}
    return gap1(customers.answers, management.answers, dims)


#: The structural model over the index system: dimensions → satisfaction → loyalty.
SATISFACTION_ITEMS = ("overall_satisfaction", "trust")
LOYALTY_ITEMS = ("repurchase_intent", "nps")


def index_path_structure(columns, system: IndexSystem) -> tuple[dict, dict]:
    """The structural (inner) and measurement (outer) model of the index system's path model
    over the answered item ``columns``: each dimension's items measure it, the dimensions
    drive satisfaction, which drives loyalty."""
    items = items_answered(columns, system)
    outer = {d: g["item_code"].tolist() for d, g in items.groupby("dimension", sort=False)}
    for name, codes in (("satisfaction", SATISFACTION_ITEMS), ("loyalty", LOYALTY_ITEMS)):
        present = [c for c in codes if c in columns]
        if not present:
            raise UserError(N_("The structural model needs the {name} item(s) {items}."),
                            name=name, items=list(codes))
        outer[name] = present
    inner = {"satisfaction": [d for d in outer if d not in ("satisfaction", "loyalty")],
             "loyalty": ["satisfaction"]}
    return inner, outer


def index_path_model(data: SurveyData, *, n_boot: int = 200, random_state: int = 0,
                     index_system: IndexSystem | None = None) -> PLSPathModel:
    """Fit the ACSI-style PLS path model of the index system: each dimension's items measure it,
    the dimensions drive satisfaction (overall satisfaction, trust), which drives loyalty
    (repurchase intention, NPS). Responses missing any indicator are left out (listwise)."""
    inner, outer = index_path_structure(data.answers.columns, _system(index_system))
    _enough(int(_answered(data.answers, [c for codes in outer.values() for c in codes],
                          every=True).sum()), 10)
    model = PLSPathModel(inner, outer, n_boot=n_boot, random_state=random_state)
    return model.fit(data.answers, sample_weight=data.weights.to_numpy())


def pls_table(data: SurveyData, *, show: str = "paths", n_boot: int = 200,
              index_system: IndexSystem | None = None, model=None) -> pd.DataFrame:
    """The structural model's ``paths`` (with bootstrap intervals), ``loadings`` or ``scores``
    (R², 0–100 index per latent variable, GoF). ``model`` (a
    :class:`~patronage.satisfaction.path_models.PathModelSpec`) replaces the index system's
    model with the user's own constructs and paths."""
    if model is None:
        model = index_path_model(data, n_boot=n_boot, index_system=index_system)
    else:
        model = fit_path_model(data.answers, model, weights=data.weights.to_numpy(),
                               n_boot=n_boot)
    return pls_output(model, show, n_boot)


def pls_output(model: PLSPathModel, show: str, n_boot: int) -> pd.DataFrame:
    """The table of :func:`pls_table` of a fitted ``model``: ``paths`` (with the bootstrap
    intervals when ``n_boot``), ``loadings`` or ``scores``."""
    if show == "scores":
        out = pd.DataFrame({"index": model.index_, "r2": model.r2_.reindex(model.index_.index)})
        out.attrs.update({"gof": model.gof_, "n": model.n_samples_})
        return out.rename_axis("latent_variable")
    kind = {"paths": "path", "loadings": "loading"}.get(show)
    if kind is None:
        raise UserError(N_("Show must be paths, loadings or scores."))
    table = model.bootstrap_.xs(kind, level="kind") if n_boot else None
    if table is None:
        frame = model.paths_ if kind == "path" else model.loadings_
        return frame.to_frame("original") if isinstance(frame, pd.Series) else frame
    return table.assign(n=model.n_samples_)


__all__ = [
    "ces_table", "compare_table", "competitor_table", "competitors_in", "crosstab_table",
    "nps_difference_table", "csat_table", "driver_predictors", "drivers_table", "gap_table",
    "index_path_model", "index_path_structure", "ipa_table", "items_answered", "kano_table",
    "pls_output", "pls_table", "reliability_table",
    "servqual_gap1_table", "servqual_table", "trend_table",
]
