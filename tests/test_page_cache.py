"""The page cache: a repeat visit with unchanged data renders from memory; any committed change to
the panel (a response, a cleaning run, an import, a case, a transaction, a survey status) makes
the next visit compute again. Computations are counted, never timed. SQLite, or PostgreSQL when
PATRONAGE_TEST_DATABASE_URL says so."""

from __future__ import annotations

import functools
import threading
from datetime import datetime

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DatabaseError

from conftest import backend_name
from patronage.reporting import shared as shared_module
from patronage.reporting.filters import Filters
from patronage.reporting.page_cache import PageCache
from patronage.settings import Settings
from patronage.storage import DataVersion, insert_rows, quiet_transaction, write_transaction
from patronage.storage.importing import import_file
from patronage.storage.schema import answers, cases, responses, surveys, users
from patronage.web import analysis as analysis_pages
from patronage.web import create_app, pages
from patronage.web import overview as overview_pages

# --- the cache itself ---------------------------------------------------------------------------


class Counter:
    def __init__(self, value="result"):
        self.calls = 0
        self.value = value

    def __call__(self):
        self.calls += 1
        return (self.value, self.calls)


def test_a_repeat_get_is_served_from_memory_until_the_version_changes():
    version = ["v1"]
    cache = PageCache(lambda: version[0])
    compute = Counter()
    first = cache.get("loyalty", ("en",), compute)
    assert cache.get("loyalty", ("en",), compute) is first
    assert compute.calls == 1 and cache.computed == 1 and cache.hits == 1
    version[0] = "v2"
    assert cache.get("loyalty", ("en",), compute) == ("result", 2)
    assert cache.get("loyalty", ("en",), compute) == ("result", 2)
    assert compute.calls == 2 and len(cache) == 1  # the old version was replaced, not kept


def test_parameters_and_pages_are_separate_keys():
    cache = PageCache(lambda: 1)
    compute = Counter()
    cache.get("analysis", ("relationship", "en"), compute)
    cache.get("analysis", ("relationship", "zh_Hans"), compute)
    cache.get("loyalty", ("relationship", "en"), compute)
    assert compute.calls == 3
    cache.get("analysis", ("relationship", "en"), compute)
    assert compute.calls == 3


def test_without_a_version_nothing_is_kept():
    cache = PageCache(lambda: None)
    compute = Counter()
    cache.get("loyalty", (), compute)
    cache.get("loyalty", (), compute)
    assert compute.calls == 2 and len(cache) == 0


def test_each_page_keeps_a_bounded_number_of_entries_least_recently_used_first():
    cache = PageCache(lambda: 1, entries_per_page=2)
    compute = Counter()
    cache.get("analysis", "a", compute)
    cache.get("analysis", "b", compute)
    cache.get("analysis", "a", compute)  # a is now the most recently used
    cache.get("analysis", "c", compute)  # b leaves
    assert len(cache) == 2 and compute.calls == 3
    cache.get("analysis", "a", compute)
    assert compute.calls == 3
    cache.get("analysis", "b", compute)
    assert compute.calls == 4
    with pytest.raises(ValueError, match="at least 1"):
        PageCache(lambda: 1, entries_per_page=0)


def test_a_failed_computation_is_not_kept():
    cache = PageCache(lambda: 1)

    def broken():
        raise RuntimeError("model did not converge")

    with pytest.raises(RuntimeError, match="converge"):
        cache.get("loyalty", (), broken)
    assert len(cache) == 0
    assert cache.get("loyalty", (), Counter()) == ("result", 1)


def test_concurrent_first_visits_compute_once_without_blocking_other_keys():
    cache = PageCache(lambda: 1)
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append("slow")
        started.set()
        assert release.wait(10)
        return "slow result"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("loyalty", (), slow)))
               for _ in range(6)]
    threads[0].start()
    assert started.wait(10)
    for thread in threads[1:]:
        thread.start()
    # While the first computation is under way another key computes and returns at once.
    assert cache.get("analysis", (), lambda: "other") == "other"
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["slow result"] * 6
    assert calls == ["slow"] and cache.computed == 2


# --- the data version -------------------------------------------------------------------------


def _response(conn, n: int, score: float) -> None:
    insert_rows(conn, responses, [{"external_id": f"NEW{n}", "survey_id": 1, "wave_id": 2,
                                   "customer_id": 1, "channel": "web",
                                   "submitted_at": datetime(2026, 5, 20), "weight": 1.0}])
    pk = conn.execute(select(responses.c.id).where(responses.c.external_id == f"NEW{n}")).scalar()
    insert_rows(conn, answers, [{"response_id": pk, "item_code": "nps", "value_num": score,
                                 "value_text": None}])


def _write_response(engine, _tmp_path):
    with write_transaction(engine) as conn:
        _response(conn, 1, 10.0)


def _clean(engine, _tmp_path):
    # The UPDATE a cleaning run makes (patronage.surveys.quality.clean_survey).
    with write_transaction(engine) as conn:
        conn.execute(update(responses).where(responses.c.id == 5)
                     .values(quality_flags={"speeder": "completed in 41 s"}))


def _reweight(engine, _tmp_path):
    with write_transaction(engine) as conn:
        conn.execute(update(responses).where(responses.c.id == 7).values(weight=1.5))


def _replace_answers_in_place(engine, _tmp_path):
    # As a re-import does: the last response's answers deleted and reinserted, same count (on
    # SQLite the new rows reuse the deleted rowids, so count and max(rowid) stay the same).
    with write_transaction(engine) as conn:
        kept = conn.execute(select(answers).where(answers.c.response_id == 60)).mappings().all()
        conn.execute(delete(answers).where(answers.c.response_id == 60))
        insert_rows(conn, answers, [{**row, "value_num": (row["value_num"] or 0) + 1}
                                    if row["value_num"] is not None else dict(row)
                                    for row in kept])


def _import_customers(engine, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,name\nC003,王伟伟\n", encoding="utf-8")
    report = import_file(engine, "customers", path)
    assert report.updated == 1, report


def _import_transactions(engine, tmp_path):
    path = tmp_path / "transactions.csv"
    path.write_text("order_no,customer_id,date,amount\nT3,C001,2025-04-04,999\n",
                    encoding="utf-8")
    report = import_file(engine, "transactions", path)
    assert report.updated == 1, report


def _new_case(engine, _tmp_path):
    with write_transaction(engine) as conn:
        insert_rows(conn, cases, [{"customer_id": 1, "type": "inquiry", "status": "new",
                                   "subject": "Invoice copy", "opened_at": datetime(2026, 6, 2)}])


def _close_case(engine, _tmp_path):
    with write_transaction(engine) as conn:
        conn.execute(update(cases).values(status="closed", closed_at=datetime(2026, 6, 3)))


def _survey_status(engine, _tmp_path):
    with write_transaction(engine) as conn:
        conn.execute(update(surveys).where(surveys.c.code == "relationship")
                     .values(status="open"))


WRITES = [_write_response, _clean, _reweight, _replace_answers_in_place, _import_customers,
          _import_transactions, _new_case, _close_case, _survey_status]


@pytest.mark.parametrize("write", WRITES, ids=lambda f: f.__name__.strip("_"))
def test_the_data_version_changes_on_every_kind_of_write(panel, tmp_path, write):
    engine, _info = panel
    version = DataVersion(engine)
    before = version()
    assert before is not None and version() == before  # stable while nothing is written
    write(engine, tmp_path)
    after = version()
    assert after != before
    assert version() == after


def test_the_data_version_ignores_logins_and_logouts(panel):
    """A login stores a session and the user's last login, which no cached page reads: on
    SQLite they are written on the watcher connection, whose own commits leave
    PRAGMA data_version as it was; PostgreSQL's token covers the panel tables only. A write to
    the panel after them still changes the token."""
    from patronage.sessions import end_session, renew_session, start_session

    engine, _info = panel
    version = DataVersion(engine)
    before = version()
    session = start_session(engine, 1, hours=1)
    session = renew_session(engine, session)
    assert session is not None
    end_session(engine, session)
    assert version() == before
    _write_response(engine, None)
    assert version() != before


def test_a_write_just_before_a_login_still_changes_the_data_version(panel):
    """The quiet connection's own commit must not hide a commit of another connection made
    before it (SQLite notices that one when the quiet transaction begins)."""
    from patronage.sessions import start_session

    engine, _info = panel
    version = DataVersion(engine)
    before = version()
    _write_response(engine, None)
    start_session(engine, 1, hours=1)
    assert version() != before


@pytest.mark.skipif(backend_name() != "sqlite", reason="the watcher connection is SQLite's")
@pytest.mark.parametrize("statement", [
    update(responses).values(weight=2.0),
    update(users).values(display_name="Someone else"),
    delete(cases),
], ids=["responses", "user-name", "cases"])
def test_a_quiet_transaction_cannot_change_what_pages_read(panel, statement):
    """SQLite refuses the quiet connection every write but a session and the last login, so a
    write there can never leave a page stale."""
    engine, _info = panel
    version = DataVersion(engine)
    before = version()
    with pytest.raises(DatabaseError, match="not authorized"):
        with quiet_transaction(engine) as conn:
            conn.execute(statement)
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.weight).where(responses.c.weight == 2.0)).first() \
            is None
    assert version() == before


def test_quiet_tables_cannot_key_a_data_version(engine):
    with pytest.raises(ValueError, match="quiet tables cannot key a data version: sessions"):
        DataVersion(engine, tables=["responses", "sessions"])


def test_the_data_version_refuses_unknown_tables(engine):
    with pytest.raises(ValueError, match="unknown tables for the data version: nope"):
        DataVersion(engine, tables=["responses", "nope"])


# --- the pages ----------------------------------------------------------------------------------


@pytest.fixture
def counted(panel, db_url, monkeypatch):
    """A logged-in analyst's client; ``client.computed`` counts the page computations."""
    computed = {"analysis": 0, "loyalty": 0, "overview": 0}
    head = analysis_pages._head  # the analysis page's first part, computed before its sections
    loyalty_report = pages.loyalty_page_data.loyalty_report
    overview = overview_pages.overview

    def counting_overview(*args, **kwargs):
        computed["overview"] += 1
        return overview(*args, **kwargs)

    def counting_analysis(*args, **kwargs):
        computed["analysis"] += 1
        return head(*args, **kwargs)

    def counting_loyalty(*args, **kwargs):
        computed["loyalty"] += 1
        return loyalty_report(*args, **kwargs)

    monkeypatch.setattr(analysis_pages, "_head", counting_analysis)
    monkeypatch.setattr(pages.loyalty_page_data, "loyalty_report", counting_loyalty)
    monkeypatch.setattr(overview_pages, "overview", counting_overview)
    engine, info = panel
    app = create_app(Settings(database_url=db_url))
    with TestClient(app) as client:
        email, password = info["logins"]["analyst"]
        page = client.get("/login")
        token = BeautifulSoup(page.text, "html.parser").find(
            "input", {"name": "csrf_token"})["value"]
        response = client.post("/login", data={"email": email, "password": password,
                                               "csrf_token": token, "next": "/"},
                               follow_redirects=False)
        assert response.status_code == 303
        client.computed = computed
        client.engine = engine
        yield client


@pytest.mark.parametrize("path", ["/analysis", "/loyalty", "/"])
def test_a_second_visit_renders_the_same_page_without_computing(counted, path):
    page = path.strip("/") or "overview"
    first = counted.get(path)
    assert first.status_code == 200
    assert ('id="section-' if page != "overview" else 'id="kpi-nps"') in first.text
    second = counted.get(path)
    assert second.status_code == 200
    assert second.text == first.text
    assert counted.computed[page] == 1


def test_the_language_is_part_of_the_key(counted):
    english = counted.get("/analysis").text
    counted.cookies.set("patronage_lang", "zh_Hans")
    chinese = counted.get("/analysis").text
    assert chinese != english and counted.computed["analysis"] == 2
    counted.cookies.set("patronage_lang", "en")
    assert counted.get("/analysis").text == english
    assert counted.computed["analysis"] == 2


def test_the_survey_is_part_of_the_key(counted):
    counted.get("/analysis")
    missing = counted.get("/analysis", params={"survey": "no-such-survey"})
    assert "No responses for survey &#39;no-such-survey&#39;" in missing.text
    counted.get("/analysis", params={"survey": "no-such-survey"})
    counted.get("/analysis")
    assert counted.computed["analysis"] == 2


@pytest.mark.parametrize("write", [_write_response, _clean, _import_customers, _new_case,
                                   _import_transactions, _survey_status],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_change_to_the_data_recomputes_the_pages(counted, tmp_path, write):
    paths = ("/analysis", "/loyalty", "/")
    for path in paths:
        counted.get(path)
    write(counted.engine, tmp_path)
    for path in paths:
        counted.get(path)
    assert counted.computed == {"analysis": 2, "loyalty": 2, "overview": 2}
    for path in paths:
        counted.get(path)
    assert counted.computed == {"analysis": 2, "loyalty": 2, "overview": 2}


def _respondents(html: str) -> int:
    """The respondent count of the analysis page's weighting section."""
    page = BeautifulSoup(html, "html.parser")
    row = next(tr for tr in page.select("#section-weighting tbody tr")
               if tr.td.text == "Respondents")
    return int(row.find_all("td")[1].text.replace(",", ""))


def _log_in(client, email: str, password: str) -> None:
    page = client.get("/login")
    token = BeautifulSoup(page.text, "html.parser").find("input", {"name": "csrf_token"})["value"]
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303


def test_a_login_keeps_the_prepared_pages_and_a_response_changes_them(counted, panel):
    """Logging in writes a session and the user's last login: the pages stay as prepared. A
    new response then shows on the next visit."""
    _engine, info = panel
    paths = ("/analysis", "/loyalty", "/")
    before = _respondents(counted.get("/analysis").text)
    for path in paths:
        assert counted.get(path).status_code == 200
    _log_in(TestClient(counted.app), *info["logins"]["admin"])  # no lifespan: the same app
    _log_in(counted, *info["logins"]["analyst"])
    for path in paths:
        assert counted.get(path).status_code == 200
    assert counted.computed == {"analysis": 1, "loyalty": 1, "overview": 1}
    with write_transaction(counted.engine) as conn:
        _response(conn, 0, 0.0)
    assert _respondents(counted.get("/analysis").text) == before + 1
    assert counted.computed["analysis"] == 2


def test_a_new_response_shows_on_the_next_visit(counted):
    before = _respondents(counted.get("/analysis").text)
    with write_transaction(counted.engine) as conn:
        for n in range(30):
            _response(conn, n, 0.0)
    assert _respondents(counted.get("/analysis").text) == before + 30


# --- pages prepared in the background (issue 10 item 31) ------------------------------------------


def _until(condition, seconds: float = 60.0):
    """Wait for ``condition()`` to be truthy (a background thread is working) and return it."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the background computation did not finish in time")


def test_a_page_not_ready_is_computed_in_the_background_and_no_visit_waits():
    cache = PageCache(lambda: "v1")
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow():
        calls.append(1)
        started.set()
        assert release.wait(30)
        return "page"

    try:
        assert cache.prepared("loyalty", ("en",), slow) is None  # at once: being prepared
        assert started.wait(30)
        for _ in range(5):  # while it computes, visits still answer at once, computing nothing
            assert cache.prepared("loyalty", ("en",), slow) is None
        release.set()
        assert _until(lambda: cache.prepared("loyalty", ("en",), slow)) == ("page", True)
        assert calls == [1] and cache.computed == 1
    finally:
        release.set()
        cache.close()


def test_after_a_change_the_previous_page_is_shown_while_the_new_one_is_computed():
    version = ["v1"]
    cache = PageCache(lambda: version[0])
    release = threading.Event()
    pages_made = iter(["old page", "new page"])

    def compute():
        page = next(pages_made)
        if page == "new page":
            assert release.wait(30)
        return page

    try:
        assert cache.prepared("analysis", ("en",), compute, wait=30) == ("old page", True)
        version[0] = "v2"
        assert cache.prepared("analysis", ("en",), compute) == ("old page", False)
        release.set()
        assert _until(lambda: cache.prepared("analysis", ("en",), compute)[1])
        assert cache.prepared("analysis", ("en",), compute) == ("new page", True)
    finally:
        release.set()
        cache.close()


def test_the_languages_of_a_page_share_its_computations():
    """The expensive, language-independent results are computed once per data version for the
    three languages; only the translation runs per language."""
    from patronage.reporting.shared import shared

    version = ["v1"]
    cache = PageCache(lambda: version[0])
    fits = []

    @shared
    def fit(data: str) -> pd.DataFrame:
        fits.append(data)
        return pd.DataFrame({"value": [1.0, 2.0]}, index=["a", "b"])

    def page(language):
        def compute():
            table = fit("panel")
            table.index = [f"{language}:{i}" for i in table.index]  # relabelled per language
            return table
        return compute

    try:
        for language in ("en", "zh_Hans", "zh_Hant"):
            shown, current = cache.prepared("loyalty", (language,), page(language),
                                            group="loyalty", wait=30)
            assert current and list(shown.index) == [f"{language}:a", f"{language}:b"]
        assert fits == ["panel"]  # once for three languages, and no relabelling leaked
        version[0] = "v2"
        cache.prepared("loyalty", ("en",), page("en"), group="loyalty", wait=30)
        assert fits == ["panel", "panel"]  # a new data version computes again
        assert fit("panel") is not fit("panel")  # outside a page: a plain call
    finally:
        cache.close()


def test_a_failed_background_computation_is_shown_then_tried_again(monkeypatch):
    from patronage.reporting import page_cache

    cache = PageCache(lambda: 1)
    attempts = []

    def broken():
        attempts.append(1)
        raise RuntimeError("model failed")

    try:
        with pytest.raises(RuntimeError, match="model failed"):
            cache.prepared("loyalty", (), broken, wait=30)
        with pytest.raises(RuntimeError, match="model failed"):  # remembered, not recomputed
            cache.prepared("loyalty", (), broken)
        assert attempts == [1]
        monkeypatch.setattr(page_cache, "RETRY_AFTER_FAILURE", 0.0)
        assert cache.prepared("loyalty", (), lambda: "fixed", wait=30) == ("fixed", True)
    finally:
        cache.close()


def _analyst(client, info):
    email, password = info["logins"]["analyst"]
    page = client.get("/login")
    token = BeautifulSoup(page.text, "html.parser").find("input", {"name": "csrf_token"})["value"]
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token, "next": "/"},
                           follow_redirects=False)
    assert response.status_code == 303


def test_a_first_visit_gets_a_page_that_says_it_is_being_prepared(panel, db_url, monkeypatch):
    """No visit waits for the computation: it gets at once a page that reloads itself (no
    script), in the visitor's language, then the page once it is ready."""
    engine, info = panel
    release = threading.Event()
    loyalty_report = pages.loyalty_page_data.loyalty_report

    def held_loyalty_report(*args, **kwargs):
        assert release.wait(60)
        return loyalty_report(*args, **kwargs)

    monkeypatch.setattr(pages.loyalty_page_data, "loyalty_report", held_loyalty_report)
    settings = Settings(database_url=db_url, page_wait_seconds=0, warm_pages_seconds=0)
    try:
        with TestClient(create_app(settings)) as client:
            _analyst(client, info)
            client.cookies.set("patronage_lang", "zh_Hans")
            first = client.get("/loyalty")
            assert first.status_code == 202 and first.headers["retry-after"]
            page = BeautifulSoup(first.text, "html.parser")
            refresh = page.find("meta", {"http-equiv": "refresh"})
            assert refresh is not None and int(refresh["content"]) <= 5
            note = page.find(attrs={"role": "status"}).text.strip()
            assert note == "此页正在根据最新数据准备，几秒后会自动刷新。"
            assert page.find("a", string="立即刷新")["href"] == "/loyalty"
            release.set()
            ready = _until(lambda: (r := client.get("/loyalty")).status_code == 200 and r)
            assert 'id="section-clv"' in ready.text and "refresh" not in ready.text
    finally:
        release.set()


def _warmed(client) -> bool:
    """Whether the warmer's first round is over: every page it prepares computed (the
    dashboard, comments, management and complaint analysis pages in every language)."""
    from patronage.web import cases as case_pages
    from patronage.web import dashboards, warming

    app, cache = client.app, client.app.state.page_cache
    jobs = warming.default_jobs(app) + dashboards.default_jobs(app) + case_pages.default_jobs(app)
    return cache.computed >= len(jobs) and all(
        cache.prepared(job.page, job.params, job.compute, group=job.group, visit=False)
        is not None for job in jobs)


def test_the_warmer_prepares_the_pages_in_every_language_before_any_visit(panel, db_url,
                                                                           monkeypatch):
    from patronage.loyalty import fit_value_models
    from patronage.reporting import loyalty as loyalty_module
    from patronage.reporting.shared import shared

    engine, info = panel
    fits = []

    def counted_fit(*args, **kwargs):
        fits.append(1)
        return fit_value_models(*args, **kwargs)

    monkeypatch.setattr(loyalty_module, "fit_value_models", shared(counted_fit))
    settings = Settings(database_url=db_url, page_wait_seconds=0, warm_pages_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        _until(lambda: _warmed(client), 240)
        _analyst(client, info)  # a login (a stored session) may change the version on SQLite
        for language in ("en", "zh_Hans", "zh_Hant"):
            client.cookies.set("patronage_lang", language)
            for path, mark in (("/", 'id="kpi-nps"'), ("/analysis", 'id="section-'),
                               ("/loyalty", 'id="section-')):
                response = client.get(path)
                assert response.status_code == 200 and mark in response.text
        assert fits == [1] or backend_name() == "sqlite"  # one fit for three languages
        assert len(fits) <= 2  # SQLite: at most once more, after the login changed the version


def test_a_change_shows_the_previous_page_marked_as_being_updated(panel, db_url, monkeypatch):
    """After a change the visit gets the page of the previous data at once, saying that it is
    being updated and reloading itself, then the page of the new data."""
    engine, info = panel
    release = threading.Event()
    head = analysis_pages._head
    runs = []

    def held_after_the_first(*args, **kwargs):
        runs.append(1)
        if len(runs) > 1:
            assert release.wait(60)
        return head(*args, **kwargs)

    monkeypatch.setattr(analysis_pages, "_head", held_after_the_first)
    settings = Settings(database_url=db_url, page_wait_seconds=0, warm_pages_seconds=0)
    try:
        with TestClient(create_app(settings)) as client:
            _analyst(client, info)
            ready = _until(lambda: (r := client.get("/analysis")).status_code == 200
                           and "data-section-src" not in r.text and r)
            before = _respondents(ready.text)
            with write_transaction(engine) as conn:
                for n in range(30):
                    _response(conn, n, 0.0)
            stale = client.get("/analysis")
            assert stale.status_code == 200 and _respondents(stale.text) == before
            page = BeautifulSoup(stale.text, "html.parser")
            assert "being updated" in page.find("p", {"role": "status"}).text
            assert page.find("meta", {"http-equiv": "refresh"}) is not None
            release.set()
            fresh = _until(lambda: "being updated" not in (r := client.get("/analysis")).text
                           and "data-section-src" not in r.text and r)
            assert _respondents(fresh.text) == before + 30
    finally:
        release.set()


def test_after_a_change_the_warmer_prepares_again_only_the_pages_visited(panel, db_url):
    """During fieldwork the data change all the time: the warmer recomputes the pages someone
    looked at recently, not all of them."""
    import time

    engine, info = panel
    settings = Settings(database_url=db_url, page_wait_seconds=0, warm_pages_seconds=0.2)
    with TestClient(create_app(settings)) as client:
        cache, warmer = client.app.state.page_cache, client.app.state.page_warmer
        _until(lambda: _warmed(client), 240)
        _analyst(client, info)
        client.cookies.set("patronage_lang", "zh_Hant")
        _until(lambda: (r := client.get("/loyalty")).status_code == 200
               and 'class="notice"' not in r.text)
        time.sleep(1.0)  # rounds for the login (SQLite) are over
        before, rounds = cache.computed, warmer.rounds
        with write_transaction(engine) as conn:
            _response(conn, 0, 0.0)
        _until(lambda: warmer.rounds > rounds and cache.computed == before + 1)
        time.sleep(1.0)
        assert cache.computed == before + 1  # only the loyalty page in 繁體中文
        assert cache.prepared("loyalty", ("zh_Hant", Filters()), lambda: None, visit=False)[1]
        assert not cache.prepared("loyalty", ("en", Filters()), lambda: "new", visit=False)[1]


def test_what_does_not_depend_on_the_filters_is_read_once_for_every_page():
    """A result shared by every page (the survey's responses as read) is computed once per data
    version for all pages and filters; a result of one page's group stays in its group."""
    from patronage.reporting.shared import shared

    version = ["v1"]
    cache = PageCache(lambda: version[0])
    reads, fits = [], []

    @functools.partial(shared, every_page=True)
    def read(survey: str) -> pd.DataFrame:
        reads.append(survey)
        return pd.DataFrame({"region": ["east", "west", "east"], "nps": [10.0, 0.0, 9.0]})

    @shared
    def fit(region: str) -> float:
        fits.append(region)
        data = read("relationship")
        return float(data.loc[data["region"] == region, "nps"].mean())

    try:
        for page, region in (("overview", "east"), ("analysis", "east"), ("overview", "west")):
            for language in ("en", "zh_Hans"):
                shown, current = cache.prepared(page, (region, language),
                                                lambda region=region: fit(region),
                                                group=(page, region), wait=30)
                assert current and shown == {"east": 9.5, "west": 0.0}[region]
        assert reads == ["relationship"]  # once for three filtered views in two languages
        assert fits == ["east", "east", "west"]  # once per group
        version[0] = "v2"
        cache.prepared("overview", ("east", "en"), lambda: fit("east"), group=("overview",
                                                                                "east"), wait=30)
        assert reads == ["relationship", "relationship"]  # a new data version reads again
    finally:
        cache.close()


def test_a_filtered_overview_does_not_read_the_survey_again(counted, monkeypatch):
    """After the default Overview, a filtered one (a page not seen before) narrows the survey's
    responses already read instead of reading them from the database again."""
    import importlib

    from patronage.satisfaction import sources

    overview_module = importlib.import_module("patronage.reporting.overview")  # not the function

    reads = []

    def counted_read(*args, **kwargs):
        reads.append(kwargs.get("include_flagged", False))
        return sources.survey_data_from_db(*args, **kwargs)

    monkeypatch.setattr(overview_module, "shared_survey_data",
                        shared_module.shared(counted_read, every_page=True))
    assert counted.get("/").status_code == 200
    first = len(reads)
    assert 1 <= first <= 2  # the responses kept, and those with the flagged ones if asked for
    for query in ("?region=East+China", "?wave=2026-Q1", "?date_from=2026-03-01"):
        response = counted.get("/" + query)
        assert response.status_code == 200 and "kpi-nps" in response.text
    assert counted.computed["overview"] == 4  # four pages computed ...
    assert len(reads) <= 2  # ... on the responses read once (and once with the flagged ones)


def test_ready_says_whether_a_page_is_kept_at_the_current_version():
    """``ready`` is false while the computation runs and after the data changed; true once the
    value is kept at the current version."""
    version = [1]
    cache = PageCache(lambda: version[0])
    release = threading.Event()
    def slow():
        release.wait(10)
        return "page"
    assert cache.prepared("p", ("en",), slow, visit=False) is None
    assert not cache.ready("p", ("en",))  # started, not ended
    release.set()
    _until(lambda: cache.ready("p", ("en",)))
    version[0] = 2
    assert not cache.ready("p", ("en",))
    cache.close()
