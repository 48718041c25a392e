//! The reference app's PostgreSQL schema and `harness seed --postgres` on a
//! real cluster: migrations up, down, up leave the catalog identical; the
//! seed loads every row through the migration, consistent with the SQLite
//! seed of the same spec. (A killed load is the migration's: see
//! migrate.rs, `sigkill_midway_then_rerun_ends_correct`.)

use fixtures::generate::Spec;
use fixtures::schema::{Table, MIGRATOR};
use fixtures::write::sqlite::write_sqlite;
use harness::cluster::Cluster;
use sqlx::PgConnection;

use super::support;

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
    let before = support::catalog(&pool).await;

    MIGRATOR.run(&pool).await.expect("up");
    let first = support::catalog(&pool).await;
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
    let after_down = support::catalog(&pool).await;
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
    let second = support::catalog(&pool).await;
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

fn seed_cmd(url: &str, database: &str, seed: u64) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_harness"));
    c.args([
        "seed",
        "--postgres",
        "--backend",
        "external",
        "--primary-url",
        url,
    ])
    .args(["--disposable", "--database", database])
    .args([
        "--tenants",
        "6",
        "--scale",
        "0.1",
        "--seed",
        &seed.to_string(),
    ]);
    c
}

/// `harness seed --postgres` takes the migration's path (the one bulk
/// loader): the reference app's generator writes a legacy file, the
/// migration moves it with indexes dropped and rebuilt, and every row
/// arrives (digests verified); the schema comes back exactly as the
/// migrations made it; search finds real words; no row crosses a tenant;
/// a second seed into the same database is refused and changes nothing.
#[tokio::test]
async fn the_postgres_seed_goes_through_the_migration_and_loads_every_row() {
    let cluster = support::native().await;
    let name = "seed_copy";
    let mut conn = fresh_database(&cluster, name).await;
    MIGRATOR.run(&mut conn).await.unwrap();
    let endpoint = cluster.primary().with_database(name);
    let pool = endpoint.pool(1).await.unwrap();
    let schema_before = support::catalog(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("seed.json");
    let out = seed_cmd(&cluster.primary().url(), name, 9)
        .arg("--verify")
        .arg("--json")
        .arg(&json)
        .arg("--rejects")
        .arg(dir.path().join("rejects.jsonl"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    // One line per phase off a terminal, with rows/s.
    assert!(
        text.contains("harness: generate:") && text.contains("harness: load:"),
        "{text}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["rejected"], 0, "{report}");
    // The keys and indexes dropped for the load came back exactly.
    assert_eq!(
        schema_before,
        support::catalog(&pool).await,
        "the seed changed the schema"
    );

    // The same spec into SQLite: the tables hold what the file holds.
    let legacy = dir.path().join("legacy.db");
    let spec = Spec {
        tenants: 6,
        scale: 0.1,
        seed: 9,
        edge_rate: 0.0,
    };
    let sqlite = write_sqlite(&spec, &legacy, &mut |_| {}).unwrap();
    let counts = table_counts(&mut conn).await;
    let want: Vec<i64> = Table::ALL
        .iter()
        .map(|t| {
            sqlite
                .rows
                .iter()
                .find(|(n, _)| n == &t.to_string())
                .map_or(-1, |(_, r)| *r as i64)
        })
        .collect();
    assert_eq!(counts, want);
    assert!(counts.iter().sum::<i64>() > 5_000, "{counts:?}");

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

    // Other data into the same database: refused as bad input, nothing
    // changed. (The same seed again is the same file: the migration finds
    // it done and moves nothing.)
    let again = seed_cmd(&cluster.primary().url(), name, 10)
        .arg("--rejects")
        .arg(dir.path().join("rejects2.jsonl"))
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(harness::exit_codes::BAD_INPUT),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(table_counts(&mut conn).await, counts);
    pool.close().await;
    drop(conn);
    cluster.shutdown().await.unwrap();
}

/// `harness seed --app X --sqlite FILE` from the command line: the same
/// seed gives the same bytes, the summary prints the tenant skew and a
/// line per phase; an existing file and a broken data.toml are bad input
/// (exit 4) with the fix named.
#[test]
fn seeding_any_folder_into_sqlite_from_the_command_line() {
    let journal = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../apps/journal");
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&std::ffi::OsStr]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_harness"))
            .arg("seed")
            .args(args)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    for f in [&a, &b] {
        let (code, text) = run(&[
            "--app".as_ref(),
            journal.as_os_str(),
            "--sqlite".as_ref(),
            f.as_os_str(),
            "--tenants".as_ref(),
            "30".as_ref(),
            "--seed".as_ref(),
            "4".as_ref(),
        ]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("harness: generate:") && text.contains("rows/s"),
            "{text}"
        );
        assert!(text.contains("tenant sizes: largest"), "{text}");
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // The file exists: refused, unchanged.
    let (code, text) = run(&[
        "--app".as_ref(),
        journal.as_os_str(),
        "--sqlite".as_ref(),
        a.as_os_str(),
    ]);
    assert_eq!(code, Some(harness::exit_codes::BAD_INPUT), "{text}");
    assert!(text.contains("--force"), "{text}");
    // A data.toml naming a column the table lacks.
    let broken = dir.path().join("broken");
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    };
    copy(&journal, &broken);
    copy(&journal.join("migrations"), &broken.join("migrations"));
    let toml = std::fs::read_to_string(broken.join("data.toml")).unwrap();
    std::fs::write(
        broken.join("data.toml"),
        toml.replace("mood_score = {", "mood_scor = {"),
    )
    .unwrap();
    let c = dir.path().join("c.db");
    let (code, text) = run(&[
        "--app".as_ref(),
        broken.as_os_str(),
        "--sqlite".as_ref(),
        c.as_os_str(),
    ]);
    assert_eq!(code, Some(harness::exit_codes::BAD_INPUT), "{text}");
    assert!(
        text.contains("mood_scor") && text.contains("mood_score"),
        "{text}"
    );
}
