//! The test bed: a real primary and streaming replica started through
//! `harness::cluster`, seeded with the fixtures crate's PostgreSQL writer,
//! and query parameters picked from the seeded rows so every bench case
//! touches real data (a search for a word nobody wrote prices nothing).
//!
//! Connections come already in their mode: superuser login, then a
//! session-level `SET ROLE` (portal_app / portal_reader: RLS applies;
//! portal_owner: it owns the tables, so RLS does not) and the tenant
//! context set session-wide, so a timed iteration is the query alone, with
//! the same per-query overhead in every mode.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use envvar::parse_env;
use fixtures::generate::Spec;
use fixtures::schema::Table;
use harness::cluster::{BackendKind, Cluster, ClusterConfig, Durability, Endpoint};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

/// The database the benches seed (not `portal`: a bench never shares).
pub const DATABASE: &str = "portal_bench";

/// Parameters for the named queries, picked from the seeded data.
#[derive(Debug, Clone)]
pub struct Params {
    /// The tenant with the most projects: the worst case a tenant sees.
    pub company: Uuid,
    pub user: Uuid,
    /// The project with the most applications in that tenant.
    pub project: Uuid,
    /// The applicant with the most applications in that tenant.
    pub applicant: Uuid,
    /// A frequent word of the tenant's project search vectors.
    pub project_word: String,
    /// An applicant last name present in the tenant.
    pub applicant_word: String,
    /// A location fragment of one of the tenant's projects.
    pub location: String,
    pub statuses: Vec<String>,
}

pub struct Bed {
    pub cluster: Cluster,
    pub spec: Spec,
    pub params: Params,
    /// Rows per table after seeding.
    pub rows: BTreeMap<String, u64>,
    pub seed_seconds: f64,
}

/// Which role a connection runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// portal_app with the tenant context: row-level security applies.
    App,
    /// portal_owner: owns the tables, RLS does not apply.
    Owner,
    /// portal_reader with the tenant context (replica reads).
    Reader,
}

impl Mode {
    pub fn role(self) -> &'static str {
        match self {
            Mode::App => "portal_app",
            Mode::Owner => "portal_owner",
            Mode::Reader => "portal_reader",
        }
    }
}

/// The bench spec: `BENCH_TENANTS`, `BENCH_SCALE`, `BENCH_SEED` or the
/// generator's default (50 tenants, about 100k rows, seed 1).
pub fn spec_from_env() -> anyhow::Result<Spec> {
    let d = Spec::default();
    Ok(Spec {
        tenants: parse_env("BENCH_TENANTS")?.unwrap_or(d.tenants),
        scale: parse_env("BENCH_SCALE")?.unwrap_or(d.scale),
        seed: parse_env("BENCH_SEED")?.unwrap_or(d.seed),
        edge_rate: 0.0,
    })
}

/// `NAME=value` settings of the bench, parsed with a message naming the variable.
mod envvar {
    pub fn parse_env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => v
                .parse::<T>()
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{name}={v:?} is not valid: {e}")),
            _ => Ok(None),
        }
    }
}

impl Bed {
    /// Start a cluster (native unless `HARNESS_BACKEND` says otherwise;
    /// durability from `HARNESS_DURABILITY`, default fast), seed it, wait
    /// for the replica to replay the seed, pick parameters.
    pub async fn start(spec: Spec) -> anyhow::Result<Bed> {
        use clap::ValueEnum;
        let backend = match std::env::var("HARNESS_BACKEND") {
            Ok(v) if !v.is_empty() => BackendKind::from_str(&v, true)
                .map_err(|e| anyhow::anyhow!("HARNESS_BACKEND: {e}"))?,
            _ => BackendKind::Native,
        };
        let durability = match std::env::var("HARNESS_DURABILITY") {
            Ok(v) if !v.is_empty() => Durability::from_str(&v, true)
                .map_err(|e| anyhow::anyhow!("HARNESS_DURABILITY: {e}"))?,
            _ => Durability::Fast,
        };
        let cluster = Cluster::start(&ClusterConfig {
            backend,
            durability,
            ..Default::default()
        })
        .await
        .context("starting the bench cluster")?;
        {
            let mut admin = cluster.primary().connect().await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("create database {DATABASE}")))
                .execute(&mut admin)
                .await
                .context("creating the bench database")?;
        }
        let target = cluster.primary().with_database(DATABASE).connect_options();
        let started = std::time::Instant::now();
        // The seed's path: the generator's legacy file, moved by the
        // migration (the one bulk loader).
        let dir = tempfile::tempdir().context("a temporary directory for the legacy file")?;
        let legacy = dir.path().join("legacy.db");
        let (spec2, path2) = (spec, legacy.clone());
        tokio::task::spawn_blocking(move || fixtures::write_sqlite(&spec2, &path2, &mut |_| {}))
            .await?
            .context("writing the bench's legacy file")?;
        let report = harness::migrate::migrate(
            &harness::reference::app(None)?,
            &legacy,
            &target,
            &harness::migrate::MigrateOptions {
                on_error: harness::migrate::OnError::Stop,
                reject_path: dir.path().join("rejects.jsonl"),
                progress: false,
                verify: false,
                integrity_check: false,
            },
        )
        .await
        .context("seeding the bench database")?;
        anyhow::ensure!(
            report.rejects == 0,
            "the bench seed refused {} rows",
            report.rejects
        );
        let seed_seconds = started.elapsed().as_secs_f64();
        let lsn = cluster.current_lsn().await?;
        cluster
            .wait_for_replay(&lsn, Duration::from_secs(300))
            .await
            .context("waiting for the replica to replay the seed")?;
        let mut conn = cluster.primary().with_database(DATABASE).connect().await?;
        let params = pick_params(&mut conn).await?;
        let mut rows = BTreeMap::new();
        for t in Table::ALL {
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "select count(*) from {}",
                t.name()
            )))
            .fetch_one(&mut conn)
            .await?;
            rows.insert(t.name().to_string(), n as u64);
        }
        Ok(Bed {
            cluster,
            spec,
            params,
            rows,
            seed_seconds,
        })
    }

    pub fn primary(&self) -> Endpoint {
        self.cluster.primary().with_database(DATABASE)
    }

    pub fn replica(&self) -> anyhow::Result<Endpoint> {
        Ok(self.cluster.require_replica()?.with_database(DATABASE))
    }

    /// A connection to `endpoint` in `mode` (role + tenant context).
    pub async fn connect(&self, endpoint: &Endpoint, mode: Mode) -> anyhow::Result<PgConnection> {
        let mut c = endpoint.connect().await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("set role {}", mode.role())))
            .execute(&mut c)
            .await
            .with_context(|| format!("set role {}", mode.role()))?;
        sqlx::query("select set_config($1, $2, false), set_config($3, $4, false), set_config($5, $6, false)")
            .bind(fixtures::tenant::COMPANY_SETTING)
            .bind(self.params.company.to_string())
            .bind(fixtures::tenant::USER_SETTING)
            .bind(self.params.user.to_string())
            .bind(fixtures::tenant::ROLE_SETTING)
            .bind("admin")
            .execute(&mut c)
            .await?;
        Ok(c)
    }
}

async fn pick_params(c: &mut PgConnection) -> anyhow::Result<Params> {
    let company: Uuid = sqlx::query_scalar(
        "select company_id from projects group by 1 order by count(*) desc, 1 limit 1",
    )
    .fetch_one(&mut *c)
    .await
    .context("no projects were seeded")?;
    let user: Uuid = sqlx::query_scalar(
        "select id from users where company_id = $1 order by (role = 'admin') desc, id limit 1",
    )
    .bind(company)
    .fetch_one(&mut *c)
    .await
    .context("the biggest tenant has no users")?;
    let project: Uuid = sqlx::query_scalar(
        "select p.id from projects p left join applications a on a.company_id = p.company_id and a.project_id = p.id
         where p.company_id = $1 group by p.id order by count(a.id) desc, p.id limit 1",
    )
    .bind(company)
    .fetch_one(&mut *c)
    .await?;
    let applicant: Uuid = sqlx::query_scalar(
        "select ap.id from applicants ap left join applications a on a.company_id = ap.company_id and a.applicant_id = ap.id
         where ap.company_id = $1 group by ap.id order by count(a.id) desc, ap.id limit 1",
    )
    .bind(company)
    .fetch_one(&mut *c)
    .await
    .context("the biggest tenant has no applicants")?;
    // ts_stat takes the query as text; the uuid is ours, formatted, not input.
    let project_word: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select word from ts_stat($$select search_vector from projects where company_id = '{company}'$$)
         where length(word) > 3 order by ndoc desc, word offset 2 limit 1"
    )))
    .fetch_one(&mut *c)
    .await
    .context("no word to search projects for")?;
    let applicant_word: String =
        sqlx::query_scalar("select last_name from applicants where company_id = $1 and last_name <> '' order by id limit 1")
            .bind(company)
            .fetch_one(&mut *c)
            .await?;
    let location: String = sqlx::query_scalar(
        "select left(split_part(location, ',', 1), 6) from projects where company_id = $1 and location <> '' order by id limit 1",
    )
    .bind(company)
    .fetch_one(&mut *c)
    .await?;
    let statuses: Vec<String> =
        sqlx::query_scalar("select distinct status from projects order by 1")
            .fetch_all(&mut *c)
            .await?;
    c.ping().await?;
    Ok(Params {
        company,
        user,
        project,
        applicant,
        project_word,
        applicant_word,
        location,
        statuses,
    })
}
