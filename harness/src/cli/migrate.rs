//! `harness migrate`, `harness verify`, `harness export`: thin commands over
//! [`crate::migrate`]. The target is `--url`, or the cluster the usual
//! cluster options give (a harness-started cluster is a rehearsal: it is torn
//! down when the command ends; `external` keeps the data).

use std::path::PathBuf;

use clap::Args;
use sqlx::postgres::PgConnectOptions;

use crate::app::{quote, App};
use crate::cluster::{BackendKind, Cluster};
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::migrate::{self, summary, MigrateOptions, OnError};

use super::BadInput;

/// Which app: its folder (`harness init` drafts one).
#[derive(Debug, Clone, Args, Default)]
pub struct AppArgs {
    /// The app folder (app.toml, mapping.toml, migrations/). Default: the
    /// reference app shipped with the harness.
    #[arg(long, env = "HARNESS_APP")]
    pub app: Option<PathBuf>,
}

impl AppArgs {
    /// Load the folder; a bad folder is bad input (exit 4).
    pub fn load(&self) -> anyhow::Result<App> {
        Ok(crate::reference::app(self.app.as_deref())?)
    }
}

/// Where to migrate to / read from.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Target database URL (postgres://user:pass@host:port/db). Without it,
    /// the cluster options below choose the server (the app's database).
    #[arg(long, env = "HARNESS_TARGET_URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub cluster: super::ClusterArgs,
}

/// A target plus the cluster that must live as long as it is used.
struct Target {
    opts: PgConnectOptions,
    _cluster: Option<Cluster>,
}

async fn resolve(t: &TargetArgs, app: &App, file: &HarnessConfig) -> anyhow::Result<Target> {
    if let Some(url) = &t.url {
        let opts = crate::cluster::Endpoint::parse(url)
            .map_err(|e| BadInput(format!("--url: {e}")))?
            .connect_options();
        return Ok(Target {
            opts,
            _cluster: None,
        });
    }
    let cfg = t.cluster.resolve(file)?;
    let external = cfg.backend == BackendKind::External;
    let cluster = Cluster::start(&cfg).await?;
    let ep = cluster.primary().clone();
    if external {
        return Ok(Target {
            opts: ep.connect_options(),
            _cluster: Some(cluster),
        });
    }
    // A harness-started cluster: create the app's database.
    let db = &app.toml.database;
    let mut admin = ep.connect().await?;
    let exists = super::database_exists(&mut admin, db).await?;
    if !exists {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "create database {}",
            quote(db)
        )))
        .execute(&mut admin)
        .await?;
    }
    eprintln!(
        "harness: migrating into a harness-started cluster ({}): a rehearsal, torn down at the end; use --url to keep the data",
        ep.url_for(db)
    );
    Ok(Target {
        opts: ep.with_database(db).connect_options(),
        _cluster: Some(cluster),
    })
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The legacy SQLite file.
    pub source: PathBuf,
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// stop: the first bad row stops the run (its table is rolled back);
    /// skip: bad rows go to the reject file and the rest moves.
    #[arg(long, value_enum, default_value_t = OnError::Stop)]
    pub on_error: OnError,
    /// The reject file (JSON lines; see docs/migrate.md).
    #[arg(long, default_value = "rejects.jsonl")]
    pub rejects: PathBuf,
    /// Skip the digest verification at the end.
    #[arg(long)]
    pub no_verify: bool,
    /// Skip SQLite's quick_check of the legacy file before starting.
    #[arg(long)]
    pub no_integrity_check: bool,
    /// Also write the run's account as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn migrate(args: MigrateArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let app = args.app.load()?;
    let target = resolve(&args.target, &app, file).await?;
    let opts = MigrateOptions {
        on_error: args.on_error,
        reject_path: args.rejects.clone(),
        progress: true,
        verify: !args.no_verify,
        integrity_check: !args.no_integrity_check,
    };
    let report = migrate::migrate(&app, &args.source, &target.opts, &opts).await?;
    print!("{}", summary::render(&report));
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report.exit_code())
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The legacy SQLite file the target was migrated from.
    pub source: PathBuf,
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Also write the verification as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub async fn verify(args: VerifyArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let app = args.app.load()?;
    let target = resolve(&args.target, &app, file).await?;
    let v = migrate::verify(&app, &args.source, &target.opts).await?;
    print!("{}", summary::render_verify(&v));
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&v)?)?;
    }
    Ok(if v.ok() {
        exit_codes::OK
    } else {
        exit_codes::VERIFY_MISMATCH
    })
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The new legacy SQLite file to write (never overwritten).
    #[arg(long, short)]
    pub out: PathBuf,
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

pub async fn export(args: ExportArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let app = args.app.load()?;
    let target = resolve(&args.target, &app, file).await?;
    let r = migrate::export(&app, &target.opts, &args.out).await?;
    for (t, n) in &r.tables {
        println!("{t:<22} {n:>10} rows");
    }
    println!(
        "exported to {} ({} rows created in PostgreSQL got new legacy ids)",
        r.path.display(),
        r.new_ids
    );
    Ok(exit_codes::OK)
}
