"""Display labels of category values: a region, industry, size, channel, tier, product, product
category, churn reason, competitor or system-made case subject as the reader of each language
sees it.

Values are stored as the company's data has them (``East China``, ``platinum``); the
``category_labels`` table gives each ``(kind, value)`` a label per language, which the company
edits (admin page, ``patronage labels import``). A value without a label shows as it is; a tier
without one falls back to the interface's own wording of the four value tiers, so a tier reads the
same on every page.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, delete, select

from patronage.messages import N_, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import (
    LABEL_KINDS,
    LANGUAGES,
    category_labels,
    competitors,
    customers,
    touchpoints,
    transactions,
)

KINDS = LABEL_KINDS
#: Kind names shown on the labels page (translated there).
KIND_NAMES = {
    "region": N_("Region"), "industry": N_("Industry"), "size": N_("Size"),
    "channel": N_("Channel"), "tier": N_("Tier"), "product": N_("Product"),
    "category": N_("Category"), "churn_reason": N_("Churn reason"),
    "competitor": N_("Competitor"), "case_subject": N_("Case subject"),
    "touchpoint": N_("Touchpoint"), "site": N_("Site"), "team": N_("Team"),
}
#: The value tiers the loyalty analysis assigns; the interface translates them (catalog).
BUILT_IN_TIERS = ("platinum", "gold", "silver", "bronze")
#: The kinds of touchpoints (moments of truth, ``touchpoints.kind``) as the interface names them
#: (catalog); ``labels("touchpoint", "delivery")`` reads them in the page's language.
TOUCHPOINT_NAMES = {
    "proposal": N_("Proposal"), "quote": N_("Quote"), "order": N_("Order"),
    "invoice": N_("Invoice"), "delivery": N_("Delivery"), "installation": N_("Installation"),
    "training": N_("Training"), "survey": N_("Survey"), "promotion": N_("Promotion"),
    "payment": N_("Payment"), "inquiry": N_("Inquiry"), "complaint": N_("Complaint"),
    "maintenance": N_("Maintenance"), "parts_return": N_("Parts return"),
}
MAX_LABEL = 300
#: A sampling stratum: segment values joined by " / ", each labelled by the first kind that has it.
STRATUM = "stratum"
STRATUM_KINDS = ("region", "industry", "size", "channel", "tier")
#: Where each kind's values live in the panel (kinds not listed have only labelled values).
_IN_USE = {
    "region": customers.c.region, "industry": customers.c.industry, "size": customers.c.size,
    "channel": customers.c.channel, "tier": customers.c.tier,
    "product": transactions.c.product, "category": transactions.c.category,
    "competitor": competitors.c.name,
    "touchpoint": touchpoints.c.kind, "site": touchpoints.c.site, "team": touchpoints.c.team,
}


@dataclass(frozen=True)
class Labels:
    """The labels of one language: ``labels("region", "East China")`` -> ``"华东"``."""

    language: str
    table: dict[tuple[str, str], str]
    gettext: Callable[[str], str] = lambda s: s

    def __call__(self, kind: str, value) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return "–"
        text = str(value)
        if kind == STRATUM:
            return " / ".join(self._any(part) for part in text.split(" / "))
        found = self.table.get((kind, text))
        if found is not None:
            return found
        if kind == "tier" and text in BUILT_IN_TIERS:
            return self.gettext(text)
        if kind == "touchpoint" and text in TOUCHPOINT_NAMES:
            return self.gettext(TOUCHPOINT_NAMES[text])
        return text

    def _any(self, value: str) -> str:
        """A segment value of unknown kind (a sampling stratum's part): its first label."""
        for kind in STRATUM_KINDS:
            found = self(kind, value)
            if found != value:
                return found
        return value

    def of(self, kind: str) -> Callable[[object], str]:
        """The labeller of one kind."""
        return lambda value: self(kind, value)


def read_labels(engine: Engine) -> dict[str, dict[tuple[str, str], str]]:
    """Every stored label: ``{language: {(kind, value): label}}``."""
    out: dict[str, dict[tuple[str, str], str]] = {language: {} for language in LANGUAGES}
    with engine.connect() as conn:
        for kind, value, language, label in conn.execute(select(
                category_labels.c.kind, category_labels.c.value, category_labels.c.language,
                category_labels.c.label)):
            out.setdefault(language, {})[(kind, value)] = label
    return out


def labels_for(engine: Engine, language: str, gettext: Callable[[str], str] = lambda s: s
               ) -> Labels:
    """The labels of ``language``, read now (for a report computed once per data version)."""
    return Labels(language, read_labels(engine).get(language, {}), gettext)


class LabelCache:
    """The stored labels, read again only when the data version changes (one read per change,
    shared by all requests)."""

    def __init__(self, engine: Engine, version: Callable[[], object] | None = None):
        self.engine, self.version = engine, version
        self._lock = threading.Lock()
        self._token: object = object()
        self._labels: dict[str, dict[tuple[str, str], str]] | None = None

    def labels(self, language: str, gettext: Callable[[str], str] = lambda s: s) -> Labels:
        token = self.version() if self.version is not None else None
        with self._lock:
            if self._labels is None or token is None or token != self._token:
                self._labels, self._token = read_labels(self.engine), token
            table = self._labels.get(language, {})
        return Labels(language, table, gettext)


def _check(kind: str, value: str, language: str, label: str, where: str = "") -> None:
    if kind not in KINDS:
        raise UserError(N_("{where}Unknown kind {kind!r}; use one of {kinds}."), where=where,
                        kind=kind, kinds=", ".join(KINDS))
    if language not in LANGUAGES:
        raise UserError(N_("{where}Unknown language {language!r}; use one of {languages}."),
                        where=where, language=language, languages=", ".join(LANGUAGES))
    if not value.strip():
        raise UserError(N_("{where}The value is empty; give the value as the data have it."),
                        where=where)
    if len(label) > MAX_LABEL or len(value) > MAX_LABEL:
        raise UserError(N_("{where}A value or label is longer than {max} characters."),
                        where=where, max=MAX_LABEL)
    if "\x00" in label or "\x00" in value:
        raise UserError(N_("{where}The text contains a NUL character; remove it."), where=where)


def set_labels(engine: Engine, rows: Iterable[tuple[str, str, str, str]]) -> int:
    """Store ``(kind, value, language, label)`` rows (a blank label removes that label);
    returns how many rows were stored or removed. All or nothing."""
    rows = [(k.strip(), v, lang.strip(), (label or "").strip()) for k, v, lang, label in rows]
    for kind, value, language, label in rows:
        _check(kind, value, language, label)
    with write_transaction(engine) as conn:
        for kind, value, language, label in rows:
            key = ((category_labels.c.kind == kind) & (category_labels.c.value == value)
                   & (category_labels.c.language == language))
            conn.execute(delete(category_labels).where(key))
            if label:
                conn.execute(category_labels.insert().values(kind=kind, value=value,
                                                             language=language, label=label))
    return len(rows)


def set_label(engine: Engine, kind: str, value: str, language: str, label: str) -> None:
    """Store one label (a blank label removes it)."""
    set_labels(engine, [(kind, value, language, label)])


def read_label_file(path: str | Path) -> list[tuple[str, str, str, str]]:
    """Rows of a labels file (CSV in UTF-8, GB18030 or UTF-16, or XLSX, read as the importer
    reads files): either long, with the columns ``kind``,
    ``value``, ``language``, ``label``, or wide, with ``kind``, ``value`` and one column per
    language (``en``, ``zh_Hans``, ``zh_Hant``; blank cells are left alone)."""
    from patronage.storage.importing.reading import read_table
    from patronage.storage.importing.report import Problems

    path = Path(path)
    if not path.exists():
        raise UserError(N_("There is no file {path}."), path=str(path))
    try:  # the importer's reader: encodings, damaged and hostile files, formula cells
        table = read_table(path)
    except ValueError as exc:
        raise UserError(N_("{path} cannot be read: {problem}"), path=path.name,
                        problem=str(exc)) from None
    if table.problems:
        problems = Problems(table.lines)
        problems.add(*table.problems[0])  # cut to a readable length
        raise UserError(N_("{path}, {problem}"), path=path.name,
                        problem=problems.issues[0].to_text())
    frame = table.frame.fillna("")
    languages = [c for c in frame.columns if c in LANGUAGES]
    long = {"kind", "value", "language", "label"} <= set(frame.columns)
    if not ({"kind", "value"} <= set(frame.columns) and (long or languages)):
        raise UserError(N_("{path}: the columns must be kind, value, language, label, or kind, "
                           "value and one column per language ({languages}); found {found}."),
                        path=path.name, languages=", ".join(LANGUAGES),
                        found=", ".join(frame.columns))
    rows = []
    for number, record in zip(table.lines.tolist(), frame.to_dict(orient="records")):
        where = f"{path.name}, line {number}: "
        pairs = ([(record["language"].strip(), record["label"])] if long
                 else [(lang, record[lang]) for lang in languages if record[lang].strip()])
        for language, label in pairs:
            row = (record["kind"].strip(), record["value"], language, label.strip())
            _check(*row, where=where)
            rows.append(row)
    return rows


def import_labels(engine: Engine, path: str | Path) -> int:
    """Store the labels of a file (see :func:`read_label_file`); returns how many."""
    return set_labels(engine, read_label_file(path))


def label_table(engine: Engine, kind: str | None = None) -> pd.DataFrame:
    """One row per ``(kind, value)`` in use in the panel or labelled, with a column per language
    (blank where there is no label)."""
    if kind is not None and kind not in KINDS:
        raise UserError(N_("Unknown kind {kind!r}; use one of {kinds}."), kind=kind,
                        kinds=", ".join(KINDS))
    values: dict[tuple[str, str], dict[str, str]] = {}
    with engine.connect() as conn:
        for name, column in _IN_USE.items():
            if kind in (None, name):
                for (value,) in conn.execute(select(column).where(column.is_not(None))
                                             .distinct()):
                    if str(value).strip():
                        values.setdefault((name, str(value)), {})
        for k, value, language, label in conn.execute(select(
                category_labels.c.kind, category_labels.c.value, category_labels.c.language,
                category_labels.c.label)):
            if kind in (None, k):
                values.setdefault((k, value), {})[language] = label
    rows = [{"kind": k, "value": v, **{lang: labels.get(lang, "") for lang in LANGUAGES}}
            for (k, v), labels in values.items()]
    frame = pd.DataFrame(rows, columns=["kind", "value", *LANGUAGES])
    order = {k: i for i, k in enumerate(KINDS)}
    frame["_order"] = frame["kind"].map(order)
    return frame.sort_values(["_order", "value"]).drop(columns="_order").reset_index(drop=True)


__all__ = ["BUILT_IN_TIERS", "KINDS", "KIND_NAMES", "LabelCache", "Labels", "import_labels",
           "label_table", "labels_for", "read_label_file", "read_labels", "set_label", "set_labels"]
