//! Clusters for tests, started through the harness's own cluster code.

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

/// Whether docker tests can run. They skip only when no Docker engine
/// answers (and say so); an engine without an image is a failure, because
/// `just test` builds the image first.
pub fn docker_or_skip(test: &str) -> bool {
    if !image::docker_answers() {
        eprintln!("SKIP {test}: no Docker engine answers (docker version failed)");
        return false;
    }
    assert!(
        image::pick_image().unwrap().is_some(),
        "a Docker engine answers but no PostgreSQL image is present: run `just image`"
    );
    true
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
