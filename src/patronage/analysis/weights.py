"""Survey weights for stored responses: raking to known population margins (SPEC §2).

The margins come from a CSV file with the columns ``variable, category, share`` (or counts),
where ``variable`` is a respondent segment (region, industry, size, channel, tier) or the wave.
Raked weights multiply the responses' design weights and, once applied, every analysis uses
them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, bindparam, update

from patronage.analysis.sources import survey_data_from_db
from patronage.analytics import rake
from patronage.storage import read_responses, write_transaction
from patronage.storage.schema import responses


def read_margins(path: str | Path) -> dict[str, pd.Series]:
    """Population margins from a CSV file (``variable, category, share``)."""
    path = Path(path)
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype={"variable": str, "category": str})
    missing = [c for c in ("variable", "category", "share") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path.name}: needs the columns variable, category, share; "
                         f"missing {missing}")
    bad = frame.index[pd.to_numeric(frame["share"], errors="coerce").isna()].tolist()
    if bad:
        raise ValueError(f"{path.name}, line {bad[0] + 2}, column share: "
                         f"{frame.loc[bad[0], 'share']!r} is not a number")
    frame["share"] = frame["share"].astype(float)
    return {v: g.set_index("category")["share"] for v, g in frame.groupby("variable", sort=False)}


def raked_weights(engine: Engine, survey: str | None, margins: dict[str, pd.Series]) -> pd.DataFrame:
    """Raked weights of the survey's responses (flagged ones included, so the weights stay
    valid whichever responses an analysis keeps): ``response_id, segment columns, old, new``.

    The summary in ``attrs``: Kish's design effect of the new weights and their range.
    """
    data = survey_data_from_db(engine, survey, include_flagged=True)
    sample = pd.DataFrame(index=data.meta.index)
    for variable in margins:
        sample[variable] = data.groups(variable).astype(str)
    unknown = sample.columns[sample.isin(["nan", "None"]).any()].tolist()
    if unknown:
        raise ValueError(f"some responses have no {unknown[0]!r} (anonymous or unknown customers);"
                         " rake on variables every respondent has, such as wave")
    base = data.weights.to_numpy()
    new = rake(sample, margins, weights=base)
    out = sample.assign(old=base, new=new.to_numpy())
    w = out["new"].to_numpy()
    out.attrs.update({"design_effect": float(len(w) * np.sum(w**2) / np.sum(w) ** 2),
                      "min": float(w.min()), "max": float(w.max())})
    return out


def apply_weights(engine: Engine, weights: pd.Series) -> int:
    """Store ``weights`` (indexed by response id) as the responses' weights; returns the count."""
    stored = read_responses(engine).set_index("response_id")["response_pk"]
    rows = [{"pk": int(stored[rid]), "w": float(w)} for rid, w in weights.items() if rid in stored]
    if not rows:
        return 0
    statement = (update(responses).where(responses.c.id == bindparam("pk"))
                 .values(weight=bindparam("w")))
    with write_transaction(engine) as conn:
        conn.execute(statement, rows)
    return len(rows)


__all__ = ["apply_weights", "raked_weights", "read_margins"]
