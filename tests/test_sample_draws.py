"""Sampling from the survey page: a quota cell that matches no stratum is refused (naming the
strata there are), a draw can be previewed before anyone is invited, and a draw whose mail has
not gone out can be withdrawn (issue 10, item 6)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select
from test_survey_admin import (  # noqa: F401  (client is a fixture)
    _login,
    _open_with_wave,
    _post,
    _soup,
    client,
)

from patronage.storage.schema import customers, invitations, outbox
from patronage.surveys.draws import list_draws, withdraw_draw
from patronage.surveys.outbox import SinkSender, deliver_pending
from patronage.surveys.program import draw_sample
from patronage.surveys.sampling import check_quota_cells

pytestmark = pytest.mark.db

STRATIFIED = {"wave": "W1", "method": "stratified", "n": "8", "strata": "region",
              "allocation": "proportional"}


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(invitations)).scalar_one(),
                conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_a_quota_cell_matching_no_stratum_is_refused_naming_the_strata():
    frame = pd.DataFrame({"region": ["East China", "North China", "East China"]})
    with pytest.raises(ValueError) as info:
        check_quota_cells(frame, {"华东": 50, "East China": 10}, ["region"])
    text = str(info.value)
    assert "华东" in text and "East China" in text and "North China" in text
    check_quota_cells(frame, {"East China": 1}, ["region"])  # a known cell is fine
    two = pd.DataFrame({"region": ["East", "North"], "size": ["small", "large"]})
    with pytest.raises(ValueError, match="East / large"):
        check_quota_cells(two, {("East", "large"): 3}, ["region", "size"])


def test_the_sample_form_refuses_an_unknown_quota_cell_and_invites_no_one(client):  # noqa: F811
    page = _open_with_wave(client)
    client.cookies.set("patronage_lang", "zh_Hans")
    response = _post(client, f"{page}/sample", {**STRATIFIED, "quotas": "华东=50"}, page)
    assert response.status_code == 400
    error = _soup(response).select_one("#error").text
    assert "华东" in error and all(r in error for r in ("East", "North", "South"))
    assert "配额" in error  # in the reader's language
    assert _counts(client.engine) == (0, 0)


def test_a_preview_invites_no_one_and_the_confirmed_draw_is_the_one_previewed(client):  # noqa: F811
    page = _open_with_wave(client)
    response = _post(client, f"{page}/sample", {**STRATIFIED, "action": "preview"}, page)
    assert response.status_code == 200, response.text
    soup = _soup(response)
    assert soup.select_one("#preview") is not None
    previewed = sorted(td.text for td in soup.select("#sample-customers tbody td.customer-id"))
    assert len(previewed) == 8 and _counts(client.engine) == (0, 0)
    # The confirm button carries every choice and the seed the preview used.
    confirm = soup.select_one("form#confirm-draw")
    data = {i["name"]: i.get("value", "") for i in confirm.select("input[type=hidden]")}
    assert data["seed"] and data["method"] == "stratified" and data["strata"] == "region"
    response = client.post(confirm["action"], data=data)
    assert response.status_code == 200 and _soup(response).select_one("#invited").text == "8"
    with client.engine.connect() as conn:
        invited = sorted(conn.execute(select(customers.c.external_id).join(
            invitations, invitations.c.customer_id == customers.c.id)).scalars())
    assert invited == previewed


def test_an_unsent_draw_can_be_withdrawn_a_sent_one_cannot(client):  # noqa: F811
    page = _open_with_wave(client)
    _post(client, f"{page}/sample", {**STRATIFIED, "n": "3", "seed": "1"}, page)
    shown = _soup(client.get(page)).select("#draws tbody tr")
    assert len(shown) == 1 and shown[0].select_one("form.withdraw") is not None
    drawn_at = shown[0].select_one("form.withdraw input[name=drawn_at]")["value"]
    response = _post(client, f"{page}/draws/withdraw", {"drawn_at": drawn_at}, page)
    assert response.status_code == 200 and _soup(response).select_one("#notice")
    assert _counts(client.engine) == (0, 0)
    assert _soup(response).select("#draws tbody tr") == []
    # Once its mail has gone out, a draw stays, and the page says why.
    _post(client, f"{page}/sample", {**STRATIFIED, "n": "3", "seed": "2"}, page)
    deliver_pending(client.engine, SinkSender(client.sink), mail_from="s@example.com")
    row = _soup(client.get(page)).select_one("#draws tbody tr")
    assert row.select_one("form.withdraw") is None
    drawn = list_draws(client.engine, "nps-2026")
    with pytest.raises(ValueError, match="sent"):
        withdraw_draw(client.engine, "nps-2026", drawn["drawn_at"].iloc[0].to_pydatetime())
    assert _counts(client.engine) == (3, 3)


def test_withdrawing_an_unknown_draw_is_explained(client):  # noqa: F811
    page = _open_with_wave(client)
    response = _post(client, f"{page}/draws/withdraw", {"drawn_at": "yesterday"}, page)
    assert response.status_code == 400 and _soup(response).select_one("#error").text


def test_draws_of_two_waves_are_listed_apart(engine, panel):
    from patronage.surveys.admin import create_from_template
    from patronage.surveys.program import add_wave, set_status

    create_from_template(engine, "nps", "n1")
    set_status(engine, "n1", "open")
    add_wave(engine, "n1", "A", date(2026, 1, 1))
    add_wave(engine, "n1", "B", date(2026, 2, 1))
    draw_sample(engine, "n1", "A", n=1, seed=1, channel="link")
    draw_sample(engine, "n1", "B", n=2, seed=1, channel="link")
    draws = list_draws(engine, "n1")
    assert sorted(zip(draws["wave"], draws["invitations"], strict=True)) == [("A", 1), ("B", 2)]
    assert draws["withdrawable"].all()


def test_the_command_line_previews_a_draw_and_refuses_an_unknown_quota_cell(engine, panel):
    from click.testing import CliRunner

    from patronage.cli import main
    from patronage.surveys.admin import create_from_template
    from patronage.surveys.program import add_wave, set_status

    url = engine.url.render_as_string(hide_password=False)
    create_from_template(engine, "nps", "n2")
    set_status(engine, "n2", "open")
    add_wave(engine, "n2", "W", date(2026, 1, 1))
    base = ["survey", "sample", "n2", "--wave", "W", "--channel", "link", "--db", url]
    preview = CliRunner().invoke(main, [*base, "--n", "2", "--preview"])
    assert preview.exit_code == 0, preview.output
    assert "--seed" in preview.output and _counts(engine) == (0, 0)
    bad = CliRunner().invoke(main, [*base, "--method", "stratified", "--n", "2", "--strata",
                                    "region", "--quotas", "华东=1"])
    assert bad.exit_code != 0 and "East China" in bad.output and "Traceback" not in bad.output
    assert _counts(engine) == (0, 0)


@pytest.mark.parametrize(("fields", "named"), [
    ({"method": "targeted", "n": "", "segments": "region=华东"}, "华东"),
    ({"method": "stratified", "allocation": "neyman", "sd": "East=1; Nort=2; South=1",
      "strata": "region"}, "Nort"),
])
def test_other_choices_that_match_no_customer_are_refused_too(client, fields, named):  # noqa: F811
    """The same class as the quota: a segment value or a Neyman standard deviation for a
    stratum that does not exist would silently shrink or skew the draw."""
    page = _open_with_wave(client)
    response = _post(client, f"{page}/sample", {**STRATIFIED, **fields}, page)
    assert response.status_code == 400, response.text
    error = _soup(response).select_one("#error").text
    assert named in error and all(r in error for r in ("East", "North", "South")), error
    assert _counts(client.engine) == (0, 0)


def test_the_command_line_lists_and_withdraws_an_unsent_draw(engine, panel):
    from click.testing import CliRunner

    from patronage.cli import main
    from patronage.surveys.admin import create_from_template
    from patronage.surveys.program import add_wave, set_status

    url = engine.url.render_as_string(hide_password=False)
    create_from_template(engine, "nps", "n3")
    set_status(engine, "n3", "open")
    add_wave(engine, "n3", "W", date(2026, 1, 1))
    draw_sample(engine, "n3", "W", n=2, seed=1, channel="link")
    listed = CliRunner().invoke(main, ["survey", "draws", "n3", "--db", url])
    assert listed.exit_code == 0 and "can be withdrawn" in listed.output, listed.output
    drawn_at = listed.output.split()[0]
    gone = CliRunner().invoke(main, ["survey", "draws", "n3", "--withdraw", drawn_at, "--db", url])
    assert gone.exit_code == 0 and "2 invitation" in gone.output, gone.output
    assert _counts(engine) == (0, 0)
    again = CliRunner().invoke(main, ["survey", "draws", "n3", "--withdraw", drawn_at, "--db", url])
    assert again.exit_code != 0 and "Traceback" not in again.output
