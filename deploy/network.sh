#!/usr/bin/env bash
# The seed chapter's service discovery: containers on a user-defined Podman network find each
# other by NAME (aardvark-dns), with no pod and no compose.
#
#   deploy/network.sh up     network `strangler-kit-net`; postgres, monolith and proxy on it;
#                            the proxy reaches http://monolith:8000 by name and answers on
#                            http://127.0.0.1:${KIT_NET_PORT:-18280}
#   deploy/network.sh down   remove the containers, volumes and the network
set -euo pipefail
cd "$(dirname "$0")/.."
NET=strangler-kit-net
PORT="${KIT_NET_PORT:-18280}"
KIT_IMAGE="${KIT_IMAGE:-localhost/strangler-kit:0.1.0}"
PG_IMAGE="${POSTGRES_IMAGE:-localhost/kit-postgres:15-bookworm}"
PG_PASSWORD="${POSTGRES_PASSWORD:-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
SECRET="${SHOP_SECRET_KEY:-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')}"

case "${1:-}" in
  up)
    podman network create "$NET" >/dev/null
    podman run -d --network "$NET" --name postgres-kitnet --network-alias postgres \
      -e POSTGRES_USER=kit -e POSTGRES_PASSWORD="$PG_PASSWORD" -e KIT_DATABASES="kit_monolith kit_proxy" \
      -v "$NET-postgres:/var/lib/postgresql/data" \
      -v "$PWD/deploy/postgres/init-databases.sh:/docker-entrypoint-initdb.d/10-databases.sh:ro,z" \
      "$PG_IMAGE" >/dev/null
    podman run -d --network "$NET" --name monolith-kitnet --network-alias monolith --init \
      -e SHOP_SECRET_KEY="$SECRET" -e KIT_OTEL=0 -e KIT_SEED_PRODUCTS=50 \
      -e SHOP_DATABASE_URL="postgres://kit:$PG_PASSWORD@postgres:5432/kit_monolith" \
      -e KIT_WAIT_FOR=tcp:postgres:5432 -e KIT_STAFF_PASSWORD="${KIT_STAFF_PASSWORD:-staff-pass-1234}" \
      "$KIT_IMAGE" monolith >/dev/null
    podman run -d --network "$NET" --name proxy-kitnet --network-alias proxy --init \
      -e KIT_OTEL=0 -e KIT_WAIT_FOR=http://monolith:8000/health/ready -e KIT_WAIT_SECONDS=240 \
      -p "127.0.0.1:$PORT:8080" \
      "$KIT_IMAGE" proxy --host=0.0.0.0 --port=8080 --admin-host=127.0.0.1 \
      --monolith=http://monolith:8000 --var-dir=/var/lib/kit/proxy --access-log=- >/dev/null
    url="http://127.0.0.1:$PORT/api/catalog/products?page_size=1"
    for i in $(seq 1 90); do
      if curl -fs -m 3 -o /dev/null "$url"; then
        echo "[network] the proxy answers through DNS discovery: $url (after ${i}x2 s)"
        podman exec proxy-kitnet python -c "import socket; print('[network] monolith resolves to', socket.gethostbyname('monolith'))"
        exit 0
      fi
      sleep 2
    done
    echo "[network] no answer on $url within 180 s" >&2
    exit 1
    ;;
  down)
    podman rm -f -t 10 proxy-kitnet monolith-kitnet postgres-kitnet >/dev/null 2>&1 || true
    podman volume rm -f "$NET-postgres" >/dev/null 2>&1 || true
    podman network rm -f "$NET" >/dev/null 2>&1 || true
    echo "[network] $NET removed"
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
