//! `harness drill restore` through the binary: a base backup and WAL
//! archive taken under the portal's load, restored to T, equal table by
//! table, with the restore time in the report; and the same drill made to
//! restore past T, which must exit 11 naming the tables that differ.
//!
//! Small data (4 tenants at scale 0.05), fast durability and a 6 s load
//! keep each run near 20 s; the two tests run side by side.

use std::path::Path;
use std::process::{Command, Output};

use harness::drill::DrillResults;
use harness::exit_codes;
use harness::report::{self, Verdict};

use crate::load::run_dir;

/// One small drill on the reference app with `extra` flags; its output,
/// run folder summary and drill.json.
fn drill(root: &Path, extra: &[&str]) -> (Output, report::Run, DrillResults) {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "drill",
            "restore",
            "--backend",
            "native",
            "--durability",
            "fast",
            "--tenants",
            "4",
            "--scale",
            "0.05",
            "--rate",
            "30",
            "--duration",
            "6",
            "--at",
            "1",
            "--reports-dir",
        ])
        .arg(root)
        .args(extra)
        // A harness.toml in the working directory must not change the run.
        .env("HARNESS_CONFIG", "/dev/null")
        .env_remove("HARNESS_APP")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(
            out.status.code(),
            Some(exit_codes::OK | exit_codes::VERIFY_MISMATCH)
        ),
        "drill failed to run ({:?}):\n{stderr}",
        out.status
    );
    let dir = run_dir(root);
    let run = report::read_run(&dir).unwrap();
    let r: DrillResults =
        serde_json::from_str(&std::fs::read_to_string(dir.join("drill.json")).unwrap()).unwrap();
    leaves_nothing(&stderr);
    (out, run, r)
}

/// No run directory of the drill's process is left (its WAL archive,
/// base backup and restored data directory live in one).
fn leaves_nothing(stderr: &str) {
    let archive = stderr
        .lines()
        .find_map(|l| l.split("archiving WAL into ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .expect("the drill names its archive directory");
    let run_dir = Path::new(archive).parent().unwrap();
    assert!(
        !run_dir.exists(),
        "the drill's directory {} is left behind",
        run_dir.display()
    );
}

#[test]
fn restore_to_t_under_load_equals_the_primary_at_t() {
    let root = tempfile::tempdir().unwrap();
    let (out, run, r) = drill(root.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(exit_codes::OK),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every table came back as it was at T, and T was a point in time: the
    // load went on writing afterwards, so a restore past T would differ.
    assert!(r.mismatched.is_empty(), "{:?}", r.mismatched);
    assert!(r.tables.len() >= 5, "the portal's tables: {:?}", r.tables);
    assert!(r
        .tables
        .iter()
        .all(|t| t.equal && t.rows_at_point == t.rows_restored));
    assert!(r.rows_compared() > 1000, "{} rows", r.rows_compared());
    assert!(
        !r.written_after_point.is_empty() && r.load_after_point_secs > 1.0,
        "the load wrote after T: {:?}, {} s",
        r.written_after_point,
        r.load_after_point_secs
    );
    for t in r
        .tables
        .iter()
        .filter(|t| r.written_after_point.contains(&t.table))
    {
        assert_ne!(t.digest_at_point, t.digest_at_end, "{}", t.table);
    }
    assert!(r.base_backup_bytes > 0 && r.archived_segments > 0 && r.wal_replayed_bytes > 0);
    assert!(r.point_at_secs > r.base_backup_secs, "T follows the backup");
    assert_eq!(r.load.failed, 0, "{:?}", r.load.errors);
    // The time to restore is in the report, made of its two phases.
    assert_eq!(run.kind, report::RunKind::Drill);
    assert_eq!(run.verdict, Verdict::Pass);
    let f = run
        .find_figure("time to restore", None)
        .expect("the restore time figure");
    assert!(f.key && f.unit == "s");
    assert!(f.value > 0.0 && (f.value - (r.unpack_secs + r.replay_secs)).abs() < 1e-6);
    assert!(run.gates.iter().all(|g| g.passed));
    assert!(stdout.contains("time to restore:") && stdout.contains("equals the primary's at T"));
    let summary = std::fs::read_to_string(run_dir(root.path()).join("summary.json")).unwrap();
    assert_eq!(
        report::schema::validate_summary(&summary),
        Vec::<String>::new()
    );
}

#[test]
fn restore_past_t_is_caught_naming_the_table() {
    let root = tempfile::tempdir().unwrap();
    let (out, run, r) = drill(root.path(), &["--fault-for-test", "later"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(exit_codes::VERIFY_MISMATCH),
        "{stdout}"
    );
    // Exactly the tables the load wrote after T differ, each named.
    assert!(!r.mismatched.is_empty());
    assert_eq!(r.mismatched, r.written_after_point);
    for t in &r.mismatched {
        assert!(
            stdout.contains(&format!("MISMATCH {t}:")),
            "{t} named:\n{stdout}"
        );
    }
    assert_eq!(run.verdict, Verdict::Fail);
    let gate = &run.gates[0];
    assert!(!gate.passed && gate.observed == r.mismatched.len() as f64);
    assert!(gate.detail.as_deref().unwrap().contains(&r.mismatched[0]));
}

/// Ctrl-C once the base backup and T exist, with the load still running:
/// exit 130, and the servers, the archive, the backup and their directory
/// are gone.
#[test]
fn ctrl_c_mid_drill_leaves_nothing() {
    use std::io::{BufRead, BufReader};
    let root = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args([
            "drill",
            "restore",
            "--backend",
            "native",
            "--durability",
            "fast",
            "--tenants",
            "2",
            "--scale",
            "0.02",
            "--rate",
            "20",
            "--duration",
            "30",
            "--at",
            "0",
        ])
        .arg("--reports-dir")
        .arg(root.path())
        .env("HARNESS_CONFIG", "/dev/null")
        .env_remove("HARNESS_APP")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("drill: T at") {
            break;
        }
    }
    assert!(seen.contains("drill: T at"), "the drill reached T:\n{seen}");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).count());
    let status = child.wait().unwrap();
    drain.join().unwrap();
    assert_eq!(status.code(), Some(exit_codes::INTERRUPTED));
    leaves_nothing(&seen);
    let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
    let tag = format!("harness-{}-", child.id());
    assert!(
        !String::from_utf8_lossy(&ps.stdout).contains(&tag),
        "a server of the drill still runs"
    );
}

/// Docker and external targets are refused before anything starts, with
/// what to give instead.
#[test]
fn other_backends_are_refused_with_what_to_use() {
    let out = Command::new(env!("CARGO_BIN_EXE_harness"))
        .args(["drill", "restore", "--backend", "docker"])
        .env("HARNESS_CONFIG", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(exit_codes::BAD_INPUT));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--backend native"), "{err}");
}
