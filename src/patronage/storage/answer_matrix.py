"""A survey's numeric answers as one wide matrix, read for analysis of a million responses.

:func:`patronage.storage.read_answers` gives the long rows as a DataFrame of Python objects
(fourteen million of them for a million responses of fourteen items), which a pivot then widens:
minutes. Here the item codes are numbered in SQL, the rows come through the DBAPI cursor in
chunks of plain numbers and numpy places each value in its cell: the same table, in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, case, select

from patronage.storage.schema import answers, responses, surveys

#: Rows fetched from the cursor at a time (three numbers each).
_CHUNK = 500_000


def _survey_answers(survey_code: str):
    a = answers.c
    return (select(a.response_id).join(responses, responses.c.id == a.response_id)
            .join(surveys, surveys.c.id == responses.c.survey_id)
            .where(surveys.c.code == survey_code))


def read_answer_matrix(engine: Engine, survey_code: str, response_pks) -> pd.DataFrame:
    """The numeric answers of ``survey_code`` to the responses ``response_pks`` (in that
    order): one row per response, one column per item code with a numeric answer (sorted, as
    a pivot of :func:`~patronage.storage.read_answers` gives them), NaN where unanswered; the
    index is the response keys."""
    a = answers.c
    pks = np.asarray(response_pks, dtype=np.int64)
    base = _survey_answers(survey_code).where(a.value_num.is_not(None))
    with engine.connect() as conn:
        codes = sorted(row[0] for row in conn.execute(
            base.with_only_columns(a.item_code).distinct()))
        if not codes or not len(pks):
            return pd.DataFrame(index=pd.Index(pks), columns=codes, dtype=float)
        number = case({code: i for i, code in enumerate(codes)}, value=a.item_code)
        query = base.with_only_columns(a.response_id, number, a.value_num)
        cursor = conn.execute(query.execution_options(yield_per=_CHUNK))
        parts = [np.array([tuple(row) for row in chunk], dtype=float).reshape(-1, 3)
                 for chunk in cursor.partitions(_CHUNK)]
    rows = np.concatenate(parts) if parts else np.empty((0, 3))
    position = np.full(int(max(pks.max(), rows[:, 0].max(initial=0))) + 1, -1, dtype=np.int64)
    position[pks] = np.arange(len(pks))
    at = position[rows[:, 0].astype(np.int64)]
    kept = at >= 0  # answers of responses not asked for (flagged, say)
    columns = rows[kept, 1].astype(np.int64)
    matrix = np.full((len(pks), len(codes)), np.nan)
    matrix[at[kept], columns] = rows[kept, 2]
    answered = np.bincount(columns, minlength=len(codes)) > 0  # by these responses
    return pd.DataFrame(matrix[:, answered], index=pd.Index(pks),
                        columns=pd.Index([c for c, a in zip(codes, answered) if a]))


def read_answer_texts(engine: Engine, survey_code: str, item_code: str) -> pd.DataFrame:
    """The answers of ``survey_code`` to ``item_code`` with their text: ``response_pk,
    value_text`` by response key."""
    a = answers.c
    query = (_survey_answers(survey_code).with_only_columns(a.response_id.label("response_pk"),
                                                            a.value_text)
             .where(a.item_code == item_code).order_by(a.response_id))
    with engine.connect() as conn:
        return pd.DataFrame([tuple(row) for row in conn.execute(query)],
                            columns=["response_pk", "value_text"])


__all__ = ["read_answer_matrix", "read_answer_texts"]
