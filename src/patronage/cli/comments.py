"""``patronage analyze comments``: sentiment and themes of survey comments or case descriptions.
Calls :mod:`patronage.satisfaction.comments`."""

from __future__ import annotations

import click

from patronage.cli.common import db_option, emit, format_option, guard, ready_engine


@click.group()
def analysis_commands() -> None:
    """Comment analyses (merged into ``patronage analyze``)."""


@analysis_commands.command("comments")
@db_option
@format_option
@click.option("--survey", default=None, help="Survey code (default: the survey with most "
                                             "responses).")
@click.option("--cases", "cases", is_flag=True,
              help="Analyse the case descriptions instead of a survey's comments.")
@click.option("--wave", default=None, help="Only this wave's comments.")
@click.option("--segment", default=None, metavar="COLUMN=VALUE",
              help="Only one segment's comments, e.g. 'region=East China'.")
@click.option("--search", "query", default=None,
              help="Only comments holding every word given (Chinese needs no spaces; "
                   "Traditional and Simplified match each other).")
@click.option("--by", default=None,
              help="Each theme's share per group: wave, region, industry, size, channel, tier "
                   "(cases: month, type, subject and the segments).")
@click.option("--show", type=click.Choice(["themes", "sentiment", "comments", "groups"]),
              default=None, help="What to print (default: themes; groups with --by).")
@click.option("--themes", "n_themes", default=8, show_default=True, type=click.IntRange(1, 30),
              help="How many themes to find per language.")
def analyze_comments(db, fmt, survey, cases, wave, segment, query, by, show, n_themes):
    """Sentiment and themes of comments, each theme's share with a 95% interval.

    Themes are found from the words of the comments (Chinese and English) with a fixed seed,
    so the same comments give the same themes.

    Example: patronage analyze comments --wave 2026-Q3 --by region --search 设备
    """
    from patronage.satisfaction.comments import (
        analyse_case_descriptions, analyse_survey_comments, comment_table,
    )

    engine = ready_engine(db)
    if cases:
        result = guard(lambda: analyse_case_descriptions(engine, segment=segment, query=query,
                                                         n_themes=n_themes))
    else:
        result = guard(lambda: analyse_survey_comments(
            engine, survey, wave=wave, segment=segment, query=query, n_themes=n_themes))
    emit(guard(lambda: comment_table(result, show or ("groups" if by else "themes"), by=by)),
         fmt)
