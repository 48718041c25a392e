//! The data a load run reads, for any app folder: the database, the app's
//! schema migrations, rows, and what the workload needs to start.
//!
//! Rows take the path the app's own data takes: a legacy SQLite file is
//! migrated into PostgreSQL by the harness's migration (`crate::migrate`,
//! COPY as the owner role, digests verified on both sides), so a load run
//! reads data that went through the migration it is meant to de-risk, and a
//! migration that rejects or changes a row fails the run before any user
//! starts. The file is, in this order of preference ([`DataSource`]):
//!
//! 1. `--from FILE`: the team's own legacy file;
//! 2. the folder's `data.sql`: a sample file built from the folder alone
//!    ([`crate::app::sample`]), with `--tenants`/`--scale`/the seed as its
//!    parameters;
//! 3. for the reference app only, the project's own generator
//!    (`fixtures::generate`, tenant-skewed).
//!
//! A database whose tenants query (`tenants` of `workload.toml`) already
//! returns rows is used as it is, as is any database under `--skip-data`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fixtures::generate::Spec;
use scenarios::Workload;
use sqlx::AssertSqlSafe;

use crate::app::{sample, App, AppError};
use crate::cluster::{Cluster, ClusterError, Endpoint};

/// Where the rows of a load run come from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// A legacy SQLite file to migrate (`--from`).
    File(PathBuf),
    /// The app folder's `data.toml`.
    Toml,
    /// The app folder's `data.sql`.
    Sample,
    /// The reference app's generator.
    Generator,
}

impl DataSource {
    /// `from` if given, else the folder's `data.sql`, else (the reference
    /// app only) the generator; `None` when the folder has nothing to load.
    pub fn choose(app: &App, from: Option<PathBuf>) -> Option<DataSource> {
        match from {
            Some(f) => Some(DataSource::File(f)),
            None if app.data_toml.is_some() => Some(DataSource::Toml),
            None if sample::available(app) => Some(DataSource::Sample),
            None if is_reference(app) => Some(DataSource::Generator),
            None => None,
        }
    }

    /// The legacy file: a `File` as it is; a sample (`data.sql` with
    /// `spec`'s tenants, seed and scale rounded to a whole multiplier, at
    /// least 1) or the generator's file written to `path`, which must not
    /// exist yet.
    pub async fn legacy_file(
        &self,
        app: &App,
        spec: &Spec,
        path: &Path,
    ) -> Result<PathBuf, SourceError> {
        let path = path.to_path_buf();
        match self {
            DataSource::File(f) => Ok(f.clone()),
            DataSource::Toml => {
                let data = app.data_toml.clone().ok_or_else(|| {
                    SourceError::Panicked("data.toml vanished from the folder".into())
                })?;
                // Hard values as the folder asks (`[hard] rate`, 0 unless
                // said): rows the mapping refuses are left out and counted.
                let params = crate::data::Params {
                    tenants: spec.tenants,
                    scale: spec.scale,
                    seed: spec.seed,
                    hard_rate: data.hard.rate,
                };
                let (app, p2) = (app.clone(), path.clone());
                tokio::task::spawn_blocking(move || {
                    crate::data::write_sqlite(&app, &data, &params, &p2, &mut |_, _| {})
                })
                .await
                .map_err(|e| SourceError::Panicked(e.to_string()))??;
                Ok(path)
            }
            DataSource::Sample => {
                let params = sample::SampleParams {
                    scale: spec.scale.round().max(1.0).min(u32::MAX as f64) as u32,
                    tenants: spec.tenants,
                    seed: spec.seed,
                };
                let (app, p2) = (app.clone(), path.clone());
                tokio::task::spawn_blocking(move || sample::build(&app, &params, &p2))
                    .await
                    .map_err(|e| SourceError::Panicked(e.to_string()))??;
                Ok(path)
            }
            DataSource::Generator => {
                let (spec2, p2) = (*spec, path.clone());
                tokio::task::spawn_blocking(move || {
                    fixtures::write::sqlite::write_sqlite(&spec2, &p2, &mut |_| {})
                })
                .await
                .map_err(|e| SourceError::Panicked(e.to_string()))??;
                Ok(path)
            }
        }
    }

    /// In words, for the summary line of a run.
    pub fn describe(&self) -> String {
        match self {
            DataSource::File(f) => f.display().to_string(),
            DataSource::Toml => "made from data.toml".into(),
            DataSource::Sample => "built from data.sql".into(),
            DataSource::Generator => "written by the generator".into(),
        }
    }
}

/// Why a legacy file could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The folder's legacy.sql or data.sql: the user's input.
    #[error(transparent)]
    Sample(#[from] AppError),
    #[error("making the file from data.toml: {0}")]
    Data(#[from] crate::data::DataError),
    #[error("writing the reference app's file: {0}")]
    Generator(#[from] fixtures::write::WriteError),
    #[error("the file writer panicked: {0}")]
    Panicked(String),
}

/// What a load run targets: an app folder, its workload, and where its
/// rows come from.
#[derive(Debug, Clone)]
pub struct Target {
    pub app: App,
    pub workload: Workload,
    pub source: DataSource,
}

/// Whether `app` is the reference app (the one the generator knows).
pub(crate) fn is_reference(app: &App) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canon(&app.dir) == canon(&crate::reference::dir())
}

impl Target {
    /// The folder `dir` (default: the reference app) with its
    /// `workload.toml`, and the data source `from` or the folder gives.
    pub fn load(dir: Option<&Path>, from: Option<PathBuf>) -> Result<Target, DataError> {
        let app = crate::reference::app(dir)?;
        let path = app.dir.join("workload.toml");
        if !path.is_file() {
            return Err(DataError::NoWorkload(app.dir.clone()));
        }
        let workload = Workload::load(&path)?;
        let source =
            DataSource::choose(&app, from).ok_or_else(|| DataError::NoSource(app.dir.clone()))?;
        Ok(Target {
            app,
            workload,
            source,
        })
    }

    /// The reference app, its workload and its generator.
    pub fn reference() -> Result<Target, DataError> {
        Target::load(None, None)
    }

    /// The database a harness-started cluster loads: `--database`, else
    /// the app's.
    pub fn database(&self, cfg: &super::LoadConfig) -> String {
        cfg.database
            .clone()
            .unwrap_or_else(|| self.app.toml.database.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("preparing the load database {database}: {step}: {source}\n  hint: the schema comes from the app folder's migrations/; run `harness clean` if an old run left a half-built database")]
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
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Workload(#[from] scenarios::WorkloadError),
    #[error("app folder {0}: no workload.toml, so there is no load to run; `harness init` drafts one (docs/load.md has the format)")]
    NoWorkload(PathBuf),
    #[error("app folder {0}: no data to load: give a legacy file with --from FILE, or add a data.sql (docs/load.md)")]
    NoSource(PathBuf),
    #[error("seeding the load database {database}: {source}")]
    Seed {
        database: String,
        #[source]
        source: Box<fixtures::write::WriteError>,
    },
    #[error("migrating the legacy file into {database}: {why}")]
    Migration { database: String, why: String },
    #[error("the database {0} has no tenant that can host load users (the workload's tenants query returns no row); seed it first or drop --skip-data")]
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

/// Schema (the app's migrations) and, when the workload's tenants query
/// finds no tenant yet, the rows of `target`'s data source. Returns the
/// number of rows written (0 when the data was already there).
pub async fn prepare(
    cluster: &Cluster,
    database: &str,
    target: &Target,
    spec: &Spec,
) -> Result<u64, DataError> {
    let primary = cluster.primary().with_database(database);
    ensure_database(cluster.primary(), database).await?;
    let pool = primary.pool(2).await?;
    target
        .app
        .migrator()
        .await?
        .run(&pool)
        .await
        .map_err(|source| DataError::Migrate {
            database: database.to_string(),
            source,
        })?;
    pool.close().await;
    let mut c = primary.connect().await?;
    let have = sqlx::query(AssertSqlSafe(target.workload.tenants.clone()))
        .fetch_optional(&mut c)
        .await
        .map_err(sql(database, "run the workload's tenants query"))?
        .is_some();
    drop(c);
    let mut rows = 0;
    if !have {
        // The migration analyzes each table it loads.
        rows = fill(&primary, database, target, spec).await?;
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

/// Make or take the legacy file and migrate it into `primary` with
/// verification. Rows the mapping refuses are counted and left out; a
/// stopped migration or a digest mismatch is an error: a load on data the
/// migration could not carry would measure something else.
async fn fill(
    primary: &Endpoint,
    database: &str,
    target: &Target,
    spec: &Spec,
) -> Result<u64, DataError> {
    let fail = |why: String| DataError::Migration {
        database: database.to_string(),
        why,
    };
    let dir = crate::cluster::janitor::scratch_dir("load-legacy")
        .map_err(|e| fail(format!("creating a temporary directory: {e}")))?;
    let legacy = target
        .source
        .legacy_file(&target.app, spec, &dir.path().join("legacy.db"))
        .await
        .map_err(|e| match e {
            SourceError::Sample(a) => DataError::App(a),
            SourceError::Data(d) => DataError::App(AppError::File {
                path: target.app.dir.join("data.toml"),
                problem: d.to_string(),
            }),
            SourceError::Generator(w) => DataError::Seed {
                database: database.to_string(),
                source: Box::new(w),
            },
            SourceError::Panicked(why) => fail(why),
        })?;
    // A load needs the data, not every row of it: rows the mapping refuses
    // (a sample's deliberate hard values, a real file's bad rows) are
    // counted and left out, as `harness migrate --on-error skip` does.
    let opts = crate::migrate::MigrateOptions {
        on_error: crate::migrate::OnError::Skip,
        reject_path: dir.path().join("rejects.jsonl"),
        progress: false,
        ..Default::default()
    };
    let report =
        crate::migrate::copy::migrate(&target.app, &legacy, &primary.connect_options(), &opts)
            .await
            .map_err(|e| fail(e.to_string()))?;
    let mismatch = report.verify.as_ref().is_some_and(|v| !v.ok());
    if report.stopped.is_some() || mismatch {
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
    if report.rejects > 0 {
        eprintln!(
            "harness: {} legacy rows refused by the mapping ({} for their own values) are not in the load's data; `harness migrate --app {} FILE --on-error skip` lists them with their reasons",
            report.rejects,
            report.root_rejects,
            target.app.dir.display()
        );
    }
    eprintln!(
        "harness: migrated {} rows from the legacy file {} in {:.1} s, verified in {:.1} s",
        report.rows_copied(),
        target.source.describe(),
        report.load_seconds,
        report.verify_seconds
    );
    Ok(report.rows_copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::Route;

    /// The portal's workload file is the mix its Rust journeys were: the
    /// same kinds and weights, steps and step weights, queries per step
    /// and their routes, think time and batch sizes.
    #[test]
    fn the_portal_workload_is_the_mix_the_journeys_were() {
        let t = Target::reference().unwrap();
        assert_eq!(t.source, DataSource::Generator);
        let w = &t.workload;
        type Steps<'a> = Vec<(&'a str, usize, Vec<&'a str>)>;
        let mix: Vec<(&str, usize, Steps)> = w
            .users
            .iter()
            .map(|u| {
                assert_eq!(u.think, [5.0, 15.0], "{}", u.name);
                let steps = u
                    .steps
                    .iter()
                    .map(|s| {
                        let calls = s.calls.iter().map(|c| c.query.as_str()).collect();
                        (s.name.as_str(), s.weight, calls)
                    })
                    .collect();
                (u.name.as_str(), u.weight, steps)
            })
            .collect();
        assert_eq!(
            mix,
            vec![
                (
                    "browsing",
                    60,
                    vec![
                        (
                            "search and open a project",
                            4,
                            vec!["search_projects", "project_detail"]
                        ),
                        ("filter projects", 3, vec!["filter_projects"]),
                        ("open a project", 3, vec!["project_detail"]),
                    ]
                ),
                (
                    "applying",
                    15,
                    vec![
                        (
                            "apply and see it listed",
                            1,
                            vec!["apply", "my_applications"]
                        ),
                        ("my applications", 2, vec!["my_applications"]),
                    ]
                ),
                (
                    "staff",
                    15,
                    vec![
                        ("dashboard", 2, vec!["projects_with_stats"]),
                        ("search applicants", 1, vec!["search_applicants"]),
                    ]
                ),
                (
                    "admin",
                    5,
                    vec![(
                        "review a batch",
                        1,
                        vec!["pending_applications", "bulk_update_status"]
                    )]
                ),
                (
                    "contact",
                    5,
                    vec![("send the contact form", 1, vec!["contact_form"])]
                ),
            ]
        );
        let route = |n: &str| w.query(n).unwrap().route;
        for (q, r) in [
            ("search_projects", Route::Read),
            ("filter_projects", Route::Read),
            ("project_detail", Route::Read),
            ("apply", Route::Write),
            ("my_applications", Route::ReadOwnWrites),
            ("projects_with_stats", Route::Read),
            ("search_applicants", Route::Read),
            ("pending_applications", Route::Read),
            ("bulk_update_status", Route::Write),
            ("contact_form", Route::Write),
        ] {
            assert_eq!(route(q), r, "{q}");
        }
        // Batches: 50 pending read, 10 decided per update.
        let admin = &w.user("admin").unwrap().steps[0];
        assert_eq!(
            admin.calls[0].params[2],
            scenarios::workload::Source::Fixed(scenarios::Value::Int(50))
        );
        assert!(matches!(
            admin.calls[1].params[1],
            scenarios::workload::Source::List(_, scenarios::workload::Len::Fixed(10))
        ));
        assert_eq!(w.ryw[0].write, "apply");
    }
}
