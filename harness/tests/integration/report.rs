//! `harness report` through the real binary: `compare` exits REGRESSION on a
//! regression injected into a copy of a run, OK on a rerun within noise,
//! BAD_INPUT across environments, and records its verdict in the run's
//! folder; `index` rebuilds the runs page. No server needed: the runs are
//! written with the library, as every stage writes them.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::exit_codes;
use harness::report::{self, DataSpec, Figure, Gate, Run, RunComparison, RunKind};

fn run_fixture() -> Run {
    let mut run = Run::new(RunKind::Bench, "bench: fixture");
    run.environment.backend = "native".into();
    run.environment.postgres_version = "15.14".into();
    run.environment.durability = "fast".into();
    run.environment.data(DataSpec {
        seed: 1,
        scale: "tiny".into(),
        rows: Default::default(),
    });
    run.figure(
        Figure::new("search_projects mean", 2.0, "ms")
            .lower_is_better()
            .with_noise(0.05)
            .key(),
    );
    run.figure(
        Figure::new("GIN speed-up", 25.0, "x")
            .higher_is_better()
            .with_noise(0.5)
            .key(),
    );
    run.gate(Gate::new(
        "search_projects mean",
        2.0,
        report::Comparison::AtMost,
        100.0,
        "ms",
    ));
    run.finish();
    run
}

/// Copy a run folder and rewrite one figure's value in the copy.
fn copy_with(dir: &Path, to: &Path, figure: usize, value: f64) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for f in ["summary.json", "index.html", "junit.xml", "summary.md"] {
        std::fs::copy(dir.join(f), to.join(f)).unwrap();
    }
    let p = to.join("summary.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["figures"][figure]["value"] = value.into();
    v.as_object_mut().unwrap().remove("folder");
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    to.to_path_buf()
}

fn harness(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(args)
        .env_remove("HARNESS_CONFIG")
        .env_remove("HARNESS_PROFILE")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn compare_flags_an_injected_regression_not_a_rerun_and_refuses_other_environments() {
    let root = tempfile::tempdir().unwrap();
    let base = report::write_run(&run_fixture(), root.path()).unwrap();
    let b = base.to_str().unwrap();

    let rerun = copy_with(&base, &root.path().join("rerun"), 0, 2.08);
    let (code, out) = harness(&[
        "report",
        "compare",
        "--baseline",
        b,
        rerun.to_str().unwrap(),
    ]);
    assert_eq!(code, exit_codes::OK, "{out}");
    assert!(out.contains("no regression"), "{out}");

    let worse = copy_with(&base, &root.path().join("worse"), 0, 3.0);
    let (code, out) = harness(&[
        "report",
        "compare",
        "--baseline",
        b,
        worse.to_str().unwrap(),
    ]);
    assert_eq!(code, exit_codes::REGRESSION, "{out}");
    assert!(out.contains("REGRESSED search_projects mean"), "{out}");
    // Recorded in the run's own report: a failing baseline check in JUnit.
    let junit = std::fs::read_to_string(worse.join("junit.xml")).unwrap();
    assert!(
        junit.contains("no regression against") && junit.contains("<failure"),
        "{junit}"
    );
    let html = std::fs::read_to_string(worse.join("index.html")).unwrap();
    assert!(html.contains("Baseline comparison") && html.contains("REGRESSION"));

    // A wider band accepts the same change.
    let (code, out) = harness(&[
        "report",
        "compare",
        "--band",
        "0.6",
        "--no-record",
        "--baseline",
        b,
        worse.to_str().unwrap(),
    ]);
    assert_eq!(code, exit_codes::OK, "{out}");

    let other = root.path().join("other");
    copy_with(&base, &other, 0, 2.0);
    let p = other.join("summary.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["environment"]["postgres_version"] = "16.4".into();
    v["environment"]["data"]["seed"] = 2.into();
    std::fs::write(&p, v.to_string()).unwrap();
    let (code, out) = harness(&[
        "report",
        "compare",
        "--baseline",
        b,
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, exit_codes::BAD_INPUT, "{out}");
    assert!(
        out.contains("PostgreSQL version (15.14 vs 16.4)") && out.contains("data (seed 1"),
        "{out}"
    );

    let (code, out) = harness(&["report", "index", "--root", root.path().to_str().unwrap()]);
    assert_eq!(code, exit_codes::OK, "{out}");
    let index = std::fs::read_to_string(root.path().join("index.html")).unwrap();
    // base, rerun, worse, other: every folder with a summary is listed.
    assert_eq!(index.matches("/index.html\">").count(), 4, "{index}");
}

#[test]
fn library_comparison_matches_the_cli_rule() {
    // The same numbers through the library: 2.0 -> 2.08 is within
    // max(10 % of 2.0, 3 x sqrt(0.05² + 0.05²)) = 0.21; 3.0 is not.
    let base = run_fixture();
    let mut cur = base.clone();
    cur.figures[0].value = 2.08;
    let c: RunComparison =
        report::compare(std::slice::from_ref(&base), &cur, Default::default()).unwrap();
    assert!(!c.has_regression());
    assert!(
        (c.figures[0].allowed - 0.2121).abs() < 1e-3,
        "{}",
        c.figures[0].allowed
    );
    cur.figures[0].value = 3.0;
    assert!(report::compare(&[base], &cur, Default::default())
        .unwrap()
        .has_regression());
}
