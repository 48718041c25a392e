#!/usr/bin/env bash
# Times "a ready primary + streaming replica" for each backend, median of N
# runs, next to the bare shell sequence (initdb, pg_ctl start,
# pg_basebackup -R -X stream, pg_ctl start) in the same run, and prints the
# ratios. Goals: native within 1.5x of the bare sequence; docker under 10 s
# with the image present.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=target/debug/harness
[ -x "$bin" ] || cargo build -q -p harness
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f\n", m}'; }

bare_once() {
    local d; d=$(mktemp -d /tmp/bare-XXXX); chmod 755 "$d"
    [ "$(id -u)" = 0 ] && chown postgres "$d"
    local p1=$((20000 + RANDOM % 20000)) p2=$((40000 + RANDOM % 20000))
    local t0; t0=$(now)
    "${as_pg[@]}" "$pgbin/initdb" -D "$d/p" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d/p" -o "-p $p1 -k $d -c listen_addresses=127.0.0.1 -c fsync=off" -l "$d/p.log" -w start >/dev/null
    "${as_pg[@]}" "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$d/r" -R -X stream -c fast --no-sync
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d/r" -o "-p $p2 -k $d -c listen_addresses=127.0.0.1" -l "$d/r.log" -w start >/dev/null
    local t1; t1=$(now)
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d/r" -m immediate stop >/dev/null
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$d/p" -m immediate stop >/dev/null
    rm -rf "$d"
    echo "$t1 - $t0" | bc
}

# Ready = `harness up` has printed the replica URL (the replica streams).
harness_once() {
    local backend=$1 t0 t1 pid
    t0=$(now)
    coproc UP { exec "$bin" up --backend "$backend" 2>/dev/null; }
    pid=$UP_PID
    while read -r line <&"${UP[0]}"; do
        case "$line" in replica:*) break ;; esac
    done
    t1=$(now)
    kill -INT "$pid"; wait "$pid" 2>/dev/null || true
    echo "$t1 - $t0" | bc
}

command -v bc >/dev/null || { echo "bench-cluster: needs bc (apt-get install -y bc)"; exit 1; }
declare -A med
for kind in bare native docker; do
    if [ "$kind" = docker ] && ! docker version >/dev/null 2>&1; then echo "docker: no engine answers; skipped"; continue; fi
    samples=()
    for _ in $(seq "$runs"); do
        case $kind in
            bare) samples+=("$(bare_once)") ;;
            *) samples+=("$(harness_once "$kind")") ;;
        esac
    done
    med[$kind]=$(printf '%s\n' "${samples[@]}" | median)
    printf '%-7s median %6.2f s over %d runs: %s\n' "$kind" "${med[$kind]}" "$runs" "${samples[*]}"
done
printf 'ratio native/bare: %.2fx (goal <= 1.5x)\n' "$(echo "${med[native]} / ${med[bare]}" | bc -l)"
if [ -n "${med[docker]:-}" ]; then
    printf 'docker ready: %.2f s (goal < 10 s); docker/bare: %.2fx\n' "${med[docker]}" "$(echo "${med[docker]} / ${med[bare]}" | bc -l)"
fi
