//! The database-side view of a run, sampled every few seconds from the
//! servers' own counters (HammerDB's habit): transactions per second,
//! active and lock-waiting load connections, cache hit ratio, replica lag
//! in bytes and seconds, ungranted locks; and, over the steady state, the
//! top statements by time from `pg_stat_statements` deltas on both servers.
//!
//! Each sample also carries the client side of the same interval (query
//! rate, p95/p99, pool wait p95 from the transport's histograms) and the
//! generator's health (CPU, machine CPU, tick lag), so one row of the time
//! series says what the database, the pool and the generator were doing at
//! the same moment. The sampler uses its own connections (superuser, one
//! per server), never the load pools, so it cannot be starved by the load.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};
use tokio::sync::watch;

use super::health::{self, CpuMeter};
use super::histogram::Snapshot;
use super::transport::{Recorder, APP_NAME};
use crate::cluster::{self, Endpoint};

/// One sample.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Sample {
    /// Seconds since the run started.
    pub t: f64,
    /// Whether the steady state had begun.
    pub steady: bool,
    pub primary_tps: f64,
    pub replica_tps: f64,
    pub primary_active: i64,
    pub replica_active: i64,
    /// Load connections waiting on a lock (primary).
    pub lock_waiting: i64,
    /// Ungranted locks (primary).
    pub locks_not_granted: i64,
    pub primary_cache_hit_pct: f64,
    pub replica_cache_hit_pct: f64,
    pub lag_bytes: i64,
    pub lag_secs: f64,
    /// Client side of the interval.
    pub queries_per_sec: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub pool_wait_p95_ms: f64,
    /// Generator health over the interval.
    pub generator_cpu_share: f64,
    pub host_cpu_share: f64,
    pub tick_lag_p99_ms: f64,
    pub rss_mib: f64,
}

/// A statement's share of the steady state's database time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopStatement {
    pub server: String,
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
}

/// What the sampler hands back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sampled {
    pub samples: Vec<Sample>,
    pub top_statements: Vec<TopStatement>,
    /// All statement time per server over the steady state, ms (the
    /// denominator of a statement's share).
    #[serde(default)]
    pub statement_ms: std::collections::BTreeMap<String, f64>,
    /// Steady-state tick lag p99, ms.
    pub tick_lag_p99_ms: f64,
    /// Steady-state generator CPU share (mean of samples).
    pub generator_cpu_share: f64,
    pub host_cpu_share: f64,
    pub max_lag_secs: f64,
    pub max_lag_bytes: i64,
    /// Why sampling stopped early, if it did (a server went away).
    pub problems: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct DbCounters {
    xacts: i64,
    hit: i64,
    read: i64,
}

async fn db_counters(c: &mut PgConnection, db: &str) -> Result<DbCounters, sqlx::Error> {
    let r = sqlx::query(
        "select (xact_commit + xact_rollback)::int8, blks_hit::int8, blks_read::int8 from pg_stat_database where datname = $1",
    )
    .bind(db)
    .fetch_one(c)
    .await?;
    Ok(DbCounters {
        xacts: r.get(0),
        hit: r.get(1),
        read: r.get(2),
    })
}

async fn activity(c: &mut PgConnection) -> Result<(i64, i64), sqlx::Error> {
    let r = sqlx::query(
        "select count(*) filter (where state = 'active')::int8, count(*) filter (where wait_event_type = 'Lock')::int8
         from pg_stat_activity where application_name = $1",
    )
    .bind(APP_NAME)
    .fetch_one(c)
    .await?;
    Ok((r.get(0), r.get(1)))
}

type Statements = HashMap<i64, (String, i64, f64)>;

async fn statements(c: &mut PgConnection) -> Result<Statements, sqlx::Error> {
    let rows = sqlx::query(
        "select queryid, left(regexp_replace(query, '\\s+', ' ', 'g'), 160), calls, total_exec_time
         from pg_stat_statements where queryid is not null",
    )
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get::<i64, _>(0),
                (
                    r.get::<String, _>(1),
                    r.get::<i64, _>(2),
                    r.get::<f64, _>(3),
                ),
            )
        })
        .collect())
}

fn statement_delta(server: &str, before: &Statements, after: &Statements) -> Vec<TopStatement> {
    after
        .iter()
        .filter_map(|(id, (q, calls, ms))| {
            let (c0, m0) = before.get(id).map(|(_, c, m)| (*c, *m)).unwrap_or((0, 0.0));
            let calls = calls - c0;
            let total = ms - m0;
            (calls > 0).then(|| TopStatement {
                server: server.to_string(),
                query: q.clone(),
                calls,
                total_ms: total,
                mean_ms: total / calls as f64,
            })
        })
        .collect()
}

fn ratio(hit: i64, read: i64) -> f64 {
    if hit + read == 0 {
        100.0
    } else {
        100.0 * hit as f64 / (hit + read) as f64
    }
}

/// A running sampler: stop it with [`SamplerHandle::finish`].
pub struct SamplerHandle {
    stop: watch::Sender<bool>,
    steady: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Sampled>,
}

impl SamplerHandle {
    /// The steady state begins now: statement deltas and health figures
    /// count from here.
    pub fn mark_steady(&self) {
        let _ = self.steady.send(true);
    }

    pub async fn finish(self) -> Sampled {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

/// Start sampling `database` on both servers every `every`.
pub fn start(
    primary: Endpoint,
    replica: Option<Endpoint>,
    database: String,
    every: Duration,
    recorder: Arc<Recorder>,
    tick_lag: Arc<super::histogram::Histogram>,
) -> SamplerHandle {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let (steady_tx, steady_rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut out = Sampled::default();
        let t0 = Instant::now();
        let mut p = match primary.with_database(&database).connect().await {
            Ok(c) => c,
            Err(e) => {
                out.problems
                    .push(format!("sampler cannot connect to the primary: {e}"));
                return out;
            }
        };
        let mut r = match &replica {
            Some(ep) => ep.with_database(&database).connect().await.ok(),
            None => None,
        };
        let mut prev_p = db_counters(&mut p, &database).await.unwrap_or_default();
        let mut prev_r = match r.as_mut() {
            Some(c) => db_counters(c, &database).await.unwrap_or_default(),
            None => DbCounters::default(),
        };
        let mut prev_all: Snapshot = recorder.all.snapshot();
        let mut prev_pool: Snapshot = recorder.all_pool_wait.snapshot();
        let mut prev_tick = tick_lag.snapshot();
        let mut cpu = CpuMeter::start();
        let mut last = Instant::now();
        let mut stmts_before: Option<(Statements, Option<Statements>)> = None;
        let mut steady_tick = Snapshot::default();
        let mut steady_cpu = (0.0, 0.0, 0usize);
        let mut was_steady = false;
        // A server that went away (a fault run restarts and kills them) is
        // reconnected on the next sample; each outage is noted once.
        let (mut p_lost, mut r_lost) = (false, false);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop_rx.changed() => {}
            }
            let stopping = *stop_rx.borrow();
            let steady = *steady_rx.borrow();
            if steady && !was_steady {
                // Baselines for the steady state.
                let a = statements(&mut p).await.unwrap_or_default();
                let b = match r.as_mut() {
                    Some(c) => statements(c).await.ok(),
                    None => None,
                };
                stmts_before = Some((a, b));
                was_steady = true;
            }
            let dt = last.elapsed().as_secs_f64().max(1e-3);
            last = Instant::now();
            let mut s = Sample {
                t: t0.elapsed().as_secs_f64(),
                steady,
                ..Default::default()
            };
            if p_lost {
                if let Ok(c) = primary.with_database(&database).connect().await {
                    p = c;
                }
            }
            if r_lost || (r.is_none() && replica.is_some()) {
                if let Some(ep) = &replica {
                    r = ep.with_database(&database).connect().await.ok();
                }
            }
            match db_counters(&mut p, &database).await {
                Ok(c) => {
                    p_lost = false;
                    s.primary_tps = (c.xacts - prev_p.xacts) as f64 / dt;
                    s.primary_cache_hit_pct = ratio(c.hit - prev_p.hit, c.read - prev_p.read);
                    prev_p = c;
                }
                Err(e) => {
                    if !p_lost {
                        out.problems
                            .push(format!("primary counters at {:.0}s: {e}", s.t));
                    }
                    p_lost = true;
                }
            }
            if let Ok((a, w)) = activity(&mut p).await {
                s.primary_active = a;
                s.lock_waiting = w;
            }
            s.locks_not_granted =
                sqlx::query_scalar("select count(*)::int8 from pg_locks where not granted")
                    .fetch_one(&mut p)
                    .await
                    .unwrap_or(0);
            if let Some(rc) = r.as_mut() {
                if let Ok(c) = db_counters(rc, &database).await {
                    s.replica_tps = (c.xacts - prev_r.xacts) as f64 / dt;
                    s.replica_cache_hit_pct = ratio(c.hit - prev_r.hit, c.read - prev_r.read);
                    prev_r = c;
                }
                if let Ok((a, _)) = activity(rc).await {
                    s.replica_active = a;
                }
                match cluster::measure_lag(&mut p, rc).await {
                    Ok(l) => {
                        s.lag_bytes = l.bytes;
                        s.lag_secs = l.seconds;
                        r_lost = false;
                    }
                    Err(e) => {
                        if !r_lost && !p_lost {
                            out.problems
                                .push(format!("replica lag at {:.0}s: {e}", s.t));
                        }
                        r_lost = !p_lost;
                    }
                }
            }
            let all = recorder.all.snapshot();
            let pool = recorder.all_pool_wait.snapshot();
            // A reset (end of ramp) makes the totals go down: count from zero.
            let d = if all.count() >= prev_all.count() {
                all.since(&prev_all)
            } else {
                all.clone()
            };
            let dp = if pool.count() >= prev_pool.count() {
                pool.since(&prev_pool)
            } else {
                pool.clone()
            };
            s.queries_per_sec = d.count() as f64 / dt;
            s.p95_ms = d.quantile_ms(0.95);
            s.p99_ms = d.quantile_ms(0.99);
            s.pool_wait_p95_ms = dp.quantile_ms(0.95);
            prev_all = all;
            prev_pool = pool;
            let tick = tick_lag.snapshot();
            let dt_tick = tick.since(&prev_tick);
            s.tick_lag_p99_ms = dt_tick.quantile_ms(0.99);
            prev_tick = tick;
            let (gen, host) = cpu.lap();
            s.generator_cpu_share = gen;
            s.host_cpu_share = host;
            s.rss_mib = health::rss_mib();
            if steady {
                steady_tick.merge(&dt_tick);
                steady_cpu = (steady_cpu.0 + gen, steady_cpu.1 + host, steady_cpu.2 + 1);
                out.max_lag_secs = out.max_lag_secs.max(s.lag_secs);
                out.max_lag_bytes = out.max_lag_bytes.max(s.lag_bytes);
            }
            out.samples.push(s);
            if stopping {
                break;
            }
        }
        if let Some((a, b)) = stmts_before {
            let mut top = Vec::new();
            if let Ok(after) = statements(&mut p).await {
                top.extend(statement_delta("primary", &a, &after));
            }
            if let (Some(b), Some(rc)) = (b, r.as_mut()) {
                if let Ok(after) = statements(rc).await {
                    top.extend(statement_delta("replica", &b, &after));
                }
            }
            for t in &top {
                *out.statement_ms.entry(t.server.clone()).or_default() += t.total_ms;
            }
            top.sort_by(|x, y| y.total_ms.total_cmp(&x.total_ms));
            top.truncate(10);
            out.top_statements = top;
        }
        out.tick_lag_p99_ms = steady_tick.quantile_ms(0.99);
        if steady_cpu.2 > 0 {
            out.generator_cpu_share = steady_cpu.0 / steady_cpu.2 as f64;
            out.host_cpu_share = steady_cpu.1 / steady_cpu.2 as f64;
        }
        out
    });
    SamplerHandle {
        stop: stop_tx,
        steady: steady_tx,
        task,
    }
}
