//! The reference app's PostgreSQL schema and the COPY writer on a real
//! cluster: migrations up, down, up leave the catalog identical; a COPY seed
//! loads every row, consistent with the SQLite seed of the same spec; a
//! failed or killed COPY seed leaves no partial data and the next completes.

use fixtures::generate::Spec;
use fixtures::schema::{Table, MIGRATOR};
use fixtures::write::{postgres::write_postgres, sqlite::write_sqlite, WriteError};
use harness::cluster::Cluster;
use sqlx::{PgConnection, PgPool};

use super::support;

/// Everything the migrations create that a test of "up, down, up" must see
/// come back the same: tables (with RLS flags, owner and grants), columns
/// (type, nullability, default, generated expression), constraints,
/// indexes, policies, triggers, functions, views, sequences, schema and
/// default privileges, and the app roles' attributes. Oids and sqlx's
/// bookkeeping rows are left out: they change on every run by design.
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
    select format('trigger %s', pg_get_triggerdef(t.oid))
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

async fn catalog(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(CATALOG)
        .fetch_all(pool)
        .await
        .expect("catalog query")
}

async fn fresh_database(cluster: &Cluster, name: &str) -> PgConnection {
    let mut admin = cluster.primary().connect().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    cluster
        .primary()
        .with_database(name)
        .connect()
        .await
        .unwrap()
}

/// Done when 3: up, down, up leaves the catalog identical; down really
/// removes every table (so the comparison can fail).
#[tokio::test]
async fn migrations_up_down_up_leave_the_catalog_identical() {
    let cluster = support::native().await;
    drop(fresh_database(&cluster, "seed_catalog").await);
    let pool = cluster
        .primary()
        .with_database("seed_catalog")
        .pool(2)
        .await
        .unwrap();
    let before = catalog(&pool).await;

    MIGRATOR.run(&pool).await.expect("up");
    let first = catalog(&pool).await;
    for t in Table::ALL {
        let line = format!("relation {} kind=r ", t.name());
        assert!(
            first.iter().any(|l| l.starts_with(&line)),
            "no table {t} after up"
        );
    }
    assert!(first
        .iter()
        .any(|l| l.contains("users_company_email_key") && l.contains("lower((email)::text)")));
    assert!(first
        .iter()
        .any(|l| l
            .contains("FOREIGN KEY (company_id, project_id) REFERENCES projects(company_id, id)")));

    MIGRATOR.undo(&pool, 0).await.expect("down");
    let after_down = catalog(&pool).await;
    let tables: Vec<&String> = after_down
        .iter()
        .filter(|l| l.starts_with("relation "))
        .collect();
    assert!(tables.is_empty(), "down left relations behind: {tables:?}");
    // Roles are cluster-wide and may be kept; everything else is gone.
    let left: Vec<&String> = after_down
        .iter()
        .filter(|l| !before.contains(l) && !l.starts_with("role "))
        .collect();
    assert!(left.is_empty(), "down left objects behind: {left:?}");

    MIGRATOR.run(&pool).await.expect("up again");
    let second = catalog(&pool).await;
    let only_first: Vec<&String> = first.iter().filter(|l| !second.contains(l)).collect();
    let only_second: Vec<&String> = second.iter().filter(|l| !first.contains(l)).collect();
    assert!(
        only_first.is_empty() && only_second.is_empty(),
        "catalog differs after up/down/up:\n only after the first up: {only_first:#?}\n only after the second: {only_second:#?}"
    );
    pool.close().await;
    cluster.shutdown().await.unwrap();
}

/// A fresh database with the schema applied, ready for a COPY seed.
struct Seedable {
    conn: PgConnection,
    pool: PgPool,
    /// [`CATALOG`] before any seed.
    schema_before: Vec<String>,
    target: sqlx::postgres::PgConnectOptions,
}

async fn seedable(cluster: &Cluster, name: &str) -> Seedable {
    let mut conn = fresh_database(cluster, name).await;
    MIGRATOR.run(&mut conn).await.unwrap();
    let endpoint = cluster.primary().with_database(name);
    let pool = endpoint.pool(1).await.unwrap();
    let schema_before = catalog(&pool).await;
    Seedable {
        conn,
        pool,
        schema_before,
        target: endpoint.connect_options(),
    }
}

/// Rows in each app table, in `Table::ALL` order.
async fn table_counts(conn: &mut PgConnection) -> Vec<i64> {
    let mut out = Vec::new();
    for t in Table::ALL {
        out.push(
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {t}")))
                .fetch_one(&mut *conn)
                .await
                .unwrap(),
        );
    }
    out
}

async fn has_seed_record(conn: &mut PgConnection) -> bool {
    sqlx::query_scalar("select to_regnamespace('harness_seed') is not null")
        .fetch_one(conn)
        .await
        .unwrap()
}

/// The parallel COPY seed commits table by table, so a seed that fails or
/// is killed midway must not leave partial tables or missing foreign keys:
/// a failure cleans up before it returns; a killed seed leaves its record
/// and the next seed cleans up first, then loads everything.
#[tokio::test]
async fn a_failed_or_killed_seed_leaves_no_partial_data_and_the_next_one_completes() {
    let cluster = support::native().await;
    let Seedable {
        mut conn,
        pool,
        schema_before,
        target,
    } = seedable(&cluster, "seed_fail").await;
    let spec = Spec {
        tenants: 8,
        scale: 0.4,
        seed: 3,
        edge_rate: 0.0,
    };
    let planned: Vec<i64> = fixtures::generate::Plan::new(&spec)
        .unwrap()
        .totals
        .iter()
        .map(|&n| n as i64)
        .collect();

    // 1. A failure midway: contact_submissions refuses every row (a CHECK
    //    stays on during the load); the tables loaded before it are emptied.
    sqlx::raw_sql(
        "alter table contact_submissions add constraint refuse_all check (false) not valid",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = write_postgres(&spec, &target, 2, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("contact_submissions"), "{err}");
    assert_eq!(
        table_counts(&mut conn).await,
        vec![0; 7],
        "partial data left"
    );
    assert!(!has_seed_record(&mut conn).await);
    sqlx::raw_sql("alter table contact_submissions drop constraint refuse_all")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(schema_before, catalog(&pool).await, "keys not restored");

    // 2. A seed that dies (its future dropped: the connections close, as
    //    when the process is killed) once some table has committed.
    let watch = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while table_counts(&mut conn).await.iter().all(|&n| n == 0) {
            assert!(
                std::time::Instant::now() < deadline,
                "no table ever committed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    let mut quiet = |_| {};
    tokio::select! {
        done = write_postgres(&spec, &target, 2, &mut quiet) => {
            panic!("the seed ended before it could be killed: {:?}", done.map(|s| s.total_rows))
        }
        () = watch => {}
    }
    let counts = table_counts(&mut conn).await;
    assert!(
        counts != planned && counts.iter().any(|&n| n > 0),
        "the kill should land midway: {counts:?} of {planned:?}"
    );
    assert!(
        has_seed_record(&mut conn).await,
        "the killed seed left no record"
    );

    // 3. The next seed cleans up, then loads every planned row once.
    let summary = write_postgres(&spec, &target, 2, &mut |_| {})
        .await
        .expect("the seed after a killed one");
    assert_eq!(table_counts(&mut conn).await, planned);
    assert_eq!(summary.total_rows as i64, planned.iter().sum::<i64>());
    assert!(!has_seed_record(&mut conn).await);
    assert_eq!(
        schema_before,
        catalog(&pool).await,
        "schema after the re-seed"
    );
    pool.close().await;
    drop(conn);
    cluster.shutdown().await.unwrap();
}

/// The COPY writer applies the schema, loads every planned row (the
/// composite keys and CHECKs accept all of them), matches the SQLite seed of
/// the same spec, makes full-text search find real words, and refuses a
/// second seed and edge-case values.
#[tokio::test]
async fn copy_seed_loads_every_row_and_matches_the_sqlite_seed() {
    let cluster = support::native().await;
    let Seedable {
        mut conn,
        pool,
        schema_before,
        target,
    } = seedable(&cluster, "seed_copy").await;
    let spec = Spec {
        tenants: 6,
        scale: 0.1,
        seed: 9,
        edge_rate: 0.0,
    };
    let mut calls = 0u64;
    let summary = write_postgres(&spec, &target, 2, &mut |_| calls += 1)
        .await
        .expect("COPY seed");
    // The keys and indexes dropped for the load came back exactly.
    assert_eq!(
        schema_before,
        catalog(&pool).await,
        "the seed changed the schema"
    );
    pool.close().await;
    assert!(calls > 0, "progress was never reported");
    for (table, n) in &summary.rows {
        let got: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("select count(*) from {table}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(got as u64, *n, "{table}");
    }
    assert!(
        summary.total_rows > 5_000 && summary.stored_bytes > 0,
        "{summary:?}"
    );

    // Same spec into SQLite, then through the (independently verified)
    // migration into a second database: every column of every row must be
    // what the COPY seed wrote, so the seed's own value encoding (binary
    // COPY) cannot drift from the migration's.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legacy.db");
    write_sqlite(&spec, &db, &mut |_| {}).unwrap();
    drop(fresh_database(&cluster, "seed_copy_migrated").await);
    let migrated_db = cluster.primary().with_database("seed_copy_migrated");
    let report = harness::migrate::migrate(
        &harness::reference::app(None).unwrap(),
        &db,
        &migrated_db.connect_options(),
        &harness::migrate::MigrateOptions {
            on_error: harness::migrate::OnError::Stop,
            reject_path: dir.path().join("rejects.jsonl"),
            progress: false,
            verify: true,
            integrity_check: true,
        },
    )
    .await
    .expect("migrating the SQLite seed");
    assert_eq!(report.rejects, 0);
    let mut migrated = migrated_db.connect().await.unwrap();
    for t in Table::ALL {
        // Every column, generated ones included, row by row in key order.
        let digest = format!(
            "select count(*), md5(coalesce(string_agg(x::text, E'\\n' order by x.id), '')) from {t} x"
        );
        let seeded: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(digest.clone()))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let via_migration: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(digest))
            .fetch_one(&mut migrated)
            .await
            .unwrap();
        assert!(seeded.0 > 0, "{t}: nothing seeded");
        if seeded != via_migration {
            let first_diff = format!("select x::text from {t} x order by x.id");
            let a: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(first_diff.clone()))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            let b: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(first_diff))
                .fetch_all(&mut migrated)
                .await
                .unwrap();
            assert_eq!(a.len(), b.len(), "{t}: row counts differ");
            let (x, y) = a
                .iter()
                .zip(&b)
                .find(|(x, y)| x != y)
                .expect("same rows but different digests");
            panic!("{t}: the COPY seed and the migrated SQLite seed differ:\n seed:      {x}\n migrated:  {y}");
        }
    }
    drop(migrated);

    let found: i64 = sqlx::query_scalar(
        "select count(*) from projects where search_vector @@ plainto_tsquery('english', 'affordable housing')",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(found > 0, "full-text search finds no affordable housing");
    let cross: i64 = sqlx::query_scalar(
        "select count(*) from applications a join projects p on p.id = a.project_id where p.company_id <> a.company_id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(cross, 0);

    let again = write_postgres(&spec, &target, 2, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(again, WriteError::NotEmpty { .. }), "{again}");
    let edge = write_postgres(
        &Spec {
            edge_rate: 0.1,
            ..spec
        },
        &target,
        2,
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(edge, WriteError::EdgeCasesNeedSqlite), "{edge}");
    drop(conn);
    cluster.shutdown().await.unwrap();
}
