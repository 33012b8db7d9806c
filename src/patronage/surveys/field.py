"""Field statistics of a survey: who was invited, who answered, how the mail went.

The response rate is completed invitations over invitations, AAPOR's RR1 with every invited
customer counted as eligible (AAPOR, *Standard Definitions*, 10th ed., 2023: RR1 = I / (I + P +
R + NC + O + UH + UO); unanswered invitations are non-contacts or refusals). Responses through
an open link have no invitation: they count in ``responses`` and the funnel, not in the rate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from patronage.storage.schema import drafts, invitations, responses, surveys, waves


def _frame(conn, query) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame([tuple(r) for r in result.fetchall()], columns=list(result.keys()))


def _rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    num = numerator.astype(float)
    den = denominator.astype(float)
    return (num / den.where(den > 0)).astype(float)


def _flagged(flags) -> bool:
    return isinstance(flags, dict) and bool(flags)


def field_stats(engine: Engine, code: str, wave: str | None = None, *,
                now: datetime | None = None) -> dict[str, pd.DataFrame]:
    """Field statistics of survey ``code`` (one wave, or all).

    Returns DataFrames:

    * ``by_stratum``: ``stratum, invited, responded, response_rate, design_weight`` (mean
      design weight of the stratum's invitations);
    * ``by_wave``: ``wave, starts_on, invited, responded, response_rate, responses`` (all
      responses, open-link ones included);
    * ``funnel``: ``stage, count`` for invited, mail_sent, started (drafts plus responses),
      completed (responses) and flagged (responses with a quality flag);
    * ``live_count``: ``window, responses`` for the last hour and the last day before ``now``.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    i, r, w = invitations.c, responses.c, waves.c
    with engine.connect() as conn:
        survey_id = conn.execute(select(surveys.c.id).where(surveys.c.code == code)).scalar()
        if survey_id is None:
            raise ValueError(f"there is no survey {code!r}")
        wave_frame = _frame(conn, select(w.id.label("wave_id"), w.name.label("wave"), w.starts_on)
                            .where(w.survey_id == survey_id).order_by(w.starts_on, w.id))
        wave_id = None
        if wave is not None:
            match = wave_frame.loc[wave_frame["wave"] == wave, "wave_id"]
            if match.empty:
                raise ValueError(f"survey {code!r} has no wave {wave!r}; its waves: "
                                 f"{wave_frame['wave'].tolist()}")
            wave_id = int(match.iloc[0])
        inv_query = select(i.id, i.wave_id, i.stratum, i.design_weight, i.sent_at,
                           i.responded_at).where(i.survey_id == survey_id)
        resp_query = select(r.id, r.wave_id, r.invitation_id, r.submitted_at,
                            r.quality_flags).where(r.survey_id == survey_id)
        draft_query = (select(func.count()).select_from(drafts)
                       .outerjoin(invitations, invitations.c.id == drafts.c.invitation_id)
                       .where(drafts.c.survey_id == survey_id))
        if wave_id is not None:
            inv_query = inv_query.where(i.wave_id == wave_id)
            resp_query = resp_query.where(r.wave_id == wave_id)
            draft_query = draft_query.where(i.wave_id == wave_id)
        inv = _frame(conn, inv_query)
        resp = _frame(conn, resp_query)
        n_drafts = int(conn.execute(draft_query).scalar_one())

    inv["responded"] = inv["responded_at"].notna()
    inv["stratum"] = inv["stratum"].fillna("(none)")
    grouped = inv.groupby("stratum", sort=True)
    by_stratum = pd.DataFrame({
        "invited": grouped.size(),
        "responded": grouped["responded"].sum().astype(int),
        "design_weight": grouped["design_weight"].mean().astype(float),
    }).reset_index() if len(inv) else pd.DataFrame(
        {"stratum": pd.Series(dtype=object), "invited": pd.Series(dtype=int),
         "responded": pd.Series(dtype=int), "design_weight": pd.Series(dtype=float)})
    by_stratum.insert(3, "response_rate", _rate(by_stratum["responded"], by_stratum["invited"]))

    waves_shown = wave_frame if wave_id is None else wave_frame[wave_frame["wave_id"] == wave_id]
    invited = inv.groupby("wave_id").size()
    responded = inv.groupby("wave_id")["responded"].sum()
    answered = resp.groupby("wave_id").size()
    ids = waves_shown["wave_id"]
    by_wave = pd.DataFrame({
        "wave": waves_shown["wave"].to_numpy(),
        "starts_on": waves_shown["starts_on"].to_numpy(),
        "invited": invited.reindex(ids).fillna(0).astype(int).to_numpy(),
        "responded": responded.reindex(ids).fillna(0).astype(int).to_numpy(),
        "responses": answered.reindex(ids).fillna(0).astype(int).to_numpy(),
    })
    by_wave.insert(4, "response_rate", _rate(by_wave["responded"], by_wave["invited"]))

    flagged = int(resp["quality_flags"].map(_flagged).sum()) if len(resp) else 0
    funnel = pd.DataFrame({
        "stage": ["invited", "mail_sent", "started", "completed", "flagged"],
        "count": [len(inv), int(inv["sent_at"].notna().sum()), n_drafts + len(resp), len(resp),
                  flagged],
    })
    submitted = pd.to_datetime(resp["submitted_at"]) if len(resp) else pd.Series(
        dtype="datetime64[ns]")
    live = [int(np.sum((submitted > now - span) & (submitted <= now)))
            for span in (timedelta(hours=1), timedelta(days=1))]
    live_count = pd.DataFrame({"window": ["last_hour", "last_day"], "responses": live})
    return {"by_stratum": by_stratum, "by_wave": by_wave, "funnel": funnel,
            "live_count": live_count}


def field_summary(engine: Engine, code: str, wave: str | None = None, *,
                  now: datetime | None = None) -> dict:
    """:func:`field_stats` as plain JSON values, for the live field dashboard:
    ``funnel`` and ``live`` map a stage or window to its count; ``by_wave`` and ``by_stratum``
    are lists of rows (a missing response rate is None)."""
    stats = field_stats(engine, code, wave, now=now)

    def rows(frame: pd.DataFrame) -> list[dict]:
        out = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
                for r in out]

    return {"funnel": dict(zip(stats["funnel"]["stage"], map(int, stats["funnel"]["count"]),
                               strict=True)),
            "live": dict(zip(stats["live_count"]["window"],
                             map(int, stats["live_count"]["responses"]), strict=True)),
            "by_wave": rows(stats["by_wave"]), "by_stratum": rows(stats["by_stratum"])}


__all__ = ["field_stats", "field_summary"]
