//! The cluster layer: one [`Cluster`] hands out a running PostgreSQL primary
//! and a streaming replica, measures replication lag, injects faults, and
//! tears everything down.
//!
//! Every check the harness makes runs against a real primary and a real
//! streaming replica, so this is the first stage of every run. Backends:
//!
//! - [`native`]: the locally installed server binaries, `initdb` into a
//!   per-run directory, `pg_basebackup -R` for the replica, ports on
//!   127.0.0.1, sockets inside the run directory; processes run as an
//!   unprivileged user when the harness is root.
//! - [`docker`]: testcontainers, primary and replica containers on a
//!   user-defined network; the replica is `pg_basebackup -R` from the primary.
//!   The image is the official `postgres` image where a registry answers, or
//!   the one `just image` builds from Debian's packages ([`image`]); both
//!   offer the same entrypoint contract, so one code path serves both.
//! - [`external`]: URLs of servers that already exist; nothing is created or
//!   dropped there unless the user says the database is disposable.
//!
//! Every server is reached through an [`Endpoint`]; [`url`] reads and writes
//! its URLs and keeps their parameters (TLS above all) on the way.
//!
//! The backends are an enum rather than a trait object: there are three,
//! their fault controls differ in shape (a process, a container, nothing), and
//! async trait objects would cost boxing on every call for no gain.
//!
//! A pooler ([`pooler`]: PgBouncer in transaction mode) may run in front of
//! the servers (`pooler = "pgbouncer"`); it starts after the servers, stops
//! before them, and its endpoints sit next to the direct ones.
//!
//! Lag, replay waits and the SQL-level faults (pause, resume, promote) are the
//! same on every backend and live here; only process-level faults (stop, kill,
//! restart) are per backend.

pub mod archive;
pub mod docker;
pub mod external;
pub mod image;
pub mod janitor;
pub mod native;
pub mod pooler;
pub mod url;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

/// Which backend runs the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// docker when the engine answers and an image is available, else native.
    #[default]
    Auto,
    /// testcontainers (official `postgres` image or the locally built one).
    Docker,
    /// The locally installed PostgreSQL server binaries.
    Native,
    /// Existing servers given by URL.
    External,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Auto => "auto",
            BackendKind::Docker => "docker",
            BackendKind::Native => "native",
            BackendKind::External => "external",
        }
    }
}

/// How much the servers care about durability. Part of the configuration
/// because it changes every latency figure: reports keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Tests: fsync, synchronous_commit and full_page_writes off.
    #[default]
    Fast,
    /// Load and capacity runs: fsync and synchronous commit on.
    Realistic,
    /// Realistic plus synchronous replication with `remote_apply`, so a
    /// commit returns only once the replica has applied it (read-your-writes).
    SyncApply,
}

impl Durability {
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Fast => "fast",
            Durability::Realistic => "realistic",
            Durability::SyncApply => "sync-apply",
        }
    }

    /// Server settings passed at start (`-c name=value`).
    pub fn settings(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Durability::Fast => vec![
                ("fsync", "off"),
                ("synchronous_commit", "off"),
                ("full_page_writes", "off"),
            ],
            Durability::Realistic | Durability::SyncApply => vec![
                ("fsync", "on"),
                ("synchronous_commit", "on"),
                ("full_page_writes", "on"),
            ],
        }
    }
}

/// Settings every harness-started server gets, whatever the backend. Kept
/// small: enough for replication, `pg_stat_statements` sampling and a pooled
/// load of 10k users.
pub fn base_settings() -> Vec<(&'static str, &'static str)> {
    vec![
        ("listen_addresses", "*"),
        ("max_connections", "300"),
        ("shared_buffers", "256MB"),
        ("wal_level", "replica"),
        ("max_wal_senders", "10"),
        ("hot_standby", "on"),
        ("hot_standby_feedback", "on"),
        ("wal_keep_size", "512MB"),
        ("shared_preload_libraries", "pg_stat_statements"),
        ("track_io_timing", "on"),
        ("log_min_messages", "warning"),
    ]
}

/// What the user asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    pub backend: BackendKind,
    pub durability: Durability,
    /// docker: the image, `name:tag`. None picks the official image when it
    /// is present or can be pulled, else the locally built one.
    pub image: Option<String>,
    /// native: the directory holding `initdb`, `postgres`, `pg_basebackup`.
    pub pg_bindir: Option<PathBuf>,
    /// external: the primary's URL.
    pub primary_url: Option<String>,
    /// external: the replica's URL (none: reads go to the primary and
    /// replica checks are skipped with a reason).
    pub replica_url: Option<String>,
    /// external: the user says the database may be written and dropped.
    pub disposable: bool,
    /// Extra server settings, `name = value`, applied after the defaults.
    pub settings: BTreeMap<String, String>,
    /// Seconds to wait for a server to accept connections.
    pub start_timeout_secs: u64,
    /// A pooler in front of the servers (`pgbouncer`: transaction mode,
    /// one instance per server; docs/pooling.md).
    pub pooler: pooler::PoolerKind,
    /// PgBouncer's `default_pool_size`: server connections per database
    /// and role.
    pub pooler_pool_size: u32,
    /// PgBouncer's `max_client_conn`, per instance.
    pub pooler_max_clients: u32,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            backend: BackendKind::Auto,
            durability: Durability::Fast,
            image: None,
            pg_bindir: None,
            primary_url: None,
            replica_url: None,
            disposable: false,
            settings: BTreeMap::new(),
            start_timeout_secs: 60,
            pooler: pooler::PoolerKind::None,
            pooler_pool_size: pooler::DEFAULT_POOL_SIZE,
            pooler_max_clients: pooler::DEFAULT_MAX_CLIENTS,
        }
    }
}

impl ClusterConfig {
    /// All server settings in the order they are applied: base, durability,
    /// then the user's own.
    pub fn server_settings(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: &str| {
            if let Some(slot) = out.iter_mut().find(|(name, _)| name == k) {
                slot.1 = v.to_string();
            } else {
                out.push((k.to_string(), v.to_string()));
            }
        };
        for (k, v) in base_settings() {
            put(k, v);
        }
        for (k, v) in self.durability.settings() {
            put(k, v);
        }
        for (k, v) in &self.settings {
            put(k, v);
        }
        out
    }
}

/// Where one server listens, who to be there, and how to connect: the
/// URL's query parameters (`sslmode`, `sslrootcert`, ...) in the order
/// given, by their libpq names. Reading and writing URLs is [`url`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
}

impl Endpoint {
    /// The same server and parameters, another database.
    pub fn with_database(&self, database: &str) -> Endpoint {
        Endpoint {
            database: database.to_string(),
            ..self.clone()
        }
    }

    /// The same server and parameters, another login.
    pub fn with_user(&self, user: &str, password: Option<&str>) -> Endpoint {
        Endpoint {
            user: user.to_string(),
            password: password.map(str::to_string),
            ..self.clone()
        }
    }

    /// One connection, within the URL's `connect_timeout` when it has one.
    pub async fn connect(&self) -> Result<PgConnection, ClusterError> {
        let opts = self.connect_options();
        let attempt = PgConnection::connect_with(&opts);
        let res = match self.connect_timeout() {
            Some(t) => tokio::time::timeout(t, attempt).await.map_err(|_| {
                ClusterError::Timeout(
                    t,
                    format!("{} to answer (connect_timeout)", self.redacted()),
                )
            })?,
            None => attempt.await,
        };
        res.map_err(|e| ClusterError::connect(self, e))
    }

    /// A small pool for control work (not the load pool).
    pub async fn pool(&self, max: u32) -> Result<PgPool, ClusterError> {
        PgPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(self.connect_timeout().unwrap_or(Duration::from_secs(30)))
            .connect_with(self.connect_options())
            .await
            .map_err(|e| ClusterError::connect(self, e))
    }
}

/// What a report needs to know about the cluster a figure came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub backend: BackendKind,
    pub durability: Durability,
    pub server_version: String,
    pub image: Option<String>,
    pub bindir: Option<PathBuf>,
    pub has_replica: bool,
    pub settings: BTreeMap<String, String>,
    pub started_in_ms: u128,
    /// The pooler in front of the servers, described (version, mode,
    /// limits); also under `pooler` in `settings`, so reports show it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooler: Option<String>,
}

/// Replication lag at one instant.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Lag {
    /// WAL the primary has written that the replica has not replayed.
    pub bytes: i64,
    /// The replica's replay lag as the primary sees it (0 when caught up).
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("no backend can run here: {0}")]
    NoBackend(String),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("cannot connect to {url}: {source}\n  hint: {hint}")]
    Connect {
        url: String,
        /// What to do; says which TLS step failed when one did.
        hint: String,
        /// The failure is TLS's (see [`url::diagnose`]): retrying cannot help.
        tls: bool,
        #[source]
        source: sqlx::Error,
    },
    #[error("query on {role} failed: {source}")]
    Sql {
        role: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("docker: {0}")]
    Docker(String),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("{0} is not available on the {1} backend")]
    Unsupported(&'static str, &'static str),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ClusterError {
    fn connect(ep: &Endpoint, source: sqlx::Error) -> Self {
        let tls = url::diagnose(ep, &source);
        ClusterError::Connect {
            url: ep.redacted(),
            hint: match &tls {
                Some(t) => t.hint(ep),
                None => "is the server running and reachable? check host, port, user and password"
                    .into(),
            },
            tls: tls.is_some(),
            source,
        }
    }

    /// Whether this is a TLS failure (a setting to change, not a server
    /// still starting).
    pub fn is_tls_failure(&self) -> bool {
        matches!(self, ClusterError::Connect { tls: true, .. })
    }

    fn sql(role: &'static str) -> impl FnOnce(sqlx::Error) -> ClusterError {
        move |source| ClusterError::Sql { role, source }
    }
}

enum Backend {
    // Boxed: the two variants differ in size by hundreds of bytes, and a
    // Cluster lives for a whole run, so one allocation costs nothing.
    Native(Box<native::NativeCluster>),
    Docker(Box<docker::DockerCluster>),
    External,
}

/// A running primary and (unless external without one) a streaming replica.
/// Dropping it stops and removes everything it started.
pub struct Cluster {
    info: ClusterInfo,
    primary: Endpoint,
    replica: Option<Endpoint>,
    // Before `backend`: fields drop in order, so the pooler stops before
    // the servers it forwards to.
    pooler: Option<pooler::PgBouncer>,
    backend: Backend,
    /// The replica was promoted ([`Cluster::fail_over`]): `primary` is the
    /// former replica, and there is no replica any more.
    promoted: bool,
}

impl Cluster {
    /// Start (or attach to) a cluster as configured. `auto` picks docker when
    /// the engine answers and an image is there, else native.
    pub async fn start(cfg: &ClusterConfig) -> Result<Cluster, ClusterError> {
        janitor::sweep();
        let t0 = Instant::now();
        let kind = match cfg.backend {
            BackendKind::Auto => auto_pick(cfg)?,
            k => k,
        };
        let (backend, primary, replica, image, bindir) = match kind {
            BackendKind::Docker => {
                let image = match &cfg.image {
                    Some(i) => i.clone(),
                    None => image::pick_image()?.ok_or_else(|| {
                        ClusterError::NoBackend(format!(
                            "no PostgreSQL image is present and none can be pulled; build one with `just image` (or `harness image`), or pass --image. {}",
                            image::PULL_HINT
                        ))
                    })?,
                };
                let d = docker::DockerCluster::start(cfg, &image).await?;
                let (p, r) = (d.primary.clone(), d.replica.clone());
                (Backend::Docker(Box::new(d)), p, Some(r), Some(image), None)
            }
            BackendKind::Native => {
                let n = native::NativeCluster::start(cfg).await?;
                let (p, r, b) = (n.primary.clone(), n.replica.clone(), n.bindir.clone());
                (Backend::Native(Box::new(n)), p, Some(r), None, Some(b))
            }
            BackendKind::External => {
                let (p, r) = external::endpoints(cfg)?;
                (Backend::External, p, r, None, None)
            }
            BackendKind::Auto => unreachable!("auto resolved above"),
        };
        let mut cluster = Cluster {
            info: ClusterInfo {
                backend: kind,
                durability: cfg.durability,
                server_version: String::new(),
                image,
                bindir,
                has_replica: replica.is_some(),
                settings: BTreeMap::new(),
                started_in_ms: 0,
                pooler: None,
            },
            primary,
            replica,
            pooler: None,
            backend,
            promoted: false,
        };
        cluster
            .wait_ready(Duration::from_secs(cfg.start_timeout_secs))
            .await?;
        if cfg.durability == Durability::SyncApply && !matches!(cluster.backend, Backend::External)
        {
            cluster.enable_sync_apply().await?;
        }
        cluster.read_info().await?;
        if cfg.pooler != pooler::PoolerKind::None {
            cluster.start_pooler(cfg).await?;
        }
        cluster.info.started_in_ms = t0.elapsed().as_millis();
        Ok(cluster)
    }

    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    pub fn primary(&self) -> &Endpoint {
        &self.primary
    }

    /// The replica, or None for an external target given without one.
    pub fn replica(&self) -> Option<&Endpoint> {
        self.replica.as_ref()
    }

    /// The replica, or an error that says why there is none.
    pub fn require_replica(&self) -> Result<&Endpoint, ClusterError> {
        self.replica.as_ref().ok_or_else(|| {
            ClusterError::Config("this check needs a replica; give --replica-url".into())
        })
    }

    /// The pooler in front of the servers, when one runs.
    pub fn pooler(&self) -> Option<&pooler::PgBouncer> {
        self.pooler.as_ref()
    }

    /// The primary through the pooler, when one runs.
    pub fn pooled_primary(&self) -> Option<&Endpoint> {
        self.pooler.as_ref().map(|p| &p.primary)
    }

    /// The replica through the pooler, when one runs.
    pub fn pooled_replica(&self) -> Option<&Endpoint> {
        self.pooler.as_ref().and_then(|p| p.replica.as_ref())
    }

    async fn start_pooler(&mut self, cfg: &ClusterConfig) -> Result<(), ClusterError> {
        let limits = pooler::Limits {
            pool_size: cfg.pooler_pool_size.max(1),
            max_clients: cfg.pooler_max_clients.max(1),
        };
        let timeout = Duration::from_secs(cfg.start_timeout_secs);
        let p = match &self.backend {
            Backend::Native(n) => {
                let dir = n.run_dir().ok_or_else(|| {
                    ClusterError::Config("the native cluster has no run directory".into())
                })?;
                let mut servers = vec![("primary", &self.primary)];
                servers.extend(self.replica.as_ref().map(|r| ("replica", r)));
                pooler::PgBouncer::start_native(dir, n.account(), &servers, limits, timeout)
                    .await?
            }
            Backend::Docker(d) => {
                let image = self.info.image.clone().unwrap_or_default();
                let mut servers = vec![("primary", format!("{}-primary", d.tag), &self.primary)];
                servers.extend(
                    self.replica
                        .as_ref()
                        .map(|r| ("replica", format!("{}-replica", d.tag), r)),
                );
                pooler::PgBouncer::start_docker(&image, &d.tag, &servers, limits, timeout).await?
            }
            Backend::External => {
                return Err(ClusterError::Config(
                    "--pooler starts PgBouncer in front of servers the harness started (native or docker backend); for an external target, give your own PgBouncer's URLs as --primary-url/--replica-url".into(),
                ))
            }
        };
        let described = p.describe();
        self.info
            .settings
            .insert("pooler".into(), format!("pgbouncer: {described}"));
        self.info.pooler = Some(described);
        self.pooler = Some(p);
        Ok(())
    }

    /// One line for humans: backend, version, durability.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "backend={} postgres={} durability={}",
            self.info.backend.as_str(),
            self.info.server_version,
            self.info.durability.as_str()
        );
        if let Some(i) = &self.info.image {
            s.push_str(&format!(" image={i}"));
        }
        if let Some(p) = &self.pooler {
            s.push_str(&format!(" pooler={} (transaction mode)", p.version));
        }
        s
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        wait_accepting(&self.primary, timeout).await?;
        if let Some(r) = &self.replica {
            wait_accepting(r, timeout).await?;
            if !matches!(self.backend, Backend::External) {
                self.wait_streaming(timeout).await?;
            }
        }
        Ok(())
    }

    /// Wait until the primary lists the replica as streaming.
    pub async fn wait_streaming(&self, timeout: Duration) -> Result<(), ClusterError> {
        let mut c = self.primary.connect().await?;
        let deadline = Instant::now() + timeout;
        loop {
            let n: i64 = sqlx::query_scalar(
                "select count(*) from pg_stat_replication where state = 'streaming'",
            )
            .fetch_one(&mut c)
            .await
            .map_err(ClusterError::sql("primary"))?;
            if n > 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Timeout(
                    timeout,
                    "the replica to stream from the primary".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn read_info(&mut self) -> Result<(), ClusterError> {
        let mut c = self.primary.connect().await?;
        self.info.server_version = sqlx::query_scalar("show server_version")
            .fetch_one(&mut c)
            .await
            .map_err(ClusterError::sql("primary"))?;
        let rows: Vec<(String, String)> = sqlx::query_as(
            "select name, setting from pg_settings where name = any($1) order by name",
        )
        .bind(
            [
                "fsync",
                "synchronous_commit",
                "full_page_writes",
                "synchronous_standby_names",
                "shared_buffers",
                "max_connections",
                "wal_level",
            ]
            .map(String::from)
            .to_vec(),
        )
        .fetch_all(&mut c)
        .await
        .map_err(ClusterError::sql("primary"))?;
        self.info.settings = rows.into_iter().collect();
        Ok(())
    }

    async fn enable_sync_apply(&self) -> Result<(), ClusterError> {
        let mut c = self.primary.connect().await?;
        for stmt in [
            "alter system set synchronous_standby_names = '*'",
            "alter system set synchronous_commit = 'remote_apply'",
            "select pg_reload_conf()",
        ] {
            sqlx::query(stmt)
                .execute(&mut c)
                .await
                .map_err(ClusterError::sql("primary"))?;
        }
        Ok(())
    }

    /// The primary's current WAL insert position: every commit made so far
    /// is at or before it. (`pg_current_wal_lsn()` is the *write* position,
    /// which trails commits by up to `wal_writer_delay` under
    /// `synchronous_commit = off`, so a replay wait on it can return before
    /// the commit reached the replica.)
    pub async fn current_lsn(&self) -> Result<String, ClusterError> {
        let mut c = self.primary.connect().await?;
        sqlx::query_scalar("select pg_current_wal_insert_lsn()::text")
            .fetch_one(&mut c)
            .await
            .map_err(ClusterError::sql("primary"))
    }

    /// Replication lag now: bytes from the two servers' LSNs, seconds from
    /// the primary's `pg_stat_replication.replay_lag`.
    pub async fn lag(&self) -> Result<Lag, ClusterError> {
        let replica = self.require_replica()?;
        let mut p = self.primary.connect().await?;
        let mut r = replica.connect().await?;
        measure_lag(&mut p, &mut r).await
    }

    /// Wait until the replica has replayed `lsn`; returns how long it took.
    pub async fn wait_for_replay(
        &self,
        lsn: &str,
        timeout: Duration,
    ) -> Result<Duration, ClusterError> {
        let replica = self.require_replica()?;
        let mut r = replica.connect().await?;
        wait_replayed(&mut r, lsn, timeout).await
    }

    /// Pause WAL replay on the replica: lag grows while the primary writes.
    pub async fn pause_replica(&self) -> Result<(), ClusterError> {
        self.replica_sql("select pg_wal_replay_pause()").await
    }

    /// Resume WAL replay: the replica catches up.
    pub async fn resume_replica(&self) -> Result<(), ClusterError> {
        self.replica_sql("select pg_wal_replay_resume()").await
    }

    /// Promote the replica to a primary (it becomes writable).
    pub async fn promote_replica(&self) -> Result<(), ClusterError> {
        self.replica_sql("select pg_promote(true, 60)").await
    }

    async fn replica_sql(&self, sql: &'static str) -> Result<(), ClusterError> {
        let mut r = self.require_replica()?.connect().await?;
        sqlx::query(sql)
            .execute(&mut r)
            .await
            .map_err(ClusterError::sql("replica"))?;
        Ok(())
    }

    /// Fail over: kill the primary (a crash, and the fence: it takes no
    /// more writes), promote the replica and wait until it is writable.
    /// From then on [`Cluster::primary`] is the promoted server and there is
    /// no replica; the other fault controls refuse.
    pub async fn fail_over(&mut self) -> Result<(), ClusterError> {
        self.not_promoted("fail_over")?;
        match &mut self.backend {
            Backend::Native(n) => n.kill_primary().await?,
            Backend::Docker(d) => d.kill_primary().await?,
            Backend::External => return Err(ClusterError::Unsupported("fail_over", "external")),
        }
        self.promote_replica().await?;
        let promoted = self.require_replica()?.clone();
        self.primary = promoted;
        self.replica = None;
        self.promoted = true;
        self.info.has_replica = false;
        Ok(())
    }

    fn not_promoted(&self, what: &str) -> Result<(), ClusterError> {
        if self.promoted {
            return Err(ClusterError::Config(format!(
                "{what}: the replica was promoted; this cluster has no replica and its old primary is fenced"
            )));
        }
        Ok(())
    }

    /// Stop the replica cleanly (fast shutdown).
    pub async fn stop_replica(&mut self) -> Result<(), ClusterError> {
        self.not_promoted("stop_replica")?;
        match &mut self.backend {
            Backend::Native(n) => n.stop_replica(false).await,
            Backend::Docker(d) => d.stop_replica(false).await,
            Backend::External => Err(ClusterError::Unsupported("stop_replica", "external")),
        }
    }

    /// Kill the replica (SIGKILL / docker kill): a crash, not a shutdown.
    pub async fn kill_replica(&mut self) -> Result<(), ClusterError> {
        self.not_promoted("kill_replica")?;
        match &mut self.backend {
            Backend::Native(n) => n.stop_replica(true).await,
            Backend::Docker(d) => d.stop_replica(true).await,
            Backend::External => Err(ClusterError::Unsupported("kill_replica", "external")),
        }
    }

    /// Start a stopped or killed replica again; it resumes streaming.
    pub async fn start_replica(&mut self) -> Result<(), ClusterError> {
        self.not_promoted("start_replica")?;
        match &mut self.backend {
            Backend::Native(n) => n.start_replica().await?,
            Backend::Docker(d) => d.start_replica().await?,
            Backend::External => {
                return Err(ClusterError::Unsupported("start_replica", "external"))
            }
        }
        self.refresh_endpoints();
        let r = self.require_replica()?.clone();
        wait_accepting(&r, Duration::from_secs(60)).await
    }

    /// Restart the primary (fast shutdown, start). Connections drop.
    pub async fn restart_primary(&mut self) -> Result<(), ClusterError> {
        self.not_promoted("restart_primary")?;
        match &mut self.backend {
            Backend::Native(n) => n.restart_primary().await?,
            Backend::Docker(d) => d.restart_primary().await?,
            Backend::External => {
                return Err(ClusterError::Unsupported("restart_primary", "external"))
            }
        }
        self.refresh_endpoints();
        wait_accepting(&self.primary, Duration::from_secs(60)).await
    }

    fn refresh_endpoints(&mut self) {
        match &self.backend {
            Backend::Native(n) => {
                self.primary = n.primary.clone();
                self.replica = Some(n.replica.clone());
            }
            Backend::Docker(d) => {
                self.primary = d.primary.clone();
                self.replica = Some(d.replica.clone());
            }
            Backend::External => {}
        }
    }

    /// Stop everything this cluster started. Dropping does the same; this
    /// form reports errors.
    pub async fn shutdown(mut self) -> Result<(), ClusterError> {
        if let Some(p) = self.pooler.take() {
            p.shutdown().await?;
        }
        match std::mem::replace(&mut self.backend, Backend::External) {
            Backend::Native(n) => n.shutdown().await,
            Backend::Docker(d) => d.shutdown().await,
            Backend::External => Ok(()),
        }
    }
}

/// Which backend `auto` picks, or an error that says what to install.
fn auto_pick(cfg: &ClusterConfig) -> Result<BackendKind, ClusterError> {
    if cfg.primary_url.is_some() {
        return Ok(BackendKind::External);
    }
    let docker = image::docker_answers();
    if docker {
        let picked = match &cfg.image {
            Some(i) => image::image_present(i).then(|| i.clone()),
            None => image::pick_image().ok().flatten(),
        };
        // A pooler needs an image that carries it; else native can serve.
        let fits = |i: &String| cfg.pooler == pooler::PoolerKind::None || image::image_current(i);
        if picked.as_ref().is_some_and(fits) {
            return Ok(BackendKind::Docker);
        }
    }
    if native::find_bindir(cfg.pg_bindir.as_deref()).is_ok() {
        return Ok(BackendKind::Native);
    }
    Err(ClusterError::NoBackend(format!(
        "{}; and no PostgreSQL server binaries were found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin).\n  fix one of: `apt-get install postgresql-15` (native backend); `just image` after installing Docker (docker backend); or --primary-url/--replica-url (external)",
        if docker {
            "the Docker engine answers but no PostgreSQL image is present (`just image` builds one)"
        } else {
            "no Docker engine answers"
        }
    )))
}

/// Poll until the server accepts a connection and answers `select 1`.
pub async fn wait_accepting(ep: &Endpoint, timeout: Duration) -> Result<(), ClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        match ep.connect().await {
            Ok(mut c) => {
                if sqlx::query("select 1").execute(&mut c).await.is_ok() {
                    return Ok(());
                }
            }
            Err(e) if Instant::now() > deadline || e.is_tls_failure() => return Err(e),
            Err(_) => {}
        }
        if Instant::now() > deadline {
            return Err(ClusterError::Timeout(
                timeout,
                format!("{}:{} to accept connections", ep.host, ep.port),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Lag between an open primary connection and an open replica connection.
pub async fn measure_lag(
    primary: &mut PgConnection,
    replica: &mut PgConnection,
) -> Result<Lag, ClusterError> {
    let (current, seconds): (String, f64) = sqlx::query_as(
        "select pg_current_wal_insert_lsn()::text, \
         coalesce((select max(extract(epoch from replay_lag)) from pg_stat_replication), 0)::float8",
    )
    .fetch_one(&mut *primary)
    .await
    .map_err(ClusterError::sql("primary"))?;
    let bytes: Option<i64> = sqlx::query_scalar(
        "select pg_wal_lsn_diff($1::pg_lsn, coalesce(pg_last_wal_replay_lsn(), $1::pg_lsn))::int8",
    )
    .bind(&current)
    .fetch_one(&mut *replica)
    .await
    .map_err(ClusterError::sql("replica"))?;
    Ok(Lag {
        bytes: bytes.unwrap_or(0).max(0),
        seconds,
    })
}

/// Wait until `replica` has replayed `lsn`.
pub async fn wait_replayed(
    replica: &mut PgConnection,
    lsn: &str,
    timeout: Duration,
) -> Result<Duration, ClusterError> {
    let t0 = Instant::now();
    loop {
        let done: bool =
            sqlx::query_scalar("select coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)")
                .bind(lsn)
                .fetch_one(&mut *replica)
                .await
                .map_err(ClusterError::sql("replica"))?;
        if done {
            return Ok(t0.elapsed());
        }
        if t0.elapsed() > timeout {
            return Err(ClusterError::Timeout(
                timeout,
                format!("the replica to replay {lsn}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A name unique to this process and call, used for run directories,
/// containers and networks so the janitor can tell whose they are.
pub(crate) fn run_tag() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "harness-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let e = Endpoint::parse("postgres://app:s3cret@127.0.0.1:6543/appdb").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.user.as_str()),
            ("127.0.0.1", 6543, "app")
        );
        assert_eq!(e.password.as_deref(), Some("s3cret"));
        assert_eq!(e.database, "appdb");
        assert_eq!(e.url(), "postgres://app:s3cret@127.0.0.1:6543/appdb");
        let d = Endpoint::parse("postgresql://localhost").unwrap();
        assert_eq!(
            (d.port, d.database.as_str(), d.user.as_str()),
            (5432, "postgres", "postgres")
        );
        assert!(Endpoint::parse("mysql://x").is_err());
        assert!(Endpoint::parse("postgres://u@h:notaport/db").is_err());
    }

    #[test]
    fn settings_layer_in_order() {
        let mut cfg = ClusterConfig {
            durability: Durability::Realistic,
            ..Default::default()
        };
        cfg.settings.insert("fsync".into(), "off".into());
        cfg.settings.insert("work_mem".into(), "8MB".into());
        let s: BTreeMap<_, _> = cfg.server_settings().into_iter().collect();
        assert_eq!(s["fsync"], "off", "user settings win over durability");
        assert_eq!(s["synchronous_commit"], "on");
        assert_eq!(s["work_mem"], "8MB");
        assert_eq!(s["wal_level"], "replica");
    }

    #[test]
    fn run_tags_are_unique_and_carry_the_pid() {
        let a = run_tag();
        let b = run_tag();
        assert_ne!(a, b);
        assert!(a.contains(&std::process::id().to_string()));
    }
}
