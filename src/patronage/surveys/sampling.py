"""Drawing survey samples from the customer panel.

Pure functions over pandas DataFrames; nothing here touches the database. The panel ``frame`` has
one row per customer (``customer_id`` plus any profile columns such as region, industry, size,
channel, tier, ``consent_survey`` and ``email``). Every function returns a new frame and leaves its
inputs unchanged; every random draw uses a ``numpy.random.Generator`` built from ``seed``, so the
same seed gives the same sample.

Probability samples carry two extra columns: ``stratum`` (the stratum label) and ``design_weight``
(the inverse inclusion probability ``N_h / n_h``; Cochran 1977, *Sampling Techniques*, 3rd ed.,
§5.2), which is what :func:`patronage.analytics.weighting.design_weights` computes from a sample.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

import numpy as np
import pandas as pd

from patronage.messages import N_, UserError

ALLOCATIONS = ("equal", "neyman", "proportional")
_QUERY_NODES = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub,
                ast.UAdd, ast.Invert, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt,
                ast.GtE, ast.In, ast.NotIn, ast.Name, ast.Constant, ast.List, ast.Tuple,
                ast.BinOp, ast.BitAnd, ast.BitOr, ast.Load)


# --------------------------------------------------------------------------- validation helpers

def _check_frame(frame, what: str = "frame") -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")


def _check_columns(frame: pd.DataFrame, columns: Iterable[str], what: str = "frame") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} has no column(s) {', '.join(map(repr, missing))}; "
                         f"available: {', '.join(map(repr, map(str, frame.columns)))}")


def _check_size(n, available: int, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise UserError(N_("{what} must be a non-negative integer, got {n!r}"), what=what, n=n)
    if n > available:
        raise UserError(N_("{what} = {n} is larger than the {available} eligible customers; "
                           "lower it or widen the eligible population"), what=what, n=n,
                        available=available)
    return int(n)


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _as_list(columns) -> list[str]:
    return [columns] if isinstance(columns, str) else list(columns)


def _cell_labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One text label per row: the value of a single column, or values joined by ' / '."""
    if frame[columns].isna().any().any():
        bad = [c for c in columns if frame[c].isna().any()]
        raise UserError(N_("column(s) {columns} have missing values; fill them (e.g. 'unknown') "
                           "before sampling"), columns=bad)
    parts = [frame[c].astype(str) for c in columns]
    label = parts[0]
    for part in parts[1:]:
        label = label + " / " + part
    return label.rename("stratum")


# --------------------------------------------------------------------------- eligibility

def _truthy(values: pd.Series) -> pd.Series:
    """Consent flags as booleans; missing or unrecognised values mean no consent."""
    def one(v) -> bool:
        if isinstance(v, str):
            return v.strip().lower() in {"1", "true", "yes", "y", "t"}
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return False
        return bool(v)
    return values.map(one).astype(bool)


def eligible(frame: pd.DataFrame, *, history: pd.DataFrame | None = None, quiet_days: int = 90,
             today, require_consent: bool = True,
             require_email: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the panel into customers who may be invited now and those who may not.

    A customer is excluded when (a) ``require_consent`` and ``consent_survey`` is not true
    (missing counts as no consent), (b) their last invitation in ``history`` (columns
    ``customer_id``, ``invited_at``) is fewer than ``quiet_days`` days before ``today`` — the
    survey program never asks a customer again inside the quiet period — or
    (c) ``require_email`` and ``email`` is empty.

    Returns ``(eligible_frame, exclusions)``; ``exclusions`` has one row per excluded customer
    with ``customer_id`` and ``reason`` (several reasons joined by ``"; "``), e.g.
    ``"invited 2026-05-01, inside the 90-day quiet period"``.
    """
    _check_frame(frame)
    _check_columns(frame, ["customer_id"])
    if isinstance(quiet_days, bool) or not isinstance(quiet_days, (int, np.integer)) \
            or quiet_days < 0:
        raise ValueError(f"quiet_days must be a non-negative integer, got {quiet_days!r}")
    try:
        today = pd.Timestamp(today)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"today must be a date, got {today!r}: {exc}") from None
    if pd.isna(today):
        raise ValueError("today must be a date, not missing")
    if today.tzinfo is not None:
        today = today.tz_convert(None)
    today = today.normalize()

    reasons: list[pd.Series] = []
    if require_consent:
        _check_columns(frame, ["consent_survey"])
        no_consent = ~_truthy(frame["consent_survey"])
        reasons.append(pd.Series(np.where(no_consent, "no survey consent", ""), index=frame.index))
    if history is not None and quiet_days > 0:
        _check_frame(history, "history")
        _check_columns(history, ["customer_id", "invited_at"], "history")
        try:
            invited = pd.to_datetime(history["invited_at"], format="mixed")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history.invited_at has a value that is not a date: {exc}") from None
        if invited.dt.tz is not None:
            invited = invited.dt.tz_convert(None)
        last = invited.dt.normalize().groupby(history["customer_id"]).max()
        last_for = pd.Series(last.reindex(frame["customer_id"].to_numpy()).to_numpy(),
                             index=frame.index, dtype="datetime64[ns]")
        inside = (today - last_for).dt.days < quiet_days
        text = last_for.dt.strftime("invited %Y-%m-%d") + \
            f", inside the {int(quiet_days)}-day quiet period"
        reasons.append(text.where(inside.fillna(False).astype(bool), "").fillna(""))
    if require_email:
        _check_columns(frame, ["email"])
        email = frame["email"].astype("string").str.strip()
        no_email = email.isna() | (email == "")
        reasons.append(pd.Series(np.where(no_email.to_numpy(dtype=bool), "no e-mail address", ""),
                                 index=frame.index))

    if reasons:
        joined = pd.concat(reasons, axis=1).apply(lambda row: "; ".join(r for r in row if r),
                                                  axis=1)
    else:
        joined = pd.Series("", index=frame.index, dtype=object)
    excluded = joined.astype(str) != ""
    exclusions = pd.DataFrame({"customer_id": frame.loc[excluded, "customer_id"].to_numpy(),
                               "reason": joined[excluded].astype(str).to_numpy()})
    return frame.loc[~excluded].copy(), exclusions


# --------------------------------------------------------------------------- simple random

def simple_random(frame: pd.DataFrame, n: int, *, seed) -> pd.DataFrame:
    """Simple random sample of ``n`` rows without replacement (Cochran 1977, §2.2).

    Every row has inclusion probability ``n / N``, so ``design_weight = N / n``; ``stratum`` is
    ``"all"``. Rows keep their order in ``frame``.
    """
    _check_frame(frame)
    big_n = len(frame)
    n = _check_size(n, big_n, "n")
    positions = np.sort(_rng(seed).choice(big_n, size=n, replace=False))
    out = frame.iloc[positions].copy()
    out["stratum"] = "all"
    out["design_weight"] = big_n / n if n else np.nan
    return out


# --------------------------------------------------------------------------- stratified

def _bounded_share(target: float, weight: np.ndarray, low: np.ndarray,
                   high: np.ndarray) -> np.ndarray:
    """Real allocation ``x_h = clip(lam * weight_h, low_h, high_h)`` with ``sum x_h = target``.

    ``sum x`` is non-decreasing in ``lam``; bisection finds the segment, then the free strata
    share what the strata fixed at a bound leave over, exactly.
    """
    def total(lam: float) -> float:
        return float(np.clip(lam * weight, low, high).sum())

    if total(0.0) >= target:
        return low.astype(float)
    hi_lam = 1.0
    while total(hi_lam) < target:
        hi_lam *= 2.0
        if hi_lam > 1e300:
            raise UserError(N_("cannot allocate the sample: the strata with a positive "
                               "allocation weight are too small; lower n or give the other "
                               "strata a weight"))
    lo_lam = 0.0
    for _ in range(200):
        mid = (lo_lam + hi_lam) / 2
        lo_lam, hi_lam = (mid, hi_lam) if total(mid) < target else (lo_lam, mid)
    x = np.clip(hi_lam * weight, low, high)
    free = (x > low) & (x < high)
    if free.any():
        rest = target - x[~free].sum()
        x[free] = rest * weight[free] / weight[free].sum()
    return x


def _largest_remainder(x: np.ndarray, n: int) -> np.ndarray:
    """Round ``x`` (summing to ``n``) to integers summing to ``n`` by the largest remainder
    (Hamilton) method; ties go to the earlier stratum."""
    x = np.round(x, 9)
    base = np.floor(x).astype(int)
    short = n - int(base.sum())
    order = sorted(range(len(x)), key=lambda i: (-(x[i] - base[i]), i))
    for i in order[:short]:
        base[i] += 1
    return base


def allocate(population: pd.Series, n: int, *, allocation: str = "proportional", sd=None,
             min_per_stratum: int = 0) -> pd.Series:
    """Integer sample sizes ``n_h`` per stratum for stratum sizes ``population`` (``N_h``).

    * ``"proportional"``: ``n_h ∝ N_h`` (Cochran 1977, §5.3);
    * ``"neyman"``: ``n_h ∝ N_h S_h`` with per-stratum standard deviations ``sd``
      (Neyman 1934, JRSS 97:558; Cochran 1977, eq. 5.26) — optimal for the variance of the mean
      at equal unit costs;
    * ``"equal"``: the same size in every stratum.

    Each ``n_h`` lies in ``[min(min_per_stratum, N_h), N_h]``; a stratum whose share would exceed
    ``N_h`` is taken whole and its surplus goes to the others in proportion. The real-valued
    allocation is rounded by largest remainder, so the sizes sum exactly to ``n``.
    """
    population = pd.Series(population).astype(int)
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {allocation!r}")
    n = _check_size(n, int(population.sum()), "n")
    if isinstance(min_per_stratum, bool) or not isinstance(min_per_stratum, (int, np.integer)) \
            or min_per_stratum < 0:
        raise ValueError(f"min_per_stratum must be a non-negative integer, got {min_per_stratum!r}")
    sizes = population.to_numpy(dtype=float)
    if allocation == "proportional":
        weight = sizes
    elif allocation == "equal":
        weight = np.ones_like(sizes)
    else:
        if sd is None:
            raise UserError(N_("Neyman allocation needs sd: the standard deviation of the key "
                               "measure in each stratum (e.g. from the previous wave)"))
        sd = pd.Series(sd, dtype=float)
        sd.index = sd.index.map(lambda k: " / ".join(map(str, k)) if isinstance(k, tuple)
                                else str(k))
        missing = [s for s in population.index if s not in sd.index or pd.isna(sd.get(s))]
        if missing:
            raise UserError(N_("no standard deviation for stratum(s) {strata}; add them to sd or "
                               "use allocation='proportional'"), strata=missing)
        s_h = sd.reindex(population.index).to_numpy()
        if (s_h < 0).any():
            raise UserError(N_("standard deviations in sd must be non-negative"))
        weight = sizes * s_h
        if weight.sum() == 0 and n > 0:
            raise UserError(N_("every stratum has standard deviation 0; Neyman allocation is "
                               "undefined — use allocation='proportional'"))
    low = np.minimum(min_per_stratum, sizes)
    if low.sum() > n:
        raise UserError(N_("min_per_stratum={minimum} over {strata} strata needs {units} units, "
                           "more than n={n}; raise n or lower the minimum"),
                        minimum=min_per_stratum, strata=len(sizes), units=int(low.sum()), n=n)
    real = _bounded_share(float(n), weight, low, sizes)
    return pd.Series(_largest_remainder(real, n), index=population.index, name="n_h")


def stratified(frame: pd.DataFrame, strata: str | list[str], n: int, *,
               allocation: str = "proportional", sd=None, min_per_stratum: int = 0,
               seed) -> pd.DataFrame:
    """Stratified simple random sample of ``n`` rows (Cochran 1977, ch. 5).

    ``strata`` names one or more columns; the stratum label is the value (several columns are
    joined by ``" / "``, e.g. ``"North / large"``). Sizes ``n_h`` come from :func:`allocate`;
    within each stratum ``n_h`` rows are drawn without replacement. Each sampled row gets
    ``stratum`` and ``design_weight = N_h / n_h``, so the weights of a stratum sum to ``N_h``.
    ``sd`` (Neyman only) maps stratum labels — or tuples of column values — to standard
    deviations. The allocation table (``stratum``, ``N_h``, ``n_h``, ``weight``) is in
    ``result.attrs["allocation"]``; ``weight`` is NaN for a stratum that received no units.
    """
    _check_frame(frame)
    columns = _as_list(strata)
    if not columns:
        raise ValueError("strata must name at least one column")
    _check_columns(frame, columns)
    labels = _cell_labels(frame, columns)
    population = labels.value_counts().sort_index()
    sizes = allocate(population, n, allocation=allocation, sd=sd, min_per_stratum=min_per_stratum)
    rng = _rng(seed)
    positions = np.arange(len(frame))
    chosen = []
    for label, n_h in sizes.items():
        members = positions[(labels == label).to_numpy()]
        chosen.append(rng.choice(members, size=int(n_h), replace=False))
    picked = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=int)
    out = frame.iloc[picked].copy()
    out["stratum"] = labels.iloc[picked].to_numpy()
    weight = (population / sizes.where(sizes > 0)).astype(float)
    out["design_weight"] = out["stratum"].map(weight).astype(float)
    out.attrs["allocation"] = pd.DataFrame({
        "stratum": population.index.to_numpy(), "N_h": population.to_numpy(),
        "n_h": sizes.to_numpy(), "weight": weight.to_numpy()})
    return out


# --------------------------------------------------------------------------- targeted lists

def _check_query(query: str, columns) -> None:
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query must be a non-empty string such as \"size == 'key account'\"")
    for bad in ("@", "__", "`"):
        if bad in query:
            raise ValueError(f"query may not contain {bad!r}: only column names, literals, "
                             "comparisons and and/or/not are allowed")
    try:
        tree = ast.parse(query.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"query is not a valid expression: {exc.msg}") from None
    names = {str(c) for c in columns}
    for node in ast.walk(tree):
        if not isinstance(node, _QUERY_NODES):
            raise ValueError(f"query may not contain {type(node).__name__} expressions: only "
                             "column names, literals, comparisons and and/or/not are allowed")
        if isinstance(node, ast.Name) and node.id not in names:
            raise ValueError(f"query names {node.id!r}, which is not a column; available: "
                             f"{sorted(names)}")


def targeted(frame: pd.DataFrame, *, query: str | None = None, ids: list | None = None,
             segment_filter: dict | None = None) -> pd.DataFrame:
    """A targeted (non-probability) list: key accounts, named customers or a segment.

    The criteria combine with AND: ``query`` is a :meth:`pandas.DataFrame.query` expression
    restricted to column names, literals, comparisons and ``and``/``or``/``not``; ``ids`` keeps
    those ``customer_id`` values; ``segment_filter`` maps a column to an allowed value or list
    of values (e.g. ``{"size": ["key account"]}``). The result has ``stratum = "targeted"`` and
    ``design_weight`` NaN (a targeted list has no inclusion probability, so it supports no
    population estimates). Requested ids not in ``frame`` are listed in
    ``result.attrs["unmatched_ids"]``.
    """
    _check_frame(frame)
    if query is None and ids is None and segment_filter is None:
        raise ValueError("give at least one of query, ids or segment_filter")
    keep = pd.Series(True, index=frame.index)
    unmatched: list = []
    if segment_filter is not None:
        if not isinstance(segment_filter, dict):
            raise ValueError("segment_filter must be a dict {column: value or list of values}")
        _check_columns(frame, segment_filter)
        for column, allowed in segment_filter.items():
            allowed = [allowed] if isinstance(allowed, str) or not isinstance(
                allowed, Iterable) else list(allowed)
            keep &= frame[column].isin(allowed)
    if ids is not None:
        _check_columns(frame, ["customer_id"])
        ids = list(ids)
        keep &= frame["customer_id"].isin(ids)
        present = set(frame["customer_id"])
        unmatched = [i for i in ids if i not in present]
    if query is not None:
        _check_query(query, frame.columns)
        try:
            selected = frame.query(query.strip(), engine="python")
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ValueError(f"query {query!r} failed: {exc}") from None
        keep &= frame.index.isin(selected.index)
    out = frame.loc[keep.to_numpy()].copy()
    out["stratum"] = "targeted"
    out["design_weight"] = np.nan
    out.attrs["unmatched_ids"] = unmatched
    return out


# --------------------------------------------------------------------------- quotas

def check_quota_cells(frame: pd.DataFrame, quotas: dict, by: str | list[str]) -> None:
    """Refuse quota cells that match no stratum of ``frame`` (e.g. ``华东`` when regions are
    stored as ``East China``): a cap on a cell nobody is in would silently do nothing. The
    error names the unknown cells and the strata there are (cells of several columns are
    written ``East China / small``)."""
    columns = _as_list(by)
    unknown, known = _unknown_cells(frame, columns, quotas)
    if unknown:
        raise UserError(
            N_("Quota cell(s) {cells} match no stratum of {columns}. The strata are: {known}. "
               "Write each cell as the value is stored, e.g. '{example}=50'."),
            cells=", ".join(unknown), columns=", ".join(columns), known=_listed(known),
            example=known[0] if known else "…")


def _unknown_cells(frame: pd.DataFrame, columns: list[str], cells) -> tuple[list[str], list[str]]:
    """The ``cells`` (a value, or a tuple of values for several columns) no row of ``frame``
    has, and the cells there are, both as labels like ``East China / small``."""
    _check_columns(frame, columns)
    present = {tuple(str(v) for v in row) for row in frame[columns].dropna()
               .itertuples(index=False, name=None)}
    keys = [tuple(str(v) for v in (c if isinstance(c, tuple) else (c,))) for c in cells]
    return ([" / ".join(k) for k in keys if k not in present],
            sorted(" / ".join(k) for k in present))


def _listed(labels: list[str], most: int = 30) -> str:
    return (", ".join(labels[:most]) + (" …" if len(labels) > most else "")) or "–"


def check_segment_values(frame: pd.DataFrame, segment_filter: dict) -> None:
    """Refuse a segment value no customer of ``frame`` has (``region=华东`` when regions are
    stored as ``East China``): it would silently leave those customers out of the list."""
    for column, allowed in segment_filter.items():
        values = [allowed] if isinstance(allowed, str) else list(allowed)
        unknown, known = _unknown_cells(frame, [column], values)
        if unknown:
            raise UserError(
                N_("No customer has {column} = {values}. The values there are: {known}. Write "
                   "them as they are stored."),
                column=column, values=", ".join(unknown), known=_listed(known))


def check_sd_strata(frame: pd.DataFrame, strata: str | list[str], sd) -> None:
    """Refuse standard deviations for strata that do not exist (a typo such as ``Nort``):
    Neyman allocation would otherwise ignore them without a word."""
    columns = _as_list(strata)
    labels = [tuple(k) if isinstance(k, tuple) else tuple(str(k).split(" / "))
              for k in pd.Series(sd, dtype=object).index]
    unknown, known = _unknown_cells(frame, columns, labels)
    if unknown:
        raise UserError(
            N_("Standard deviation(s) given for {cells}, which match no stratum of {columns}. "
               "The strata are: {known}."),
            cells=", ".join(unknown), columns=", ".join(columns), known=_listed(known))


def apply_quotas(sample_or_frame: pd.DataFrame, quotas: dict, by: str | list[str], *,
                 seed) -> pd.DataFrame:
    """Cap each cell of ``by`` at its quota by random subsampling; other cells are kept whole.

    ``quotas`` maps a cell — the value for one column, a tuple of values for several — to its
    maximum count. When the input has a ``design_weight`` column, the weights of a capped cell
    are multiplied by ``available / quota`` (the inverse of the second-phase inclusion
    probability; Cochran 1977, §12.1 on double sampling), so weighted totals stay unbiased.
    ``result.attrs["quotas"]`` reports ``cell``, ``available``, ``quota`` and ``kept``; a stale
    ``attrs["allocation"]`` from :func:`stratified` is removed.
    """
    _check_frame(sample_or_frame, "sample_or_frame")
    columns = _as_list(by)
    if not columns:
        raise ValueError("by must name at least one column")
    _check_columns(sample_or_frame, columns, "sample_or_frame")
    if not isinstance(quotas, dict):
        raise ValueError("quotas must be a dict {cell: maximum count}")
    frame = sample_or_frame
    keys = pd.Series(list(map(tuple, frame[columns].to_numpy(dtype=object))), index=frame.index,
                     dtype=object)
    rng = _rng(seed)
    drop = np.zeros(len(frame), dtype=bool)
    factor = np.ones(len(frame))
    report = []
    for cell, quota in quotas.items():
        key = cell if isinstance(cell, tuple) else (cell,)
        if len(key) != len(columns):
            raise UserError(N_("quota cell {cell!r} has {values} value(s) but by names {count} "
                               "column(s) {columns}"), cell=cell, values=len(key),
                            count=len(columns), columns=columns)
        if isinstance(quota, bool) or not isinstance(quota, (int, np.integer)) or quota < 0:
            raise UserError(N_("quota for {cell!r} must be a non-negative integer, got {quota!r}"),
                            cell=cell, quota=quota)
        members = np.flatnonzero((keys == key).to_numpy())
        if len(members) > quota:
            dropped = rng.choice(members, size=len(members) - int(quota), replace=False)
            drop[dropped] = True
            if quota > 0:
                factor[members] = len(members) / quota
        report.append({"cell": cell, "available": len(members), "quota": int(quota),
                       "kept": min(len(members), int(quota))})
    out = frame.loc[~drop].copy()
    out.attrs.pop("allocation", None)  # the stratum sizes no longer describe the result
    if "design_weight" in out.columns:
        out["design_weight"] = out["design_weight"].astype(float) * factor[~drop]
    out.attrs["quotas"] = pd.DataFrame(report, columns=["cell", "available", "quota", "kept"])
    return out


__all__ = ["ALLOCATIONS", "allocate", "apply_quotas", "check_quota_cells", "check_sd_strata",
           "check_segment_values", "eligible", "simple_random", "stratified", "targeted"]
