#!/usr/bin/env bash
# The harness's SQL transport vs `pgbench -S -M prepared`: the same prepared
# point select on pgbench_accounts, the same number of connections, the same
# freshly started cluster, in one run. Prints both throughputs and the ratio
# (goal: transport / pgbench >= 0.70); the run folder lands in reports/.
#
# usage: scripts/compare-pgbench.sh [CONNECTIONS=32] [SECONDS=15] [SCALE=10]
set -euo pipefail
cd "$(dirname "$0")/.."

conns="${1:-32}"
secs="${2:-15}"
scale="${3:-10}"

if ! command -v pgbench >/dev/null && ! ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
    echo "pgbench is not installed: run \`just setup\` (Debian: postgresql-contrib / postgresql-client)" >&2
    exit 3
fi

cargo build --release -q -p harness
# The cluster is the harness's own (native by default here: pgbench and the
# transport then reach the same 127.0.0.1 primary the same way).
exec target/release/harness load --backend "${HARNESS_BACKEND:-native}" \
    --compare-pgbench --connections "$conns" --duration "$secs" --pgbench-scale "$scale"
