"""Cleaning stored responses: flag duplicates, incomplete, out-of-range, straight-lining and
speeders with reasons (see :mod:`patronage.surveys.cleaning`), keeping every raw response.

Analyses leave flagged responses out by default (``--include-flagged`` keeps them). Flags set at
submission (honeypot, speeder) are kept; re-running the cleaning is idempotent.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, bindparam, update

from patronage.storage import read_answers, read_responses, write_transaction
from patronage.storage.schema import responses as responses_table
from patronage.surveys.cleaning import cleaning_summary, flag_responses
from patronage.surveys.definition import Questionnaire
from patronage.surveys.program import get_survey

#: Flags set at submission, kept when the cleaning is re-run.
_SUBMISSION_FLAGS = ("honeypot", "speeder")
#: Item types whose answers lie on a numeric scale, with that scale when it is fixed.
_FIXED_SCALES = {"nps": (0, 10), "kano": (1, 5)}


def definition_items(q: Questionnaire) -> pd.DataFrame:
    """The scaled answer codes of ``q``: ``item_code, scale_min, scale_max, required, grid``
    (the grid is the section, for straight-lining)."""
    rows = []
    for section in q.sections:
        for item in section.items:
            scale = _FIXED_SCALES.get(item.type, item.scale)
            if scale is None:
                continue
            for code in item.answer_codes():
                rows.append({"item_code": code, "scale_min": float(scale[0]),
                             "scale_max": float(scale[1]), "required": bool(item.required),
                             "grid": section.code})
    return pd.DataFrame(rows, columns=["item_code", "scale_min", "scale_max", "required", "grid"])


def clean_survey(engine: Engine, code: str, **options) -> pd.Series:
    """Flag the responses of survey ``code`` and store the flags; returns counts per flag.

    ``options`` go to :func:`patronage.surveys.cleaning.flag_responses` (``speeder_fraction``,
    ``min_grid_items``, ``long_grid_items``, ``extremes_need_signal``, ``min_completion``).
    Straight-lining on a short grid, or at an end of the scale, is flagged only when the
    response is also a speeder or filled the honeypot, at submission or by this cleaning.
    """
    survey = get_survey(engine, code)
    stored = read_responses(engine, survey_code=code)
    if stored.empty:
        raise ValueError(f"survey {code!r} has no responses to clean yet")
    long = read_answers(engine, survey_code=code)
    key = stored.set_index("response_pk")["response_id"]
    numeric = long.dropna(subset=["value_num"]).assign(response_id=lambda f: f["response_pk"].map(key))
    wide = numeric.pivot(index="response_id", columns="item_code", values="value_num")
    wide = wide.reindex(stored["response_id"])
    # The flags set at submission (honeypot, speeder) count as the second signal that short-grid
    # straight-lining needs; flags of earlier cleaning runs do not.
    frame = stored[["response_id", "customer_id", "survey", "wave", "started_at",
                    "submitted_at"]].copy()
    frame["quality_flags"] = [{k: v for k, v in dict(b or {}).items() if k in _SUBMISSION_FLAGS}
                              for b in stored["quality_flags"]]
    flags = flag_responses(frame, wide, definition_items=definition_items(survey.questionnaire),
                           **options)
    kept = set(_SUBMISSION_FLAGS)
    updates = []
    for pk, response_id, before in zip(stored["response_pk"], stored["response_id"],
                                       stored["quality_flags"]):
        before = dict(before or {})
        merged = {k: v for k, v in before.items() if k in kept}
        merged.update(flags.get(response_id, {}) or {})
        if merged != before:
            updates.append({"pk": int(pk), "flags": merged})
    if updates:
        statement = (update(responses_table).where(responses_table.c.id == bindparam("pk"))
                     .values(quality_flags=bindparam("flags")))
        with write_transaction(engine) as conn:
            conn.execute(statement, updates)
    final = {rid: ({**{k: v for k, v in dict(b or {}).items() if k in kept},
                    **(flags.get(rid, {}) or {})})
             for rid, b in zip(stored["response_id"], stored["quality_flags"])}
    return cleaning_summary(pd.Series(final))


__all__ = ["clean_survey", "definition_items"]
