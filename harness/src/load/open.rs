//! The open model: steps start on an arrival-rate schedule, whatever the
//! answers do, and latency counts from the *scheduled* start.
//!
//! In a closed model a stalled database also stalls the users: they stop
//! sending, so the stall shows up as a few slow requests and a dip in
//! throughput, and percentiles look fine (coordinated omission). Here the
//! schedule (Poisson arrivals at `rate`, as `pgbench -R` does) keeps
//! coming; every arrival during a stall waits for it and is charged for the
//! wait. A scheduler that wakes late still charges from the scheduled time,
//! and counts the late start, so the generator cannot hide its own delays
//! either. Each arrival is a fresh user of a kind drawn from the mix, in a
//! tenant drawn by size, running one step of its journey.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use scenarios::{Env, UserState};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::histogram::Histogram;

/// Steps later than this after their scheduled time count as late starts.
pub const LATE: Duration = Duration::from_millis(10);

/// Per-step latency from the scheduled start.
#[derive(Default)]
pub struct OpenRecorder {
    steps: Mutex<BTreeMap<String, Arc<(Histogram, AtomicU64)>>>,
    pub all: Histogram,
    /// Scheduler lateness per arrival.
    pub late: Histogram,
    pub late_count: AtomicU64,
    pub started: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    /// A fault run's timeline, which also keeps every step's latency.
    pub timeline: Option<Arc<super::fault::Timeline>>,
}

impl OpenRecorder {
    fn step(&self, name: &str) -> Arc<(Histogram, AtomicU64)> {
        let mut m = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_string()).or_default().clone()
    }

    /// Every step's histogram and failure count, by step name.
    pub fn steps(&self) -> Vec<(String, Arc<(Histogram, AtomicU64)>)> {
        let m = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    pub fn reset(&self) {
        for (_, s) in self.steps.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            s.0.reset();
            s.1.store(0, Ordering::Relaxed);
        }
        self.all.reset();
        self.late.reset();
        for c in [&self.started, &self.failed, &self.dropped, &self.late_count] {
            c.store(0, Ordering::Relaxed);
        }
    }

    pub fn summary(&self, elapsed: Duration) -> OpenSummary {
        let steps = self
            .steps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, s)| {
                let snap = s.0.snapshot();
                StepSummary {
                    name: name.clone(),
                    count: snap.count(),
                    failed: s.1.load(Ordering::Relaxed),
                    p50_ms: snap.quantile_ms(0.5),
                    p95_ms: snap.quantile_ms(0.95),
                    p99_ms: snap.quantile_ms(0.99),
                    max_ms: snap.max_us as f64 / 1000.0,
                }
            })
            .collect();
        let all = self.all.snapshot();
        let late = self.late.snapshot();
        let started = self.started.load(Ordering::Relaxed);
        let late_count = self.late_count.load(Ordering::Relaxed);
        OpenSummary {
            rate_achieved: started as f64 / elapsed.as_secs_f64().max(1e-3),
            started,
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            p50_ms: all.quantile_ms(0.5),
            p95_ms: all.quantile_ms(0.95),
            p99_ms: all.quantile_ms(0.99),
            max_ms: all.max_us as f64 / 1000.0,
            late_starts: late_count,
            late_p99_ms: late.quantile_ms(0.99),
            steps,
        }
    }
}

/// One step's latency from its scheduled start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepSummary {
    pub name: String,
    pub count: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The open model's figures (steady state).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct OpenSummary {
    pub rate_achieved: f64,
    pub started: u64,
    pub failed: u64,
    /// Arrivals refused because `max_in_flight` steps were already running.
    pub dropped: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Arrivals started more than [`LATE`] after their schedule.
    pub late_starts: u64,
    pub late_p99_ms: f64,
    pub steps: Vec<StepSummary>,
}

/// What one open-model run is asked to do.
#[derive(Debug, Clone)]
pub struct OpenPlan {
    pub rate: f64,
    /// Warm-up at full rate, not judged.
    pub ramp: Duration,
    pub steady: Duration,
    pub max_in_flight: usize,
    pub seed: u64,
}

/// Run the schedule. `on_steady` is called once when the warm-up ends
/// (the caller resets its recorders there).
pub async fn run_open(
    env: Arc<Env>,
    plan: &OpenPlan,
    rec: Arc<OpenRecorder>,
    on_steady: impl FnOnce(),
) -> OpenSummary {
    let mut rng = SmallRng::seed_from_u64(plan.seed);
    let kinds: Vec<(usize, usize)> = env
        .plan
        .kinds
        .iter()
        .enumerate()
        .map(|(i, k)| (i, k.weight))
        .collect();
    let total_w: usize = kinds.iter().map(|(_, w)| w).sum();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let steady_at = t0 + plan.ramp;
    let end = steady_at + plan.steady;
    let mut on_steady = Some(on_steady);
    let mut next = t0;
    let mut tasks = tokio::task::JoinSet::new();
    let mut i: u64 = 0;
    loop {
        // Exponential inter-arrival times: a Poisson process at `rate`.
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        next += Duration::from_secs_f64(-u.ln() / plan.rate);
        if next >= end {
            break;
        }
        tokio::time::sleep_until(next).await;
        if next >= steady_at {
            if let Some(f) = on_steady.take() {
                rec.reset();
                f();
            }
        }
        let lateness = Instant::now().saturating_duration_since(next);
        rec.late.record(lateness);
        if lateness > LATE {
            rec.late_count.fetch_add(1, Ordering::Relaxed);
        }
        rec.started.fetch_add(1, Ordering::Relaxed);
        if in_flight.load(Ordering::Relaxed) >= plan.max_in_flight {
            rec.dropped.fetch_add(1, Ordering::Relaxed);
            rec.failed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        // Pick the kind of user and its step here, on the scheduler, so the
        // draw is reproducible from the seed.
        let mut x = rng.random_range(0..total_w.max(1));
        let kind = kinds
            .iter()
            .find(|(_, w)| {
                if x < *w {
                    true
                } else {
                    x -= w;
                    false
                }
            })
            .map(|(k, _)| *k)
            .unwrap_or(0);
        let user_seed = plan.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        i += 1;
        let scheduled = next;
        let env = env.clone();
        let rec = rec.clone();
        let fl = in_flight.clone();
        fl.fetch_add(1, Ordering::Relaxed);
        tasks.spawn(async move {
            run_one(&env, kind, user_seed, scheduled, &rec).await;
            fl.fetch_sub(1, Ordering::Relaxed);
        });
        // Reap finished tasks so the set does not grow for the whole run.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    rec.summary(plan.steady)
}

async fn run_one(env: &Env, kind: usize, seed: u64, scheduled: Instant, rec: &OpenRecorder) {
    let Some(mut user) = UserState::start(&env.plan, &env.catalog, kind, seed) else {
        rec.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let step = user.pick_step(&env.plan);
    let outcomes = user.run_step(env, step).await;
    let latency = Instant::now().saturating_duration_since(scheduled);
    let failed = outcomes.iter().any(|o| !o.ok());
    let k = &env.plan.kinds[kind];
    let s = rec.step(&format!("{}: {}", k.name, k.steps[step].name));
    s.0.record(latency);
    rec.all.record(latency);
    if let Some(t) = &rec.timeline {
        t.step(latency);
    }
    if failed {
        s.1.fetch_add(1, Ordering::Relaxed);
        rec.failed.fetch_add(1, Ordering::Relaxed);
    }
}
