"""Checks of the container files that need no container engine: the compose files, the env
example, Prometheus, Grafana provisioning and dashboards, the OpenTelemetry collector, the kube
manifests, the Envoy sidecar config, the Containerfile and the entrypoint. `.ci/containers` runs
the real thing; these fail fast, anywhere, on the mistakes that would only show there."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
CONTEXTS = ("notifications", "catalog")  # the extracted services, in stage order
APP_SERVICES = {
    "monolith",
    "monolith-relay",
    "monolith-consumer",
    "proxy",
    *CONTEXTS,
    *(f"{c}-relay" for c in CONTEXTS),
    *(f"{c}-consumer" for c in CONTEXTS),
}
INFRA_IMAGES = {
    "postgres": "docker.io/library/postgres:",
    "rabbitmq": "docker.io/library/rabbitmq:",
    "redis": "docker.io/library/redis:",
    "prometheus": "docker.io/prom/prometheus:v",
    "grafana": "docker.io/grafana/grafana:",
    "otel-collector": "docker.io/otel/opentelemetry-collector-contrib:",
    "jaeger": "docker.io/jaegertracing/all-in-one:",
}
DEFAULT = re.compile(r"^\$\{(?P<var>\w+):-(?P<default>[^}]*)\}$")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def default_of(value: str) -> str:
    """``${VAR:-default}`` -> ``default``; anything else as it is."""
    match = DEFAULT.match(value)
    return match.group("default") if match else value


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(load_yaml(ROOT / "compose.yaml"))


@pytest.fixture(scope="module")
def airgap() -> dict[str, Any]:
    return dict(load_yaml(ROOT / "compose.airgap.yaml"))


# ------------------------------------------------------------------------------ compose.yaml


def test_compose_has_the_whole_stack(compose: dict[str, Any]) -> None:
    infrastructure = {"postgres", "rabbitmq", "redis", "prometheus", "grafana"}
    assert set(compose["services"]) == {
        *infrastructure,
        *APP_SERVICES,
        "otel-collector",
        "jaeger",
        "cli",
    }
    assert compose["name"] == "strangler-kit"
    # every extracted service of the repo runs in the stack
    extracted = {p.parent.name for p in (ROOT / "extracted").glob("*/manage.py")}
    assert extracted == set(CONTEXTS)


def test_extracted_services_run_web_relay_and_consumer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for context in CONTEXTS:
        prefix = context.upper() + "_"
        assert services[context]["command"] == ["service", context]
        assert services[f"{context}-relay"]["command"][:3] == ["service", context, "relay"]
        assert services[f"{context}-consumer"]["command"][:3] == ["service", context, "consume"]
        for name in (context, f"{context}-relay", f"{context}-consumer"):
            env = services[name]["environment"]
            # its own database, never the monolith's
            assert env[prefix + "DATABASE_URL"].endswith(f"@postgres:5432/kit_{context}"), name
            assert env[prefix + "BROKER_URL"].startswith("amqp://"), name
            assert env[prefix + "JWKS_URL"] == "http://monolith:8000/api/users/jwks.json"
            assert env["OTEL_SERVICE_NAME"] == name
        waits = services[f"{context}-relay"]["environment"]["KIT_WAIT_FOR"].split()
        assert f"http://{context}:8000/health/ready" in waits  # its migrations are in
        assert f"--upstream={context}=http://{context}:8000" in services["proxy"]["command"]
    consumer = services["monolith-consumer"]
    assert consumer["command"][:2] == ["consume", "monolith"]
    # one sink folder for both sides of the notifications handover
    sink = "notifications-sink:/var/lib/kit/sink"
    for name in ("monolith", "monolith-consumer", "notifications-consumer", "cli"):
        assert sink in services[name]["volumes"], name
    assert compose["x-monolith-env"]["SHOP_NOTIFICATIONS_SINK"] == "dir:/var/lib/kit/sink"
    assert compose["x-notifications-env"]["NOTIFICATIONS_SINK"] == "/var/lib/kit/sink"
    assert compose["x-monolith-env"]["SHOP_CATALOG_URL"] == "http://catalog:8000"
    token = compose["x-catalog-env"]["CATALOG_SERVICE_TOKEN"]
    assert compose["x-monolith-env"]["SHOP_CATALOG_SERVICE_TOKEN"] == token


def test_cli_writes_the_stack_file_for_the_stage_verbs(compose: dict[str, Any]) -> None:
    cli = compose["services"]["cli"]
    env = cli["environment"]
    assert env["KIT_STACK_FROM_ENV"] == "1"
    assert env["KIT_SERVICES"].split() == list(CONTEXTS)
    for context in CONTEXTS:  # each side's settings, for its manage.py
        assert context.upper() + "_DATABASE_URL" in env
    assert "SHOP_DATABASE_URL" in env
    # podman-compose 1.6 runs a profiled service only with --profile named; the docs and the
    # CI step say so
    assert cli["profiles"] == ["tools"]
    assert (
        "--profile tools run -T --rm -e COLUMNS=150 cli strangler"
        in (ROOT / ".ci/containers").read_text()
    )


def test_infrastructure_images_are_pinned_official_images(compose: dict[str, Any]) -> None:
    for service, prefix in INFRA_IMAGES.items():
        image = default_of(compose["services"][service]["image"])
        assert image.startswith(prefix), (service, image)
        tag = image.rsplit(":", 1)[1]
        assert re.match(r"^v?\d+\.\d+", tag), f"{service}: {image} is not pinned to a version"


def test_kit_services_share_one_image_built_from_the_containerfile(
    compose: dict[str, Any],
) -> None:
    for name in (*APP_SERVICES, "cli"):
        service = compose["services"][name]
        assert default_of(service["image"]) == "localhost/strangler-kit:0.1.0", name
        assert service["build"]["dockerfile"] == "Containerfile"
        base = default_of(service["build"]["args"]["BASE_IMAGE"])
        assert base == "docker.io/library/python:3.11.10-slim-bookworm"
        assert service["init"] is True


def test_only_the_proxy_publishes_a_public_port(compose: dict[str, Any]) -> None:
    public = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                public[name] = port
    assert list(public) == ["proxy"]
    assert public["proxy"].endswith(":8080")


def test_every_server_has_a_healthcheck_and_limits(compose: dict[str, Any]) -> None:
    # The collector and Jaeger images have no shell or probe tool to run a check with.
    unchecked = {"otel-collector", "jaeger", "cli"}
    for name, service in compose["services"].items():
        limits = service["deploy"]["resources"]["limits"] if name != "cli" else None
        if name != "cli":
            assert float(limits["cpus"]) > 0, name
            assert limits["memory"].endswith("M"), name
        if name not in unchecked:
            test = service["healthcheck"]["test"]
            assert test[0] == "CMD", name
            assert len(test) > 1, name


def test_kit_processes_wait_for_what_they_need(compose: dict[str, Any]) -> None:
    # Podman 4.3 ignores depends_on conditions: the processes wait themselves.
    waits = {
        name: compose["services"][name]["environment"]["KIT_WAIT_FOR"].split()
        for name in APP_SERVICES
    }
    assert waits["monolith"] == ["tcp:postgres:5432"]
    assert waits["proxy"] == ["tcp:postgres:5432"]
    assert "http://monolith:8000/health/ready" in waits["monolith-relay"]
    for name in APP_SERVICES:
        for dependency in compose["services"][name].get("depends_on", []):
            assert dependency in compose["services"], (name, dependency)


def test_secrets_come_from_the_env_file_only(compose: dict[str, Any]) -> None:
    text = (ROOT / "compose.yaml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == {
        "SHOP_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "RABBITMQ_PASSWORD",
        "KIT_PROXY_ADMIN_TOKEN",
        "KIT_STAFF_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "NOTIFICATIONS_SECRET_KEY",
        "CATALOG_SECRET_KEY",
        "CATALOG_SERVICE_TOKEN",
    }
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert required <= set(example)
    assert all(example[name].startswith("change-me") for name in required)
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    used = set()
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith("."):
                used.add(source)
    assert used == set(compose["volumes"])
    assert {
        "postgres-data",
        "rabbitmq-data",
        "monolith-var",
        "proxy-var",
        "notifications-sink",
    } <= used


def test_bind_mounted_files_exist(compose: dict[str, Any], airgap: dict[str, Any]) -> None:
    for doc in (compose, airgap):
        for service in doc["services"].values():
            for volume in (service or {}).get("volumes", []):
                source = volume.split(":", 1)[0]
                if source.startswith("./"):
                    assert (ROOT / source).exists(), source


def test_airgap_override_selects_local_images(
    compose: dict[str, Any], airgap: dict[str, Any]
) -> None:
    overrides = airgap["services"]
    assert set(overrides) <= set(compose["services"])
    for name in ("postgres", "rabbitmq", "redis", "prometheus"):
        image = default_of(overrides[name]["image"])
        assert image.startswith("localhost/kit-"), image
        context = DEPLOY / "images" / name / "Containerfile"
        assert context.exists()
    assert overrides["otel-collector"]["command"] == ["tracestore"]
    assert overrides["jaeger"]["profiles"] == ["upstream-images"]
    assert overrides["grafana"]["profiles"] == ["upstream-images"]
    for name in (*APP_SERVICES, "cli"):
        assert default_of(overrides[name]["build"]["args"]["BASE_IMAGE"]) == (
            "localhost/kit-python:3.11"
        )
    built = (DEPLOY / "images" / "build-infra-images.sh").read_text()
    for name in ("postgres", "rabbitmq", "redis", "prometheus"):
        assert default_of(overrides[name]["image"]) in built


def test_databases_one_per_service(compose: dict[str, Any]) -> None:
    databases = compose["services"]["postgres"]["environment"]["KIT_DATABASES"].split()
    contexts = ["users", "catalog", "cart", "orders", "payments", "notifications"]
    assert databases == ["kit_monolith", "kit_proxy", *[f"kit_{c}" for c in contexts]]
    assert "kit_monolith" in compose["x-monolith-env"]["SHOP_DATABASE_URL"]
    assert compose["services"]["proxy"]["environment"]["KIT_PROXY_STORE"].endswith("/kit_proxy")


# ------------------------------------------------------------------------------ Prometheus


def test_prometheus_scrapes_compose_services(compose: dict[str, Any]) -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"proxy", "monolith", "relay", "consumers", "rabbitmq", *CONTEXTS} <= set(jobs)
    scraped = {t.split(":")[0] for t in _all_targets(jobs.values())}
    for name in APP_SERVICES:  # every kit process with metrics is a target
        assert name in scraped, name
    for context in CONTEXTS:
        assert jobs[context]["static_configs"][0]["targets"] == [f"{context}:8000"]
    for name, job in jobs.items():
        for target in _all_targets([job]):
            host, port = target.split(":")
            assert host == "localhost" or host in compose["services"], (name, target)
            assert port.isdigit()
    proxy_admin = compose["services"]["proxy"]["command"]
    assert "--admin-port=8081" in proxy_admin
    assert jobs["proxy"]["static_configs"][0]["targets"] == ["proxy:8081"]
    assert "--metrics-port" in compose["services"]["monolith-relay"]["command"]


def _all_targets(jobs: Any) -> list[str]:
    return [t for job in jobs for static in job["static_configs"] for t in static["targets"]]


# ------------------------------------------------------------------------------ Grafana


def known_metric_names() -> set[str]:
    """Every metric the kit exposes (from the code that exposes it), plus RabbitMQ's."""
    names = {"up", "scrape_samples_scraped"}
    proxy = (ROOT / "strangler-proxy/src/strangler_proxy/metrics.py").read_text()
    for name in set(re.findall(r'"(strangler_[a-z_]+)"', proxy)):
        names |= {name, f"{name}_total"}
    histogram = "strangler_request_duration_seconds"
    names |= {f"{histogram}_{s}" for s in ("bucket", "sum", "count")}
    for source in (
        ROOT / "migrations/src/eventbus/metrics.py",
        DEPLOY / "container/metrics_wsgi.py",
        ROOT / "extracted/servicekit/servicekit/metrics.py",  # the extracted services'
    ):
        text = source.read_text()
        for kind, name in re.findall(r'(Counter|Gauge|Histogram)\(\s*"(\w+)"', text):
            names.add(name)
            if kind == "Counter":
                names.add(f"{name}_total")
            if kind == "Histogram":
                names |= {f"{name}_{s}" for s in ("bucket", "sum", "count")}
    names |= {"rabbitmq_queue_messages_ready", "rabbitmq_queue_messages_unacked"}
    return names


PROMQL_WORDS = {
    "sum", "by", "rate", "increase", "histogram_quantile", "max", "min", "topk", "clamp_min",
    "le", "and", "or", "on", "without", "avg", "count",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    expr = re.sub(r"\{[^}]*\}", "", expr)  # selectors
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)  # grouping labels
    words = set(re.findall(r"\b[a-zA-Z_][a-zA-Z0-9_]*\b", expr))
    return {w for w in words if w not in PROMQL_WORDS and not re.fullmatch(r"e\d+", w)}


DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["uid", "title", "schemaVersion", "panels", "time", "refresh"],
    "properties": {
        "uid": {"type": "string", "pattern": "^[a-z0-9-]{1,40}$"},
        "title": {"type": "string", "minLength": 1},
        "schemaVersion": {"type": "integer", "minimum": 36},
        "editable": {"type": "boolean"},
        "time": {"type": "object", "required": ["from", "to"]},
        "panels": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "type", "title", "gridPos", "targets", "datasource"],
                "properties": {
                    "id": {"type": "integer"},
                    "type": {"enum": ["timeseries", "stat", "bargauge", "gauge", "table"]},
                    "gridPos": {
                        "type": "object",
                        "required": ["x", "y", "w", "h"],
                        "properties": {
                            "x": {"type": "integer", "minimum": 0, "maximum": 23},
                            "w": {"type": "integer", "minimum": 1, "maximum": 24},
                        },
                    },
                    "datasource": {
                        "type": "object",
                        "required": ["type", "uid"],
                    },
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "object", "required": ["refId", "expr"]},
                    },
                },
            },
        },
    },
}


def test_dashboards_parse_and_match_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    assert {p.stem for p in DASHBOARDS} == {"strangler-proxy", "events", "services"}
    uids = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        jsonschema.validate(dashboard, DASHBOARD_SCHEMA)
        uids.append(dashboard["uid"])
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (path.name, panel["title"])
    assert len(uids) == len(set(uids))


def test_dashboards_use_the_provisioned_datasource_and_real_metrics() -> None:
    sources = load_yaml(DEPLOY / "grafana/provisioning/datasources/datasources.yaml")
    prometheus_uid = next(s["uid"] for s in sources["datasources"] if s["type"] == "prometheus")
    known = known_metric_names()
    used: set[str] = set()
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            assert panel["datasource"]["uid"] == prometheus_uid
            for target in panel["targets"]:
                names = metric_names(target["expr"])
                assert names, target["expr"]
                unknown = names - known
                assert not unknown, f"{path.name} '{panel['title']}': unknown metrics {unknown}"
                used |= names
    # What the issue asks the dashboards to show.
    for needed in (
        "strangler_requests_total",  # traffic per route, upstream, mode
        "strangler_shadow_total",  # shadow mismatch rate
        "strangler_breaker_state",  # breaker states
        "eventbus_outbox_oldest_age_seconds",  # event lag
        "eventbus_dlq_depth",  # DLQ depth
        "strangler_request_duration_seconds_bucket",  # latency
    ):
        assert needed in used, needed


def test_metric_name_extraction_is_strict() -> None:
    expr = 'histogram_quantile(0.95, sum by (le, route) (rate(strangler_nope_bucket{a="b"}[5m])))'
    assert metric_names(expr) == {"strangler_nope_bucket"}
    assert "strangler_nope_bucket" not in known_metric_names()


def test_grafana_provisioning_points_at_the_mounted_dashboards(compose: dict[str, Any]) -> None:
    providers = load_yaml(DEPLOY / "grafana/provisioning/dashboards/dashboards.yaml")
    assert providers["apiVersion"] == 1
    path = providers["providers"][0]["options"]["path"]
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{path}:ro,z" in mounts
    home = compose["services"]["grafana"]["environment"][
        "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"
    ]
    assert home.startswith(path)
    assert (DEPLOY / "grafana/dashboards" / Path(home).name).exists()
    sources = load_yaml(DEPLOY / "grafana/provisioning/datasources/datasources.yaml")
    for source in sources["datasources"]:
        host = source["url"].split("//")[1].split(":")[0]
        assert host in compose["services"]


# ------------------------------------------------------------------------------ OpenTelemetry


def test_collector_pipeline_is_consistent(compose: dict[str, Any]) -> None:
    config = load_yaml(DEPLOY / "otel/collector.yaml")
    pipeline = config["service"]["pipelines"]["traces"]
    for kind in ("receivers", "processors", "exporters"):
        assert set(pipeline[kind]) <= set(config[kind]), kind
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    otel = compose["x-otel-env"]
    assert otel["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert otel["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")


def test_tracestore_keeps_a_trace_and_answers_like_jaeger() -> None:
    pytest.importorskip("opentelemetry.proto", reason="opentelemetry-proto is in the image only")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    store_module = load_module(DEPLOY / "container/tracestore.py", "kit_tracestore")
    request = ExportTraceServiceRequest()
    for service, span_id, parent in (("strangler-proxy", b"\x01" * 8, b""), ("monolith", b"\x02" * 8, b"\x01" * 8)):  # fmt: skip
        resource_spans = request.resource_spans.add()
        attribute = resource_spans.resource.attributes.add()
        attribute.key, attribute.value.string_value = "service.name", service
        span = resource_spans.scope_spans.add().spans.add()
        span.trace_id, span.span_id, span.parent_span_id = b"\xab" * 16, span_id, parent
        span.name, span.start_time_unix_nano, span.end_time_unix_nano = service, 1000, 5000
    store = store_module.Store(max_spans=10)
    assert store.add(request) == 2
    found = store.trace("ab" * 16)
    services = {p["serviceName"] for p in found["processes"].values()}
    assert services == {"strangler-proxy", "monolith"}
    child = next(s for s in found["spans"] if s["operationName"] == "monolith")
    assert child["references"] == [
        {"refType": "CHILD_OF", "traceID": "ab" * 16, "spanID": "01" * 8}
    ]


# ------------------------------------------------------------------------------ kube + Envoy


def kube_docs(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kube" / name).read_text()) if d]


def test_kube_pod_runs_monolith_and_proxy_with_its_secret() -> None:
    docs = {d["kind"]: d for d in kube_docs("kit.yaml")}
    assert set(docs) == {"PersistentVolumeClaim", "Pod", "Service"}
    pod = docs["Pod"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"monolith", "proxy"}
    assert containers["monolith"]["args"] == ["monolith"]
    assert containers["proxy"]["args"][0] == "proxy"
    assert "--monolith=http://127.0.0.1:8000" in containers["proxy"]["args"]
    assert containers["proxy"]["ports"][0]["hostPort"] == 18090
    assert pod["securityContext"]["runAsUser"] == 10001
    secret = kube_docs("secret.yaml")[0]
    for container in containers.values():
        assert container["image"] == "localhost/strangler-kit:0.1.0"
        assert container["resources"]["limits"]
        for env in container["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["data"]
    claim = pod["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == docs["PersistentVolumeClaim"]["metadata"]["name"]
    assert docs["Service"]["spec"]["selector"] == docs["Pod"]["metadata"]["labels"] | {} or (
        docs["Service"]["spec"]["selector"].items() <= docs["Pod"]["metadata"]["labels"].items()
    )


def test_envoy_sidecar_configmap_is_the_validated_file() -> None:
    docs = {d["kind"]: d for d in kube_docs("envoy-sidecar.yaml")}
    embedded = docs["ConfigMap"]["data"]["envoy.yaml"]
    assert embedded.strip() == (DEPLOY / "envoy/envoy.yaml").read_text().strip()
    containers = {c["name"]: c for c in docs["Pod"]["spec"]["containers"]}
    assert re.fullmatch(r"docker\.io/envoyproxy/envoy:v\d+\.\d+\.\d+", containers["envoy"]["image"])
    assert containers["envoy"]["args"][:2] == ["-c", "/etc/envoy/envoy.yaml"]


def test_envoy_config_retries_only_safe_methods_with_timeouts_and_health_checks() -> None:
    config = load_yaml(DEPLOY / "envoy/envoy.yaml")
    listener = config["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    routes = manager["route_config"]["virtual_hosts"][0]["routes"]
    retried = [r for r in routes if "retry_policy" in r["route"]]
    assert len(retried) == 1
    method = retried[0]["match"]["headers"][0]
    assert method["name"] == ":method"
    assert method["string_match"]["safe_regex"]["regex"] == "GET|HEAD|OPTIONS"
    assert all("timeout" in r["route"] for r in routes)
    assert manager["http_filters"][-1]["name"] == "envoy.filters.http.router"
    cluster = config["static_resources"]["clusters"][0]
    assert cluster["health_checks"][0]["http_health_check"]["path"] == "/health/ready"
    assert cluster["circuit_breakers"]["thresholds"][0]["retry_budget"]
    for typed in re.findall(r'"@type": (\S+)', (DEPLOY / "envoy/envoy.yaml").read_text()):
        assert typed.startswith("type.googleapis.com/envoy.extensions.")


def test_envoy_config_validates_against_envoys_api() -> None:
    pytest.importorskip("envoy_data_plane", reason="pip install envoy-data-plane (CI has it)")
    validator = load_module(DEPLOY / "envoy/validate.py", "kit_envoy_validate")
    config = load_yaml(DEPLOY / "envoy/envoy.yaml")
    bootstrap = validator.validate(config)
    assert bootstrap.static_resources.clusters[0].outlier_detection.consecutive_5xx == 5
    config["static_resources"]["clusters"][0]["health_checks"][0]["http_health_check"]["paht"] = "/"
    with pytest.raises(KeyError):
        validator.validate(config)


# ------------------------------------------------------------------------------ image


def test_containerfile_base_argument_non_root_and_ca_secret() -> None:
    text = (ROOT / "Containerfile").read_text()
    assert "ARG BASE_IMAGE=docker.io/library/python:3.11.10-slim-bookworm" in text
    assert text.count("FROM ${BASE_IMAGE}") == 2  # builder and runtime stages
    assert "USER 10001:10001" in text
    assert text.count("--mount=type=secret,id=ca_bundle,required=false") == 2
    assert 'export PIP_CERT="${CA_BUNDLE}"' in text
    assert "ENTRYPOINT" in text
    assert "entrypoint.py" in text
    ignored = (ROOT / ".containerignore").read_text().splitlines()
    assert {".git", ".venv", ".env", ".kit"} <= set(ignored)


def test_entrypoint_maps_verbs_to_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    entrypoint = load_module(DEPLOY / "container/entrypoint.py", "kit_entrypoint")
    monkeypatch.setenv("KIT_PREPARE", "0")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    python = sys.executable
    assert entrypoint.command_for(["proxy", "--port=8080"]) == [
        python,
        "-m",
        "strangler_proxy",
        "--port=8080",
    ]
    assert entrypoint.command_for(["relay"]) == [python, "-m", "eventbus", "relay"]
    assert entrypoint.command_for(["consume", "catalog"]) == [
        python,
        "-m",
        "eventbus",
        "consume",
        "--service",
        "catalog",
    ]
    assert entrypoint.command_for(["monolith"])[:2] == ["gunicorn", "-c"]
    assert entrypoint.command_for(["strangler", "routes", "list"]) == [
        "strangler",
        "routes",
        "list",
    ]
    assert entrypoint.command_for(["wait"]) == []


def test_entrypoint_runs_an_extracted_service_its_own_way(monkeypatch: pytest.MonkeyPatch) -> None:
    entrypoint = load_module(DEPLOY / "container/entrypoint.py", "kit_entrypoint")
    monkeypatch.setattr(entrypoint, "APP", ROOT)
    monkeypatch.setenv("KIT_PREPARE", "0")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.base")  # the image's
    monkeypatch.chdir(ROOT)
    python = sys.executable
    catalog = ROOT / "extracted" / "catalog"
    assert entrypoint.command_for(["service", "catalog"]) == [
        "gunicorn",
        "-c",
        str(catalog / "gunicorn.conf.py"),
    ]
    assert entrypoint.os.environ["DJANGO_SETTINGS_MODULE"] == "catalog_service.settings"
    assert Path.cwd() == catalog  # as stages/processes.py starts it
    assert entrypoint.command_for(["service", "catalog", "relay", "--metrics-port", "9101"]) == [
        python,
        str(catalog / "manage.py"),
        "relay",
        "--metrics-port",
        "9101",
    ]
    notifications = ROOT / "extracted" / "notifications" / "manage.py"
    assert entrypoint.command_for(["service", "notifications", "consume"]) == [
        python,
        str(notifications),
        "consume",
        "notifications",
    ]
    assert entrypoint.os.environ["DJANGO_SETTINGS_MODULE"] == "notifications_service.settings"
    assert entrypoint.command_for(["service", "notifications", "manage", "ownership", "show"])[
        2:
    ] == ["ownership", "show"]
    with pytest.raises(SystemExit, match="no extracted service 'cart'"):
        entrypoint.command_for(["service", "cart"])
    with pytest.raises(SystemExit, match="name the context"):
        entrypoint.command_for(["service"])


def test_stack_file_from_the_cli_environment(tmp_path: Path) -> None:
    """The stage verbs read the container stack's stack.json as they read `strangler up`'s."""
    from stages.stack import StackInfo

    stackfile = load_module(DEPLOY / "container/stackfile.py", "kit_stackfile")
    env = {
        "KIT_PROXY_ADMIN_TOKEN": "admin-token",
        "SHOP_DATABASE_URL": "postgres://kit:pw@postgres:5432/kit_monolith",
        "SHOP_BROKER_URL": "amqp://kit:pw@rabbitmq:5672//",
        "KIT_SERVICES": "notifications catalog",
        "NOTIFICATIONS_DATABASE_URL": "postgres://kit:pw@postgres:5432/kit_notifications",
        "CATALOG_DATABASE_URL": "postgres://kit:pw@postgres:5432/kit_catalog",
        "KIT_STAFF_PASSWORD": "staff-pw",
    }
    path = stackfile.write_stack(tmp_path / "kit" / "stack.json", env)
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the admin token
    info = StackInfo.load(path)
    assert (info.proxy_url, info.admin_url) == ("http://proxy:8080", "http://proxy:8081")
    assert info.admin_token == "admin-token"
    assert info.monolith.database_url.endswith("/kit_monolith")
    assert list(info.services) == ["notifications", "catalog"]
    catalog = info.side("catalog")
    assert catalog.url == "http://catalog:8000"
    assert catalog.database_url.endswith("/kit_catalog")
    # a service's manage.py with its own settings module (the image's is the monolith's)
    assert catalog.manage[:2] == ["env", "DJANGO_SETTINGS_MODULE=catalog_service.settings"]
    assert catalog.manage[-1].endswith("/extracted/catalog/manage.py")
    assert info.monolith.manage[1] == "DJANGO_SETTINGS_MODULE=config.settings.base"
    assert (info.staff_email, info.staff_password) == ("staff@shop.test", "staff-pw")
    del env["CATALOG_DATABASE_URL"]
    with pytest.raises(SystemExit, match="CATALOG_DATABASE_URL is not set"):
        stackfile.stack_from_env(env)


def test_entrypoint_wait_is_bounded() -> None:
    entrypoint = load_module(DEPLOY / "container/entrypoint.py", "kit_entrypoint")
    with pytest.raises(SystemExit) as raised:
        entrypoint.wait_for(["tcp:127.0.0.1:1"], budget=0.5)
    assert raised.value.code == 75
    with pytest.raises(SystemExit, match="neither"):
        entrypoint.wait_for(["postgres:5432"], budget=0.5)


def test_ci_step_is_bounded_and_tears_down() -> None:
    text = (ROOT / ".ci/containers").read_text()
    assert "trap teardown EXIT" in text
    assert "down -v" in text
    assert "BUDGET=${KIT_CONTAINERS_BUDGET:-1200}" in text
    assert "podman-compose==1.6.0" in text
    assert '--target "$BASE"' in text
