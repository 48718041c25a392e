//! Interrupted runs, through the binary, on both backends: SIGINT, SIGTERM,
//! and SIGKILL followed by `harness clean`, each landing in the middle of
//! migrate, seed, load and capacity. Afterwards nothing of the run may be
//! left: no process (servers, pg_basebackup, pgbench), no container, no
//! network, no directory; and the command's output is in its documented
//! state (the README, "Nothing is left behind"):
//!
//! - seed into a SQLite file: no file at the path (the file is written
//!   beside it and renamed only when complete);
//! - load and capacity: the run folder, if one was made, holds no report
//!   (`summary.json` and `index.html` are written last), so `harness report index`
//!   and `report compare` never read half a run;
//! - migrate and seed into a harness-started cluster: the cluster is gone
//!   with the data, as their banner says.
//!
//! Each case waits for the command's own progress line that says the work
//! is under way, checks the command has not finished, then signals it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use harness::exit_codes;

use super::support;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Sig {
    Int,
    Term,
    /// SIGKILL, then `harness clean`.
    Kill,
}

impl Sig {
    fn number(self) -> i32 {
        match self {
            Sig::Int => libc::SIGINT,
            Sig::Term => libc::SIGTERM,
            Sig::Kill => libc::SIGKILL,
        }
    }
}

/// What to wait for before the signal.
#[derive(Clone, Copy, Debug)]
enum Wait {
    /// A line of the command's stderr.
    Line(&'static str),
    /// A non-empty file in the command's scratch directory `harness-<pid>-<n>-<what>-*`.
    Scratch(&'static str),
}

impl Wait {
    fn met(self, line: &str) -> bool {
        matches!(self, Wait::Line(l) if line.contains(l))
    }

    fn scratch_written(self, pid: u32) -> bool {
        let Wait::Scratch(what) = self else {
            return false;
        };
        let tag = format!("harness-{pid}-");
        let Ok(rd) = std::fs::read_dir(std::env::temp_dir()) else {
            return false;
        };
        rd.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&tag)
                && name.contains(&format!("-{what}-"))
                && std::fs::read_dir(e.path()).is_ok_and(|files| {
                    files
                        .flatten()
                        .any(|f| f.metadata().is_ok_and(|m| m.len() > 0))
                })
        })
    }
}

/// One command to interrupt.
struct Case {
    name: &'static str,
    args: Vec<String>,
    /// What says the work is under way.
    under_way: Wait,
    /// How long to let the work run after that line before the signal.
    after: Duration,
}

fn harness() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.env_remove("HARNESS_PRIMARY_URL")
        .env_remove("HARNESS_REPLICA_URL")
        .env_remove("HARNESS_APP");
    c
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

/// A portal legacy file big enough that migrating it takes a few seconds.
fn legacy_file(dir: &Path) -> PathBuf {
    let path = dir.join("legacy.db");
    let out = harness()
        .args(["seed", "--tenants", "40", "--scale", "2", "--sqlite"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(exit_codes::OK),
        "seeding the legacy file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn cases(backend: &str, dir: &Path, legacy: &Path) -> Vec<Case> {
    let cluster = ["--backend", backend, "--durability", "fast"];
    let reports = dir.join("reports").display().to_string();
    let mut migrate = s(&["migrate", "--no-verify"]);
    migrate.push(legacy.display().to_string());
    migrate.extend(s(&cluster));
    migrate.push("--rejects".into());
    migrate.push(dir.join("rejects.jsonl").display().to_string());
    let mut seed = s(&["seed", "--postgres", "--tenants", "60", "--scale", "2"]);
    seed.extend(s(&cluster));
    let mut load = s(&["load", "--users", "100", "--ramp", "2", "--duration", "120"]);
    load.extend(s(&["--tenants", "5", "--scale", "0.2", "--pool", "8"]));
    load.extend(s(&cluster));
    load.extend(["--reports-dir".to_string(), reports.clone()]);
    let mut capacity = s(&["capacity", "--steps", "50,100", "--duration", "120"]);
    capacity.extend(s(&[
        "--ramp",
        "2",
        "--tenants",
        "5",
        "--scale",
        "0.2",
        "--pool",
        "8",
    ]));
    capacity.extend(s(&cluster));
    capacity.extend(["--reports-dir".to_string(), reports]);
    let mut up = s(&["up"]);
    up.extend(s(&cluster));
    // `up` never ends by itself, so its signal may land at any moment of
    // the cluster's start: a container being created, a replica's base
    // backup running, before anything holds what `Drop` would remove.
    let starting = |name, ms| Case {
        name,
        args: up.clone(),
        under_way: Wait::Line("starting a primary and a streaming replica"),
        after: Duration::from_millis(ms),
    };
    vec![
        starting("up 0.5 s into the start", 500),
        starting("up 1.5 s into the start", 1500),
        starting("up 3 s into the start", 3000),
        Case {
            name: "migrate",
            args: migrate,
            under_way: Wait::Line("migrating into a harness-started cluster"),
            after: Duration::from_millis(700),
        },
        Case {
            name: "seed --postgres",
            args: seed,
            under_way: Wait::Line("seeding a cluster started for this command"),
            after: Duration::from_millis(2500),
        },
        Case {
            name: "load",
            args: load,
            under_way: Wait::Line("running ("),
            after: Duration::from_secs(3),
        },
        Case {
            name: "capacity",
            args: capacity,
            under_way: Wait::Line("harness: capacity steps"),
            after: Duration::from_secs(3),
        },
    ]
}

/// Start `args`, wait for `under_way` on stderr, let it run `after`, send
/// `sig`; returns the child's pid and its stderr so far.
fn interrupt(case: &Case, sig: Sig) -> (u32, String) {
    let mut child: Child = harness()
        .args(&case.args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut seen = String::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) => {
                let hit = case.under_way.met(&line);
                seen.push_str(&line);
                seen.push('\n');
                if hit {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if case.under_way.scratch_written(pid) {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                panic!(
                    "{}: ended before {:?} was seen:\n{seen}",
                    case.name, case.under_way
                );
            }
        }
        assert!(
            Instant::now() < deadline,
            "{}: {:?} never seen:\n{seen}",
            case.name,
            case.under_way
        );
    }
    std::thread::sleep(case.after);
    assert!(
        child.try_wait().unwrap().is_none(),
        "{}: finished before the signal could land; make its work bigger\n{seen}",
        case.name
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, sig.number()) };
    let status = wait_timeout(&mut child, Duration::from_secs(90), case.name);
    let all = reader.join().unwrap();
    match sig {
        Sig::Int => assert_eq!(
            status.code(),
            Some(exit_codes::INTERRUPTED),
            "{}: SIGINT\n{all}",
            case.name
        ),
        Sig::Term => assert_eq!(
            status.code(),
            Some(exit_codes::TERMINATED),
            "{}: SIGTERM\n{all}",
            case.name
        ),
        Sig::Kill => {
            assert_eq!(status.code(), None, "{}: killed by a signal", case.name);
            let out = harness().arg("clean").output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(exit_codes::OK),
                "harness clean: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    (pid, all)
}

fn wait_timeout(child: &mut Child, limit: Duration, name: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name}: still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Run folders under `root` whose report was written (`summary.json`).
fn finished_runs(root: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    rd.flatten()
        .map(|e| e.path())
        .filter(|p| p.join("summary.json").exists() || p.join("index.html").exists())
        .collect()
}

/// Every command under every signal on one backend: three rounds, one per
/// signal, each interrupting the commands side by side.
fn every_case(backend: &str) {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let legacy = legacy_file(dir.path());
    eprintln!("legacy file: {:.1} s", t0.elapsed().as_secs_f64());
    let mut failures = Vec::new();
    for sig in [Sig::Int, Sig::Term, Sig::Kill] {
        let round: Vec<_> = cases(backend, dir.path(), &legacy)
            .into_iter()
            .map(|case| {
                std::thread::spawn(move || {
                    let t0 = Instant::now();
                    let (pid, _stderr) = interrupt(&case, sig);
                    eprintln!("{} {sig:?}: {:.1} s", case.name, t0.elapsed().as_secs_f64());
                    (case.name, support::leftovers(pid, Duration::from_secs(15)))
                })
            })
            .collect();
        for h in round {
            let (name, left) = h.join().expect("an interrupted case failed");
            if !left.is_empty() {
                failures.push(format!("{backend} {name} {sig:?}: {left:?}"));
            }
        }
    }
    let runs = finished_runs(&dir.path().join("reports"));
    assert!(
        runs.is_empty(),
        "an interrupted load or capacity wrote a finished report: {runs:?}"
    );
    assert!(failures.is_empty(), "left behind:\n{}", failures.join("\n"));
}

#[test]
fn native_interrupted_runs_leave_nothing() {
    every_case("native");
}

#[test]
fn docker_interrupted_runs_leave_nothing() {
    if support::docker_or_skip("docker_interrupted_runs_leave_nothing") {
        every_case("docker");
    }
}

/// Seeding into a SQLite file: an interrupted seed leaves no file at the
/// path (none half-written), and a later seed to the same path works
/// without --force.
#[test]
fn interrupted_sqlite_seed_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.db");
    for sig in [Sig::Int, Sig::Term, Sig::Kill] {
        let case = Case {
            name: "seed --sqlite",
            args: vec![
                "seed".into(),
                "--tenants".into(),
                "400".into(),
                "--scale".into(),
                "6".into(),
                "--sqlite".into(),
                path.display().to_string(),
            ],
            under_way: Wait::Scratch("seed"),
            after: Duration::from_millis(800),
        };
        let (pid, stderr) = interrupt(&case, sig);
        assert!(
            !path.exists(),
            "{sig:?}: a half-written file is at the path\n{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "{sig:?}: files beside the path: {left:?}");
        assert!(support::leftovers(pid, Duration::from_secs(15)).is_empty());
    }
}
