"""Settings shared by every environment. Environment variables use the ``SHOP_`` prefix."""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]  # monolith/
REPO_DIR = BASE_DIR.parent

env = environ.Env()
PREFIX = "SHOP_"


def setting(name: str, default: str) -> str:
    """Read ``SHOP_<name>`` from the environment."""
    return str(env.str(PREFIX + name, default=default))


def setting_int(name: str, default: int) -> int:
    return int(env.int(PREFIX + name, default=default))


def setting_float(name: str, default: float) -> float:
    return float(env.float(PREFIX + name, default=default))


def setting_bool(name: str, default: bool) -> bool:
    return bool(env.bool(PREFIX + name, default=default))


DEBUG = setting_bool("DEBUG", False)
VAR_DIR = Path(setting("VAR_DIR", str(REPO_DIR / ".kit" / "monolith")))

# A default secret is only acceptable in debug mode: production refuses to start with it.
INSECURE_SECRET = "insecure-dev-only-secret-change-me"
SECRET_KEY = setting("SECRET_KEY", INSECURE_SECRET)
if not DEBUG and SECRET_KEY == INSECURE_SECRET:
    raise ImproperlyConfigured(
        "SHOP_SECRET_KEY is not set and SHOP_DEBUG is off: refusing to start with the default "
        "secret. Set SHOP_SECRET_KEY to a long random value (or SHOP_DEBUG=1 for local work)."
    )

ALLOWED_HOSTS = [host.strip() for host in setting("ALLOWED_HOSTS", "*").split(",") if host.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "drf_spectacular",
    "shop.common",
    "eventbus.outbox",
    "eventbus.inbox",
    "eventbus.ownership",
    "shop.users",
    "shop.catalog",
    "shop.cart",
    "shop.orders",
    "shop.payments",
    "shop.notifications",
]

MIDDLEWARE = [
    "shop.common.middleware.RequestIdMiddleware",
    "shop.common.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
APPEND_SLASH = False

_default_db = f"sqlite:///{VAR_DIR / 'monolith.sqlite3'}"
DATABASES = {"default": env.db_url_config(setting("DATABASE_URL", _default_db))}
_db = DATABASES["default"]
# Persistent connections: the server keeps worker threads alive, so reuse their connections.
_db["CONN_MAX_AGE"] = setting_int("DB_CONN_MAX_AGE", 60)
_db["CONN_HEALTH_CHECKS"] = True
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so two
    # writers queue on the busy timeout instead of failing with "database is locked".
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Events: the embedded broker (a folder, no server) unless a RabbitMQ URL is given.
BROKER_URL = str(setting("BROKER_URL", default=f"filesystem://{VAR_DIR / 'broker'}"))
EVENTBUS_PREFIX = setting("EVENTBUS_PREFIX", "")
# History the relay and the consumer prune (eventbus/retention.py); 0 keeps it forever.
EVENTBUS_OUTBOX_KEEP_DAYS = setting_float("EVENTBUS_OUTBOX_KEEP_DAYS", 7.0)
EVENTBUS_INBOX_KEEP_DAYS = setting_float("EVENTBUS_INBOX_KEEP_DAYS", 14.0)
# The monolith follows a context's events only while an extracted service writes it (the
# handlers check ownership); while the monolith writes, its own echoes are skipped.
EVENTBUS_SUBSCRIPTIONS = {
    "monolith": [
        "catalog.product.*",
        "catalog.variant.*",
        "catalog.inventory.*",
        "notifications.notification.sent",
    ]
}
EVENTBUS_HANDLERS = {"monolith": ["shop.catalog.handlers", "shop.notifications.handlers"]}

AUTH_USER_MODEL = "users.User"
# Django's PBKDF2 with a configurable work factor (shop/users/hashers.py); 0: Django's default.
PASSWORD_HASHERS = [
    "shop.users.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
PASSWORD_HASH_ITERATIONS = setting_int("PASSWORD_HASH_ITERATIONS", 0)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# Bodies: the API takes small JSON documents. Larger bodies are refused with 413 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = setting_int("MAX_BODY_BYTES", 256 * 1024)

CACHES = {
    "default": {
        # The login throttle must count across worker processes: a database-backed cache does
        # that on SQLite and PostgreSQL alike, with no extra server.
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "shop_cache",
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["shop.users.authentication.JWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "shop.common.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "login": str(setting("LOGIN_RATE", default="5/min")),
        "login_ip": str(setting("LOGIN_IP_RATE", default="300/min")),
    },
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Strangler kit shop (monolith)",
    "DESCRIPTION": (
        "The e-commerce monolith that the strangler kit decomposes. Every error is "
        "application/problem+json (RFC 9457) with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "SCHEMA_PATH_PREFIX": r"/api/",
}

# --- users: JWT -----------------------------------------------------------------------------
JWT_KEYS_DIR = Path(setting("JWT_KEYS_DIR", str(VAR_DIR / "jwt-keys")))
JWT_ISSUER = setting("JWT_ISSUER", "strangler-kit-users")
JWT_AUDIENCE = setting("JWT_AUDIENCE", "strangler-kit")
JWT_ACCESS_TTL_SECONDS = setting_int("JWT_ACCESS_TTL_SECONDS", 900)
JWT_REFRESH_TTL_SECONDS = setting_int("JWT_REFRESH_TTL_SECONDS", 14 * 24 * 3600)

# --- catalog ------------------------------------------------------------------------------
# Longest a customer may hold stock while paying; checkout may ask for less (hold_seconds).
CATALOG_RESERVATION_TTL_SECONDS = setting_int("RESERVATION_TTL_SECONDS", 900)
# Once the catalog service owns catalog, reservations and restocks go to its internal API
# (shop.catalog.client). Reads that must be fast (cart pricing) stay on the local copy.
CATALOG_URL = setting("CATALOG_URL", "")
CATALOG_SERVICE_TOKEN = setting("CATALOG_SERVICE_TOKEN", "")
CATALOG_CONNECT_TIMEOUT = setting_float("CATALOG_CONNECT_TIMEOUT", 1.0)
CATALOG_TIMEOUT = setting_float("CATALOG_TIMEOUT", 3.0)  # read/write/pool, per attempt
CATALOG_RETRIES = setting_int("CATALOG_RETRIES", 3)  # attempts of an idempotent call
CATALOG_RETRY_BASE = setting_float("CATALOG_RETRY_BASE", 0.1)  # first backoff, doubled, jittered
CATALOG_BREAKER_FAILURES = setting_int("CATALOG_BREAKER_FAILURES", 5)  # in a row: open
CATALOG_BREAKER_RESET_SECONDS = setting_float("CATALOG_BREAKER_RESET_SECONDS", 5.0)  # open for

# --- payments -----------------------------------------------------------------------------
PAYMENTS_PROVIDER = str(
    setting("PAYMENTS_PROVIDER", default="shop.payments.provider.SimulatedProvider")
)
PAYMENTS_SLOW_SECONDS = setting_float("PAYMENTS_SLOW_SECONDS", 1.5)

# --- notifications ------------------------------------------------------------------------
# "file:<path>" appends one JSON line per delivered message; "console" prints it.
NOTIFICATIONS_SINK = str(
    setting("NOTIFICATIONS_SINK", default=f"file:{VAR_DIR / 'notifications.jsonl'}")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": str(setting("LOG_LEVEL", default="INFO"))},
    "loggers": {"django.request": {"level": "ERROR"}},
}
