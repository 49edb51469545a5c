"""`strangler routes list|set|history|rollback` against a live admin API, and their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stages.cli_routes import proxy_command, routes_app
from strangler_proxy.admin import AdminApp
from strangler_proxy.metrics import Metrics
from strangler_proxy.store import FileStore
from strangler_proxy.table import kit_default_data
from strangler_proxy.testing import ThreadServer, free_port

TOKEN = "cli-token"

app = typer.Typer()
app.add_typer(routes_app, name="routes")
app.command("proxy")(proxy_command)
runner = CliRunner()


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[str]:
    store = FileStore(tmp_path, tmp_path / "routes.yaml")
    store.init(kit_default_data("http://127.0.0.1:9", {"catalog": "http://127.0.0.1:9"}), who="t")
    admin_app = AdminApp(store=store, token=TOKEN, render_metrics=Metrics().render)
    with ThreadServer(admin_app) as server:
        yield server.url


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


def test_set_list_history_and_rollback(admin: str) -> None:
    opts = ["--admin-url", admin, "--token", TOKEN]

    code, out = _run(
        "routes", "set", "catalog", "shadow", "--why", "compare", "--who", "ana", *opts
    )
    assert (code, out.strip()) == (0, "generation 2: catalog monolith -> shadow")
    code, out = _run("routes", "set", "catalog", "canary", "--percent", "10", *opts)
    assert (code, out.strip()) == (0, "generation 3: catalog shadow -> canary 10%")
    code, out = _run("routes", "set", "catalog", "canary", "--percent", "10", *opts)
    assert (code, out.strip()) == (0, "catalog is already canary 10%; nothing to do")

    code, out = _run("routes", "list", *opts)
    assert code == 0
    assert "route table, generation 3" in out
    assert "canary 10%" in out

    code, out = _run("routes", "history", "--json", *opts)
    changes = json.loads(out)["changes"]
    assert [(c["generation"], c["route"]) for c in changes] == [
        (3, "catalog"),
        (2, "catalog"),
        (1, "*"),
    ]
    assert changes[1]["who"] == "ana"
    assert changes[1]["why"] == "compare"

    code, out = _run("routes", "rollback", "2", "--why", "too early", *opts)
    assert code == 0
    assert (
        out.strip()
        == "generation 4: restored generation 2 (catalog: canary 10% -> catalog: shadow)"
    )
    # JSON, not the table: the table's width follows the terminal, which CI does not have.
    code, out = _run("routes", "history", "--json", *opts)
    latest = json.loads(out)["changes"][0]
    assert (latest["generation"], latest["action"], latest["why"]) == (4, "rollback", "too early")
    assert latest["to"] == {"catalog": {"mode": "shadow"}, "restored": 2}


def test_the_admin_url_and_token_come_from_the_environment(admin: str) -> None:
    code, out = _run(
        "routes",
        "set",
        "cart",
        "monolith",
        env={"KIT_PROXY_ADMIN_URL": admin, "KIT_PROXY_ADMIN_TOKEN": TOKEN},
    )

    assert (code, out.strip()) == (0, "cart is already monolith; nothing to do")


def test_errors_say_what_to_do(admin: str, tmp_path: Path) -> None:
    bad_token = _run("routes", "list", "--admin-url", admin, "--token", "wrong")
    bad_mode = _run(
        "routes", "set", "catalog", "everywhere", "--admin-url", admin, "--token", TOKEN
    )
    no_percent = _run("routes", "set", "catalog", "canary", "--admin-url", admin, "--token", TOKEN)
    no_service = _run("routes", "set", "cart", "service", "--admin-url", admin, "--token", TOKEN)
    down = _run("routes", "list", "--admin-url", f"http://127.0.0.1:{free_port()}", "--token", "x")
    no_proxy = _run("routes", "list", "--var-dir", str(tmp_path / "none"))

    assert bad_token[0] == 1
    assert "refused the token" in bad_token[1]
    assert "KIT_PROXY_ADMIN_TOKEN" in bad_token[1]
    assert bad_mode[0] == 1
    assert "'everywhere' is not one of" in bad_mode[1]
    assert no_percent[0] == 2
    assert "canary needs --percent" in no_percent[1]
    assert no_service[0] == 1
    assert "--upstream cart=URL" in no_service[1]
    assert down[0] == 1
    assert "cannot reach the proxy's admin API" in down[1]
    assert no_proxy[0] == 1
    assert "no running proxy found" in no_proxy[1]


def test_the_proxy_command_refuses_a_bad_routes_file(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "upstreams:\n  monolith: {url: http://127.0.0.1:9}\nroutes:\n  cart: {prefix: /api/cart, mode: servce}\n"
    )

    code, out = _run(
        "proxy",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--var-dir",
        str(tmp_path / "p"),
        "--routes",
        str(routes),
    )

    assert code == 1
    assert "could not start the proxy" in out
    assert "line 4" in out
    assert "'servce' is not one of" in out
