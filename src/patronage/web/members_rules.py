"""The earning rules page (admins): the rules in words, adding and changing one, switching it
off and on, removing one that has given no points, and the accrual's last run.

Every form posts with the CSRF token, runs one call of :mod:`patronage.members.earning` and
redirects back with a notice, or shows the page again with the reason in the reader's language.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from patronage.members import earning
from patronage.messages import N_, UserError
from patronage.reporting.member_rules import rules_page
from patronage.web.deps import (
    check_csrf, form_fields, gettext_for, language_of, render, require_user,
)
from patronage.web.labels import labels_of

router = APIRouter()
CSRF = [Depends(check_csrf)]
DONE = {"added": N_("The rule {code} was added."), "saved": N_("The rule {code} was saved."),
        "off": N_("The rule {code} was switched off."),
        "on": N_("The rule {code} was switched on."),
        "removed": N_("The rule {code} was removed.")}
#: The form's fields passed to the service as they are.
FIELDS = ("name", "category", "channel", "weekday", "day_of_month", "cap_per_transaction",
          "cap_per_month", "starts_on", "ends_on")


def _page(request: Request, status: int = 200, **context):
    shown = rules_page(request.app.state.engine, language=language_of(request),
                       gettext=gettext_for(request), label=labels_of(request),
                       timezone=request.app.state.settings.timezone)
    return render(request, "members_rules.html", status, **shown, **context)


def _values(form: dict, kind: str) -> dict:
    """The service's fields from the form: the one amount box means points per ¥1, the
    multiplier or the points, by the rule's kind; unticked tiers mean every tier."""
    tiers = form.get("tiers") or []
    values = {k: form.get(k, "") for k in FIELDS}
    values["tiers"] = [tiers] if isinstance(tiers, str) else list(tiers)
    values.update(dict.fromkeys(("points_per_yuan", "multiplier", "points"), ""))
    values[earning.AMOUNT_OF.get(kind, "points")] = form.get("amount", "")
    return values


def _back(**query) -> RedirectResponse:
    return RedirectResponse("/members/rules?" + urlencode(query), status_code=303)


@router.get("/members/rules")
def rules(request: Request, done: str = "", code: str = "", edit: int = 0):
    require_user(request, "admin")
    form, editing = {"kind": "purchase"}, None
    if edit:
        try:
            editing = earning.get_rule(request.app.state.engine, edit)
        except UserError:
            raise HTTPException(404) from None
        amount = editing.get(earning.AMOUNT_OF[editing["kind"]])
        if isinstance(amount, float) and amount.is_integer():
            amount = int(amount)  # 2, not 2.0
        form = {**editing, "amount": amount}
    notice = UserError(DONE[done], code=code) if done in DONE else None
    return _page(request, form=form, editing=editing, done=notice)


@router.post("/members/rules", dependencies=CSRF)
def add(request: Request, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    kind = str(form.get("kind", ""))
    try:
        made = earning.add_rule(request.app.state.engine, kind, code=form.get("code") or None,
                                language=request.app.state.settings.customer_language,
                                **_values(form, kind))
    except UserError as exc:
        return _page(request, 400, form=form, editing=None, error=exc)
    return _back(done="added", code=made["code"])


@router.post("/members/rules/{rule_id}", dependencies=CSRF)
def save(request: Request, rule_id: int, form: dict = Depends(form_fields)):
    require_user(request, "admin")
    engine = request.app.state.engine
    try:
        rule = earning.get_rule(engine, rule_id)
    except UserError:
        raise HTTPException(404) from None
    try:
        saved = earning.update_rule(engine, rule_id, **_values(form, rule["kind"]))
    except UserError as exc:
        return _page(request, 400, form={**form, "kind": rule["kind"]}, editing=rule, error=exc)
    return _back(done="saved", code=saved["code"])


@router.post("/members/rules/{rule_id}/{action}", dependencies=CSRF)
def change(request: Request, rule_id: int, action: str):
    require_user(request, "admin")
    if action not in ("off", "on", "remove"):
        raise HTTPException(404)
    engine = request.app.state.engine
    try:
        if action == "remove":
            code = earning.remove_rule(engine, rule_id)
        else:
            code = earning.switch_rule(engine, rule_id, action == "on")
    except earning.RuleInUse as exc:
        return _page(request, 400, form={"kind": "purchase"}, editing=None, error=exc)
    except UserError:
        raise HTTPException(404) from None
    return _back(done="removed" if action == "remove" else action, code=code)


__all__ = ["router"]
