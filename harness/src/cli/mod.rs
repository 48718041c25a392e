//! The `harness` command line: parse, layer the configuration, run one
//! command, map its outcome to an exit code ([`crate::exit_codes`]).
//!
//! Each command lives in the module of the stage it drives and exposes an
//! `Args` (clap derive) and an async `run`; this module only dispatches, so
//! adding a command touches one enum and one match arm. Every command runs
//! under [`cancellable`]: Ctrl-C or SIGTERM drops the command's future, whose
//! cluster then stops its servers and removes its containers in `Drop`.

pub mod drill;
pub mod init;
pub mod load;
pub mod migrate;
pub mod prove;
pub mod report;
pub mod rls;
pub mod seed;
pub mod up;

use std::future::Future;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cluster::pooler::PoolerKind;
use crate::cluster::{BackendKind, ClusterConfig, ClusterError, Durability};
use crate::config::{ConfigError, HarnessConfig};
use crate::exit_codes;

/// Test and load harness for SQLite -> PostgreSQL migrations of multi-tenant
/// apps: a real primary and streaming replica, tenant-shaped data, a
/// verified migration, RLS isolation proofs, and load at 10k users.
#[derive(Debug, Parser)]
#[command(name = "harness", version, propagate_version = true)]
pub struct Cli {
    /// Config file (default: ./harness.toml when present).
    #[arg(long, global = true, env = "HARNESS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Named profile from the config file ([profile.NAME]).
    #[arg(long, global = true, env = "HARNESS_PROFILE")]
    pub profile: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draft an app folder from any SQLite file: schema, mapping with evidence, roles and RLS, workload skeleton.
    Init(init::InitArgs),
    /// Start a primary and a streaming replica, print their URLs, run until Ctrl-C.
    Up(up::UpArgs),
    /// Build the PostgreSQL image from Debian's packages (no registry needed).
    Image(up::ImageArgs),
    /// Remove servers, containers and directories left by harness runs that died.
    Clean,
    /// Generate tenant data into a legacy SQLite file or PostgreSQL.
    Seed(seed::SeedArgs),
    /// Migrate a legacy SQLite file into PostgreSQL, verified.
    Migrate(migrate::MigrateArgs),
    /// Compare a legacy SQLite file with its PostgreSQL copy, row by row.
    Verify(migrate::VerifyArgs),
    /// Export PostgreSQL back to the legacy SQLite shape (round trip, rollback).
    Export(migrate::ExportArgs),
    /// Audit any PostgreSQL database's row-level security from its catalog.
    AuditRls(rls::AuditArgs),
    /// Prove tenant isolation: proptest over every tenant table and command, as the app role, primary and replica, plus the pitfall probes.
    ProveRls(prove::ProveArgs),
    /// Run the load scenarios against a cluster and gate on p95, errors and lag.
    Load(load::LoadArgs),
    /// Step the user count up until p95 crosses the target; report the knee.
    Capacity(load::CapacityArgs),
    /// Rebuild the runs index or compare a run with a baseline.
    Report(report::ReportArgs),
    /// Recovery drills: restore a base backup and WAL archive taken under load to a point in time, verified.
    Drill(drill::DrillArgs),
}

/// Cluster options shared by every command that starts or targets a cluster.
/// Flags win over environment variables, which win over `[cluster]` in the
/// config file.
#[derive(Debug, Clone, Args, Default)]
pub struct ClusterArgs {
    /// Where the servers come from.
    #[arg(long, value_enum, env = "HARNESS_BACKEND")]
    pub backend: Option<BackendKind>,
    /// fast (fsync off; tests), realistic (fsync on; load), sync-apply (remote_apply replication).
    #[arg(long, value_enum, env = "HARNESS_DURABILITY")]
    pub durability: Option<Durability>,
    /// docker: the PostgreSQL image (default: postgres:15 if present or pullable, else the local build).
    #[arg(long, env = "HARNESS_IMAGE")]
    pub image: Option<String>,
    /// native: directory with initdb, postgres and pg_basebackup.
    #[arg(long, env = "HARNESS_PG_BINDIR")]
    pub pg_bindir: Option<PathBuf>,
    /// external: URL of the primary.
    #[arg(long, env = "HARNESS_PRIMARY_URL")]
    pub primary_url: Option<String>,
    /// external: URL of the replica.
    #[arg(long, env = "HARNESS_REPLICA_URL")]
    pub replica_url: Option<String>,
    /// external: the database may be written and dropped.
    #[arg(long)]
    pub disposable: bool,
    /// Run a pooler in front of the servers: pgbouncer (transaction mode; docs/pooling.md).
    #[arg(long, value_enum, env = "HARNESS_POOLER")]
    pub pooler: Option<PoolerKind>,
}

impl ClusterArgs {
    /// The `[cluster]` section with these flags and env vars on top.
    pub fn resolve(&self, file: &HarnessConfig) -> Result<ClusterConfig, ConfigError> {
        let mut c: ClusterConfig = file.section("cluster")?;
        if let Some(b) = self.backend {
            c.backend = b;
        }
        if let Some(d) = self.durability {
            c.durability = d;
        }
        if self.image.is_some() {
            c.image = self.image.clone();
        }
        if self.pg_bindir.is_some() {
            c.pg_bindir = self.pg_bindir.clone();
        }
        if self.primary_url.is_some() {
            c.primary_url = self.primary_url.clone();
        }
        if self.replica_url.is_some() {
            c.replica_url = self.replica_url.clone();
        }
        c.disposable |= self.disposable;
        if let Some(p) = self.pooler {
            c.pooler = p;
        }
        Ok(c)
    }
}

/// Marks an error as the user's input being bad (exit [`exit_codes::BAD_INPUT`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// Parse the command line, run, and return the process exit code.
pub fn main() -> i32 {
    init_tracing();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit_codes::USAGE
            } else {
                exit_codes::OK
            };
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit_codes::INTERNAL;
        }
    };
    let code = rt.block_on(cancellable(dispatch(cli)));
    // Containers are removed in Drop; give their removal tasks a moment.
    rt.shutdown_timeout(std::time::Duration::from_secs(10));
    if code == exit_codes::INTERRUPTED || code == exit_codes::TERMINATED {
        // What a signal caught half made (a container being created, a
        // server being started) has no owner left to remove it.
        crate::cluster::janitor::sweep_own();
    }
    code
}

async fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let file = HarnessConfig::load(cli.config.as_deref(), cli.profile.as_deref())?;
    match cli.command {
        Command::Init(a) => init::run(a).await,
        Command::Up(a) => up::run(a, &file).await,
        Command::Image(a) => up::image(a).await,
        Command::Clean => {
            crate::cluster::janitor::sweep_now();
            eprintln!("harness: removed what dead harness runs left behind");
            Ok(exit_codes::OK)
        }
        Command::Seed(a) => seed::seed(a, &file).await,
        Command::Migrate(a) => migrate::migrate(a, &file).await,
        Command::Verify(a) => migrate::verify(a, &file).await,
        Command::Export(a) => migrate::export(a, &file).await,
        Command::AuditRls(a) => rls::audit(a, &file).await,
        Command::ProveRls(a) => prove::run(a, &file).await,
        Command::Load(a) => load::load(a, &file).await,
        Command::Capacity(a) => load::capacity(a, &file).await,
        Command::Report(a) => report::report(a, &file).await,
        Command::Drill(a) => drill::run(a, &file).await,
    }
}

/// Run a command until it ends or a signal arrives. On a signal the
/// command's future is dropped (its cluster cleans up in `Drop`) and the
/// code says which signal it was.
pub async fn cancellable(work: impl Future<Output = anyhow::Result<i32>>) -> i32 {
    use tokio::signal::unix::{signal, SignalKind};
    // SIGINT goes through the `ctrlc` crate because goose installs its own
    // Ctrl-C handler with it when an attack starts, which would otherwise
    // replace ours: goose would stop the attack "cleanly", and the run would
    // carry on to a finished report of an interrupted load. `ctrlc` takes
    // one handler per process, so taking it first keeps SIGINT ours.
    let (int_tx, mut int_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut int_tokio = None;
    if ctrlc::set_handler(move || {
        let _ = int_tx.send(());
    })
    .is_err()
    {
        // Taken already (a second command in one process, as in tests).
        match signal(SignalKind::interrupt()) {
            Ok(i) => int_tokio = Some(i),
            Err(_) => {
                eprintln!("error: cannot install signal handlers");
                return exit_codes::INTERNAL;
            }
        }
    }
    let interrupted = async {
        match int_tokio.as_mut() {
            Some(i) => {
                i.recv().await;
            }
            None => {
                int_rx.recv().await;
            }
        }
    };
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        eprintln!("error: cannot install signal handlers");
        return exit_codes::INTERNAL;
    };
    tokio::select! {
        r = work => match r {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                classify(&e)
            }
        },
        _ = interrupted => {
            eprintln!("harness: interrupted; tearing down");
            exit_codes::INTERRUPTED
        }
        _ = term.recv() => {
            eprintln!("harness: terminated; tearing down");
            exit_codes::TERMINATED
        }
    }
}

/// The exit code for an error: the first error in its chain (outermost
/// first) whose kind has a code decides, so an error wrapped in context
/// keeps the code of what went wrong underneath.
pub fn classify(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(code) = code_of(cause) {
            return code;
        }
    }
    exit_codes::INTERNAL
}

/// The exit code of one error, when its kind has one.
fn code_of(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    if e.is::<BadInput>()
        || e.is::<ConfigError>()
        || e.is::<crate::app::AppError>()
        || e.is::<scenarios::WorkloadError>()
    {
        Some(exit_codes::BAD_INPUT)
    } else if e.is::<ClusterError>() {
        Some(exit_codes::SETUP_FAILED)
    } else if let Some(m) = e.downcast_ref::<crate::migrate::MigrateError>() {
        Some(m.exit_code())
    } else {
        e.downcast_ref::<crate::init::InitError>()
            .filter(|i| i.is_bad_input())
            .map(|_| exit_codes::BAD_INPUT)
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HARNESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Whether `db` exists on the server `admin` is connected to.
pub(crate) async fn database_exists(
    admin: &mut sqlx::PgConnection,
    db: &str,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
        .bind(db)
        .fetch_one(admin)
        .await
}
