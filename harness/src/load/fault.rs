//! Faults under load: `harness load --fault KIND@AT[+FOR]`.
//!
//! What a fault run is for: every seed claims replicas and high
//! availability; this stops, kills or pauses the replica, restarts the
//! primary, or promotes the replica, at a chosen second of the steady
//! state, and measures what the users saw: errors by kind, how long until
//! queries succeeded again and p95 was back under the target, p95/p99
//! during and after, reads the transport moved to the primary while the
//! replica was gone, and the replica lag peak. The write ledger
//! ([`super::ledger`]) then checks that no acknowledged write was lost.
//!
//! How it is shaped:
//! - **Process-level faults only** (signals, `pg_ctl`-like restarts,
//!   `pg_wal_replay_pause`, `pg_promote`): no `tc netem` on these machines.
//! - **The owner of the cluster.** Faults need `&mut Cluster` while the
//!   load runs. The driver ([`drive`]) is a future that borrows the cluster
//!   mutably and runs *beside* the load future in one `join` (the load's
//!   users run on tasks of their own): no lock, no `'static` cluster, and
//!   the path without faults does not change at all.
//! - **Time zero is the start of the steady state**: the load marks it on
//!   the [`Timeline`] the transport records every query on (and, in the
//!   open model, every step with its latency from the scheduled start).
//!   While waiting for the next fault the driver probes replica lag every
//!   half second.
//! - **The open model by default** (docs/faults.md): a closed-model user
//!   waiting on a dead server stops sending, so the fault shows as a few
//!   slow queries; arrivals on a schedule keep coming, and each one is
//!   charged from its scheduled start.
//! - **Gates fit for a fault run**: the regular p95, error-rate and lag
//!   gates over the whole steady state would fail every fault run by
//!   construction. They are replaced by the same limits judged *outside*
//!   the fault windows (a window: from the fault's start to its end plus
//!   the recovery allowance), one recovery gate per fault (back within the
//!   allowance), and the lost-write gate when one applies.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use scenarios::common::Outcome;
use scenarios::{Route, Server};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::cluster::{self, Cluster, Durability, Endpoint};
use crate::report::{charts, Comparison, Gate, Run, Series, Table};

use super::config::{LoadConfig, Mode};
use super::ledger::{Ledger, LedgerFigures};
use super::transport::Via;
use super::{LoadError, LoadResults, Session};

/// Seconds per interval of the recovery measurement.
pub const INTERVAL_SECS: f64 = 1.0;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Fast shutdown of the replica, started again after the hold.
    ReplicaStop,
    /// SIGKILL of the replica (a crash), started again after the hold.
    ReplicaKill,
    /// WAL replay paused on the replica for the hold: it serves ever
    /// staler reads while the primary writes.
    ReplicaPause,
    /// Fast shutdown and start of the primary.
    PrimaryRestart,
    /// Failover: the primary is killed (fenced: it takes no more writes),
    /// the replica promoted, writes and reads move to it.
    Promote,
}

const KINDS: [FaultKind; 5] = [
    FaultKind::ReplicaStop,
    FaultKind::ReplicaKill,
    FaultKind::ReplicaPause,
    FaultKind::PrimaryRestart,
    FaultKind::Promote,
];

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ReplicaStop => "replica-stop",
            FaultKind::ReplicaKill => "replica-kill",
            FaultKind::ReplicaPause => "replica-pause",
            FaultKind::PrimaryRestart => "primary-restart",
            FaultKind::Promote => "promote",
        }
    }

    /// Whether the fault lasts as long as the spec says (`+FOR`), rather
    /// than as long as the server takes.
    fn held(self) -> bool {
        matches!(
            self,
            FaultKind::ReplicaStop | FaultKind::ReplicaKill | FaultKind::ReplicaPause
        )
    }

    /// Whether it hits the replica (reads) rather than the primary (writes).
    fn on_replica(self) -> bool {
        self.held()
    }
}

/// One parsed `--fault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Seconds into the steady state.
    pub at_secs: f64,
    /// How long a replica fault lasts.
    pub hold_secs: Option<f64>,
    /// As given.
    pub spec: String,
}

const SYNTAX: &str = "write KIND@AT[+FOR], e.g. replica-kill@10s+8s, replica-pause@5s+6s, primary-restart@15s, promote@12s (AT from the start of the steady state; units ms, s or m)";

fn seconds(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v * scale)
}

impl std::str::FromStr for FaultSpec {
    type Err = String;

    fn from_str(spec: &str) -> Result<FaultSpec, String> {
        let bad = |why: String| format!("--fault {spec:?}: {why}; {SYNTAX}");
        let (kind, when) = spec
            .split_once('@')
            .ok_or_else(|| bad("no @ before the time".into()))?;
        let kind = KINDS
            .into_iter()
            .find(|k| k.name() == kind.trim())
            .ok_or_else(|| {
                bad(format!(
                    "unknown kind {:?} (kinds: {})",
                    kind.trim(),
                    KINDS.map(|k| k.name()).join(", ")
                ))
            })?;
        let (at, hold) = match when.split_once('+') {
            Some((a, h)) => (a, Some(h)),
            None => (when, None),
        };
        let at_secs = seconds(at).ok_or_else(|| bad(format!("{at:?} is not a time")))?;
        let hold_secs = match hold {
            Some(h) => Some(
                seconds(h)
                    .filter(|&v| v > 0.0)
                    .ok_or_else(|| bad(format!("{h:?} is not a duration above 0")))?,
            ),
            None => None,
        };
        match (kind.held(), hold_secs) {
            (true, None) => Err(bad(format!(
                "{} needs a duration: how long the replica stays down or paused (+8s)",
                kind.name()
            ))),
            (false, Some(_)) => Err(bad(format!(
                "{} takes no duration: it lasts as long as the server takes; drop the +{}",
                kind.name(),
                hold.unwrap_or_default()
            ))),
            _ => Ok(FaultSpec {
                kind,
                at_secs,
                hold_secs,
                spec: spec.to_string(),
            }),
        }
    }
}

impl FaultSpec {
    fn end_secs(&self) -> f64 {
        self.at_secs + self.hold_secs.unwrap_or(0.0)
    }
}

/// Parse and order the faults of one run and check they can run: each in
/// the steady state, none overlapping the next, nothing after a promotion
/// (there is no replica left to fault, and the primary is another server).
pub fn plan(specs: &[String], steady_secs: usize) -> Result<Vec<FaultSpec>, String> {
    let mut faults: Vec<FaultSpec> = specs.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    faults.sort_by(|a, b| a.at_secs.total_cmp(&b.at_secs));
    for f in &faults {
        if f.end_secs() >= steady_secs as f64 {
            return Err(format!(
                "--fault {:?} ends at {:.1} s, past the {steady_secs} s steady state: start it earlier or give a longer --duration (leave time after it to measure the recovery)",
                f.spec,
                f.end_secs()
            ));
        }
    }
    for w in faults.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if a.kind == FaultKind::Promote {
            return Err(format!(
                "--fault {:?} comes after {:?}: after a promotion there is no replica and the primary is another server; make the promotion the last fault",
                b.spec, a.spec
            ));
        }
        if b.at_secs <= a.end_secs() {
            return Err(format!(
                "--fault {:?} starts before {:?} is over (at {:.1} s): one fault at a time, so each one's effect can be told apart",
                b.spec,
                a.spec,
                a.end_secs()
            ));
        }
    }
    Ok(faults)
}

/// `harness load`'s fault flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FaultFlags {
    /// Inject a fault during the steady state (repeatable): KIND@AT[+FOR],
    /// e.g. replica-kill@10s+8s, replica-stop@10s+8s, replica-pause@5s+6s,
    /// primary-restart@15s, promote@12s. Runs the open model unless --mode
    /// says otherwise; see docs/faults.md.
    #[arg(long = "fault", value_name = "KIND@AT[+FOR]")]
    pub faults: Vec<String>,
    /// Keep the write ledger (the default with --fault): every acknowledged
    /// write must be on the surviving primary after the run.
    #[arg(long, conflicts_with = "no_ledger")]
    pub ledger: bool,
    /// Do not keep the write ledger.
    #[arg(long)]
    pub no_ledger: bool,
    /// Gate: at most this many acknowledged writes may be lost (default:
    /// reported, not gated, with asynchronous replication; 0 with
    /// --durability sync-apply).
    #[arg(long, value_name = "N")]
    pub max_lost_writes: Option<u64>,
    /// Seconds after a fault ends within which queries must succeed again
    /// and p95 be back under the target.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub recovery_secs: f64,
    /// Test only: delete this many acknowledged ledger rows before the
    /// check, which must then count them lost.
    #[arg(long, hide = true, default_value_t = 0)]
    pub ledger_drop: u64,
}

/// What a fault run was asked to do, checked.
#[derive(Debug, Clone, Default)]
pub struct FaultOptions {
    pub faults: Vec<FaultSpec>,
    pub ledger: bool,
    pub max_lost_writes: Option<u64>,
    pub recovery_secs: f64,
    pub ledger_drop: u64,
}

impl FaultFlags {
    /// Check the flags against the steady state and the cluster; the load
    /// model defaults to open when faults are given and neither `--mode`
    /// nor `harness.toml` chose one.
    pub fn resolve(
        &self,
        cfg: &mut LoadConfig,
        mode_chosen: bool,
        durability: Durability,
        external: bool,
    ) -> Result<FaultOptions, String> {
        let faults = plan(&self.faults, cfg.steady_secs)?;
        if !faults.is_empty() && external {
            return Err("--fault needs a cluster the harness starts (--backend native or docker): it cannot stop or promote servers it does not own".into());
        }
        let ledger = !self.no_ledger && (self.ledger || !faults.is_empty());
        if ledger && external {
            return Err("the write ledger creates schema harness in the load's database: use it on a cluster the harness starts (--no-ledger otherwise)".into());
        }
        if !(self.recovery_secs.is_finite() && self.recovery_secs >= 0.0) {
            return Err("--recovery-secs must be a number of seconds, 0 or more".into());
        }
        if !faults.is_empty() && !mode_chosen {
            cfg.mode = Mode::Open;
        }
        Ok(FaultOptions {
            faults,
            ledger,
            max_lost_writes: self.max_lost_writes.or(match durability {
                Durability::SyncApply => Some(0),
                _ => None,
            }),
            recovery_secs: self.recovery_secs,
            ledger_drop: self.ledger_drop,
        })
    }
}

impl FaultOptions {
    pub fn active(&self) -> bool {
        !self.faults.is_empty() || self.ledger
    }
}

/// One query as the timeline keeps it.
#[derive(Debug, Clone)]
struct QueryEvent {
    /// Completion, ms since the steady state began.
    t_ms: u32,
    lat_us: u32,
    error: Option<Box<str>>,
    route: Route,
    server: Server,
    via: Via,
}

#[derive(Debug, Clone, Copy)]
struct StepEvent {
    t_ms: u32,
    lat_us: u32,
}

/// A replica lag probe.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct LagProbe {
    pub t: f64,
    pub bytes: i64,
    pub secs: f64,
}

/// Every outcome of the steady state with its time: what the per-fault
/// figures are cut from.
#[derive(Default)]
pub struct Timeline {
    t0: OnceLock<Instant>,
    done: AtomicBool,
    queries: Mutex<Vec<QueryEvent>>,
    steps: Mutex<Vec<StepEvent>>,
}

fn ms(d: Duration) -> u32 {
    d.as_millis().min(u32::MAX as u128) as u32
}

fn us(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

impl Timeline {
    /// The steady state begins: time zero of every fault.
    pub fn start(&self) {
        let _ = self.t0.set(Instant::now());
    }

    /// The load is over (or failed): the driver stops probing.
    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    fn now_ms(&self) -> Option<u32> {
        self.t0.get().map(|t| ms(t.elapsed()))
    }

    fn secs(&self) -> f64 {
        self.t0.get().map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    pub fn query(&self, o: &Outcome, route: Route, via: Via) {
        let Some(t_ms) = self.now_ms() else { return };
        let e = QueryEvent {
            t_ms,
            lat_us: us(o.total),
            error: o.error.as_deref().map(Box::from),
            route,
            server: o.server,
            via,
        };
        self.queries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(e);
    }

    /// An open-model step: latency from its scheduled start.
    pub fn step(&self, latency: Duration) {
        let Some(t_ms) = self.now_ms() else { return };
        self.steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(StepEvent {
                t_ms,
                lat_us: us(latency),
            });
    }
}

/// What the driver did with one fault.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    pub began_s: f64,
    pub ended_s: f64,
    pub error: Option<String>,
}

/// Lag probe connections, reopened when a server went away.
#[derive(Default)]
struct Prober {
    primary: Option<PgConnection>,
    replica: Option<PgConnection>,
    probes: Vec<LagProbe>,
}

async fn connect(ep: &Endpoint) -> Option<PgConnection> {
    tokio::time::timeout(Duration::from_secs(1), ep.connect())
        .await
        .ok()?
        .ok()
}

impl Prober {
    async fn probe(&mut self, cluster: &Cluster, t: f64) {
        let Some(r_ep) = cluster.replica() else {
            return;
        };
        if self.primary.is_none() {
            self.primary = connect(cluster.primary()).await;
        }
        if self.replica.is_none() {
            self.replica = connect(r_ep).await;
        }
        let (Some(p), Some(r)) = (self.primary.as_mut(), self.replica.as_mut()) else {
            return;
        };
        match tokio::time::timeout(Duration::from_secs(1), cluster::measure_lag(p, r)).await {
            Ok(Ok(l)) => self.probes.push(LagProbe {
                t,
                bytes: l.bytes,
                secs: l.seconds,
            }),
            // Which side failed is not known: reconnect both next time.
            _ => {
                self.primary = None;
                self.replica = None;
            }
        }
    }

    /// Probe every half second until `deadline` (None: until the load is done).
    async fn until(&mut self, cluster: &Cluster, tl: &Timeline, deadline: Option<Instant>) {
        loop {
            if tl.done.load(Ordering::SeqCst) {
                return;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return;
            }
            self.probe(cluster, tl.secs()).await;
            let next = Instant::now() + Duration::from_millis(500);
            let wake = deadline.map_or(next, |d| d.min(next));
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}

async fn act(
    kind: FaultKind,
    hold: Option<f64>,
    cluster: &mut Cluster,
    session: &Session,
    prober: &mut Prober,
    tl: &Timeline,
) -> Result<(), String> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: cluster::ClusterError| format!("{what}: {err}")
    };
    let hold_until = |h: Option<f64>| Instant::now() + Duration::from_secs_f64(h.unwrap_or(0.0));
    match kind {
        FaultKind::ReplicaStop | FaultKind::ReplicaKill => {
            let until = hold_until(hold);
            if kind == FaultKind::ReplicaStop {
                cluster
                    .stop_replica()
                    .await
                    .map_err(e("stopping the replica"))?;
            } else {
                cluster
                    .kill_replica()
                    .await
                    .map_err(e("killing the replica"))?;
            }
            prober.until(cluster, tl, Some(until)).await;
            cluster
                .start_replica()
                .await
                .map_err(e("starting the replica again"))
        }
        FaultKind::ReplicaPause => {
            let until = hold_until(hold);
            cluster
                .pause_replica()
                .await
                .map_err(e("pausing replay on the replica"))?;
            prober.until(cluster, tl, Some(until)).await;
            cluster
                .resume_replica()
                .await
                .map_err(e("resuming replay on the replica"))
        }
        FaultKind::PrimaryRestart => cluster
            .restart_primary()
            .await
            .map_err(e("restarting the primary")),
        FaultKind::Promote => {
            cluster
                .fail_over()
                .await
                .map_err(e("failing over to the replica"))?;
            prober.primary = None;
            prober.replica = None;
            session
                .transport
                .fail_over(cluster.primary())
                .await
                .map_err(|err| format!("moving the load to the promoted replica: {err}"))
        }
    }
}

/// Apply `faults` at their times (from the steady state's start, which
/// the load marks on `tl`), probing replica lag in between, until the
/// load is done.
pub async fn drive(
    cluster: &mut Cluster,
    session: &Session,
    faults: &[FaultSpec],
    tl: &Timeline,
) -> (Vec<Applied>, Vec<LagProbe>) {
    let mut prober = Prober::default();
    let t0 = loop {
        if let Some(t) = tl.t0.get() {
            break *t;
        }
        if tl.done.load(Ordering::SeqCst) {
            return (Vec::new(), Vec::new());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut applied = Vec::new();
    for f in faults {
        let at = t0 + Duration::from_secs_f64(f.at_secs);
        prober.until(cluster, tl, Some(at)).await;
        if tl.done.load(Ordering::SeqCst) {
            break;
        }
        let began_s = tl.secs();
        eprintln!("harness: fault {} at {began_s:.1} s", f.spec);
        let r = act(f.kind, f.hold_secs, cluster, session, &mut prober, tl).await;
        let ended_s = tl.secs();
        if let Err(why) = &r {
            eprintln!("harness: fault {} could not be applied: {why}", f.spec);
        }
        applied.push(Applied {
            began_s,
            ended_s,
            error: r.err(),
        });
    }
    prober.until(cluster, tl, None).await;
    (applied, prober.probes)
}

/// One fault's measured effect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultFigures {
    pub spec: String,
    pub kind: Option<FaultKind>,
    /// When the fault began and ended (the server back, replay resumed,
    /// the promotion done and the load moved), seconds into the steady state.
    pub began_s: f64,
    pub ended_s: f64,
    /// Figures below count from `began_s` to here: the next fault's start
    /// or the end of the steady state.
    pub window_end_s: f64,
    /// Why the fault could not be applied, if it could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub queries: u64,
    pub failed: u64,
    /// Failed queries by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Of the failed, those after the fault ended.
    pub failed_after_end: u64,
    /// Reads sent to the primary because the replica was down or promoted.
    pub reads_moved: u64,
    /// Read-your-own-write reads sent to the primary because the replica
    /// had not replayed the write in time (a paused replica).
    pub fresh_fallbacks: u64,
    /// ms from the start to the first and last failed query.
    pub first_error_ms: Option<f64>,
    pub last_error_ms: Option<f64>,
    /// ms from the start to the first successful query of what the fault
    /// hits (reads for a replica fault, writes for the primary).
    pub first_success_ms: Option<f64>,
    /// ms from the end to the first success on the server the fault hit
    /// (a read served by the replica again; a write on the primary).
    pub first_success_after_end_ms: Option<f64>,
    /// Seconds from the end to the first whole interval from which on no
    /// query failed and whose p95 was under the target: None if the window
    /// ended first.
    pub recovered_secs: Option<f64>,
    /// Latency during (start to end) and after (end to window end): the
    /// open model's from the scheduled start, else per query.
    pub p95_during_ms: f64,
    pub p99_during_ms: f64,
    pub p95_after_ms: f64,
    pub p99_after_ms: f64,
    pub lag_peak_secs: f64,
    pub lag_peak_bytes: i64,
}

/// The steady state outside every fault window.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Outside {
    pub queries: u64,
    pub failed: u64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub lag_max_secs: f64,
}

/// One interval of the fault timeline (for the chart).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    pub t: f64,
    pub queries: u64,
    pub failed: u64,
    pub moved: u64,
    pub p95_ms: f64,
}

/// Everything a fault run adds to the results.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultReport {
    /// Whose latency the figures use: "steps from the scheduled start"
    /// (open model) or "queries" (closed model).
    pub latency_of: String,
    pub p95_target_ms: f64,
    pub recovery_limit_secs: f64,
    pub faults: Vec<FaultFigures>,
    pub outside: Outside,
    pub intervals: Vec<Interval>,
    pub lag: Vec<LagProbe>,
    /// Every read moved to the primary over the steady state.
    pub reads_moved: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<LedgerFigures>,
    /// The lost-write limit, when one applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lost_writes: Option<u64>,
    /// The replica's replication mode during the run (it decides what
    /// "lost" means).
    pub durability: String,
}

/// Nearest-rank quantile of latencies in µs, as ms (0 for none).
fn quantile_ms(v: &mut [u32], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i] as f64 / 1000.0
}

/// How the timeline is judged.
struct Judge {
    mode: Mode,
    steady_end_s: f64,
    target_ms: f64,
    recovery_secs: f64,
}

/// Cut the timeline into the per-fault figures.
fn analyse(
    faults: &[FaultSpec],
    applied: &[Applied],
    lag: Vec<LagProbe>,
    tl: &Timeline,
    judge: &Judge,
) -> FaultReport {
    let Judge {
        mode,
        steady_end_s,
        target_ms,
        recovery_secs,
    } = *judge;
    let queries = tl.queries.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let steps = tl.steps.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let open = mode == Mode::Open;
    // Latency samples: (t_ms, lat_us).
    let lat: Vec<(u32, u32)> = if open {
        steps.iter().map(|s| (s.t_ms, s.lat_us)).collect()
    } else {
        queries.iter().map(|q| (q.t_ms, q.lat_us)).collect()
    };
    let within = |t: u32, a: f64, b: f64| (t as f64) >= a * 1000.0 && (t as f64) < b * 1000.0;
    let lat_in = |a: f64, b: f64| -> Vec<u32> {
        lat.iter()
            .filter(|(t, _)| within(*t, a, b))
            .map(|(_, l)| *l)
            .collect()
    };
    let mut out = Vec::new();
    for (i, (f, a)) in faults.iter().zip(applied).enumerate() {
        let end_w = applied
            .get(i + 1)
            .map_or(steady_end_s, |n| n.began_s)
            .max(a.ended_s);
        let mut fig = FaultFigures {
            spec: f.spec.clone(),
            kind: Some(f.kind),
            began_s: a.began_s,
            ended_s: a.ended_s,
            window_end_s: end_w,
            error: a.error.clone(),
            ..Default::default()
        };
        let hits = |q: &QueryEvent| {
            if f.kind.on_replica() {
                q.route != Route::Write
            } else {
                q.route == Route::Write
            }
        };
        let since_begin = |t: u32| t as f64 - a.began_s * 1000.0;
        for q in queries.iter().filter(|q| within(q.t_ms, a.began_s, end_w)) {
            fig.queries += 1;
            match q.via {
                Via::Moved => fig.reads_moved += 1,
                Via::Fallback => fig.fresh_fallbacks += 1,
                Via::Direct => {}
            }
            match &q.error {
                Some(k) => {
                    fig.failed += 1;
                    *fig.errors.entry(k.to_string()).or_default() += 1;
                    if (q.t_ms as f64) >= a.ended_s * 1000.0 {
                        fig.failed_after_end += 1;
                    }
                    fig.first_error_ms.get_or_insert(since_begin(q.t_ms));
                    fig.last_error_ms = Some(since_begin(q.t_ms));
                }
                None => {
                    if hits(q) && fig.first_success_ms.is_none() {
                        fig.first_success_ms = Some(since_begin(q.t_ms));
                    }
                    let on_it = if f.kind.on_replica() {
                        q.server == Server::Replica
                    } else {
                        q.route == Route::Write
                    };
                    if on_it
                        && (q.t_ms as f64) >= a.ended_s * 1000.0
                        && fig.first_success_after_end_ms.is_none()
                    {
                        fig.first_success_after_end_ms = Some(q.t_ms as f64 - a.ended_s * 1000.0);
                    }
                }
            }
        }
        // Queries arrive in completion order per thread, not globally.
        let mut during = lat_in(a.began_s, a.ended_s);
        let mut after = lat_in(a.ended_s, end_w);
        fig.p95_during_ms = quantile_ms(&mut during, 0.95);
        fig.p99_during_ms = quantile_ms(&mut during, 0.99);
        fig.p95_after_ms = quantile_ms(&mut after, 0.95);
        fig.p99_after_ms = quantile_ms(&mut after, 0.99);
        let last_err_s = fig.last_error_ms.map(|m| a.began_s + m / 1000.0);
        let mut k = 0.0;
        while a.ended_s + k + INTERVAL_SECS <= end_w + 1e-9 {
            let (s, e) = (a.ended_s + k, a.ended_s + k + INTERVAL_SECS);
            let mut l = lat_in(s, e);
            let clean = last_err_s.is_none_or(|le| le < s);
            if clean && !l.is_empty() && quantile_ms(&mut l, 0.95) < target_ms {
                fig.recovered_secs = Some(k);
                break;
            }
            k += INTERVAL_SECS;
        }
        for p in lag.iter().filter(|p| p.t >= a.began_s && p.t < end_w) {
            fig.lag_peak_secs = fig.lag_peak_secs.max(p.secs);
            fig.lag_peak_bytes = fig.lag_peak_bytes.max(p.bytes);
        }
        out.push(fig);
    }
    // Outside: not within [began, ended + recovery allowance) of any fault.
    let excluded = |t: f64| {
        applied
            .iter()
            .any(|a| t >= a.began_s && t < a.ended_s + recovery_secs)
    };
    let mut outside = Outside::default();
    for q in queries.iter().filter(|q| !excluded(q.t_ms as f64 / 1000.0)) {
        outside.queries += 1;
        if q.error.is_some() {
            outside.failed += 1;
        }
    }
    let mut ol: Vec<u32> = lat
        .iter()
        .filter(|(t, _)| !excluded(*t as f64 / 1000.0))
        .map(|(_, l)| *l)
        .collect();
    outside.p95_ms = quantile_ms(&mut ol, 0.95);
    outside.p99_ms = quantile_ms(&mut ol, 0.99);
    outside.lag_max_secs = lag
        .iter()
        .filter(|p| !excluded(p.t))
        .map(|p| p.secs)
        .fold(0.0, f64::max);
    let mut intervals = Vec::new();
    let mut s = 0.0;
    while s < steady_end_s {
        let e = s + INTERVAL_SECS;
        let mut l = lat_in(s, e);
        let mut iv = Interval {
            t: s,
            p95_ms: quantile_ms(&mut l, 0.95),
            ..Default::default()
        };
        for q in queries.iter().filter(|q| within(q.t_ms, s, e)) {
            iv.queries += 1;
            iv.failed += q.error.is_some() as u64;
            iv.moved += (q.via == Via::Moved) as u64;
        }
        intervals.push(iv);
        s = e;
    }
    FaultReport {
        latency_of: if open {
            "steps, from the scheduled start".into()
        } else {
            "queries".into()
        },
        p95_target_ms: target_ms,
        recovery_limit_secs: recovery_secs,
        reads_moved: queries.iter().filter(|q| q.via == Via::Moved).count() as u64,
        faults: out,
        outside,
        intervals,
        lag,
        ledger: None,
        max_lost_writes: None,
        durability: String::new(),
    }
}

/// The regular gates a fault run replaces (they would judge the fault
/// itself): p95 over the whole steady state, error rate, replica lag.
fn replaced(name: &str) -> bool {
    name.starts_with("p95 ") || name == "error rate" || name == "replica lag (max)"
}

impl FaultReport {
    /// The fault run's gates (see the module doc).
    pub fn gates(&self, error_rate_pct: f64, lag_limit_secs: f64, has_replica: bool) -> Vec<Gate> {
        let mut g = Vec::new();
        let o = &self.outside;
        if !self.faults.is_empty() {
            g.push(
                Gate::new(
                    "p95 outside faults",
                    o.p95_ms,
                    Comparison::Below,
                    self.p95_target_ms,
                    "ms",
                )
                .with_detail(format!(
                    "{} outside every fault and its {} s recovery allowance; p99 {:.1} ms",
                    self.latency_of, self.recovery_limit_secs, o.p99_ms
                )),
            );
            g.push(
                Gate::new(
                    "error rate outside faults",
                    100.0 * o.failed as f64 / o.queries.max(1) as f64,
                    Comparison::Below,
                    error_rate_pct,
                    "%",
                )
                .with_detail(format!("{} failed of {}", o.failed, o.queries)),
            );
            if has_replica {
                g.push(Gate::new(
                    "replica lag outside faults (max)",
                    o.lag_max_secs,
                    Comparison::AtMost,
                    lag_limit_secs,
                    "s",
                ));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let name = format!("recovery {} {}", i + 1, f.spec);
            let observed = match (&f.error, f.recovered_secs) {
                (None, Some(s)) => s,
                _ => f64::NAN,
            };
            let detail = match (&f.error, f.recovered_secs) {
                (Some(e), _) => format!("the fault could not be applied: {e}"),
                (None, None) => format!(
                    "not recovered before {:.1} s: {} failed after the fault ended, p95 after {:.1} ms",
                    f.window_end_s, f.failed_after_end, f.p95_after_ms
                ),
                (None, Some(_)) => format!(
                    "{} failed during the fault ({} after it ended), {} reads moved to the primary",
                    f.failed, f.failed_after_end, f.reads_moved
                ),
            };
            g.push(
                Gate::new(
                    name,
                    observed,
                    Comparison::AtMost,
                    self.recovery_limit_secs,
                    "s",
                )
                .with_detail(detail),
            );
        }
        if let (Some(l), Some(max)) = (&self.ledger, self.max_lost_writes) {
            g.push(
                Gate::new(
                    "lost acknowledged writes",
                    l.lost as f64,
                    Comparison::AtMost,
                    max as f64,
                    "writes",
                )
                .with_detail(format!(
                    "{} acknowledged, {} found on {} ({} durability)",
                    l.acknowledged, l.found, l.checked_on, self.durability
                )),
            );
        }
        g
    }

    /// Tables, notes and a chart for the report.
    pub fn fill(&self, run: &mut Run) {
        if !self.faults.is_empty() {
            let mut t = Table::new(
                format!(
                    "Faults: what the users saw (latency of {}; target p95 {} ms)",
                    self.latency_of, self.p95_target_ms
                ),
                [
                    "fault",
                    "began s",
                    "ended s",
                    "queries",
                    "failed",
                    "errors by kind",
                    "reads moved",
                    "own-write reads to primary",
                    "first success ms",
                    "success after end ms",
                    "recovered s",
                    "p95/p99 during ms",
                    "p95/p99 after ms",
                    "lag peak s",
                ],
            )
            .in_section("load");
            let opt =
                |v: Option<f64>, d: usize| v.map_or("never".to_string(), |v| format!("{v:.d$}"));
            for f in &self.faults {
                t.row([
                    f.spec.clone(),
                    format!("{:.1}", f.began_s),
                    format!("{:.1}", f.ended_s),
                    f.queries.to_string(),
                    f.failed.to_string(),
                    f.errors
                        .iter()
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    f.reads_moved.to_string(),
                    f.fresh_fallbacks.to_string(),
                    opt(f.first_success_ms, 0),
                    opt(f.first_success_after_end_ms, 0),
                    opt(f.recovered_secs, 0),
                    format!("{:.1} / {:.1}", f.p95_during_ms, f.p99_during_ms),
                    format!("{:.1} / {:.1}", f.p95_after_ms, f.p99_after_ms),
                    format!("{:.2}", f.lag_peak_secs),
                ]);
            }
            run.table(t);
            for f in self.faults.iter().filter(|f| f.error.is_some()) {
                run.note(format!(
                    "Fault {} was not applied as planned: {}",
                    f.spec,
                    f.error.as_deref().unwrap_or_default()
                ));
            }
            let pts = |f: &dyn Fn(&Interval) -> f64| {
                self.intervals
                    .iter()
                    .map(|i| (i.t, f(i)))
                    .collect::<Vec<_>>()
            };
            run.series(
                Series::new(charts::ERRORS, "failed queries (fault run)", "1/s")
                    .with_points(pts(&|i| i.failed as f64 / INTERVAL_SECS)),
            );
            run.series(
                Series::new(charts::ERRORS, "reads moved to the primary", "1/s")
                    .with_points(pts(&|i| i.moved as f64 / INTERVAL_SECS)),
            );
            run.series(
                Series::new(charts::LATENCY, "p95 per second (fault run)", "ms")
                    .with_points(pts(&|i| i.p95_ms)),
            );
        }
        if let Some(l) = &self.ledger {
            let mut t = Table::new(
                "Write ledger: acknowledged writes on the surviving primary",
                [
                    "acknowledged",
                    "found",
                    "lost",
                    "first lost ids",
                    "in doubt",
                    "in doubt but committed",
                    "checked on",
                ],
            )
            .in_section("load");
            t.row([
                l.acknowledged.to_string(),
                l.found.to_string(),
                l.lost.to_string(),
                l.lost_ids
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                l.in_doubt.to_string(),
                l.in_doubt_committed.to_string(),
                l.checked_on.clone(),
            ]);
            run.table(t);
            if l.lost > 0 {
                run.note(format!(
                    "{} acknowledged writes are missing on the surviving primary ({} durability){}.",
                    l.lost,
                    self.durability,
                    match self.max_lost_writes {
                        None => ": with asynchronous replication a promotion may lose the last commits; reported, not gated (--max-lost-writes to gate)",
                        Some(_) => "",
                    }
                ));
            }
            if l.dropped_for_test > 0 {
                run.note(format!(
                    "{} acknowledged ledger rows were deleted on purpose before the check (a test of the check).",
                    l.dropped_for_test
                ));
            }
        }
    }

    pub fn print(&self) {
        for f in &self.faults {
            let opt = |v: Option<f64>| v.map_or("never".to_string(), |v| format!("{v:.0}"));
            eprintln!(
                "  fault {:<24} {:>5.1}-{:<5.1} s: {} failed of {} ({}), {} reads moved, {} own-write reads to the primary, first success {} ms, after end {} ms, recovered {} s; p95 during {:.1} ms after {:.1} ms; lag peak {:.2} s{}",
                f.spec,
                f.began_s,
                f.ended_s,
                f.failed,
                f.queries,
                f.errors
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                f.reads_moved,
                f.fresh_fallbacks,
                opt(f.first_success_ms),
                opt(f.first_success_after_end_ms),
                f.recovered_secs.map_or("never".to_string(), |v| format!("{v:.0}")),
                f.p95_during_ms,
                f.p95_after_ms,
                f.lag_peak_secs,
                f.error
                    .as_deref()
                    .map(|e| format!("; NOT APPLIED: {e}"))
                    .unwrap_or_default()
            );
        }
        if let Some(l) = &self.ledger {
            eprintln!(
                "  ledger: {} acknowledged writes, {} found on {}, {} lost{}; {} in doubt ({} committed)",
                l.acknowledged,
                l.found,
                l.checked_on,
                l.lost,
                if l.lost_ids.is_empty() {
                    String::new()
                } else {
                    format!(" (ids {:?})", l.lost_ids)
                },
                l.in_doubt,
                l.in_doubt_committed
            );
        }
    }
}

/// A load run with faults and/or the write ledger: the ledger installed,
/// the load and the fault driver side by side, the ledger checked on the
/// surviving primary, the per-fault figures and the fault run's gates.
pub async fn run(
    cluster: &mut Cluster,
    session: &Session,
    cfg: &LoadConfig,
    dir: Option<&std::path::Path>,
    opts: &FaultOptions,
) -> Result<LoadResults, LoadError> {
    let ledger = if opts.ledger {
        let l = Ledger::install(&session.primary, &session.app_role)
            .await
            .map_err(|source| LoadError::Prepare {
                database: format!("{} (the write ledger, schema harness)", session.database),
                source,
            })?;
        let l = Arc::new(l);
        let _ = session.transport.ledger.set(l.clone());
        Some(l)
    } else {
        None
    };
    let tl = Arc::new(Timeline::default());
    if session.transport.timeline.set(tl.clone()).is_err() {
        return Err(LoadError::Mix(
            "a session runs faults once: open a new session for another fault run".into(),
        ));
    }
    let load = async {
        let r = super::run(session, cfg, dir).await;
        tl.finish();
        r
    };
    let (results, (applied, lag)) = tokio::join!(load, drive(cluster, session, &opts.faults, &tl));
    let mut results = results?;
    let mut report = analyse(
        &opts.faults,
        &applied,
        lag,
        &tl,
        &Judge {
            mode: cfg.mode,
            steady_end_s: results.steady_secs,
            target_ms: cfg.thresholds.p95_ms,
            recovery_secs: opts.recovery_secs,
        },
    );
    report.durability = cluster.info().durability.as_str().to_string();
    report.max_lost_writes = opts.max_lost_writes;
    if let Some(l) = &ledger {
        let db = cluster.primary().with_database(&session.database);
        let figures =
            l.check(&db, opts.ledger_drop)
                .await
                .map_err(|source| LoadError::Prepare {
                    database: format!("{} (checking the write ledger)", session.database),
                    source,
                })?;
        report.ledger = Some(figures);
    }
    if !opts.faults.is_empty() {
        results.gates.retain(|g| !replaced(&g.name));
    }
    results.gates.extend(report.gates(
        cfg.thresholds.error_rate_pct,
        cfg.thresholds.replica_lag_secs,
        session.replica.is_some(),
    ));
    results.faults = Some(report);
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_units_and_bad_ones_say_why() {
        let f: FaultSpec = "replica-kill@10s+8s".parse().unwrap();
        assert_eq!(
            (f.kind, f.at_secs, f.hold_secs),
            (FaultKind::ReplicaKill, 10.0, Some(8.0))
        );
        let f: FaultSpec = "primary-restart@1500ms".parse().unwrap();
        assert_eq!(
            (f.kind, f.at_secs, f.hold_secs),
            (FaultKind::PrimaryRestart, 1.5, None)
        );
        assert_eq!("promote@1m".parse::<FaultSpec>().unwrap().at_secs, 60.0);
        for (bad, says) in [
            ("replica-kill@10s", "needs a duration"),
            ("promote@3s+2s", "takes no duration"),
            ("replica-explode@3s+1s", "unknown kind"),
            ("replica-stop", "no @"),
            ("replica-stop@soon+1s", "not a time"),
            ("replica-pause@1s+0s", "above 0"),
        ] {
            let e = bad.parse::<FaultSpec>().unwrap_err();
            assert!(e.contains(says) && e.contains("KIND@AT"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_plan_refuses_overlaps_late_faults_and_faults_after_a_promotion() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let p = plan(&s(&["primary-restart@12s", "replica-pause@2s+3s"]), 20).unwrap();
        assert_eq!(p[0].kind, FaultKind::ReplicaPause, "ordered by time");
        let e = plan(&s(&["replica-pause@2s+3s", "replica-kill@4s+1s"]), 20).unwrap_err();
        assert!(e.contains("one fault at a time"), "{e}");
        let e = plan(&s(&["replica-kill@15s+8s"]), 20).unwrap_err();
        assert!(e.contains("past the 20 s steady state"), "{e}");
        let e = plan(&s(&["promote@2s", "primary-restart@10s"]), 20).unwrap_err();
        assert!(e.contains("last fault"), "{e}");
    }

    #[test]
    fn recovery_is_the_first_clean_interval_after_the_end() {
        let tl = Timeline::default();
        let q = |t_ms: u32, lat_ms: u32, error: Option<&str>, via: Via| QueryEvent {
            t_ms,
            lat_us: lat_ms * 1000,
            error: error.map(Box::from),
            route: Route::Read,
            server: if via == Via::Direct {
                Server::Replica
            } else {
                Server::Primary
            },
            via,
        };
        let mut v = Vec::new();
        for t in (0..10_000).step_by(50) {
            let e = match t {
                2_000..=2_200 => Some("io"),
                // One late error after the fault ended at 4 s.
                5_300 => Some("io"),
                _ => None,
            };
            let via = if (2_000..4_000).contains(&t) {
                Via::Moved
            } else {
                Via::Direct
            };
            let lat = if (6_000..7_000).contains(&t) { 500 } else { 5 };
            v.push(q(t, lat, e, via));
        }
        *tl.queries.lock().unwrap() = v;
        let faults = plan(&["replica-kill@2s+2s".into()], 10).unwrap();
        let applied = [Applied {
            began_s: 2.0,
            ended_s: 4.0,
            error: None,
        }];
        let r = analyse(
            &faults,
            &applied,
            Vec::new(),
            &tl,
            &Judge {
                mode: Mode::Closed,
                steady_end_s: 10.0,
                target_ms: 100.0,
                recovery_secs: 3.0,
            },
        );
        let f = &r.faults[0];
        assert_eq!(f.failed, 6, "five in the fault, one after");
        assert_eq!(f.failed_after_end, 1);
        assert_eq!(f.errors.get("io"), Some(&6));
        assert_eq!(f.reads_moved, 40);
        assert_eq!(f.first_error_ms, Some(0.0));
        assert_eq!(f.last_error_ms, Some(3300.0));
        // Intervals from 4 s: [4,5) clean but an error follows at 5.3 s;
        // [5,6) holds it; [6,7) is slow; [7,8) is the first clean one.
        assert_eq!(f.recovered_secs, Some(3.0));
        assert_eq!(f.first_success_after_end_ms, Some(0.0));
        // Outside [2, 7): 0-2 s and 7-10 s, no errors.
        assert_eq!(r.outside.failed, 0);
        let gates = r.gates(0.1, 5.0, true);
        let rec = gates
            .iter()
            .find(|g| g.name.starts_with("recovery 1"))
            .unwrap();
        assert!(rec.passed, "{rec:?}");
        // A stricter allowance fails it.
        let strict = analyse(
            &faults,
            &applied,
            Vec::new(),
            &tl,
            &Judge {
                mode: Mode::Closed,
                steady_end_s: 10.0,
                target_ms: 100.0,
                recovery_secs: 2.0,
            },
        );
        let g = strict.gates(0.1, 5.0, true);
        assert!(
            !g.iter()
                .find(|g| g.name.starts_with("recovery 1"))
                .unwrap()
                .passed
        );
        assert!(
            !g.iter()
                .find(|g| g.name == "p95 outside faults")
                .unwrap()
                .passed,
            "the slow second at 6 s is outside a 2 s allowance"
        );
    }
}
