"""``patronage import touchpoints FILE``: a call centre's, field service's or ERP's log of
moments of truth, one row per touchpoint.

Required: customer, kind and the start (``occurred_at``). Optional: the answer and end times,
or the waiting and handling durations in seconds (``mm:ss`` and ``h:mm:ss`` too); site, team,
agent and channel as the source writes them (shown through their labels); whether the contact
was right the first time (是/否). A kind is one of :data:`~patronage.storage.schema.TOUCHPOINT_KINDS`
written as its code, its English name, its Chinese name (``报价``, ``安装`` …) or a label an admin
gave it on the Labels page.

All or nothing: every bad row is reported with its line, column and value. A row is matched on
its id (``id``, ``记录编号``) or, without one, on customer, kind, start, site and agent, so
importing the same file again adds nothing.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, insert, select

from patronage.storage.importing.mapping import ALIASES as PANEL_ALIASES
from patronage.storage.importing.parsing import parse_bool, parse_datetime
from patronage.storage.importing.report import ImportReport
from patronage.storage.importing.rows import open_rows, write_rows
from patronage.storage.schema import TOUCHPOINT_KINDS, category_labels, customers, touchpoints

#: Spellings of the default kinds besides their codes (the pages' names in the three languages
#: and common synonyms); an admin's own labels are added when importing.
KIND_WORDS = {
    "proposal": ("proposal", "方案建议", "方案建議", "方案", "提案", "建议书", "建議書"),
    "quote": ("quote", "quotation", "报价", "報價", "报价单", "報價單"),
    "order": ("order", "订单", "訂單", "下单", "下單"),
    "invoice": ("invoice", "invoicing", "发票", "發票", "开票", "開票"),
    "delivery": ("delivery", "交付", "交货", "交貨", "送货", "送貨", "配送", "发货", "發貨", "到货",
                 "到貨"),
    "installation": ("installation", "install", "安装", "安裝"),
    "training": ("training", "培训", "培訓"),
    "survey": ("survey", "问卷", "問卷", "调查", "調查", "回访", "回訪"),
    "promotion": ("promotion", "促销", "促銷", "推广", "推廣"),
    "payment": ("payment", "付款", "支付", "收款", "回款"),
    "inquiry": ("inquiry", "enquiry", "咨询", "諮詢", "咨詢"),
    "complaint": ("complaint", "投诉", "投訴", "客诉", "客訴"),
    "maintenance": ("maintenance", "repair", "service", "维护", "維護", "维修", "維修", "保养",
                    "保養"),
    "parts_return": ("parts return", "parts_return", "return", "退件", "返件", "退货", "退貨",
                     "备件返还", "備件返還"),
}

IMPORT_ALIASES = {
    "external_id": ("id", "external_id", "touchpoint id", "touchpoint_id", "record id",
                    "记录编号", "記錄編號", "接触点编号", "接觸點編號", "工单号", "工單號"),
    "customer": PANEL_ALIASES["transactions"]["customer"],
    "kind": ("kind", "type", "touchpoint", "moment", "类型", "類型", "接触点", "接觸點",
             "环节", "環節"),
    "occurred_at": ("occurred_at", "start", "started_at", "start time", "date", "time",
                    "datetime", "开始时间", "開始時間", "日期", "时间", "時間", "发起时间",
                    "發起時間"),
    "answered_at": ("answered_at", "answered", "answer time", "arrived_at", "接通时间",
                    "接通時間", "应答时间", "應答時間", "响应时间", "響應時間", "到达时间",
                    "到達時間"),
    "ended_at": ("ended_at", "end", "end time", "finished_at", "结束时间", "結束時間",
                 "完成时间", "完成時間"),
    "waiting_seconds": ("waiting_seconds", "waiting", "wait", "wait seconds", "等待时长",
                        "等待時長", "等待秒数", "等待秒數", "等待时间", "等待時間"),
    "handling_seconds": ("handling_seconds", "handling", "handle time", "duration",
                         "处理时长", "處理時長", "通话时长", "通話時長", "服务时长", "服務時長"),
    "site": ("site", "location", "branch", "网点", "網點", "站点", "站點", "门店", "門店",
             "服务网点", "服務網點"),
    "team": ("team", "group", "团队", "團隊", "班组", "班組", "小组", "小組"),
    "agent": ("agent", "staff", "engineer", "坐席", "客服", "工程师", "工程師", "服务人员",
              "服務人員", "经办人", "經辦人"),
    "channel": ("channel", "渠道", "通路", "方式"),
    "right_first_time": ("right_first_time", "right first time", "first time right",
                         "correct", "一次正确", "一次正確", "一次做对", "一次做對"),
}
IMPORT_REQUIRED = ("customer", "kind", "occurred_at")
_TEXT = {"site": 100, "team": 100, "agent": 100, "channel": 50}
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)$")
MAX_SECONDS = 366 * 86400.0


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text).strip().lower())


def kind_words(conn: Connection) -> dict[str, str]:
    """Every spelling of a kind the file may use, folded, to its code."""
    words = {_fold(w): code for code, spellings in KIND_WORDS.items() for w in spellings}
    words.update({_fold(code): code for code in TOUCHPOINT_KINDS})
    for value, label in conn.execute(select(category_labels.c.value, category_labels.c.label)
                                     .where(category_labels.c.kind == "touchpoint")):
        if value in TOUCHPOINT_KINDS:
            words.setdefault(_fold(label), value)
    return words


def seconds(text: str | None) -> tuple[float | None, str | None]:
    """A duration in seconds: ``95``, ``95.5``, ``1:35`` or ``0:01:35``; (value, problem)."""
    if text is None or not str(text).strip():
        return None, None
    text = str(text).strip()
    match = _CLOCK.match(text)
    try:
        value = (int(match.group(1) or 0) * 3600 + int(match.group(2)) * 60
                 + float(match.group(3))) if match else float(text.replace(",", ""))
    except ValueError:
        return None, "not a duration: give seconds (95) or minutes and seconds (1:35)"
    if not np.isfinite(value) or value < 0 or value > MAX_SECONDS:
        return None, "a duration is between 0 seconds and a year"
    return value, None


def import_touchpoints(engine: Engine, source, *, dry_run: bool = False,
                       encoding: str | None = None, sheet: str | None = None,
                       date_order: str | None = None) -> ImportReport:
    """Import the touchpoints of a CSV/XLSX file (or a DataFrame of its cells): all or nothing,
    every bad row named by line and column; rows imported before are left alone. Never raises
    for bad rows."""
    rows = open_rows(source if isinstance(source, pd.DataFrame) else Path(source),
                     kind="touchpoints", aliases=IMPORT_ALIASES, required=IMPORT_REQUIRED,
                     dry_run=dry_run, encoding=encoding, sheet=sheet)
    if isinstance(rows, ImportReport):
        return rows
    frame, problems = rows.frame, rows.problems
    times = {}
    for name in ("occurred_at", "answered_at", "ended_at"):
        if name in frame:
            values, bad, _serials = parse_datetime(frame[name], date_order)
            problems.flag(bad.notna(), name, frame[name], bad)
            times[name] = values
    problems.flag(frame["occurred_at"].isna(), "occurred_at", frame["occurred_at"],
                  "required: when the touchpoint started, e.g. 2026-06-01 14:30")
    right = None
    if "right_first_time" in frame:
        right, bad = parse_bool(frame["right_first_time"])
        problems.flag(bad.notna(), "right_first_time", frame["right_first_time"], bad)
    state: dict = {"batch": [], "keys": set()}

    def prepare(conn: Connection) -> None:
        state["words"] = kind_words(conn)
        refs = sorted({str(v).strip() for v in frame["customer"].dropna()})
        state["customers"] = {}
        for start in range(0, len(refs), 500):
            state["customers"].update(conn.execute(
                select(customers.c.external_id, customers.c.id)
                .where(customers.c.external_id.in_(refs[start:start + 500]))).all())

    def write(conn: Connection, position: int, line: int) -> int:
        _row(frame.iloc[position], line, position, times, right, problems, state)
        if state["batch"] and (position == len(frame) - 1 or len(state["batch"]) >= 1000):
            return _flush(conn, state)
        return 0

    return write_rows(engine, rows, write, dry_run=dry_run, prepare=prepare)


def _cell(row, name) -> str | None:
    value = row.get(name)
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return str(value).strip() or None


def _flush(conn: Connection, state: dict) -> int:
    """Insert the rows gathered that are not stored yet; returns how many."""
    batch = state["batch"]
    keys = [r["external_id"] for r in batch]
    stored = set()
    for start in range(0, len(keys), 500):
        stored.update(conn.execute(select(touchpoints.c.external_id).where(
            touchpoints.c.external_id.in_(keys[start:start + 500]))).scalars())
    new = [r for r in batch if r["external_id"] not in stored]
    if new:
        conn.execute(insert(touchpoints), new)
    state["batch"] = []
    return len(new)


def _key(row, customer: str, kind: str, start) -> str:
    ref = _cell(row, "external_id")
    if ref:
        return ref
    text = "|".join([customer, kind, start.isoformat(), _cell(row, "site") or "",
                     _cell(row, "agent") or ""])
    return "h:" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:40]


def _row(row, line, position, times, right, problems, state) -> None:
    def bad(field, message):
        problems.add(line, problems.label(field), _cell(row, field), message)

    ok = True
    ref = _cell(row, "external_id")
    if ref and len(ref) > 64:
        bad("external_id", "too long: an id has at most 64 characters")
        ok = False
    customer = state["customers"].get(_cell(row, "customer") or "")
    if customer is None:
        bad("customer", "no customer has this id; import the customers first or correct the id")
        ok = False
    kind = state["words"].get(_fold(_cell(row, "kind") or ""))
    if kind is None:
        bad("kind", "not a touchpoint kind; use one of " + ", ".join(TOUCHPOINT_KINDS)
            + " (or 报价, 安装, 维修 …)")
        ok = False
    values = {}
    for name, length in _TEXT.items():
        text = _cell(row, name)
        if text and len(text) > length:
            bad(name, f"too long: at most {length} characters")
            ok = False
        values[name] = text
    start = times["occurred_at"].iloc[position]
    answered = times["answered_at"].iloc[position] if "answered_at" in times else pd.NaT
    ended = times["ended_at"].iloc[position] if "ended_at" in times else pd.NaT
    durations = {}
    for name in ("waiting_seconds", "handling_seconds"):
        durations[name], problem = seconds(_cell(row, name))
        if problem:
            bad(name, problem)
            ok = False
    if pd.isna(start):
        return  # reported with the column
    if not pd.isna(answered):
        if answered < start:
            bad("answered_at", "answered before it started; check the two times")
            ok = False
        derived = (answered - start).total_seconds()
        if durations["waiting_seconds"] is not None and \
                abs(durations["waiting_seconds"] - derived) > 1:
            bad("waiting_seconds", f"the answer time says {derived:g} s of waiting; give "
                "either the times or the duration, or make them agree")
            ok = False
        durations["waiting_seconds"] = derived
    if not pd.isna(ended):
        begin = answered if not pd.isna(answered) else start
        if ended < begin:
            bad("ended_at", "ended before it was answered or started; check the times")
            ok = False
        derived = (ended - begin).total_seconds()
        if durations["handling_seconds"] is not None and \
                abs(durations["handling_seconds"] - derived) > 1:
            bad("handling_seconds", f"the end time says {derived:g} s of handling; give "
                "either the times or the duration, or make them agree")
            ok = False
        durations["handling_seconds"] = derived
    if not ok:
        return
    key = _key(row, _cell(row, "customer"), kind, start)
    if key in state["keys"]:
        return  # the same touchpoint twice in the file: once
    state["keys"].add(key)
    flag = None if right is None else right.iloc[position]
    state["batch"].append({
        "external_id": key, "customer_id": int(customer), "occurred_at": start.to_pydatetime(),
        "kind": kind, "answered_at": None if pd.isna(answered) else answered.to_pydatetime(),
        "ended_at": None if pd.isna(ended) else ended.to_pydatetime(),
        "right_first_time": None if flag is None or pd.isna(flag) else bool(flag),
        **durations, **values})


__all__ = ["IMPORT_ALIASES", "KIND_WORDS", "import_touchpoints", "kind_words", "seconds"]
