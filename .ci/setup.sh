#!/usr/bin/env bash
# Installs what a fresh machine of this project's kind lacks. Idempotent and
# quiet when everything is there. Called by `just setup` and `.ci/run`.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }
# PostgreSQL 15 server binaries (native backend, pg_basebackup, pgbench, psql).
[ -x /usr/lib/postgresql/15/bin/postgres ] || need_apt+=(postgresql-15 postgresql-client-15)
[ -x /usr/lib/postgresql/15/bin/pgbench ] || need_apt+=(postgresql-contrib)
have sqlite3 || need_apt+=(sqlite3)
have debootstrap || need_apt+=(debootstrap)
have pgloader || need_apt+=(pgloader)
# PgBouncer, the transaction-mode pooler of `--pooler pgbouncer` (docs/pooling.md).
[ -x /usr/sbin/pgbouncer ] || need_apt+=(pgbouncer)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "setup: missing Debian packages: ${need_apt[*]}; run: sudo apt-get install -y ${need_apt[*]}" >&2
        exit 1
    fi
    echo "setup: installing ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
    # Debian starts a default cluster on install; the harness runs its own.
    if have pg_lsclusters; then
        pg_lsclusters -h 2>/dev/null | while read -r ver name _; do
            pg_ctlcluster "$ver" "$name" stop 2>/dev/null || true
        done
    fi
    # Same for the package's own PgBouncer: the harness starts its own.
    if [ -x /etc/init.d/pgbouncer ]; then
        /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
    fi
fi
# The native backend runs PostgreSQL as this account when we are root.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi
# cargo-nextest runs the suite (one process per test, so a failing test's
# servers die with it). Installed from crates.io if missing.
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install --locked -q cargo-nextest
fi
