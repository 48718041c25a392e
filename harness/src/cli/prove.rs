//! `harness prove-rls`: prove tenant isolation on a database
//! ([`crate::rls::prove`]) and write the run folder.
//!
//! Two ways in. With `--url` the database is taken as it is (it must hold
//! rows of at least two tenants) and nothing is written there for good:
//! every write of the proof is rolled back. Without it the command starts
//! its own primary and replica (the usual cluster options), applies the
//! app's migrations and loads data through the engine's migrate: `--from
//! FILE`, else the folder's `data.sql` sample, else, for the reference app
//! only, the legacy file the fixtures generator writes (like `harness seed
//! --sqlite`); then it logs in as the app role, as the app would.
//!
//! Exit status: [`exit_codes::OK`] when isolation holds,
//! [`exit_codes::AUDIT_FINDINGS`] on a counterexample or a failed probe
//! (as `audit-rls` on a finding), [`exit_codes::BAD_INPUT`] when the input
//! cannot be proven (no tenant table, fewer than two tenants, a proof that
//! would be empty), [`exit_codes::SETUP_FAILED`] when the database cannot
//! be reached.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;
use sqlx::postgres::PgConnectOptions;

use super::migrate::AppArgs;
use super::rls::Format;
use super::{BadInput, ClusterArgs};
use crate::app::{quote, App};
use crate::cluster::{external::guard_disposable, Cluster};
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::migrate::{self, MigrateOptions, OnError};
use crate::report::{self, Check, DataSpec, Run, RunKind, Table};
use crate::rls::prove::{prove, ProveOptions, ProveReport, Status, Targets};

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The app whose tenancy is proven (tenant column, settings, roles);
    /// the flags below override it for a database with no app folder.
    #[command(flatten)]
    pub app: AppArgs,
    /// A database the harness did not create, as a superuser or a BYPASSRLS
    /// role (the oracle that sees every row). It must hold rows of at
    /// least two tenants; nothing is kept: every write is rolled back.
    /// Its replica, when there is one: --replica-url (same kind of role).
    #[arg(long)]
    pub url: Option<String>,
    /// With --url: a login as the app role (default: SET ROLE on --url).
    #[arg(long, requires = "url")]
    pub app_url: Option<String>,
    /// The column that holds the tenant id (default: the app's).
    #[arg(long)]
    pub tenant_column: Option<String>,
    /// The setting the app sets to name its tenant (default: the app's).
    /// Another setting than the folder's also drops the folder's extra
    /// context settings ([tenant.context]).
    #[arg(long)]
    pub setting: Option<String>,
    /// The role the application connects as (default: the app's).
    #[arg(long)]
    pub app_role: Option<String>,
    /// Generated operations on the primary (the replica runs a tenth, at least 20).
    #[arg(long, default_value_t = 1000, env = "HARNESS_PROVE_CASES")]
    pub cases: u32,
    /// The proptest seed [default: random, printed].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Without --url: the legacy SQLite file to migrate and prove on
    /// (default: the folder's data.sql sample).
    #[arg(long, conflicts_with = "url")]
    pub from: Option<PathBuf>,
    /// Without --url and --from: tenants in the sample data.
    #[arg(long, default_value_t = 4)]
    pub tenants: u32,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The reports root the run folder goes under [default: $HARNESS_REPORTS_DIR or ./reports].
    #[arg(long)]
    pub reports: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

pub async fn run(args: ProveArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let app = args.app.load()?;
    let mut opts = ProveOptions::for_app(&app);
    // A tenancy given by flags is another app's: the folder's root table
    // and extra settings belong to the folder's schema and policies.
    if let Some(c) = args
        .tenant_column
        .as_ref()
        .filter(|c| **c != opts.tenant_column)
    {
        opts.tenant_column = c.clone();
        opts.root_table = None;
    }
    if let Some(s) = args.setting.as_ref().filter(|s| **s != opts.setting) {
        opts.setting = s.clone();
        opts.context.clear();
    }
    if let Some(r) = &args.app_role {
        opts.app_role = r.clone();
    }
    opts.cases = args.cases.max(1);
    opts.seed = args.seed.unwrap_or_else(rand::random);

    let mut run = Run::new(RunKind::ProveRls, format!("prove-rls: {}", app.toml.name));
    let parse = |flag: &str, url: &str| -> anyhow::Result<PgConnectOptions> {
        Ok(crate::cluster::Endpoint::parse(url)
            .map_err(|e| BadInput(format!("{flag}: {e}")))?
            .connect_options())
    };
    let (targets, cluster) = match &args.url {
        Some(url) => {
            let targets = Targets {
                primary: parse("--url", url)?,
                primary_app: args
                    .app_url
                    .as_deref()
                    .map(|u| parse("--app-url", u))
                    .transpose()?,
                replica: args
                    .cluster
                    .replica_url
                    .as_deref()
                    .map(|u| parse("--replica-url", u))
                    .transpose()?,
                replica_app: None,
            };
            (targets, None)
        }
        None => {
            let (targets, cluster, data) = own_cluster(&args, &app, file, &opts).await?;
            run.environment.with_cluster(cluster.info());
            run.environment.data(data);
            (targets, Some(cluster))
        }
    };
    let report = match prove(&targets, &opts).await {
        Ok(r) => r,
        Err(e) if e.is_connect() => {
            eprintln!("error: {e}");
            return Ok(exit_codes::SETUP_FAILED);
        }
        Err(e) if e.is_bad_input() => return Err(BadInput(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    if let Some(c) = cluster {
        c.shutdown().await?;
    }
    match args.format {
        Format::Text => print!("{}", report.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    fill_run(&mut run, &report);
    let root = args.reports.clone().unwrap_or_else(report::default_root);
    let dir = report::write_run(&run, &root).context("writing the run folder")?;
    std::fs::write(
        dir.join("prove-rls.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    eprintln!("prove-rls: report in {}", dir.display());
    Ok(if report.passed() {
        exit_codes::OK
    } else {
        exit_codes::AUDIT_FINDINGS
    })
}

/// The report as a run: one check per property and probe, a table of the
/// tenant tables, and the counterexample as a table of its own.
fn fill_run(run: &mut Run, r: &ProveReport) {
    for p in &r.property {
        let detail = match (&p.skipped, &p.counterexample) {
            (Some(why), _) => format!("skipped: {why}"),
            (None, Some(c)) => format!(
                "{} {} under {}{}: {}",
                c.table,
                c.operation,
                c.context,
                c.row
                    .as_deref()
                    .map(|r| format!(", row {r}"))
                    .unwrap_or_default(),
                c.observed
            ),
            (None, None) => format!("{} cases ({}) in {:.1}s", p.cases, p.commands, p.seconds),
        };
        run.check(
            Check::new(
                format!("isolation property on the {}", p.server),
                p.passed,
                detail,
            )
            .in_group("rls"),
        );
    }
    for p in &r.probes {
        run.check(
            Check::new(
                format!("probe {}", p.name),
                p.status != Status::Fail,
                format!("{}: {}", p.status.as_str(), p.detail),
            )
            .in_group("rls"),
        );
    }
    run.check(
        Check::new(
            "the proof leaves the data as it found it",
            r.unchanged,
            "digest of every tenant table before and after",
        )
        .in_group("rls"),
    );
    let mut t = Table::new("Tenant tables", ["table", "rows", "tenants", "root"]).in_section("rls");
    for l in &r.tables {
        t.row([
            l.table.clone(),
            l.rows.to_string(),
            l.tenants.to_string(),
            if l.root { "yes".into() } else { String::new() },
        ]);
    }
    run.table(t);
    if let Some(c) = r.counterexample() {
        let mut t = Table::new("Minimal counterexample", ["", ""]).in_section("rls");
        t.row(["table".to_string(), c.table.clone()]);
        t.row(["command".to_string(), c.operation.clone()]);
        t.row(["context".to_string(), c.context.clone()]);
        t.row(["row".to_string(), c.row.clone().unwrap_or_default()]);
        t.row(["observed".to_string(), c.observed.clone()]);
        run.table(t);
    }
    run.note(format!(
        "seed {} (rerun with --seed {} to draw the same cases)",
        r.seed, r.seed
    ));
    run.finish();
}

/// Start a cluster, migrate the app's data into it and log in as the app
/// role on both servers.
async fn own_cluster(
    args: &ProveArgs,
    app: &App,
    file: &HarnessConfig,
    opts: &ProveOptions,
) -> anyhow::Result<(Targets, Cluster, DataSpec)> {
    let cfg = args.cluster.resolve(file)?;
    guard_disposable(&cfg, "harness prove-rls without --url")?;
    let tmp = crate::cluster::janitor::scratch_dir("prove")?;
    let (source, data) = legacy_file(args, app, tmp.path()).await?;
    let cluster = Cluster::start(&cfg).await?;
    let ep = cluster.primary().clone();
    let db = &app.toml.database;
    let mut admin = ep.connect().await?;
    let exists = super::database_exists(&mut admin, db).await?;
    if exists {
        return Err(BadInput(format!(
            "database {db} already exists on this cluster; prove-rls loads its own data into a new one (use --url for a database that exists)"
        ))
        .into());
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create database {}",
        quote(db)
    )))
    .execute(&mut admin)
    .await?;
    let target = ep.with_database(db);
    let rejects = tmp.path().join("rejects.jsonl");
    let m = migrate::migrate(
        app,
        &source,
        &target.connect_options(),
        &MigrateOptions {
            // A proof needs the rows, not every row: those the mapping
            // refuses (a sample's deliberate hard values, a real file's bad
            // rows) are left out and counted, as a load does. Stopping at
            // the first one would leave the later tables empty and the
            // proof vacuous.
            on_error: OnError::Skip,
            reject_path: rejects,
            progress: false,
            verify: false,
            integrity_check: true,
        },
    )
    .await?;
    if let Some(why) = &m.stopped {
        anyhow::bail!(
            "loading the data to prove on stopped: {why}; `harness migrate --app {} FILE` shows why",
            app.dir.display()
        );
    }
    eprintln!(
        "harness: loaded {} rows into a harness-started cluster (torn down at the end){}",
        m.rows_copied(),
        if m.rejects > 0 {
            format!(
                "; {} legacy rows the mapping refuses were left out (`harness migrate --app {} FILE --on-error skip` lists them)",
                m.rejects,
                app.dir.display()
            )
        } else {
            String::new()
        }
    );
    let app_ep = crate::rls::roles::login(&ep, &mut admin, &opts.app_role).await?;
    let lsn = cluster.current_lsn().await?;
    let replica = cluster.replica().cloned();
    if replica.is_some() {
        cluster
            .wait_for_replay(&lsn, std::time::Duration::from_secs(60))
            .await?;
    }
    let targets = Targets {
        primary: target.connect_options(),
        primary_app: Some(app_ep.with_database(db).connect_options()),
        replica: replica
            .as_ref()
            .map(|r| r.with_database(db).connect_options()),
        replica_app: replica.as_ref().map(|r| {
            r.with_user(&opts.app_role, app_ep.password.as_deref())
                .with_database(db)
                .connect_options()
        }),
    };
    drop(tmp);
    Ok((targets, cluster, data))
}

/// The legacy file to load: `--from`, the folder's sample, or for the
/// reference app the fixtures generator's file (small: a proof needs every
/// shape of row, not volume). A bad legacy.sql or data.sql stays bad input.
async fn legacy_file(
    args: &ProveArgs,
    app: &App,
    tmp: &Path,
) -> anyhow::Result<(PathBuf, DataSpec)> {
    use crate::load::data::{DataSource, SourceError};
    let source = DataSource::choose(app, args.from.clone()).ok_or_else(|| {
        BadInput(format!(
            "{} has no data.toml or data.sql and no --from FILE was given: nothing to load and prove on",
            app.dir.display()
        ))
    })?;
    let tenants = args.tenants.max(2);
    // The generator's scale 1 is 100k rows; a folder's scale 1 is its own
    // small set. A proof needs every shape of row, not volume.
    let spec = fixtures::generate::Spec {
        tenants,
        scale: if source == DataSource::Generator {
            0.01
        } else {
            1.0
        },
        seed: 1,
        edge_rate: 0.0,
    };
    let path = source
        .legacy_file(app, &spec, &tmp.join("sample.db"))
        .await
        .map_err(|e| match e {
            SourceError::Sample(a) => anyhow::Error::from(a),
            SourceError::Data(d) if d.is_bad_input() => BadInput(d.to_string()).into(),
            e => anyhow::Error::from(e),
        })?;
    let scale = match &source {
        DataSource::File(f) => format!("file {}", f.display()),
        DataSource::Toml => format!("data.toml, {tenants} tenants"),
        DataSource::Sample => format!("data.sql, {tenants} tenants"),
        DataSource::Generator => format!("fixtures, {tenants} tenants, scale 0.01"),
    };
    Ok((
        path,
        DataSpec {
            seed: if matches!(source, DataSource::File(_)) {
                0
            } else {
                1
            },
            scale,
            ..Default::default()
        },
    ))
}
