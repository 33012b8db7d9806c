"""Writing the demo company into a database, and creating its logins."""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, select, true

from patronage.accounts import create_user
from patronage.demo import care_install, desk_install, improvement_install, members_install
from patronage.storage import insert_rows, upgrade, write_transaction
from patronage.storage.partitions import ensure_for_frame
from patronage.storage.schema import (
    answers,
    cases,
    category_labels,
    competitors,
    customers,
    invitations,
    metadata,
    responses,
    surveys,
    touchpoints,
    transactions,
    users,
    waves,
)

from patronage.demo.labels import label_rows

if TYPE_CHECKING:
    from patronage.demo import DemoCompany

Progress = Callable[[str], None] | None
DEMO_USERS = (("admin@demo.patronage", "admin", "演示管理员"),
              ("analyst@demo.patronage", "analyst", "演示分析师"),
              ("agent@demo.patronage", "agent", "演示客服"))


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build_demo_database` wrote, and the logins it created."""

    customers: int
    transactions: int
    responses: int
    cases: int
    waves: int
    admin_email: str
    admin_password: str
    users: dict = field(default_factory=dict)
    seed: int = 0
    care: dict = field(default_factory=dict)
    members: dict = field(default_factory=dict)

    def describe(self) -> str:
        """A few lines for the terminal: counts and logins."""
        lines = [
            f"Demo company built (seed {self.seed}): {self.customers:,} customers, "
            f"{self.transactions:,} transactions, {self.responses:,} survey responses in "
            f"{self.waves} waves, {self.cases:,} cases.",
        ]
        if self.care:
            c = self.care
            lines.append(
                f"Customer care: {c['tasks']:,} follow-up tasks ({c['open']} open, due from "
                f"today), {c['greetings']:,} greetings, {c['visits']:,} key-account visits; "
                f"win-back campaign {c['campaign']} ({c['target']} target, {c['control']} "
                "control).")
        if self.members:
            m = self.members
            lines.append(
                f"Membership programme: {m['members']:,} members, {m['redemptions']:,} "
                f"redemptions ({m['cancelled']} cancelled) over two years.")
        lines.append("Logins (passwords are shown once; keep them or rebuild the demo):")
        for email, (role, password) in self.users.items():
            lines.append(f"  {role:<8} {email:<26} {password}")
        return "\n".join(lines)


def _column_values(series: pd.Series) -> list:
    """Python values for the database driver: NaN/NaT -> None, numpy scalars -> Python ones."""
    if pd.api.types.is_datetime64_any_dtype(series):
        seconds = series.to_numpy(dtype="datetime64[s]")
        missing = np.isnat(seconds)
        values = seconds.astype(object)  # datetime.datetime objects (NaT becomes None)
        return [None if gone else value for value, gone in zip(values.tolist(), missing.tolist())]
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_integer_dtype(series):
        return series.tolist()
    if pd.api.types.is_float_dtype(series):
        return [None if math.isnan(v) else v for v in series.tolist()]
    out = series.tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in out]


def _records(frame: pd.DataFrame, columns: dict[str, pd.Series | str]) -> list[dict]:
    """Rows for ``insert``: ``columns`` maps a table column to a frame column or a Series."""
    values = {}
    for target, source in columns.items():
        series = frame[source] if isinstance(source, str) else source
        values[target] = _column_values(series)
    names = list(values)
    return [dict(zip(names, row)) for row in zip(*values.values())]


def _key_map(conn: Connection, key, pk) -> dict:
    return {k: v for k, v in conn.execute(select(key, pk))}


def _mapped(series: pd.Series, mapping: dict, what: str) -> pd.Series:
    out = series.map(mapping)
    unknown = series.notna() & out.isna()
    if unknown.any():
        raise ValueError(f"{what} {series[unknown].iloc[0]!r} is not in the demo data")
    return pd.Series([None if pd.isna(v) else int(v) for v in out], index=series.index,
                     dtype=object)


def _install(conn: Connection, company: DemoCompany, progress: Progress) -> dict[str, int]:
    say = progress or (lambda message: None)
    counts: dict[str, int] = {}
    c = company.customers
    say(f"Writing {len(c):,} customers")
    counts["customers"] = insert_rows(conn, customers, _records(c, {col: col for col in c.columns}))
    customer_pk = _key_map(conn, customers.c.external_id, customers.c.id)

    def customer_ids(frame):
        return _mapped(frame["customer_id"], customer_pk, "customer")

    t = company.transactions
    say(f"Writing {len(t):,} transactions")
    ensure_for_frame(conn, "transactions", t)  # PostgreSQL: the months' partitions first
    counts["transactions"] = insert_rows(conn, transactions, _records(t, {
        "external_id": "external_id", "customer_id": customer_ids(t), "occurred_at": "occurred_at",
        "amount": "amount", "cost": "cost", "product": "product", "category": "category",
        "channel": "channel", "is_refund": "is_refund",
        **({"refund_of": "refund_of"} if "refund_of" in t else {})}))
    tp = company.touchpoints
    say(f"Writing {len(tp):,} touchpoints")
    counts["touchpoints"] = insert_rows(conn, touchpoints, _records(tp, {
        "customer_id": customer_ids(tp), "occurred_at": "occurred_at", "kind": "kind",
        "channel": "channel", "waiting_seconds": "waiting_seconds",
        "handling_seconds": "handling_seconds",
        **{unit: unit for unit in ("site", "team", "agent") if unit in tp}}))
    tp_ids = conn.execute(select(touchpoints.c.id).order_by(touchpoints.c.id)).scalars().all()
    touchpoint_pk = dict(zip(tp.index.tolist(), tp_ids[len(tp_ids) - len(tp):]))
    counts["competitors"] = insert_rows(conn, competitors, _records(
        company.competitors, {"name": "name", "note": "note"}))

    say("Writing the survey, waves and invitations")
    s = company.surveys
    counts["surveys"] = insert_rows(conn, surveys, _records(s, {col: col for col in s.columns}))
    survey_pk = _key_map(conn, surveys.c.code, surveys.c.id)
    w = company.waves
    counts["waves"] = insert_rows(conn, waves, _records(w, {
        "survey_id": _mapped(w["survey"], survey_pk, "survey"), "name": "name",
        "starts_on": "starts_on", "ends_on": "ends_on"}))
    wave_pk = {(sid, name): pk for pk, sid, name in conn.execute(
        select(waves.c.id, waves.c.survey_id, waves.c.name))}
    wave_by_name = {name: pk for (sid, name), pk in wave_pk.items()
                    if sid == survey_pk[s["code"].iloc[0]]}
    inv = company.invitations
    counts["invitations"] = insert_rows(conn, invitations, _records(inv, {
        "survey_id": _mapped(inv["survey"], survey_pk, "survey"),
        "wave_id": _mapped(inv["wave"], wave_by_name, "wave"),
        "customer_id": customer_ids(inv), "token": "token", "created_at": "created_at",
        "sent_at": "sent_at", "responded_at": "responded_at"}))
    invitation_pk = _key_map(conn, invitations.c.token, invitations.c.id)
    r = company.responses
    say(f"Writing {len(r):,} responses and {len(company.answers):,} answers")
    counts["responses"] = insert_rows(conn, responses, _records(r, {
        "external_id": "external_id", "survey_id": _mapped(r["survey"], survey_pk, "survey"),
        "wave_id": _mapped(r["wave"], wave_by_name, "wave"), "customer_id": customer_ids(r),
        "invitation_id": _mapped(r["invitation_token"], invitation_pk, "invitation"),
        "channel": "channel", "language": "language", "started_at": "started_at",
        "submitted_at": "submitted_at", "weight": "weight", "quality_flags": "quality_flags"}))
    response_pk = _key_map(conn, responses.c.external_id, responses.c.id)
    a = company.answers
    counts["answers"] = insert_rows(conn, answers, _records(a, {
        "response_id": _mapped(a["response_id"], response_pk, "response"),
        "item_code": "item_code", "value_num": "value_num", "value_text": "value_text"}))
    k = company.cases
    desk = desk_install.setup(conn, company, counts, say) if company.desk is not None else {}
    say(f"Writing {len(k):,} cases")
    counts["cases"] = insert_rows(conn, cases, _records(k, {
        "customer_id": customer_ids(k), "type": "type", "status": "status", "subject": "subject",
        "description": "description", "touchpoint_kind": "touchpoint_kind",
        "response_id": _mapped(k["response_id"], response_pk, "response"),
        "opened_at": "opened_at", "closed_at": "closed_at",
        # An inquiry's case is about the call that raised it; a complaint's about its topic.
        **({"touchpoint_id": _mapped(k["touchpoint_ref"].where(k["type"].eq("inquiry")),
                                     touchpoint_pk, "touchpoint")}
           if "touchpoint_ref" in k else {}),
        **{column: pd.Series(values, index=k.index, dtype=object)
           for column, values in desk.items()}}))
    if company.extra is not None:
        _install_extra(conn, company.extra, counts, say, touchpoint_pk)
    say("Writing the labels of regions, industries, tiers, products … in three languages")
    insert_rows(conn, category_labels, label_rows())
    if company.desk is not None:
        desk_install.history(conn, company, counts, say)
    if company.care is not None and company.desk is not None:
        care_install.install(conn, company, counts, say)
    if company.improvement is not None:
        improvement_install.install_survey(conn, company, counts, say, _records, _key_map,
                                           _mapped)
    return counts


def _install_extra(conn: Connection, extra, counts: dict[str, int], say,
                   touchpoint_pk: dict) -> None:
    """The extra surveys (SERVQUAL-22, CES) and the competitor ratings; adds to ``counts``.
    A CES answer is tagged with the complaint or inquiry contact of its case."""
    say(f"Writing {len(extra.responses):,} SERVQUAL and CES responses and competitor ratings")
    s, w, r, a = extra.surveys, extra.waves, extra.responses, extra.answers
    counts["surveys"] += insert_rows(conn, surveys, _records(s, {col: col for col in s.columns}))
    survey_pk = _key_map(conn, surveys.c.code, surveys.c.id)
    counts["waves"] += insert_rows(conn, waves, _records(w, {
        "survey_id": _mapped(w["survey"], survey_pk, "survey"), "name": "name",
        "starts_on": "starts_on", "ends_on": "ends_on"}))
    wave_pk = {f"{sid}/{name}": pk for pk, sid, name in conn.execute(
        select(waves.c.id, waves.c.survey_id, waves.c.name))}
    survey_ids = _mapped(r["survey"], survey_pk, "survey")
    customer_pk = _key_map(conn, customers.c.external_id, customers.c.id)
    counts["responses"] += insert_rows(conn, responses, _records(r, {
        "external_id": "external_id", "survey_id": survey_ids,
        "wave_id": _mapped(survey_ids.astype(str) + "/" + r["wave"], wave_pk, "wave"),
        "customer_id": _mapped(r["customer_id"], customer_pk, "customer"),
        "channel": "channel", "language": "language", "started_at": "started_at",
        "submitted_at": "submitted_at", "weight": "weight", "quality_flags": "quality_flags",
        **({"touchpoint_id": _mapped(r["touchpoint_ref"], touchpoint_pk, "touchpoint")}
           if "touchpoint_ref" in r else {})}))
    response_pk = _key_map(conn, responses.c.external_id, responses.c.id)
    counts["answers"] += insert_rows(conn, answers, _records(a, {
        "response_id": _mapped(a["response_id"], response_pk, "response"),
        "item_code": "item_code", "value_num": "value_num", "value_text": "value_text"}))


def install(engine: Engine, company: DemoCompany, *, progress: Progress = None) -> dict[str, int]:
    """Insert ``company`` into the (migrated) database in one write transaction, then replay
    its membership programme through the programme's services (one transaction per step).

    Returns the number of rows written per table. The database should hold no demo rows yet
    (use :func:`build_demo_database` to rebuild).
    """
    with write_transaction(engine) as conn:
        counts = _install(conn, company, progress)
    if company.members is not None:
        counts.update(members_install.install(engine, company, progress))
    return counts


def _is_demo(attributes) -> bool:
    return isinstance(attributes, dict) and attributes.get("demo") is True


def _check_demo_only(conn: Connection) -> int:
    """Number of existing demo customers; raise unless the database is empty or a demo.

    A demo database holds only customers marked ``{"demo": true}`` and only the demo logins;
    a database without customers must be empty altogether.
    """
    count = 0
    for (attributes,) in conn.execute(select(customers.c.attributes)):
        if not _is_demo(attributes):
            raise ValueError("this database holds real customers; pass a new --db path "
                             "(the demo is built in a database of its own)")
        count += 1
    demo_emails = {email for email, _, _ in DEMO_USERS} | desk_install.staff_emails()
    emails = set(conn.execute(select(users.c.email)).scalars())
    if emails - demo_emails:
        raise ValueError("this database has staff accounts that are not demo logins; "
                         "pass a new --db path for the demo")
    if count == 0:
        for table in metadata.sorted_tables:
            if table.name in ("users", "sessions"):
                continue
            query = select(func.count()).select_from(table)
            if (kept := _SEEDED.get(table.name)) is not None:
                query = query.where(~kept(table))
            if conn.execute(query).scalar_one():
                raise ValueError(f"this database is not empty (table {table.name} has rows) and "
                                 "is not a demo; pass a new --db path")
    return count


#: Rows the migrations write into a new database (the membership programme's policy and its
#: own point accounts): neither a sign of real data nor removed with a previous demo.
_SEEDED = {"member_programme": lambda table: true(),
           "point_accounts": lambda table: table.c.member_id.is_(None)}


def _clear(conn: Connection) -> None:
    for table in reversed(metadata.sorted_tables):
        kept = _SEEDED.get(table.name)
        conn.execute(delete(table) if kept is None else delete(table).where(~kept(table)))


def build_demo_database(engine: Engine, *, seed: int = 2026,
                        progress: Progress = None) -> DemoSummary:
    """Build (or rebuild) the demo company in the database behind ``engine``.

    Upgrades the schema, refuses a database holding any non-demo customer (ValueError), deletes
    every row of a previous demo, writes a freshly generated company in one transaction and
    creates ``admin@``, ``analyst@`` and ``agent@demo.patronage`` with random passwords.
    """
    from patronage.demo import generate

    say = progress or (lambda message: None)
    say("Preparing the database schema")
    upgrade(engine)
    with engine.connect() as conn:
        _check_demo_only(conn)
    say(f"Generating the demo company (seed {seed})")
    company = generate(seed)
    with write_transaction(engine) as conn:
        # Checked again inside the write transaction: nothing real may have arrived meanwhile.
        if _check_demo_only(conn):
            say("Removing the previous demo data")
        _clear(conn)
        counts = _install(conn, company, progress)
    programme = (members_install.install(engine, company, say)
                 if company.members is not None else {})
    say("Creating the demo logins")
    users = {}
    for email, role, name in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        create_user(engine, email, password, role, display_name=name)
        users[email] = (role, password)
    if company.desk is not None:
        users.update(desk_install.set_printed_passwords(engine))
    if company.care is not None:
        care_install.hand_to_agent(engine, DEMO_USERS[2][0])
    if company.improvement is not None:
        say("Adding the service standard and the improvement actions")
        improvement_install.plan(engine, company, DEMO_USERS[1][0])
    admin_email = DEMO_USERS[0][0]
    return DemoSummary(
        customers=counts["customers"], transactions=counts["transactions"],
        responses=counts["responses"], cases=counts["cases"], waves=counts["waves"],
        admin_email=admin_email, admin_password=users[admin_email][1], users=users,
        seed=int(np.int64(seed)), care=_care_summary(company, counts), members=programme,
    )


def _care_summary(company: DemoCompany, counts: dict) -> dict:
    care = company.care
    if care is None or "care_tasks" not in counts:
        return {}
    groups = care.members["group"].value_counts()
    return {"tasks": counts["care_tasks"], "open": int(care.tasks["status"].eq("open").sum()),
            "greetings": counts["care_greetings"],
            "visits": int(care.contacts["kind"].eq("visit").sum()),
            "campaign": care.truth.campaign, "target": int(groups.get("target", 0)),
            "control": int(groups.get("control", 0))}


__all__ = ["DEMO_USERS", "DemoSummary", "build_demo_database", "install"]
