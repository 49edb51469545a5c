"""The container stack's ``stack.json``, written from the CLI container's environment.

The stage verbs (``strangler stage ...``) act on a running kit described by a stack.json
(migrations/src/stages/stack.py). ``strangler up`` writes one for local processes; in the
container stack the CLI container writes its own at start (entrypoint.py, when
``KIT_STACK_FROM_ENV=1``) from the same variables compose gives each side, so the file never
goes stale and holds no secret the container does not already have:

    KIT_PROXY_URL, KIT_PROXY_ADMIN_URL, KIT_PROXY_ADMIN_TOKEN    the proxy (stack's network)
    KIT_MONOLITH_URL, SHOP_DATABASE_URL, SHOP_BROKER_URL          the monolith
    SHOP_EVENTBUS_PREFIX                                          exchange/queue prefix ("")
    KIT_SERVICES="notifications catalog"                          the extracted services
    <CONTEXT>_DATABASE_URL, KIT_<CONTEXT>_URL                     each service (URL default
                                                                  http://<context>:8000)
    KIT_STAFF_EMAIL, KIT_STAFF_PASSWORD                           the staff account

Each side's ``manage`` prefix runs that side's manage.py in this container with that side's
settings module; its ``SHOP_*`` / ``<CONTEXT>_*`` settings are already in the environment
(compose gives the CLI container the same variables as the processes it acts for). The
image sets ``DJANGO_SETTINGS_MODULE`` to the monolith's, so a service's prefix must set it.

    python deploy/container/stackfile.py [PATH]     write it (default: $KIT_STACK), print PATH
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

APP = Path(os.environ.get("KIT_APP_DIR", "/app"))


class StackEnvMissing(SystemExit):
    """A variable the stack.json needs is not set; the message names it."""


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value:
        raise StackEnvMissing(f"stackfile: {name} is not set (compose.yaml gives it to `cli`)")
    return value


def manage_prefix(side: str, python: str = sys.executable) -> list[str]:
    """argv prefix that runs ``side``'s manage.py here, with its own settings module."""
    if side == "monolith":
        settings, manage = "config.settings.base", APP / "monolith" / "manage.py"
    else:
        settings = f"{side}_service.settings"
        manage = APP / "extracted" / side / "manage.py"
    return ["env", f"DJANGO_SETTINGS_MODULE={settings}", python, str(manage)]


def stack_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The stack.json record (stages.stack.StackInfo.to_dict's shape)."""
    services = {}
    for name in env.get("KIT_SERVICES", "").split():
        services[name] = {
            "name": name,
            "url": env.get(f"KIT_{name.upper()}_URL") or f"http://{name}:8000",
            "database_url": _need(env, f"{name.upper()}_DATABASE_URL"),
            "manage": manage_prefix(name),
        }
    return {
        "proxy_url": env.get("KIT_PROXY_URL") or "http://proxy:8080",
        "admin_url": env.get("KIT_PROXY_ADMIN_URL") or "http://proxy:8081",
        "admin_token": _need(env, "KIT_PROXY_ADMIN_TOKEN"),
        "monolith": {
            "name": "monolith",
            "url": env.get("KIT_MONOLITH_URL") or "http://monolith:8000",
            "database_url": _need(env, "SHOP_DATABASE_URL"),
            "manage": manage_prefix("monolith"),
        },
        "broker_url": _need(env, "SHOP_BROKER_URL"),
        "eventbus_prefix": env.get("SHOP_EVENTBUS_PREFIX", ""),
        "services": services,
        "staff_email": env.get("KIT_STAFF_EMAIL") or "staff@shop.test",
        "staff_password": _need(env, "KIT_STAFF_PASSWORD"),
    }


def write_stack(path: Path, env: Mapping[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # 0600 from the start: the file holds the admin token and database passwords.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(stack_from_env(env), out, indent=2)
    tmp.replace(path)
    return path


def main(argv: list[str]) -> int:
    target = argv[0] if argv else os.environ.get("KIT_STACK", "")
    if not target:
        print("usage: stackfile.py PATH (or set KIT_STACK)", file=sys.stderr)
        return 2
    print(write_stack(Path(target), os.environ))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
