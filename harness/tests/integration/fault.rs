//! Faults under load, through the binary on the native backend: every
//! fault kind with its measured effect in results.json, the write ledger
//! catching a deliberately dropped acknowledged write, and zero lost
//! writes across a promotion with `sync-apply`.
//!
//! Small open-model loads (60 steps/s, 8 tenants at scale 0.2) keep the
//! two runs to about a minute of wall time together.

use std::path::Path;
use std::process::Command;

use harness::exit_codes;
use harness::load::fault::{FaultFigures, FaultKind};
use harness::load::{LoadResults, Mode};

use crate::load::{results, run_dir};

/// `harness load` on a fresh native cluster with `extra` flags: its exit
/// code, its output, and its results.json.
fn load(root: &Path, extra: &[&str]) -> (Option<i32>, String, LoadResults) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .env("HARNESS_LOG", "warn")
        .env_remove("HARNESS_APP")
        .args(["load", "--backend", "native"])
        .args(["--rate", "60", "--ramp", "2"])
        .args(["--tenants", "8", "--scale", "0.2", "--pool", "10"])
        .arg("--reports-dir")
        .arg(root)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = results(&run_dir(root));
    (out.status.code(), text, r)
}

fn fault(r: &LoadResults, kind: FaultKind) -> &FaultFigures {
    let f = r.faults.as_ref().expect("a fault report");
    f.faults
        .iter()
        .find(|f| f.kind == Some(kind))
        .unwrap_or_else(|| panic!("no {kind:?} in {:?}", f.faults))
}

/// One run, four faults one after the other (replay paused, the replica
/// stopped, then killed, then the primary restarted), a few seconds
/// apart so each recovery is measured before the next fault, each with its own
/// effect in results.json: the pause shows as replica lag, the replica
/// going away as reads moved to the primary and served by the replica
/// again after it came back, the restart as failed writes on the primary
/// and a first successful write after it. Every fault recovers within
/// the allowance, and the regular gates are judged outside the faults.
/// The ledger found every acknowledged write but the one deleted on
/// purpose (`--ledger-drop 1`): it counts exactly 1 lost, names it, and
/// the lost-write gate (`--max-lost-writes 0`) fails on it alone.
#[test]
fn every_fault_kind_shows_its_effect_and_the_ledger_catches_a_dropped_write() {
    let root = tempfile::tempdir().unwrap();
    let (code, text, r) = load(
        root.path(),
        &[
            "--durability",
            "fast",
            "--duration",
            "30",
            "--fault",
            "replica-pause@2s+3s",
            "--fault",
            "replica-stop@8s+3s",
            "--fault",
            "replica-kill@15s+3s",
            "--fault",
            "primary-restart@22s",
            "--max-lost-writes",
            "0",
            "--ledger-drop",
            "1",
        ],
    );
    eprintln!("{text}");
    assert_eq!(
        r.mode,
        Mode::Open,
        "fault runs use the open model by default"
    );
    let report = r.faults.as_ref().unwrap();
    assert_eq!(report.faults.len(), 4);
    for f in &report.faults {
        assert_eq!(f.error, None, "{} was applied", f.spec);
        assert!(f.queries > 50, "{}: load ran through it: {f:?}", f.spec);
        let g = r
            .gates
            .iter()
            .find(|g| g.name.starts_with("recovery") && g.name.ends_with(&f.spec))
            .unwrap_or_else(|| panic!("no recovery gate for {}", f.spec));
        assert!(g.passed, "{g:?}");
        assert_eq!(Some(g.observed), f.recovered_secs);
    }

    let pause = fault(&r, FaultKind::ReplicaPause);
    assert!(
        pause.lag_peak_secs > 1.0 && pause.lag_peak_bytes > 0,
        "replay paused 3 s while the primary wrote: {pause:?}"
    );
    assert_eq!(pause.reads_moved, 0, "a paused replica still serves reads");
    let outside_lag = report.outside.lag_max_secs;
    assert!(outside_lag < pause.lag_peak_secs, "{outside_lag}");

    for kind in [FaultKind::ReplicaStop, FaultKind::ReplicaKill] {
        let f = fault(&r, kind);
        assert!(
            f.reads_moved > 20,
            "{kind:?}: reads went to the primary: {f:?}"
        );
        assert!(
            f.first_success_after_end_ms.is_some_and(|ms| ms < 5000.0),
            "{kind:?}: the replica served reads again after it came back: {f:?}"
        );
        for k in f.errors.keys() {
            assert!(
                harness::load::transport::server_gone(k),
                "{kind:?}: only the replica going away failed queries: {k}"
            );
        }
    }

    let restart = fault(&r, FaultKind::PrimaryRestart);
    assert!(
        restart.failed > 0,
        "connections to the restarted primary failed: {restart:?}"
    );
    assert!(
        restart.first_success_after_end_ms.is_some(),
        "a write succeeded again after the restart: {restart:?}"
    );

    // The regular whole-run gates are replaced by the same limits outside
    // the faults.
    assert!(r.gate("error rate").is_none() && r.gate("p95 from schedule all steps").is_none());
    for name in ["p95 outside faults", "error rate outside faults"] {
        let g = r.gate(name).unwrap_or_else(|| panic!("no gate {name}"));
        assert!(g.passed, "{g:?}");
    }

    let l = report.ledger.as_ref().expect("the ledger is on by default");
    assert!(l.acknowledged > 50, "{l:?}");
    assert_eq!(l.dropped_for_test, 1);
    assert_eq!(l.lost, 1, "exactly the dropped write is missing: {l:?}");
    assert_eq!(l.found, l.acknowledged - 1);
    assert_eq!(l.lost_ids.len(), 1);
    let lost = r.gate("lost acknowledged writes").unwrap();
    assert!(!lost.passed && lost.observed == 1.0, "{lost:?}");
    let failed: Vec<&str> = r
        .gates
        .iter()
        .filter(|g| !g.passed)
        .map(|g| g.name.as_str())
        .collect();
    assert_eq!(failed, ["lost acknowledged writes"]);
    // A busy shared machine may make the run invalid (late arrivals); it
    // is never a pass.
    assert!(
        code == Some(exit_codes::GATE_FAILED) || code == Some(exit_codes::INVALID_RUN),
        "{code:?}"
    );
    let index = std::fs::read_to_string(run_dir(root.path()).join("index.html")).unwrap();
    assert!(index.contains("Faults: what the users saw") && index.contains("Write ledger"));
}

/// A failover with synchronous replication (`remote_apply`): the primary
/// is killed, the replica promoted, and the load moves to it (writes, and
/// reads too: there is no replica left). Every write acknowledged before,
/// during and after the promotion is on the promoted server: zero lost,
/// and the zero-loss gate that `sync-apply` implies passes.
#[test]
fn a_promotion_with_sync_apply_loses_no_acknowledged_write() {
    let root = tempfile::tempdir().unwrap();
    let (code, text, r) = load(
        root.path(),
        &[
            "--durability",
            "sync-apply",
            "--duration",
            "10",
            "--fault",
            "promote@3s",
        ],
    );
    eprintln!("{text}");
    let report = r.faults.as_ref().unwrap();
    assert_eq!(report.durability, "sync-apply");
    assert_eq!(report.max_lost_writes, Some(0), "sync-apply gates at zero");
    let p = fault(&r, FaultKind::Promote);
    assert_eq!(p.error, None);
    assert!(
        p.reads_moved > 20,
        "reads went to the promoted server: {p:?}"
    );
    assert!(
        p.first_success_after_end_ms.is_some(),
        "writes succeeded on the promoted server: {p:?}"
    );
    let l = report.ledger.as_ref().unwrap();
    assert!(l.acknowledged > 20, "{l:?}");
    assert_eq!((l.lost, l.found), (0, l.acknowledged), "{l:?}");
    let g = r.gate("lost acknowledged writes").unwrap();
    assert!(g.passed && g.observed == 0.0, "{g:?}");
    assert!(
        code == Some(exit_codes::OK) || code == Some(exit_codes::INVALID_RUN),
        "{code:?}: {:?}",
        r.gates.iter().filter(|g| !g.passed).collect::<Vec<_>>()
    );
}

/// A bad spec is bad input (exit 4) before any server starts, and says
/// how to write one.
#[test]
fn a_bad_fault_spec_is_refused_with_the_syntax() {
    for (spec, says) in [
        ("replica-kill@3s", "needs a duration"),
        ("explode@3s", "unknown kind"),
        ("replica-stop@50s+5s", "past the"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args([
                "load",
                "--backend",
                "native",
                "--duration",
                "20",
                "--fault",
                spec,
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(exit_codes::BAD_INPUT),
            "{spec}: {err}"
        );
        assert!(err.contains(says), "{spec}: {err}");
    }
}
