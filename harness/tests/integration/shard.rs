//! Sharded load: four `harness load --shard I/4` processes against one
//! cluster, merged by `harness report merge`, held to an oracle computed
//! from every latency value the shards recorded; a saturated shard and a
//! gate made to fail on the merged figures; the Kubernetes and compose
//! files under deploy/ read with a YAML parser and their command lines
//! parsed by the binary's own parser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use harness::cli::{Cli, Command as Sub};
use harness::exit_codes;
use harness::load::histogram::Snapshot;
use harness::load::shard::{RawSamples, ShardFile, ALL, RAW_FILE, SHARD_FILE};
use harness::load::LoadResults;
use serde_json::Value;

use crate::support;

const SHARDS: u32 = 4;

fn harness(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.env("HARNESS_LOG", "warn")
        .env_remove("HARNESS_APP")
        .env_remove("HARNESS_CONFIG")
        .env_remove("HARNESS_PROFILE")
        .args(args);
    c
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn read_json<T: serde::de::DeserializeOwned>(p: &Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The run folder of shard `i` (the only folder under its reports root).
fn shard_dir(root: &Path, i: u32) -> PathBuf {
    crate::load::run_dir(&root.join(format!("shard-{i}")))
}

/// `harness report merge` over `runs` into `out`.
fn merge(runs: &[PathBuf], out: &Path) -> Output {
    let mut c = harness(&["report", "merge"]);
    c.args(runs).arg("--out").arg(out);
    c.output().unwrap()
}

/// The `q`-quantile of `values` by the rank the histogram uses (the
/// smallest value with at least `ceil(q * n)` values at or below it), µs.
fn exact_quantile(sorted: &[u64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1] as f64
}

/// Copies of the shards' run folders under `to`, with `edit` applied to
/// shard `which`'s shard.json (every shard's when `None`).
fn edited_copies(
    dirs: &[PathBuf],
    to: &Path,
    which: Option<usize>,
    edit: impl Fn(&mut Value),
) -> Vec<PathBuf> {
    dirs.iter()
        .enumerate()
        .map(|(i, d)| {
            let c = to.join(format!("shard-{i}"));
            std::fs::create_dir_all(&c).unwrap();
            for f in ["shard.json", "results.json", "summary.json"] {
                std::fs::copy(d.join(f), c.join(f)).unwrap();
            }
            if which.is_none_or(|w| w == i) {
                let mut v: Value = read_json(&c.join(SHARD_FILE));
                edit(&mut v);
                std::fs::write(c.join(SHARD_FILE), v.to_string()).unwrap();
            }
            c
        })
        .collect()
}

/// Four shards started together against one cluster: one prepares the
/// data, all four meet at the start line, their slices add up to the run
/// (users, pools, disjoint tenants, own seeds); the merged p50/p95/p99 of
/// all queries and of each named query are within the histogram's 1.6 %
/// of the exact percentiles of every value the shards recorded, and
/// exactly the percentiles of the shards' bucket counts added up; the
/// gates judge those merged figures. A shard whose recorded health is
/// saturated makes the merged run invalid (15); a p95 limit no query can
/// meet fails the merged gate (10); a missing shard is refused (4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_merge_into_the_percentiles_of_all_their_values() {
    let cluster = support::native().await;
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    // This machine's cores are shared with the servers and other tests:
    // the health limits are lifted so the merge is judged, not the host.
    // Every shard reads the same file, as a run's shards must.
    let config = root.join("harness.toml");
    std::fs::write(
        &config,
        "[load.health]\nmax_tick_lag_p99_ms = 10000.0\nmax_cpu_share = 1.0\n",
    )
    .unwrap();
    let primary = cluster.primary().url();
    let replica = cluster.replica().unwrap().url();
    let children: Vec<_> = (0..SHARDS)
        .map(|i| {
            let reports = root.join(format!("shard-{i}"));
            let shard = format!("{i}/{SHARDS}");
            harness(&["--config", config.to_str().unwrap(), "load"])
                .args(["--backend", "external", "--disposable"])
                .args(["--primary-url", &primary, "--replica-url", &replica])
                .args(["--shard", &shard, "--raw-samples"])
                .args(["--users", "160", "--ramp", "2", "--duration", "8"])
                .args(["--think", "1-2", "--tenants", "12", "--scale", "0.2"])
                .args(["--pool", "16", "--shard-wait", "120"])
                .arg("--reports-dir")
                .arg(&reports)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for (i, o) in outputs.iter().enumerate() {
        assert_eq!(
            o.status.code(),
            Some(exit_codes::OK),
            "shard {i}: {}",
            text(o)
        );
    }
    let filled = outputs
        .iter()
        .filter(|o| text(o).contains("harness: migrated"))
        .count();
    assert_eq!(filled, 1, "exactly one shard fills the database");

    // The slices add up to the run.
    let dirs: Vec<PathBuf> = (0..SHARDS).map(|i| shard_dir(root, i)).collect();
    let files: Vec<ShardFile> = dirs
        .iter()
        .map(|d| read_json(&d.join(SHARD_FILE)))
        .collect();
    let shard_results: Vec<LoadResults> = dirs
        .iter()
        .map(|d| read_json(&d.join("results.json")))
        .collect();
    assert_eq!(files.iter().map(|f| f.users).sum::<usize>(), 160);
    assert_eq!(files.iter().map(|f| f.primary_pool).sum::<u32>(), 16);
    let mut tenants: Vec<&String> = files.iter().flat_map(|f| &f.tenants).collect();
    let dealt = tenants.len();
    tenants.sort();
    tenants.dedup();
    assert_eq!(tenants.len(), dealt, "tenant slices are disjoint");
    assert!(files.iter().all(|f| !f.tenants.is_empty()));
    let mut seeds: Vec<u64> = files.iter().map(|f| f.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    assert_eq!(seeds.len(), SHARDS as usize, "each shard its own users");
    for (f, r) in files.iter().zip(&shard_results) {
        assert_eq!(r.goose.as_ref().unwrap().maximum_users, f.users);
        assert!(r.overall.count > 0, "shard {} measured nothing", f.shard);
    }

    // Merge.
    let merged_dir = root.join("merged");
    let out = merge(&[root.to_path_buf()], &merged_dir);
    let merged: LoadResults = read_json(&merged_dir.join("results.json"));
    assert!(
        merged.invalid.is_empty(),
        "{:?}\n{}",
        merged.invalid,
        text(&out)
    );
    assert_eq!(
        out.status.code(),
        Some(merged.exit_code()),
        "{}",
        text(&out)
    );
    assert!(
        [exit_codes::OK, exit_codes::GATE_FAILED].contains(&merged.exit_code()),
        "{}",
        text(&out)
    );

    // The oracle: every value every shard recorded.
    let raws: Vec<RawSamples> = dirs.iter().map(|d| read_json(&d.join(RAW_FILE))).collect();
    let mut checked = 0;
    let mut names: Vec<String> = merged.queries.iter().map(|q| q.name.clone()).collect();
    names.push(ALL.to_string());
    for name in &names {
        let key = if name == ALL {
            ALL.to_string()
        } else {
            format!("query {name}")
        };
        let mut values: Vec<u64> = raws
            .iter()
            .flat_map(|r| r.values.get(&key).cloned().unwrap_or_default())
            .collect();
        values.sort_unstable();
        let summary = if name == ALL {
            &merged.overall
        } else {
            merged.queries.iter().find(|q| &q.name == name).unwrap()
        };
        // The shards' bucket counts, added up here.
        let mut sum = Snapshot::default();
        for f in &files {
            let b = if name == ALL {
                &f.histograms.all
            } else {
                match f.histograms.queries.get(name) {
                    Some(q) => &q.total,
                    None => continue,
                }
            };
            sum.merge(&Snapshot::from_buckets(b).unwrap());
        }
        assert_eq!(summary.count, values.len() as u64, "{name}: counts");
        assert_eq!(sum.count(), values.len() as u64, "{name}: counts");
        for (q, merged_ms) in [
            (0.5, summary.p50_ms),
            (0.95, summary.p95_ms),
            (0.99, summary.p99_ms),
        ] {
            assert_eq!(
                merged_ms,
                sum.quantile_ms(q),
                "{name} q{q}: the buckets added up"
            );
            let exact = exact_quantile(&values, q);
            eprintln!(
                "{name} q{q}: merged {merged_ms:.3} ms, exact {:.3} ms ({} values)",
                exact / 1000.0,
                values.len()
            );
            let err = (merged_ms * 1000.0 - exact).abs();
            assert!(
                err <= 0.5 || err <= 0.016 * exact,
                "{name} q{q}: merged {merged_ms} ms, exact {} ms from {} values",
                exact / 1000.0,
                values.len()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 3 * 6,
        "the overall and several named queries were checked"
    );

    // The gates judged the merged figures.
    let total: u64 = shard_results.iter().map(|r| r.overall.count).sum();
    assert_eq!(merged.overall.count, total);
    let gate =
        |r: &LoadResults, n: &str| r.gate(n).unwrap_or_else(|| panic!("no gate {n}")).clone();
    assert_eq!(
        gate(&merged, "queries in steady state").observed,
        total as f64
    );
    assert_eq!(
        gate(&merged, "p95 all queries").observed,
        merged.overall.p95_ms
    );
    for q in &merged.queries {
        assert_eq!(gate(&merged, &format!("p95 {}", q.name)).observed, q.p95_ms);
    }
    let summary = std::fs::read_to_string(merged_dir.join("summary.json")).unwrap();
    assert!(summary.contains("4 shards merged"), "{summary}");
    assert!(
        summary.contains("Shards: each generator"),
        "the shards' health is listed"
    );

    // A saturated shard invalidates the merged run.
    let sat = edited_copies(&dirs, &root.join("saturated"), Some(2), |v| {
        v["health"]["tick_lag_p99_ms"] = Value::from(250_000.0);
    });
    let out = merge(&sat, &root.join("saturated-merged"));
    assert_eq!(
        out.status.code(),
        Some(exit_codes::INVALID_RUN),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("shard 2/4") && text(&out).contains("SATURATED"),
        "{}",
        text(&out)
    );
    let r: LoadResults = read_json(&root.join("saturated-merged/results.json"));
    assert!(
        r.invalid.iter().any(|i| i.starts_with("shard 2/4: ")),
        "{:?}",
        r.invalid
    );

    // A p95 limit no query can meet fails the gate on the merged p95.
    let strict = edited_copies(&dirs, &root.join("strict"), None, |v| {
        v["run"]["thresholds"]["p95_ms"] = Value::from(0.001);
        v["run"]["thresholds"]["query_p95_ms"] = Value::Object(Default::default());
    });
    let out = merge(&strict, &root.join("strict-merged"));
    assert_eq!(
        out.status.code(),
        Some(exit_codes::GATE_FAILED),
        "{}",
        text(&out)
    );
    let r: LoadResults = read_json(&root.join("strict-merged/results.json"));
    let g = gate(&r, "p95 all queries");
    assert!(!g.passed && g.observed == merged.overall.p95_ms, "{g:?}");

    // Three shards of four are not a run.
    let out = merge(&dirs[..3], &root.join("partial"));
    assert_eq!(
        out.status.code(),
        Some(exit_codes::BAD_INPUT),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("missing"), "{}", text(&out));
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A container's command line, `$(NAME)` references replaced as the
/// kubelet would from `vars`.
fn argv(container: &Value, vars: &[(&str, String)]) -> Vec<String> {
    let list = |k: &str| -> Vec<String> {
        container[k]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    list("command")
        .into_iter()
        .chain(list("args"))
        .map(|mut a| {
            for (k, v) in vars {
                a = a.replace(&format!("$({k})"), v);
            }
            assert!(!a.contains("$("), "an unresolved reference in {a:?}");
            a
        })
        .collect()
}

/// The env variables a container defines, with a stand-in value each.
fn env_vars(container: &Value) -> Vec<(&str, String)> {
    container["env"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    let name = e["name"].as_str().unwrap();
                    let value = e["value"]
                        .as_str()
                        .map_or(format!("x-{name}"), String::from);
                    (name, value)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The Kubernetes Indexed Job runs shard `$(JOB_COMPLETION_INDEX)/N` with N
/// its completions and parallelism, against the target of a Secret, and
/// every pod's command line (index substituted) is one the binary
/// accepts; the merge Job's too. The compose file runs each shard once.
#[test]
fn the_deploy_files_run_every_shard_through_the_binarys_parser() {
    let job = yaml("deploy/kubernetes/shards-job.yaml");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert_eq!(
        spec["parallelism"].as_u64(),
        Some(n),
        "every shard runs at once"
    );
    assert!(n >= 2);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let c = &spec["template"]["spec"]["containers"][0];
    let env = env_vars(c);
    let secret = |name: &str| {
        c["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str().is_some())
    };
    assert_eq!(
        secret("HARNESS_PRIMARY_URL"),
        Some(true),
        "the target comes from a Secret"
    );
    assert_eq!(secret("HARNESS_REPLICA_URL"), Some(true));
    let raw = argv(
        c,
        &[("JOB_COMPLETION_INDEX", "{i}".into())]
            .into_iter()
            .chain(env.clone())
            .collect::<Vec<_>>(),
    );
    let at = raw
        .iter()
        .position(|a| a == "--shard")
        .expect("--shard in the command");
    assert_eq!(
        raw[at + 1],
        format!("{{i}}/{n}"),
        "the index env is the shard index"
    );
    for i in 0..n {
        let mut vars = vec![("JOB_COMPLETION_INDEX", i.to_string())];
        vars.extend(env.clone());
        let cli = Cli::try_parse_from(argv(c, &vars)).unwrap_or_else(|e| panic!("pod {i}: {e}"));
        let Sub::Load(args) = cli.command else {
            panic!("pod {i} does not run `harness load`")
        };
        let s = args.shard.shard.unwrap();
        assert_eq!((s.index, s.count), (i as u32, n as u32));
    }
    let merge_job = yaml("deploy/kubernetes/merge-job.yaml");
    assert_eq!(merge_job["kind"], "Job");
    let mc = &merge_job["spec"]["template"]["spec"]["containers"][0];
    let cli = Cli::try_parse_from(argv(mc, &env_vars(mc))).unwrap();
    assert!(matches!(
        cli.command,
        Sub::Report(harness::cli::report::ReportArgs {
            command: harness::cli::report::ReportCommand::Merge(_)
        })
    ));

    let compose = yaml("deploy/compose.yaml");
    let services = compose["services"].as_object().unwrap();
    let mut seen = Vec::new();
    let mut count = None;
    for (name, s) in services {
        let argv: Vec<String> = std::iter::once("harness".to_string())
            .chain(
                s["command"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string()),
            )
            .collect();
        let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Sub::Load(args) = cli.command {
            let s = args.shard.shard.expect("every load service is a shard");
            seen.push(s.index);
            assert_eq!(*count.get_or_insert(s.count), s.count);
        }
    }
    seen.sort();
    let n = count.expect("compose runs shards");
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "each shard once");
}
