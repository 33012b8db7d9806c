"""Follow-up rules: what makes a care task, and the worker job that makes them.

A rule has a trigger (:data:`CARE_TRIGGERS`) and its parameters:

* ``purchase`` ``{"days": 3, "category": "空调", "product": ...}``: N days after a purchase (in
  a category, of a product);
* ``touchpoint`` ``{"kind": "installation", "days": 1}``: N days after a touchpoint of a kind;
* ``case_resolved`` ``{"days": 2}``: N days after a case is resolved;
* ``visit_due`` ``{"every_days": 90}``: a key account not visited for that long (the customer's
  own ``visit_every_days`` wins). A visit is a contact of kind ``visit`` that reached the
  customer; a key account never visited counts from when it became a customer;
* ``alive_drop`` ``{"below": 0.5, "tiers": ["gold"], "within_days": 365}``: the probability
  that the customer is still buying (P(alive), BG/NBD as on the loyalty page) is below
  ``below`` for a customer of those tiers who bought in the last ``within_days`` days.

Each triggering event makes its task once (``care_tasks.source_key``: ``rule:{id}:transaction:
{id}``, ``rule:{id}:visit:{customer}:{day the visit is due}`` ...), whatever number of workers
run.
A new rule does not flood the lists with history: it looks back ``days`` before it was added
(an event whose follow-up is still due); afterwards it looks at events from ``days`` plus
:data:`LATE_DAYS` before its last run, so rows imported a few days late are still followed up.
Customers who asked not to be called get no call task.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from patronage.care.outcomes import ensure_defaults
from patronage.care.tasks import create_task, do_not_call
from patronage.care.texts import customer_language, fill, from_columns, pick
from patronage.cases.inputs import clean_text, team_id_of, user_id_of
from patronage.cases.records import case_number
from patronage.cases.routing import KEY_ACCOUNT_SIZES, next_in_rotation
from patronage.messages import N_, Term, UserError
from patronage.storage import write_transaction
from patronage.storage.schema import (
    TOUCHPOINT_KINDS, cases, customers, touchpoints, transactions, users,
)
from patronage.storage.schema_care import (
    CARE_TRIGGERS, TASK_TYPES, care_outcomes, care_rules, care_tasks, contacts,
)
from patronage.storage.schema_cases import teams

#: Days before a rule's last run it still looks for events (rows imported late).
LATE_DAYS = 7
#: An ``alive_drop`` rule looks at customers who bought within this many days (by default).
ALIVE_WITHIN_DAYS = 365
#: A ``visit_due`` task is made this many days before the visit is due.
VISIT_LEAD_DAYS = 7
_CHUNK = 500
_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")

#: A rule's name when none is given, in the company's customer language.
NAMES = {
    "purchase": {"en": "Follow-up {days} days after a purchase{of}",
                 "zh_Hans": "购买{of}后{days}天回访", "zh_Hant": "購買{of}後{days}天回訪"},
    "touchpoint": {"en": "Follow-up {days} days after {kind}", "zh_Hans": "{kind}后{days}天回访",
                   "zh_Hant": "{kind}後{days}天回訪"},
    "case_resolved": {"en": "Follow-up {days} days after a case is resolved",
                      "zh_Hans": "投诉解决后{days}天回访", "zh_Hant": "投訴解決後{days}天回訪"},
    "visit_due": {"en": "Key account visit every {every_days} days",
                  "zh_Hans": "大客户每{every_days}天拜访", "zh_Hant": "大客戶每{every_days}天拜訪"},
    "alive_drop": {"en": "Care call: P(alive) below {below:.0%}",
                   "zh_Hans": "关怀电话：存活概率低于{below:.0%}",
                   "zh_Hant": "關懷電話：存活機率低於{below:.0%}"},
}
KIND_NAMES = {"installation": ("installation", "安装", "安裝"),
              "maintenance": ("maintenance", "维修保养", "維修保養"),
              "delivery": ("delivery", "送货", "送貨"), "training": ("training", "培训", "培訓")}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- parsing and managing rules ------------------------------------------------------------------

def _whole(value, field: str, *, minimum: int = 0, default: int | None = None) -> int:
    if value in (None, ""):
        if default is None:
            raise UserError(N_("The {field} is required."), field=Term(field))
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        number = minimum - 1
    if number < minimum or number > 3650:
        raise UserError(N_("The {field} must be a whole number from {low} to {high}; not "
                           "{value!r}."), field=Term(field), low=minimum, high=3650,
                        value=str(value)[:20])
    return number


def parse_params(trigger: str, *, days=None, category=None, product=None, kind=None,
                 every_days=None, below=None, tiers=None, within_days=None) -> dict:
    """A rule's checked parameters from what a form or the command line gives."""
    if trigger not in CARE_TRIGGERS:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(N_("trigger")), allowed=", ".join(CARE_TRIGGERS),
                        value=str(trigger)[:40])
    if trigger == "purchase":
        params = {"days": _whole(days, N_("days"))}
        for key, value in (("category", category), ("product", product)):
            if value and str(value).strip():
                params[key] = str(value).strip()[:200]
        return params
    if trigger == "touchpoint":
        kind = str(kind or "installation").strip()
        if kind not in TOUCHPOINT_KINDS:
            raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                            field=Term(N_("touchpoint")), allowed=", ".join(TOUCHPOINT_KINDS),
                            value=kind[:40])
        return {"kind": kind, "days": _whole(days, N_("days"), default=1)}
    if trigger == "case_resolved":
        return {"days": _whole(days, N_("days"), default=2)}
    if trigger == "visit_due":
        return {"every_days": _whole(every_days if every_days not in (None, "") else days,
                                     N_("days between visits"), minimum=1, default=90)}
    try:
        threshold = 0.5 if below in (None, "") else float(below)
    except ValueError:
        threshold = -1.0
    if not 0 < threshold < 1:
        raise UserError(N_("The {field} must be a probability between 0 and 1; not {value!r}."),
                        field=Term(N_("P(alive) threshold")), value=str(below)[:20])
    if isinstance(tiers, str):
        tiers = [t for t in re.split(r"[,，\s]+", tiers) if t]
    params = {"below": threshold, "tiers": [str(t).strip()[:50] for t in tiers or []],
              "within_days": _whole(within_days, N_("days"), minimum=1,
                                    default=ALIVE_WITHIN_DAYS)}
    return params


def default_name(trigger: str, params: dict, language: str = "zh_Hans") -> str:
    template = NAMES[trigger].get(language, NAMES[trigger]["en"])
    index = {"en": 0, "zh_Hans": 1, "zh_Hant": 2}.get(language, 0)
    kind = params.get("kind", "")
    of = params.get("category") or params.get("product") or ""
    if language == "en" and of:
        of = f" in {of}"
    return template.format(days=params.get("days", ""), of=of,
                           kind=KIND_NAMES.get(kind, (kind,) * 3)[index],
                           every_days=params.get("every_days", ""),
                           below=params.get("below", 0.5))[:200]


def add_rule(engine: Engine, *, trigger: str, params: dict, task_type: str = "call",
             name: str | None = None, code: str | None = None, team: str | None = None,
             assignee: str | int | None = None, to_account_owner: bool = False,
             scripts: dict | None = None, language: str = "zh_Hans",
             now: datetime | None = None) -> dict:
    """Add an active follow-up rule; returns ``{"id", "code", "name"}``. ``params`` as made by
    :func:`parse_params`; ``scripts`` ``{"en": ..., "zh_Hans": ..., "zh_Hant": ...}``; ``team``
    by name, ``assignee`` by e-mail; ``language`` names a rule given no name."""
    params = parse_params(trigger, **params)
    if task_type not in TASK_TYPES:
        raise UserError(N_("The {field} must be one of {allowed}; not {value!r}."),
                        field=Term(N_("task type")), allowed=", ".join(TASK_TYPES),
                        value=str(task_type)[:40])
    name = clean_text(name, "name") or default_name(trigger, params, language)
    code = (code or "").strip() or None
    if code is not None and not _CODE.match(code):
        raise UserError(N_("A rule code is 1 to 60 letters, digits, dots, dashes or "
                           "underscores; not {code!r}."), code=code[:60])
    scripts = {k: (v or "").strip() or None for k, v in (scripts or {}).items()}
    now = now or _now()
    with write_transaction(engine) as conn:
        values = dict(name=name[:200], trigger=trigger, params=params, task_type=task_type,
                      team_id=team_id_of(conn, team), assignee_id=user_id_of(conn, assignee),
                      to_account_owner=bool(to_account_owner), script_en=scripts.get("en"),
                      script_zh_hans=scripts.get("zh_Hans"), script_zh_hant=scripts.get("zh_Hant"),
                      active=True, created_at=now, checked_up_to=0)
        if code is None:
            last = conn.execute(select(func.max(care_rules.c.id))).scalar() or 0
            code = f"{trigger}-{last + 1}"
        if conn.execute(select(care_rules.c.id).where(care_rules.c.code == code)).first():
            raise UserError(N_("There is a rule {code!r} already; choose another code."),
                            code=code)
        rule_id = conn.execute(insert(care_rules).values(code=code, **values)
                               ).inserted_primary_key[0]
    return {"id": int(rule_id), "code": code, "name": name}


def _rule_where(rule):
    text = str(rule).strip()
    return care_rules.c.id == int(text) if text.isdigit() else care_rules.c.code == text


def list_rules(engine: Engine) -> list[dict]:
    """Every rule with its team, assignee and the tasks it made (open and in all)."""
    r, t = care_rules.c, care_tasks.c
    made = (select(t.rule_id, func.count().label("made"),
                   func.sum(case((t.status == "open", 1), else_=0)).label("open"))
            .group_by(t.rule_id).subquery())
    query = (select(care_rules, teams.c.name.label("team"), users.c.email.label("assignee"),
                    func.coalesce(made.c.made, 0).label("made"),
                    func.coalesce(made.c.open, 0).label("open_tasks"))
             .outerjoin(teams, teams.c.id == r.team_id)
             .outerjoin(users, users.c.id == r.assignee_id)
             .outerjoin(made, made.c.rule_id == r.id)
             .order_by(r.active.desc(), r.id))
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


def switch_rule(engine: Engine, rule, active: bool) -> str:
    """Switch a rule (by id or code) off or on again; returns its code."""
    with write_transaction(engine) as conn:
        code = conn.execute(select(care_rules.c.code).where(_rule_where(rule))).scalar()
        if code is None:
            raise UserError(N_("There is no follow-up rule {rule!r}."), rule=str(rule)[:60])
        conn.execute(update(care_rules).where(_rule_where(rule)).values(active=active))
    return code


def remove_rule(engine: Engine, rule) -> str:
    """Delete a rule (by id or code); the tasks it made stay. Returns its code."""
    with write_transaction(engine) as conn:
        code = conn.execute(select(care_rules.c.code).where(_rule_where(rule))).scalar()
        if code is None:
            raise UserError(N_("There is no follow-up rule {rule!r}."), rule=str(rule)[:60])
        conn.execute(delete(care_rules).where(_rule_where(rule)))
    return code


# -- running the rules ---------------------------------------------------------------------------

def _since(rule: dict, days: int) -> datetime:
    start = rule["created_at"]
    if rule["last_run_at"] is not None:
        start = max(start, rule["last_run_at"] - timedelta(days=LATE_DAYS))
    return start - timedelta(days=days)


def _purchase_events(conn: Connection, rule: dict, now: datetime):
    days = int(rule["params"].get("days", 0))
    x = transactions.c
    query = select(x.id, x.customer_id, x.occurred_at, x.product, x.category, x.amount).where(
        x.occurred_at >= _since(rule, days), x.occurred_at <= now, x.is_refund.is_(False))
    for key in ("category", "product"):
        if rule["params"].get(key):
            query = query.where(x[key] == rule["params"][key])
    for row in conn.execute(query.order_by(x.id)):
        yield (f"transaction:{row.id}", row.customer_id, row.occurred_at + timedelta(days=days),
               {"product": row.product or "", "category": row.category or "",
                "date": f"{row.occurred_at:%Y-%m-%d}", "amount": row.amount})


def _touchpoint_events(conn: Connection, rule: dict, now: datetime):
    days = int(rule["params"].get("days", 1))
    p = touchpoints.c
    query = select(p.id, p.customer_id, p.occurred_at, p.kind).where(
        p.kind == rule["params"].get("kind", "installation"),
        p.occurred_at >= _since(rule, days), p.occurred_at <= now)
    for row in conn.execute(query.order_by(p.id)):
        yield (f"touchpoint:{row.id}", row.customer_id, row.occurred_at + timedelta(days=days),
               {"kind": row.kind, "date": f"{row.occurred_at:%Y-%m-%d}"})


def _case_events(conn: Connection, rule: dict, now: datetime):
    days = int(rule["params"].get("days", 2))
    k = cases.c
    query = select(k.id, k.customer_id, k.resolved_at, k.subject).where(
        k.resolved_at.is_not(None), k.resolved_at >= _since(rule, days), k.resolved_at <= now)
    for row in conn.execute(query.order_by(k.id)):
        yield (f"case:{row.id}:{row.resolved_at:%Y%m%d%H%M}", row.customer_id,
               row.resolved_at + timedelta(days=days),
               {"case": case_number(row.id), "case_subject": row.subject,
                "date": f"{row.resolved_at:%Y-%m-%d}"})


def _visit_events(conn: Connection, rule: dict, now: datetime):
    every = int(rule["params"].get("every_days", 90))
    c, v = customers.c, contacts.c
    reached = select(care_outcomes.c.code).where(care_outcomes.c.reached)
    visits = (select(v.customer_id, func.max(v.at).label("last"))
              .where(v.kind == "visit", v.at <= now,
                     or_(v.outcome.is_(None), v.outcome.in_(reached)))
              .group_by(v.customer_id).subquery())
    query = (select(c.id, c.created_at, c.visit_every_days, visits.c.last)
             .outerjoin(visits, visits.c.customer_id == c.id)
             .where(or_(c.visit_every_days.is_not(None),
                        func.lower(func.trim(c.size)).in_(KEY_ACCOUNT_SIZES)),
                    c.lost_on.is_(None)))
    for row in conn.execute(query.order_by(c.id)):
        interval = timedelta(days=row.visit_every_days or every)
        due = (row.last or row.created_at) + interval
        if due < now:  # a whole plan period missed: the visit of the latest period is due
            due += interval * ((now - due) // interval)
        if due <= now + timedelta(days=VISIT_LEAD_DAYS):
            yield (f"visit:{row.id}:{due:%Y-%m-%d}", row.id, due,
                   {"date": f"{row.last:%Y-%m-%d}" if row.last else "",
                    "days": row.visit_every_days or every})


def _alive_events(conn: Connection, rule: dict, now: datetime, alive):
    if alive is None or alive.empty:
        return
    params = rule["params"]
    since = now - timedelta(days=int(params.get("within_days", ALIVE_WITHIN_DAYS)))
    low = alive[(alive["p_alive"] < float(params.get("below", 0.5)))
                & (alive["last_purchase"] >= since)]
    if params.get("tiers"):
        low = low[low["tier"].isin(params["tiers"])]
    for customer_id, row in low.iterrows():
        yield (f"alive:{int(customer_id)}:{row['last_purchase']:%Y-%m-%d}", int(customer_id),
               max(now, rule["created_at"]),
               {"p_alive": f"{row['p_alive']:.0%}", "date": f"{row['last_purchase']:%Y-%m-%d}"})


EVENTS = {"purchase": _purchase_events, "touchpoint": _touchpoint_events,
          "case_resolved": _case_events, "visit_due": _visit_events}


def alive_table(engine: Engine):
    """P(alive), last purchase and tier per customer (one BG/NBD fit over all customers, as
    the loyalty page's), or None when there are too few sales to fit it."""
    import pandas as pd

    from patronage.loyalty.analysis import fit_value_models
    from patronage.storage import read_customers

    try:
        models = fit_value_models(engine)
    except (UserError, ValueError, ArithmeticError):
        return None
    summary = models.summary
    last = summary["first_purchase"] + pd.to_timedelta(summary["recency"], unit="D")
    table = pd.DataFrame({"p_alive": models.customers["p_alive"], "last_purchase": last})
    # The fit is indexed by external id; tasks need the customer's key in the database.
    panel = read_customers(engine).set_index("customer_id")[["customer_pk", "tier"]]
    table = table.join(panel, how="inner")
    return table.set_index("customer_pk")


def _existing(conn: Connection, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        found.update(conn.execute(select(care_tasks.c.source_key)
                                  .where(care_tasks.c.source_key.in_(chunk))).scalars())
    return found


def _customers(conn: Connection, ids: list[int]) -> dict[int, dict]:
    found: dict[int, dict] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = conn.execute(select(customers).where(customers.c.id.in_(ids[start:start + _CHUNK])))
        found.update({row["id"]: dict(row) for row in rows.mappings()})
    return found


def _people(conn: Connection, rule: dict, customer: dict, now: datetime):
    """``(team_id, assignee_id)`` of a rule's task for ``customer``."""
    owner = customer.get("account_owner_id")
    if rule["to_account_owner"] and owner and conn.execute(
            select(users.c.is_active).where(users.c.id == owner)).scalar():
        return rule["team_id"], owner
    if rule["assignee_id"] is not None:
        return rule["team_id"], rule["assignee_id"]
    if rule["team_id"] is not None:
        return rule["team_id"], next_in_rotation(conn, rule["team_id"], now)
    return None, None


def run_rule(engine: Engine, rule: dict, *, now: datetime, language: str = "zh_Hans",
             alive=None) -> int:
    """Make the tasks one rule's new events call for, in one write transaction; returns how
    many it made."""
    made = 0
    with write_transaction(engine) as conn:
        if rule["trigger"] == "alive_drop":
            events = list(_alive_events(conn, rule, now, alive))
        else:
            events = list(EVENTS[rule["trigger"]](conn, rule, now))
        if rule["trigger"] in ("visit_due", "alive_drop"):  # one open task per customer
            waiting = set(conn.execute(select(care_tasks.c.customer_id).where(
                care_tasks.c.rule_id == rule["id"], care_tasks.c.status == "open")).scalars())
            events = [e for e in events if e[1] not in waiting]
        keys = [f"rule:{rule['id']}:{key}" for key, *_ in events]
        done = _existing(conn, keys)
        todo = [(k, e) for k, e in zip(keys, events, strict=True) if k not in done]
        people = _customers(conn, sorted({e[1] for _, e in todo}))
        scripts = from_columns(rule, "script")
        for key, (_, customer_id, due_at, extra) in todo:
            customer = people.get(customer_id)
            if customer is None or customer.get("lost_on") is not None:
                continue
            if rule["task_type"] == "call" and do_not_call(customer.get("preferences")):
                continue
            team_id, assignee_id = _people(conn, rule, customer, now)
            script = fill(pick(scripts, customer_language(customer, language)), customer,
                          extra) or None
            if create_task(conn, customer_id=customer_id, subject=rule["name"], due_at=due_at,
                           type=rule["task_type"], script=script, team_id=team_id,
                           assignee_id=assignee_id, source_key=key[:160], rule_id=rule["id"],
                           now=now) is not None:
                made += 1
        conn.execute(update(care_rules).where(care_rules.c.id == rule["id"])
                     .values(last_run_at=now))
    return made


def run_rules(engine: Engine, settings=None, *, now: datetime | None = None) -> int:
    """The worker's job: run every active rule once; returns the number of tasks made.

    P(alive) is fitted once per call, and only when an active ``alive_drop`` rule exists.
    """
    now = now or _now()
    language = getattr(settings, "customer_language", None) or "zh_Hans"
    with engine.connect() as conn:
        rules = [dict(row) for row in conn.execute(
            select(care_rules).where(care_rules.c.active).order_by(care_rules.c.id)).mappings()]
    if not rules:
        return 0
    with write_transaction(engine) as conn:
        ensure_defaults(conn)  # the visit rule reads which outcomes reached the customer
    alive = alive_table(engine) if any(r["trigger"] == "alive_drop" for r in rules) else None
    made = 0
    for rule in rules:
        try:
            made += run_rule(engine, rule, now=now, language=language, alive=alive)
        except IntegrityError:  # the rule was removed while it ran: nothing to make
            continue
    return made


__all__ = ["ALIVE_WITHIN_DAYS", "LATE_DAYS", "NAMES", "VISIT_LEAD_DAYS", "add_rule",
           "alive_table", "default_name", "list_rules", "parse_params", "remove_rule",
           "run_rule", "run_rules", "switch_rule"]
