"""The proxy's own settings: environment, command-line upstreams, the admin token."""

from __future__ import annotations

from pathlib import Path

import pytest

from strangler_proxy.config import ProxySettings, parse_upstreams


def test_settings_come_from_the_environment_and_arguments_win() -> None:
    env = {
        "KIT_PROXY_PORT": "9000",
        "KIT_PROXY_SHADOW_QUEUE": "50",
        "KIT_PROXY_TRUST_FORWARDED": "true",
        "KIT_PROXY_WATCH_INTERVAL": "0.5",
        "KIT_PROXY_UPSTREAMS": "catalog=http://127.0.0.1:8101, cart=http://127.0.0.1:8102",
        "KIT_PROXY_VAR_DIR": "/tmp/somewhere",
    }

    settings = ProxySettings.from_env(env, port=9100, workers=None)

    assert settings.port == 9100
    assert settings.shadow_queue == 50
    assert settings.trust_forwarded is True
    assert settings.watch_interval == 0.5
    assert settings.workers == 1
    assert settings.var_dir == Path("/tmp/somewhere")
    assert settings.routes_path == Path("/tmp/somewhere/routes.yaml")
    assert settings.upstreams == {
        "catalog": "http://127.0.0.1:8101",
        "cart": "http://127.0.0.1:8102",
    }
    assert ProxySettings.from_json(settings.to_json()) == settings


def test_upstream_arguments_are_checked() -> None:
    assert parse_upstreams(["a=http://h:1", " ", "b=https://h"]) == {
        "a": "http://h:1",
        "b": "https://h",
    }
    with pytest.raises(ValueError, match="expected NAME=http://host:port"):
        parse_upstreams(["catalog:8101"])


def test_the_admin_token_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = ProxySettings(var_dir=tmp_path).ensure_token()
    again = ProxySettings(var_dir=tmp_path).ensure_token()

    assert first == again
    assert len(first) >= 32
    assert (tmp_path / "admin-token").stat().st_mode & 0o777 == 0o600
    assert ProxySettings(var_dir=tmp_path, admin_token="given").ensure_token() == "given"
