"""Importing survey responses from a wide file: one row per response, one column per item.

Known columns (response id, survey, wave, customer, channel, language, started/submitted time,
weight, touchpoint) describe the response; every other column is an item code (``nps``,
``q_product_quality``, ``comment``). Numeric cells become ``answers.value_num``; text is allowed
only in the item ``comment`` and in columns ending with ``.text`` (``answers.value_text``); a
blank cell is no answer. A survey code not in the database is created (status ``closed``, title =
code, definition ``{"source": "import", "items": [...]}``); so is an unknown wave, starting on the
earliest submission date of its rows. Re-importing upserts on the response id and replaces the
response's answers; a response counts as updated when a field or any answer changed.

The optional touchpoint column tags each response with the touchpoint it is about, by the id
the touchpoint was imported under (``patronage import touchpoints``); without the column the
responses' stored tags are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from patronage.messages import N_, Message
from patronage.storage.importing import bulk
from patronage.storage.importing.checks import Fields, customer_keys
from patronage.storage.importing.parsing import parse_code, parse_number, parse_text
from patronage.storage.importing.report import shorten
from patronage.storage.schema import (
    RESPONSE_CHANNELS, answers, responses, surveys, touchpoints, waves,
)

TABLE = "responses"
#: The longest text answer (a comment) an import takes; the survey form allows 2000 by default.
MAX_TEXT_ANSWER = 10_000
KINDS = {"survey_id": "int", "wave_id": "optint", "customer_id": "optint", "started_at": "datetime",
         "submitted_at": "datetime", "weight": "float", "response_id": "int",
         "value_num": "float", "touchpoint_id": "optint"}
_LANGUAGES = {"en": "en", "english": "en", "英文": "en", "英语": "en", "英語": "en",
              "zh": "zh_Hans", "zhhans": "zh_Hans", "zhcn": "zh_Hans", "zhsg": "zh_Hans",
              "简体中文": "zh_Hans", "简体": "zh_Hans", "zhhant": "zh_Hant", "zhtw": "zh_Hant",
              "zhhk": "zh_Hant", "zhmo": "zh_Hant", "繁體中文": "zh_Hant", "繁體": "zh_Hant"}
LONG_ITEM_CODE = Message(N_("item code too long; at most 100 characters"))
NOT_A_NUMBER_OR_TEXT = Message(N_(
    "not a number; use digits with a dot for decimals, e.g. 1234.50; only the item 'comment' "
    "and columns ending in '.text' may hold text"))
_FIELDS = ("survey_id", "wave_id", "customer_id", "channel", "language", "started_at",
           "submitted_at", "weight")


def is_text_item(code: str) -> bool:
    """Items that hold text: ``comment`` and any code ending with ``.text``."""
    folded = code.strip().lower()
    return folded == "comment" or folded.endswith(".text")


@dataclass
class Parsed:
    rows: pd.DataFrame      # one row per response; survey/wave/customer as written
    answers: pd.DataFrame   # position, item_code, value_num, value_text
    items: list[str]
    tagged: bool = False    # the file has a touchpoint column

    @property
    def fields(self) -> tuple[str, ...]:
        """The response columns the import writes and compares."""
        return (*_FIELDS, "touchpoint_id") if self.tagged else _FIELDS


def _choice(fields: Fields, name: str, allowed: dict[str, str], message: str) -> pd.Series:
    """The cells of ``name`` mapped by ``allowed``; others are problems (``message``, marked with
    ``N_``, takes the ``choices``)."""
    raw = fields.raw(name)
    folded = raw.str.lower().str.replace(r"[\s_\-]", "", regex=True)
    values = folded.map(allowed)
    bad = (raw.notna() & values.isna()).to_numpy()
    messages = pd.Series(None, index=raw.index, dtype=object)
    messages[bad] = Message(message, choices=", ".join(sorted(set(allowed.values()))))
    fields.record(name, raw, messages)
    return values.astype(object).where(values.notna(), None)


def _items(fields: Fields) -> tuple[pd.DataFrame, list[str]]:
    parts, codes = [], []
    for header in fields.columns.extra:
        code = header.strip()
        if len(code) > 100:
            fields.problems.add(1, header, None, LONG_ITEM_CODE)
            continue
        codes.append(code)
        raw = fields.frame[header]
        present = raw.notna().to_numpy()
        if is_text_item(code):
            num = pd.Series(np.nan, index=raw.index)
            text, errors = parse_text(raw, MAX_TEXT_ANSWER)
            fields.bad |= errors.notna().to_numpy()
            _flag_item(fields, header, raw, errors)
        else:
            num, errors = parse_number(raw)
            bad = errors.notna().to_numpy()
            errors = pd.Series(None, index=raw.index, dtype=object)
            errors[bad] = NOT_A_NUMBER_OR_TEXT
            fields.bad |= errors.notna().to_numpy()
            _flag_item(fields, header, raw, errors)
            text = pd.Series(None, index=raw.index, dtype=object)
        parts.append(pd.DataFrame({"position": np.flatnonzero(present), "item_code": code,
                                   "value_num": num.to_numpy()[present],
                                   "value_text": text.astype(object).to_numpy()[present]}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        {"position": pd.Series([], dtype="int64"), "item_code": pd.Series([], dtype=object),
         "value_num": pd.Series([], dtype="float64"), "value_text": pd.Series([], dtype=object)})
    return frame, codes


def _flag_item(fields: Fields, header: str, raw: pd.Series, errors: pd.Series) -> None:
    mask = errors.notna().to_numpy()
    for pos in np.flatnonzero(mask):
        fields.problems.add(int(fields.problems.lines[pos]), header, raw.iloc[pos],
                            errors.iloc[pos])


def validate(fields: Fields) -> Parsed:
    ids = fields.parse("external_id", parse_code, 64)
    fields.require("external_id", N_("missing response id; every row needs one"))
    fields.unique("external_id", ids, N_("response id {value!r} appears twice: lines "
                                         "{first} and {line}; keep one of them"))
    rows = {"external_id": ids, "survey": fields.parse("survey", parse_code, 64)}
    fields.require("survey", N_("missing survey code; every row needs one"))
    rows["wave"] = fields.parse("wave", parse_text, 100)
    rows["customer"] = fields.parse("customer", parse_code, 64)
    channel = _choice(fields, "channel", {c: c for c in RESPONSE_CHANNELS},
                      N_("unknown channel; use one of {choices}"))
    rows["channel"] = channel.where(channel.notna(), "import")
    rows["language"] = _choice(fields, "language", _LANGUAGES,
                               N_("unknown language; use one of {choices}"))
    rows["started_at"] = fields.dates("started_at")
    rows["submitted_at"] = fields.dates("submitted_at")
    fields.require("submitted_at", N_("missing submission time; every row needs one"))
    weight = fields.parse("weight", parse_number)
    not_positive = (weight <= 0).to_numpy()
    if not_positive.any():
        messages = pd.Series(None, index=weight.index, dtype=object)
        messages[not_positive] = Message(N_("weight must be greater than 0"))
        fields.record("weight", fields.raw("weight"), messages)
    rows["weight"] = weight.fillna(1.0)
    rows["touchpoint"] = fields.parse("touchpoint", parse_code, 64)
    answers_frame, codes = _items(fields)
    return Parsed(pd.DataFrame(rows), answers_frame, codes, tagged="touchpoint" in fields)


@dataclass
class Resolved:
    parsed: Parsed
    customer_ids: pd.Series
    survey_ids: dict[str, int]
    wave_ids: dict[tuple[int, str], int]
    touchpoint_ids: pd.Series | None = None


def resolve(conn: Connection, fields: Fields, parsed: Parsed) -> Resolved:
    known = bulk.existing_keys(conn, "customers", "external_id") \
        if parsed.rows["customer"].notna().any() else {}
    customer_ids = customer_keys(fields, "customer", parsed.rows["customer"], known)
    survey_ids = dict(conn.execute(select(surveys.c.code, surveys.c.id)).all())
    wave_ids = {(s, n): i for s, n, i in
                conn.execute(select(waves.c.survey_id, waves.c.name, waves.c.id)).all()}
    return Resolved(parsed, customer_ids, survey_ids, wave_ids,
                    _touchpoint_keys(conn, fields, parsed.rows["touchpoint"], customer_ids)
                    if parsed.tagged else None)


def _touchpoint_keys(conn: Connection, fields: Fields, refs: pd.Series,
                     customer_ids: pd.Series) -> pd.Series:
    """Database ids of the touchpoints named by their imported id; an unknown one, or one of
    another customer than the response's, is a problem of its row."""
    wanted = sorted(set(refs.dropna()))
    found: dict = {}
    t = touchpoints.c
    for start in range(0, len(wanted), 500):
        found.update({e: (i, c) for e, i, c in conn.execute(
            select(t.external_id, t.id, t.customer_id)
            .where(t.external_id.in_(wanted[start:start + 500])))})
    keys = pd.Series([found[r][0] if r in found else np.nan for r in refs], index=refs.index,
                     dtype="float64")
    messages = pd.Series(None, index=refs.index, dtype=object)
    for pos, (ref, customer) in enumerate(zip(refs, customer_ids, strict=True)):
        if not isinstance(ref, str):
            continue
        if ref not in found:
            messages.iloc[pos] = Message(N_(
                "touchpoint {touchpoint!r} is not among the imported touchpoints; import it "
                "first (patronage import touchpoints FILE) or leave the cell blank"),
                touchpoint=shorten(ref))
        elif not pd.isna(customer) and int(customer) != found[ref][1]:
            messages.iloc[pos] = Message(N_(
                "touchpoint {touchpoint!r} belongs to another customer than this response; "
                "check the touchpoint or customer id"), touchpoint=shorten(ref))
    if messages.notna().any():
        fields.record("touchpoint", fields.raw("touchpoint"), messages)
    return keys


def count_new(conn: Connection, resolved: Resolved) -> int:
    stored = bulk.existing_keys(conn, TABLE, "external_id")
    return int((~resolved.parsed.rows["external_id"].isin(stored.keys())).sum())


def _ensure_surveys_and_waves(conn: Connection, resolved: Resolved) -> pd.DataFrame:
    rows = resolved.parsed.rows
    now = datetime.now(UTC).replace(tzinfo=None)
    for code in rows["survey"].unique():
        if code not in resolved.survey_ids:
            result = conn.execute(insert(surveys).values(
                code=code, title=code, language="en", status="closed", created_at=now,
                definition={"source": "import", "items": list(resolved.parsed.items)}))
            resolved.survey_ids[code] = result.inserted_primary_key[0]
    out = rows.assign(survey_id=rows["survey"].map(resolved.survey_ids).astype("int64"))
    with_wave = out[out["wave"].notna()]
    starts = with_wave.groupby(["survey_id", "wave"])["submitted_at"].min()
    for (survey_id, name), first in starts.items():
        if (survey_id, name) not in resolved.wave_ids:
            result = conn.execute(insert(waves).values(
                survey_id=int(survey_id), name=name, starts_on=first.date()))
            resolved.wave_ids[(survey_id, name)] = result.inserted_primary_key[0]
    out["wave_id"] = [resolved.wave_ids.get((s, w)) if isinstance(w, str) else None
                      for s, w in zip(out["survey_id"], out["wave"])]
    out["customer_id"] = resolved.customer_ids
    if resolved.touchpoint_ids is not None:
        out["touchpoint_id"] = resolved.touchpoint_ids
    return out


def _norm(value):
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _stored(conn: Connection, external_ids: list[str],
            names: tuple[str, ...] = _FIELDS) -> tuple[dict, dict]:
    """Stored responses (external id -> (id, fields)) and their answers (id -> set)."""
    found: dict = {}
    for offset in range(0, len(external_ids), 500):
        chunk = external_ids[offset: offset + 500]
        query = select(responses.c.id, responses.c.external_id,
                       *[responses.c[f] for f in names]).where(
            responses.c.external_id.in_(chunk))
        for row in conn.execute(query):
            found[row[1]] = (row[0], tuple(_norm(v) for v in row[2:]))
    stored_answers: dict = {pk: set() for pk, _ in found.values()}
    keys = list(stored_answers)
    for offset in range(0, len(keys), 500):
        query = select(answers).where(answers.c.response_id.in_(keys[offset: offset + 500]))
        for pk, code, num, text in conn.execute(query):
            stored_answers[pk].add((code, _norm(num), text))
    return found, stored_answers


def write(conn: Connection, resolved: Resolved, on_progress=None) -> tuple[int, int]:
    rows = _ensure_surveys_and_waves(conn, resolved)
    given = resolved.parsed.answers
    by_position: dict[int, set] = {}
    for pos, code, num, text in given.itertuples(index=False):
        by_position.setdefault(int(pos), set()).add((code, _norm(num), _norm(text)))
    names = resolved.parsed.fields
    found, stored_answers = _stored(conn, rows["external_id"].tolist(), names)
    new, changed = [], []
    for pos, record in enumerate(rows[["external_id", *names]].itertuples(index=False)):
        external_id, *values = record
        if external_id not in found:
            new.append(pos)
            continue
        pk, stored_values = found[external_id]
        same = tuple(_norm(v) for v in values) == stored_values and \
            by_position.get(pos, set()) == stored_answers[pk]
        if not same:
            changed.append(pos)
    todo = sorted(new + changed)
    frame = rows.iloc[todo][["external_id", *names]]
    bulk.upsert(conn, TABLE, frame, key="external_id", kinds=KINDS, compare=list(names),
                on_progress=on_progress)
    if changed:
        pks = [found[rows["external_id"].iloc[p]][0] for p in changed]
        for offset in range(0, len(pks), 500):
            conn.execute(delete(answers).where(answers.c.response_id.in_(pks[offset:offset + 500])))
    if todo:
        ids = bulk.existing_keys(conn, TABLE, "external_id")
        pk_of_position = rows["external_id"].map(ids)
        chosen = given[given["position"].isin(todo)]
        answer_rows = pd.DataFrame({
            "response_id": pk_of_position.to_numpy()[chosen["position"].to_numpy()].astype("int64"),
            "item_code": chosen["item_code"].to_numpy(),
            "value_num": chosen["value_num"].to_numpy(),
            "value_text": chosen["value_text"].to_numpy()})
        bulk.insert(conn, "answers", answer_rows, kinds=KINDS)
    return len(new), len(changed)


__all__ = ["count_new", "is_text_item", "resolve", "validate", "write"]
