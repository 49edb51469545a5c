#!/usr/bin/env bash
# `podman kube play` of deploy/kube/kit.yaml (the monolith and the proxy in one pod), and back.
#
#   deploy/kube/play.sh up [--wait]      create the secret, play the pod; --wait: until the proxy answers
#   deploy/kube/play.sh down [--volumes] stop and remove the pod and the secret (and the data)
#
# Podman 4.3: a Secret inside the played file is stored as YAML but secretKeyRef reads a
# podman secret holding a flat JSON map of base64 values (so it fails), and `kube down` keeps volumes while `kube play` refuses an existing one:
# this script works around both.
set -euo pipefail
cd "$(dirname "$0")"
SECRET=strangler-kit-secrets
VOLUME=strangler-kit-monolith-var
URL="http://127.0.0.1:${KIT_KUBE_PORT:-18090}/api/catalog/products?page_size=1"

secret_json() {  # the data of secret.yaml as podman 4.3 reads it: {"KEY": "base64", ...}
  python3 - secret.yaml <<'PY'
import json, re, sys
doc, data, section = {"apiVersion": "v1", "kind": "Secret", "metadata": {}}, {}, None
for line in open(sys.argv[1]):
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    key, _, value = line.strip().partition(":")
    value = value.split("#")[0].strip()
    if not line.startswith(" "):
        section = key
        if value:
            doc[key] = value
    elif section == "metadata":
        doc["metadata"][key] = value
    elif section == "data":
        data[key] = value
print(json.dumps(data))
PY
}

case "${1:-}" in
  up)
    podman secret rm "$SECRET" >/dev/null 2>&1 || true
    secret_json | podman secret create "$SECRET" - >/dev/null
    podman volume exists "$VOLUME" && echo "[kube] reusing the data volume $VOLUME is not possible in Podman 4.3: removing it" && podman volume rm "$VOLUME" >/dev/null
    timeout 180 podman kube play kit.yaml
    if [ "${2:-}" = "--wait" ]; then
      for i in $(seq 1 90); do
        if curl -fs -m 3 -o /dev/null "$URL"; then echo "[kube] the proxy answers: $URL (after ${i}x2 s)"; exit 0; fi
        sleep 2
      done
      echo "[kube] the proxy did not answer on $URL within 180 s" >&2
      podman pod logs --tail 30 strangler-kit >&2 2>/dev/null || true
      exit 1
    fi
    ;;
  down)
    timeout 120 podman kube down kit.yaml || true
    podman secret rm "$SECRET" >/dev/null 2>&1 || true
    if [ "${2:-}" = "--volumes" ]; then podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true; fi
    ;;
  *)
    echo "usage: $0 up [--wait] | down [--volumes]" >&2
    exit 2
    ;;
esac
