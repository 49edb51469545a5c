"""The proxy's own settings (ports, files, store, limits): everything that is not the route
table. Read from ``KIT_PROXY_*`` environment variables or built by the CLI, and handed to
worker processes as JSON."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "KIT_PROXY_"


@dataclass
class ProxySettings:
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int = 8081
    var_dir: Path = Path(".kit/proxy")
    routes_file: Path | None = None  # default: <var_dir>/routes.yaml
    store: str = "file"  # "file", or a postgres:// URL shared by replicas
    monolith_url: str = "http://127.0.0.1:8000"  # for the default table when there is none
    upstreams: dict[str, str] = field(default_factory=dict)  # NAME -> URL overrides
    workers: int = 1
    admin_token: str = ""  # default: <var_dir>/admin-token, made on first start
    trust_forwarded: bool = False  # keep the client's X-Forwarded-* (a proxy is in front)
    access_log: str = ""  # "off", "-" (stdout) or a path; default <var_dir>/access.log
    body_buffer: int = 64 * 1024  # bodies up to this size are held (retries, fallback, shadow)
    shadow_queue: int = 1000  # mirrored requests waiting at most; more are dropped
    shadow_concurrency: int = 8  # mirrored requests in flight at most (per worker)
    shadow_samples: int = 50  # mismatches kept for inspection (per worker)
    canary_cookie: str = "strangler_canary"
    watch_interval: float = 0.25  # how often a worker checks the store for a new generation
    tracing: str = "off"  # "off" or "console" (any SDK provider set in-process also works)
    compare_rules: Path | None = None  # comparison rules file; default: the shop's rules
    generation_header: bool = True

    def __post_init__(self) -> None:
        self.var_dir = Path(self.var_dir)
        if self.routes_file is not None:
            self.routes_file = Path(self.routes_file)
        if self.compare_rules is not None:
            self.compare_rules = Path(self.compare_rules)

    @property
    def routes_path(self) -> Path:
        return self.routes_file or self.var_dir / "routes.yaml"

    @property
    def access_log_target(self) -> str:
        return self.access_log or str(self.var_dir / "access.log")

    def ensure_token(self) -> str:
        """The admin token: given, or kept in ``<var_dir>/admin-token`` (made once, 0600)."""
        if self.admin_token:
            return self.admin_token
        path = self.var_dir / "admin-token"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        self.admin_token = path.read_text().strip()
        return self.admin_token

    def to_json(self) -> str:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Path):
                data[key] = str(value)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ProxySettings:
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> ProxySettings:
        """``KIT_PROXY_PORT=9000``, ``KIT_PROXY_UPSTREAMS=catalog=http://...,cart=http://...``."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, kind in cls.__annotations__.items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            if name == "upstreams":
                values[name] = parse_upstreams(raw.split(","))
            elif kind in ("int",):
                values[name] = int(raw)
            elif kind in ("float",):
                values[name] = float(raw)
            elif kind in ("bool",):
                values[name] = raw.lower() in ("1", "true", "yes", "on")
            else:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def parse_upstreams(items: list[str]) -> dict[str, str]:
    """``["catalog=http://127.0.0.1:8101", ...]`` -> ``{"catalog": "http://..."}``."""
    out: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        name, sep, url = item.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise ValueError(f"upstream {item!r}: expected NAME=http://host:port")
        out[name.strip()] = url.strip()
    return out
