#!/usr/bin/env bash
# Air-gapped infrastructure images, FROM the local Debian base, with Debian's packages only:
#   localhost/kit-postgres:15-bookworm     PostgreSQL 15      (stands in for postgres:15)
#   localhost/kit-rabbitmq:3.10-bookworm   RabbitMQ 3.10      (rabbitmq:3.10-management)
#   localhost/kit-redis:7.0-bookworm       Redis 7.0          (redis:7.0)
#   localhost/kit-prometheus:2.42-bookworm Prometheus 2.42    (prom/prometheus:v2.42.0)
# compose.airgap.yaml selects them. Grafana, Jaeger and the OpenTelemetry collector are not
# packaged by Debian: see docs/containers.md for what replaces them.
#
#   deploy/images/build-infra-images.sh [NAME...]      (default: all four; builds the base first)
set -euo pipefail
cd "$(dirname "$0")"
BASE="${KIT_DEBIAN_IMAGE:-localhost/kit-debian:bookworm}"
declare -A TAGS=(
  [postgres]=localhost/kit-postgres:15-bookworm
  [rabbitmq]=localhost/kit-rabbitmq:3.10-bookworm
  [redis]=localhost/kit-redis:7.0-bookworm
  [prometheus]=localhost/kit-prometheus:2.42-bookworm
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(postgres rabbitmq redis prometheus)

podman image exists "$BASE" || ./build-local-base.sh
for name in "${names[@]}"; do
  tag="${TAGS[$name]:?unknown image $name (one of: ${!TAGS[*]})}"
  started=$(date +%s)
  printf '[infra-images] building %s FROM %s ... ' "$tag" "$BASE"
  # --network host: apt inside the build reaches the Debian mirror the host uses.
  if ! timeout 900 podman build --quiet --network host --build-arg "BASE=$BASE" -t "$tag" "$name" >"/tmp/kit-build-$name.log" 2>&1; then
    echo "failed"; tail -30 "/tmp/kit-build-$name.log" >&2; exit 1
  fi
  echo "done in $(( $(date +%s) - started )) s"
done
