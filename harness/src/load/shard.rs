//! One slice of a load run made by several generators (`harness load
//! --shard I/N`), and what that slice saves for the merge ([`super::merge`]).
//!
//! One machine runs out of file descriptors and cores long before 50,000
//! users; N generators can each run 1/N of the run against the same
//! target, and `harness report merge` judges the run from all of them.
//! That is only sound if the slices add up to the run and the figures add
//! up exactly, so:
//!
//! - **What each shard runs** is derived from the whole run's settings and
//!   (I, N) alone, never from anything a shard sees at run time: users
//!   (closed model), the arrival rate and the in-flight cap (open model)
//!   and both pool sizes are split into N shares that add up to the whole
//!   (the first `total % N` shards take one more); the random seed of the
//!   users' draws is derived from (seed, I) so shards do not replay each
//!   other's users (with N = 1 it is the seed itself: `--shard 0/1` is an
//!   ordinary run). The data's seed is not touched: every shard reads the
//!   same rows.
//! - **Tenants** are dealt out once the catalog is read: sorted by weight
//!   (then id, so the order the tenants query returns them in does not
//!   matter), each goes to the shard holding the least weight so far. The
//!   slices are disjoint, cover every tenant, and weigh about the same, so
//!   equal user shares keep users spread over tenants by weight as one
//!   generator would. Each shard runs the whole mix of kinds of user on its
//!   share, so kinds split in the same proportion as users.
//! - **Preparing the data happens once.** Shards may be started together
//!   with the same flags: each opens its session (schema, data, role
//!   logins, catalog) holding a PostgreSQL advisory lock on the target's
//!   primary, so they take turns; the first fills the database, the others
//!   find the tenants there and fill nothing. No shard needs to be special,
//!   and a shard that is restarted simply takes its turn again.
//! - **A start line.** Percentiles of N slices merge into the run's only if
//!   the slices ran at the same time. After its session is open, a shard
//!   holds a shared advisory lock keyed by the run's settings and waits
//!   until N sessions hold it, then starts; the steady windows are saved and
//!   the merge refuses shards whose windows barely overlap.
//! - **What is saved** in the shard's run folder, next to its own report and
//!   `results.json` (counts, errors by kind, the sampler's database samples,
//!   health): `shard.json`, which says which slice of which run this is and
//!   holds every histogram the gates read (all queries and each named query:
//!   total, pool wait and query time; the own-write wait; the open model's
//!   latency from the schedule, per step, and its lateness) as bucket counts
//!   ([`super::histogram::Buckets`]), and the shard's health. With
//!   `--raw-samples`, `raw-samples.json` also holds every latency value, so
//!   a test can hold the merged percentiles to the histogram's precision.
//!
//! A shard does not judge the run: its report shows its own slice's gates
//! for information, and it exits 0 once its figures are saved; the verdict
//! and its exit code come from the merge.

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use scenarios::plan::Tenant;
use scenarios::{Catalog, Env};

use super::data::Target;
use super::histogram::{self, Buckets, Histogram};
use super::sampler::Sampled;
use super::{LoadConfig, LoadError, LoadResults, Mode, Session};
use crate::cluster::Cluster;

/// What `shard.json` says it is, so a reader can refuse another format.
pub const FORMAT: &str = "harness-shard/1";
/// The files a shard writes into its run folder.
pub const SHARD_FILE: &str = "shard.json";
pub const RAW_FILE: &str = "raw-samples.json";

/// First keys of the advisory locks (two-key form): "harn" and "shrd".
const PREPARE_LOCK: i32 = 0x6861_726e;
const START_LOCK: i32 = 0x7368_7264;

/// Slice `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "--shard {s:?}: write I/N with 0 <= I < N, e.g. 0/4 (in a Kubernetes Indexed Job: $(JOB_COMPLETION_INDEX)/N)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// This shard's share of `total`: the shares of all N add up to it.
    pub fn share(&self, total: usize) -> usize {
        let n = self.count as usize;
        total / n + usize::from((self.index as usize) < total % n)
    }

    /// The seed of this shard's users: its own stream, the run's seed
    /// when there is one shard.
    pub fn seed(&self, seed: u64) -> u64 {
        if self.count == 1 {
            return seed;
        }
        splitmix(seed ^ splitmix(u64::from(self.index) + 1))
    }

    /// The indexes of the tenants this shard draws its users from.
    pub fn tenants(&self, tenants: &[Tenant]) -> Vec<usize> {
        let w = |i: usize| tenants[i].weight.max(1);
        let mut order: Vec<usize> = (0..tenants.len()).collect();
        let ids: Vec<String> = tenants.iter().map(|t| t.id.to_text()).collect();
        order.sort_by(|&a, &b| w(b).cmp(&w(a)).then_with(|| ids[a].cmp(&ids[b])));
        let mut held = vec![0u64; self.count as usize];
        let mut owner = vec![0usize; tenants.len()];
        for i in order {
            let lightest = (0..held.len()).min_by_key(|&s| (held[s], s)).unwrap_or(0);
            owner[i] = lightest;
            held[lightest] += w(i);
        }
        (0..tenants.len())
            .filter(|&i| owner[i] == self.index as usize)
            .collect()
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a: a stable key for the advisory locks (std's hasher may change
/// between builds, and shards may be built apart).
fn stable_key(text: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h & 0x7fff_ffff) as i32
}

/// `harness load`'s sharding flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardFlags {
    /// Run slice I of N of the load (I from 0): a share of the users (or of
    /// the rate), of the pools and of the tenants; write shard.json for
    /// `harness report merge`. Shards wait for each other before they start.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// With --shard: also write every latency value to raw-samples.json
    /// (to check a merge; costs memory per query).
    #[arg(long, requires = "shard")]
    pub raw_samples: bool,
    /// With --shard: seconds to wait for the other shards at the start line.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub shard_wait: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("--shard {shard}: {why}")]
    Split { shard: Shard, why: String },
    #[error("shard {shard}: the catalog has {tenants} tenants, fewer than the {count} shards; each shard needs tenants of its own: use fewer shards or more tenants", count = shard.count)]
    FewTenants { shard: Shard, tenants: usize },
    #[error("shard {shard}: {what} on the primary: {source}")]
    Lock {
        shard: Shard,
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("shard {shard}: only {present} of {count} shards reached the start line in {secs} s; start every shard (same settings, same target), or raise --shard-wait", count = shard.count)]
    StartLine {
        shard: Shard,
        present: i64,
        secs: u64,
    },
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A shard's settings, derived from the whole run's.
#[derive(Debug, Clone)]
pub struct ShardPlan {
    pub shard: Shard,
    /// The whole run's settings, as every shard was given them.
    pub run: LoadConfig,
    /// What this shard's session opens with: its pool shares, the data's seed.
    pub session: LoadConfig,
    /// What this shard runs: its users or rate, its users' seed.
    pub load: LoadConfig,
    pub raw_samples: bool,
    pub wait: Duration,
}

impl ShardPlan {
    /// Split `run` for `shard`; refuse a split that leaves a shard nothing.
    pub fn new(
        shard: Shard,
        run: &LoadConfig,
        flags: &ShardFlags,
    ) -> Result<ShardPlan, ShardError> {
        let n = shard.count as usize;
        let refuse = |why: String| ShardError::Split { shard, why };
        if run.mode == Mode::Closed && run.users < 2 * n {
            return Err(refuse(format!(
                "{} users cannot be split {n} ways: goose needs at least 2 users per shard ({} in all)",
                run.users,
                2 * n
            )));
        }
        if (run.primary_pool as usize) < n || (run.replica_pool as usize) < n {
            return Err(refuse(format!(
                "the pools ({} primary, {} replica connections) are the whole run's and are split {n} ways: give --pool {n} or more",
                run.primary_pool, run.replica_pool
            )));
        }
        if run.mode == Mode::Open && run.max_in_flight < n {
            return Err(refuse(format!(
                "max_in_flight {} cannot be split {n} ways",
                run.max_in_flight
            )));
        }
        let mut session = run.clone();
        session.primary_pool = shard.share(run.primary_pool as usize) as u32;
        session.replica_pool = shard.share(run.replica_pool as usize) as u32;
        let mut load = session.clone();
        load.users = shard.share(run.users);
        load.rate = run.rate / n as f64;
        load.max_in_flight = shard.share(run.max_in_flight);
        load.seed = shard.seed(run.seed);
        // The price of RLS and the app's claims are re-measured after the
        // load: once (by shard 0) is enough, and the others would add their
        // queries to shards still running.
        if shard.index > 0 {
            load.skip_rls_price = true;
        }
        Ok(ShardPlan {
            shard,
            run: run.clone(),
            session,
            load,
            raw_samples: flags.raw_samples,
            wait: Duration::from_secs(flags.shard_wait),
        })
    }

    /// Whether this shard measures the app's claims after its load.
    pub fn measures_claims(&self) -> bool {
        self.shard.index == 0
    }

    /// What the shard's report title adds.
    pub fn title(&self) -> String {
        match self.run.mode {
            Mode::Closed => format!(", shard {} ({} users)", self.shard, self.load.users),
            Mode::Open => format!(", shard {} ({} steps/s)", self.shard, self.load.rate),
        }
    }

    fn lock_err(&self, what: &'static str) -> impl FnOnce(sqlx::Error) -> ShardError {
        let shard = self.shard;
        move |source| ShardError::Lock {
            shard,
            what,
            source,
        }
    }

    /// Open this shard's session, one shard at a time (see the module
    /// doc), with the catalog cut down to this shard's tenants.
    pub async fn open(
        &self,
        cluster: &Cluster,
        target: &Target,
        with_data: bool,
    ) -> Result<Session, ShardError> {
        if self.raw_samples {
            histogram::keep_raw_values();
        }
        let database = target.database(&self.session);
        let mut lock = cluster.primary().connect().await.map_err(LoadError::from)?;
        sqlx::query("select pg_advisory_lock($1, $2)")
            .bind(PREPARE_LOCK)
            .bind(stable_key(&database))
            .execute(&mut lock)
            .await
            .map_err(self.lock_err("waiting for the other shards' preparation"))?;
        let session = Session::open(cluster, &self.session, target, with_data).await;
        // Closing the connection releases the lock, whatever happened.
        drop(lock);
        let mut session = session?;
        let all = &session.env.catalog.tenants;
        let mine: Vec<Tenant> = self
            .shard
            .tenants(all)
            .into_iter()
            .map(|i| all[i].clone())
            .collect();
        if mine.is_empty() {
            return Err(ShardError::FewTenants {
                shard: self.shard,
                tenants: all.len(),
            });
        }
        session.catalog_tenants = mine.len();
        session.env = Arc::new(Env {
            exec: session.env.exec.clone(),
            plan: session.env.plan.clone(),
            catalog: Arc::new(Catalog::new(mine)),
        });
        Ok(session)
    }

    /// Wait until all N shards of this run are at the start line. Keep
    /// the returned connection until the load ends: it holds this shard's
    /// place for a shard that arrives later.
    pub async fn start_line(&self, cluster: &Cluster) -> Result<sqlx::PgConnection, ShardError> {
        let key = stable_key(&serde_json::to_string(&self.run).unwrap_or_default());
        let mut c = cluster.primary().connect().await.map_err(LoadError::from)?;
        sqlx::query("select pg_advisory_lock_shared($1, $2)")
            .bind(START_LOCK)
            .bind(key)
            .execute(&mut c)
            .await
            .map_err(self.lock_err("taking a place at the start line"))?;
        let t0 = Instant::now();
        loop {
            let present: i64 = sqlx::query_scalar(
                "select count(*) from pg_locks
                 where locktype = 'advisory' and granted and objsubid = 2
                   and classid::int8 = $1 and objid::int8 = $2
                   and database = (select oid from pg_database where datname = current_database())",
            )
            .bind(i64::from(START_LOCK))
            .bind(i64::from(key))
            .fetch_one(&mut c)
            .await
            .map_err(self.lock_err("counting the shards at the start line"))?;
            if present >= i64::from(self.shard.count) {
                return Ok(c);
            }
            if t0.elapsed() > self.wait {
                return Err(ShardError::StartLine {
                    shard: self.shard,
                    present,
                    secs: self.wait.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Write `shard.json` (and `raw-samples.json`) into `dir` from the
    /// session's recorders, right after [`super::run`] returned `results`.
    pub fn save(
        &self,
        dir: &Path,
        session: &Session,
        results: &LoadResults,
    ) -> Result<(), ShardError> {
        let ended = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let rec = &session.transport.recorder;
        let mut raw = RawSamples::default();
        let mut keep = |h: &Histogram, name: Option<&str>| {
            let (snap, values) = h.snapshot_with_raw();
            if let (Some(v), Some(n)) = (values, name) {
                raw.values.insert(n.to_string(), v);
            }
            snap.to_buckets()
        };
        let mut queries = BTreeMap::new();
        for (name, s) in rec.names() {
            queries.insert(
                name.to_string(),
                QueryHistograms {
                    total: keep(&s.total, Some(&format!("query {name}"))),
                    pool_wait: keep(&s.pool_wait, None),
                    exec: keep(&s.exec, None),
                },
            );
        }
        let open = session
            .last_open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|_| self.run.mode == Mode::Open)
            .map(|o| OpenHistograms {
                all: keep(&o.all, Some(OPEN_ALL)),
                late: keep(&o.late, None),
                steps: o
                    .steps()
                    .into_iter()
                    .map(|(name, s)| (name, keep(&s.0, None)))
                    .collect(),
            });
        let histograms = Histograms {
            all: keep(&rec.all, Some(ALL)),
            all_pool_wait: keep(&rec.all_pool_wait, None),
            queries,
            fresh_wait: keep(&rec.fresh.wait, None),
            open,
        };
        let file = ShardFile {
            format: FORMAT.into(),
            shard: self.shard,
            run: self.run.clone(),
            app: session.app.clone(),
            database: session.database.clone(),
            users: self.load.users,
            rate: self.load.rate,
            seed: self.load.seed,
            primary_pool: self.load.primary_pool,
            replica_pool: self.load.replica_pool,
            tenants: session
                .env
                .catalog
                .tenants
                .iter()
                .map(|t| t.id.to_text())
                .collect(),
            steady_started: ended - results.steady_secs,
            steady_ended: ended,
            health: Health::of(results),
            histograms,
        };
        write_json(&dir.join(SHARD_FILE), &file)?;
        if self.raw_samples {
            write_json(&dir.join(RAW_FILE), &raw)?;
        }
        Ok(())
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ShardError> {
    let text = serde_json::to_string(value).expect("shard files always serialize");
    std::fs::write(path, text).map_err(|source| ShardError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Keys of [`RawSamples::values`] for the overall histograms (a named
/// query's is `query NAME`).
pub const ALL: &str = "all queries";
pub const OPEN_ALL: &str = "open: all steps";

/// `shard.json`: which slice of which run, its histograms, its health.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardFile {
    pub format: String,
    pub shard: Shard,
    /// The whole run's settings (identical in every shard of one run).
    pub run: LoadConfig,
    pub app: String,
    pub database: String,
    /// This shard's slice.
    pub users: usize,
    pub rate: f64,
    pub seed: u64,
    pub primary_pool: u32,
    pub replica_pool: u32,
    /// Ids of the tenants its users were drawn from.
    pub tenants: Vec<String>,
    /// The steady state, seconds since the Unix epoch (wall clock).
    pub steady_started: f64,
    pub steady_ended: f64,
    pub health: Health,
    pub histograms: Histograms,
}

/// Every histogram a gate reads, as bucket counts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histograms {
    /// Every named query's latency together (pool wait + query).
    pub all: Buckets,
    pub all_pool_wait: Buckets,
    pub queries: BTreeMap<String, QueryHistograms>,
    /// Own-write reads: how long they waited for the replica.
    pub fresh_wait: Buckets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenHistograms>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryHistograms {
    pub total: Buckets,
    pub pool_wait: Buckets,
    pub exec: Buckets,
}

/// The open model's: latency from the schedule (all steps and per step)
/// and how late arrivals started.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenHistograms {
    pub all: Buckets,
    pub late: Buckets,
    pub steps: BTreeMap<String, Buckets>,
}

/// A shard's generator health over its steady state: what decides whether
/// its figures describe the database or the generator.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Health {
    /// This process's CPU, share of all cores of its machine.
    pub generator_cpu_share: f64,
    /// The whole machine's CPU, share busy.
    pub host_cpu_share: f64,
    /// p99 of how late a 10 ms ticker on the generator's runtime fired.
    pub tick_lag_p99_ms: f64,
    /// Open model: arrivals that started late, and all arrivals.
    pub late_starts: u64,
    pub arrivals: u64,
    pub peak_memory_mib: f64,
    /// Why the shard judged itself invalid, if it did.
    pub invalid: Vec<String>,
}

impl Health {
    fn of(r: &LoadResults) -> Health {
        Health {
            generator_cpu_share: r.sampled.generator_cpu_share,
            host_cpu_share: r.sampled.host_cpu_share,
            tick_lag_p99_ms: r.sampled.tick_lag_p99_ms,
            late_starts: r.open.as_ref().map_or(0, |o| o.late_starts),
            arrivals: r.open.as_ref().map_or(0, |o| o.started),
            peak_memory_mib: r.peak_memory_mib,
            invalid: r.invalid.clone(),
        }
    }

    /// Why these figures make the shard invalid under `limits`: the same
    /// rule a single run is judged by ([`super::gates::invalid_reasons`]),
    /// plus whatever the shard itself found.
    pub fn invalid_reasons(&self, limits: &super::config::HealthLimits) -> Vec<String> {
        let sampled = Sampled {
            generator_cpu_share: self.generator_cpu_share,
            host_cpu_share: self.host_cpu_share,
            tick_lag_p99_ms: self.tick_lag_p99_ms,
            ..Default::default()
        };
        let open = (self.arrivals > 0).then(|| super::open::OpenSummary {
            started: self.arrivals,
            late_starts: self.late_starts,
            ..Default::default()
        });
        let mut out = super::gates::invalid_reasons(limits, &sampled, open.as_ref());
        for r in &self.invalid {
            if !out.contains(r) {
                out.push(r.clone());
            }
        }
        out
    }
}

/// `raw-samples.json`: every latency value behind the saved histograms,
/// in microseconds, by histogram ([`ALL`], [`OPEN_ALL`], `query NAME`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RawSamples {
    pub values: BTreeMap<String, Vec<u64>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenarios::Value;

    fn tenant(id: i64, weight: u64) -> Tenant {
        Tenant {
            id: Value::Int(id),
            weight,
            samples: Vec::new(),
        }
    }

    #[test]
    fn shares_add_up_and_the_flag_is_checked() {
        for n in 1..7u32 {
            for total in [0usize, 1, 5, 40, 10_001] {
                let sum: usize = (0..n)
                    .map(|index| Shard { index, count: n }.share(total))
                    .sum();
                assert_eq!(sum, total, "{total} over {n}");
            }
        }
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let one = Shard { index: 0, count: 1 };
        assert_eq!(one.seed(42), 42, "one shard is the ordinary run");
        let seeds: std::collections::BTreeSet<u64> = (0..8)
            .map(|index| Shard { index, count: 8 }.seed(42))
            .collect();
        assert_eq!(seeds.len(), 8, "every shard draws its own users");
    }

    #[test]
    fn tenants_are_dealt_disjoint_balanced_and_whatever_their_order() {
        let mut tenants: Vec<Tenant> = (0..23)
            .map(|i| tenant(i, if i < 3 { 100 } else { 1 + (i as u64 % 7) }))
            .collect();
        let n = 4;
        let slices = |ts: &[Tenant]| -> Vec<Vec<String>> {
            (0..n)
                .map(|index| {
                    let mut ids: Vec<String> = Shard { index, count: n }
                        .tenants(ts)
                        .into_iter()
                        .map(|i| ts[i].id.to_text())
                        .collect();
                    ids.sort();
                    ids
                })
                .collect()
        };
        let a = slices(&tenants);
        let mut every: Vec<&String> = a.iter().flatten().collect();
        every.sort();
        every.dedup();
        assert_eq!(every.len(), 23, "disjoint and covering: {a:?}");
        let weight = |ids: &[String]| -> u64 {
            ids.iter()
                .map(|id| {
                    tenants
                        .iter()
                        .find(|t| &t.id.to_text() == id)
                        .unwrap()
                        .weight
                })
                .sum()
        };
        let ws: Vec<u64> = a.iter().map(|s| weight(s)).collect();
        let (lo, hi) = (*ws.iter().min().unwrap(), *ws.iter().max().unwrap());
        assert!(hi - lo <= 100, "slices weigh about the same: {ws:?}");
        tenants.reverse();
        assert_eq!(slices(&tenants), a, "the query's row order does not matter");
    }

    #[test]
    fn a_plan_splits_users_pools_and_seed_and_refuses_too_few() {
        let run = LoadConfig {
            users: 161,
            primary_pool: 16,
            replica_pool: 17,
            ..Default::default()
        };
        let flags = ShardFlags::default();
        let plans: Vec<ShardPlan> = (0..4)
            .map(|index| ShardPlan::new(Shard { index, count: 4 }, &run, &flags).unwrap())
            .collect();
        assert_eq!(plans.iter().map(|p| p.load.users).sum::<usize>(), 161);
        assert_eq!(plans.iter().map(|p| p.load.replica_pool).sum::<u32>(), 17);
        assert!(plans
            .iter()
            .all(|p| p.session.seed == run.seed && p.run == run));
        assert!(plans[1].load.skip_rls_price && !plans[0].load.skip_rls_price);
        let few = LoadConfig {
            users: 7,
            ..run.clone()
        };
        let e = ShardPlan::new(Shard { index: 0, count: 4 }, &few, &flags).unwrap_err();
        assert!(e.to_string().contains("at least 2 users per shard"), "{e}");
    }
}
