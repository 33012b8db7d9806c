"""Benchmark: sustained survey submissions per second through ``POST /api/responses``.

Run:  python benchmarks/submissions.py [--seconds 10] [--workers 1 2] [--connections 32 ...]
                                       [--backend sqlite postgresql]
                                       [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
      python benchmarks/submissions.py --rate 1000 --connections 64   # open loop
      python benchmarks/submissions.py --profile   # where one SQLite server spends its time

Setup: a survey of 20 rating items (1-10) opened with an anonymous link; every request is a new
response (fresh ``submission_id``) with all 20 answers. The server is uvicorn in a subprocess
(``--factory patronage.web:create_app``, settings from ``PATRONAGE_*`` variables, rate limit
lifted); the load comes from a second process on 127.0.0.1 holding ``--connections`` keep-alive
HTTP/1.1 connections, each sending its next request as soon as the previous reply arrived
(closed loop), or with ``--rate`` at Poisson arrival times whatever the replies (open loop,
latency counted from the scheduled time). The first second is warm-up and not counted.

SQLite runs with WAL and ``synchronous=FULL`` (as ``make_engine`` sets it); PostgreSQL uses a
fresh schema on the given server, dropped afterwards (skipped with a message if unreachable).

There is no standard tool to compare against, so the ceiling printed beside each result is the
raw insert rate of the same rows (one response and its 20 answers per transaction, the same
durability settings) from one process with the bare driver (sqlite3 / psycopg), no HTTP.
"server cpu" / "client cpu" are CPU milliseconds per request of the server process(es) and of
the load process (Linux only): a server near 1000 / (submissions/s) ms is CPU bound.

Goal (issue 5): >= 1,000 submissions/s with p99 <= 100 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows
    resource = None

GOAL_RATE, GOAL_P99_MS = 1000.0, 100.0
N_ITEMS = 20
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def definition() -> dict:
    """A one-language survey of 20 rating items on a 1-10 scale."""
    items = [{"code": f"q{i:02d}", "type": "rating", "scale": [1, 10],
              "text": {"en": f"Question {i}"}} for i in range(1, N_ITEMS + 1)]
    return {"format": 1, "code": "bench", "version": 1, "languages": ["en"],
            "title": {"en": "Benchmark"},
            "sections": [{"code": "all", "title": {"en": "All"}, "items": items}]}


def answers_for(n: int) -> dict[str, int]:
    return {f"q{i:02d}": 1 + (n * 7 + i) % 10 for i in range(1, N_ITEMS + 1)}


# --- databases -----------------------------------------------------------------------------

def prepare(url: str) -> str:
    """Migrate ``url`` and open the benchmark survey; returns its open-link token."""
    from patronage.storage import make_engine, upgrade
    from patronage.surveys.program import create_survey, set_status

    engine = make_engine(url)
    try:
        upgrade(engine)
        code = create_survey(engine, definition())
        return set_status(engine, code, "open", open_link=True)
    finally:
        engine.dispose()


def count_responses(url: str) -> int:
    from sqlalchemy import func, select

    from patronage.storage import make_engine
    from patronage.storage.schema import responses

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(responses)).scalar_one()
    finally:
        engine.dispose()


def pg_schema(base_url: str):
    """(url of a fresh schema, drop function), or None when the server is unreachable."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from patronage.storage import make_engine

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "skip"
        admin.dispose()
        print(f"postgresql skipped: cannot connect to {base_url} ({type(exc).__name__})")
        return None
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop():
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def _rows(n: int):
    now = datetime.now().isoformat(sep=" ")
    response = (f"ceiling-{n}", "web", "en", now, now, 1.0, "{}")
    return response, list(answers_for(n).items())


def ceiling_sqlite(seconds: float) -> float:
    """Raw sqlite3 rate: one response + 20 answers per BEGIN IMMEDIATE ... COMMIT."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ceiling.db'}"
        prepare(url)
        db = sqlite3.connect(Path(folder) / "ceiling.db", isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            survey_id = db.execute("SELECT id FROM surveys").fetchone()[0]
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds:
                response, items = _rows(n)
                db.execute("BEGIN IMMEDIATE")
                rid = db.execute(
                    "INSERT INTO responses (external_id, survey_id, channel, language, started_at,"
                    " submitted_at, weight, quality_flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (response[0], survey_id, *response[1:])).lastrowid
                db.executemany("INSERT INTO answers (response_id, item_code, value_num) "
                               "VALUES (?, ?, ?)", [(rid, c, float(v)) for c, v in items])
                db.execute("COMMIT")
                n += 1
            return n / (time.perf_counter() - start)
        finally:
            db.close()


def ceiling_postgresql(url: str, seconds: float) -> float:
    """Raw psycopg rate: one response + 20 answers per transaction, one connection."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = dict(host=parsed.host, port=parsed.port or 5432, dbname=parsed.database,
                    user=parsed.username, password=parsed.password,
                    options=parsed.query.get("options"))
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v is not None}) as db:
        survey_id = db.execute("SELECT id FROM surveys").fetchone()[0]
        db.commit()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            response, items = _rows(n)
            with db.transaction(), db.cursor() as cur:
                cur.execute(
                    "INSERT INTO responses (external_id, survey_id, channel, language, started_at,"
                    " submitted_at, weight, quality_flags) VALUES (%s, %s, %s, %s, %s, %s, %s,"
                    " %s) RETURNING id", (response[0], survey_id, *response[1:]))
                rid = cur.fetchone()[0]
                cur.executemany("INSERT INTO answers (response_id, item_code, value_num) "
                                "VALUES (%s, %s, %s)", [(rid, c, float(v)) for c, v in items])
            n += 1
        rate = n / (time.perf_counter() - start)
        db.execute("DELETE FROM responses WHERE external_id LIKE 'ceiling-%'")
        db.commit()
    return rate


# --- server --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROFILED_SERVER = """
import cProfile, signal, sys, uvicorn
from patronage.web import create_app
profile = cProfile.Profile()
def stop(*_):
    profile.disable()
    profile.dump_stats(sys.argv[2])
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
app = create_app()
profile.enable()
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def start_server(url: str, workers: int, log,
                 profile: str | None = None) -> tuple[subprocess.Popen, int]:
    """uvicorn on a free 127.0.0.1 port; with ``profile`` one process under cProfile."""
    port = free_port()
    env = {**os.environ, "PATRONAGE_DATABASE_URL": url,
           "PATRONAGE_PUBLIC_SUBMISSIONS_PER_MINUTE": str(10**9)}
    command = [sys.executable, "-m", "uvicorn", "--factory", "patronage.web:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]
    if profile:
        command = [sys.executable, "-c", PROFILED_SERVER, str(port), profile]
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}; see {log.name}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    time.sleep(0.5 * workers)  # let every worker finish starting
                    return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("the server did not answer /health within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # uvicorn stops its workers on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its child processes (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, ValueError, IndexError):
        return float("nan")
    return total + sum(cpu_seconds(int(child)) for child in children)


# --- load client (runs in its own process) -------------------------------------------------

async def _connection(port: int, open_token: str, until: float, warm: float, out: dict,
                      arrivals: asyncio.Queue | None = None):
    """One keep-alive connection. Closed loop: the next request as soon as the reply came.
    Open loop (``arrivals``): a request per scheduled arrival time taken from the queue, its
    latency counted from that time, so time spent waiting for a free connection counts too
    (no coordinated omission; Tene, "How NOT to measure latency", 2015)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while True:
            if arrivals is None:
                now = time.perf_counter()
                if now >= until:
                    break
            else:
                now = await arrivals.get()
                if now is None:
                    break
            body = json.dumps({"open_token": open_token, "submission_id": uuid.uuid4().hex,
                               "language": "en", "answers": answers_for(n)}).encode()
            n += 1
            writer.write(b"POST /api/responses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done = time.perf_counter()
            out["completed"] += 1
            if now < warm:
                continue
            status = int(head.split(b" ", 2)[1])
            if status in (200, 201):
                out["latencies"].append(done - now)
            else:
                out["errors"][str(status)] = out["errors"].get(str(status), 0) + 1
    except (OSError, asyncio.IncompleteReadError) as exc:
        out["errors"][type(exc).__name__] = out["errors"].get(type(exc).__name__, 0) + 1
    finally:
        writer.close()


async def _arrivals(queue: asyncio.Queue, rate: float, start: float, until: float,
                    consumers: int) -> None:
    """Poisson arrivals at ``rate`` per second from ``start`` to ``until``, then a stop for
    every consumer."""
    rng = random.Random(7)
    t = start
    while (t := t + rng.expovariate(rate)) < until:
        delay = t - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait(t)
    for _ in range(consumers):
        queue.put_nowait(None)


async def _client(port: int, open_token: str, connections: int, warmup: float,
                  seconds: float, rate: float | None = None) -> dict:
    start = time.perf_counter()
    warm, until = start + warmup, start + warmup + seconds
    out = {"latencies": [], "errors": {}, "completed": 0}
    queue = asyncio.Queue() if rate else None
    tasks = [_connection(port, open_token, until, warm, out, queue) for _ in range(connections)]
    if rate:
        tasks.append(_arrivals(queue, rate, start, until, connections))
    await asyncio.gather(*tasks)
    out["seconds"] = time.perf_counter() - warm
    usage = resource.getrusage(resource.RUSAGE_SELF) if resource else None
    out["client_cpu"] = usage.ru_utime + usage.ru_stime if usage else float("nan")
    return out


def run_load(port: int, open_token: str, connections: int, warmup: float, seconds: float,
             rate: float | None = None) -> dict:
    """Run the client in a second process (open loop at ``rate`` per second when given);
    returns its measurements."""
    args = json.dumps([port, open_token, connections, warmup, seconds, rate])
    done = subprocess.run([sys.executable, __file__, "--client", args], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


# --- report --------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (Hyndman & Fan 1996, definition 1)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


HEADER = (f"{'backend':<11}{'workers':>8}{'conns':>6}{'submissions':>12}{'seconds':>8}"
          f"{'subm/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}{'ceiling/s':>10}{'ratio':>7}"
          f"{'server cpu':>11}{'client cpu':>11}")


def report(backend: str, workers: int, connections: int, result: dict, ceiling: float) -> None:
    lat = sorted(result["latencies"])
    rate = len(lat) / result["seconds"]
    errors = sum(result["errors"].values())
    n = max(result["completed"], 1)  # CPU is per request, warm-up included
    print(f"{backend:<11}{workers:>8}{connections:>6}{len(lat):>12}{result['seconds']:>8.1f}"
          f"{rate:>9.0f}{1000 * percentile(lat, 50):>8.1f}{1000 * percentile(lat, 99):>8.1f}"
          f"{errors:>7}{ceiling:>10.0f}{rate / ceiling:>7.2f}"
          f"{1000 * result['server_cpu'] / n:>8.2f} ms{1000 * result['client_cpu'] / n:>8.2f} ms"
          + (f"  {result['errors']}" if errors else ""), flush=True)
    if backend == "sqlite":
        met = rate >= GOAL_RATE and 1000 * percentile(lat, 99) <= GOAL_P99_MS
        print(f"{'':<11}goal {'met' if met else 'NOT met'}", flush=True)


def bench(backend: str, url: str, open_token: str, args, ceiling: float) -> None:
    for workers in args.workers:
        for connections in args.connections:
            with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log:
                proc, port = start_server(url, workers, log)
                try:
                    cpu = cpu_seconds(proc.pid)
                    result = run_load(port, open_token, connections, 1.0, args.seconds,
                                      args.rate)
                    result["server_cpu"] = cpu_seconds(proc.pid) - cpu
                finally:
                    stop_server(proc)
            report(backend, workers, connections, result, ceiling)
            os.unlink(log.name)
    print(f"{'':<11}stored responses: {count_responses(url)}", flush=True)


def profile_sqlite(args) -> None:
    """One uvicorn process under cProfile during the load; prints where its time goes."""
    import pstats

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'profile.db'}"
        open_token, stats = prepare(url), str(Path(folder) / "server.prof")
        with open(Path(folder) / "server.log", "wb") as log:
            proc, port = start_server(url, 1, log, profile=stats)
            try:
                result = run_load(port, open_token, args.connections[0], 1.0, args.seconds)
            finally:
                stop_server(proc)
        print(f"profiled server (cProfile slows Python code ~2x): "
              f"{len(result['latencies']) / result['seconds']:.0f} submissions/s")
        pstats.Stats(stats).sort_stats("cumulative").print_stats(
            r"patronage|sqlalchemy/engine/base|commit|starlette/requests|h11_impl", 30)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--client":
        print(json.dumps(asyncio.run(_client(*json.loads(sys.argv[2])))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--connections", type=int, nargs="+", default=[32])
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: Poisson arrivals at this many submissions per second "
                        "(latency from the scheduled time) instead of a closed loop")
    parser.add_argument("--profile", action="store_true",
                        help="profile one SQLite server process under load instead")
    args = parser.parse_args()
    if args.profile:
        profile_sqlite(args)
        return
    print(f"goal on SQLite: >= {GOAL_RATE:,.0f} submissions/s with p99 <= {GOAL_P99_MS:.0f} ms; "
          f"{N_ITEMS} answers per submission; ceiling = bare driver, one process, no HTTP; "
          + (f"open loop at {args.rate:,.0f}/s" if args.rate else "closed loop"))
    print(HEADER, flush=True)
    if "sqlite" in args.backend:
        ceiling = ceiling_sqlite(min(args.seconds, 3.0))
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            bench("sqlite", url, prepare(url), args, ceiling)
    if "postgresql" in args.backend:
        made = pg_schema(args.pg_url)
        if made is not None:
            url, drop = made
            try:
                open_token = prepare(url)
                ceiling = ceiling_postgresql(url, min(args.seconds, 3.0))
                bench("postgresql", url, open_token, args, ceiling)
            finally:
                drop()


if __name__ == "__main__":
    main()
