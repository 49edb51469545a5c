#!/bin/bash
# First start of the PostgreSQL container only (docker-entrypoint-initdb.d): one database per
# service, so that no service can join another's tables. KIT_DATABASES lists them.
set -euo pipefail
for db in ${KIT_DATABASES:-kit_monolith kit_proxy}; do
  case "$db" in *[!a-z0-9_]*) echo "bad database name: $db" >&2; exit 1 ;; esac
  echo "[init-databases] creating database $db"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
