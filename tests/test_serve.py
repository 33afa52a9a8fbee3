"""`ciclo serve`: Ciclo under gunicorn, as production runs it.

Each test starts real servers (`ciclo serve` in a subprocess, on a free port of 127.0.0.1) and talks
HTTP to them: the two-servers and access-log tests on a SQLite file of their own, the connections
test on PostgreSQL's test database, with data the test commits first.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connection

from ciclo.security import CONTENT_SECURITY_POLICY
from tests.factory import make_ticket

BIN = Path(sys.executable).parent
CICLO = BIN / "ciclo"
# Variables of the developer's or CI's shell that would change what is tested.
CLEARED = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "STATIC_ROOT",
    "LOG_LEVEL",
    "XDG_RUNTIME_DIR",
    "PORT",
    "GUNICORN_CMD_ARGS",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "CICLO_TRUSTED_PROXY_HEADER",
}
CLEARED_PREFIXES = ("WEB_", "CONN_", "SECURE_")
# With DEBUG off, Ciclo expects the proxy that terminates TLS to say so (else it redirects to https).
HTTPS = {"X-Forwarded-Proto": "https"}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.startswith(CLEARED_PREFIXES)}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # HOME too: gunicorn's default control socket would live there.
    env.update(CICLO_DATA_DIR=str(tmp_path / "data"), HOME=str(home), **extra)
    return env


def _production(tmp_path: Path, static_root: Path, **extra: str) -> dict[str, str]:
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "serve-test-" + "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
    }
    return _env(tmp_path, **{**production, **extra})


def _ciclo(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CICLO), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    out: Path
    err: Path
    stopped: bool = field(default=False)

    def log(self) -> str:
        return self.out.read_text()

    def get(self, path: str, **kw: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        """SIGTERM, as systemd and honcho stop it: gunicorn's graceful shutdown."""
        if self.stopped:
            return
        self.stopped = True
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            raise AssertionError(f"ciclo serve did not stop on SIGTERM:\n{self.err.read_text()}") from None


@contextmanager
def serving(tmp_path: Path, name: str, env: dict[str, str]) -> Iterator[Server]:
    """`ciclo serve` on a free port, stopped on the way out; its stdout (the access log) and stderr in files."""
    port = _free_port()
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [str(CICLO), "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", out, err)
    try:
        _wait_until_it_answers(server)
        yield server
    finally:
        if process.poll() is None:
            server.stop()


def _wait_until_it_answers(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"ciclo serve exited with {server.process.returncode}:\n{server.err.read_text()}")
        try:
            server.get("/accounts/login/", headers=HTTPS)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"ciclo serve did not answer within 60 s:\n{server.err.read_text()}")


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A STATIC_ROOT that `ciclo collectstatic` filled, as a release does."""
    folder = tmp_path_factory.mktemp("serve-static")
    static_root = folder / "static"
    done = _ciclo(["collectstatic", "--noinput", "-v0"], _production(folder, static_root))
    assert done.returncode == 0, done.stderr
    return static_root


# Refusals: before anything starts, naming the option or variable


def test_a_bad_bind_is_refused_naming_the_option(tmp_path: Path) -> None:
    done = _ciclo(["serve", "--bind", "localhost"], _env(tmp_path))
    assert done.returncode == 1
    assert "--bind" in done.stderr and "localhost" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_BIND", "127.0.0.1:99999"),
        ("WEB_BIND", "0.0.0.0"),
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "two"),
        ("WEB_THREADS", "1.5"),
        ("WEB_GRACEFUL_TIMEOUT", "-1"),
        ("WEB_CONTROL_SOCKET", "relative/ciclo.ctl"),
    ],
)
def test_a_bad_server_setting_is_refused_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    done = _ciclo(["serve"], _env(tmp_path, **{name: value}))
    assert done.returncode == 1
    assert name in done.stderr and repr(value) in done.stderr
    assert "Traceback" not in done.stderr


def test_with_debug_off_it_refuses_to_start_before_the_static_files_are_collected(tmp_path: Path) -> None:
    done = _ciclo(["serve"], _production(tmp_path, tmp_path / "never-collected"))
    assert done.returncode == 1
    assert "ciclo collectstatic --noinput" in done.stderr
    assert "Traceback" not in done.stderr


# Two servers on one machine


def _workers(control_socket: Path) -> list[int]:
    done = subprocess.run(
        [str(BIN / "gunicornc"), "-s", str(control_socket), "-c", "show workers", "-j"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [worker["pid"] for worker in json.loads(done.stdout)["workers"]]


def _parent(pid: int) -> int:
    # /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, not ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_two_servers_on_one_machine_both_keep_answering(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with serving(tmp_path, "a", env) as first, serving(tmp_path, "b", env) as second:
        for _ in range(3):
            assert first.get("/accounts/login/").status_code == 200
            assert second.get("/accounts/login/").status_code == 200
        # Neither made gunicorn's one control socket per user, which the second would take over.
        assert list((tmp_path / "home").iterdir()) == []
        first.stop()
        assert second.get("/accounts/login/").status_code == 200


def test_each_server_given_a_control_socket_has_its_own(tmp_path: Path) -> None:
    sockets = {name: tmp_path / f"{name}.ctl" for name in ("a", "b")}
    env_a = _env(tmp_path, WEB_CONTROL_SOCKET=str(sockets["a"]), WEB_CONCURRENCY="1")
    env_b = _env(tmp_path, WEB_CONTROL_SOCKET=str(sockets["b"]), WEB_CONCURRENCY="2")
    with serving(tmp_path, "a", env_a) as first, serving(tmp_path, "b", env_b) as second:
        # Each socket answers for its own server: its own workers, children of its own master.
        assert [_parent(pid) for pid in _workers(sockets["a"])] == [first.process.pid]
        assert [_parent(pid) for pid in _workers(sockets["b"])] == [second.process.pid] * 2
        # A third server told to use a socket in use is refused, and takes nothing over.
        refused = _ciclo(["serve", "--bind", f"127.0.0.1:{_free_port()}"], env_b)
        assert refused.returncode == 1
        assert "WEB_CONTROL_SOCKET" in refused.stderr and str(sockets["b"]) in refused.stderr
        assert len(_workers(sockets["b"])) == 2
        assert first.get("/accounts/login/").status_code == 200
        assert second.get("/accounts/login/").status_code == 200


# The access log


LINE = re.compile(
    r"^time=\S+ event=request method=(?P<method>\S+) path=(?P<path>\S+) status=(?P<status>\d+) "
    r"duration_ms=(?P<ms>\d+\.\d) bytes=(?P<bytes>\d+)(?: user=(?P<user>\d+))? client=(?P<client>\S+)$"
)


def _lines(server: Server) -> list[re.Match[str]]:
    lines = server.log().splitlines()
    matches = [LINE.match(line) for line in lines]
    assert all(matches), lines
    return [m for m in matches if m]


def test_the_access_log_is_one_line_per_request_without_the_query_string(tmp_path: Path) -> None:
    with serving(tmp_path, "log", _env(tmp_path)) as server:
        assert server.get("/accounts/login/?next=/tickets/&q=Maria+Silva+123.456.789-09").status_code == 200
        assert server.get("/static/ciclo/ciclo.css").status_code == 200
        assert server.get("/no-such-page/").status_code == 404
        server.stop()
    log = server.log()
    assert "Maria" not in log and "next=" not in log and "?" not in log
    lines = _lines(server)[-3:]  # after the one that saw it answer
    assert [(m["method"], m["path"], m["status"]) for m in lines] == [
        ("GET", "/accounts/login/", "200"),
        ("GET", "/static/ciclo/ciclo.css", "200"),
        ("GET", "/no-such-page/", "404"),
    ]
    assert all(m["user"] is None and m["client"] == "127.0.0.1" for m in lines)
    css = (Path(settings.BASE_DIR) / "static/ciclo/ciclo.css").stat().st_size
    assert int(lines[1]["bytes"]) == css
    # Django's own line for the 404 stays one line on stderr, without a traceback.
    errors = server.err.read_text()
    assert "WARNING] django.request: Not Found: /no-such-page/" in errors
    assert "Traceback" not in errors


# Static files with DEBUG off: hashed, compressed, cached for good, under the policy


def test_with_debug_off_static_files_are_hashed_compressed_and_cached_for_good(tmp_path: Path, collected: Path) -> None:
    with serving(tmp_path, "static", _production(tmp_path, collected)) as server:
        page = server.get("/accounts/login/", headers=HTTPS)
        assert page.status_code == 200
        [css] = re.findall(r'href="(/static/ciclo/ciclo\.[0-9a-f]{12}\.css)"', page.text)
        response = server.get(css, headers={**HTTPS, "Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.text == (collected / css.removeprefix("/static/")).read_text()


# Database connections under load (PostgreSQL)

WORKERS, THREADS, CLIENTS, SECONDS = 2, 4, 64, 4


@dataclass
class Load:
    ok: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def _client(url: str, headers: dict[str, str], until: float, load: Load) -> None:
    """One client on one kept-alive connection, asking for `url` (at least once) again as soon as it has the answer.

    Plain HTTP/1.1 on asyncio's streams: an HTTP library costs the test as much CPU per request as
    the server spends answering it, on the same two cores.
    """
    parts = urlsplit(url)
    request = (
        "".join(
            [f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n", *(f"{k}: {v}\r\n" for k, v in headers.items())]
        ).encode()
        + b"\r\n"
    )
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        while True:
            writer.write(request)
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status = int(head.split(" ", 2)[1])
            length = re.search(r"^content-length:\s*(\d+)", head, re.IGNORECASE | re.MULTILINE)
            if length is None:
                load.errors.append(f"{status} without Content-Length")
                return
            await reader.readexactly(int(length[1]))
            if status == 200:
                load.ok += 1
            else:
                load.errors.append(f"{status} {head.splitlines()[0]}")
            if loop.time() >= until:
                break
    except (OSError, asyncio.IncompleteReadError) as exc:
        load.errors.append(repr(exc))
    finally:
        writer.close()


def _hammer(url: str, headers: dict[str, str], clients: int, seconds: float) -> Load:
    """`clients` clients at once, each on its own connection, until `seconds` have passed."""

    async def run() -> Load:
        load = Load()
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.gather(*(_client(url, headers, start + seconds, load) for _ in range(clients)))
        load.seconds = loop.time() - start
        return load

    # In a thread of its own: a browser test earlier in the session may leave an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


SERVER_APP = "ciclo-serve-under-test"


class Connections:
    """The connections to one database, read from pg_stat_activity every 20 ms by a thread of its own."""

    def __init__(self, database: str, conninfo: str, ignore: set[int]) -> None:
        self.database, self.conninfo, self.ignore = database, conninfo, ignore
        self.peak = 0
        self.seen: set[tuple[int, object]] = set()  # (pid, backend_start): one per connection ever opened
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def now(self) -> list[tuple[int, object]]:
        with psycopg.connect(self.conninfo, autocommit=True) as watcher:
            return self._read(watcher)

    def _read(self, watcher: psycopg.Connection) -> list[tuple[int, object]]:
        rows = watcher.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [self.database, SERVER_APP],
        ).fetchall()
        return [(pid, start) for pid, start in rows if pid not in self.ignore]

    def _watch(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as watcher:
            while not self._stop.is_set():
                rows = self._read(watcher)
                self.peak = max(self.peak, len(rows))
                self.seen.update(rows)
                time.sleep(0.02)

    def __enter__(self) -> Connections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def _connections_once_closed(connections: Connections) -> list[tuple[int, object]]:
    """What remains open a few seconds after the server stopped (a backend leaves once it sees the socket close)."""
    deadline = time.monotonic() + 5
    while (remaining := connections.now()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return remaining


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_64_clients_leave_at_most_workers_times_threads_connections_open(tmp_path, collected, client, agent, sales):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's connections are counted on PostgreSQL (make test runs the suite there too)")
    for n in range(5):
        make_ticket(sales, agent, subject=f"Venda {n}")
    client.force_login(agent)  # committed: the server's own connections see the session
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    db = connection.settings_dict
    auth = quote(str(db["USER"]), safe="") + (":" + quote(str(db["PASSWORD"]), safe="") if db["PASSWORD"] else "")
    location = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own_pid,) = cursor.fetchone()
    conninfo = f"postgresql://{auth}@{location}/postgres"
    env = _production(
        tmp_path,
        collected,
        DATABASE_URL=f"postgres://{auth}@{location}/{db['NAME']}",
        SECRET_KEY=settings.SECRET_KEY,  # the session's hash is signed with it
        WEB_CONCURRENCY=str(WORKERS),
        WEB_THREADS=str(THREADS),
        PGAPPNAME=SERVER_APP,  # the server's connections are told apart from any other to the database
    )
    headers = {**HTTPS, "Cookie": cookie}
    with serving(tmp_path, "load", env) as server, Connections(str(db["NAME"]), conninfo, {own_pid}) as connections:
        # Every thread's first request (its connection, Django's first page) before the measured run.
        warm_up = _hammer(server.url + "/", headers, CLIENTS, 0)
        load = _hammer(server.url + "/", headers, CLIENTS, SECONDS)
        assert server.get("/?q=segredo-da-busca", headers=headers).status_code == 200
    server_stopped = server.process.returncode == 0
    after = _connections_once_closed(Connections(str(db["NAME"]), conninfo, {own_pid}))

    rate = load.ok / load.seconds
    print(
        f"\n{CLIENTS} clients for {load.seconds:.1f} s on {WORKERS} workers × {THREADS} threads: "
        f"{load.ok} requests, {rate:.0f} req/s, {len(load.errors)} errors; "
        f"peak {connections.peak} PostgreSQL connections, {len(connections.seen)} opened in all"
    )
    assert warm_up.errors == [] and load.errors == []
    assert warm_up.ok == CLIENTS and load.ok >= CLIENTS
    assert 1 <= connections.peak <= WORKERS * THREADS
    # Kept and reused, not one per request: all the requests went through these few.
    assert len(connections.seen) <= WORKERS * THREADS
    # Closed when the server stops.
    assert after == [] and server_stopped
    # One access line per request, each naming the user; the query string is never written.
    lines = [m for m in _lines(server) if m["path"] == "/"]
    assert len(lines) == warm_up.ok + load.ok + 1
    assert {m["user"] for m in lines} == {str(agent.pk)}
    assert "segredo" not in server.log()


# The sample deployment (deploy/)

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = {"ciclo-web.service": "serve", "ciclo-worker@.service": "worker", "ciclo-scheduler.service": "scheduler"}
INSTALLED_CICLO = "/srv/ciclo/.venv/bin/ciclo"


def test_the_sample_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here (Debian's systemd package has it)")
    assert {unit.name for unit in DEPLOY.glob("*.service")} == set(UNITS)
    for name, command in UNITS.items():
        text = (DEPLOY / name).read_text()
        assert f"\nExecStart={INSTALLED_CICLO} {command}\n" in text
        # verify checks that ExecStart's program exists: the sample's path becomes this checkout's.
        (tmp_path / name).write_text(text.replace(INSTALLED_CICLO, str(CICLO)))
    done = subprocess.run(
        [tool, "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # It warns of an unknown key or a bad value and still exits 0: any word on our units fails.
    printed = done.stdout + done.stderr
    ours = [line for line in printed.splitlines() if str(tmp_path) in line or any(name in line for name in UNITS)]
    assert done.returncode == 0 and ours == [], printed


def test_the_units_run_ciclo_commands_that_exist(tmp_path: Path) -> None:
    done = _ciclo(["help", "--commands"], _env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert set(UNITS.values()) <= set(done.stdout.split())


def _example_environment() -> dict[str, str]:
    lines = (DEPLOY / "ciclo.env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def test_the_example_environment_passes_the_deployment_check_once_its_secret_key_is_set(tmp_path: Path) -> None:
    example = _example_environment()
    assert example["SECRET_KEY"] == ""  # Ciclo refuses to start until the operator sets one
    readme = (DEPLOY.parent / "README.md").read_text()
    assert [key for key in example if f"| `{key}` |" not in readme] == []  # each one documented
    env = {**_env(tmp_path), **example, "SECRET_KEY": "example-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2}
    env.update(CICLO_DATA_DIR=str(tmp_path / "data"), STATIC_ROOT=str(tmp_path / "static"))
    done = _ciclo(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
