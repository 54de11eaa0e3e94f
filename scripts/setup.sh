#!/bin/sh
# Idempotent set-up shared by `npm start` and `npm test`: the npm dependencies (which pin Node 22)
# and the system packages the local stack and the tests use. Fast when everything is present.
set -e
cd "$(dirname "$0")/.."

need_apt=""
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt="$need_apt postgresql"
command -v psql >/dev/null 2>&1 || need_apt="$need_apt postgresql-client"
command -v pgbench >/dev/null 2>&1 || need_apt="$need_apt postgresql-contrib"
if [ "${SWITCHYARD_SETUP_TEST_EXTRAS:-}" = 1 ]; then
  python3 -c 'import psycopg' >/dev/null 2>&1 || need_apt="$need_apt python3-psycopg"
  python3 -c 'import asyncpg' >/dev/null 2>&1 || need_apt="$need_apt python3-asyncpg"
fi
if [ -n "$need_apt" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing$need_apt" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq $need_apt >/dev/null
    # Debian starts a cluster on install; we run our own.
    command -v pg_ctlcluster >/dev/null 2>&1 && pg_lsclusters -h 2>/dev/null | while read v c rest; do pg_ctlcluster "$v" "$c" stop || true; done
  else
    echo "setup: please install:$need_apt (apt-get install$need_apt)" >&2
    exit 1
  fi
fi

# npm dependencies: install when missing or older than the lockfile.
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
fi
