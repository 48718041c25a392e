//! The janitor removes what a harness process that died without cleaning up
//! (SIGKILL, an OOM kill, a power cut of the CI job) left behind.
//!
//! Every run directory, container and network the cluster layer makes is
//! named or labelled with its owner's pid. At each cluster start the janitor
//! looks for those whose owner is gone, stops their servers (and their
//! PgBouncer instances, [`super::pooler`]) and removes them: the same job
//! testcontainers' Ryuk does in other languages, without a sidecar
//! container (no registry here to pull one from).

use std::path::Path;

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// The owner pid in a name made by `run_tag()` (`harness-<pid>-<n>...`).
fn owner_of(name: &str) -> Option<i32> {
    name.strip_prefix("harness-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// A scratch directory in the system's temporary directory, named for this
/// process (`harness-<pid>-<n>-<what>-...`) so that if the process dies
/// without removing it (SIGKILL), `harness clean` and the next cluster
/// start do. Every command that writes scratch files uses one.
pub fn scratch_dir(what: &str) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("{}-{what}-", super::run_tag()))
        .tempdir()
}

/// Move `from` to `to` so that `to` only ever appears whole: a rename, or
/// (across file systems) a copy to a hidden name beside `to`, then a rename.
pub fn move_into_place(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let partial = to.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let copied = std::fs::copy(from, &partial).and_then(|_| std::fs::rename(&partial, to));
    if copied.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    copied?;
    std::fs::remove_file(from)
}

/// Remove orphans of dead harness processes. Best effort, never fails.
/// Run directories are swept at once (cheap, and their ports may be
/// needed); the Docker sweep asks the engine several questions, so it runs
/// on a thread of its own and does not delay a native start.
pub fn sweep() {
    sweep_dirs(&std::env::temp_dir());
    std::thread::spawn(|| {
        if super::image::docker_answers() {
            sweep_docker();
        }
    });
}

/// The whole sweep, waiting for the Docker part (`harness clean`).
pub fn sweep_now() {
    sweep_dirs(&std::env::temp_dir());
    if super::image::docker_answers() {
        sweep_docker();
    }
}

/// Remove what this process itself still owns, as it exits after a signal:
/// a signal can land while a cluster is half started (a container being
/// created, a replica's base backup running), before anything holds the
/// handle whose `Drop` would remove it. Called once the runtime has shut
/// down, so no request of ours is still on its way to the engine.
pub fn sweep_own() {
    let me = std::process::id() as i32;
    sweep_dirs_of(&std::env::temp_dir(), |p| p == me);
    if super::image::docker_answers() {
        sweep_docker_of(|p| p == me);
    }
}

fn sweep_dirs(tmp: &Path) {
    sweep_dirs_of(tmp, |p| !pid_alive(p));
}

fn sweep_docker() {
    sweep_docker_of(|p| !pid_alive(p));
}

/// Run directories whose owner `gone` says to remove: their servers
/// stopped, the directories removed.
fn sweep_dirs_of(tmp: &Path, gone: impl Fn(i32) -> bool) {
    let Ok(rd) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = owner_of(&name) else { continue };
        if !gone(pid) || !e.path().is_dir() {
            continue;
        }
        // Poolers first: they forward to the servers stopped next.
        super::pooler::sweep_orphans(&e.path());
        for server in ["replica", "primary"] {
            let pidfile = e.path().join(server).join("postmaster.pid");
            if let Some(pm) = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<i32>().ok()))
            {
                if pid_alive(pm) {
                    tracing::warn!(dir = %e.path().display(), pid = pm, "stopping an orphaned postgres");
                    // SAFETY: signalling a pid read from an orphan's pid file.
                    unsafe { libc::kill(pm, libc::SIGQUIT) };
                    for _ in 0..100 {
                        if !pid_alive(pm) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(e.path());
    }
}

/// Containers and networks whose owner `gone` says to remove.
fn sweep_docker_of(gone: impl Fn(i32) -> bool) {
    let Ok(out) = super::image::docker_cli(&[
        "ps",
        "-a",
        "--filter",
        "label=harness.owner_pid",
        "--format",
        "{{.ID}} {{.Label \"harness.owner_pid\"}}",
    ]) else {
        return;
    };
    for line in out.lines() {
        let mut it = line.split_whitespace();
        let (Some(id), Some(pid)) = (it.next(), it.next().and_then(|p| p.parse::<i32>().ok()))
        else {
            continue;
        };
        if gone(pid) {
            tracing::warn!(container = id, "removing an orphaned harness container");
            let _ = super::image::docker_cli(&["rm", "-f", "-v", id]);
        }
    }
    if let Ok(nets) = super::image::docker_cli(&[
        "network",
        "ls",
        "--filter",
        "name=harness-",
        "--format",
        "{{.Name}}",
    ]) {
        for n in nets.lines() {
            if owner_of(n).is_some_and(&gone) {
                let _ = super::image::docker_cli(&["network", "rm", n]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_owner_pids_from_names() {
        assert_eq!(super::owner_of("harness-1234-0-AbCd"), Some(1234));
        assert_eq!(super::owner_of("harness-image-x"), None);
        assert_eq!(super::owner_of("other-1234"), None);
        assert!(super::pid_alive(std::process::id() as i32));
    }
}
