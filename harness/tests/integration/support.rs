//! Clusters for tests, started through the harness's own cluster code.

use std::time::{Duration, Instant};

use harness::cluster::{image, BackendKind, Cluster, ClusterConfig, Durability, Endpoint};

/// A native primary + replica with fast durability.
pub async fn native() -> Cluster {
    start(BackendKind::Native).await.expect("native cluster")
}

pub async fn start(backend: BackendKind) -> Result<Cluster, harness::cluster::ClusterError> {
    Cluster::start(&ClusterConfig {
        backend,
        durability: Durability::Fast,
        ..Default::default()
    })
    .await
}

/// Whether docker tests can run. Where Docker is required (CI, or
/// `HARNESS_REQUIRE_DOCKER=1`) a docker test that cannot run fails; on a
/// developer's machine it skips only when no Docker engine answers (and
/// says so). An engine without an image always fails, because `just test`
/// builds the image first.
pub fn docker_or_skip(test: &str) -> bool {
    let answers = image::docker_answers();
    let has_image = answers && image::pick_image().unwrap().is_some();
    match docker_verdict(answers, has_image, docker_required()) {
        Ok(run) => {
            if !run {
                eprintln!("SKIP {test}: no Docker engine answers (docker version failed)");
            }
            run
        }
        Err(why) => panic!("{test}: {why}"),
    }
}

/// Docker is required in CI (`CI` set to anything but empty, `0` or
/// `false`, as CI services set it) and wherever `HARNESS_REQUIRE_DOCKER=1`.
pub fn docker_required() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"));
    ci || std::env::var("HARNESS_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
}

/// Run (true), skip (false), or fail with what to do.
fn docker_verdict(answers: bool, has_image: bool, required: bool) -> Result<bool, String> {
    match (answers, has_image) {
        (true, true) => Ok(true),
        (true, false) => Err(
            "a Docker engine answers but no PostgreSQL image is present: run `just image`".into(),
        ),
        (false, _) if required => Err(
            "no Docker engine answers (docker version failed) and this run requires Docker (CI is set, or HARNESS_REQUIRE_DOCKER=1): start the engine; a machine without Docker runs these tests without that variable, and they skip"
                .into(),
        ),
        (false, _) => Ok(false),
    }
}

/// Where Docker is required, a docker test never passes without running.
#[test]
fn docker_tests_fail_rather_than_skip_where_docker_is_required() {
    assert_eq!(docker_verdict(true, true, true), Ok(true));
    assert_eq!(docker_verdict(true, true, false), Ok(true));
    assert!(docker_verdict(true, false, false).is_err());
    assert!(docker_verdict(false, false, true)
        .unwrap_err()
        .contains("HARNESS_REQUIRE_DOCKER"));
    assert_eq!(docker_verdict(false, false, false), Ok(false));
}

/// A fresh, empty database `name` on the cluster's primary (dropped first
/// if a previous run left it): its endpoint.
pub async fn fresh_db(c: &Cluster, name: &str) -> Endpoint {
    let mut admin = c.primary().connect().await.unwrap();
    for sql in [
        format!("drop database if exists {name} with (force)"),
        format!("create database {name}"),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    c.primary().with_database(name)
}

/// Every mapped legacy row of `file`, by (table, legacy key), converted by
/// the app's rules: its values, or why a rule refused it.
pub fn converted_rows(
    app: &harness::app::App,
    file: &std::path::Path,
) -> std::collections::BTreeMap<
    (String, i64),
    Result<Vec<harness::migrate::convert::Val>, harness::migrate::convert::Reject>,
> {
    use harness::migrate::convert::{Plan, Raw};
    let db = rusqlite::Connection::open(file).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for plan in Plan::all(app) {
        let sql = harness::migrate::source::select_sql(&plan, None);
        let mut stmt = db.prepare(&sql).unwrap();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            let raws: Vec<Raw> = (0..plan.legacy_width())
                .map(|i| Raw::from_ref(r.get_ref(i).unwrap()))
                .collect();
            let key = match &raws[plan.positions[plan.key_col][0]] {
                Raw::Int(i) => *i,
                other => panic!("{}: a non-integer key {other:?}", plan.name()),
            };
            let v = plan.convert(&raws).map(|row| row.vals).map_err(|(_, r)| r);
            out.insert((plan.name().to_string(), key), v);
        }
    }
    out
}

/// Everything the run of `pid` could have left: processes whose command
/// line names its run directories, the directories, containers, networks.
/// Looked for again until `grace` has passed, for teardown that ends
/// after the process (a server's last children exit after the postmaster).
pub fn leftovers(pid: u32, grace: Duration) -> Vec<String> {
    let tag = format!("harness-{pid}-");
    let mut found = Vec::new();
    let deadline = Instant::now() + grace;
    loop {
        found.clear();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
                continue;
            };
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(&tag) {
                found.push(format!(
                    "process {}: {cmd}",
                    e.file_name().to_string_lossy()
                ));
            }
        }
        for e in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with(&tag) {
                found.push(format!("directory {}", e.path().display()));
            }
        }
        if image::docker_answers() {
            let ps = image::docker_cli(&[
                "ps",
                "-a",
                "--format",
                "{{.Names}}",
                "--filter",
                &format!("label=harness.owner_pid={pid}"),
            ])
            .unwrap_or_default();
            found.extend(ps.lines().map(|c| format!("container {c}")));
            let nets = image::docker_cli(&[
                "network",
                "ls",
                "--format",
                "{{.Name}}",
                "--filter",
                &format!("name={tag}"),
            ])
            .unwrap_or_default();
            found.extend(nets.lines().map(|n| format!("network {n}")));
        }
        if found.is_empty() || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Everything the migrations create in schema `public` that must come
/// back the same after "up, down, up", and that a load (which drops and
/// rebuilds keys and indexes, and disables user triggers) must leave as it
/// found it: tables (with RLS flags, owner and grants), columns (type,
/// nullability, default, generated expression), constraints, indexes,
/// policies, triggers (and whether they are enabled), functions, views,
/// sequences, schema and default privileges, and the attributes of the
/// reference app's roles. Oids and sqlx's bookkeeping rows are left out:
/// they change on every run by design.
const CATALOG: &str = r#"
with rel as (
    select c.oid, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.relowner, c.relacl
    from pg_class c where c.relnamespace = 'public'::regnamespace
)
select line from (
    select format('relation %s kind=%s rls=%s force=%s owner=%s acl=%s', relname, relkind,
                  relrowsecurity, relforcerowsecurity, pg_get_userbyid(relowner), coalesce(relacl::text, '-')) as line
    from rel
  union all
    select format('column %s.%s #%s %s notnull=%s default=%s generated=%s acl=%s', r.relname, a.attname, a.attnum,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  coalesce(pg_get_expr(d.adbin, d.adrelid), '-'), a.attgenerated, coalesce(a.attacl::text, '-'))
    from rel r join pg_attribute a on a.attrelid = r.oid
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attnum > 0 and not a.attisdropped
  union all
    select format('constraint %s.%s %s', r.relname, k.conname, pg_get_constraintdef(k.oid))
    from rel r join pg_constraint k on k.conrelid = r.oid
  union all
    select format('index %s', pg_get_indexdef(i.indexrelid))
    from rel r join pg_index i on i.indrelid = r.oid
  union all
    select format('policy %s.%s %s %s roles=%s using=%s check=%s', tablename, policyname, permissive, cmd,
                  roles::text, coalesce(qual, '-'), coalesce(with_check, '-'))
    from pg_policies where schemaname = 'public'
  union all
    select format('trigger %s enabled=%s', pg_get_triggerdef(t.oid), t.tgenabled)
    from rel r join pg_trigger t on t.tgrelid = r.oid where not t.tgisinternal
  union all
    select format('function %s owner=%s acl=%s secdef=%s config=%s', pg_get_functiondef(p.oid),
                  pg_get_userbyid(p.proowner), coalesce(p.proacl::text, '-'), p.prosecdef, coalesce(p.proconfig::text, '-'))
    from pg_proc p where p.pronamespace = 'public'::regnamespace
  union all
    select format('view %s %s', r.relname, pg_get_viewdef(r.oid)) from rel r where r.relkind in ('v', 'm')
  union all
    select format('type %s %s', t.typname, t.typtype) from pg_type t
    where t.typnamespace = 'public'::regnamespace and t.typtype not in ('b', 'c')
  union all
    select format('schema public owner=%s acl=%s', pg_get_userbyid(nspowner), coalesce(nspacl::text, '-'))
    from pg_namespace where nspname = 'public'
  union all
    select format('default acl %s %s %s', pg_get_userbyid(defaclrole), defaclobjtype, defaclacl::text) from pg_default_acl
  union all
    select format('role %s super=%s login=%s bypassrls=%s inherit=%s', rolname, rolsuper, rolcanlogin, rolbypassrls, rolinherit)
    from pg_roles where rolname like 'portal%'
) lines
where line not like '%_sqlx_migrations%'
order by line
"#;

pub async fn catalog<'e>(db: impl sqlx::PgExecutor<'e>) -> Vec<String> {
    sqlx::query_scalar(CATALOG)
        .fetch_all(db)
        .await
        .expect("catalog query")
}
