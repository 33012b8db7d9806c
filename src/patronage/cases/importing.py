"""``patronage import cases FILE``: cases from a hotline's or ticketing system's export.

Read like every import (encodings, delimiters, XLSX, English or Chinese headers). All or nothing:
every row is checked as the desk checks a new case (customer known, subject given, type,
category and severity valid); one bad row and nothing is written, with every problem named by
line and column. A row whose reference (``工单号``) is already a case is left as it is, so the
same file can be imported again.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from patronage.cases.config import DEFAULT, DeskConfig
from patronage.cases.desk import NewCase, case_values, open_on
from patronage.cases.inputs import now_utc
from patronage.messages import UserError
from patronage.storage.importing.mapping import ALIASES as PANEL_ALIASES
from patronage.storage.importing.parsing import parse_datetime
from patronage.storage.importing.report import ImportReport
from patronage.storage.importing.rows import open_rows, write_rows
from patronage.storage.schema import cases

ALIASES = {
    "external_ref": ("external_ref", "reference", "ref", "case no", "case number", "ticket",
                     "ticket id", "工单号", "工單號", "工单编号", "工單編號", "投诉编号", "投訴編號"),
    "customer": PANEL_ALIASES["transactions"]["customer"],
    "subject": ("subject", "title", "summary", "主题", "主題", "标题", "標題", "事由"),
    "description": ("description", "details", "content", "描述", "内容", "內容", "详情", "詳情"),
    "type": ("type", "case type", "类型", "類型"),
    "category": ("category", "类别", "類別", "分类", "分類"),
    "severity": ("severity", "priority", "严重程度", "嚴重程度", "优先级", "優先級"),
    "channel": ("channel", "source", "渠道", "通路", "来源", "來源"),
    "contact": ("contact", "联系人", "聯絡人", "联系方式", "聯絡方式"),
    "opened_at": ("opened_at", "opened", "created", "date", "日期", "创建时间", "建立時間",
                  "受理时间", "受理時間"),
    "owner": ("owner", "负责人", "負責人", "处理人", "處理人"),
    "team": ("team", "团队", "團隊", "班组", "班組"),
    "touchpoint": PANEL_ALIASES["responses"]["touchpoint"],
}
REQUIRED = ("customer", "subject")
_FIELD_OF = {"subject": "subject", "description": "description", "contact": "contact",
             "external reference": "external_ref", "case type": "type", "channel": "channel",
             "severity": "severity"}


def import_cases(engine: Engine, path, *, dry_run: bool = False, encoding: str | None = None,
                 sheet: str | None = None, date_order: str | None = None,
                 config: DeskConfig = DEFAULT) -> ImportReport:
    """Import the cases of ``path``; never raises for bad rows (they are in the report)."""
    rows = open_rows(Path(path), kind="cases", aliases=ALIASES, required=REQUIRED,
                     dry_run=dry_run, encoding=encoding, sheet=sheet)
    if isinstance(rows, ImportReport):
        return rows
    frame, problems = rows.frame, rows.problems
    opened = pd.Series(pd.NaT, index=frame.index)
    if "opened_at" in frame:
        opened, bad, _serials = parse_datetime(frame["opened_at"], date_order)
        problems.flag(bad.notna(), "opened_at", frame["opened_at"], bad)
    now = now_utc()
    return write_rows(engine, rows, lambda conn, position, line: _one(
        conn, frame.iloc[position], line, opened.iloc[position], now, problems, rows.labels,
        config), dry_run=dry_run)


def _value(row, name):
    value = row.get(name)
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _one(conn, row, line, opened, now, problems, labels, config) -> int:
    ref = _value(row, "external_ref")
    if ref and conn.execute(select(cases.c.id).where(cases.c.external_ref == ref)).first():
        return 0
    new = NewCase(customer=_value(row, "customer"), subject=_value(row, "subject") or "",
                  description=_value(row, "description"), type=_value(row, "type") or "complaint",
                  channel=_value(row, "channel") or "import", category=_value(row, "category"),
                  severity=_value(row, "severity") or "normal", contact=_value(row, "contact"),
                  external_ref=ref, owner=_value(row, "owner"), team=_value(row, "team"),
                  touchpoint=_value(row, "touchpoint"))
    savepoint = conn.begin_nested()
    try:
        values = case_values(new)
        open_on(conn, new, values, by=None, now=now if pd.isna(opened) else
                opened.to_pydatetime(), config=config)
    except UserError as exc:
        savepoint.rollback()
        field = str(exc.params.get("field", "")) if exc.params else ""
        name = _FIELD_OF.get(field) or next(
            (k for k in ("customer", "category", "owner", "team", "touchpoint")
             if k in exc.params), None)
        problems.add(int(line), labels.get(name, name) if name else None,
                     _value(row, name) if name else None, str(exc))
        return 0
    savepoint.commit()
    return 1


__all__ = ["ALIASES", "import_cases"]
