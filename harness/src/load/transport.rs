//! The SQL transport: the [`scenarios::Executor`] the workload sends its
//! named queries through.
//!
//! Shape, and why:
//! - **One bounded pool per server** (primary, replica), shared by every
//!   simulated user. 10,000 users cannot each hold a PostgreSQL connection
//!   (nor a file descriptor: `ulimit -n` is 20,000), and a real app server
//!   does not do that either. Connections are opened before the run
//!   and never pinged on checkout nor, after a clean answer, on return
//!   ([`super::pool`]), so a query costs what it costs in the app.
//! - **Pool wait is measured apart from query time.** A query's latency is
//!   `route wait + pool wait + execution`; each part has its own histogram
//!   per named query, so a p95 that crosses 100 ms says whether the pool or
//!   the database was the bottleneck.
//! - **Routing**: reads go to the replica, writes to the primary. A read
//!   that must see the user's own last write ([`Route::ReadOwnWrites`])
//!   waits for the replica to replay that write's commit LSN, up to
//!   `ryw_wait`, then falls back to the primary. A watcher task polls the
//!   replica's replay position every few milliseconds and publishes it on a
//!   `watch` channel, so thousands of waiting reads cost one query each
//!   5 ms, not one each. How often the replica was stale is counted.
//! - **Tenant context**: each named query is one transaction as the app
//!   role: `BEGIN` with the user's settings set locally (the tenant setting
//!   of `app.toml` and the user kind's own, one round trip when
//!   [`Context::begin_sql`] allows), the statement, `COMMIT`, as the app
//!   does (docs/rls.md, pitfall 4).
//! - **Read-your-own-write checks**: a query that carries an expected value
//!   ([`Query::expect`]) fails with [`scenarios::RYW_MISS`] when its answer
//!   does not hold it; the misses are counted apart as well.
//! - Failures are data: an error becomes an [`Outcome`] with an error kind,
//!   counted per query and judged by the error-rate gate.
//! - **A server that goes away** ([`super::fault`]): a read that finds the
//!   replica gone (a connection-level error), or the replay watcher losing
//!   its connection, marks the replica down; reads then go to the primary
//!   (counted as moved) until the watcher reaches the replica again. The
//!   first connection-level error from either server drops that pool's idle
//!   connections, which died with it. After a promotion the primary pool is
//!   swapped for one on the promoted server ([`Transport::fail_over`]).
//! - **The write ledger** ([`super::ledger`]), when a run has one: every
//!   write transaction also inserts a ledger id, acknowledged once `COMMIT`
//!   returned.
//! - **Through a transaction-mode pooler** ([`TransportConfig::pooled`],
//!   PgBouncer 1.18): the pools connect to the pooler and every statement is
//!   unnamed (`persistent(false)`), since a named one made on one server
//!   connection is not on the next; the statements all run inside
//!   `BEGIN .. COMMIT`, where the server connection stays the client's, and
//!   the one query after a commit (the WAL position) is a simple query. The
//!   replay watcher stays on the direct replica. docs/pooling.md.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use scenarios::common::{error_kind, BoxFut, Outcome};
use scenarios::{bind, value, Context, Executor, Param, Query, Route, Server, Value, RYW_MISS};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};
use tokio::sync::watch;

use super::histogram::{Histogram, Snapshot};
use super::pool::ConnPool;
use crate::cluster::Endpoint;

/// The application name load connections carry, so the sampler can tell
/// them from the harness's own.
pub const APP_NAME: &str = "harness-load";

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open the {server} load pool ({size} connections) to {url}: {source}\n  hint: is max_connections high enough, and does the role exist with a password?")]
    Pool {
        server: &'static str,
        size: u32,
        url: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Per named query counters and histograms.
#[derive(Default)]
pub struct QueryStats {
    pub total: Histogram,
    pub pool_wait: Histogram,
    pub exec: Histogram,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    pub on_primary: AtomicU64,
    pub on_replica: AtomicU64,
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// The successful call with the largest answer (the heaviest tenant
    /// seen): what [`crate::load::price`] re-runs after the load to show
    /// what row-level security costs this query. Not reset with the rest.
    example: Mutex<Option<Example>>,
    /// That call's rows plus one (0: none yet), read without the lock so
    /// the common call, no larger than the example, costs one atomic load.
    example_rows: AtomicU64,
}

impl QueryStats {
    /// Keep `q` as the example when its answer is the largest so far.
    fn offer_example(&self, who: &Context, q: &Query, rows: u64) {
        if self.example_rows.load(Ordering::Relaxed) > rows {
            return;
        }
        let mut e = self.example.lock().unwrap_or_else(|p| p.into_inner());
        if e.as_ref().is_some_and(|e| e.rows >= rows) {
            return;
        }
        *e = Some(Example {
            sql: q.sql,
            settings: who.settings.to_vec(),
            args: q.params.iter().map(param_text).collect(),
            rows,
        });
        self.example_rows.store(rows + 1, Ordering::Relaxed);
    }
}

/// Read-your-own-write routing counters.
#[derive(Default)]
pub struct FreshStats {
    /// Reads that needed their own write.
    pub reads: AtomicU64,
    /// The replica had already replayed it.
    pub replica_fresh: AtomicU64,
    /// The replica was stale, and caught up within the wait.
    pub replica_after_wait: AtomicU64,
    /// The replica was stale past the wait: served by the primary.
    pub primary_fallback: AtomicU64,
    /// Time spent waiting for replay (stale reads only).
    pub wait: Histogram,
    /// Reads checked for the user's own written value, and how many of
    /// them did not return it.
    pub checks: AtomicU64,
    pub misses: AtomicU64,
}

/// Everything the transport measured. Shared with the sampler (time
/// series) and the results.
#[derive(Default)]
pub struct Recorder {
    queries: Mutex<BTreeMap<&'static str, Arc<QueryStats>>>,
    /// Every named query's total latency together.
    pub all: Histogram,
    pub all_pool_wait: Histogram,
    pub fresh: FreshStats,
}

/// One real call of a named query: who made it and with what arguments
/// (as SQL literal text; `None` is NULL).
#[derive(Debug, Clone)]
pub struct Example {
    pub sql: &'static str,
    pub settings: Vec<(String, String)>,
    pub args: Vec<Option<String>>,
    pub rows: u64,
}

impl Recorder {
    /// The example call of every named query that succeeded at least once.
    pub fn examples(&self) -> Vec<(&'static str, Example)> {
        self.names()
            .into_iter()
            .filter_map(|(name, s)| {
                let e = s.example.lock().unwrap_or_else(|p| p.into_inner());
                e.clone().map(|e| (name, e))
            })
            .collect()
    }

    pub fn stats(&self, name: &'static str) -> Arc<QueryStats> {
        let mut m = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name).or_default().clone()
    }

    /// Every named query seen so far.
    pub fn names(&self) -> Vec<(&'static str, Arc<QueryStats>)> {
        let m = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Count `o`; `call` is the context and query of a successful call by
    /// a user, offered as the query's example.
    fn record(&self, o: &Outcome, call: Option<(&Context, &Query)>) {
        let s = self.stats(o.name);
        if let Some((who, q)) = call {
            s.offer_example(who, q, o.rows);
        }
        s.total.record(o.total);
        s.pool_wait.record(o.pool_wait);
        s.exec.record(o.exec);
        self.all.record(o.total);
        self.all_pool_wait.record(o.pool_wait);
        match o.server {
            Server::Primary => s.on_primary.fetch_add(1, Ordering::Relaxed),
            Server::Replica => s.on_replica.fetch_add(1, Ordering::Relaxed),
        };
        match &o.error {
            None => {
                s.ok.fetch_add(1, Ordering::Relaxed);
            }
            Some(e) => {
                s.failed.fetch_add(1, Ordering::Relaxed);
                *s.errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(e.clone())
                    .or_default() += 1;
            }
        }
    }

    /// Forget the ramp: the gates judge the steady state only.
    pub fn reset(&self) {
        for (_, s) in self.names() {
            s.total.reset();
            s.pool_wait.reset();
            s.exec.reset();
            s.ok.store(0, Ordering::Relaxed);
            s.failed.store(0, Ordering::Relaxed);
            s.on_primary.store(0, Ordering::Relaxed);
            s.on_replica.store(0, Ordering::Relaxed);
            s.errors.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        self.all.reset();
        self.all_pool_wait.reset();
        let f = &self.fresh;
        for c in [
            &f.reads,
            &f.replica_fresh,
            &f.replica_after_wait,
            &f.primary_fallback,
            &f.checks,
            &f.misses,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        f.wait.reset();
    }

    /// Totals of ok and failed queries.
    pub fn counts(&self) -> (u64, u64) {
        self.names().iter().fold((0, 0), |(o, f), (_, s)| {
            (
                o + s.ok.load(Ordering::Relaxed),
                f + s.failed.load(Ordering::Relaxed),
            )
        })
    }

    /// Freeze into plain figures.
    pub fn summary(&self) -> Vec<QuerySummary> {
        self.names()
            .into_iter()
            .map(|(name, s)| {
                QuerySummary::of(
                    name,
                    &s.total.snapshot(),
                    &s.pool_wait.snapshot(),
                    &s.exec.snapshot(),
                    &s,
                )
            })
            .collect()
    }

    pub fn fresh_summary(&self) -> FreshSummary {
        let f = &self.fresh;
        let reads = f.reads.load(Ordering::Relaxed);
        let after_wait = f.replica_after_wait.load(Ordering::Relaxed);
        let fallback = f.primary_fallback.load(Ordering::Relaxed);
        let w = f.wait.snapshot();
        FreshSummary {
            reads,
            replica_fresh: f.replica_fresh.load(Ordering::Relaxed),
            replica_after_wait: after_wait,
            primary_fallback: fallback,
            stale_pct: if reads == 0 {
                0.0
            } else {
                100.0 * (after_wait + fallback) as f64 / reads as f64
            },
            wait_p95_ms: w.quantile_ms(0.95),
            wait_max_ms: w.max_us as f64 / 1000.0,
            checks: f.checks.load(Ordering::Relaxed),
            misses: f.misses.load(Ordering::Relaxed),
        }
    }
}

/// One named query's figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct QuerySummary {
    pub name: String,
    pub count: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
    pub pool_wait_p95_ms: f64,
    pub pool_wait_p99_ms: f64,
    pub exec_p95_ms: f64,
    pub exec_p99_ms: f64,
    pub on_replica: u64,
    pub on_primary: u64,
    pub errors: BTreeMap<String, u64>,
}

impl QuerySummary {
    pub fn of(
        name: &str,
        total: &Snapshot,
        pool: &Snapshot,
        exec: &Snapshot,
        s: &QueryStats,
    ) -> Self {
        QuerySummary {
            name: name.to_string(),
            count: total.count(),
            failed: s.failed.load(Ordering::Relaxed),
            p50_ms: total.quantile_ms(0.5),
            p95_ms: total.quantile_ms(0.95),
            p99_ms: total.quantile_ms(0.99),
            p999_ms: total.quantile_ms(0.999),
            max_ms: total.max_us as f64 / 1000.0,
            mean_ms: total.mean_ms(),
            pool_wait_p95_ms: pool.quantile_ms(0.95),
            pool_wait_p99_ms: pool.quantile_ms(0.99),
            exec_p95_ms: exec.quantile_ms(0.95),
            exec_p99_ms: exec.quantile_ms(0.99),
            on_replica: s.on_replica.load(Ordering::Relaxed),
            on_primary: s.on_primary.load(Ordering::Relaxed),
            errors: s.errors.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }
}

/// How read-your-own-write reads were served.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FreshSummary {
    pub reads: u64,
    pub replica_fresh: u64,
    pub replica_after_wait: u64,
    pub primary_fallback: u64,
    /// Share of those reads that found the replica behind the user's write.
    pub stale_pct: f64,
    pub wait_p95_ms: f64,
    pub wait_max_ms: f64,
    /// Reads checked for the value the user's write returned
    /// (`[[ryw]]` pairs of the workload), and the misses among them.
    #[serde(default)]
    pub checks: u64,
    #[serde(default)]
    pub misses: u64,
}

/// Parse `X/Y` (pg_lsn text) into a number that orders like the LSN.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

/// Where the endpoints are and how big the pools are.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    pub primary: Endpoint,
    pub replica: Option<Endpoint>,
    /// A transaction-mode pooler in front of `primary` and `replica`: the
    /// pools open there instead, with unnamed statements.
    pub pooled: Option<PooledEndpoints>,
    pub primary_pool: u32,
    pub replica_pool: u32,
    pub acquire_timeout: Duration,
    pub ryw_wait: Duration,
}

/// How a query reached its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Where its route sends it.
    Direct,
    /// A read sent to the primary because the replica was down or promoted.
    Moved,
    /// A read-your-own-write read sent to the primary because the replica
    /// had not replayed the user's write in time.
    Fallback,
}

/// The replica's state, shared with the replay watcher.
const REPLICA_UP: u8 = 0;
const REPLICA_DOWN: u8 = 1;
/// Promoted: there is no replica for the rest of the run.
const REPLICA_GONE: u8 = 2;

/// An error that says the server (or the connection to it) went away,
/// as opposed to an answer the server gave.
pub fn server_gone(kind: &str) -> bool {
    match kind.strip_prefix("sql:") {
        // admin shutdown, crash shutdown, cannot connect now; connection exceptions.
        Some(code) => code.starts_with("57P") || code.starts_with("08"),
        None => !matches!(kind, "pool-timeout") && kind != RYW_MISS && !kind.starts_with("bind:"),
    }
}

fn mark(state: &AtomicU8, from: u8, to: u8, pool: &ConnPool) {
    if state
        .compare_exchange(from, to, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        pool.discard_idle();
    }
}

/// The same servers through a pooler (same roles and database).
#[derive(Debug, Clone)]
pub struct PooledEndpoints {
    pub primary: Endpoint,
    pub replica: Option<Endpoint>,
}

/// The load's SQL transport. Cheap to share (`Arc`).
pub struct Transport {
    /// Swapped once, by a promotion ([`Transport::fail_over`]).
    primary: RwLock<ConnPool>,
    replica: Option<ConnPool>,
    replay: Option<watch::Receiver<u64>>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    ryw_wait: Duration,
    /// Named (cached, prepared once per connection) statements; off
    /// through a pooler.
    named: bool,
    pub recorder: Arc<Recorder>,
    replica_state: Arc<AtomicU8>,
    cfg: TransportConfig,
    /// A fault run's timeline: every outcome, with its time.
    pub timeline: OnceLock<Arc<super::fault::Timeline>>,
    /// The write ledger, when the run keeps one.
    pub ledger: OnceLock<Arc<super::ledger::Ledger>>,
}

async fn open_pool(
    ep: &Endpoint,
    server: &'static str,
    size: u32,
    acquire: Duration,
) -> Result<ConnPool, TransportError> {
    // The transport records every query itself; sqlx's own slow-statement
    // warnings would only flood stderr under load.
    let opts = ep
        .connect_options()
        .application_name(APP_NAME)
        .disable_statement_logging();
    ConnPool::open(opts, size, acquire)
        .await
        .map_err(|source| TransportError::Pool {
            server,
            size,
            url: ep.redacted(),
            source,
        })
}

impl Transport {
    /// Open both pools (all connections up front) and start the replay
    /// watcher.
    pub async fn connect(cfg: &TransportConfig) -> Result<Transport, TransportError> {
        let pooled = cfg.pooled.as_ref();
        let primary = open_pool(
            pooled.map_or(&cfg.primary, |p| &p.primary),
            "primary",
            cfg.primary_pool,
            cfg.acquire_timeout,
        )
        .await?;
        let replica_state = Arc::new(AtomicU8::new(REPLICA_UP));
        let (replica, replay, watcher) = match &cfg.replica {
            Some(ep) => {
                let via = pooled.and_then(|p| p.replica.as_ref()).unwrap_or(ep);
                let pool = open_pool(via, "replica", cfg.replica_pool, cfg.acquire_timeout).await?;
                let watch_opts = ep
                    .connect_options()
                    .application_name("harness-replay-watch");
                let conn = PgConnection::connect_with(&watch_opts)
                    .await
                    .map_err(|source| TransportError::Pool {
                        server: "replica",
                        size: 1,
                        url: ep.redacted(),
                        source,
                    })?;
                let (tx, rx) = watch::channel(0u64);
                let (state, watched) = (replica_state.clone(), pool.clone());
                // The watcher is also the replica's health probe: losing its
                // connection marks the replica down, reaching it again up.
                let h = tokio::spawn(async move {
                    let mut conn = Some(conn);
                    let mut tick = tokio::time::interval(Duration::from_millis(5));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tick.tick().await;
                        if tx.is_closed() || state.load(Ordering::SeqCst) == REPLICA_GONE {
                            break;
                        }
                        let c = match conn.as_mut() {
                            Some(c) => c,
                            None => match PgConnection::connect_with(&watch_opts).await {
                                Ok(c) => conn.insert(c),
                                Err(_) => {
                                    tokio::time::sleep(Duration::from_millis(200)).await;
                                    continue;
                                }
                            },
                        };
                        let r: Result<Option<String>, _> =
                            sqlx::query_scalar("select pg_last_wal_replay_lsn()::text")
                                .fetch_one(c)
                                .await;
                        if r.is_ok() {
                            mark(&state, REPLICA_DOWN, REPLICA_UP, &watched);
                        }
                        match r {
                            Ok(Some(l)) => {
                                if let Some(v) = parse_lsn(&l) {
                                    tx.send_if_modified(|cur| {
                                        let newer = v > *cur;
                                        if newer {
                                            *cur = v;
                                        }
                                        newer
                                    });
                                }
                            }
                            // A primary (or a promoted replica) has no replay
                            // position: fresh reads then go to the primary.
                            Ok(None) => {}
                            Err(_) => {
                                conn = None;
                                mark(&state, REPLICA_UP, REPLICA_DOWN, &watched);
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                });
                (Some(pool), Some(rx), Some(h))
            }
            None => (None, None, None),
        };
        Ok(Transport {
            primary: RwLock::new(primary),
            replica,
            replay,
            watcher,
            ryw_wait: cfg.ryw_wait,
            named: pooled.is_none(),
            recorder: Arc::new(Recorder::default()),
            replica_state,
            cfg: cfg.clone(),
            timeline: OnceLock::new(),
            ledger: OnceLock::new(),
        })
    }

    pub fn primary_pool(&self) -> ConnPool {
        self.primary
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The replica was promoted at `to` (a superuser endpoint of the new
    /// primary): writes and reads go there from now on, as the app role,
    /// through a pool of the primary's size. The old primary's pool is
    /// dropped (it was fenced).
    pub async fn fail_over(&self, to: &Endpoint) -> Result<(), TransportError> {
        let ep = Endpoint {
            host: to.host.clone(),
            port: to.port,
            ..self.cfg.primary.clone()
        };
        let pool = open_pool(
            &ep,
            "promoted primary",
            self.cfg.primary_pool,
            self.cfg.acquire_timeout,
        )
        .await?;
        let old = std::mem::replace(
            &mut *self.primary.write().unwrap_or_else(|p| p.into_inner()),
            pool,
        );
        self.replica_state.store(REPLICA_GONE, Ordering::SeqCst);
        old.discard_idle();
        Ok(())
    }

    /// Whether reads are being sent to the replica now.
    pub fn replica_in_service(&self) -> bool {
        self.replica.is_some() && self.replica_state.load(Ordering::SeqCst) == REPLICA_UP
    }

    pub fn replica_pool(&self) -> Option<&ConnPool> {
        self.replica.as_ref()
    }

    /// Pick the server for `route`; the time spent waiting for replay is
    /// part of the query's latency.
    async fn route(&self, route: Route, fresh: &Option<String>) -> (ConnPool, Server, Via) {
        let primary = self.primary_pool();
        let Some(replica) = &self.replica else {
            return (primary, Server::Primary, Via::Direct);
        };
        if route == Route::Write {
            return (primary, Server::Primary, Via::Direct);
        }
        if self.replica_state.load(Ordering::SeqCst) != REPLICA_UP {
            return (primary, Server::Primary, Via::Moved);
        }
        let replica = replica.clone();
        match route {
            Route::Write => unreachable!("writes returned above"),
            Route::Read => (replica, Server::Replica, Via::Direct),
            Route::ReadOwnWrites => {
                let Some(need) = fresh.as_deref().and_then(parse_lsn) else {
                    return (replica, Server::Replica, Via::Direct);
                };
                let f = &self.recorder.fresh;
                f.reads.fetch_add(1, Ordering::Relaxed);
                let Some(rx) = &self.replay else {
                    f.primary_fallback.fetch_add(1, Ordering::Relaxed);
                    return (primary, Server::Primary, Via::Fallback);
                };
                let mut rx = rx.clone();
                if *rx.borrow() >= need {
                    f.replica_fresh.fetch_add(1, Ordering::Relaxed);
                    return (replica, Server::Replica, Via::Direct);
                }
                let t0 = Instant::now();
                let caught_up = tokio::time::timeout(self.ryw_wait, rx.wait_for(|&l| l >= need))
                    .await
                    .map(|r| r.is_ok())
                    .unwrap_or(false);
                f.wait.record(t0.elapsed());
                if caught_up {
                    f.replica_after_wait.fetch_add(1, Ordering::Relaxed);
                    (replica, Server::Replica, Via::Direct)
                } else {
                    f.primary_fallback.fetch_add(1, Ordering::Relaxed);
                    (primary, Server::Primary, Via::Fallback)
                }
            }
        }
    }

    async fn run_query(
        &self,
        who: Option<&Context>,
        fresh: &mut Option<String>,
        q: Query,
    ) -> Outcome {
        let t0 = Instant::now();
        let route = q.route;
        let (pool, server, via) = if who.is_some() {
            self.route(q.route, fresh).await
        } else {
            (self.primary_pool(), Server::Primary, Via::Direct)
        };
        let acquire = Instant::now();
        let conn = pool.acquire().await;
        let pool_wait = acquire.elapsed();
        let mut out = Outcome {
            name: q.name,
            server,
            error: None,
            rows: 0,
            values: Vec::new(),
            total: Duration::ZERO,
            pool_wait,
            exec: Duration::ZERO,
        };
        // The server answered the statement (a read-your-own-write miss
        // still counts): the call may become the query's example.
        let mut answered = false;
        match conn {
            Err(e) => out.error = Some(error_kind(&e)),
            Ok(mut conn) => {
                let start = Instant::now();
                let r = match who {
                    Some(who) => {
                        execute_as(&mut conn, who, &q, self.ledger.get(), self.named).await
                    }
                    None => execute(&mut conn, &q, self.named).await,
                };
                match r {
                    Ok(a) => {
                        conn.done();
                        answered = true;
                        out.rows = a.rows;
                        out.values = a.values;
                        if a.lsn.is_some() {
                            *fresh = a.lsn;
                        }
                        if let Some(seen) = a.seen {
                            let f = &self.recorder.fresh;
                            f.checks.fetch_add(1, Ordering::Relaxed);
                            if !seen {
                                f.misses.fetch_add(1, Ordering::Relaxed);
                                out.error = Some(RYW_MISS.to_string());
                            }
                        }
                    }
                    Err(e) => out.error = Some(error_kind(&e)),
                }
                out.exec = start.elapsed();
            }
        }
        out.total = t0.elapsed();
        if out.error.as_deref().is_some_and(server_gone) {
            match (server, &self.replica) {
                (Server::Replica, Some(r)) => {
                    mark(&self.replica_state, REPLICA_UP, REPLICA_DOWN, r)
                }
                _ => pool.discard_idle(),
            }
        }
        let call = who.filter(|_| answered).map(|w| (w, &q));
        self.recorder.record(&out, call);
        if let Some(t) = self.timeline.get() {
            t.query(&out, route, via);
        }
        out
    }

    /// A query with no transaction and no tenant context, on the primary:
    /// the same work `pgbench -S` does, for the side-by-side comparison.
    pub async fn run_bare(&self, q: Query) -> Outcome {
        let mut none = None;
        self.run_query(None, &mut none, q).await
    }

    /// Stop the replay watcher and close the pools.
    pub async fn close(&mut self) {
        if let Some(h) = self.watcher.take() {
            h.abort();
        }
        self.primary_pool().close().await;
        if let Some(r) = &self.replica {
            r.close().await;
        }
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if let Some(h) = self.watcher.take() {
            h.abort();
        }
    }
}

impl Executor for Transport {
    fn run<'a>(
        &'a self,
        who: &'a Context,
        fresh: &'a mut Option<String>,
        query: Query,
    ) -> BoxFut<'a, Outcome> {
        Box::pin(self.run_query(Some(who), fresh, query))
    }

    fn refuse(&self, name: &'static str, route: Route, kind: String) -> Outcome {
        let out = Outcome {
            name,
            server: match route {
                Route::Write => Server::Primary,
                _ if self.replica.is_none() => Server::Primary,
                _ => Server::Replica,
            },
            error: Some(kind),
            rows: 0,
            values: Vec::new(),
            total: Duration::ZERO,
            pool_wait: Duration::ZERO,
            exec: Duration::ZERO,
        };
        self.recorder.record(&out, None);
        out
    }
}

/// What one query's transaction answered.
struct Answer {
    rows: u64,
    values: Vec<Vec<Value>>,
    /// After a write: the WAL position its commit reached.
    lsn: Option<String>,
    /// With an expected value: whether the answer held it.
    seen: Option<bool>,
}

/// The kept columns of every row.
fn kept(rows: &[PgRow], keep: &[usize]) -> Vec<Vec<Value>> {
    if keep.is_empty() {
        return Vec::new();
    }
    rows.iter()
        .map(|r| keep.iter().map(|&i| value::read(r, i)).collect())
        .collect()
}

fn holds(rows: &[PgRow], expect: &Option<(usize, Value)>) -> Option<bool> {
    let (col, want) = expect.as_ref()?;
    Some(rows.iter().any(|r| value::read(r, *col).same(want)))
}

/// The statement alone (autocommit).
async fn execute(conn: &mut PgConnection, q: &Query, named: bool) -> Result<Answer, sqlx::Error> {
    let rows = bind::all(sqlx::query(q.sql), &q.params)
        .persistent(named)
        .fetch_all(&mut *conn)
        .await?;
    Ok(Answer {
        rows: rows.len() as u64,
        values: kept(&rows, q.keep),
        lsn: None,
        seen: holds(&rows, &q.expect),
    })
}

/// `BEGIN` with `who`'s settings: one message when they can be inlined,
/// else `BEGIN` and a bound `set_config` per setting.
async fn begin<'c>(
    conn: &'c mut PgConnection,
    who: &Context,
    named: bool,
) -> Result<Transaction<'c, Postgres>, sqlx::Error> {
    if let Some(sql) = &who.begin_sql {
        return conn.begin_with(sqlx::AssertSqlSafe(sql.to_string())).await;
    }
    let mut tx = conn.begin().await?;
    for (name, value) in who.settings.iter() {
        sqlx::query("select set_config($1, $2, true)")
            .bind(name)
            .bind(value)
            .persistent(named)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// One transaction as `who`: context, statement, commit; after a write, the
/// WAL position the commit reached (for read-your-own-writes).
async fn execute_as(
    conn: &mut PgConnection,
    who: &Context,
    q: &Query,
    ledger: Option<&Arc<super::ledger::Ledger>>,
    named: bool,
) -> Result<Answer, sqlx::Error> {
    let mut tx = begin(conn, who, named).await?;
    let write = q.route == Route::Write;
    // A write's answer is only read when the workload uses what it
    // returned; otherwise its affected-row count is all that is needed.
    let (rows, values, seen) = if write && q.keep.is_empty() && q.expect.is_none() {
        let r = bind::all(sqlx::query(q.sql), &q.params)
            .persistent(named)
            .execute(&mut *tx)
            .await?;
        (r.rows_affected(), Vec::new(), None)
    } else {
        let rows = bind::all(sqlx::query(q.sql), &q.params)
            .persistent(named)
            .fetch_all(&mut *tx)
            .await?;
        (
            rows.len() as u64,
            kept(&rows, q.keep),
            holds(&rows, &q.expect),
        )
    };
    // The ledger row commits with the write, or not at all.
    let entry = match ledger.filter(|_| write) {
        Some(l) => Some((l, l.record(&mut tx, named).await?)),
        None => None,
    };
    if let Err(e) = tx.commit().await {
        if let Some((l, id)) = entry {
            l.in_doubt(id);
        }
        return Err(e);
    }
    if let Some((l, id)) = entry {
        l.acknowledge(id);
    }
    // The write is done whatever follows: a lost connection here costs the
    // read-your-own-write tracking of this write, not the write.
    const LSN: &str = "select pg_current_wal_insert_lsn()::text";
    let lsn = match (write, named) {
        (false, _) => None,
        (true, true) => sqlx::query_scalar::<_, String>(LSN)
            .fetch_one(&mut *conn)
            .await
            .ok(),
        // Outside a transaction through a pooler: one simple query, so
        // nothing depends on which server connection answers.
        (true, false) => {
            use sqlx::Row;
            sqlx::raw_sql(LSN)
                .fetch_one(&mut *conn)
                .await
                .ok()
                .and_then(|r| r.try_get(0).ok())
        }
    };
    Ok(Answer {
        rows,
        values,
        lsn,
        seen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_orders_like_postgres() {
        assert!(parse_lsn("0/16B3748").unwrap() < parse_lsn("1/0").unwrap());
        assert!(parse_lsn("0/FF").unwrap() > parse_lsn("0/F").unwrap());
        assert_eq!(parse_lsn("junk"), None);
    }
}

/// A bound parameter as the text of a SQL literal the server can read as
/// the parameter's type (`None` for NULL): arrays in PostgreSQL's array
/// syntax, every element quoted.
pub fn param_text(p: &Param) -> Option<String> {
    fn array<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        let quoted: Vec<String> = items
            .iter()
            .map(|i| format!("\"{}\"", f(i).replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        format!("{{{}}}", quoted.join(","))
    }
    Some(match p {
        Param::Null(_) => return None,
        Param::Uuid(u) => u.to_string(),
        Param::Text(t) => t.clone(),
        Param::I16(i) => i.to_string(),
        Param::I32(i) => i.to_string(),
        Param::I64(i) => i.to_string(),
        Param::F32(f) => f.to_string(),
        Param::F64(f) => f.to_string(),
        Param::Bool(b) => b.to_string(),
        Param::UuidArray(v) => array(v, |u| u.to_string()),
        Param::TextArray(v) => array(v, |t| t.clone()),
        Param::I16Array(v) => array(v, |i| i.to_string()),
        Param::I32Array(v) => array(v, |i| i.to_string()),
        Param::I64Array(v) => array(v, |i| i.to_string()),
        Param::F32Array(v) => array(v, |f| f.to_string()),
        Param::F64Array(v) => array(v, |f| f.to_string()),
        Param::BoolArray(v) => array(v, |b| b.to_string()),
    })
}

#[cfg(test)]
mod param_text_tests {
    use super::*;

    #[test]
    fn arrays_quote_every_element_and_null_is_none() {
        assert_eq!(
            param_text(&Param::TextArray(vec![
                "a,b".into(),
                "say \"hi\"".into(),
                "back\\slash".into()
            ])),
            Some(r#"{"a,b","say \"hi\"","back\\slash"}"#.to_string())
        );
        assert_eq!(
            param_text(&Param::I64Array(vec![1, 2])),
            Some(r#"{"1","2"}"#.into())
        );
        assert_eq!(param_text(&Param::I64(-3)), Some("-3".into()));
        assert_eq!(
            param_text(&Param::Null(scenarios::value::PgType::of("INT8").unwrap())),
            None
        );
    }
}
