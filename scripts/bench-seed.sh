#!/usr/bin/env bash
# Seeds the reference app and a second app folder with `harness seed` into a
# SQLite file and into PostgreSQL, and in the same run times a bare binary
# `\copy` of the very same rows into the same schema (indexes, constraints
# and policies in place, as `pg_dump --schema-only` gives it), on the same
# cluster. Prints rows/s, the ratio to the bare COPY, and peak memory.
#
# Goals on this machine: PostgreSQL >= 1.0x the bare COPY (the seed may drop
# and rebuild indexes, the bare copy does not); SQLite >= 300k rows/s for the
# reference app; peak memory < 300 MB (at 10 M rows: `just seed-bench 100`).
#
# usage: scripts/bench-seed.sh [SCALE] [TENANTS] [APP] [APP_SCALE] [APP_TENANTS]
#   SCALE, TENANTS          the reference app (scale 1 = about 100k rows; default 10, 200)
#   APP, APP_SCALE, APP_TENANTS  the second folder (default apps/journal, 80, 200: about 1 M rows)
# Results go to reports/seed-bench-<UTC time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
scale=${1:-10}
tenants=${2:-200}
app=${3:-apps/journal}
app_scale=${4:-80}
app_tenants=${5:-200}
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
chmod 755 "$work"
up_pid=""
cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill -INT "$up_pid" 2>/dev/null || true
        wait "$up_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== starting a native cluster (realistic durability)" >&2
"$bin" up --backend native >"$work/up.out" 2>"$work/up.err" &
up_pid=$!
for _ in $(seq 1 120); do
    grep -q '^export HARNESS_PRIMARY_URL=' "$work/up.out" 2>/dev/null && break
    kill -0 "$up_pid" 2>/dev/null || { cat "$work/up.err" >&2; echo "harness up died" >&2; exit 3; }
    sleep 0.5
done
eval "$(grep '^export HARNESS_PRIMARY_URL=' "$work/up.out")"
base=${HARNESS_PRIMARY_URL%/*}

# One app: SQLite seed, PostgreSQL seed, then the bare COPY of the same rows.
bench_app() {
    local name=$1 folder=$2 s=$3 t=$4
    echo "== $name: harness seed -> SQLite (scale $s, $t tenants)" >&2
    /usr/bin/time -v -o "$out/$name-sqlite.time" "$bin" seed --app "$folder" --sqlite "$work/$name.db" \
        --scale "$s" --tenants "$t" --json "$out/$name-sqlite.json" >"$out/$name-sqlite.txt"
    rm -f "$work/$name.db"
    echo "== $name: harness seed -> PostgreSQL" >&2
    psql -q -X "$HARNESS_PRIMARY_URL" -c "create database ${name}_seed" -c "create database ${name}_bare"
    /usr/bin/time -v -o "$out/$name-pg.time" "$bin" seed --app "$folder" --postgres --backend external \
        --primary-url "$base/${name}_seed" --disposable --database "${name}_seed" \
        --scale "$s" --tenants "$t" --rejects "$work/$name-rejects.jsonl" --json "$out/$name-pg.json" >"$out/$name-pg.txt"
    echo "== $name: bare binary \\copy of the same rows, schema in place" >&2
    "$pgbin/pg_dump" --schema-only --exclude-schema=harness_migration "$base/${name}_seed" >"$work/$name-schema.sql"
    psql -q -X -v ON_ERROR_STOP=1 "$base/${name}_bare" -f "$work/$name-schema.sql" >/dev/null
    # Tables in the mapping's order (parents first).
    python3 - "$folder/mapping.toml" >"$work/$name-tables" <<'PY'
import sys, tomllib
for t in tomllib.load(open(sys.argv[1], "rb")).get("table", []):
    print(t["name"])
PY
    : >"$work/$name-out.sql"
    : >"$work/$name-in.sql"
    : >"$work/$name-triggers-off.sql"
    while read -r tbl; do
        echo "\\copy public.\"$tbl\" to '$work/$name-$tbl.bin' with (format binary)" >>"$work/$name-out.sql"
        echo "\\copy public.\"$tbl\" from '$work/$name-$tbl.bin' with (format binary)" >>"$work/$name-in.sql"
        # The seed does not fire user triggers during its load; nor does this.
        echo "alter table public.\"$tbl\" disable trigger user;" >>"$work/$name-triggers-off.sql"
    done <"$work/$name-tables"
    psql -q -X -v ON_ERROR_STOP=1 "$base/${name}_seed" -f "$work/$name-out.sql"
    psql -q -X -v ON_ERROR_STOP=1 "$base/${name}_bare" -f "$work/$name-triggers-off.sql"
    psql -q -X "$base/${name}_bare" -c checkpoint
    local t0 t1
    t0=$(date +%s.%N)
    psql -q -X -v ON_ERROR_STOP=1 "$base/${name}_bare" -f "$work/$name-in.sql"
    t1=$(date +%s.%N)
    psql -q -X -At "$base/${name}_bare" -c "select sum(n_live_tup) from pg_stat_user_tables where schemaname = 'public'" >/dev/null
    python3 -c "print($t1 - $t0)" >"$out/$name-bare.seconds"
    rm -f "$work/$name"-*.bin
}

bench_app portal apps/portal "$scale" "$tenants"
bench_app other "$app" "$app_scale" "$app_tenants"

python3 - "$out" "$app" <<'PY'
import json, re, sys
out, app = sys.argv[1], sys.argv[2]
def peak(path):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(path).read())
    return int(m.group(1)) / 1024 if m else float("nan")
bare_label = "bare binary \\copy, indexes on"
lines = [f"{'app':<10} {'what':<34} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}"]
goals = []
for name, label in (("portal", "apps/portal"), ("other", app)):
    sq = json.load(open(f"{out}/{name}-sqlite.json"))
    pg = json.load(open(f"{out}/{name}-pg.json"))
    bare_s = float(open(f"{out}/{name}-bare.seconds").read())
    ph = {p["phase"]: p for p in pg["phases"]}
    gen = {p["phase"]: p for p in sq["phases"]}["generate"]
    rows = pg["rows"] - pg["rejected"]
    bare = rows / bare_s
    e2e = ph["total"]["rows"] / ph["total"]["seconds"]
    load = ph["load"]["rows"] / ph["load"]["seconds"]
    p_sq, p_pg = peak(f"{out}/{name}-sqlite.time"), peak(f"{out}/{name}-pg.time")
    short = label.split("/")[-1]
    lines += [
        f"{short:<10} {'seed -> SQLite':<34} {gen['rows']:>10} {gen['seconds']:>8.2f} {gen['rows_per_sec']:>10.0f} {p_sq:>8.1f}",
        f"{short:<10} {'seed -> PostgreSQL, end to end':<34} {ph['total']['rows']:>10} {ph['total']['seconds']:>8.2f} {e2e:>10.0f} {p_pg:>8.1f}",
        f"{short:<10} {'  of which the load (migration)':<34} {ph['load']['rows']:>10} {ph['load']['seconds']:>8.2f} {load:>10.0f}",
        f"{short:<10} {bare_label:<34} {rows:>10} {bare_s:>8.2f} {bare:>10.0f}",
        f"{short:<10} seed/bare COPY: end to end {e2e / bare:.2f}x, load alone {load / bare:.2f}x",
        "",
    ]
    goals.append(f"{short}: PostgreSQL >= 1.0x bare COPY {'PASS' if e2e >= bare else 'FAIL'} ({e2e / bare:.2f}x end to end, {load / bare:.2f}x load)")
    if name == "portal":
        goals.append(f"portal: SQLite >= 300k rows/s {'PASS' if gen['rows_per_sec'] >= 300_000 else 'FAIL'} ({gen['rows_per_sec']:.0f})")
    goals.append(f"{short}: peak < 300 MB {'PASS' if max(p_sq, p_pg) < 300 else 'FAIL'} ({max(p_sq, p_pg):.0f} MB at {pg['rows']} rows)")
text = "\n".join(lines + ["goals:"] + ["  " + g for g in goals])
print(text)
open(f"{out}/summary.txt", "w").write(text + "\n")
PY
echo "results in $out" >&2
