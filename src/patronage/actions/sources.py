"""What a new action starts from when it is opened from an analysis: a title in the reader's
language and the metric it should move, from an IPA "concentrate here" dimension, a key driver,
a Kano must-be attribute, a complaint category or a comment theme (see the "Plan an action"
links of the Analysis, complaints and comments pages)."""

from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import Engine, func, select

from patronage.index_system import load_index_system
from patronage.messages import N_
from patronage.storage.schema import responses, surveys
from patronage.storage.schema_actions import ACTION_SOURCES
from patronage.storage.schema_standards import service_standards
from patronage.storage.schema_cases import case_categories

IMPROVE = N_("Improve {name}")
REDUCE = N_("Reduce complaints about {name}")
COLUMN = {"en": "name_en", "zh_Hans": "name_zh_hans", "zh_Hant": "name_zh_hant"}


def new_action_link(source: str, ref: str, survey: str | None = None,
                    segment: str | None = None) -> str:
    """The address of the new-action form opened from ``source`` (``ipa``, ``driver`` ...)
    about ``ref`` (a dimension, attribute, category or theme)."""
    pairs = [("source", source), ("ref", ref)]
    pairs += [("survey", survey)] if survey else []
    pairs += [("segment", segment)] if segment else []
    return "/actions/new?" + urlencode(pairs)


def prefill(engine: Engine, source: str, ref: str, *, language: str = "en",
            gettext=lambda s: s) -> dict:
    """``{"source", "source_ref", "title", "metric", "about"}`` for a new action from
    ``source``/``ref``; an unknown source gives a manual action."""
    ref = str(ref or "").strip()[:200]
    if source not in ACTION_SOURCES or source == "manual" or not ref:
        return {"source": "manual", "source_ref": "", "title": "", "metric": "csi", "about": ""}
    system = load_index_system()
    name, metric, words = ref, "csi", IMPROVE
    if source in ("ipa", "driver"):
        if ref in set(system.dimensions["dimension"]):
            name, metric = system.label("dimension", ref, language), f"dimension:{ref}"
        elif ref in set(system.items["item_code"]):
            name, metric = system.label("item", ref, language), f"item:{ref}"
    elif source == "kano":
        name = system.label("kano", ref, language)
    elif source == "complaint":
        with engine.connect() as conn:
            found = conn.execute(select(case_categories.c[COLUMN.get(language, "name_en")])
                                 .where(case_categories.c.code == ref)).scalar()
        name, words = found or ref, REDUCE
    elif source == "theme":
        metric = "nps"
    return {"source": source, "source_ref": ref, "title": gettext(words).format(name=name),
            "metric": metric, "about": name}


def form_choices(engine: Engine, language: str = "en") -> dict:
    """The new-action form's choices: the surveys with responses (most answered first) and the
    metrics (NPS, CSI, the index system's dimensions and items, labelled; the active service
    standards by name)."""
    system = load_index_system()
    with engine.connect() as conn:
        rows = conn.execute(
            select(surveys.c.code, surveys.c.title, func.count(responses.c.id))
            .join(responses, responses.c.survey_id == surveys.c.id)
            .group_by(surveys.c.code, surveys.c.title)
            .order_by(func.count(responses.c.id).desc(), surveys.c.code)).all()
        standards = conn.execute(select(service_standards.c.id, service_standards.c.name)
                                 .where(service_standards.c.active)
                                 .order_by(service_standards.c.code)).all()
    return {"surveys": [{"code": code, "title": title, "n": n} for code, title, n in rows],
            "dimensions": [(f"dimension:{d}", system.label("dimension", d, language))
                           for d in system.dimensions["dimension"]],
            "items": [(f"item:{i}", system.label("item", i, language))
                      for i in system.items["item_code"] if i != system.nps_item],
            "standards": [(f"standard:{number}", name) for number, name in standards]}


__all__ = ["form_choices", "new_action_link", "prefill"]
