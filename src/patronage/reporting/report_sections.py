"""The sections of the whole report (:mod:`patronage.reporting.report_build`): each builder
fills one :class:`Section` from the library's computations, labels in the reader's language."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from patronage.index_system import load_index_system
from patronage.messages import N_, UserError, translated
from patronage.reporting.formats import wave_label
from patronage.reporting.report_model import Bars, Column, Kpi, Section, Table, finite
from patronage.satisfaction.indices import csi_table, nps_table
from patronage.satisfaction.sources import survey_data_from_db

TOP = 5
LATEST_COMMENTS = 15


def survey_frames(engine: Engine, survey: str | None, wave: str | None, filters=None) -> dict:
    """The survey's responses up to ``wave`` (those the dashboard's ``filters`` keep) and the
    per-wave NPS/CSI table they give."""
    data = survey_data_from_db(engine, survey)
    if filters is not None:
        data = filters.apply(data)
        if data.meta.empty and filters.active:
            raise UserError(N_("No response matches these filters. Remove a filter or clear "
                               "them all."))
    if data.meta.empty:
        raise UserError(N_("The survey has no responses to report on yet."))
    if survey is None and "survey" in data.meta.columns:
        survey = str(data.meta["survey"].iloc[0])
    order = data.waves_in_order()
    if wave is not None:
        if wave not in order:
            raise UserError(N_("The survey has no wave {wave!r}; its waves are: {waves}."),
                            wave=wave, waves=", ".join(order) or "–")
        order = order[:order.index(wave) + 1]
        keep = data.meta["wave"].isin(order)
        data = replace(data, meta=data.meta.loc[keep], answers=data.answers.loc[keep],
                       comments=data.comments.loc[data.comments.index.isin(
                           data.meta.index[keep])])
    elif order:
        wave = order[-1]
    waves = pd.DataFrame({"wave": order})
    if "nps" in data.answers.columns:
        nps = nps_table(data, by="wave").reset_index()
        waves = waves.merge(nps[["wave", "n", "nps", "ci_low", "ci_high"]], on="wave", how="left")
    counts = data.meta.groupby("wave").size()
    waves["n"] = waves["wave"].map(counts)
    try:
        csi = csi_table(data, by="wave", index_system=load_index_system())
        waves = waves.merge(csi[["csi"]].reset_index(), on="wave", how="left")
    except ValueError:
        csi = None
    return {"survey": survey, "wave": wave, "data": data, "waves": waves, "csi": csi,
            "filters": filters}


def report_scope(engine: Engine, frames: dict) -> tuple[frozenset | None, list[str]]:
    """The customers (external ids) the report's segment filters keep (None: every customer)
    and the keys of its other chosen filters (wave, dates, touchpoint: they choose responses),
    for the sections about customers and cases."""
    from patronage.reporting.filters import customer_filters
    from patronage.reporting.loyalty import chosen_customers

    filters = frames.get("filters")
    if filters is None or not filters.active:
        return None, []
    taken, dropped = customer_filters(filters)
    return chosen_customers(engine, taken)[0], dropped


def scope_note(frames: dict, dropped: list[str], gettext, *, touchpoint: bool = False,
               language: str = "en") -> str | None:
    """What a customer section of a filtered report counts: the customers of the segment
    filters, and which chosen filters it cannot take (``touchpoint``: the section takes the
    touchpoint filter, as the cases' own touchpoint)."""
    from patronage.reporting.filters import NAMES

    filters = frames.get("filters")
    if filters is None or not filters.active:
        return None
    skipped = [k for k in dropped if not (touchpoint and k == "touchpoint")]
    lines = [gettext(N_("This section counts the customers the region, industry, size, tier "
                        "and channel filters keep."))]
    if touchpoint and filters.touchpoint is not None:
        lines.append(gettext(N_("The touchpoint filter keeps the cases about that touchpoint.")))
    if skipped:
        separator = "、" if language.startswith("zh") else ", "
        lines.append(gettext(N_("It cannot be filtered by {filters}: they choose survey "
                                "responses.")).format(
            filters=separator.join(gettext(NAMES[k]) for k in skipped)))
    return ("" if language.startswith("zh") else " ").join(lines)


def _latest(frames: dict) -> tuple[dict, dict]:
    waves = frames["waves"]
    latest = waves.iloc[-1].to_dict() if not waves.empty else {}
    previous = waves.iloc[-2].to_dict() if len(waves) > 1 else {}
    return latest, previous


def _change(latest: dict, previous: dict, key: str):
    a, b = latest.get(key), previous.get(key)
    return float(a) - float(b) if finite(a) and finite(b) else None


def summary_section(engine: Engine, frames: dict, section: Section, *, language: str,
                    gettext) -> None:
    _ = gettext
    latest, previous = _latest(frames)
    n = int(latest.get("n") or 0)
    section.kpis.append(Kpi(_("Responses"), n, "integer", 0, None))
    if finite(latest.get("nps")):
        section.kpis.append(Kpi("NPS", latest["nps"], "signed", 1, n,
                                _change(latest, previous, "nps")))
    if finite(latest.get("csi")):
        section.kpis.append(Kpi(_("CSI (0–100)"), latest["csi"], "score", 1, n,
                                _change(latest, previous, "csi")))
    trend = frames["waves"].copy()
    trend["wave"] = [wave_label(w, gettext) for w in trend["wave"]]
    columns = [Column("wave", _("Wave")), Column("n", "n", "integer")]
    columns += [Column(k, label, kind, digits) for k, label, kind, digits in (
        ("nps", "NPS", "signed", 1), ("ci_low", _("Lower 95%"), "signed", 1),
        ("ci_high", _("Upper 95%"), "signed", 1), ("csi", _("CSI (0–100)"), "score", 1))
        if k in trend.columns]
    section.tables.append(Table(_("NPS and CSI by wave"),
                                trend[[c.key for c in columns]], columns))
    if "nps" in trend.columns and trend["nps"].notna().any():
        section.charts.append(Bars(_("NPS by wave"), trend["wave"].tolist(),
                                   trend["nps"].tolist(), "signed", 1))
    if n < 30:
        section.notes.append(_("fewer than {n} answers: read with care").format(n=30))
    for name, part in (("drivers", _drivers), ("complaints", _complaint_categories),
                       ("risk", _value_at_risk), ("programme", _liability)):
        try:
            part(engine, frames, section, gettext, language, top=3)
        except (UserError, ValueError, KeyError) as exc:
            del exc  # the section of its own says why; the summary leaves the figure out


def _drivers(engine, frames, section, gettext, language, top=TOP):
    from patronage.satisfaction.methods import drivers_table

    _ = gettext
    system = load_index_system()
    table = drivers_table(frames["data"], n_boot=200, index_system=system).sort_values(
        "share", ascending=False).head(top)
    labels = system.dimensions.set_index("dimension")
    column = f"label_{language}"
    names = [labels.at[d, column] if d in labels.index and column in labels.columns else str(d)
             for d in table.index]
    # The interval is the bootstrap's of the importance (on the R² scale), not of the share.
    frame = pd.DataFrame({"driver": names, "share": table["share"].to_numpy(),
                          "importance": table["importance"].to_numpy(),
                          "lower": table["lower"].to_numpy(), "upper": table["upper"].to_numpy()})
    columns = [Column("driver", _("Driver")), Column("share", _("Share of explained variance"),
                                                     "percent", 1),
               Column("importance", _("Importance"), "score", 3),
               Column("lower", _("Lower 95%"), "score", 3),
               Column("upper", _("Upper 95%"), "score", 3)]
    section.tables.append(Table(_("Top drivers of overall satisfaction"), frame, columns))


def _cases(engine, frames):
    """The cases of the customers the report's filters keep (and of its touchpoint, the
    case's own), with the keys of the filters they cannot take."""
    from sqlalchemy import select

    from patronage.storage.schema import cases as case_table
    from patronage.storage.schema import customers as customer_table

    k = case_table.c
    query = select(customer_table.c.external_id.label("customer_id"), k.type, k.status,
                   k.category, k.touchpoint_kind).join(customer_table,
                                                       customer_table.c.id == k.customer_id)
    with engine.connect() as conn:
        cases = pd.DataFrame(conn.execute(query).mappings().all(),
                             columns=["customer_id", "type", "status", "category",
                                      "touchpoint_kind"])
    customers, dropped = report_scope(engine, frames)
    if customers is not None:
        cases = cases[cases["customer_id"].isin(customers)]
    filters = frames.get("filters")
    if filters is not None and filters.touchpoint is not None:
        cases = cases[cases["touchpoint_kind"].eq(filters.touchpoint)]
    return cases, dropped


def _complaint_categories(engine, frames, section, gettext, language, top=TOP):
    from patronage.reporting.case_desk import category_names

    _ = gettext
    cases, _dropped = _cases(engine, frames)
    cases = cases[cases["type"] != "inquiry"]
    rows = list(cases["category"].fillna("").value_counts(sort=False).items())
    if not rows:
        raise UserError(N_("There are no cases yet."))
    names = category_names(engine, language)
    total = sum(int(c) for _k, c in rows)
    frame = pd.DataFrame([(names.get(k, k) if k else _("(no category)"), int(c), int(c) / total)
                          for k, c in rows], columns=["category", "cases", "share"])
    frame = frame.sort_values("cases", ascending=False).head(top).reset_index(drop=True)
    columns = [Column("category", _("Case category")), Column("cases", _("Cases"), "integer"),
               Column("share", _("Share"), "percent", 1)]
    section.tables.append(Table(_("Top complaint categories"), frame, columns))


def _value_at_risk(engine, frames, section, gettext, language, top=TOP):
    from patronage.loyalty.analysis import at_risk_table

    _ = gettext
    from patronage.loyalty.analysis import only

    risk = only(at_risk_table(engine), report_scope(engine, frames)[0], None)
    section.kpis.append(Kpi(_("Value at risk"), float(risk["value_at_risk"].sum()), "money", 0,
                            len(risk)))
    if top > 3:  # the loyalty section lists them
        frame = risk.head(top).reset_index()
        frame = pd.DataFrame({"name": frame["name"].astype(str),
                              "value_at_risk": frame["value_at_risk"],
                              "p_alive": frame.get("p_alive_now", frame.get("p_alive"))})
        columns = [Column("name", _("Name")), Column("value_at_risk", _("Value at risk"), "money"),
                   Column("p_alive", _("P(alive) now"), "percent", 0)]
        section.tables.append(Table(_("Customers at risk, most valuable first"), frame, columns))


def _liability(engine, frames, section, gettext, language, top=TOP):
    from patronage.members.report import programme_figures

    customers = report_scope(engine, frames)[0]
    owed = programme_figures(engine, data=_members_of(engine, customers)).liability
    section.kpis.append(Kpi(gettext("Programme liability (net)"), float(owed["net"]), "money", 0,
                            None))


def _members_of(engine, customers):
    """The programme's data of the members among ``customers`` (None: the whole programme)."""
    from dataclasses import replace as changed

    from patronage.members.report import load_data

    data = load_data(engine)
    if customers is None:
        return data
    people = data.members[data.members["customer_id"].isin(customers)]
    ids = set(people["member_id"])
    return changed(data, members=people,
                   transfers=data.transfers[data.transfers["member_id"].isin(ids)],
                   transactions=data.transactions[data.transactions["customer_id"].isin(
                       customers)],
                   tier_changes=data.tier_changes[data.tier_changes["member_id"].isin(ids)],
                   customers=data.customers[data.customers["customer_id"].isin(customers)])


def satisfaction_section(engine: Engine, frames: dict, section: Section, *, language: str,
                         gettext) -> None:
    _ = gettext
    csi = frames["csi"]
    if csi is None or csi.empty:
        section.notes.append(_("The survey has no dimension items: no CSI or dimension scores."))
    else:
        system = load_index_system()
        dims = [d for d in system.dimensions["dimension"] if d in csi.columns]
        labels = system.dimensions.set_index("dimension")[f"label_{language}"]
        latest = csi.iloc[-1]
        previous = csi.iloc[-2] if len(csi) > 1 else pd.Series(np.nan, index=csi.columns)
        frame = pd.DataFrame({"dimension": [labels.get(d, d) for d in dims],
                              "score": [latest[d] for d in dims],
                              "change": [latest[d] - previous[d] for d in dims]})
        columns = [Column("dimension", _("Dimension")), Column("score", _("Score"), "score", 1),
                   Column("change", _("Change"), "signed", 1)]
        section.tables.append(Table(_("Dimension scores"), frame, columns))
        section.charts.append(Bars(_("Dimension scores"), frame["dimension"].tolist(),
                                   frame["score"].tolist(), "score", 1))
    try:
        _drivers(engine, frames, section, gettext, language, top=10)
    except UserError as exc:
        section.notes.append(_("Key drivers: {reason}").format(reason=translated(exc, gettext)))
    except (ValueError, KeyError):
        section.notes.append(_("Key drivers need answers to the dimensions' items."))


def loyalty_section(engine: Engine, frames: dict, section: Section, *, language: str,
                    gettext) -> None:
    note = scope_note(frames, report_scope(engine, frames)[1], gettext, language=language)
    if note:
        section.notes.append(note)
    _value_at_risk(engine, frames, section, gettext, language, top=10)
    try:
        _liability(engine, frames, section, gettext, language)
    except UserError as exc:  # no programme (or no member among these customers)
        section.notes.append(translated(exc, gettext))


def cases_section(engine: Engine, frames: dict, section: Section, *, language: str,
                  gettext) -> None:
    from patronage.reporting.case_desk import STATUS_LABELS

    _ = gettext
    cases, dropped = _cases(engine, frames)
    note = scope_note(frames, dropped, gettext, touchpoint=True, language=language)
    if note:
        section.notes.append(note)
    if cases.empty:
        section.notes.append(_("There are no cases yet."))
        return
    status = cases.groupby("status").size().rename("cases").reset_index()
    status["share"] = status["cases"] / status["cases"].sum()
    status["status"] = [_(STATUS_LABELS[s]) if s in STATUS_LABELS else s
                        for s in status["status"]]
    section.kpis.append(Kpi(_("Cases"), len(cases), "integer", 0, None))
    section.tables.append(Table(_("Cases by status"), status,
                                [Column("status", _("Status")),
                                 Column("cases", _("Cases"), "integer"),
                                 Column("share", _("Share"), "percent", 1)]))
    _complaint_categories(engine, frames, section, gettext, language, top=10)


def comments_section(engine: Engine, frames: dict, section: Section, *, language: str,
                     gettext) -> None:
    from patronage.reporting.comments_page import comments_page

    _ = gettext
    filters = frames.get("filters")
    if filters is not None and filters.active:
        page = {"themes": _filtered_themes(engine, frames, section, language, gettext)}
    else:
        page = comments_page(engine, survey=frames["survey"], language=language,
                             gettext=gettext)
    if page.get("themes"):
        frame = pd.DataFrame([{"theme": t["name"], "n": t["n"], "share": t["share"],
                               "lower": t["ci_low"], "upper": t["ci_high"]}
                              for t in page["themes"]])
        section.tables.append(Table(_("Comment themes"), frame, [
            Column("theme", _("Theme")), Column("n", "n", "integer"),
            Column("share", _("Share"), "percent", 1),
            Column("lower", _("Lower 95%"), "percent", 1),
            Column("upper", _("Upper 95%"), "percent", 1)]))
    data = frames["data"]
    texts = data.comments.dropna().astype(str)
    texts = texts[texts.str.strip() != ""]
    if texts.empty:
        section.notes.append(_("No comments yet."))
        return
    meta = data.meta.loc[texts.index]
    frame = pd.DataFrame({"wave": [wave_label(w, gettext) for w in meta["wave"]],
                          "nps": data.answers["nps"].reindex(texts.index).to_numpy()
                          if "nps" in data.answers else np.nan,
                          "comment": texts.to_numpy(), "_at": meta.get("submitted_at")})
    frame = frame.sort_values("_at", ascending=False).drop(columns="_at").head(LATEST_COMMENTS)
    section.tables.append(Table(_("Latest comments"), frame.reset_index(drop=True), [
        Column("wave", _("Wave")), Column("nps", "NPS", "integer"),
        Column("comment", _("Comment"))]))


def _filtered_themes(engine, frames, section, language, gettext) -> list[dict]:
    """The themes of the comments of the responses a filtered report keeps (found on those
    comments), named as the comments page names them; none, with the reason in a note, when
    they cannot be found."""
    from patronage.reporting.comments_page import theme_name
    from patronage.satisfaction.comments import analyse_survey_comments

    try:
        result = analyse_survey_comments(engine, frames["survey"],
                                          responses=frozenset(frames["data"].meta.index))
    except (UserError, ValueError) as exc:
        section.notes.append(gettext(N_("Comment themes: {reason}")).format(
            reason=translated(exc, gettext)))
        return []
    section.notes.append(gettext(N_("The comment themes are found in the comments of the "
                                    "responses the filters keep.")))
    return [{"name": theme_name(row.keywords, language) if row.theme == "/".join(row.keywords)
             else row.theme, "n": int(row.n), "share": row.share, "ci_low": row.ci_low,
             "ci_high": row.ci_high} for row in result.themes.itertuples()]
