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
  # The web console's browser tests drive Debian's Chromium (playwright-core, no browser download).
  command -v chromium >/dev/null 2>&1 || need_apt="$need_apt chromium"
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

# The web console (web/, served by the local API at /): rebuilt when a source file, the Vite config
# or the lockfile is newer than the last build. Vite 8 needs Node 22: the pinned one.
stamp=web/dist/.built
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ -n "$(find web -path web/dist -prune -o -type f -newer "$stamp" -print 2>/dev/null | head -n 1)" ]; then
  echo "setup: building the web console (web/dist)" >&2
  node_modules/.bin/node node_modules/vite/bin/vite.js build --config web/vite.config.ts >&2
  touch "$stamp"
fi
