#!/usr/bin/env bash
# pgloader vs `harness migrate` vs the bare COPY limit, on one cluster, in one
# run, on the same legacy file (every speed goal of this project is a ratio
# measured side by side: absolute figures drift on shared machines).
#
#   scripts/compare-pgloader.sh [ROWS]      (default 1000000; at least 1M for the goal)
#
# 1. builds the release harness, installs pgloader and GNU time if missing;
# 2. writes a legacy SQLite file of ROWS rows over the app's 7 tables
#    (apps/portal/legacy.sql, the legacy app's encodings) with sqlite3;
# 3. starts a primary + replica with `harness up` (fast durability,
#    autovacuum off, a checkpoint before each timed step);
# 4. into three fresh databases: pgloader (Debian's package, its defaults),
#    harness migrate (verification measured separately), and psql \copy of
#    the same rows exported to CSV from the harness's result, into the same
#    schema with the same user triggers disabled (the bare COPY limit);
# 5. prints rows/s, ratios and peak memory, MET / NOT MET against the goals
#    (harness >= 0.9x the bare COPY into the same schema, verification apart;
#    peak memory < 300 MB; the pgloader ratio is shown, not gated: pgloader
#    loads its own plain schema), and keeps them in
#    reports/compare-pgloader-<stamp>/ (summary.txt, compare.json).
# The plain-tables comparison (harness init's defaults against pgloader's)
# is scripts/compare-pgloader-plain.sh; `just compare-pgloader` runs both.
set -euo pipefail

ROWS="${1:-1000000}"
# shellcheck source=scripts/compare-common.sh
source "$(dirname "$0")/compare-common.sh"
compare_setup compare-pgloader

echo "== writing a legacy file of $ROWS rows"
DB="$WORK/legacy.db"
# Shares of the rows per table (sum 1.0), the shape of a portal: a few
# companies, many audit rows.
COMPANIES=50
n() { python3 -c "print(max(1, int($ROWS * $1)))"; }
USERS=$(n 0.04); PROJECTS=$(n 0.02); APPLICANTS=$(n 0.12); APPLICATIONS=$(n 0.24)
CONTACTS=$(n 0.06)
AUDIT=$(( ROWS - COMPANIES - USERS - PROJECTS - APPLICANTS - APPLICATIONS - CONTACTS ))
cat "$ROOT/apps/portal/legacy.sql" | sed '/CREATE INDEX/d' > "$WORK/schema.sql"
sqlite3 "$DB" < "$WORK/schema.sql"
sqlite3 "$DB" <<SQL
pragma journal_mode = off; pragma synchronous = off;
begin;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $COMPANIES)
insert into companies select i, 'company-' || i, 'Company number ' || i, 'pro', 25,
  '{"theme":"dark","features":["search","export"],"limits":{"seats":25}}',
  datetime(1600000000 + i * 86400, 'unixepoch'), datetime(1650000000 + i * 3600, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $USERS)
insert into users select i, 1 + i % $COMPANIES, 'user' || i || '@example.com',
  '\$2b\$12\$' || hex(randomblob(20)), 'buyer', 'First' || i, 'Last' || i, '555-' || (1000 + i % 9000),
  i % 2, datetime(1700000000 + i, 'unixepoch'), i % 3, null,
  datetime(1600000000 + i * 60, 'unixepoch'), datetime(1600000000 + i * 61, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $PROJECTS)
insert into projects select i, 1 + i % $COMPANIES, 'Project ' || i, 'Developer ' || (i % 97), 'City ' || (i % 500),
  i || ' Main Street', 40.0 + (i % 1000) / 1000.0, -74.0 - (i % 1000) / 1000.0, 100 + i % 50, 20 + i % 20,
  '30,50,80', '["studio","1br","2br"]', 'planning', date((19000 + i % 2000) * 86400, 'unixepoch'), date((19500 + i % 100) * 86400, 'unixepoch'),
  'A housing project with affordable units and a long description ' || i,
  '["parking","gym"]', '["a.jpg","b.jpg"]', 150000.25 + i, 350000.75 + i,
  datetime(1600000000 + i * 60, 'unixepoch'), datetime(1600000000 + i * 61, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $APPLICANTS)
insert into applicants select i, 1 + i % $COMPANIES, null, 'First' || i, 'Last' || i, 'applicant' || i || '@example.com',
  '555-' || (1000 + i % 9000), date((3650 + i % 15000) * 86400, 'unixepoch'), 1 + i % 6, 30000.5 + i % 90000,
  'employed', i || ' Oak Avenue', 'Springfield,Shelbyville', '{"bedrooms":2,"accessible":false}',
  '[{"kind":"id","ok":true}]', 'notes for applicant ' || i,
  datetime(1600000000 + i * 60, 'unixepoch'), datetime(1600000000 + i * 61, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $APPLICATIONS)
insert into applications select i, 1 + i % $COMPANIES,
  (i % $COMPANIES) + $COMPANIES * (1 + (i / $COMPANIES) % max(1, $PROJECTS / $COMPANIES - 1)),
  (i % $COMPANIES) + $COMPANIES * (1 + (i / $COMPANIES / max(1, $PROJECTS / $COMPANIES - 1)) % max(1, $APPLICANTS / $COMPANIES - 1)),
  'submitted', 10 + i % 90 + 0.25, datetime(1700000000 + i, 'unixepoch'), null, null, null, null,
  '[{"file":"pay.pdf"}]', '{"step":"review","history":[1,2,3]}',
  datetime(1700000000 + i, 'unixepoch'), datetime(1700000000 + i, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $CONTACTS)
insert into contact_submissions select i, 1 + i % $COMPANIES, 'Visitor ' || i, 'visitor' || i || '@example.org',
  'Company ' || (i % 300), '555-' || (1000 + i % 9000), 'Question about project ' || (i % 1000),
  'Hello, I would like to know more about the units available in your project number ' || i || '.',
  'new', null, datetime(1650000000 + i * 7, 'unixepoch') from s;
with recursive s(i) as (select 1 union all select i + 1 from s where i < $AUDIT)
insert into audit_logs select i, 1 + i % $COMPANIES, case when i % $COMPANIES = 0 then $COMPANIES else i % $COMPANIES end + $COMPANIES * ((i / $COMPANIES) % max(1, $USERS / $COMPANIES - 1)),
  'applications', 1 + i % $APPLICATIONS, 'UPDATE', '{"status":"draft"}', '{"status":"submitted","score":' || (i % 100) || '}',
  '10.' || (i % 250) || '.' || (i / 250 % 250) || '.1', 'Mozilla/5.0 (X11; Linux x86_64)',
  datetime(1700000000 + i, 'unixepoch') from s;
commit;
SQL
sed -n '/CREATE INDEX/p' "$ROOT/apps/portal/legacy.sql" | sqlite3 "$DB"
# Applications must be unique per (company, project, applicant): drop the
# generator's rare repeats so every tool faces the same valid data.
sqlite3 "$DB" "delete from applications where rowid not in (select min(rowid) from applications group by company_id, project_id, applicant_id);"
TOTAL=$(sqlite3 "$DB" "select (select count(*) from companies)+(select count(*) from users)+(select count(*) from projects)+(select count(*) from applicants)+(select count(*) from applications)+(select count(*) from contact_submissions)+(select count(*) from audit_logs)")
SIZE=$(du -h "$DB" | cut -f1)
echo "   $TOTAL rows, $SIZE"
chmod 644 "$DB"

start_cluster via_pgloader via_harness via_copy

echo "== pgloader"
measure pgloader pgloader --on-error-stop=false "sqlite://$DB" "$BASE/via_pgloader"
PGL_ROWS=$(psql -tA "$BASE/via_pgloader" -c "select (select count(*) from companies)+(select count(*) from users)+(select count(*) from projects)+(select count(*) from applicants)+(select count(*) from applications)+(select count(*) from contact_submissions)+(select count(*) from audit_logs)" 2>/dev/null || echo 0)

echo "== harness migrate"
measure harness "$HARNESS" migrate "$DB" --url "$BASE/via_harness" --rejects "$WORK/rejects.jsonl" --json "$WORK/harness.json"
HAR_ROWS=$(python3 -c "import json; r=json.load(open('$WORK/harness.json')); print(sum(t['rows_copied'] for t in r['tables']))")
HAR_LOAD=$(python3 -c "import json; r=json.load(open('$WORK/harness.json')); print(round(r['load_seconds'], 3))")
HAR_VERIFY=$(python3 -c "import json; r=json.load(open('$WORK/harness.json')); v=r.get('verify') or {}; print(round(r['verify_seconds'], 3), 'OK' if not v.get('mismatches') and not v.get('unrecorded_rejects') else 'FAILED')")
cat "$WORK/harness.out"

echo "== bare COPY limit: the same rows as CSV, psql \\copy into the same schema"
# pg_restore's order: tables, data, then indexes/constraints/triggers (the
# fastest standard way to load this schema); the timed part is data + post-data.
pg_dump --schema-only --section=pre-data "$BASE/via_harness" | psql -q "$BASE/via_copy" > /dev/null
pg_dump --schema-only --section=post-data "$BASE/via_harness" > "$WORK/post-data.sql"
TABLES="companies users projects applicants applications contact_submissions audit_logs"
: > "$WORK/load.psql"
for t in $TABLES; do
    cols=$(psql -tA "$BASE/via_harness" -c "select string_agg(quote_ident(column_name), ',' order by ordinal_position) from information_schema.columns where table_schema='public' and table_name='$t' and is_generated='NEVER'")
    psql -q "$BASE/via_harness" -c "\\copy (select $cols from $t) to '$WORK/$t.csv' csv"
    echo "\\copy $t ($cols) from '$WORK/$t.csv' csv" >> "$WORK/load.psql"
done
echo "\\i $WORK/post-data.sql" >> "$WORK/load.psql"
measure copy psql -q -v ON_ERROR_STOP=1 -f "$WORK/load.psql" "$BASE/via_copy"
COPY_ROWS=$(psql -tA "$BASE/via_copy" -c "select (select count(*) from companies)+(select count(*) from users)+(select count(*) from projects)+(select count(*) from applicants)+(select count(*) from applications)+(select count(*) from contact_submissions)+(select count(*) from audit_logs)")

PGL_S=$(wall pgloader); HAR_S=$(wall harness); COPY_S=$(wall copy)
python3 - "$TOTAL" "$PGL_ROWS" "$PGL_S" "$(rss_mb pgloader)" "$HAR_ROWS" "$HAR_S" "$(rss_mb harness)" "$HAR_LOAD" "$COPY_ROWS" "$COPY_S" "$(rss_mb copy)" "$HAR_VERIFY" "$OUT/compare.json" <<'PY' | tee "$OUT/summary.txt"
import json, sys
total, pr, ps, pm, hr, hs, hm, hl, cr, cs, cm, hv, jpath = sys.argv[1:14]
total, pr, hr, cr = int(total), int(pr), int(hr), int(cr)
ps, hs, hl, cs = float(ps), float(hs), float(hl), float(cs)
vs = float(hv.split()[0])
load_only = hs - vs
rate = lambda rows, s: rows / s if s > 0 else 0.0
print(f"legacy rows: {total}")
print(f"{'tool':<34} {'rows':>9} {'seconds':>8} {'rows/s':>10} {'peak MB':>8}")
print(f"{'pgloader 3.6.9':<34} {pr:>9} {ps:>8.2f} {rate(pr, ps):>10.0f} {pm:>8}")
print(f"{'harness migrate (wall, + verify)':<34} {hr:>9} {hs:>8.2f} {rate(hr, hs):>10.0f} {hm:>8}")
print(f"{'harness migrate (wall - verify)':<34} {hr:>9} {load_only:>8.2f} {rate(hr, load_only):>10.0f} {'':>8}")
print(f"{'harness load phase (own clock)':<34} {hr:>9} {hl:>8.2f} {rate(hr, hl):>10.0f} {'':>8}")
label = "psql copy, same rows (CSV)"
print(f"{label:<34} {cr:>9} {cs:>8.2f} {rate(cr, cs):>10.0f} {cm:>8}")
print(f"verification: {vs:.2f}s, {hv.split()[1]}")
vs_pgl = rate(hr, load_only) / max(rate(pr, ps), 1e-9)
vs_copy = rate(hr, load_only) / max(rate(cr, cs), 1e-9)
met = lambda ok: "MET" if ok else "NOT MET"
print(f"ratio harness/bare COPY (without verify):   {vs_copy:.2f}x   (goal >= 0.9x)  {met(vs_copy >= 0.9)}")
print(f"ratio harness/bare COPY (wall incl. verify): {rate(hr, hs) / max(rate(cr, cs), 1e-9):.2f}x")
print(f"ratio harness/pgloader (without verify):    {vs_pgl:.2f}x   (no goal: pgloader loads its own plain schema)")
print(f"ratio harness/pgloader (wall incl. verify): {rate(hr, hs) / max(rate(pr, ps), 1e-9):.2f}x")
print(f"harness peak memory: {hm} MB   (goal < 300 MB)  {met(0 < int(hm or 0) < 300)}")
json.dump({
    "comparison": "portal", "legacy_rows": total,
    "pgloader": {"rows": pr, "seconds": ps, "rows_per_s": round(rate(pr, ps)), "peak_mb": int(pm or 0)},
    "harness": {"rows": hr, "seconds": hs, "seconds_without_verify": round(load_only, 3),
                "load_seconds": hl, "verify_seconds": vs, "verify": hv.split()[1],
                "rows_per_s_without_verify": round(rate(hr, load_only)), "peak_mb": int(hm or 0)},
    "bare_copy": {"rows": cr, "seconds": cs, "rows_per_s": round(rate(cr, cs)), "peak_mb": int(cm or 0)},
    "ratios": {"harness_vs_bare_copy": round(vs_copy, 3), "harness_vs_pgloader": round(vs_pgl, 3)},
    "goals": {"harness_vs_bare_copy_0_9x": vs_copy >= 0.9, "peak_memory_under_300mb": 0 < int(hm or 0) < 300},
}, open(jpath, "w"), indent=2)
PY
cp "$WORK"/*.time "$WORK/harness.json" "$WORK/harness.out" "$OUT/" 2>/dev/null || true
echo "results in $OUT"
