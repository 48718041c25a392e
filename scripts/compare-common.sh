# Shared by the compare-pgloader scripts (sourced, not run): the run's
# folders, the tools they need, the harness binary, a cluster, and timing.
#
#   compare_setup NAME      ROOT, STAMP, OUT (reports/NAME-STAMP), WORK (a
#                           temp dir removed on exit with the cluster),
#                           installs pgloader / GNU time / sqlite3 if missing,
#                           HARNESS (HARNESS_BIN, or a fresh release build)
#   start_cluster DB...     `harness up` (native, fast durability, autovacuum
#                           off), BASE (the primary's URL without a
#                           database), creates DB...
#   measure NAME CMD...     once the replica has caught up, after a
#                           checkpoint, runs CMD under GNU time into
#                           $WORK/NAME.{time,out,err}; a failure is printed
#                           and added to FAILED
#   wall NAME / rss_mb NAME seconds and peak MB from $WORK/NAME.time

compare_setup() {
    ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    cd "$ROOT"
    STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
    OUT="$ROOT/reports/$1-$STAMP"
    WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
    mkdir -p "$OUT"
    chmod 755 "$WORK"
    UP_PID=""
    FAILED=""
    trap compare_cleanup EXIT

    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q)
    command -v pgloader >/dev/null 2>&1 || "${apt[@]}" pgloader >/dev/null
    [ -x /usr/bin/time ] || "${apt[@]}" time >/dev/null
    command -v sqlite3 >/dev/null 2>&1 || "${apt[@]}" sqlite3 >/dev/null

    if [ -n "${HARNESS_BIN:-}" ]; then
        HARNESS="$HARNESS_BIN"   # an already built release binary
    else
        echo "== building the release harness"
        cargo build --release -q -p harness
        HARNESS="$ROOT/target/release/harness"
    fi
}

compare_cleanup() {
    if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
        kill -TERM "$UP_PID" 2>/dev/null || true
        wait "$UP_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}

start_cluster() {
    echo "== starting a cluster (harness up, native, fast durability)"
    "$HARNESS" up --backend native --durability fast > "$WORK/up.out" 2> "$WORK/up.err" &
    UP_PID=$!
    for _ in $(seq 1 120); do
        if grep -q '^primary: ' "$WORK/up.out" 2>/dev/null; then break; fi
        sleep 0.5
    done
    local primary
    primary=$(sed -n 's/^primary: //p' "$WORK/up.out")
    [ -n "$primary" ] || { cat "$WORK/up.err"; echo "the cluster did not start"; exit 1; }
    BASE="${primary%/*}"
    # No autovacuum during the comparison: the vacuum and analyze that one
    # tool's million fresh rows set off would otherwise land in the timing
    # of the tool measured after it. Every tool loads with it off.
    psql -q "$BASE/postgres" -c "alter system set autovacuum = off" -c "select pg_reload_conf()" > /dev/null
    for d in "$@"; do psql -q "$BASE/postgres" -c "create database $d"; done
}

settle() { # before a timed step: the replica has replayed the previous
    # step's WAL (replay takes CPU from whoever runs next), and its dirty
    # pages are written out
    for _ in $(seq 1 600); do
        [ "$(psql -tA "$BASE/postgres" -c "select coalesce(bool_and(replay_lsn >= pg_current_wal_lsn()), true) from pg_stat_replication")" = t ] && break
        sleep 0.1
    done
    psql -q "$BASE/postgres" -c "checkpoint" > /dev/null
}

measure() { # name, command...: wall seconds and peak RSS (kB) into $WORK/<name>.time
    local name=$1; shift
    settle
    /usr/bin/time -v -o "$WORK/$name.time" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || {
        echo "   $name failed (exit $?): see below"; tail -20 "$WORK/$name.err"; tail -20 "$WORK/$name.out"
        FAILED="$FAILED $name"; }
}

wall() { # GNU time's "h:mm:ss" or "m:ss.ss" into seconds
    sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$1.time" |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }'
}

rss_mb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/$1.time" | awk '{ printf "%.0f", $1 / 1024 }'; }
