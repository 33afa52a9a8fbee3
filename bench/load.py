#!/usr/bin/env python
"""Ciclo under load: `ciclo serve` on PostgreSQL, 32 connections at a time, against a bare Django view.

    .venv/bin/python bench/load.py                              # the demo scaled to 100,000 tickets, 20 s a target
    .venv/bin/python bench/load.py --tickets 20000 --seconds 5  # a quick look
    WEB_CONCURRENCY=2 WEB_THREADS=8 .venv/bin/python bench/load.py

It makes a PostgreSQL database (dropped at the end), loads `ciclo demo` into it and scales its
tickets to --tickets by copying them set-based (INSERT … SELECT; each copy's dates shifted, so
the lists are not one instant), collects the static files and starts `ciclo serve` on a free
port with production settings (DEBUG off) and the bench's own settings and URL conf
(bench/_load_site.py, bench/_load_urls.py), which add a bare view to Ciclo's URLs. It logs
agente1 in through the login form (a session cookie) and gives them an API token, then drives
--connections keep-alive connections for --seconds against each target in turn: the bare view,
the home page, the ticket query page, a ticket page (agente1's demo ticket with the most notes)
and the API's ticket list, each after a short warm-up.

Per target it prints requests per second, p50 and p99 latency, errors (a status other than 200,
or a connection that failed), the peak of PostgreSQL connections to the database
(pg_stat_activity, polled every 50 ms), the throughput as a percentage of the bare view's, and
the server's CPU milliseconds per request: the utime + stime of gunicorn's master and workers
(/proc/<pid>/stat, with the master's children that exited) before and after the target,
divided by its requests. CPU per request is the steadier figure on a shared machine; requests
per second depend on what else runs, the client included (its own CPU per request is shown).

Budgets (shared/PERFORMANCE.md): no errors; at most WEB_CONCURRENCY × WEB_THREADS connections;
server CPU per request: API list ≤ 3 ms, query page, ticket page and home ≤ 10 ms each.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_DIR, REPO_DIR, analyze, bench_django, environment, percentile, table, write_results

HOST = "127.0.0.1"
USERNAME, PASSWORD = "agente1", "ciclo-demo"  # a demo login (ciclo.demo_data)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Server CPU per request (ms) each target must hold; None: no budget.
BUDGETS: dict[str, float | None] = {"bare": None, "home": 10.0, "query": 10.0, "ticket": 10.0, "api": 3.0}
COPY_CHUNK = 20_000  # tickets per INSERT … SELECT


# --- the data: the demo, its tickets copied up to the size asked ------------------------------------------------


def load_demo() -> None:
    from django.core.management import call_command

    call_command("demo", force=True, verbosity=0, stdout=io.StringIO())  # its logins are known: USERNAME


def scale_tickets(target: int) -> tuple[int, int]:
    """Copy the demo's tickets until there are `target`: (the demo's, now). Set-based, a chunk per statement.

    A copy keeps its original's person, type, phase, step, company and next-contact user; its
    opening goes back a day per copy and its next contact moves up to 15 days either way, so the
    lists and counts read many instants, as a busy site's do. Copies have no notes or answers:
    the ticket page is measured on a demo ticket."""
    from django.db import connection, transaction
    from django.db.models import Max

    from ciclo.tickets.models import Ticket

    demo = Ticket.objects.count()
    last = Ticket.objects.aggregate(last=Max("id"))["last"] or 0
    if demo == 0 or demo >= target:
        return demo, demo
    columns = [f.column for f in Ticket._meta.concrete_fields if not f.primary_key]
    minute = "INTERVAL '1 minute'"
    shifted = {
        "opened_at": "t.opened_at - (g %% 365) * INTERVAL '1 day'",
        "closed_at": "t.closed_at - (g %% 365) * INTERVAL '1 day'",
        "next_contact_at": f"t.next_contact_at + ((g * 7919 + t.id * 31) %% 43201 - 21600) * {minute}",
    }
    select = ", ".join(shifted.get(c, f"t.{c}") for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    sql = (
        f"INSERT INTO tickets_ticket ({names}) SELECT {select} FROM tickets_ticket t"
        " CROSS JOIN generate_series(%s, %s) g WHERE t.id <= %s ORDER BY g, t.id LIMIT %s"
    )
    copies, made = 1, demo
    while made < target:
        rounds = max(1, COPY_CHUNK // demo)
        rows = min(target - made, rounds * demo)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [copies, copies + rounds - 1, last, rows])
        made += rows
        copies += rounds
    return demo, made


@dataclass
class World:
    ticket_id: int
    notes: int
    questions: int
    token: str


def make_world() -> World:
    """agente1's API token, and the demo ticket the ticket page shows: agente1's open one with the most notes."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from ciclo.accounts.tokens import create_token
    from ciclo.configurator.models import Question
    from ciclo.tickets.models import Ticket

    user = get_user_model().objects.get(username=USERNAME)
    _token, raw = create_token(user, name="load bench")
    ticket = (
        Ticket.objects.filter(next_contact_user=user, status=Ticket.Status.OPEN, notes__isnull=False)
        .annotate(n=Count("notes"))
        .order_by("-n", "id")
        .select_related("service_type")
        .first()
    )
    if ticket is None:
        raise SystemExit(f"the demo gave {USERNAME} no open ticket with notes")
    cycle = ticket.service_type.cycle_id
    questions = Question.objects.filter(cycle_id=cycle).count() if cycle else 0
    return World(ticket_id=ticket.pk, notes=ticket.n, questions=questions, token=raw)  # type: ignore[attr-defined]


# --- the server: `ciclo serve`, its processes' CPU, PostgreSQL's connections -------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """`ciclo serve` with the bench's settings; its access log (stdout) is dropped, its own messages kept in `log`.

    The server's Python path gets the bench's two server modules alone (linked into a folder beside
    `log`), not bench/: a benchmark named like a standard module there would shadow it as the
    interpreter starts."""
    site = log.parent / "load-site"
    site.mkdir(exist_ok=True)
    for name in ("_load_site.py", "_load_urls.py"):
        (site / name).unlink(missing_ok=True)
        (site / name).symlink_to(BENCH_DIR / name)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "_load_site",
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO_DIR), os.environ.get("PYTHONPATH", "")]),
        "ALLOWED_HOSTS": HOST,
        "WEB_BIND": f"{HOST}:{port}",
    }
    env.pop("WEB_CONTROL_SOCKET", None)  # none: another server on this machine keeps its own
    command = [sys.executable, "-m", "ciclo", "serve"]
    with log.open("wb") as err:
        return subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=err)


def wait_until_up(server: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"ciclo serve stopped (exit {server.returncode}):\n{log.read_text()}")
        try:
            if get(port, "/bench/bare")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"ciclo serve did not answer in {timeout:.0f} s:\n{log.read_text()}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # the fields after the command's name, from field 3 (state)


def server_cpu_ticks(master: int) -> int:
    """utime + stime of gunicorn's master and of its workers (live ones, and those the master reaped)."""
    fields = _stat(master)
    if fields is None:
        return 0
    # Fields 14-17 (utime, stime, cutime, cstime) are at 11-14 here.
    total = sum(int(x) for x in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != master:
            child = _stat(int(entry.name))
            if child is not None and int(child[1]) == master:  # its parent (field 4)
                total += int(child[11]) + int(child[12])
    return total


class ConnectionPeak:
    """The most connections PostgreSQL holds for the database, polled in a thread while the block runs."""

    def __init__(self, server_url: str, database: str, every: float = 0.05) -> None:
        self.server_url, self.database, self.every = server_url, database, every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as c:
            while not self._stop.is_set():
                row = c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.database]).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)
                self._stop.wait(self.every)

    def __enter__(self) -> ConnectionPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()


# --- HTTP: logging in, and the load -------------------------------------------------------------------------------


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    c = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        c.request("GET", path, headers=headers or {})
        response = c.getresponse()
        return response.status, response.read()
    finally:
        c.close()


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def log_in(port: int) -> str:
    """Log agente1 in through the login form, as a browser does: the Cookie header of the session."""
    c = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        c.request("GET", "/accounts/login/")
        page = c.getresponse()
        cookies = _cookies(page)
        form = page.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        if token is None or "csrftoken" not in cookies:
            raise SystemExit("the login page has no CSRF token")
        body = urlencode({"csrfmiddlewaretoken": token[1], "username": USERNAME, "password": PASSWORD})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
        }
        c.request("POST", "/accounts/login/", body=body, headers=headers)
        answer = c.getresponse()
        answer.read()
        cookies.update(_cookies(answer))
    finally:
        c.close()
    if answer.status != 302 or "sessionid" not in cookies:
        raise SystemExit(f"logging {USERNAME} in failed ({answer.status})")
    return f"csrftoken={cookies['csrftoken']}; sessionid={cookies['sessionid']}"


@dataclass
class Load:
    """What one target's run saw: each request's latency (s), its failures, the seconds it took."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, why: str) -> None:
        self.errors += 1
        self.failures[why] = self.failures.get(why, 0) + 1


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server keeps the connection open) of one response, its body read and dropped."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, False
    return status, headers.get("connection", "").lower() != "close"


async def _client(port: int, request: bytes, until: float, load: Load) -> None:
    """One keep-alive connection, asking again as soon as each answer is in, until `until`."""
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    while time.perf_counter() < until:
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            start = time.perf_counter()
            writer.write(request)
            status, keep = await _read_response(reader)
            load.latencies.append(time.perf_counter() - start)
            if status != 200:
                load.fail(f"HTTP {status}")
            if not keep:
                writer.close()
                writer = reader = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            load.fail(type(exc).__name__)
            if writer is not None:
                writer.close()
            writer = reader = None
            await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


def drive(port: int, path: str, headers: dict[str, str], connections: int, seconds: float) -> Load:
    """`connections` clients asking for `path` for `seconds`."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    load = Load()

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, request, until, load) for _ in range(connections)))

    start = time.perf_counter()
    asyncio.run(run())
    load.seconds = time.perf_counter() - start
    return load


# --- a run ---------------------------------------------------------------------------------------------------------


@dataclass
class Target:
    key: str
    title: str
    path: str
    headers: dict[str, str]
    expect: str  # a text its answer must hold (what says it is the page asked for)


def check(port: int, target: Target) -> None:
    status, body = get(port, target.path, target.headers)
    if status != 200 or target.expect.encode() not in body:
        raise SystemExit(f"{target.title} ({target.path}) answered {status} without {target.expect!r}")


def measure(port: int, master: int, target: Target, args: argparse.Namespace, pg: tuple[str, str]) -> dict[str, Any]:
    drive(port, target.path, target.headers, args.connections, args.warmup)  # connections made, code warm
    client_cpu, before = time.process_time(), server_cpu_ticks(master)
    with ConnectionPeak(*pg) as connections:
        load = drive(port, target.path, target.headers, args.connections, args.seconds)
    server_ticks, client_cpu = server_cpu_ticks(master) - before, time.process_time() - client_cpu
    n = len(load.latencies)
    ms = [x * 1000 for x in load.latencies]
    return {
        "key": target.key,
        "title": target.title,
        "path": target.path,
        "requests": n,
        "rps": n / load.seconds if load.seconds else 0.0,
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "errors": load.errors,
        "failures": load.failures,
        "peak_connections": connections.peak,
        "server_cpu_ms": server_ticks * 1000 / CLOCK_TICKS / n if n else 0.0,
        "client_cpu_ms": client_cpu * 1000 / n if n else 0.0,
        "budget_cpu_ms": BUDGETS.get(target.key),
    }


def report(result: dict[str, Any]) -> str:
    env, server = result["environment"], result["server"]
    head = (
        f"\n== Ciclo under load · {env['database']} · {result['tickets']:,} tickets (the demo's {result['demo']:,}, "
        f"built in {result['build_seconds']} s) · ciclo serve {server['workers']} workers × {server['threads']} "
        f"threads · {result['connections']} connections × {result['seconds']:g} s a target · "
        f"{env['cpus']} CPUs · load {result['load_average'][0]}→{result['load_average'][1]} · "
        f"commit {env['commit']} =="
    )
    bare = next((r["rps"] for r in result["targets"] if r["key"] == "bare"), 0.0)
    rows = []
    for r in result["targets"]:
        budget = r["budget_cpu_ms"]
        verdict = "" if budget is None else ("PASS" if r["server_cpu_ms"] <= budget and not r["errors"] else "FAIL")
        rows.append(
            [
                r["title"],
                f"{r['rps']:,.0f}",
                f"{r['p50']:.1f}",
                f"{r['p99']:.1f}",
                str(r["errors"]),
                f"{r['peak_connections']} / {server['max_connections']}",
                f"{100 * r['rps'] / bare:.1f} %" if bare else "—",
                f"{r['server_cpu_ms']:.2f}",
                "—" if budget is None else f"≤ {budget:g}",
                f"{r['client_cpu_ms']:.2f}",
                verdict,
            ]
        )
    headers = [
        "target",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "PG conns (peak / max)",
        "of bare",
        "server CPU ms/req",
        "budget",
        "client CPU ms/req",
        "",
    ]
    lines = [head, "", table(headers, rows, align="lrrrrrrrrrl")]
    lines.append(
        f"\nticket page: #{result['ticket']['id']} ({result['ticket']['notes']} notes, "
        f"{result['ticket']['questions']} questions in its cycle); logged in as {USERNAME}"
    )
    for r in result["targets"]:
        if r["failures"]:
            lines.append(f"{r['title']}: " + ", ".join(f"{n} × {why}" for why, n in r["failures"].items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    # Production settings (DEBUG off) without HTTPS: the client speaks plain HTTP to 127.0.0.1.
    with bench_django("postgres", keep=args.keep, client=True) as db:
        from ciclo.operations.web import from_environment

        started = time.perf_counter()
        print("loading the demo…", flush=True)
        load_demo()
        demo, tickets = scale_tickets(args.tickets)
        world = make_world()
        analyze()
        build_seconds = round(time.perf_counter() - started, 1)
        print(f"{tickets:,} tickets ({demo:,} of the demo) in {build_seconds} s; collecting static files…", flush=True)
        from django.core.management import call_command
        from django.db import connections

        call_command("collectstatic", interactive=False, verbosity=0)
        env = environment()
        connections.close_all()

        port, log = free_port(), db.data_dir / "serve.log"
        server = start_server(port, log)
        try:
            wait_until_up(server, port, log)
            session = {"Cookie": log_in(port)}
            token = {"Authorization": f"Bearer {world.token}"}
            targets = [
                Target("bare", "bare Django view", "/bench/bare", {}, "ok"),
                Target("home", "home", "/", session, 'data-testid="per-phase"'),
                Target("query", "query page", "/tickets/", session, 'data-testid="results-table"'),
                Target("ticket", "ticket page", f"/tickets/{world.ticket_id}/", session, 'id="cycle"'),
                Target("api", "API ticket list", "/api/v1/tickets", token, "items"),
            ]
            targets = [t for t in targets if t.key == "bare" or not args.only or t.key in args.only]
            for target in targets:
                check(port, target)
            load_before = os.getloadavg()[0]
            results = []
            for target in targets:
                print(f"  {target.title}…", flush=True)
                results.append(measure(port, server.pid, target, args, (db.server_url, db.name)))
        finally:
            stop_server(server)
        web = from_environment()
        return {
            "environment": env,
            "tickets": tickets,
            "demo": demo,
            "build_seconds": build_seconds,
            "connections": args.connections,
            "seconds": args.seconds,
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "server": {"workers": web.workers, "threads": web.threads, "max_connections": web.max_connections},
            "ticket": {"id": world.ticket_id, "notes": world.notes, "questions": world.questions},
            "targets": results,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to scale the demo to (default 100,000)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds of load per target (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before each target's (default 3)")
    parser.add_argument(
        "--only", nargs="*", choices=["home", "query", "ticket", "api"], help="these targets (and the bare view)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (debugging)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target misses its budget")
    args = parser.parse_args(argv)
    result = run(args)
    print(report(result))
    path = write_results("load", {"runs": [result]})
    print(f"\nwritten: {path}")
    max_connections = result["server"]["max_connections"]
    missed = [
        r
        for r in result["targets"]
        if r["errors"]
        or r["peak_connections"] > max_connections
        or (r["budget_cpu_ms"] is not None and r["server_cpu_ms"] > r["budget_cpu_ms"])
    ]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
