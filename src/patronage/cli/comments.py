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


@analysis_commands.command("comment-themes")
@db_option
@click.argument("action", type=click.Choice(["list", "pin", "rename", "merge", "drop"]))
@click.argument("themes", nargs=-1)
@click.option("--survey", default=None, help="The survey whose themes to edit (default: the "
                                             "survey with most responses).")
@click.option("--cases", "cases", is_flag=True, help="Edit the themes of case descriptions.")
@click.option("--keywords", default=None, metavar="A,B", help="With pin: the theme's keywords.")
@click.option("--into", "into", default=None, help="With rename or merge: the new name.")
def comment_themes(db, action, themes, survey, cases, keywords, into):
    """Edit the themes of comments: pin keywords to a named theme, rename or merge themes.

    A found theme is named by its top words (as 'analyze comments' prints it, e.g.
    价格/太贵/同行); renaming or merging it pins those words under the new name.

    Example: patronage analyze comment-themes pin 交付延迟 --keywords 延迟,延誤,delay
    """
    from patronage.satisfaction import comment_themes as edits
    from patronage.satisfaction.comments import default_survey

    engine = ready_engine(db)
    scope = edits.scope_of(None if cases else guard(lambda: default_survey(engine, survey)),
                           cases=cases)
    run = {"pin": lambda: edits.pin_theme(engine, scope, " ".join(themes), keywords or ""),
           "rename": lambda: edits.rename_theme(engine, scope, " ".join(themes), into or ""),
           "merge": lambda: edits.merge_themes(engine, scope, themes, into or ""),
           "drop": lambda: edits.drop_theme(engine, scope, " ".join(themes)),
           "list": lambda: None}[action]
    guard(run)
    for name, words in edits.pinned_themes(engine, scope).items():
        click.echo(f"{name}: {', '.join(words)}")
