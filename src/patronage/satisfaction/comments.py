"""Comments from the database into comment analytics: survey comments (the ``comment`` answers
of a survey's responses) and case descriptions, with their wave, customer and segment.

The analysis itself is :func:`patronage.analytics.comments.analyse_comments`: sentiment per
comment from a model trained on public labelled corpora (kept fitted in :func:`model_cache_dir`),
themes found by TF-IDF and NMF with a fixed seed, shares with Wilson intervals.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from patronage.analytics.comments import CommentAnalysis, analyse_comments
from patronage.messages import N_, UserError
from patronage.satisfaction.comment_themes import pinned_themes, scope_of
from patronage.satisfaction.sources import SEGMENT_COLUMNS, employee_surveys, survey_data_from_db
from patronage.settings import Settings
from patronage.storage import read_cases, read_customers, read_responses

GROUPS = ("wave", *SEGMENT_COLUMNS)
CASE_GROUPS = ("month", "type", "subject", *SEGMENT_COLUMNS)
SHOWS = ("themes", "sentiment", "comments", "groups")


def model_cache_dir() -> Path:
    """Where the fitted sentiment models are kept between runs: ``PATRONAGE_CACHE_DIR``, else
    the user's cache folder (``$XDG_CACHE_HOME/patronage`` or ``~/.cache/patronage``)."""
    chosen = Settings().cache_dir
    if chosen:
        return Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "patronage"


def default_survey(engine: Engine, survey: str | None = None) -> str:
    """``survey``, or the code of the survey with most responses (an error when none has)."""
    if survey:
        return survey
    responses = read_responses(engine)
    responses = responses[~responses["survey"].isin(employee_surveys(engine))]
    if responses.empty:
        raise UserError(N_("No survey responses yet."))
    return str(responses["survey"].value_counts().idxmax())


def survey_comments(engine: Engine, survey: str | None = None, *, wave: str | None = None,
                    include_flagged: bool = False) -> tuple[pd.Series, pd.DataFrame]:
    """``(texts, groups)`` of a survey's comments, indexed by response id: ``groups`` has
    ``survey``, ``customer_id``, ``customer_pk``, ``wave`` and the customer's segment columns."""
    data = survey_data_from_db(engine, survey, include_flagged=include_flagged)
    texts = data.comments.dropna().astype(str)
    meta = data.meta.reindex(texts.index)
    if wave:
        waves = data.waves_in_order()
        if wave not in waves:
            raise UserError(N_("No wave {wave!r} in this survey: choose one of {waves}."),
                            wave=wave, waves=", ".join(waves) or "-")
        texts = texts[meta["wave"] == wave]
        meta = meta.loc[texts.index]
    groups = pd.DataFrame({"wave": meta["wave"], "customer_id": meta["customer_id"],
                           "survey": meta["survey"]}, index=texts.index)
    for column in SEGMENT_COLUMNS:
        groups[column] = meta.get(f"customer_{column}")
    groups["customer_pk"] = groups["customer_id"].map(_customer_keys(engine))
    return texts, groups


def case_descriptions(engine: Engine) -> tuple[pd.Series, pd.DataFrame]:
    """``(texts, groups)`` of the cases' descriptions, indexed by case id: ``groups`` has
    ``month`` (opened), ``type``, ``subject``, the customer and its segment columns."""
    cases = read_cases(engine)
    cases = cases[cases["description"].fillna("").str.strip() != ""].set_index("case_id")
    customers = read_customers(engine)[["customer_pk", "customer_id", *SEGMENT_COLUMNS]]
    groups = cases[["customer_id", "type", "subject"]].reset_index().merge(
        customers, on="customer_id", how="left").set_index("case_id")
    groups.insert(0, "month", pd.to_datetime(cases["opened_at"]).dt.strftime("%Y-%m"))
    return cases["description"].astype(str), groups


def _customer_keys(engine: Engine) -> dict:
    customers = read_customers(engine)[["customer_pk", "customer_id"]]
    return dict(zip(customers["customer_id"], customers["customer_pk"]))


def _segment(groups: pd.DataFrame, segment: str | None, allowed) -> pd.Series:
    """Rows of ``groups`` in ``segment`` (``region=East China``); all rows without one."""
    if not segment:
        return pd.Series(True, index=groups.index)
    column, _, value = segment.partition("=")
    column, value = column.strip(), value.strip()
    if column not in allowed or not value:
        raise UserError(N_("Give a segment as COLUMN=VALUE with a column of {columns}, e.g. "
                           "region=East China."), columns=", ".join(allowed))
    return groups[column].astype(str) == value


def analyse_survey_comments(engine: Engine, survey: str | None = None, *,
                            wave: str | None = None, segment: str | None = None,
                            query: str | None = None, n_themes: int = 8,
                            pinned: dict[str, list[str]] | None = None,
                            include_flagged: bool = False,
                            responses=None) -> CommentAnalysis:
    """Sentiment and themes of a survey's comments, optionally of one ``wave``, one
    ``segment`` (``region=East China``), the ``responses`` (ids, e.g. those the dashboard's
    filters keep) and those matching ``query``. The survey's edited themes
    (:mod:`patronage.satisfaction.comment_themes`) and ``pinned`` come first."""
    texts, groups = survey_comments(engine, survey, wave=wave, include_flagged=include_flagged)
    keep = _segment(groups, segment, GROUPS)
    if responses is not None:
        keep = keep & texts.index.isin(list(responses))
    code = survey or (groups["survey"].iloc[0] if len(groups) else None)
    edits = {**pinned_themes(engine, scope_of(code)), **(pinned or {})}
    return _analyse(texts[keep], groups[keep], query, n_themes, edits)


def analyse_case_descriptions(engine: Engine, *, segment: str | None = None,
                              query: str | None = None, n_themes: int = 8,
                              pinned: dict[str, list[str]] | None = None) -> CommentAnalysis:
    """The same analysis on case descriptions (segments by ``CASE_GROUPS``)."""
    texts, groups = case_descriptions(engine)
    if texts.empty:
        raise UserError(N_("No case has a description yet."))
    keep = _segment(groups, segment, CASE_GROUPS)
    edits = {**pinned_themes(engine, scope_of(cases=True)), **(pinned or {})}
    return _analyse(texts[keep], groups[keep], query, n_themes, edits)


def _analyse(texts, groups, query, n_themes, pinned) -> CommentAnalysis:
    if texts.dropna().astype(str).str.strip().eq("").all():
        raise UserError(N_("No comments to analyse for this choice."))
    result = analyse_comments(texts, groups, query=query, n_themes=n_themes, pinned=pinned,
                              cache_dir=model_cache_dir())
    if result.n == 0:
        raise UserError(N_("No comment matches {query!r}."), query=query or "")
    return result


def comment_table(result: CommentAnalysis, show: str = "themes", *,
                  by: str | None = None) -> pd.DataFrame:
    """A table of ``result`` for the command line: ``themes`` (share, 95% interval, n,
    sentiment counts), ``sentiment`` (the mix), ``comments`` (one row each) or ``groups``
    (each theme's share of the comments of each group of ``by``)."""
    if show == "themes":
        table = result.themes.assign(keywords=result.themes["keywords"].map(", ".join))
        table = table[["theme", "n", "share", "ci_low", "ci_high", "positive", "neutral",
                       "negative", "keywords"]]
    elif show == "sentiment":
        table = result.sentiment.copy()
    elif show == "comments":
        columns = ["text", "language", "sentiment", "p_positive", "theme",
                   *[c for c in result.comments.columns if c in (*GROUPS, *CASE_GROUPS,
                                                                 "customer_id")]]
        table = result.comments[list(dict.fromkeys(columns))].rename_axis("id").reset_index()
    elif show == "groups":
        if not by:
            raise UserError(N_("Say which groups with --by, e.g. --by wave."))
        if by not in result.comments.columns:
            raise UserError(N_("Cannot group by {by!r}: choose one of {available}."), by=by,
                            available=", ".join(c for c in (*GROUPS, *CASE_GROUPS)
                                                if c in result.comments.columns))
        table = result.by_group(by)
    else:
        raise UserError(N_("Unknown table {show!r}: choose one of {shows}."), show=show,
                        shows=", ".join(SHOWS))
    table = table.round({c: 3 for c in ("share", "ci_low", "ci_high", "p_positive")
                         if c in table.columns})
    table.attrs["notes"] = [
        f"{result.n} comments; shares with 95% Wilson intervals; sentiment from a logistic "
        "regression trained on public labelled corpora (see README, Comment analytics)."]
    return table.reset_index(drop=True)
