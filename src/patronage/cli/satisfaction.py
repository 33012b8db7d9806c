"""``patronage analyze`` commands on survey answers (the database or a file): scores, indices,
drivers, Kano, SERVQUAL, PLS, comparisons and weighting. Each calls :mod:`patronage.satisfaction`."""

from __future__ import annotations

from pathlib import Path

import click

from patronage.cli.common import (
    db_option, emit, engine_for, engine_options, format_option, guard, open_analysis_engine,
    require_current_schema, settings_for,
)


@click.group()
def commands() -> None:
    """Satisfaction analyses (merged into ``patronage analyze``)."""


_FILE_OPTIONS = "patronage.file_options"


def _remember(ctx, param, value):
    """Keep a file-reading option for :func:`_survey_data` instead of passing it to the command."""
    if param.name == "scale" and value is not None:
        try:
            low, high = (float(part) for part in value.split(","))
        except ValueError:
            raise click.BadParameter("give the scale as LOW,HIGH, e.g. 1,7") from None
        if not low < high:
            raise click.BadParameter("LOW must be below HIGH, e.g. 1,7")
        value = (low, high)
    ctx.meta.setdefault(_FILE_OPTIONS, {})[param.name] = value
    return value


def _file_reading_options(func):
    for option in (
        click.option("--scale", default=None, metavar="LOW,HIGH", callback=_remember,
                     expose_value=False,
                     help="With --file: the answer scale, to warn about values outside it."),
        click.option("--missing", multiple=True, metavar="CODE", callback=_remember,
                     expose_value=False,
                     help="With --file: a code meaning 'no answer' (e.g. -99); repeat for more."),
        click.option("--sheet", default=None, callback=_remember, expose_value=False,
                     help="With --file: the worksheet of an Excel file."),
        click.option("--encoding", default=None, callback=_remember, expose_value=False,
                     help="With --file: the text encoding (detected by default: UTF-8, "
                          "GB18030, UTF-16)."),
    ):
        func = option(func)
    return func


def _analysis_options(func):
    func = _file_reading_options(func)
    func = format_option(func)
    func = click.option("--include-flagged", is_flag=True,
                        help="Keep responses flagged by cleaning (left out by default).")(func)
    func = click.option("--survey", default=None,
                        help="Survey code (default: the survey with most responses).")(func)
    func = click.option("--file", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        default=None, help="Analyse a wide CSV/XLSX file instead of the database.")(func)
    return db_option(func)


def _survey_data(db, file, survey, include_flagged):
    from patronage.satisfaction import survey_data_from_csv, survey_data_from_db

    if file is not None:
        options = click.get_current_context().meta.get(_FILE_OPTIONS, {})
        data = guard(lambda: survey_data_from_csv(
            file, encoding=options.get("encoding"), sheet=options.get("sheet"),
            missing=options.get("missing") or ()))
        _warn_out_of_scale(data, options.get("scale"))
        return data
    settings = settings_for(db)
    require_current_schema(settings)
    return guard(lambda: survey_data_from_db(engine_for(settings), survey,
                                              include_flagged=include_flagged))


def _warn_out_of_scale(data, scale) -> None:
    from patronage.satisfaction.files import out_of_scale

    for row in out_of_scale(data.answers, scale).itertuples():
        examples = ", ".join(f"{v:g}" for v in row.examples)
        where = (f"outside the scale {row.low:g} to {row.high:g}" if row.high < float("inf")
                 else "below 0 among otherwise non-negative answers")
        click.echo(f"warning: {row.item}: {row.count} value(s) {where} (e.g. {examples}); if "
                   "they mean 'no answer', declare them with --missing", err=True)


def _by(value: str) -> str | None:
    return None if value == "none" else value


#: The --by help: what every grouping name means (mode and sales_channel named apart).
BY_HELP = ("Group by wave, region, industry, size, tier, language, mode (how the survey was "
           "answered: web, phone, paper, interview; 'channel' means the same), sales_channel "
           "(the customer's sales channel, from the customer profile), or none.")
BY_ONE_HELP = BY_HELP.replace(", or none.", ".")
#: The --bootstrap help of drivers and pls.
BOOTSTRAP_HELP = ("Bootstrap resamples for the percentile intervals (0 for none). Read into "
                  "Python from the database by default; with --engine (database, duckdb, spark) "
                  "the engine computes the moments of Poisson-bootstrap replicates, each "
                  "response weighted by a Poisson(1) count hashed from its id (Hanley & "
                  "MacGibbon 2006).")


def _index_table(name, db, file, survey, include_flagged, by, engine_name, source):
    """The ``name`` (nps or csi) table of the database/file, or of DuckDB on an export."""
    from patronage.satisfaction import indices

    if engine_name == "database":
        _database_only(source)
        data = _survey_data(db, file, survey, include_flagged)
        return guard(lambda: getattr(indices, f"{name}_table")(data, by=_by(by)))
    from patronage.engines import surveys

    return _engine_table(getattr(surveys, f"{name}_table"), file, engine_name, source,
                         survey=survey, include_flagged=include_flagged, by=_by(by))


def _database_only(source) -> None:
    if source is not None:
        raise click.UsageError("--source is for --engine duckdb or spark")


def _engine_table(compute, file, engine_name, source, db=None, **options):
    """``compute(engine, **options)`` on the engine ``engine_name`` reading ``source`` (the
    database of ``db`` for the database engine)."""
    if file is not None:
        raise click.UsageError(f"--file is read in process: leave out --engine {engine_name}")
    with open_analysis_engine(engine_name, source, db) as engine:
        return guard(lambda: compute(engine, **options))


def _in_sql(engine_name: str, file, source, n_boot: int) -> bool:
    """Whether drivers or PLS are fitted on moments computed by the engine (intervals by the
    Poisson bootstrap, also in the engine): always on DuckDB and Spark; on the database when
    ``--engine database`` is given or no intervals are asked for (``--bootstrap 0``), and no
    --file is read. Otherwise the responses are read and resampled in process."""
    if engine_name != "database":
        return True
    _database_only(source)
    given = click.get_current_context().get_parameter_source("engine_name")
    explicit = given not in (None, click.core.ParameterSource.DEFAULT)
    return file is None and (n_boot == 0 or explicit)


@commands.command("nps")
@_analysis_options
@click.option("--by", default="wave", show_default=True, help=BY_HELP)
@engine_options
def analyze_nps(db, file, survey, include_flagged, fmt, by, engine_name, source):
    """NPS with promoter/passive/detractor shares and a 95% interval.

    Example: patronage analyze nps --by region --format csv ; on exported files: patronage
    analyze nps --engine duckdb --source parquet:export
    """
    emit(_index_table("nps", db, file, survey, include_flagged, by, engine_name, source), fmt)


@commands.command("csi")
@_analysis_options
@click.option("--by", default="wave", show_default=True, help=BY_HELP)
@engine_options
def analyze_csi(db, file, survey, include_flagged, fmt, by, engine_name, source):
    """Weighted customer satisfaction index (0-100) and dimension scores.

    Example: patronage analyze csi --by tier ; on exported files: patronage analyze csi
    --engine duckdb --source parquet:export
    """
    emit(_index_table("csi", db, file, survey, include_flagged, by, engine_name, source), fmt)


@commands.command("csat")
@_analysis_options
@click.option("--item", default="overall_satisfaction", show_default=True, help="Rating item.")
@click.option("--by", default="wave", show_default=True, help=BY_HELP)
def analyze_csat(db, file, survey, include_flagged, fmt, item, by):
    """Mean rating and top-2-box share with 95% intervals.

    Example: patronage analyze csat --item overall_satisfaction --by region
    """
    from patronage.satisfaction.methods import csat_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: csat_table(data, item=item, by=_by(by))), fmt)


@commands.command("gap")
@_analysis_options
def analyze_gap(db, file, survey, include_flagged, fmt):
    """Satisfaction ratio C = b/a and gap b − a per item asked with its expectation.

    Example: patronage analyze gap --format csv
    """
    from patronage.satisfaction.methods import gap_table

    emit(guard(lambda: gap_table(_survey_data(db, file, survey, include_flagged))), fmt)


@commands.command("kano")
@_analysis_options
def analyze_kano(db, file, survey, include_flagged, fmt):
    """Kano categories, shares and Better / Worse coefficients per attribute.

    Example: patronage analyze kano
    """
    from patronage.satisfaction.methods import kano_table

    emit(guard(lambda: kano_table(_survey_data(db, file, survey, include_flagged))), fmt)


@commands.command("drivers")
@_analysis_options
@click.option("--outcome", "--target", "target", default="overall_satisfaction",
              show_default=True, help="The outcome item (column) to explain.")
@click.option("--predictors", default=None, metavar="A,B,...",
              help="The explaining items (columns), comma-separated; default: the index "
                   "system's dimensions (or items with --level item).")
@click.option("--level", type=click.Choice(["dimension", "item"]), default="dimension",
              show_default=True)
@click.option("--method", type=click.Choice(["relative_weights", "shapley"]),
              default="relative_weights", show_default=True)
@click.option("--bootstrap", default=200, show_default=True, type=click.IntRange(min=0),
              help=BOOTSTRAP_HELP)
@engine_options
def analyze_drivers(db, file, survey, include_flagged, fmt, target, predictors, level, method,
                    bootstrap, engine_name, source):
    """Key drivers: Johnson's relative weights or Shapley regression, with intervals.

    Example: patronage analyze drivers --file answers.csv --outcome cusa --predictors comp_1,like_1
    ; on exported files (Poisson-bootstrap intervals computed by the engine): patronage
    analyze drivers --engine duckdb --source parquet:export
    """
    from patronage.satisfaction.methods import drivers_table

    names = [p.strip() for p in predictors.split(",") if p.strip()] if predictors else None
    options = {"target": target, "level": level, "method": method, "predictors": names}
    if _in_sql(engine_name, file, source, bootstrap):
        from patronage.engines import survey_models

        emit(_engine_table(survey_models.drivers_table, file, engine_name, source, db,
                           survey=survey, include_flagged=include_flagged, n_boot=bootstrap,
                           **options), fmt)
        return
    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: drivers_table(data, n_boot=bootstrap, **options)), fmt)


@commands.command("ipa")
@_analysis_options
@click.option("--target", default="overall_satisfaction", show_default=True)
@click.option("--competitor", default=None,
              help="Also a named competitor's performance (answer codes competitor.<name>.<item>).")
def analyze_ipa(db, file, survey, include_flagged, fmt, target, competitor):
    """Importance–performance quadrants of the dimensions (derived importance).

    Example: patronage analyze ipa
    """
    from patronage.satisfaction.methods import ipa_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: ipa_table(data, target=target, competitor=competitor)), fmt)


@commands.command("reliability")
@_analysis_options
def analyze_reliability(db, file, survey, include_flagged, fmt):
    """Cronbach's alpha, composite reliability, AVE and HTMT per dimension.

    Example: patronage analyze reliability
    """
    from patronage.satisfaction.methods import reliability_table

    emit(guard(lambda: reliability_table(_survey_data(db, file, survey, include_flagged))), fmt)


@commands.command("trend")
@_analysis_options
@click.option("--item", default="nps", show_default=True, help="nps, or any rating item.")
def analyze_trend(db, file, survey, include_flagged, fmt, item):
    """The score per wave and the significance of each change (Holm-adjusted).

    Example: patronage analyze trend --item overall_satisfaction
    """
    from patronage.satisfaction.methods import trend_table

    emit(guard(lambda: trend_table(_survey_data(db, file, survey, include_flagged), item=item)),
          fmt)


@commands.command("pls")
@_analysis_options
@click.option("--show", type=click.Choice(["paths", "loadings", "scores"]), default="paths",
              show_default=True, help="Path coefficients, outer loadings, or R² and 0–100 indices.")
@click.option("--bootstrap", default=200, show_default=True, type=click.IntRange(min=0),
              help=BOOTSTRAP_HELP)
@click.option("--model", "model_file", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Your own model: a YAML file of constructs (indicators, mode A/B), paths, "
                   "scheme and missing-data treatment (see the README).")
@engine_options
def analyze_pls(db, file, survey, include_flagged, fmt, show, bootstrap, model_file,
                engine_name, source):
    """PLS path model: by default the ACSI-style model of the index system (dimensions →
    satisfaction → loyalty), or the model of --model.

    Example: patronage analyze pls --file corp_rep.csv --model corp_rep.yaml --missing -99 ;
    on exported files (Poisson-bootstrap intervals computed by the engine): patronage analyze
    pls --engine duckdb --source parquet:export
    """
    from patronage.satisfaction.methods import pls_table
    from patronage.satisfaction.path_models import read_path_model

    model = guard(lambda: read_path_model(model_file)) if model_file else None
    if _in_sql(engine_name, file, source, bootstrap):
        from patronage.engines import survey_models

        emit(_engine_table(survey_models.pls_table, file, engine_name, source, db,
                           survey=survey, include_flagged=include_flagged, show=show,
                           model=model, n_boot=bootstrap), fmt)
        return
    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: pls_table(data, show=show, n_boot=bootstrap, model=model)), fmt)


@commands.command("compare")
@_analysis_options
@click.option("--item", default="overall_satisfaction", show_default=True)
@click.option("--by", default="region", show_default=True, help=BY_ONE_HELP)
def analyze_compare(db, file, survey, include_flagged, fmt, item, by):
    """Compare a rating across segments: Welch t or ANOVA, rank test and effect size.

    Example: patronage analyze compare --item overall_satisfaction --by size
    """
    from patronage.satisfaction.methods import compare_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: compare_table(data, item=item, by=by)), fmt)


@commands.command("crosstab")
@_analysis_options
@click.option("--rows", default="region", show_default=True,
              help="A grouping column (see --by of nps: mode is the survey mode, "
                   "sales_channel the customer's sales channel) or an item.")
@click.option("--columns", default="nps_group", show_default=True,
              help="An item, a grouping column (mode, sales_channel, region ...) or nps_group "
                   "(promoter/passive/detractor).")
def analyze_crosstab(db, file, survey, include_flagged, fmt, rows, columns):
    """Crosstab with row percentages, chi-square test and Cramér's V.

    Example: patronage analyze crosstab --rows industry --columns nps_group
    """
    from patronage.satisfaction.methods import crosstab_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: crosstab_table(data, rows=rows, columns=columns)), fmt)


@commands.command("servqual")
@_analysis_options
@click.option("--management-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Managers' answers to the same items (CSV/XLSX): show gap 1.")
def analyze_servqual(db, file, survey, include_flagged, fmt, management_file):
    """SERVQUAL gaps (perception − expectation) per dimension and item, or gap 1 against a
    management survey of the same items.

    Example: patronage analyze servqual --survey servqual22 --management-file managers.csv
    """
    from patronage.satisfaction import survey_data_from_csv
    from patronage.satisfaction.methods import servqual_gap1_table, servqual_table

    data = _survey_data(db, file, survey, include_flagged)
    if management_file is None:
        emit(guard(lambda: servqual_table(data)), fmt)
        return
    managers = guard(lambda: survey_data_from_csv(management_file))
    emit(guard(lambda: servqual_gap1_table(data, managers)), fmt)


@commands.command("ces")
@_analysis_options
@click.option("--item", default="ces", show_default=True, help="The effort item.")
@click.option("--by", default="wave", show_default=True, help=BY_HELP)
def analyze_ces(db, file, survey, include_flagged, fmt, item, by):
    """Customer effort score: mean effort (1–7) with its interval and the share finding it easy.

    Example: patronage analyze ces --survey ces --by mode
    """
    from patronage.satisfaction.methods import ces_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: ces_table(data, item=item, by=_by(by))), fmt)


@commands.command("weights")
@db_option
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--margins", "margins_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV with variable, category, share (population margins).")
@click.option("--apply", "apply_", is_flag=True, help="Store the weights (else only show them).")
@format_option
def analyze_weights(db, survey, margins_file, apply_, fmt):
    """Rake the survey's weights to known population margins (region, size, tier, wave ...).

    Example: patronage analyze weights --margins population.csv --apply
    """
    from patronage.satisfaction.weights import apply_weights, raked_weights, read_margins

    settings = settings_for(db)
    require_current_schema(settings)
    margins = guard(lambda: read_margins(margins_file))
    table = guard(lambda: raked_weights(engine_for(settings), survey, margins))
    emit(table, fmt)
    click.echo(f"design effect {table.attrs['design_effect']:.3f}; weights from "
               f"{table.attrs['min']:.3f} to {table.attrs['max']:.3f}", err=True)
    if apply_:
        stored = apply_weights(engine_for(settings), table["new"])
        click.echo(f"Stored the weights of {stored} responses.", err=True)


@commands.command("representativeness")
@db_option
@click.option("--survey", default=None, help="Survey code (default: the one with most responses).")
@click.option("--include-flagged", is_flag=True, help="Keep responses flagged by cleaning.")
@format_option
def analyze_representativeness(db, survey, include_flagged, fmt):
    """Respondents against the customer base by industry, region and size, and NPS/CSI
    unweighted, with the stored weights and raked to the customer base (Kish design effect).

    Example: patronage analyze representativeness --survey relationship
    """
    from patronage.satisfaction.weights import (composition_table, customer_base_margins,
                                            weighting_effect)

    data = _survey_data(db, None, survey, include_flagged)
    margins = customer_base_margins(engine_for(settings_for(db)))
    emit(guard(lambda: composition_table(data, margins)), fmt)
    emit(guard(lambda: weighting_effect(data, margins)), fmt)


@commands.command("nps-diff")
@_analysis_options
@click.option("--by", default="wave", show_default=True, help=BY_ONE_HELP)
@click.argument("group_a")
@click.argument("group_b")
def analyze_nps_diff(db, file, survey, include_flagged, fmt, by, group_a, group_b):
    """Difference of NPS between two groups or waves, with its interval and test.

    Example: patronage analyze nps-diff --by wave 2026-Q1 2026-Q2
    """
    from patronage.satisfaction.methods import nps_difference_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: nps_difference_table(data, by=by, a=group_a, b=group_b)), fmt)


@commands.command("competitor")
@_analysis_options
@click.option("--name", "competitor", required=True,
              help="Competitor as named in the answer codes competitor.<name>.<item>.")
def analyze_competitor(db, file, survey, include_flagged, fmt, competitor):
    """Our ratings against a named competitor's, item by item, with paired tests.

    Example: patronage analyze competitor --name hengtai
    """
    from patronage.satisfaction.methods import competitor_table

    data = _survey_data(db, file, survey, include_flagged)
    emit(guard(lambda: competitor_table(data, competitor=competitor)), fmt)


@commands.command("cdv")
@_analysis_options
@click.option("--by", default="none", show_default=True, help=BY_HELP)
@click.option("--competitor", default=None,
              help="Compare with a competitor's delivered value (answer codes "
                   "competitor.<name>.cdv_…); 'any' takes the first one rated.")
def analyze_cdv(db, file, survey, include_flagged, fmt, by, competitor):
    """Customer delivered value: total value (product, service, personnel, image) minus total
    cost (money, time, energy, psychic), per segment or against a competitor.

    Example: patronage analyze cdv --survey cdv-2026 --by region
    """
    from patronage.satisfaction.value import cdv_competitor, cdv_table

    data = _survey_data(db, file, survey, include_flagged)
    if competitor:
        name = None if competitor == "any" else competitor
        rated, table = guard(lambda: cdv_competitor(data, name))
        table.attrs["notes"] = [f"against competitor {rated} (the same respondents, paired t test)"]
        emit(table, fmt)
        return
    emit(guard(lambda: cdv_table(data, by=_by(by))), fmt)


@commands.command("chain")
@db_option
@format_option
@click.option("--by", "unit", type=click.Choice(["site", "team"]), default="site",
              show_default=True, help="The unit employees and customers are matched by.")
@click.option("--show", type=click.Choice(["units", "correlations", "paths"]), default="units",
              show_default=True, help="Unit figures, their correlations, or the path model.")
@click.option("--survey", default=None, help="The employee survey (default: the one with most "
                                             "answers to the employee template).")
@click.option("--customer-survey", default=None,
              help="The customer survey for CSI and NPS (default: the one with most NPS answers).")
@click.option("--wave", default=None, help="One wave of the employee survey (default: all).")
@click.option("--site", default=None, help="Only employees of this site.")
@click.option("--team", default=None, help="Only employees of this team.")
def analyze_chain(db, fmt, unit, show, survey, customer_survey, wave, site, team):
    """The service-profit chain: anonymous employee results per site or team beside the
    customers' (CSI, NPS, complaints, retention, revenue), their correlation across units and
    the chain as a PLS path model; groups under PATRONAGE_EMPLOYEE_MIN_GROUP are never shown.

    Example: patronage analyze chain --by team --show correlations
    """
    from patronage.chain.report import chain_output, chain_report

    settings = settings_for(db)
    require_current_schema(settings)
    report = guard(lambda: chain_report(
        engine_for(settings), unit=unit, minimum=settings.employee_min_group,
        employee_survey=survey, customer_survey=customer_survey, wave=wave, site=site,
        team=team))
    emit(chain_output(report, show), fmt)
