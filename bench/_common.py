"""What Ciclo's benchmarks share: a throw-away database, Django set up on it, timing figures, tables.

A benchmark measures, it does not test: it builds its own data in a database it
creates (a SQLite file in a temp dir, or a fresh PostgreSQL database it drops at
the end) and prints figures. Import this module before Django is set up.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
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
    """(sql, start, end) in perf_counter seconds of each statement, and of COMMIT, run while the block runs.

    COMMIT is not a statement Django's execute() sees, yet it is a round trip: it is timed apart.
    """
    from django.db import connection as default_connection

    connection: Any = default_connection  # _commit is Django's private hook, unknown to the stubs
    spent: list[tuple[str, float, float]] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append((sql, start, time.perf_counter()))

    commit = connection._commit

    def timed_commit() -> Any:
        start = time.perf_counter()
        try:
            return commit()
        finally:
            spent.append(("COMMIT", start, time.perf_counter()))

    connection._commit = timed_commit
    try:
        with connection.execute_wrapper(wrapper):
            yield spent
    finally:
        del connection._commit


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


def write_results(name: str, payload: Any) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
    return path
