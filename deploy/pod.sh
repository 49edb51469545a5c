#!/usr/bin/env bash
# The seed chapter's pod: the stage-0 stack as ONE Podman pod (one network namespace: every
# process reaches the others on 127.0.0.1; only the pod publishes ports).
#
#   deploy/pod.sh up      PostgreSQL, RabbitMQ, the monolith, the relay and the proxy in pod
#                         `strangler-kit-pod`; the proxy answers on http://127.0.0.1:${KIT_POD_PORT:-18180}
#   deploy/pod.sh down    remove the pod and its volumes
#
# Images: the ones compose uses (air-gapped: the localhost/kit-* images; set KIT_POD_IMAGES=registry
# for the official ones). Secrets: made up per run unless set in the environment. The pod's
# hostname is `rabbitmq`: RabbitMQ names its node (and data folder) after it.
set -euo pipefail
cd "$(dirname "$0")/.."
POD=strangler-kit-pod
PORT="${KIT_POD_PORT:-18180}"
KIT_IMAGE="${KIT_IMAGE:-localhost/strangler-kit:0.1.0}"
if [ "${KIT_POD_IMAGES:-local}" = registry ]; then
  PG_IMAGE=docker.io/library/postgres:15.10-bookworm
  MQ_IMAGE=docker.io/library/rabbitmq:3.10.25-management
else
  PG_IMAGE=localhost/kit-postgres:15-bookworm
  MQ_IMAGE=localhost/kit-rabbitmq:3.10-bookworm
fi
PG_PASSWORD="${POSTGRES_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
MQ_PASSWORD="${RABBITMQ_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
SECRET="${SHOP_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

case "${1:-}" in
  up)
    podman pod create --name "$POD" --hostname rabbitmq --publish "127.0.0.1:$PORT:8080" >/dev/null
    podman run -d --pod "$POD" --name "$POD-postgres" \
      -e POSTGRES_USER=kit -e POSTGRES_PASSWORD="$PG_PASSWORD" -e KIT_DATABASES="kit_monolith kit_proxy" \
      -v "$POD-postgres:/var/lib/postgresql/data" \
      -v "$PWD/deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-databases.sh:ro,z" \
      "$PG_IMAGE" >/dev/null
    podman run -d --pod "$POD" --name "$POD-rabbitmq" \
      -e RABBITMQ_DEFAULT_USER=kit -e RABBITMQ_DEFAULT_PASS="$MQ_PASSWORD" \
      -v "$POD-rabbitmq:/var/lib/rabbitmq" "$MQ_IMAGE" >/dev/null
    common=(--pod "$POD" --init -e SHOP_SECRET_KEY="$SECRET" -e KIT_OTEL=0
      -e SHOP_DATABASE_URL="postgres://kit:$PG_PASSWORD@127.0.0.1:5432/kit_monolith"
      -e SHOP_BROKER_URL="amqp://kit:$MQ_PASSWORD@127.0.0.1:5672//")
    podman run -d "${common[@]}" --name "$POD-monolith" -e SHOP_BIND=127.0.0.1:8000 \
      -e KIT_WAIT_FOR=tcp:127.0.0.1:5432 -e KIT_SEED_PRODUCTS=50 \
      -e KIT_STAFF_PASSWORD="${KIT_STAFF_PASSWORD:-staff-pass-1234}" \
      -e PROMETHEUS_MULTIPROC_DIR=/var/lib/kit/metrics -v "$POD-monolith:/var/lib/kit/monolith" \
      "$KIT_IMAGE" monolith >/dev/null
    podman run -d "${common[@]}" --name "$POD-relay" \
      -e KIT_WAIT_FOR="tcp:127.0.0.1:5672 http://127.0.0.1:8000/health/ready" \
      "$KIT_IMAGE" relay --metrics-port 9101 >/dev/null
    podman run -d "${common[@]}" --name "$POD-proxy" -e KIT_WAIT_FOR=tcp:127.0.0.1:5432 \
      -e KIT_PROXY_STORE="postgres://kit:$PG_PASSWORD@127.0.0.1:5432/kit_proxy" \
      "$KIT_IMAGE" proxy --host=0.0.0.0 --port=8080 --admin-host=127.0.0.1 --admin-port=8081 \
      --monolith=http://127.0.0.1:8000 --var-dir=/var/lib/kit/proxy --access-log=- >/dev/null
    url="http://127.0.0.1:$PORT/api/catalog/products?page_size=1"
    for i in $(seq 1 90); do
      if curl -fs -m 3 -o /dev/null "$url"; then echo "[pod] $POD answers: $url (after ${i}x2 s)"; exit 0; fi
      sleep 2
    done
    echo "[pod] no answer on $url within 180 s" >&2
    podman pod logs --tail 20 "$POD" >&2 2>/dev/null || true
    exit 1
    ;;
  down)
    podman pod rm -f -t 10 "$POD" >/dev/null 2>&1 || true
    for v in postgres rabbitmq monolith; do podman volume rm -f "$POD-$v" >/dev/null 2>&1 || true; done
    echo "[pod] $POD removed"
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
