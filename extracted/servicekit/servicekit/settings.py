"""Django settings for an extracted service, from ``<CONTEXT>_*`` environment variables.

The shape is the monolith's (``SHOP_*``, monolith/config/settings/base.py), so the stage verbs
start a service the way they start the monolith::

    <P>_DATABASE_URL    default sqlite:///<var>/<context>.sqlite3 (WAL, IMMEDIATE transactions)
    <P>_VAR_DIR         default <repo>/.kit/<context>
    <P>_SECRET_KEY      required unless <P>_DEBUG=1
    <P>_DEBUG           0/1
    <P>_BROKER_URL      default filesystem://<var>/broker (amqp://... for RabbitMQ)
    <P>_EVENTBUS_PREFIX exchange/queue name prefix ("" in production, unique per test run)
    <P>_EVENTBUS_OUTBOX_KEEP_DAYS, <P>_EVENTBUS_INBOX_KEEP_DAYS  history kept (7, 14; 0: forever)
    <P>_JWKS_URL        the users JWKS (e.g. http://monolith/api/users/jwks.json)
    <P>_JWT_ISSUER, <P>_JWT_AUDIENCE, <P>_JWKS_TTL_SECONDS
    <P>_DB_CONN_MAX_AGE, <P>_ALLOWED_HOSTS, <P>_MAX_BODY_BYTES, <P>_LOG_LEVEL

A service's settings module::

    from servicekit.settings import service_settings
    globals().update(service_settings("notifications", apps=[...], urlconf="..."))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

REPO_DIR = Path(__file__).resolve().parents[3]
INSECURE_SECRET = "insecure-dev-only-secret-change-me"

_env = environ.Env()


class ServiceEnv:
    """Typed reads of ``<PREFIX>_<name>`` variables."""

    def __init__(self, context: str) -> None:
        self.context = context
        self.prefix = context.upper() + "_"

    def name(self, name: str) -> str:
        return self.prefix + name

    def text(self, name: str, default: str) -> str:
        return str(_env.str(self.prefix + name, default=default))

    def integer(self, name: str, default: int) -> int:
        return int(_env.int(self.prefix + name, default=default))

    def number(self, name: str, default: float) -> float:
        return float(_env.float(self.prefix + name, default=default))

    def flag(self, name: str, default: bool) -> bool:
        return bool(_env.bool(self.prefix + name, default=default))


def database(env: ServiceEnv, var_dir: Path) -> dict[str, Any]:
    """The ``default`` database, configured as the monolith configures its own."""
    default_url = f"sqlite:///{var_dir / f'{env.context}.sqlite3'}"
    db: dict[str, Any] = dict(_env.db_url_config(env.text("DATABASE_URL", default_url)))
    # Persistent connections: gunicorn's threads live long, so reuse their connections.
    db["CONN_MAX_AGE"] = env.integer("DB_CONN_MAX_AGE", 60)
    db["CONN_HEALTH_CHECKS"] = True
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if db["NAME"] and db["NAME"] != ":memory:":
            # SQLite makes the file, not its folder: a fresh var dir must just work.
            Path(db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN, so
        # two writers (web thread, consumer) queue on the busy timeout instead of failing.
        db["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return db


def service_settings(
    context: str,
    *,
    apps: Sequence[str],
    urlconf: str,
    wsgi: str = "",
    subscriptions: Mapping[str, Sequence[str]] | None = None,
    handlers: Mapping[str, Sequence[str]] | None = None,
    title: str = "",
    description: str = "",
) -> dict[str, Any]:
    """Every Django setting of a service; the caller ``globals().update()``s the result and
    may override single names after."""
    env = ServiceEnv(context)
    debug = env.flag("DEBUG", False)
    var_dir = Path(env.text("VAR_DIR", str(REPO_DIR / ".kit" / context)))
    secret = env.text("SECRET_KEY", INSECURE_SECRET)
    if not debug and secret == INSECURE_SECRET:
        raise ImproperlyConfigured(
            f"{env.name('SECRET_KEY')} is not set and {env.name('DEBUG')} is off: refusing to "
            f"start with the default secret. Set {env.name('SECRET_KEY')} (or "
            f"{env.name('DEBUG')}=1 for local work)."
        )
    log_level = env.text("LOG_LEVEL", "INFO").upper()
    return {
        "DEBUG": debug,
        "SERVICE_CONTEXT": context,
        "VAR_DIR": var_dir,
        "SECRET_KEY": secret,
        "ALLOWED_HOSTS": [
            h.strip() for h in env.text("ALLOWED_HOSTS", "*").split(",") if h.strip()
        ],
        "INSTALLED_APPS": [
            "django.contrib.contenttypes",
            "rest_framework",
            "drf_spectacular",
            "servicekit",
            "eventbus.outbox",
            "eventbus.inbox",
            "eventbus.ownership",
            *apps,
        ],
        "MIDDLEWARE": [
            "servicekit.middleware.RequestIdMiddleware",
            "servicekit.middleware.MetricsMiddleware",
            "servicekit.middleware.BodySizeLimitMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
        ],
        "ROOT_URLCONF": urlconf,
        "WSGI_APPLICATION": wsgi or None,
        "APPEND_SLASH": False,
        "DATABASES": {"default": database(env, var_dir)},
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "USE_I18N": False,
        "LANGUAGE_CODE": "en-us",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": env.integer("MAX_BODY_BYTES", 256 * 1024),
        # The JWKS cache lives in the process (servicekit.auth): no cache table to create.
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        # --- events (migrations/src/eventbus/conf.py reads these) ---
        "BROKER_URL": env.text("BROKER_URL", f"filesystem://{var_dir / 'broker'}"),
        "EVENTBUS_PREFIX": env.text("EVENTBUS_PREFIX", ""),
        "EVENTBUS_OUTBOX_KEEP_DAYS": env.number("EVENTBUS_OUTBOX_KEEP_DAYS", 7.0),
        "EVENTBUS_INBOX_KEEP_DAYS": env.number("EVENTBUS_INBOX_KEEP_DAYS", 14.0),
        "EVENTBUS_SUBSCRIPTIONS": {k: list(v) for k, v in (subscriptions or {}).items()},
        "EVENTBUS_HANDLERS": {k: list(v) for k, v in (handlers or {}).items()},
        # --- JWT through the users JWKS (servicekit.auth) ---
        "JWKS_URL": env.text("JWKS_URL", ""),
        "JWKS_TTL_SECONDS": env.integer("JWKS_TTL_SECONDS", 300),
        "JWT_ISSUER": env.text("JWT_ISSUER", "strangler-kit-users"),
        "JWT_AUDIENCE": env.text("JWT_AUDIENCE", "strangler-kit"),
        "MONOLITH_URL": env.text("MONOLITH_URL", ""),
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": ["servicekit.auth.JWTAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
            "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
            "EXCEPTION_HANDLER": "servicekit.errors.problem_exception_handler",
            "UNAUTHENTICATED_USER": None,
            "COERCE_DECIMAL_TO_STRING": True,
        },
        "SPECTACULAR_SETTINGS": {
            "TITLE": title or f"Strangler kit {context} service",
            "DESCRIPTION": description
            or (
                f"The extracted {context} service. Every error is application/problem+json "
                "(RFC 9457) with a stable `code`."
            ),
            "VERSION": "1.0.0",
            "SERVE_INCLUDE_SCHEMA": False,
            "COMPONENT_SPLIT_REQUEST": True,
            "SCHEMA_PATH_PREFIX": r"/api/",
        },
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"request_id": {"()": "servicekit.logs.RequestIdLogFilter"}},
            "formatters": {
                "plain": {
                    "format": f"%(asctime)s %(levelname)s {context} %(name)s "
                    "[%(request_id)s] %(message)s"
                }
            },
            "handlers": {
                "console": {
                    "class": "logging.StreamHandler",
                    "formatter": "plain",
                    "filters": ["request_id"],
                }
            },
            "root": {"handlers": ["console"], "level": log_level},
            "loggers": {"django.request": {"level": "ERROR"}},
        },
    }
