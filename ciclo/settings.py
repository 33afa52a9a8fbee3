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
    "ciclo.accounts",
    "ciclo.history",
    "ciclo.people",
    "ciclo.configurator",
    "ciclo.tickets",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
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
]

WSGI_APPLICATION = "ciclo.wsgi.application"


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'ciclo.sqlite3'}"
    try:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    engine = str(config["ENGINE"])
    if engine == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
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

# A refused request (4xx) is one warning line, without a traceback; a 5xx keeps its traceback.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "ciclo.log.ClientErrorsWithoutTraceback"}},
    # On the handler, for django.security.* too (a logger's own filters do not reach its children's records).
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["client_errors"]}},
    "loggers": {"django.request": {"filters": ["client_errors"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
