//! The data a load run reads: the `portal` database with the reference
//! app's schema (its folder's migrations, `apps/portal/migrations`, built in
//! as `fixtures::schema::MIGRATOR`: tables, roles, policies),
//! tenant-skewed rows, and the [`Catalog`] of tenants users are drawn from.
//!
//! Rows take the path the app's own data takes: the project's generator
//! (`fixtures::generate`, tenant-skewed) writes a legacy SQLite file, and
//! the harness's migration (`crate::migrate`, COPY as the migration role,
//! digests verified on both sides) moves it into PostgreSQL. So a load run
//! reads data that went through the migration it is meant to de-risk, and
//! a migration that rejects or changes a row fails the run before any user
//! starts. A `--skip-data` run instead targets a database that is already
//! filled.
//!
//! The catalog is read as the superuser (it spans tenants); every load
//! query afterwards runs as the app role.

use std::collections::BTreeMap;
use std::time::Duration;

use fixtures::generate::Spec;
use scenarios::{Catalog, TenantSample};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use crate::cluster::{Cluster, ClusterError, Endpoint};

/// What browsing users type into the project search: plain words a
/// housing portal's visitors search for, which the generator's English
/// vocabulary (`fixtures`' project names and descriptions) also uses, so
/// searches find rows and rank them, as in production.
pub const SEARCH_TERMS: [&str; 14] = [
    "affordable",
    "senior",
    "family",
    "housing",
    "apartments",
    "homes",
    "community",
    "downtown",
    "accessible",
    "green",
    "modern",
    "veteran",
    "student",
    "rentals",
];

/// [`SEARCH_TERMS`] as owned strings.
pub fn search_terms() -> Vec<String> {
    SEARCH_TERMS.iter().map(|w| w.to_string()).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("preparing the load database {database}: {step}: {source}\n  hint: the schema comes from apps/portal/migrations; run `harness clean` if an old run left a half-built database")]
    Sql {
        database: String,
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the load database {database}: {source}")]
    Migrate {
        database: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("seeding the load database {database}: {source}")]
    Seed {
        database: String,
        #[source]
        source: Box<fixtures::write::WriteError>,
    },
    #[error("migrating the generated legacy file into {database}: {why}")]
    Migration { database: String, why: String },
    #[error("the database {0} has no tenant that can host load users (no companies with projects and applicants); seed it first or drop --skip-data")]
    Empty(String),
}

fn sql<'a>(database: &'a str, step: &'static str) -> impl FnOnce(sqlx::Error) -> DataError + 'a {
    move |source| DataError::Sql {
        database: database.to_string(),
        step,
        source,
    }
}

/// Make sure `database` exists on the cluster's primary (harness-started
/// clusters only: an external target is never created or dropped).
pub async fn ensure_database(primary: &Endpoint, database: &str) -> Result<(), DataError> {
    let mut c = primary.with_database("postgres").connect().await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut c)
            .await
            .map_err(sql(database, "look for the database"))?;
    if !exists {
        let stmt: String = sqlx::query_scalar("select format('create database %I', $1::text)")
            .bind(database)
            .fetch_one(&mut c)
            .await
            .map_err(sql(database, "quote the name"))?;
        sqlx::query(AssertSqlSafe(stmt))
            .execute(&mut c)
            .await
            .map_err(sql(database, "create database"))?;
    }
    Ok(())
}

/// Schema (all migrations) and, when the database has no companies yet,
/// the generator's rows for `spec`. Returns the number of rows written (0
/// when the data was already there).
pub async fn prepare(cluster: &Cluster, database: &str, spec: &Spec) -> Result<u64, DataError> {
    let primary = cluster.primary().with_database(database);
    ensure_database(cluster.primary(), database).await?;
    let pool = primary.pool(2).await?;
    fixtures::schema::MIGRATOR
        .run(&pool)
        .await
        .map_err(|source| DataError::Migrate {
            database: database.to_string(),
            source,
        })?;
    pool.close().await;
    let mut c = primary.connect().await?;
    let have: i64 = sqlx::query_scalar("select count(*) from companies")
        .fetch_one(&mut c)
        .await
        .map_err(sql(database, "count companies"))?;
    let mut rows = 0;
    if have == 0 {
        // The migration analyzes each table it loads.
        rows = generate_and_migrate(&primary, database, spec).await?;
    }
    // The replica must hold the data before reads are routed to it.
    if cluster.replica().is_some() {
        let lsn = cluster.current_lsn().await?;
        cluster
            .wait_for_replay(&lsn, Duration::from_secs(120))
            .await?;
    }
    Ok(rows)
}

/// Write `spec`'s rows to a legacy SQLite file in a temporary directory and
/// migrate it into `primary` with verification. Any rejected row or digest
/// mismatch is an error: a load on data the migration could not carry
/// would measure something else.
async fn generate_and_migrate(
    primary: &Endpoint,
    database: &str,
    spec: &Spec,
) -> Result<u64, DataError> {
    let fail = |why: String| DataError::Migration {
        database: database.to_string(),
        why,
    };
    let dir = tempfile::Builder::new()
        .prefix("harness-load-legacy-")
        .tempdir()
        .map_err(|e| fail(format!("creating a temporary directory: {e}")))?;
    let legacy = dir.path().join("legacy.db");
    let (spec2, path2) = (*spec, legacy.clone());
    tokio::task::spawn_blocking(move || {
        fixtures::write::sqlite::write_sqlite(&spec2, &path2, &mut |_| {})
    })
    .await
    .map_err(|e| fail(format!("the SQLite writer panicked: {e}")))?
    .map_err(|source| DataError::Seed {
        database: database.to_string(),
        source: Box::new(source),
    })?;
    let opts = crate::migrate::MigrateOptions {
        reject_path: dir.path().join("rejects.jsonl"),
        progress: false,
        ..Default::default()
    };
    // The load runs the reference app until workloads come from app folders.
    let app = crate::reference::app(None).map_err(|e| fail(e.to_string()))?;
    let report = crate::migrate::copy::migrate(&app, &legacy, &primary.connect_options(), &opts)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if report.exit_code() != 0 {
        return Err(fail(format!(
            "{} rejected rows, stopped: {}, verification: {}",
            report.rejects,
            report.stopped.as_deref().unwrap_or("no"),
            match &report.verify {
                Some(v) if v.ok() => "ok",
                Some(_) => "MISMATCH",
                None => "not run",
            }
        )));
    }
    eprintln!(
        "harness: migrated {} rows from a generated legacy SQLite file in {:.1} s, verified in {:.1} s",
        report.rows_copied(),
        report.load_seconds,
        report.verify_seconds
    );
    Ok(report.rows_copied())
}

/// Read every tenant with samples of its rows (as the superuser).
pub async fn catalog(primary: &Endpoint, database: &str) -> Result<Catalog, DataError> {
    let mut c = primary.with_database(database).connect().await?;
    let q = |step: &'static str| sql(database, step);
    let mut tenants: BTreeMap<Uuid, TenantSample> = BTreeMap::new();
    let terms = search_terms();
    let rows = sqlx::query(
        "select c.id,
                (select count(*) from projects p where p.company_id = c.id)
              + (select count(*) from applicants a where a.company_id = c.id) as size
         from companies c order by c.id",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("tenants"))?;
    for r in rows {
        let id: Uuid = r.get(0);
        let size: i64 = r.get(1);
        tenants.insert(
            id,
            TenantSample {
                company_id: id,
                size: size.max(0) as u64,
                search_terms: terms.clone(),
                ..Default::default()
            },
        );
    }
    // Samples: a bounded number per tenant so 10k users over a big catalog
    // stay well under the memory budget.
    let projects = sqlx::query(
        "select company_id, id, location from (
           select company_id, id, location, row_number() over (partition by company_id order by id) n from projects) x
         where n <= 200",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("projects"))?;
    for r in projects {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            t.projects.push(r.get(1));
            if let Some(loc) = r.get::<Option<String>, _>(2) {
                if !t.locations.contains(&loc) {
                    t.locations.push(loc);
                }
            }
        }
    }
    let applicants = sqlx::query(
        "select company_id, id, user_id, first_name || ' ' || last_name from (
           select company_id, id, user_id, first_name, last_name, row_number() over (partition by company_id order by id) n
           from applicants) x
         where n <= 500",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("applicants"))?;
    for r in applicants {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            t.applicants.push((r.get(1), r.get(2)));
            let name: String = r.get(3);
            if t.applicant_names.len() < 50 && !t.applicant_names.contains(&name) {
                t.applicant_names.push(name);
            }
        }
    }
    let staff = sqlx::query(
        "select company_id, id, role from (
           select company_id, id, role, row_number() over (partition by company_id, role order by id) n
           from users where role <> 'applicant') x
         where n <= 50",
    )
    .fetch_all(&mut c)
    .await
    .map_err(q("staff"))?;
    for r in staff {
        if let Some(t) = tenants.get_mut(&r.get::<Uuid, _>(0)) {
            let role: String = r.get(2);
            if role == "admin" {
                t.admins.push(r.get(1));
            } else {
                t.staff.push(r.get(1));
            }
        }
    }
    let catalog = Catalog::new(
        tenants
            .into_values()
            .filter(|t| !t.projects.is_empty() && !t.applicants.is_empty())
            .collect(),
    );
    if catalog.is_empty() {
        return Err(DataError::Empty(database.to_string()));
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms_are_words_the_generator_writes() {
        let t = search_terms();
        assert!(t.iter().any(|w| w == "affordable") && t.iter().any(|w| w == "housing"));
        assert!(t
            .iter()
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
    }
}
