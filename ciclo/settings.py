"""Ciclo settings, read from the environment.

Every value has a safe default for a local run; production sets DEBUG=0 and
then SECRET_KEY and ALLOWED_HOSTS must come from the environment.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("CICLO_DATA_DIR", BASE_DIR.parent / "data")).resolve()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no, on/off), got {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_number(name: str, default: float, *, minimum: float = 0, integer: bool = False) -> float:
    """A number from the environment, at least `minimum` (a whole number when `integer`)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    kind = "a whole number" if integer else "a number"
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {kind} of at least {minimum:g}, got {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ImproperlyConfigured(f"{name} must be {kind} of at least {minimum:g}, got {raw!r}")
    return value


DEBUG = env_bool("DEBUG", True)


def _weak_secret_key(key: str) -> str | None:
    """Why `key` is too weak for production (Django's own rule, check security.W009), or None."""
    if key.startswith("django-insecure-"):
        return "must not start with 'django-insecure-'"
    if len(key) < 50:
        return f"must be at least 50 characters long (it has {len(key)})"
    if len(set(key)) < 5:
        return "must have at least 5 different characters"
    return None


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if key and not DEBUG and (weakness := _weak_secret_key(key)):
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak for DEBUG off: it {weakness}; "
            "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off")
    # A local run keeps one generated key, so sessions survive restarts.
    key_file = DATA_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "bootstrap",
    "axes",
    # The task framework (Django 6's django.tasks, backported) and its database backend.
    "django_tasks",
    "django_tasks_db",
    "ciclo.jobs",
    "ciclo.accounts",
    "ciclo.history",
    "ciclo.people",
    "ciclo.configurator",
    "ciclo.tickets",
    "ciclo.operations",
    "ciclo.mail",
    "ciclo.sales",
    "ciclo.agenda",
    "ciclo.reminders",
    "ciclo.insight",
    "ciclo.collections",
    "ciclo.receivables_import",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, answered here before anything below runs (ciclo.operations.static adds the policy to them).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Notes the user and the client on the request for the access log line `ciclo serve` writes.
    "ciclo.operations.middleware.AccessLogMiddleware",
    # Early, so that every response carries the policy (ciclo.security).
    "ciclo.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside the session middleware: pushes a logged-in session's idle expiry on.
    "ciclo.security.SessionIdleMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as its documentation asks: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Counts failed logins and locks the username/address out for a while.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, loading a session's user with its role in the same query.
    "ciclo.accounts.backends.RoleBackend",
]
AXES_FAILURE_LIMIT = int(env_number("AXES_FAILURE_LIMIT", 5, minimum=1, integer=True))
AXES_COOLOFF_TIME = env_number("AXES_COOLOFF_HOURS", 0.25, minimum=0.01)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The lock lasts AXES_COOLOFF_HOURS from the failure that set it: attempts while locked,
# even with the right password, are refused without counting (else anyone could keep
# anyone locked out for good by trying now and then).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "ciclo.security.client_ip"


def _trusted_proxy_header() -> str:
    """The request.META key of the header the proxy in front of Ciclo puts the client's address in, or ""."""
    raw = os.environ.get("CICLO_TRUSTED_PROXY_HEADER", "").strip()
    if not raw:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", raw):
        raise ImproperlyConfigured(
            f"CICLO_TRUSTED_PROXY_HEADER must be an HTTP header name such as X-Forwarded-For, got {raw!r}"
        )
    return "HTTP_" + raw.upper().replace("-", "_")


# Unset: the client's address is the connection's (REMOTE_ADDR), and no header is trusted.
CICLO_TRUSTED_PROXY_HEADER = _trusted_proxy_header()
# How many proxies in front of Ciclo add to that header: the client's address is that many from its end.
CICLO_TRUSTED_PROXY_COUNT = int(env_number("CICLO_TRUSTED_PROXY_COUNT", 1, minimum=1, integer=True))
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "ciclo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ciclo.accounts.context.role",
            ],
        },
    },
    {
        # The loops of the longest lists only (ciclo/jinja.py): `<app>/jinja2/`, escaping on.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "APP_DIRS": True,
        "OPTIONS": {"environment": "ciclo.jinja.environment", "autoescape": True},
    },
]

WSGI_APPLICATION = "ciclo.wsgi.application"


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'ciclo.sqlite3'}"
    try:
        config: dict[str, object] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    # Seconds a thread keeps its connection for its next request. 0, a connection per request,
    # under runserver (a new thread per client connection: kept connections would pile up) and
    # the tests; `ciclo serve` sets 60, its threads living as long as their worker.
    config["CONN_MAX_AGE"] = int(env_number("CONN_MAX_AGE", 0, integer=True))
    # A kept connection is checked before a request uses it, so one the database dropped
    # (a restart, a failover) is replaced instead of failing that request.
    config["CONN_HEALTH_CHECKS"] = env_bool("CONN_HEALTH_CHECKS", True)
    engine = str(config["ENGINE"])
    if engine == "django.db.backends.sqlite3":
        # IMMEDIATE: a writer takes the lock at BEGIN, so read-then-write
        # transactions queue instead of failing with "database is locked".
        # wal_autocheckpoint: the write-ahead log is copied back into the database every
        # 5,000 pages (about 20 MB) instead of SQLite's 1,000. A page a busy table rewrites
        # often is then copied once instead of five times (less I/O in all), and the
        # transaction that triggers the copy is one in a few hundred, not one in twenty.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=5000;",
        }
        config["TEST"] = {"NAME": os.environ.get("CICLO_TEST_SQLITE") or None}
    elif engine not in {"django.db.backends.postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must point to SQLite or PostgreSQL, got {engine}")
    return {"default": config}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (ciclo.jobs): the task backend, the worker, the scheduler, /healthz ---------

# Where tasks wait for a worker: "database" (the default: a table in DATABASES, no broker, SQLite or
# PostgreSQL) or "redis" (RQ on REDIS_URL, for large sites). Task code is the same for both.
CICLO_TASKS_BACKEND = os.environ.get("CICLO_TASKS_BACKEND", "").strip().lower() or "database"
if CICLO_TASKS_BACKEND not in {"database", "redis"}:
    raise ImproperlyConfigured(f"CICLO_TASKS_BACKEND must be database or redis, got {CICLO_TASKS_BACKEND!r}")
# The queues a task may name; `ciclo worker` works on all of them unless told --queue-name.
CICLO_TASK_QUEUES = env_list("CICLO_TASK_QUEUES", ["default"])
if "default" not in CICLO_TASK_QUEUES or not all(re.fullmatch(r"[A-Za-z0-9_-]{1,32}", q) for q in CICLO_TASK_QUEUES):
    raise ImproperlyConfigured(
        "CICLO_TASK_QUEUES must be a comma-separated list of queue names (letters, digits, - and _, "
        f"up to 32 characters) that includes default, got {os.environ.get('CICLO_TASK_QUEUES')!r}"
    )
REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"
# Seconds a task may run on the Redis backend before RQ stops it (the database backend has no limit).
CICLO_TASK_TIMEOUT = int(env_number("CICLO_TASK_TIMEOUT", 3600, minimum=1, integer=True))
if CICLO_TASKS_BACKEND == "redis":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": CICLO_TASK_QUEUES}}
    RQ_QUEUES = {q: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": CICLO_TASK_TIMEOUT} for q in CICLO_TASK_QUEUES}
    RQ_SHOW_ADMIN_LINK = False
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": CICLO_TASK_QUEUES}}


def _schedules() -> dict[str, str]:
    from ciclo.jobs.when import BadSchedule, parse_schedules

    try:
        return parse_schedules(os.environ.get("CICLO_SCHEDULES", ""))
    except BadSchedule as exc:
        raise ImproperlyConfigured(f"CICLO_SCHEDULES: {exc}") from None


# The periodic jobs' times, over their defaults in ciclo/jobs/schedules.py: "name=when, name=when", each
# when "daily HH:MM" (in TIME_ZONE), "every N seconds|minutes|hours" (or Ns, Nm, Nh) or "off".
CICLO_SCHEDULES = _schedules()
# The scheduler looks at each period's start, and at least this often (its tick, which /healthz reports).
CICLO_SCHEDULER_TICK_SECONDS = env_number("CICLO_SCHEDULER_TICK_SECONDS", 30, minimum=0.1)
CICLO_WORKER_HEARTBEAT_SECONDS = env_number("CICLO_WORKER_HEARTBEAT_SECONDS", 10, minimum=0.1)
# /healthz?worker=1 fails when no worker has beaten for this many seconds, ?scheduler=1 when the
# scheduler has not ticked for this many.
CICLO_HEALTH_WORKER_MAX_AGE = env_number("CICLO_HEALTH_WORKER_MAX_AGE", 60, minimum=1)
CICLO_HEALTH_SCHEDULER_MAX_AGE = env_number("CICLO_HEALTH_SCHEDULER_MAX_AGE", 120, minimum=1)
for _beat, _max_age in (
    ("CICLO_WORKER_HEARTBEAT_SECONDS", "CICLO_HEALTH_WORKER_MAX_AGE"),
    ("CICLO_SCHEDULER_TICK_SECONDS", "CICLO_HEALTH_SCHEDULER_MAX_AGE"),
):
    if globals()[_max_age] <= globals()[_beat]:
        raise ImproperlyConfigured(
            f"{_max_age} must be more than {_beat} ({globals()[_beat]:g}), got {globals()[_max_age]:g}"
        )
# The housekeeping job (prune_task_records) deletes finished task results and heartbeats older than
# this many days, and scheduled runs older than that many.
CICLO_TASK_RESULTS_KEEP_DAYS = int(env_number("CICLO_TASK_RESULTS_KEEP_DAYS", 14, minimum=1, integer=True))
CICLO_SCHEDULED_RUNS_KEEP_DAYS = int(env_number("CICLO_SCHEDULED_RUNS_KEEP_DAYS", 90, minimum=1, integer=True))
# A load balancer checks each server over plain HTTP: /healthz is not redirected to HTTPS when DEBUG is off.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- end of background work ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGES = [("pt-br", _("Brazilian Portuguese")), ("en", _("English"))]
# The language of pages when the browser asks for none, and of commands.
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "pt-br").lower()
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, got {LANGUAGE_CODE!r}")
# Ciclo's catalog first (`make messages` writes it); then pt-BR for the libraries that ship none (django-axes).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Sao_Paulo")
USE_I18N = True
USE_TZ = True
# Dates day first and 24-hour times in both languages, shown as they are parsed (ciclo/formats).
FORMAT_MODULE_PATH = "ciclo.formats"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
# Served by WhiteNoise (MIDDLEWARE). DEBUG off: `ciclo collectstatic` (a step of each release) writes
# each file under a name holding its content's hash, beside its gzip copy, with the manifest pages
# link through; a browser may cache such a file for good. DEBUG on: the apps' files as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
from ciclo.operations.static import add_policy_header  # noqa: E402 (settings read above come first)

WHITENOISE_ADD_HEADERS_FUNCTION = add_policy_header

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
# A session ends after this long without a request (ciclo.security.SessionIdleMiddleware pushes it on).
SESSION_IDLE_HOURS = env_number("SESSION_IDLE_HOURS", 8, minimum=0.1)
SESSION_COOKIE_AGE = round(SESSION_IDLE_HOURS * 3600)
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env_number("SECURE_HSTS_SECONDS", 31536000, integer=True))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Outgoing e-mail (ciclo.mail): printed on the console until EMAIL_HOST names an SMTP server.


def _email_host() -> str:
    import ipaddress

    raw = os.environ.get("EMAIL_HOST", "").strip()
    if not raw:
        for name in ("EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
            if os.environ.get(name, "").strip():
                # Else a misspelt EMAIL_HOST would leave e-mail on the console, unnoticed.
                raise ImproperlyConfigured(f"EMAIL_HOST must be set when {name} is: without it e-mail is only printed")
        return raw
    if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?", raw):
        return raw
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"EMAIL_HOST must be a host name or IP address such as smtp.example.com "
            f"(the port goes in EMAIL_PORT), got {raw!r}"
        ) from None
    return raw


def _email_port(default: int) -> int:
    port = int(env_number("EMAIL_PORT", default, minimum=1, integer=True))
    if port > 65535:
        raise ImproperlyConfigured(f"EMAIL_PORT must be a port number from 1 to 65535, got {port}")
    return port


def _email_login() -> tuple[str, str]:
    """EMAIL_HOST_USER and EMAIL_HOST_PASSWORD, both or neither: Django logs in only with both."""
    user = os.environ.get("EMAIL_HOST_USER", "").strip()
    password = os.environ.get("EMAIL_HOST_PASSWORD", "")
    if user and not password:
        raise ImproperlyConfigured("EMAIL_HOST_PASSWORD must be set when EMAIL_HOST_USER is")
    if password and not user:
        raise ImproperlyConfigured("EMAIL_HOST_USER must be set when EMAIL_HOST_PASSWORD is")
    return user, password


def _default_from_email(required: bool) -> str:
    from email.utils import parseaddr

    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    raw = os.environ.get("DEFAULT_FROM_EMAIL", "").strip()
    if not raw:
        if required:
            raise ImproperlyConfigured(
                "DEFAULT_FROM_EMAIL must be set when EMAIL_HOST is: the sender of Ciclo's e-mail, "
                "such as 'Ciclo <ciclo@example.com>'"
            )
        return "Ciclo <ciclo@localhost>"
    try:
        validate_email(parseaddr(raw)[1])
    except ValidationError:
        raise ImproperlyConfigured(
            f"DEFAULT_FROM_EMAIL must be an e-mail address, with a name or without "
            f"('Ciclo <ciclo@example.com>' or ciclo@example.com), got {raw!r}"
        ) from None
    return raw


EMAIL_HOST = _email_host()
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on: EMAIL_USE_TLS is STARTTLS (usually port 587), "
        "EMAIL_USE_SSL is TLS from the first byte (usually port 465)"
    )
EMAIL_PORT = _email_port(465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = _email_login()
# Seconds to wait for the server: a worker must not hang on one that stopped answering.
EMAIL_TIMEOUT = env_number("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = _default_from_email(required=bool(EMAIL_HOST))
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The site's address as its users reach it (https://ciclo.example.com): e-mails sent by workers, which
# answer no request, link to pages under it. Empty: e-mails carry no links.
CICLO_SITE_URL = os.environ.get("CICLO_SITE_URL", "").strip().rstrip("/")
if CICLO_SITE_URL and not re.fullmatch(r"https?://[^/\s]+", CICLO_SITE_URL):
    raise ImproperlyConfigured(
        f"CICLO_SITE_URL must be an address such as https://ciclo.example.com, got {CICLO_SITE_URL!r}"
    )

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "WARNING"
if LOG_LEVEL not in LOG_LEVELS:
    raise ImproperlyConfigured(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {os.environ['LOG_LEVEL']!r}")
# On stderr, in the shape of gunicorn's own lines. A refused request (4xx) is one warning line,
# without a traceback; a 5xx keeps its traceback. The line per request is gunicorn's access log
# under `ciclo serve` (ciclo.operations.access_log), on stdout.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "line": {
            "format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
            "datefmt": "%Y-%m-%d %H:%M:%S %z",
        }
    },
    "filters": {"client_errors": {"()": "ciclo.log.ClientErrorsWithoutTraceback"}},
    # On the handler, for django.security.* too (a logger's own filters do not reach its children's records).
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["client_errors"]}},
    "loggers": {"django.request": {"filters": ["client_errors"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
