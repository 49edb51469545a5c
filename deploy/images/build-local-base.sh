#!/usr/bin/env bash
# Build the local Debian base images without any container registry:
#   localhost/kit-debian:bookworm   debootstrap (minbase) + `podman import`: the root of every local image
#   localhost/kit-python:3.11       + Debian's python3 (3.11) and venv: BASE_IMAGE for the Containerfile
# Only Debian's package mirror is needed (the same one apt uses on this machine).
#
#   deploy/images/build-local-base.sh [--force]
#   KIT_DEBIAN_MIRROR=http://deb.debian.org/debian  KIT_DEBIAN_SUITE=bookworm
set -euo pipefail
cd "$(dirname "$0")/../.."

MIRROR="${KIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${KIT_DEBIAN_SUITE:-bookworm}"
BASE="${KIT_DEBIAN_IMAGE:-localhost/kit-debian:bookworm}"
PYTHON="${KIT_PYTHON_IMAGE:-localhost/kit-python:3.11}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

say() { printf '[local-base] %s\n' "$*"; }
have_image() { podman image exists "$1"; }

command -v podman >/dev/null || { echo "podman is not installed (apt-get install podman runc)" >&2; exit 1; }

if [ "$FORCE" = 1 ] || ! have_image "$BASE"; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  ROOT="$(mktemp -d /var/tmp/kit-rootfs.XXXXXX)"
  trap 'rm -rf "$ROOT"' EXIT
  say "debootstrap $SUITE (minbase) from $MIRROR into $ROOT"
  started=$(date +%s)
  timeout 900 debootstrap --variant=minbase --include=ca-certificates \
    "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.log" 2>&1 || { tail -30 "$ROOT.log" >&2; exit 1; }
  rm -f "$ROOT.log"
  # The same sources as the host (security updates included), no caches, no docs.
  cat >"$ROOT/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
SOURCES
  cat >"$ROOT/etc/apt/apt.conf.d/90kit" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Retries "3";
APT
  cat >"$ROOT/etc/dpkg/dpkg.cfg.d/90kit-nodoc" <<'DPKG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
DPKG
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/*
  say "podman import -> $BASE"
  tar -C "$ROOT" -c . | podman import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.opencontainers.image.description=Debian minbase built locally by deploy/images/build-local-base.sh' \
    - "$BASE" >/dev/null
  say "$BASE imported in $(( $(date +%s) - started )) s"
else
  say "$BASE exists (use --force to rebuild)"
fi

if [ "$FORCE" = 1 ] || ! have_image "$PYTHON"; then
  say "build $PYTHON (Debian's python3 3.11 + venv) FROM $BASE"
  podman build --quiet --network host -t "$PYTHON" --build-arg "BASE=$BASE" \
    -f deploy/images/python/Containerfile deploy/images/python >/dev/null
fi
say "ready: $BASE, $PYTHON"
