//! `prove-rls`: the isolation property of docs/rls.md, proven by proptest
//! over every tenant table of any database, as the app role, on the
//! primary and the replica, plus the pitfall probes that apply to any
//! schema.
//!
//! Everything comes from the catalog and the app folder's tenancy (the
//! tenant column, the context setting and extra settings, the app role):
//! a *tenant table* is any table with the tenant column, the *root* is the
//! table whose key the tenant column references (or the one the folder
//! names). No table, column or role of any app is named here.
//!
//! The run, in order:
//!
//! 1. [`catalog`]: the oracle connection (superuser or BYPASSRLS) reads the
//!    tenant tables and the truth: each table's rows per tenant and a
//!    sample of rows with their tenant, plus the digest of every tenant
//!    table.
//! 2. The proof must not be vacuous: with a tenant set, the app role sees
//!    some of its own rows somewhere.
//! 3. [`property`]: proptest's `TestRunner` draws operations
//!    ([`ops`]: table, command, context, extra settings, row) and checks
//!    each against the truth; a failure shrinks to a minimal case.
//!    Then the read side again on the replica.
//! 4. [`probes`]: named checks for the pitfalls (bypass, FORCE, unset
//!    context, context outliving its transaction, WITH CHECK, views,
//!    SECURITY DEFINER functions, unique-key side channel, cross-tenant
//!    foreign keys, TRUNCATE / REFERENCES).
//! 5. The digest again: every write was rolled back, so it must match.
//!
//! The app role is reached by logging in as it (what the app does, and the
//! only way a per-role default setting shows) or, with no login given, by
//! `SET ROLE` on an oracle connection.

mod catalog;
mod ops;
mod probes;
mod property;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, PgConnection};

use crate::app::{quote, App, ContextValues};

pub use ops::Op;
pub use probes::{Probe, Status};
pub use property::{Counterexample, PropertyOutcome};

/// What to prove: an app's tenancy (from its folder, or flags).
#[derive(Debug, Clone)]
pub struct ProveOptions {
    pub tenant_column: String,
    /// The tenant-context setting the policies read.
    pub setting: String,
    /// The role the application connects as.
    pub app_role: String,
    /// The table whose rows are the tenants, when the folder names it.
    pub root_table: Option<String>,
    /// Extra context settings and where their values come from.
    pub context: BTreeMap<String, ContextValues>,
    /// Generated operations on the primary (the replica gets a tenth,
    /// at least 20).
    pub cases: u32,
    /// The proptest seed (the same seed and data give the same cases).
    pub seed: u64,
    /// Rows per tenant and table the operations aim at.
    pub sample_rows: u32,
}

impl ProveOptions {
    pub fn for_app(app: &App) -> ProveOptions {
        let t = &app.toml.tenant;
        ProveOptions {
            tenant_column: t.column.clone(),
            setting: t.setting.clone(),
            app_role: app.toml.roles.app.clone(),
            root_table: t.root_table.clone(),
            context: t.context.clone(),
            cases: 1000,
            seed: 0,
            sample_rows: 20,
        }
    }
}

/// Where the database is.
#[derive(Debug, Clone)]
pub struct Targets {
    /// The oracle on the primary: a superuser or a BYPASSRLS role.
    pub primary: PgConnectOptions,
    /// A login as the app role on the primary; None: `SET ROLE` on the oracle.
    pub primary_app: Option<PgConnectOptions>,
    /// The oracle on the replica, when there is one.
    pub replica: Option<PgConnectOptions>,
    /// A login as the app role on the replica; None: `SET ROLE`.
    pub replica_app: Option<PgConnectOptions>,
}

/// Why the proof could not run (a counterexample is not an error: it is
/// in the report).
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("cannot connect to {what}: {source}; check the URL, the server and the credentials")]
    Connect {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{user} can be bound by row-level security (neither superuser nor BYPASSRLS), so it cannot be the oracle that sees every row; connect with such a role (the owner or migration role, or a superuser)")]
    NotOracle { user: String },
    #[error("cannot act as the app role {role}: {why}")]
    AppRole { role: String, why: String },
    #[error("database {database} has no table with the tenant column {column:?}; check --tenant-column or the app folder")]
    NoTenantTables { column: String, database: String },
    #[error("the database holds rows of {found} tenant(s); the proof needs rows of at least two tenants to try one against the other (load data first, or run without --url so the harness loads a sample)")]
    NotEnoughTenants { found: usize },
    #[error("the app role sees nothing even for its own tenant: the proof would be empty; check the context setting ({setting}) / grants")]
    Vacuous { setting: String },
    #[error("{problem}")]
    Options { problem: String },
    #[error("reading {what}: {source}")]
    Sql {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the proof's internal work failed: {0}")]
    Join(String),
}

impl ProveError {
    /// The user's input is wrong (flags, folder, a database without data).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            ProveError::NotOracle { .. }
                | ProveError::AppRole { .. }
                | ProveError::NoTenantTables { .. }
                | ProveError::NotEnoughTenants { .. }
                | ProveError::Vacuous { .. }
                | ProveError::Options { .. }
        )
    }

    /// The database could not be reached.
    pub fn is_connect(&self) -> bool {
        matches!(self, ProveError::Connect { .. })
    }
}

/// A tenant table as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct TableLine {
    pub table: String,
    pub rows: i64,
    pub tenants: usize,
    pub root: bool,
}

/// The proof's result.
#[derive(Debug, Clone, Serialize)]
pub struct ProveReport {
    pub database: String,
    pub server_version: String,
    pub tenant_column: String,
    pub setting: String,
    pub extra_settings: Vec<String>,
    pub app_role: String,
    pub tables: Vec<TableLine>,
    pub tenants: usize,
    pub seed: u64,
    /// The property on the primary, then on the replica.
    pub property: Vec<PropertyOutcome>,
    pub probes: Vec<Probe>,
    /// The oracle's digest of every tenant table is the same after the run.
    pub unchanged: bool,
    pub seconds: f64,
}

impl ProveReport {
    /// Isolation holds: no counterexample, no failed probe, data unchanged.
    pub fn passed(&self) -> bool {
        self.property.iter().all(|p| p.passed)
            && self.probes.iter().all(|p| p.status != Status::Fail)
            && self.unchanged
    }

    /// The first counterexample, primary first.
    pub fn counterexample(&self) -> Option<&Counterexample> {
        self.property.iter().find_map(|p| p.counterexample.as_ref())
    }

    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }

    pub fn to_text(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "prove-rls: {} (PostgreSQL {}), as {}, tenant {} set by {}{}",
            self.database,
            self.server_version,
            self.app_role,
            self.tenant_column,
            self.setting,
            if self.extra_settings.is_empty() {
                String::new()
            } else {
                format!(" (and {})", self.extra_settings.join(", "))
            }
        );
        let _ = writeln!(
            o,
            "{} tenant tables, {} tenants, seed {}",
            self.tables.len(),
            self.tenants,
            self.seed
        );
        for t in &self.tables {
            let _ = writeln!(
                o,
                "  {:<32} {:>8} rows {:>5} tenants{}",
                t.table,
                t.rows,
                t.tenants,
                if t.root { "  (the tenants)" } else { "" }
            );
        }
        o.push('\n');
        for p in &self.property {
            let state = match (&p.skipped, p.passed) {
                (Some(why), _) => format!("skipped: {why}"),
                (None, true) => "holds".to_string(),
                (None, false) => "FAILS".to_string(),
            };
            let _ = writeln!(
                o,
                "isolation property on the {} ({}; {} cases, {:.1}s): {state}",
                p.server, p.commands, p.cases, p.seconds
            );
            if let Some(c) = &p.counterexample {
                let _ = writeln!(o, "  minimal counterexample:");
                let _ = writeln!(o, "    table:     {}", c.table);
                let _ = writeln!(o, "    command:   {} ({})", c.command, c.operation);
                let _ = writeln!(o, "    context:   {}", c.context);
                if let Some(r) = &c.row {
                    let _ = writeln!(o, "    row:       {r}");
                }
                if let Some(t) = &c.other_tenant {
                    let _ = writeln!(o, "    for:       tenant {t}");
                }
                let _ = writeln!(o, "    observed:  {}", c.observed);
            }
        }
        o.push('\n');
        for p in &self.probes {
            let _ = writeln!(
                o,
                "[{:<4}] {:<28} {}{}",
                p.status.as_str(),
                p.name,
                if matches!(p.status, Status::Fail | Status::Warn) {
                    format!("({}) ", p.severity)
                } else {
                    String::new()
                },
                p.detail
            );
        }
        let _ = writeln!(
            o,
            "\ndata {} after the run ({:.1}s): {}",
            if self.unchanged {
                "unchanged"
            } else {
                "CHANGED"
            },
            self.seconds,
            if self.passed() {
                "isolation holds"
            } else {
                "isolation does NOT hold"
            }
        );
        o
    }
}

async fn connect(opts: &PgConnectOptions, what: &str) -> Result<PgConnection, ProveError> {
    let opts = opts.clone().disable_statement_logging();
    PgConnection::connect_with(&opts)
        .await
        .map_err(|source| ProveError::Connect {
            what: what.to_string(),
            source,
        })
}

/// An app-role connection: a login, or `SET ROLE` on an oracle connection.
async fn app_connection(
    oracle: &PgConnectOptions,
    login: Option<&PgConnectOptions>,
    role: &str,
    what: &str,
) -> Result<PgConnection, ProveError> {
    let app_err = |why: String| ProveError::AppRole {
        role: role.to_string(),
        why,
    };
    let mut conn = match login {
        Some(l) => connect(l, &format!("{what} as the app role")).await?,
        None => {
            let mut c = connect(oracle, what).await?;
            sqlx::query(AssertSqlSafe(format!("set role {}", quote(role))))
                .execute(&mut c)
                .await
                .map_err(|e| {
                    app_err(format!(
                        "SET ROLE failed ({e}); grant the role to the connecting user or give a login as the app role"
                    ))
                })?;
            c
        }
    };
    let (user, sup, bypass): (String, bool, bool) = sqlx::query_as(
        "select current_user::text, rolsuper, rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(|e| app_err(e.to_string()))?;
    if user != role {
        return Err(app_err(format!(
            "the login is {user}, not the app role; give the app role's own login"
        )));
    }
    // A superuser or BYPASSRLS app role is a finding (probe), not a reason
    // to stop: the property then shows what it leaks.
    let _ = (sup, bypass);
    Ok(conn)
}

async fn conns_for(
    oracle: &PgConnectOptions,
    login: Option<&PgConnectOptions>,
    role: &str,
    server: &str,
) -> Result<ops::Conns, ProveError> {
    let mut owner = connect(oracle, server).await?;
    let (user, ok): (String, bool) = sqlx::query_as(
        "select current_user::text, rolsuper or rolbypassrls from pg_roles where rolname = current_user",
    )
    .fetch_one(&mut owner)
    .await
    .map_err(|source| ProveError::Sql {
        what: "the oracle's role".into(),
        source,
    })?;
    if !ok {
        return Err(ProveError::NotOracle { user });
    }
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut owner)
            .await
            .map_err(|source| ProveError::Sql {
                what: "the app role".into(),
                source,
            })?;
    if !exists {
        return Err(ProveError::AppRole {
            role: role.into(),
            why: "no such role in this cluster; check --app-role or app.toml [roles] app".into(),
        });
    }
    Ok(ops::Conns {
        owner,
        app: app_connection(oracle, login, role, server).await?,
        never: app_connection(oracle, login, role, server).await?,
    })
}

fn sql(what: &str) -> impl FnOnce(sqlx::Error) -> ProveError + '_ {
    move |source| ProveError::Sql {
        what: what.to_string(),
        source,
    }
}

/// Run the whole proof.
pub async fn prove(targets: &Targets, opts: &ProveOptions) -> Result<ProveReport, ProveError> {
    let t0 = Instant::now();
    let mut conns = conns_for(
        &targets.primary,
        targets.primary_app.as_ref(),
        &opts.app_role,
        "the primary",
    )
    .await?;
    let world = catalog::read_world(&mut conns.owner, opts).await?;
    if world.tenants.len() < 2 {
        return Err(ProveError::NotEnoughTenants {
            found: world.tenants.len(),
        });
    }
    let before = catalog::digest(&mut conns.owner, &world.tables).await?;
    non_vacuous(&mut conns.app, &world, opts).await?;

    // The property runs on a blocking thread: proptest's runner is
    // synchronous and each case blocks on the async operation.
    let handle = tokio::runtime::Handle::current();
    let (w, o) = (world.clone(), opts.clone());
    let (mut conns, primary) = tokio::task::spawn_blocking(move || {
        let r = property::run(
            &handle,
            &mut conns,
            &w,
            &o.setting,
            property::Plan {
                server: "primary",
                cases: o.cases,
                seed: o.seed,
                read_only: false,
            },
        );
        (conns, r)
    })
    .await
    .map_err(|e| ProveError::Join(e.to_string()))?;
    let primary = primary.map_err(sql("an operation on the primary"))?;

    let mut probes = probes::all(&mut conns, &world, opts)
        .await
        .map_err(sql("a probe"))?;

    let replica = match &targets.replica {
        None => PropertyOutcome {
            server: "replica".into(),
            commands: "SELECT".into(),
            cases: 0,
            seconds: 0.0,
            passed: true,
            skipped: Some("no replica given".into()),
            counterexample: None,
        },
        Some(r) => {
            let lsn: String = sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
                .fetch_one(&mut conns.owner)
                .await
                .map_err(sql("the primary's WAL position"))?;
            // Replay first: the app role's login (its password, the
            // grants) may be younger than the replica's last replay.
            let mut oracle = connect(r, "the replica").await?;
            crate::cluster::wait_replayed(&mut oracle, &lsn, std::time::Duration::from_secs(60))
                .await
                .map_err(|e| ProveError::Options {
                    problem: format!("the replica did not catch up: {e}"),
                })?;
            drop(oracle);
            let mut rc = conns_for(
                r,
                targets.replica_app.as_ref(),
                &opts.app_role,
                "the replica",
            )
            .await?;
            let handle = tokio::runtime::Handle::current();
            let (w, o) = (world.clone(), opts.clone());
            let n = (opts.cases / 10).max(20).min(opts.cases.max(1));
            let (_rc, out) = tokio::task::spawn_blocking(move || {
                let r = property::run(
                    &handle,
                    &mut rc,
                    &w,
                    &o.setting,
                    property::Plan {
                        server: "replica",
                        cases: n,
                        seed: o.seed,
                        read_only: true,
                    },
                );
                (rc, r)
            })
            .await
            .map_err(|e| ProveError::Join(e.to_string()))?;
            out.map_err(sql("a read on the replica"))?
        }
    };
    probes.push(Probe {
        name: "replica".into(),
        status: match (&replica.skipped, replica.passed) {
            (Some(_), true) => Status::Skip,
            (_, true) => Status::Pass,
            (_, false) => Status::Fail,
        },
        severity: crate::rls::audit::Severity::High,
        detail: match (&replica.skipped, &replica.counterexample) {
            (Some(why), _) => why.clone(),
            (None, Some(c)) => format!("{}: {} under {}: {}", c.table, c.command, c.context, c.observed),
            (None, None) => format!(
                "{} generated reads on the replica as the app role saw only the context tenant's rows",
                replica.cases
            ),
        },
    });
    let after = catalog::digest(&mut conns.owner, &world.tables).await?;
    Ok(ProveReport {
        database: world.database.clone(),
        server_version: world.server_version.clone(),
        tenant_column: opts.tenant_column.clone(),
        setting: opts.setting.clone(),
        extra_settings: world.extras.iter().map(|e| e.0.clone()).collect(),
        app_role: opts.app_role.clone(),
        tables: world
            .tables
            .iter()
            .map(|t| TableLine {
                table: t.display.clone(),
                rows: t.total(),
                tenants: t.counts.keys().filter(|k| k.is_some()).count(),
                root: t.is_root,
            })
            .collect(),
        tenants: world.tenants.len(),
        seed: opts.seed,
        property: vec![primary, replica],
        probes,
        unchanged: before == after,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// With a tenant set the app role must see some of its own rows somewhere,
/// or every check above would pass on nothing.
async fn non_vacuous(
    app: &mut PgConnection,
    world: &catalog::World,
    opts: &ProveOptions,
) -> Result<(), ProveError> {
    let extras_first: Vec<(String, String)> = world
        .extras
        .iter()
        .map(|(k, v)| (k.clone(), v[0].clone()))
        .collect();
    for t in world.tenants.iter().take(3) {
        for extras in [Vec::new(), extras_first.clone()] {
            let mut tx = app.begin().await.map_err(sql("a transaction"))?;
            ops::set_context(
                &mut tx,
                &opts.setting,
                &ops::Ctx::Tenant(t.clone()),
                &extras,
            )
            .await
            .map_err(sql("setting the context"))?;
            for table in &world.tables {
                sqlx::query("savepoint seen")
                    .execute(&mut *tx)
                    .await
                    .map_err(sql("a savepoint"))?;
                let n: Result<i64, _> = sqlx::query_scalar(AssertSqlSafe(format!(
                    "select count(*)::int8 from {} where {}::text = $1",
                    table.sql,
                    table.tenant_sql()
                )))
                .bind(t)
                .fetch_one(&mut *tx)
                .await;
                sqlx::query("rollback to savepoint seen")
                    .execute(&mut *tx)
                    .await
                    .map_err(sql("a savepoint"))?;
                if n.is_ok_and(|n| n > 0) {
                    return Ok(());
                }
            }
            tx.rollback().await.map_err(sql("a rollback"))?;
        }
    }
    Err(ProveError::Vacuous {
        setting: opts.setting.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_the_folder_with_a_thousand_cases() {
        let toml = "name = \"t\"\ndatabase = \"t\"\n[tenant]\ncolumn = \"tenant\"\n\
                    setting = \"t.tenant\"\n[tenant.context]\n\"t.role\" = [\"a\"]\n\
                    [roles]\nowner = \"o\"\napp = \"a\"\n";
        let app = App {
            dir: ".".into(),
            toml: toml::from_str(toml).unwrap(),
            mapping: crate::app::Mapping::default(),
            legacy_sql: None,
            data_sql: None,
            data_toml: None,
        };
        let o = ProveOptions::for_app(&app);
        assert_eq!(o.cases, 1000);
        assert_eq!(o.app_role, "a");
        assert_eq!(o.context.len(), 1);
    }
}
