# The harness's commands. `just` alone lists them.
set shell := ["bash", "-euo", "pipefail", "-c"]

export CARGO_TERM_COLOR := "never"

default:
    @just --list

# Install what a fresh machine lacks (system packages; idempotent).
setup:
    bash .ci/setup.sh

# Build the PostgreSQL image from Debian's packages (no registry needed).
image: build
    #!/usr/bin/env bash
    set -euo pipefail
    if ! docker version >/dev/null 2>&1; then
        required=0
        [ "${HARNESS_REQUIRE_DOCKER:-}" = 1 ] && required=1
        case "${CI:-}" in ""|0|false) ;; *) required=1 ;; esac
        if [ "$required" = 1 ]; then echo "no Docker engine answers and this run requires Docker (CI or HARNESS_REQUIRE_DOCKER=1): start the engine" >&2; exit 1; fi
        echo "no Docker engine answers: skipping the image (native backend only)"; exit 0
    fi
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    target/debug/harness image

# Build the workspace.
build:
    cargo build --workspace -q

# Start a primary and a streaming replica; Ctrl-C tears them down.
up *ARGS: build
    target/debug/harness up {{ARGS}}

# fmt, clippy and the whole test suite (the README's test command).
test: setup image
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -q -- -D warnings
    cargo nextest run --workspace --no-fail-fast

# Time a ready primary + replica per backend next to the bare initdb/pg_ctl/pg_basebackup sequence.
bench-cluster RUNS="5": build
    bash scripts/bench-cluster.sh {{RUNS}}

# Remove servers, containers and directories left by harness runs that died.
clean:
    cargo run -q -p harness -- clean

# Render a run's report (default: the newest under reports/) to a PNG with headless Chromium, offline.
report-png RUN="" OUT="":
    bash scripts/render-report.sh {{RUN}} {{OUT}}

# Recovery drill: base backup + WAL archive under the app's load, restored to a point in time, every table's digest compared; exit 11 names a differing table.
drill *ARGS: build
    target/debug/harness drill restore {{ARGS}}

# Rebuild reports/index.html (all runs, trends of key figures).
report-index: build
    target/debug/harness report index

# Compare a run with a baseline run; exits 14 on a regression beyond noise.
report-compare BASELINE RUN: build
    target/debug/harness report compare --baseline {{BASELINE}} {{RUN}}

# criterion benches on a seeded cluster; figures land in reports/<time>-bench/.
bench *ARGS:
    cargo bench -p benches {{ARGS}}

# Load: 10,000 goose users on a fresh cluster (realistic durability), p95 < 100 ms gates; exit 10 gate failed, 15 invalid run.
load *ARGS: setup
    cargo build --release -q -p harness
    target/release/harness load {{ARGS}}

# Capacity: step the user count up until p95 crosses 100 ms; prints the step table, the knee and the first limit hit.
capacity *ARGS: setup
    cargo build --release -q -p harness
    target/release/harness capacity {{ARGS}}

# The SQL transport's point select vs pgbench -S -M prepared, same connections, same cluster, same run; prints the ratio.
compare-pgbench CONNECTIONS="32" SECS="15" SCALE="10":
    bash scripts/compare-pgbench.sh {{CONNECTIONS}} {{SECS}} {{SCALE}}

# The CI load smoke alone: 1,000 users for ~30 s through the gates (part of `just test`).
load-smoke:
    cargo nextest run -p harness --test integration load::smoke

# Seed the reference app and another folder (about 1M rows each) into SQLite and PostgreSQL, next to a bare binary \copy of the same rows; rows/s, ratios, peak memory.
seed-bench SCALE="10" TENANTS="200" APP="apps/journal" APP_SCALE="80" APP_TENANTS="200": setup
    bash scripts/bench-seed.sh {{SCALE}} {{TENANTS}} {{APP}} {{APP_SCALE}} {{APP_TENANTS}}

# RLS isolation property soak: 20,000 primary cases (and 500 replica cases) instead of CI's 1,000.
soak-rls CASES="20000":
    PROPTEST_CASES={{CASES}} cargo nextest run -p harness --test integration --no-capture rls::property

# Audit any database's row-level security from its catalog (read-only): just audit-rls postgres://...
audit-rls URL *ARGS: build
    target/debug/harness audit-rls --url {{URL}} {{ARGS}}

# pgloader vs `harness migrate` vs bare psql \copy, same cluster, same run, first on the portal's legacy file, then on plain tables with `harness init` defaults: rows/s, ratios, peak memory.
compare-pgloader ROWS="1000000":
    bash scripts/compare-pgloader.sh {{ROWS}}
    bash scripts/compare-pgloader-plain.sh {{ROWS}}

# Property tests with many more cases (PROPTEST_CASES): the round trip of every hard value, for the portal and any-app properties.
soak CASES="256":
    PROPTEST_CASES={{CASES}} cargo nextest run -p harness --test integration --no-fail-fast migrate::round_trip roundtrip::

# Merge the run folders of a sharded load (`harness load --shard I/N`) into one judged run; see docs/scale-out.md.
merge *RUNS: build
    target/debug/harness report merge {{RUNS}}
