"""Saved views: stored per user and page on the selected database (SQLite or PostgreSQL), checked
when saved, seen and deleted by their owner only; and the filter bar's form, list and delete."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from patronage.accounts import create_user
from patronage.messages import UserError
from patronage.reporting.saved_views import (
    MAX_VIEWS_PER_PAGE, DuplicateView, canonical_query, delete_view, list_views, save_view,
)
from patronage.settings import Settings
from patronage.storage import write_transaction
from patronage.storage.schema import users
from patronage.storage.schema_views import saved_views
from patronage.web import create_app
from staff_login import log_in

pytestmark = pytest.mark.db


@pytest.fixture
def two_users(engine):
    return (create_user(engine, "lin@example.com", "Harbor-Violet-7731", "analyst"),
            create_user(engine, "wu@example.com", "Copper-Lantern-5520", "analyst"))


def test_views_are_saved_listed_and_deleted_per_user(engine, two_users):
    lin, wu = two_users
    east = save_view(engine, lin, "overview", "  East   China ", "region=East+China&wave=2026-Q2")
    assert east["name"] == "East China"  # spaces tidied
    assert east["query"] == "wave=2026-Q2&region=East+China"  # the filters' own order
    assert east["url"] == "/?wave=2026-Q2&region=East+China"
    save_view(engine, lin, "analysis", "East China", "region=East+China&flagged=true&x=1")
    save_view(engine, wu, "overview", "East China", "region=East+China")
    mine = list_views(engine, lin, "overview")
    assert [v["name"] for v in mine] == ["East China"] and mine[0]["id"] == east["id"]
    assert [v["url"] for v in list_views(engine, lin, "analysis")] == [
        "/analysis?region=East+China&flagged=true"]
    assert len(list_views(engine, lin)) == 2 and len(list_views(engine, wu)) == 1
    with pytest.raises(UserError, match="no such saved view"):  # not Wu's to delete
        delete_view(engine, wu, east["id"])
    assert len(list_views(engine, lin)) == 2
    assert delete_view(engine, lin, east["id"])["name"] == "East China"
    assert list_views(engine, lin, "overview") == []
    with pytest.raises(UserError, match="no such saved view"):
        delete_view(engine, lin, east["id"])


def test_a_duplicate_name_is_refused_unless_replaced(engine, two_users):
    lin, _wu = two_users
    first = save_view(engine, lin, "overview", "Mine", "region=East+China")
    with pytest.raises(DuplicateView, match="already have a view named “Mine”") as raised:
        save_view(engine, lin, "overview", "Mine", "region=North+China")
    assert raised.value.existing == first["id"]
    assert list_views(engine, lin)[0]["query"] == "region=East+China"
    replaced = save_view(engine, lin, "overview", "Mine", "region=North+China", replace=True)
    assert replaced["id"] == first["id"] and replaced["query"] == "region=North+China"
    assert save_view(engine, lin, "loyalty", "Mine", "")["url"] == "/loyalty"  # another page
    # The database itself refuses a second row of the same user, page and name.
    with pytest.raises(IntegrityError), write_transaction(engine) as conn:
        conn.execute(insert(saved_views).values(user_id=lin, page="overview", name="Mine",
                                                query="", created_at=first["created_at"]))


def test_bad_views_are_refused_with_a_reason(engine, two_users):
    lin, _wu = two_users
    with pytest.raises(UserError, match="must be a date"):
        save_view(engine, lin, "overview", "Bad", "date_from=31/03/2026")
    with pytest.raises(UserError, match="before it starts"):
        save_view(engine, lin, "overview", "Bad", "date_from=2026-05-01&date_to=2026-04-01")
    with pytest.raises(UserError, match="too long"):
        save_view(engine, lin, "overview", "Bad", "region=" + "x" * 200)
    with pytest.raises(UserError, match="Give the view a name"):
        save_view(engine, lin, "overview", "   ", "")
    with pytest.raises(UserError, match="at most 80"):
        save_view(engine, lin, "overview", "名" * 81, "")
    with pytest.raises(UserError, match="Overview, Analysis and Loyalty"):
        save_view(engine, lin, "cases", "Mine", "")
    assert list_views(engine, lin) == []
    assert canonical_query("overview", {"region": "East China", "flagged": "true"}) == (
        "region=East+China")  # flagged belongs to the Analysis page only


def test_views_go_with_their_user_and_are_bounded(engine, two_users):
    lin, wu = two_users
    for number in range(MAX_VIEWS_PER_PAGE):
        save_view(engine, lin, "overview", f"View {number}", "")
    with pytest.raises(UserError, match="delete one first"):
        save_view(engine, lin, "overview", "One more", "")
    save_view(engine, wu, "overview", "Kept", "")
    with write_transaction(engine) as conn:
        conn.execute(delete(users).where(users.c.id == lin))
    with engine.connect() as conn:
        left = conn.execute(select(func.count()).select_from(saved_views)).scalar()
    assert left == 1 and list_views(engine, wu)[0]["name"] == "Kept"


@pytest.fixture
def client(panel, db_url):
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as test_client:
        test_client.info = panel[1]
        yield test_client


def _page(client, url: str) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return BeautifulSoup(response.text, "html.parser")


def _save(client, page: BeautifulSoup, name: str, **extra):
    form = page.find(id="save-view")
    fields = {field["name"]: field.get("value", "") for field in form.find_all("input")}
    return client.post("/views", data={**fields, "name": name, **extra},
                       follow_redirects=False)


def test_the_filter_bar_saves_opens_and_deletes_my_views(client):
    log_in(client, "analyst")
    page = _page(client, "/?wave=2026-Q2")
    assert page.find(id="save-view").find("button").get_text() == "保存当前视图"
    assert page.find(id="my-views") is None
    saved = _save(client, page, "第二季度 <b>")
    assert saved.status_code == 303 and saved.headers["location"] == "/?wave=2026-Q2"
    page = _page(client, "/?wave=2026-Q2")
    link = page.select_one("#my-views li.current a")
    assert link.get_text() == "第二季度 <b>" and link["href"] == "/?wave=2026-Q2"  # escaped
    assert "<b>" not in str(page.find(id="my-views")).replace("&lt;b&gt;", "")
    assert page.select_one("#my-views li:not(.current)") is None
    elsewhere = _page(client, "/")  # listed, not the one shown
    assert elsewhere.select_one("#my-views li a").get_text() == "第二季度 <b>"
    assert elsewhere.select_one("#my-views li.current") is None
    # The same name again: said in Chinese, with "replace" and "another name".
    again = _save(client, page, "第二季度 <b>")
    assert again.status_code == 409
    problem = BeautifulSoup(again.text, "html.parser")
    assert "您在本页已有名为“第二季度 <b>”的视图" in problem.find(class_="error").get_text()
    replace = problem.find(id="replace-view").find_parent("form")
    fields = {field["name"]: field.get("value", "") for field in replace.find_all("input")}
    assert fields["replace"] == "yes"
    assert problem.select_one("#saved-view-problem p:last-child a")["href"] == "/?wave=2026-Q2"
    assert client.post("/views", data=fields, follow_redirects=False).status_code == 303
    # Deleting, from the confirmation inside the list.
    delete_form = page.select_one("#my-views details.delete-view form")
    fields = {field["name"]: field.get("value", "") for field in delete_form.find_all("input")}
    assert "删除视图“第二季度 <b>”" in delete_form.find("button").get_text()
    gone = client.post(delete_form["action"], data=fields, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/?wave=2026-Q2"
    assert _page(client, "/?wave=2026-Q2").find(id="my-views") is None


def test_views_are_private_and_need_the_form_token(client):
    log_in(client, "analyst")
    page = _page(client, "/analysis?region=East+China&flagged=true")
    assert page.find(id="save-view").find("input", {"name": "query"})["value"] == (
        "region=East+China&flagged=true")
    assert _save(client, page, "分析").status_code == 303
    view = page.select_one("#save-view input[name=csrf_token]")
    no_token = client.post("/views", data={"page": "overview", "name": "x", "query": ""},
                           follow_redirects=False)
    assert no_token.status_code == 403
    bad = client.post("/views", data={"csrf_token": view["value"], "page": "overview",
                                      "name": "坏", "query": "date_from=2026-13-01"})
    assert bad.status_code == 400 and "日期" in BeautifulSoup(bad.text, "html.parser").find(
        class_="error").get_text()
    mine = _page(client, "/analysis").select_one("#my-views li a")
    assert mine["href"] == "/analysis?region=East+China&flagged=true"
    view_id = _page(client, "/analysis").select_one("#my-views form")["action"].split("/")[2]
    client.cookies.clear()
    log_in(client, "admin")
    other = _page(client, "/analysis")
    assert other.find(id="my-views") is None  # the analyst's view is not the admin's
    token = other.select_one("#save-view input[name=csrf_token]")["value"]
    refused = client.post(f"/views/{view_id}/delete", data={"csrf_token": token, "next": "/"},
                          follow_redirects=False)
    assert refused.status_code == 404
    client.cookies.clear()
    log_in(client, "agent")  # agents have no dashboard pages, so no views
    token = _page(client, "/customers").select_one("form.logout input[name=csrf_token]")["value"]
    assert client.post("/views", data={"csrf_token": token, "page": "overview", "name": "x",
                                       "query": ""}, follow_redirects=False).status_code == 403
