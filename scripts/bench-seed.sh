#!/usr/bin/env bash
# Seeds at least 1 M rows with `harness seed` into a SQLite file and into
# PostgreSQL, and runs `pgbench -i` (client-side generation) on the same
# cluster in the same run, then prints rows/s and peak memory for each and
# the ratios. Goals on this machine: >= 200 k rows/s into SQLite, >= 150 k
# rows/s into PostgreSQL, peak memory < 300 MB at any scale.
#
# usage: scripts/bench-seed.sh [SCALE] [PGBENCH_SCALE] [TENANTS]
#   SCALE          harness seed scale (about 100 k rows per unit; default 10)
#   PGBENCH_SCALE  pgbench -i -s (100 k pgbench_accounts rows per unit; default 10)
#   TENANTS        number of tenants (default 200)
# Results go to reports/seed-bench-<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-10}
pgbench_scale=${2:-10}
tenants=${3:-200}
pgbin=${HARNESS_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
out="reports/seed-bench-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"

# SEED_BENCH_NO_BUILD=1 reuses target/release/harness as it is.
if [ -z "${SEED_BENCH_NO_BUILD:-}" ]; then
    echo "building the harness in release mode..." >&2
    cargo build --release -q -p harness
fi
bin=target/release/harness

work=$(mktemp -d /tmp/seed-bench-XXXX)
up_pid=""
cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill -INT "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. SQLite.
echo "== harness seed -> SQLite (scale $scale, $tenants tenants)" >&2
"$bin" seed --sqlite "$work/legacy.db" --scale "$scale" --tenants "$tenants" --json "$out/sqlite.json" | tee "$out/sqlite.txt"

# 2. A cluster (primary + replica), kept up for both PostgreSQL runs.
echo "== starting a native cluster" >&2
"$bin" up --backend native --durability fast >"$work/up.out" 2>"$work/up.err" &
up_pid=$!
for _ in $(seq 1 120); do
    grep -q '^export HARNESS_PRIMARY_URL=' "$work/up.out" 2>/dev/null && break
    kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.err" >&2; echo "harness up died" >&2; exit 3; }
    sleep 0.5
done
eval "$(grep '^export HARNESS_PRIMARY_URL=' "$work/up.out")"
base=${HARNESS_PRIMARY_URL%/*}
psql -q -X "$HARNESS_PRIMARY_URL" -c "create database seedbench" -c "create database pgbenchdb"

# 3. harness seed -> PostgreSQL (COPY, schema applied, all constraints and indexes on).
echo "== harness seed -> PostgreSQL" >&2
"$bin" seed --postgres --backend external --primary-url "$base/seedbench" --disposable --database seedbench \
    --scale "$scale" --tenants "$tenants" --json "$out/postgres.json" | tee "$out/postgres.txt"

# 4. pgbench -i, client-side generation, same cluster.
echo "== pgbench -i -s $pgbench_scale (client-side generation)" >&2
/usr/bin/time -v "$pgbin/pgbench" -i -I dtgvp -s "$pgbench_scale" -q "$base/pgbenchdb" >"$work/pgbench.out" 2>"$work/pgbench.err" || {
    cat "$work/pgbench.err" >&2; exit 1; }
cp "$work/pgbench.err" "$out/pgbench.txt"

# 5. The figures.
python3 - "$out" "$pgbench_scale" <<'PY'
import json, re, sys
out, s = sys.argv[1], int(sys.argv[2])
sq = json.load(open(f"{out}/sqlite.json"))
pg = json.load(open(f"{out}/postgres.json"))
err = open(f"{out}/pgbench.txt").read()
done = re.search(r"done in ([0-9.]+) s \((.*)\)", err)
total = float(done.group(1))
gen = float(re.search(r"client-side generate ([0-9.]+) s", done.group(2)).group(1))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1)) * 1024
rows_pgb = s * (100000 + 10 + 1)
mb = lambda b: b / 1048576 if b else float("nan")
rows = [
    ("harness seed -> SQLite", sq["total_rows"], sq["seconds"], sq["peak_rss_bytes"]),
    ("harness seed -> PostgreSQL", pg["total_rows"], pg["seconds"], pg["peak_rss_bytes"]),
    (f"pgbench -i -s {s} (total)", rows_pgb, total, rss),
    (f"pgbench -i -s {s} (generate only)", rows_pgb, gen, rss),
]
lines = [f"{'what':<36} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}"]
for name, n, t, m in rows:
    lines.append(f"{name:<36} {n:>10} {t:>8.2f} {n / t:>10.0f} {mb(m):>8.1f}")
r_sq = sq["total_rows"] / sq["seconds"]
r_pg = pg["total_rows"] / pg["seconds"]
lines += [
    "",
    f"seed->PostgreSQL / pgbench -i total:         {r_pg / (rows_pgb / total):.2f}x rows/s",
    f"seed->PostgreSQL / pgbench generate-only:    {r_pg / (rows_pgb / gen):.2f}x rows/s",
    f"seed->SQLite / pgbench -i total:             {r_sq / (rows_pgb / total):.2f}x rows/s",
    f"bytes: SQLite file {mb(sq['bytes']):.1f} MB; COPY sent {mb(pg['bytes']):.1f} MB, stored {mb(pg['stored_bytes']):.1f} MB",
    f"skew: largest/median tenant {sq['distribution']['ratio']:.1f}x over {sq['distribution']['tenants']} tenants",
    "",
    "goals: "
    + ", ".join([
        f">=1M rows {'PASS' if min(sq['total_rows'], pg['total_rows']) >= 1_000_000 else 'FAIL'}",
        f"SQLite >= 200k rows/s {'PASS' if r_sq >= 200_000 else 'FAIL'} ({r_sq:.0f})",
        f"PostgreSQL >= 150k rows/s {'PASS' if r_pg >= 150_000 else 'FAIL'} ({r_pg:.0f})",
        f"peak < 300 MB {'PASS' if max(sq['peak_rss_bytes'], pg['peak_rss_bytes']) < 300 * 2**20 else 'FAIL'}",
    ]),
]
text = "\n".join(lines)
print(text)
open(f"{out}/summary.txt", "w").write(text + "\n")
PY
echo "results in $out" >&2
