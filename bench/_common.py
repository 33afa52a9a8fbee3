"""What Ciclo's benchmarks share: a throw-away database, Django set up on it, timing figures, tables.

A benchmark measures, it does not test: it builds its own data in a database it
creates (a SQLite file in a temp dir, or a fresh PostgreSQL database it drops at
the end) and prints figures. Import this module before Django is set up.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import json
import math
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"

if str(REPO_DIR) not in sys.path:
    sys.path.insert(0, str(REPO_DIR))


# --- the database -----------------------------------------------------------------------------------------------


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in {"postgres", "postgresql", "pgsql"}


def pg_server_url() -> str:
    """The PostgreSQL server to create the bench database on: DATABASE_URL when it is PostgreSQL, else local."""
    url = os.environ.get("DATABASE_URL", "")
    return url if is_postgres_url(url) else DEFAULT_PG_SERVER


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@dataclass
class BenchDatabase:
    """A database made for one benchmark run; `drop()` removes every trace of it."""

    backend: str  # "sqlite" | "postgres"
    url: str
    data_dir: Path
    name: str
    server_url: str = ""
    keep: bool = False
    _dropped: bool = field(default=False, repr=False)

    @classmethod
    def create(cls, backend: str, *, keep: bool = False) -> BenchDatabase:
        data_dir = Path(tempfile.mkdtemp(prefix="ciclo-bench-"))
        if backend == "sqlite":
            path = data_dir / "bench.sqlite3"
            return cls("sqlite", f"sqlite:///{path}", data_dir, str(path), keep=keep)
        import psycopg

        server = pg_server_url()
        name = f"ciclo_bench_{os.getpid()}"
        with psycopg.connect(_with_db(server, urlsplit(server).path.lstrip("/") or "postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            c.execute(f'CREATE DATABASE "{name}"')
        return cls("postgres", _with_db(server, name), data_dir, name, server_url=server, keep=keep)

    def configure_environment(self) -> None:
        """Point Ciclo's settings at this database; call before django.setup()."""
        os.environ["DATABASE_URL"] = self.url
        os.environ["CICLO_DATA_DIR"] = str(self.data_dir)
        # Query logging (DEBUG) would be measured too: the bench runs as production does.
        os.environ["DEBUG"] = "0"
        os.environ.setdefault("SECRET_KEY", "ciclo-bench-" + "x" * 40)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ciclo.settings")

    def drop(self) -> None:
        if self._dropped:
            return
        self._dropped = True
        if self.keep:
            print(f"kept the database: {self.url}")
            return
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django may not be set up yet
            pass
        if self.backend == "postgres":
            import psycopg

            server = self.server_url
            with psycopg.connect(
                _with_db(server, urlsplit(server).path.lstrip("/") or "postgres"), autocommit=True
            ) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.data_dir, ignore_errors=True)


def setup_django(db: BenchDatabase) -> None:
    db.configure_environment()
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def analyze() -> None:
    """Fresh planner statistics after a bulk load (VACUUM ANALYZE on PostgreSQL also sets hint bits)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return "PostgreSQL " + cursor.fetchone()[0].split()[0]
        cursor.execute("SELECT sqlite_version()")
        return "SQLite " + cursor.fetchone()[0]


def environment() -> dict[str, Any]:
    import django

    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": server_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "system": platform.platform(terse=True),
        "commit": commit,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# --- timing -----------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@contextmanager
def db_time() -> Iterator[list[tuple[str, float, float]]]:
    """(sql, start, end) in perf_counter seconds of each statement, of fetching its rows, and of COMMIT,
    run while the block runs: the time spent in the database and its driver.

    The statements are timed by a connection execute_wrapper. Fetching is timed too: SQLite
    steps through a query's rows while they are fetched, after execute() returns (a count
    over a correlated subquery is computed then), and psycopg turns rows into Python values
    then. COMMIT is not a statement Django's execute() sees, yet it is a round trip: it is
    timed apart.
    """
    from django.db import connection as default_connection
    from django.db.backends.utils import CursorWrapper

    connection: Any = default_connection  # _commit is Django's private hook, unknown to the stubs
    spent: list[tuple[str, float, float]] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((sql, start, time.perf_counter()))

    def timed_fetch(name: str) -> Callable[..., Any]:
        def fetch(self: Any, *args: Any) -> Any:
            start = time.perf_counter()
            try:
                with self.db.wrap_database_errors:
                    return getattr(self.cursor, name)(*args)
            finally:
                spent.append((f"({name})", start, time.perf_counter()))

        return fetch

    commit = connection._commit

    def timed_commit() -> Any:
        start = time.perf_counter()
        try:
            return commit()
        finally:
            spent.append(("COMMIT", start, time.perf_counter()))

    connection._commit = timed_commit
    wrapped: Any = CursorWrapper  # fetch… reach the driver's cursor through __getattr__: defined for the block
    for name in ("fetchone", "fetchmany", "fetchall"):
        setattr(wrapped, name, timed_fetch(name))
    try:
        with connection.execute_wrapper(wrapper):
            yield spent
    finally:
        del connection._commit
        for name in ("fetchone", "fetchmany", "fetchall"):
            delattr(wrapped, name)


SAMPLES = ["ms", "db_ms", "cpu_ms", "sql_ms", "sql_cpu_ms"]  # the raw samples of an `alternate` result


def alternate(subject: Callable[[], Any], sql: Callable[[], Any], warmup: int, iterations: int) -> dict[str, Any]:
    """`subject` and the SQL of the same work alternately (which goes first alternates too).

    Samples, in ms: `ms` (the subject's wall time), `db_ms` (its time in the database driver,
    every statement and COMMIT, from an execute_wrapper), `cpu_ms` (this thread's CPU time),
    and the SQL's `sql_ms` and `sql_cpu_ms`. Then their p50 and p95 (`p50`, `p95`, `db_p50`,
    `sql_p95`, …) and the ratios to the SQL: `ratio_p50/p95` (the whole subject) and
    `db_ratio_p50/p95` (its time in the database).
    """
    samples: dict[str, list[float]] = {key: [] for key in SAMPLES}
    gc.collect()
    for i in range(warmup + iterations):
        for side in ("subject", "sql") if i % 2 else ("sql", "subject"):
            if side == "subject":
                with db_time() as spent:
                    cpu, start = time.thread_time(), time.perf_counter()
                    subject()
                    elapsed, cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000
                if i >= warmup:
                    samples["ms"].append(elapsed)
                    samples["cpu_ms"].append(cpu)
                    samples["db_ms"].append(sum(e - s for _sql, s, e in spent) * 1000)
            else:
                cpu, start = time.thread_time(), time.perf_counter()
                sql()
                elapsed, cpu = (time.perf_counter() - start) * 1000, (time.thread_time() - cpu) * 1000
                if i >= warmup:
                    samples["sql_ms"].append(elapsed)
                    samples["sql_cpu_ms"].append(cpu)
    out: dict[str, Any] = dict(samples)
    for key in SAMPLES:
        prefix = key.removesuffix("ms")  # "" for the subject's wall time, "db_", "sql_cpu_", …
        out[f"{prefix}p50"], out[f"{prefix}p95"] = percentile(samples[key], 50), percentile(samples[key], 95)
    for p in ("p50", "p95"):
        out[f"ratio_{p}"] = out[p] / out[f"sql_{p}"]
        out[f"db_ratio_{p}"] = out[f"db_{p}"] / out[f"sql_{p}"]
    out["cpu_ratio_p50"] = out["cpu_p50"] / out["sql_cpu_p50"] if out["sql_cpu_p50"] else math.nan
    return out


def captured_queries(fn: Callable[[], Any]) -> list[str]:
    """The SQL of each query `fn` runs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries]


def profiled(fn: Callable[[], Any], calls: int, top: int, *restrict: Any) -> str:
    """cProfile of `calls` calls: the top by cumulative time (of the functions `restrict` picks), then by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(*restrict, top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# --- output -----------------------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A plain-text table; `align` holds one of l/r per column (default: first left, the rest right)."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *[line(r) for r in cells[1:]]])


def ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}"


def ratio(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.2f}x"


def pass_fail(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run_header(result: dict[str, Any], *, load: bool = True) -> list[str]:
    """The lines that open a run's report: the database, the size, the environment (and the load, and the commit)."""
    env = result["environment"]
    head = (
        f"== {env['database']} · {result['tickets']:,} tickets (built in {result['build_seconds']} s) · "
        f"{result['iterations']} iterations · Python {env['python']} · Django {env['django']} · {env['cpus']} CPUs"
    )
    if load and "load_average" in env:
        a = env["load_average"]
        head += f" · load {a[0]}/{a[1]}/{a[2]} → {a[3]}/{a[4]}/{a[5]}"
    head += f" · commit {env['commit']}"
    return ["", head + " ==", ""]


# --- budgets: what each figure must hold (shared/PERFORMANCE.md, from 2026-12-02) --------------------------------


@dataclass(frozen=True)
class Budget:
    """What a benchmark's line must hold: its p95 under `p95_ms`; optionally the whole work within
    `ratio` of its raw SQL (on the databases in `ratio_on`), and its time in the database within
    `db_ratio` of the SQL it needs. Ratios are judged on the medians (a p95 is the slowest call in
    twenty: the machine's noise more than the work); both are printed."""

    what: str
    p95_ms: float
    ratio: float | None = None
    ratio_on: tuple[str, ...] = ("sqlite", "postgres")
    db_ratio: float | None = None

    def describe(self, backend: str) -> str:
        parts = [f"p95<{self.p95_ms:g}ms"]
        if self.ratio is not None and backend in self.ratio_on:
            parts.append(f"≤{self.ratio:g}×SQL")
        if self.db_ratio is not None:
            parts.append(f"DB≤{self.db_ratio:g}×SQL")
        return ", ".join(parts)


ENGINE_ACTION = Budget("engine action", 15.0, ratio=3.0, ratio_on=("postgres",))
PAGE = Budget("page", 100.0, db_ratio=1.5)
API_READ = Budget("API read", 30.0, db_ratio=1.5)


def judge(r: dict[str, Any], budget: Budget, backend: str, queries: tuple[int, int] | None = None) -> dict[str, Any]:
    """Hold an `alternate` result to its budget (and, given two counts, its queries to being the same):
    r gains `budget` (its description), `checks` ({what: held}) and `passed`."""
    checks = {"p95": r["p95"] < budget.p95_ms}
    if budget.ratio is not None and backend in budget.ratio_on:
        checks["×SQL"] = r["ratio_p50"] <= budget.ratio
    if budget.db_ratio is not None:
        checks["DB/SQL"] = r["db_ratio_p50"] <= budget.db_ratio
    if queries is not None:
        r["queries_small"], r["queries_large"] = queries
        checks["queries"] = queries[0] == queries[1]
    r.update(budget=budget.describe(backend), checks=checks, passed=all(checks.values()))
    return r


def verdict(r: dict[str, Any]) -> str:
    """PASS, or FAIL with what was missed."""
    missed = [name for name, held in r["checks"].items() if not held]
    return "PASS" if not missed else "FAIL: " + ", ".join(missed)


LINE_HEADERS = [
    "p50",
    "p95 ms",
    "CPU p50",
    "SQL p50",
    "p95",
    "×SQL p50",
    "p95",
    "DB p50",
    "p95",
    "DB/SQL p50",
    "p95",
    "queries (SQL)",
    "budget",
    "",
]


def queries_cell(r: dict[str, Any]) -> str:
    """Queries at the two sizes a line compares ("7/7"), or its one count."""
    if "queries_small" in r:
        return f"{r['queries_small']}/{r['queries_large']}"
    return str(r.get("queries", "—"))


def line_cells(r: dict[str, Any]) -> list[str]:
    """One line's figures beside its SQL's, its time in the database, its queries, its budget and verdict."""
    queries = queries_cell(r)
    if r.get("sql_queries") is not None:
        queries += f" ({r['sql_queries']})"
    return [
        ms(r["p50"]),
        ms(r["p95"]),
        ms(r["cpu_p50"]),
        ms(r["sql_p50"]),
        ms(r["sql_p95"]),
        ratio(r["ratio_p50"]),
        ratio(r["ratio_p95"]),
        ms(r["db_p50"]),
        ms(r["db_p95"]),
        ratio(r["db_ratio_p50"]),
        ratio(r["db_ratio_p95"]),
        queries,
        r["budget"],
        verdict(r),
    ]


def lines_table(first: str, lines: Sequence[dict[str, Any]], extra: Sequence[str] = ()) -> str:
    """The table of a run's lines: `first` heads the titles; `extra` names more cells each line has in `extra`."""
    rows = [[r["title"], *line_cells(r)[:-2], *r.get("extra", []), *line_cells(r)[-2:]] for r in lines]
    headers = [first, *LINE_HEADERS[:-2], *extra, *LINE_HEADERS[-2:]]
    return table(headers, rows, align="l" + "r" * (len(headers) - 3) + "ll")


def summary_table(first: str, results: Sequence[dict[str, Any]], groups: Sequence[str] = ("cases",)) -> str:
    """Every line of every run (a --both run: SQLite's, then PostgreSQL's), short."""
    rows = [
        [
            res["environment"]["database"],
            r["title"],
            ms(r["p50"]),
            ms(r["p95"]),
            ms(r["sql_p95"]),
            ratio(r["ratio_p50"]),
            ratio(r["db_ratio_p50"]),
            queries_cell(r),
            r["budget"],
            verdict(r),
        ]
        for res in results
        for group in groups
        for r in res[group].values()
    ]
    headers = ["database", first, "p50", "p95 ms", "SQL p95", "×SQL p50", "DB/SQL p50", "queries", "budget", ""]
    return "\n== summary ==\n" + table(headers, rows, align="llrrrrrrll")


# --- the SQL any signed-in request needs before its own work: who asks, with their role ---------------------------

USER_SQL = """
    SELECT u.id, u.password, u.last_login, u.is_superuser, u.username, u.first_name, u.last_name, u.email,
        u.is_staff, u.is_active, u.date_joined,
        (SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
         WHERE ug.user_id = u.id ORDER BY g.name LIMIT 1)
    FROM auth_user u WHERE u.id = %s"""
TOKEN_SQL = """
    SELECT t.id, t.name, t.prefix, t.last_used_at, u.id, u.username, u.first_name, u.last_name, u.is_active,
        u.is_superuser, (SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id
         WHERE ug.user_id = u.id ORDER BY g.name LIMIT 1)
    FROM accounts_apitoken t JOIN auth_user u ON u.id = t.user_id
    WHERE t.key_hash = %s AND t.revoked_at IS NULL"""


def session_sql(client: Any) -> list[tuple[str, list[Any]]]:
    """A signed-in page's first SQL, by hand: the client's session, then its user with their role."""
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.db import connection
    from django.utils import timezone

    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    user_id = int(Session.objects.get(session_key=key).get_decoded()["_auth_user_id"])
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return [
        ("SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s", [key, now]),
        (USER_SQL, [user_id]),
    ]


def token_sql(raw_token: str) -> list[tuple[str, list[Any]]]:
    """An API request's first SQL, by hand: the token by its SHA-256, with its user and their role."""
    import hashlib

    return [(TOKEN_SQL, [hashlib.sha256(raw_token.encode()).hexdigest()])]


def run_statements(statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
    """Each statement run and its rows fetched, through Django's connection: the SQL side of a line."""
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, list(params))
            out.append(cursor.fetchall())
    return out


def strip_samples(result: dict[str, Any], groups: Sequence[str], keys: Sequence[str] = SAMPLES) -> dict[str, Any]:
    """What the JSON keeps: the result as JSON sees it, the raw samples (`keys` of each of `groups`) rounded."""
    out = json.loads(json.dumps(result, default=str))
    for group in groups:
        for r in out[group].values():
            for key in keys:
                if key in r:
                    r[key] = [round(v, 4) for v in r[key]]
    return out


def write_results(name: str, payload: Any) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


# --- a benchmark's run: options, a database per process, the --both parent -------------------------------------


def bench_parser(
    description: str, *, tickets: int, iterations_help: str, warmup_help: str, tickets_help: str = ""
) -> argparse.ArgumentParser:
    """The options every benchmark takes first: where it runs, how many tickets, iterations and warm-up."""
    parser = argparse.ArgumentParser(description=description)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="a fresh PostgreSQL database (DATABASE_URL's server)")
    where.add_argument("--sqlite", action="store_true", help="a fresh SQLite file (the default)")
    where.add_argument("--both", action="store_true", help="SQLite, then PostgreSQL, in one run")
    parser.add_argument(
        "--tickets", type=int, default=tickets, help=tickets_help or f"tickets to build (default {tickets:,})"
    )
    parser.add_argument("--iterations", type=int, default=200, help=iterations_help)
    parser.add_argument("--warmup", type=int, default=10, help=warmup_help)
    return parser


def add_run_options(parser: argparse.ArgumentParser, strict_help: str = "exit 1 when a budget is missed") -> None:
    """The options every benchmark takes last: --keep, --strict, and the hidden ones of a --both child."""
    parser.add_argument("--keep", action="store_true", help="keep the database (debugging)")
    parser.add_argument("--strict", action="store_true", help=strict_help)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)  # a --both parent collects its children here
    parser.add_argument("--backend", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)


def serve_in_process() -> None:
    """Production settings (DEBUG off) without HTTPS, for the in-process client."""
    os.environ.update(
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
    )


@contextmanager
def bench_django(backend: str, *, keep: bool = False, client: bool = False) -> Iterator[BenchDatabase]:
    """A fresh database, Django set up and migrated on it; dropped when the block ends."""
    db = BenchDatabase.create(backend, keep=keep)
    if client:
        serve_in_process()
    try:
        if client:
            # DEBUG off serves the hashed names of `ciclo collectstatic`, as a release does.
            os.environ["STATIC_ROOT"] = str(db.data_dir / "static")
        setup_django(db)
        migrate()
        if client:
            from django.core.management import call_command

            call_command("collectstatic", interactive=False, verbosity=0)
        yield db
    finally:
        db.drop()


def announce(what: str, env: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"\n== Ciclo {what} benchmark · {env['database']} · {args.tickets:,} tickets · "
        f"{args.iterations} iterations (+{args.warmup} warm-up) ==",
        flush=True,
    )


def load_span(before: Sequence[float]) -> list[float]:
    """The load averages given (taken before the timing) and now, rounded: what shared the CPUs meanwhile."""
    return [round(x, 2) for x in (*before, *os.getloadavg())]


def run(
    args: argparse.Namespace,
    argv: list[str] | None,
    *,
    script: str,
    name: str,
    run_backend: Callable[[argparse.Namespace, str], dict[str, Any]],
    strip: Callable[[dict[str, Any]], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    passed: Callable[[list[dict[str, Any]]], bool],
    summary: Callable[[list[dict[str, Any]]], str] | None = None,
    report_each: bool = False,
    relative_path: bool = False,
) -> int:
    """A benchmark's main: one backend in this process, or (--both) SQLite then PostgreSQL, each in a child.

    Django is set up once per process: each database gets a process of its own, which
    writes its stripped result to --json-out for the parent to report. `report_each`
    prints each run's report as soon as it is in; `relative_path` shows the --both
    results file relative to the working directory.
    """
    if args.both:
        results = []
        passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--both"]
        for backend in ("sqlite", "postgres"):
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
                out = tmp.name
            code = subprocess.call([sys.executable, script, *passthrough, "--backend", backend, "--json-out", out])
            if code != 0:
                print(f"the {backend} run failed (exit {code})", file=sys.stderr)
                return code
            results.append(json.loads(Path(out).read_text()))
            os.unlink(out)
            if report_each:
                print(report(results[-1]), flush=True)
        if not report_each:
            for result in results:
                print(report(result))
        if summary is not None:
            print(summary(results))
        path = write_results(name, {"runs": results})
        if relative_path and path.is_relative_to(Path.cwd()):
            path = path.relative_to(Path.cwd())
        print(f"\nwritten: {path}")
        return 1 if args.strict and not passed(results) else 0

    backend = args.backend or (
        "postgres"
        if args.postgres or (not args.sqlite and is_postgres_url(os.environ.get("DATABASE_URL")))
        else "sqlite"
    )
    result = strip(run_backend(args, backend))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False))
        return 0
    print(report(result))
    path = write_results(f"{name}-{backend}", {"runs": [result]})
    print(f"\nwritten: {path}")
    return 1 if args.strict and not passed([result]) else 0
