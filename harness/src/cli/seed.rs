//! `harness seed`: tenant data for any app folder, into a new legacy SQLite
//! file or into PostgreSQL.
//!
//! Where the rows come from, in this order ([`Source`]):
//!
//! 1. `--clone-from FILE`: the tenants of a real file, copied with new keys
//!    ([`crate::app::clone`]);
//! 2. the folder's `data.toml` ([`crate::data`]);
//! 3. the folder's `data.sql` ([`crate::app::sample`]);
//! 4. for the reference app, its own generator (`fixtures::generate`).
//!
//! Into PostgreSQL, the rows take the migration's path: the legacy file is
//! written to a temporary directory and moved by [`crate::migrate`] (COPY as
//! the owner role, indexes dropped and rebuilt, the same bulk loader a real
//! migration uses), so seeding tests the loader users will run.
//!
//! Each phase draws a progress bar with rows/s and time left when stderr is
//! a terminal, and prints one line when it ends either way; the summary goes
//! to stdout, where scripts read it.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use fixtures::generate::Spec;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sqlx::ConnectOptions;

use super::{BadInput, ClusterArgs};
use crate::app::{quote, sample, App};
use crate::cluster::{external::guard_disposable, BackendKind, Cluster};
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::migrate::{self, MigrateOptions, OnError};

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The app folder [default: the reference app].
    #[arg(long, env = "HARNESS_APP")]
    pub app: Option<PathBuf>,
    /// Number of tenants [default: data.toml's count, or [seed] tenants].
    #[arg(long)]
    pub tenants: Option<u32>,
    /// Size factor: multiplies every per-tenant row count [default: 1, or
    /// [seed] scale].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Seed: the same seed gives the same data, byte for byte [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of rows given one hard value (docs/data.md lists them); the
    /// manifest goes to <FILE>.manifest.jsonl [default: data.toml's rate, or 0].
    #[arg(long)]
    pub edge_rate: Option<f64>,
    /// Make the tenants by copying those of this legacy SQLite file (new
    /// keys, references kept inside each tenant, unique values changed).
    #[arg(long, value_name = "FILE")]
    pub clone_from: Option<PathBuf>,
    /// Write a new legacy SQLite file here.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "postgres",
        required_unless_present = "postgres"
    )]
    pub sqlite: Option<PathBuf>,
    /// Replace the SQLite file (and its manifest) if it exists.
    #[arg(long, requires = "sqlite")]
    pub force: bool,
    /// Write into PostgreSQL (the cluster options say which), through the
    /// migration's loader; applies the app's migrations first.
    #[arg(long)]
    pub postgres: bool,
    /// Database to seed [default: the app's database]; created if missing on
    /// a harness-started or --disposable cluster.
    #[arg(long)]
    pub database: Option<String>,
    /// PostgreSQL: also verify every row's digest after the load.
    #[arg(long, requires = "postgres")]
    pub verify: bool,
    /// PostgreSQL: where rows the mapping refuses (hard values) are listed.
    #[arg(long, default_value = "rejects.jsonl", requires = "postgres")]
    pub rejects: PathBuf,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `[seed]` in harness.toml: defaults for the size options.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SeedSection {
    tenants: Option<u32>,
    scale: Option<f64>,
    seed: Option<u64>,
}

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Clone(PathBuf),
    DataToml,
    DataSql,
    Generator,
}

impl Source {
    pub fn choose(app: &App, clone_from: Option<&Path>) -> Option<Source> {
        if let Some(f) = clone_from {
            Some(Source::Clone(f.to_path_buf()))
        } else if app.data_toml.is_some() {
            Some(Source::DataToml)
        } else if sample::available(app) {
            Some(Source::DataSql)
        } else if crate::load::data::is_reference(app) {
            Some(Source::Generator)
        } else {
            None
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Clone(f) => format!("cloned from {}", f.display()),
            Source::DataToml => "data.toml".into(),
            Source::DataSql => "data.sql".into(),
            Source::Generator => "the reference app's generator".into(),
        }
    }
}

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseFigures {
    pub phase: String,
    pub rows: u64,
    pub seconds: f64,
    pub rows_per_sec: f64,
}

/// What `harness seed` prints and writes as JSON.
#[derive(Debug, Serialize)]
pub struct SeedReport {
    pub app: String,
    pub source: String,
    pub tenants: u32,
    pub seed: u64,
    pub scale: f64,
    /// Rows per legacy table in the file.
    pub tables: Vec<(String, u64)>,
    /// Rows data.toml asked for that could not be made, per table (a
    /// composite UNIQUE still refused them after retries, or no parent row
    /// to refer to).
    pub left_out: Vec<(String, u64)>,
    pub rows: u64,
    pub phases: Vec<PhaseFigures>,
    /// Largest and median tenant (rows), where the source says.
    pub largest_tenant_rows: Option<u64>,
    pub median_tenant_rows: Option<u64>,
    pub hard_values: u64,
    pub manifest: Option<PathBuf>,
    /// Rows the migration refused (PostgreSQL only).
    pub rejected: u64,
    pub file: Option<PathBuf>,
    pub database: Option<String>,
}

impl SeedReport {
    fn render(&self) -> String {
        let mut out = format!(
            "{}: {} rows, {} tenants ({}), seed {}, scale {}\n",
            self.app, self.rows, self.tenants, self.source, self.seed, self.scale
        );
        if let (Some(l), Some(m)) = (self.largest_tenant_rows, self.median_tenant_rows) {
            out += &format!(
                "tenant sizes: largest {l} rows, median {m} ({:.1}x)\n",
                l as f64 / m.max(1) as f64
            );
        }
        let w = self
            .tables
            .iter()
            .map(|t| t.0.len())
            .max()
            .unwrap_or(5)
            .max(5);
        for (t, n) in &self.tables {
            out += &format!("  {t:<w$} {n:>10}");
            if let Some((_, k)) = self.left_out.iter().find(|(l, _)| l == t) {
                out += &format!("  ({k} left out: a UNIQUE index refused them after retries, or no parent row to point to)");
            }
            out += "\n";
        }
        for p in &self.phases {
            out += &format!(
                "{:<9} {:>10} rows in {:>7.2} s  {:>9.0} rows/s\n",
                p.phase, p.rows, p.seconds, p.rows_per_sec
            );
        }
        if let Some(m) = &self.manifest {
            out += &format!(
                "{} hard values, listed in {}\n",
                self.hard_values,
                m.display()
            );
        }
        if self.rejected > 0 {
            out += &format!(
                "{} rows refused by the mapping (the reject file lists them)\n",
                self.rejected
            );
        }
        out
    }
}

pub async fn seed(args: SeedArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let section: SeedSection = file.section("seed")?;
    let app = crate::reference::app(args.app.as_deref())?;
    let source = Source::choose(&app, args.clone_from.as_deref()).ok_or_else(|| {
        BadInput(format!(
            "{} has no data.toml or data.sql to make data from: write a data.toml (docs/data.md; `harness init` drafts one) or pass --clone-from FILE",
            app.dir.display()
        ))
    })?;
    let spec_tenants = app.data_toml.as_ref().map(|d| d.tenants.count);
    let tenants = args
        .tenants
        .or(section.tenants)
        .or(spec_tenants)
        .unwrap_or(Spec::default().tenants);
    let scale = args.scale.or(section.scale).unwrap_or(1.0);
    let seed = args.seed.or(section.seed).unwrap_or(1);
    let edge_rate = args
        .edge_rate
        .or(app.data_toml.as_ref().map(|d| d.hard.rate))
        .unwrap_or(0.0);

    // The file is written in a scratch directory and moved to its path
    // only when complete: an interrupted seed leaves no half-written file
    // there, and `harness clean` removes the scratch of a killed one.
    let tmp = crate::cluster::janitor::scratch_dir("seed")?;
    let path = match &args.sqlite {
        Some(p) => {
            if args.force {
                for f in [p.clone(), crate::data::manifest_path(p)] {
                    if f.exists() {
                        std::fs::remove_file(&f)?;
                    }
                }
            }
            if p.exists() {
                return Err(BadInput(format!(
                    "{} already exists; pass --force to replace it",
                    p.display()
                ))
                .into());
            }
            tmp.path()
                .join(p.file_name().unwrap_or(std::ffi::OsStr::new("legacy.db")))
        }
        None if args.postgres => tmp.path().join("legacy.db"),
        None => return Err(BadInput("choose a target: --sqlite FILE or --postgres".into()).into()),
    };

    let mut report = SeedReport {
        app: app.toml.name.clone(),
        source: source.describe(),
        tenants,
        seed,
        scale,
        tables: Vec::new(),
        left_out: Vec::new(),
        rows: 0,
        phases: Vec::new(),
        largest_tenant_rows: None,
        median_tenant_rows: None,
        hard_values: 0,
        manifest: None,
        rejected: 0,
        file: args.sqlite.clone(),
        database: None,
    };
    let phase = Phase::start("generate", "writing the legacy SQLite file");
    write_file(
        &app,
        &source,
        tenants,
        scale,
        seed,
        edge_rate,
        &path,
        &phase,
        &mut report,
    )
    .await?;
    report.rows = report.tables.iter().map(|t| t.1).sum();
    report.phases.push(phase.finish(report.rows));

    if args.postgres {
        let db = args
            .database
            .clone()
            .unwrap_or_else(|| app.toml.database.clone());
        let phase = Phase::start("load", "loading PostgreSQL through the migration");
        let rejected = load_postgres(&args, file, &app, &db, &path).await?;
        report.rejected = rejected;
        report
            .phases
            .push(phase.finish(report.rows.saturating_sub(rejected)));
        report.database = Some(db);
        let total: f64 = report.phases.iter().map(|p| p.seconds).sum();
        report.phases.push(PhaseFigures {
            phase: "total".into(),
            rows: report.rows,
            seconds: total,
            rows_per_sec: report.rows as f64 / total.max(1e-9),
        });
    }
    if let Some(p) = &args.sqlite {
        use crate::cluster::janitor::move_into_place;
        move_into_place(&path, p).with_context(|| format!("moving the file to {}", p.display()))?;
        let manifest = crate::data::manifest_path(&path);
        if manifest.exists() {
            let to = crate::data::manifest_path(p);
            move_into_place(&manifest, &to)
                .with_context(|| format!("moving the manifest to {}", to.display()))?;
            report.manifest = Some(to);
        }
    }
    print!("{}", report.render());
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(exit_codes::OK)
}

/// Write the legacy file at `path` from `source`.
#[allow(clippy::too_many_arguments)]
async fn write_file(
    app: &App,
    source: &Source,
    tenants: u32,
    scale: f64,
    seed: u64,
    edge_rate: f64,
    path: &Path,
    phase: &Phase,
    report: &mut SeedReport,
) -> anyhow::Result<()> {
    let (app2, p2, bar) = (app.clone(), path.to_path_buf(), phase.bar.clone());
    match source.clone() {
        Source::DataToml => {
            let spec = app.data_toml.clone().expect("chosen because it is there");
            let params = crate::data::Params {
                tenants,
                scale,
                seed,
                hard_rate: edge_rate,
            };
            let s = tokio::task::spawn_blocking(move || {
                crate::data::write_sqlite(&app2, &spec, &params, &p2, &mut |n, total| {
                    bar.set_length(total);
                    bar.set_position(n);
                })
            })
            .await?
            .map_err(|e| {
                if e.is_bad_input() {
                    anyhow::Error::from(BadInput(e.to_string()))
                } else {
                    e.into()
                }
            })?;
            report.tables = s.tables.iter().map(|t| (t.table.clone(), t.rows)).collect();
            report.left_out = s
                .tables
                .iter()
                .filter(|t| t.skipped > 0)
                .map(|t| (t.table.clone(), t.skipped))
                .collect();
            report.largest_tenant_rows = Some(s.largest_tenant_rows);
            report.median_tenant_rows = Some(s.median_tenant_rows);
            report.hard_values = s.hard_values;
            report.manifest = s.manifest.clone();
        }
        Source::DataSql => {
            if edge_rate > 0.0 {
                return Err(BadInput(
                    "--edge-rate needs a data.toml (data.sql writes its own hard values)".into(),
                )
                .into());
            }
            let params = sample::SampleParams {
                scale: scale.round().max(1.0).min(u32::MAX as f64) as u32,
                tenants,
                seed,
            };
            report.scale = f64::from(params.scale);
            report.tables = tokio::task::spawn_blocking(move || sample::build(&app2, &params, &p2))
                .await?
                .map_err(|e| BadInput(e.to_string()))?;
        }
        Source::Generator => {
            let spec = Spec {
                tenants,
                scale,
                seed,
                edge_rate,
            };
            fixtures::generate::Plan::new(&spec).map_err(|e| BadInput(e.to_string()))?;
            let s = tokio::task::spawn_blocking(move || {
                fixtures::write::sqlite::write_sqlite(&spec, &p2, &mut |n| bar.set_position(n))
            })
            .await?
            .map_err(|e| BadInput(e.to_string()))?;
            report.tables = s.rows.clone();
            if edge_rate > 0.0 {
                report.manifest = Some(fixtures::edge::manifest_path(path));
                report.hard_values = s.injected.values().sum();
            }
        }
        Source::Clone(from) => {
            if edge_rate > 0.0 {
                return Err(BadInput("--edge-rate does not go with --clone-from: a clone keeps the source's own values".into()).into());
            }
            let spec = crate::app::clone::CloneSpec { tenants, seed };
            let s = tokio::task::spawn_blocking(move || {
                crate::app::clone::clone_tenants(&app2, &from, &p2, &spec, &mut |n| {
                    bar.set_position(n)
                })
            })
            .await?
            .map_err(|e| BadInput(e.to_string()))?;
            report.tables = s.tables.clone();
            for n in &s.notes {
                eprintln!("harness: clone: {n}");
            }
        }
    }
    Ok(())
}

/// Move the file into PostgreSQL with the migration's loader; returns the
/// rows refused.
async fn load_postgres(
    args: &SeedArgs,
    file: &HarnessConfig,
    app: &App,
    db: &str,
    legacy: &Path,
) -> anyhow::Result<u64> {
    let cfg = args.cluster.resolve(file)?;
    guard_disposable(&cfg, "harness seed --postgres")?;
    if cfg.backend != BackendKind::External {
        eprintln!("harness: seeding a cluster started for this command; it is torn down when the command ends (use `harness up` and --backend external to keep one)");
    }
    let cluster = Cluster::start(&cfg).await?;
    let primary = cluster.primary();
    {
        let mut admin = primary.connect().await?;
        if !super::database_exists(&mut admin, db).await? {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "create database {}",
                quote(db)
            )))
            .execute(&mut admin)
            .await?;
        }
    }
    // Bulk statements take seconds by design: no slow-statement warnings.
    let target = primary
        .with_database(db)
        .connect_options()
        .disable_statement_logging();
    let opts = MigrateOptions {
        on_error: OnError::Skip,
        reject_path: args.rejects.clone(),
        progress: std::io::stderr().is_terminal(),
        verify: args.verify,
        integrity_check: false,
    };
    let report = migrate::migrate(app, legacy, &target, &opts).await?;
    let code = report.exit_code();
    cluster.shutdown().await?;
    if code != exit_codes::OK && report.rejects == 0 {
        anyhow::bail!(
            "the load into {db} did not finish cleanly:\n{}",
            migrate::summary::render(&report)
        );
    }
    Ok(report.rejects)
}

/// A phase: a bar on a terminal, one line at the end either way.
struct Phase {
    name: &'static str,
    bar: ProgressBar,
    started: Instant,
}

impl Phase {
    fn start(name: &'static str, what: &str) -> Phase {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, {eta} left",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what.to_string());
            bar
        } else {
            ProgressBar::hidden()
        };
        Phase {
            name,
            bar,
            started: Instant::now(),
        }
    }

    fn finish(self, rows: u64) -> PhaseFigures {
        self.bar.finish_and_clear();
        let seconds = self.started.elapsed().as_secs_f64();
        let rows_per_sec = rows as f64 / seconds.max(1e-9);
        eprintln!(
            "harness: {}: {rows} rows in {seconds:.1} s ({rows_per_sec:.0} rows/s)",
            self.name
        );
        PhaseFigures {
            phase: self.name.into(),
            rows,
            seconds,
            rows_per_sec,
        }
    }
}
