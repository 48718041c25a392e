//! `harness seed`: generate the reference app's tenant data into a legacy
//! SQLite file (the migration's source) or into PostgreSQL (for load runs
//! that skip the migration), with a progress bar and a summary.
//!
//! The work is all in `fixtures` (generator and writers); this module picks
//! the target, layers the options (`[seed]` in harness.toml, then flags),
//! draws the bar (only when stderr is a terminal, so logs and CI output stay
//! clean) and prints the summary on stdout, where scripts read it.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use fixtures::generate::{Plan, Spec};
use fixtures::write::postgres::{default_connections, write_postgres};
use fixtures::write::{sqlite::write_sqlite, Summary, WriteError};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use sqlx::ConnectOptions;

use super::{BadInput, ClusterArgs};
use crate::cluster::{external::guard_disposable, BackendKind, Cluster};
use crate::config::HarnessConfig;
use crate::exit_codes;

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Number of tenants (companies) [default: 50, or [seed] tenants].
    #[arg(long)]
    pub tenants: Option<u32>,
    /// Size factor: about 100,000 rows per unit [default: 1, or [seed] scale].
    #[arg(long)]
    pub scale: Option<f64>,
    /// Seed: the same seed gives the same data, byte for byte [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of rows given one hard value listed in docs/migrate.md (SQLite only);
    /// the manifest goes to <FILE>.manifest.jsonl.
    #[arg(long, default_value_t = 0.0)]
    pub edge_rate: f64,
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
    /// Write into PostgreSQL (the cluster options say which); applies the schema first.
    #[arg(long)]
    pub postgres: bool,
    /// Database to seed on the cluster (created if missing on a harness-started
    /// or --disposable cluster).
    #[arg(long, default_value = "portal")]
    pub database: String,
    /// PostgreSQL: connections loading tables at once [default: one per
    /// core, at most 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub connections: Option<u16>,
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

pub async fn seed(args: SeedArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let section: SeedSection = file.section("seed")?;
    let defaults = Spec::default();
    let spec = Spec {
        tenants: args.tenants.or(section.tenants).unwrap_or(defaults.tenants),
        scale: args.scale.or(section.scale).unwrap_or(defaults.scale),
        seed: args.seed.or(section.seed).unwrap_or(defaults.seed),
        edge_rate: args.edge_rate,
    };
    let plan = Plan::new(&spec).map_err(|e| BadInput(e.to_string()))?;
    let bar = progress_bar(plan.total_rows());
    let summary = match (&args.sqlite, args.postgres) {
        (Some(path), _) => {
            if args.force {
                for p in [path.clone(), fixtures::edge::manifest_path(path)] {
                    if p.exists() {
                        std::fs::remove_file(&p)?;
                    }
                }
            }
            let (path, b) = (path.clone(), bar.clone());
            tokio::task::spawn_blocking(move || {
                write_sqlite(&spec, &path, &mut |n| b.set_position(n))
            })
            .await?
            .map_err(bad_input)?
        }
        (None, true) => seed_postgres(&args, file, &spec, &bar).await?,
        (None, false) => {
            return Err(BadInput("choose a target: --sqlite FILE or --postgres".into()).into())
        }
    };
    bar.finish_and_clear();
    print!("{}", summary.render());
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(exit_codes::OK)
}

async fn seed_postgres(
    args: &SeedArgs,
    file: &HarnessConfig,
    spec: &Spec,
    bar: &ProgressBar,
) -> anyhow::Result<Summary> {
    let cfg = args.cluster.resolve(file)?;
    guard_disposable(&cfg, "harness seed --postgres")?;
    if cfg.backend != BackendKind::External {
        eprintln!("harness: seeding a cluster started for this command; it is torn down when the command ends (use `harness up` and --backend external to keep one)");
    }
    let cluster = Cluster::start(&cfg).await?;
    let primary = cluster.primary();
    {
        let mut admin = primary.connect().await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(&args.database)
                .fetch_one(&mut admin)
                .await?;
        if !exists {
            let stmt: String = sqlx::query_scalar("select format('create database %I', $1::text)")
                .bind(&args.database)
                .fetch_one(&mut admin)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(stmt))
                .execute(&mut admin)
                .await?;
        }
    }
    // Bulk statements take seconds by design: no slow-statement warnings.
    let target = primary
        .with_database(&args.database)
        .connect_options()
        .disable_statement_logging();
    let connections = args
        .connections
        .map_or_else(default_connections, usize::from);
    let b = bar.clone();
    let summary = write_postgres(spec, &target, connections, &mut move |n| b.set_position(n))
        .await
        .map_err(bad_input)?;
    cluster.shutdown().await?;
    Ok(summary)
}

/// Errors that are the user's to fix (a bad spec, an existing file, a
/// non-empty database) exit with BAD_INPUT; the rest keep their class.
fn bad_input(e: WriteError) -> anyhow::Error {
    match e {
        WriteError::Spec(_)
        | WriteError::Exists { .. }
        | WriteError::EdgeCasesNeedSqlite
        | WriteError::NotEmpty { .. } => BadInput(e.to_string()).into(),
        other => other.into(),
    }
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} seeding [{bar:40}] {human_pos}/{human_len} rows, {per_sec}, eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
