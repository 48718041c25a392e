//! `harness report merge`: one load run from the run folders of its shards
//! ([`super::shard`]).
//!
//! Percentiles cannot be averaged, but histograms of one fixed layout add
//! up: the merged histogram of every gate is the bucket-wise sum of the
//! shards' saved histograms, which is exactly the histogram one generator
//! would have filled with all their values. So the merged p95 is the one
//! a single generator would have read (within the histogram's stated
//! precision of the true value, like any run's), and the gates judge the
//! merged figures with the same code as a single run
//! ([`super::gates`]). Counts and errors add up; the database's samples
//! are taken from shard 0's sampler (every shard watched the same
//! database), its worst lag from any shard.
//!
//! Before anything is added, the folders must be the shards of one run:
//! the same N, every index from 0 to N-1 once, the same settings (the
//! whole run's, which each shard records), the same app and database. A
//! merged run is invalid (exit 15) when any shard's generator was
//! saturated by the rule a single run is held to, or when the shards'
//! steady states did not overlap for most of their length; each shard's
//! health is listed in the report either way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::report::Table;

use super::histogram::{Buckets, BucketsError, Snapshot};
use super::open::{OpenSummary, StepSummary};
use super::results::GooseFigures;
use super::shard::{Histograms, OpenHistograms, QueryHistograms, ShardFile, FORMAT, SHARD_FILE};
use super::transport::{FreshSummary, QueryStats, QuerySummary};
use super::{gates, LoadResults, Mode};

/// Why folders cannot be merged. All of them are the user's input.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{0}: no shard run there; give the run folders `harness load --shard I/N` wrote (each holds shard.json), or a folder above them")]
    NotAShard(PathBuf),
    #[error("reading {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("{path} is format {found:?}; this harness merges {FORMAT}: merge with the harness version that ran the shards")]
    Format { path: PathBuf, found: String },
    #[error("{a} is shard {sa} and {b} is shard {sb}: the shards of one run all have the same N")]
    Count {
        a: PathBuf,
        sa: String,
        b: PathBuf,
        sb: String,
    },
    #[error("shard {shard} is there twice, {a} and {b}: give only the run folder you mean")]
    Duplicate {
        shard: String,
        a: PathBuf,
        b: PathBuf,
    },
    #[error("shard(s) {missing} of {count} missing: a merge needs every shard of the run (the others were {present})")]
    Missing {
        missing: String,
        count: u32,
        present: String,
    },
    #[error("{a} and {b} are not shards of one run: {what} differ{keys}; run every shard with the same settings")]
    Differ {
        a: PathBuf,
        b: PathBuf,
        what: &'static str,
        keys: String,
    },
    #[error("{path}: {source}")]
    Buckets {
        path: PathBuf,
        #[source]
        source: BucketsError,
    },
}

/// One shard's run folder, read.
#[derive(Debug, Clone)]
pub struct ShardRun {
    pub dir: PathBuf,
    pub file: ShardFile,
    pub results: LoadResults,
}

impl ShardRun {
    pub fn read(dir: &Path) -> Result<ShardRun, MergeError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map_err(|e| MergeError::Read {
                    path: path.clone(),
                    why: e.to_string(),
                })
                .map(|t| (path, t))
        };
        let (path, text) = read(SHARD_FILE)?;
        let format = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("format")?.as_str().map(String::from))
            .unwrap_or_default();
        if format != FORMAT {
            return Err(MergeError::Format {
                path,
                found: format,
            });
        }
        let file: ShardFile = serde_json::from_str(&text).map_err(|e| MergeError::Read {
            path,
            why: e.to_string(),
        })?;
        let (path, text) = read("results.json")?;
        let results: LoadResults = serde_json::from_str(&text).map_err(|e| MergeError::Read {
            path,
            why: e.to_string(),
        })?;
        Ok(ShardRun {
            dir: dir.to_path_buf(),
            file,
            results,
        })
    }
}

/// The shard run folders in `paths`: each path is a shard's run folder or
/// a folder above some (searched three levels down, so a Kubernetes
/// volume's `RUN/shard-I/<run folder>` is found from `RUN`).
pub fn find(paths: &[PathBuf]) -> Result<Vec<ShardRun>, MergeError> {
    fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        if dir.join(SHARD_FILE).is_file() {
            out.push(dir.to_path_buf());
            return;
        }
        if depth == 0 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut subs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subs.sort();
        for s in subs {
            walk(&s, depth - 1, out);
        }
    }
    let mut dirs = Vec::new();
    for p in paths {
        let p = if p.ends_with(SHARD_FILE) {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            p.clone()
        };
        let before = dirs.len();
        walk(&p, 3, &mut dirs);
        if dirs.len() == before {
            return Err(MergeError::NotAShard(p));
        }
    }
    dirs.sort();
    dirs.dedup();
    let mut runs = dirs
        .iter()
        .map(|d| ShardRun::read(d))
        .collect::<Result<Vec<_>, _>>()?;
    runs.sort_by_key(|r| r.file.shard.index);
    Ok(runs)
}

/// The top-level keys in which two JSON objects differ.
fn differing_keys(a: &impl serde::Serialize, b: &impl serde::Serialize) -> String {
    let (a, b) = (
        serde_json::to_value(a).unwrap_or_default(),
        serde_json::to_value(b).unwrap_or_default(),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return String::new();
    };
    let keys: Vec<&str> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if keys.is_empty() {
        String::new()
    } else {
        format!(" (in {})", keys.join(", "))
    }
}

/// Refuse folders that are not all the shards of one run.
pub fn check(runs: &[ShardRun]) -> Result<(), MergeError> {
    let Some(first) = runs.first() else {
        return Err(MergeError::NotAShard(PathBuf::from("(nothing given)")));
    };
    let n = first.file.shard.count;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for r in runs {
        let s = &r.file.shard;
        if s.count != n {
            return Err(MergeError::Count {
                a: first.dir.clone(),
                sa: first.file.shard.to_string(),
                b: r.dir.clone(),
                sb: s.to_string(),
            });
        }
        if let Some(a) = seen.insert(s.index, &r.dir) {
            return Err(MergeError::Duplicate {
                shard: s.to_string(),
                a: a.to_path_buf(),
                b: r.dir.clone(),
            });
        }
        let differ = |what, keys| MergeError::Differ {
            a: first.dir.clone(),
            b: r.dir.clone(),
            what,
            keys,
        };
        if r.file.run != first.file.run {
            return Err(differ(
                "the run's settings",
                differing_keys(&first.file.run, &r.file.run),
            ));
        }
        if (&r.file.app, &r.file.database) != (&first.file.app, &first.file.database) {
            return Err(differ(
                "the app or database",
                format!(
                    " ({} in {} against {} in {})",
                    first.file.app, first.file.database, r.file.app, r.file.database
                ),
            ));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing: missing.join(", "),
            count: n,
            present: seen
                .keys()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(())
}

/// The merged run.
#[derive(Debug, Clone)]
pub struct Merged {
    pub results: LoadResults,
    /// The merged histograms, saved the way a shard saves its own.
    pub histograms: Histograms,
    pub shards: Vec<ShardRun>,
}

/// Bucket-wise sums, keyed like [`Histograms`].
#[derive(Default)]
struct Sums {
    all: Snapshot,
    all_pool_wait: Snapshot,
    queries: BTreeMap<String, [Snapshot; 3]>,
    fresh_wait: Snapshot,
    open_all: Snapshot,
    open_late: Snapshot,
    open_steps: BTreeMap<String, Snapshot>,
}

impl Sums {
    fn add(&mut self, dir: &Path, h: &Histograms) -> Result<(), MergeError> {
        let add = |into: &mut Snapshot, b: &Buckets| -> Result<(), MergeError> {
            into.merge(
                &Snapshot::from_buckets(b).map_err(|source| MergeError::Buckets {
                    path: dir.join(SHARD_FILE),
                    source,
                })?,
            );
            Ok(())
        };
        add(&mut self.all, &h.all)?;
        add(&mut self.all_pool_wait, &h.all_pool_wait)?;
        add(&mut self.fresh_wait, &h.fresh_wait)?;
        for (name, q) in &h.queries {
            let s = self.queries.entry(name.clone()).or_default();
            add(&mut s[0], &q.total)?;
            add(&mut s[1], &q.pool_wait)?;
            add(&mut s[2], &q.exec)?;
        }
        if let Some(o) = &h.open {
            add(&mut self.open_all, &o.all)?;
            add(&mut self.open_late, &o.late)?;
            for (name, b) in &o.steps {
                add(self.open_steps.entry(name.clone()).or_default(), b)?;
            }
        }
        Ok(())
    }

    fn saved(&self, open: bool) -> Histograms {
        Histograms {
            all: self.all.to_buckets(),
            all_pool_wait: self.all_pool_wait.to_buckets(),
            queries: self
                .queries
                .iter()
                .map(|(n, [t, p, e])| {
                    (
                        n.clone(),
                        QueryHistograms {
                            total: t.to_buckets(),
                            pool_wait: p.to_buckets(),
                            exec: e.to_buckets(),
                        },
                    )
                })
                .collect(),
            fresh_wait: self.fresh_wait.to_buckets(),
            open: open.then(|| OpenHistograms {
                all: self.open_all.to_buckets(),
                late: self.open_late.to_buckets(),
                steps: self
                    .open_steps
                    .iter()
                    .map(|(n, s)| (n.clone(), s.to_buckets()))
                    .collect(),
            }),
        }
    }
}

/// Counters of one named query summed over the shards, as the stats
/// [`QuerySummary::of`] reads.
fn summed_stats<'a>(summaries: impl Iterator<Item = &'a QuerySummary>) -> QueryStats {
    let s = QueryStats::default();
    for q in summaries {
        s.ok.fetch_add(q.count.saturating_sub(q.failed), Ordering::Relaxed);
        s.failed.fetch_add(q.failed, Ordering::Relaxed);
        s.on_primary.fetch_add(q.on_primary, Ordering::Relaxed);
        s.on_replica.fetch_add(q.on_replica, Ordering::Relaxed);
        let mut errors = s.errors.lock().unwrap_or_else(|p| p.into_inner());
        for (k, n) in &q.errors {
            *errors.entry(k.clone()).or_default() += n;
        }
    }
    s
}

fn max_of(it: impl Iterator<Item = f64>) -> f64 {
    it.fold(0.0, f64::max)
}

/// Merge the shards of one run (checked with [`check`] first).
pub fn merge(shards: Vec<ShardRun>) -> Result<Merged, MergeError> {
    check(&shards)?;
    let first = &shards[0];
    let run = first.file.run.clone();
    let open = run.mode == Mode::Open;
    let mut sums = Sums::default();
    for s in &shards {
        sums.add(&s.dir, &s.file.histograms)?;
    }
    let results_of = || shards.iter().map(|s| &s.results);
    // Named queries: merged histograms, summed counters.
    let mut queries = Vec::new();
    let mut exec_all = Snapshot::default();
    for (name, [total, pool, exec]) in &sums.queries {
        exec_all.merge(exec);
        let stats =
            summed_stats(results_of().flat_map(|r| r.queries.iter().filter(|q| &q.name == name)));
        queries.push(QuerySummary::of(name, total, pool, exec, &stats));
    }
    let overall = QuerySummary::of(
        "all queries",
        &sums.all,
        &sums.all_pool_wait,
        &exec_all,
        &summed_stats(results_of().map(|r| &r.overall)),
    );
    let open_summary = open.then(|| {
        let opens: Vec<&OpenSummary> = results_of().filter_map(|r| r.open.as_ref()).collect();
        let sum = |f: fn(&OpenSummary) -> u64| opens.iter().map(|o| f(o)).sum::<u64>();
        OpenSummary {
            rate_achieved: opens.iter().map(|o| o.rate_achieved).sum(),
            started: sum(|o| o.started),
            failed: sum(|o| o.failed),
            dropped: sum(|o| o.dropped),
            p50_ms: sums.open_all.quantile_ms(0.5),
            p95_ms: sums.open_all.quantile_ms(0.95),
            p99_ms: sums.open_all.quantile_ms(0.99),
            max_ms: sums.open_all.max_us as f64 / 1000.0,
            late_starts: sum(|o| o.late_starts),
            late_p99_ms: sums.open_late.quantile_ms(0.99),
            steps: sums
                .open_steps
                .iter()
                .map(|(name, h)| StepSummary {
                    name: name.clone(),
                    count: h.count(),
                    failed: opens
                        .iter()
                        .flat_map(|o| o.steps.iter().filter(|s| &s.name == name))
                        .map(|s| s.failed)
                        .sum(),
                    p50_ms: h.quantile_ms(0.5),
                    p95_ms: h.quantile_ms(0.95),
                    p99_ms: h.quantile_ms(0.99),
                    max_ms: h.max_us as f64 / 1000.0,
                })
                .collect(),
        }
    });
    let fresh = {
        let sum = |f: fn(&FreshSummary) -> u64| results_of().map(|r| f(&r.fresh)).sum::<u64>();
        let (reads, after, fallback) = (
            sum(|f| f.reads),
            sum(|f| f.replica_after_wait),
            sum(|f| f.primary_fallback),
        );
        FreshSummary {
            reads,
            replica_fresh: sum(|f| f.replica_fresh),
            replica_after_wait: after,
            primary_fallback: fallback,
            stale_pct: if reads == 0 {
                0.0
            } else {
                100.0 * (after + fallback) as f64 / reads as f64
            },
            wait_p95_ms: sums.fresh_wait.quantile_ms(0.95),
            wait_max_ms: max_of(results_of().map(|r| r.fresh.wait_max_ms)),
            checks: sum(|f| f.checks),
            misses: sum(|f| f.misses),
        }
    };
    // The database as shard 0's sampler saw it; the worst of every shard
    // for what each one measured on its own.
    let mut sampled = first.results.sampled.clone();
    sampled.max_lag_secs = max_of(results_of().map(|r| r.sampled.max_lag_secs));
    sampled.max_lag_bytes = results_of()
        .map(|r| r.sampled.max_lag_bytes)
        .max()
        .unwrap_or(0);
    sampled.tick_lag_p99_ms = max_of(results_of().map(|r| r.sampled.tick_lag_p99_ms));
    sampled.generator_cpu_share = max_of(results_of().map(|r| r.sampled.generator_cpu_share));
    sampled.host_cpu_share = max_of(results_of().map(|r| r.sampled.host_cpu_share));
    sampled.problems = shards
        .iter()
        .flat_map(|s| {
            s.results
                .sampled
                .problems
                .iter()
                .map(move |p| format!("shard {}: {p}", s.file.shard))
        })
        .collect();
    let goose = first.results.goose.as_ref().map(|_| {
        let gs: Vec<&GooseFigures> = results_of().filter_map(|r| r.goose.as_ref()).collect();
        GooseFigures {
            maximum_users: gs.iter().map(|g| g.maximum_users).sum(),
            duration_secs: gs.iter().map(|g| g.duration_secs).max().unwrap_or(0),
            requests: gs.iter().map(|g| g.requests).sum(),
            failures: gs.iter().map(|g| g.failures).sum(),
            // goose's own reports stay in the shards' folders.
            reports: Vec::new(),
        }
    });
    let has_replica = first.results.gate("replica lag (max)").is_some();
    let mut gates = match &open_summary {
        Some(o) => gates::open_gates(o, &run.thresholds, &sampled, has_replica),
        None => gates::closed_gates(&queries, &overall, &run.thresholds, &sampled, has_replica),
    };
    // The app's claims were measured once, by shard 0.
    gates.extend(first.results.claims.iter().filter_map(|c| c.as_gate()));
    let mut invalid: Vec<String> = shards
        .iter()
        .flat_map(|s| {
            s.file
                .health
                .invalid_reasons(&run.health)
                .into_iter()
                .map(move |r| format!("shard {}: {r}", s.file.shard))
        })
        .collect();
    let start = max_of(shards.iter().map(|s| s.file.steady_started));
    let end = shards
        .iter()
        .map(|s| s.file.steady_ended)
        .fold(f64::INFINITY, f64::min);
    let shortest = shards
        .iter()
        .map(|s| s.file.steady_ended - s.file.steady_started)
        .fold(f64::INFINITY, f64::min);
    if end - start < 0.5 * shortest {
        invalid.push(format!(
            "the shards' steady states overlapped for {:.1} s of the shortest {:.1} s: they did not run together, so their sum is not one load (start them together; check the generators' clocks)",
            (end - start).max(0.0),
            shortest
        ));
    }
    let mut notes = vec![format!(
        "merged from {} shards: histograms added bucket by bucket, gates judged on the sums; the database samples and the price of RLS are shard 0's",
        shards.len()
    )];
    for s in &shards {
        for n in &s.results.notes {
            if !notes.contains(n) {
                notes.push(n.clone());
            }
        }
    }
    let steady_secs = shards
        .iter()
        .map(|s| s.results.steady_secs)
        .fold(f64::INFINITY, f64::min);
    let results = LoadResults {
        mode: run.mode,
        config: run,
        steady_secs,
        throughput_qps: results_of().map(|r| r.throughput_qps).sum(),
        overall,
        queries,
        open: open_summary,
        fresh,
        sampled,
        goose,
        peak_memory_mib: max_of(results_of().map(|r| r.peak_memory_mib)),
        gates,
        invalid,
        rls_price: first.results.rls_price.clone(),
        claims: first.results.claims.clone(),
        // Shards never carry faults: `--fault` with `--shard` is refused.
        faults: None,
        notes,
    };
    Ok(Merged {
        histograms: sums.saved(open),
        results,
        shards,
    })
}

impl Merged {
    /// The report's title, like a single run's.
    pub fn title(&self) -> String {
        let c = &self.results.config;
        let n = self.shards.len();
        let app = match self.shards[0].file.app.as_str() {
            "portal" => String::new(),
            a => format!(", app {a}"),
        };
        match c.mode {
            Mode::Closed => format!(
                "load: {} users, {} s ramp, {} s steady, closed model{app}, {n} shards merged",
                c.users, c.ramp_secs, c.steady_secs
            ),
            Mode::Open => format!(
                "load: {} steps/s, {} s steady, open model{app}, {n} shards merged",
                c.rate, c.steady_secs
            ),
        }
    }

    /// Each shard's slice and health, one row each.
    pub fn shard_table(&self) -> Table {
        let limits = &self.results.config.health;
        let mut t = Table::new(
            "Shards: each generator's slice and health",
            [
                "shard",
                "run folder",
                "users",
                "steps/s",
                "tenants",
                "queries",
                "p95 ms",
                "generator CPU %",
                "machine CPU %",
                "tick lag p99 ms",
                "late starts %",
                "peak MiB",
                "steady s",
                "health",
            ],
        )
        .in_section("load");
        for s in &self.shards {
            let h = &s.file.health;
            let reasons = h.invalid_reasons(limits);
            t.row([
                s.file.shard.to_string(),
                s.dir.display().to_string(),
                s.file.users.to_string(),
                format!("{:.1}", s.file.rate),
                s.file.tenants.len().to_string(),
                s.results.overall.count.to_string(),
                format!("{:.1}", s.results.overall.p95_ms),
                format!("{:.0}", 100.0 * h.generator_cpu_share),
                format!("{:.0}", 100.0 * h.host_cpu_share),
                format!("{:.1}", h.tick_lag_p99_ms),
                format!(
                    "{:.2}",
                    100.0 * h.late_starts as f64 / h.arrivals.max(1) as f64
                ),
                format!("{:.0}", h.peak_memory_mib),
                format!("{:.1}", s.file.steady_ended - s.file.steady_started),
                if reasons.is_empty() {
                    "ok".into()
                } else {
                    format!("SATURATED: {}", reasons.join("; "))
                },
            ]);
        }
        t
    }
}
