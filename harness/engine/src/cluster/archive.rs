//! WAL archiving, base backups and point-in-time restores: what a recovery
//! drill needs from the cluster layer (native backend).
//!
//! A [`WalArchive`] is one run directory the harness owns, named like the
//! other run directories (`harness-<pid>-<n>-drill-...`, so the
//! [`super::janitor`] removes what a killed run left):
//!
//! - `wal/`: the archive. The primary's `archive_command` copies each
//!   finished WAL segment there ([`WalArchive::settings`] go into the
//!   cluster's `settings` before it starts);
//! - `base/`: one `pg_basebackup` in tar format with its WAL
//!   ([`WalArchive::base_backup`]), taken while the app's load writes;
//! - `primary/`: the restored server's data directory. It is the primary of
//!   the restored cluster, and the name is the one the janitor looks in for
//!   a `postmaster.pid` to stop.
//!
//! A restore ([`WalArchive::restore`]) is what an operator does: unpack the
//! base backup into an empty directory, add `recovery.signal`, and start
//! the server with a `restore_command` reading the archive and a recovery
//! target (a named restore point or an LSN). The server replays the
//! archive up to the target and promotes itself; it is ready when it
//! answers `pg_is_in_recovery() = false`. Both phases are timed.
//!
//! Every tool runs as the server account when the harness is root (as the
//! native backend's do), under `kill_on_drop`, and the restored postmaster
//! is stopped in `Drop`: a cancelled drill leaves no process behind, and
//! the directory goes with the [`WalArchive`].

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::native::{find_bindir, run_as, run_as_user};
use super::{free_port, ClusterConfig, ClusterError, Endpoint};

/// Server settings a restored server must not take over from the primary.
const PRIMARY_ONLY: [&str; 3] = ["archive_mode", "archive_command", "archive_timeout"];

/// Where recovery stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveryTarget {
    /// A restore point made with `pg_create_restore_point(name)`: replay
    /// stops right after its WAL record.
    Name(String),
    /// A WAL position: replay stops before the first record at or after it.
    Lsn(String),
}

impl RecoveryTarget {
    fn settings(&self) -> Vec<(String, String)> {
        match self {
            RecoveryTarget::Name(n) => vec![("recovery_target_name".into(), n.clone())],
            RecoveryTarget::Lsn(l) => vec![
                ("recovery_target_lsn".into(), l.clone()),
                ("recovery_target_inclusive".into(), "off".into()),
            ],
        }
    }

    pub fn describe(&self) -> String {
        match self {
            RecoveryTarget::Name(n) => format!("restore point {n}"),
            RecoveryTarget::Lsn(l) => format!("LSN {l}"),
        }
    }
}

/// A base backup on disk.
#[derive(Debug, Clone)]
pub struct BaseBackup {
    pub dir: PathBuf,
    /// Bytes of the backup's files (tars and manifest).
    pub bytes: u64,
    /// Wall time of `pg_basebackup`.
    pub took: Duration,
    /// The WAL range the backup needs (from its manifest).
    pub start_lsn: String,
    pub end_lsn: String,
}

/// The WAL archive, the base backup and the restored server of one drill.
pub struct WalArchive {
    bindir: PathBuf,
    user: Option<(u32, u32)>,
    root: Option<tempfile::TempDir>,
    password: Option<String>,
}

impl WalArchive {
    /// An empty archive for a native cluster configured as `cfg` (its
    /// server binaries; owned by the server account when the harness is
    /// root). Other backends are refused with what to use instead.
    pub fn create(cfg: &ClusterConfig) -> Result<WalArchive, ClusterError> {
        let bindir = find_bindir(cfg.pg_bindir.as_deref())?;
        let user = run_as_user().map(|(u, g, _)| (u, g));
        // SAFETY: geteuid has no preconditions.
        if user.is_none() && unsafe { libc::geteuid() } == 0 {
            return Err(ClusterError::NoBackend(
                "running as root and no unprivileged account to run PostgreSQL as; create the `postgres` user or set HARNESS_PG_USER".into(),
            ));
        }
        let root = super::janitor::scratch_dir("drill")?;
        for sub in ["wal", "sock"] {
            std::fs::create_dir(root.path().join(sub))?;
        }
        if let Some((uid, gid)) = user {
            for p in [
                root.path().to_path_buf(),
                root.path().join("wal"),
                root.path().join("sock"),
            ] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid))?;
            }
        }
        Ok(WalArchive {
            bindir,
            user,
            root: Some(root),
            password: None,
        })
    }

    fn root(&self) -> &Path {
        self.root
            .as_ref()
            .expect("the directory lives until drop")
            .path()
    }

    /// The archive directory (one file per WAL segment).
    pub fn wal_dir(&self) -> PathBuf {
        self.root().join("wal")
    }

    /// WAL segments in the archive now.
    pub fn segments(&self) -> usize {
        std::fs::read_dir(self.wal_dir())
            .map(|rd| rd.flatten().filter(|e| e.file_name().len() == 24).count())
            .unwrap_or(0)
    }

    /// Settings that make a primary archive into this directory. A segment
    /// already there is never overwritten (the command fails instead, and
    /// the server retries and complains in its log).
    pub fn settings(&self) -> Vec<(String, String)> {
        let wal = self.wal_dir().to_string_lossy().into_owned();
        vec![
            ("archive_mode".into(), "on".into()),
            (
                "archive_command".into(),
                format!("test ! -f '{wal}/%f' && cp '%p' '{wal}/%f'"),
            ),
        ]
    }

    /// A server tool as the server account, killed if the drill is dropped.
    fn tool(&self, name: &str) -> tokio::process::Command {
        let mut c = std::process::Command::new(if name == "tar" {
            PathBuf::from("tar")
        } else {
            self.bindir.join(name)
        });
        c.env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .current_dir(self.root());
        if let Some(p) = &self.password {
            c.env("PGPASSWORD", p);
        }
        if let Some((uid, gid)) = self.user {
            run_as(&mut c, uid, gid);
        }
        let mut c = tokio::process::Command::from(c);
        c.kill_on_drop(true);
        c
    }

    async fn run_tool(&self, name: &str, args: &[&str]) -> Result<(), ClusterError> {
        let out = self.tool(name).args(args).output().await;
        super::native::tool_result(name, args, out)
    }

    /// `pg_basebackup` of `primary` in tar format with the WAL it needs
    /// (streamed alongside), into `base/`.
    pub async fn base_backup(&mut self, primary: &Endpoint) -> Result<BaseBackup, ClusterError> {
        self.password = primary.password.clone();
        let dir = self.root().join("base");
        let t0 = Instant::now();
        let port = primary.port.to_string();
        self.run_tool(
            "pg_basebackup",
            &[
                "-h",
                &primary.host,
                "-p",
                &port,
                "-U",
                &primary.user,
                "-D",
                &dir.to_string_lossy(),
                "-F",
                "tar",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        )
        .await?;
        let took = t0.elapsed();
        let bytes = std::fs::read_dir(&dir)?
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        let (start_lsn, end_lsn) = manifest_wal_range(&dir.join("backup_manifest"))?;
        Ok(BaseBackup {
            dir,
            bytes,
            took,
            start_lsn,
            end_lsn,
        })
    }

    /// Close the current WAL segment on `primary` and wait until the
    /// archive holds it: every WAL record written so far is then in the
    /// archive. Returns the name of that segment.
    pub async fn flush(
        &self,
        primary: &Endpoint,
        timeout: Duration,
    ) -> Result<String, ClusterError> {
        let mut c = primary.connect().await?;
        let sql = |e| ClusterError::Sql {
            role: "primary",
            source: e,
        };
        let segment: String = sqlx::query_scalar("select pg_walfile_name(pg_switch_wal())")
            .fetch_one(&mut c)
            .await
            .map_err(sql)?;
        let deadline = Instant::now() + timeout;
        loop {
            let (last, failed): (Option<String>, Option<String>) = sqlx::query_as(
                "select last_archived_wal, \
                 case when failed_count > 0 then last_failed_wal end from pg_stat_archiver",
            )
            .fetch_one(&mut c)
            .await
            .map_err(sql)?;
            // Segment names of one timeline sort in WAL order.
            if last.as_deref().is_some_and(|l| l >= segment.as_str()) {
                let _ = c.close().await;
                return Ok(segment);
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Timeout(
                    timeout,
                    format!(
                        "the primary to archive WAL segment {segment} into {} (last archived: {}, last failed: {}); the primary's log says why",
                        self.wal_dir().display(),
                        last.as_deref().unwrap_or("none"),
                        failed.as_deref().unwrap_or("none"),
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Restore `backup` into a new data directory and replay the archive
    /// up to `target`; the server starts on a free port with `settings`
    /// (the primary's, minus its archiving) and promotes at the target.
    /// Returns once it accepts writes.
    pub async fn restore(
        &self,
        backup: &BaseBackup,
        target: &RecoveryTarget,
        settings: &[(String, String)],
        template: &Endpoint,
        timeout: Duration,
    ) -> Result<Restored, ClusterError> {
        let data = self.root().join("primary");
        let t0 = Instant::now();
        std::fs::create_dir(&data)?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))?;
        }
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))?;
        }
        let d = data.to_string_lossy().into_owned();
        let base = backup.dir.join("base.tar").to_string_lossy().into_owned();
        let wal = backup.dir.join("pg_wal.tar").to_string_lossy().into_owned();
        self.run_tool("tar", &["-xf", &base, "-C", &d]).await?;
        self.run_tool("tar", &["-xf", &wal, "-C", &format!("{d}/pg_wal")])
            .await?;
        let signal = data.join("recovery.signal");
        std::fs::write(&signal, "")?;
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&signal, Some(uid), Some(gid))?;
        }
        let unpacked = t0.elapsed();

        let t1 = Instant::now();
        let port = free_port()?;
        let log_path = self.root().join("restored.log");
        let log = std::fs::File::create(&log_path)?;
        if let Some((uid, gid)) = self.user {
            std::os::unix::fs::chown(&log_path, Some(uid), Some(gid))?;
        }
        let mut cmd = std::process::Command::new(self.bindir.join("postgres"));
        cmd.env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null())
            .current_dir(self.root())
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(self.root().join("sock"))
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut all: Vec<(String, String)> = settings
            .iter()
            .filter(|(k, _)| !PRIMARY_ONLY.contains(&k.as_str()))
            .cloned()
            .collect();
        all.push(("listen_addresses".into(), "127.0.0.1".into()));
        all.push((
            "restore_command".into(),
            format!("cp '{}/%f' '%p'", self.wal_dir().display()),
        ));
        all.push(("recovery_target_action".into(), "promote".into()));
        // A primary run with synchronous replication keeps its standby
        // names in postgresql.auto.conf, which the backup carries; the
        // restored server has no standby, and a write would wait forever.
        all.push(("synchronous_standby_names".into(), String::new()));
        all.extend(target.settings());
        for (k, v) in &all {
            cmd.arg("-c").arg(format!("{k}={v}"));
        }
        if let Some((uid, gid)) = self.user {
            run_as(&mut cmd, uid, gid);
        }
        let child = cmd.spawn().map_err(|e| ClusterError::Command {
            what: "postgres (restored)".into(),
            detail: e.to_string(),
        })?;
        let mut restored = Restored {
            endpoint: Endpoint {
                port,
                ..template.clone()
            },
            unpack: unpacked,
            replay: Duration::ZERO,
            child: Some(child),
            log: log_path,
        };
        restored.wait_promoted(target, timeout).await?;
        restored.replay = t1.elapsed();
        Ok(restored)
    }
}

impl Drop for WalArchive {
    fn drop(&mut self) {
        if let Some(d) = self.root.take() {
            let _ = d.close();
        }
    }
}

/// A server restored from a base backup and the archive.
pub struct Restored {
    /// The superuser's endpoint on the restored server (same password as
    /// the primary it came from).
    pub endpoint: Endpoint,
    /// Unpacking the base backup into the new data directory.
    pub unpack: Duration,
    /// Start to ready: WAL replay up to the target and the promotion.
    pub replay: Duration,
    child: Option<Child>,
    log: PathBuf,
}

impl Restored {
    /// Time to restore: unpack plus replay until it accepts writes.
    pub fn total(&self) -> Duration {
        self.unpack + self.replay
    }

    async fn wait_promoted(
        &mut self,
        target: &RecoveryTarget,
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(ClusterError::Command {
                    what: format!("restoring to {}", target.describe()),
                    detail: format!(
                        "the restored server exited ({status}); its log ends:\n{}\n  hint: \"recovery ended before configured recovery target was reached\" means the archive lacks the WAL up to the target",
                        self.log_tail(12)
                    ),
                });
            }
            if let Ok(mut c) = self.endpoint.connect().await {
                let in_recovery: Result<bool, _> = sqlx::query_scalar("select pg_is_in_recovery()")
                    .fetch_one(&mut c)
                    .await;
                let _ = c.close().await;
                if matches!(in_recovery, Ok(false)) {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(ClusterError::Timeout(
                    timeout,
                    format!(
                        "the restored server to reach {} and promote; its log ends:\n{}",
                        target.describe(),
                        self.log_tail(12)
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last `n` lines of the restored server's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Stop the restored server (fast shutdown).
    pub async fn shutdown(mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Restored {
    /// An immediate shutdown, as the native cluster's servers get.
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            super::native::quit_now(child);
        }
    }
}

/// The WAL range a backup needs, from its manifest.
fn manifest_wal_range(path: &Path) -> Result<(String, String), ClusterError> {
    let bad = |why: String| ClusterError::Command {
        what: "reading the base backup's manifest".into(),
        detail: format!("{}: {why}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let range = v
        .get("WAL-Ranges")
        .and_then(|r| r.as_array())
        .and_then(|r| r.first())
        .ok_or_else(|| bad("no WAL-Ranges".into()))?;
    let lsn = |k: &str| {
        range
            .get(k)
            .and_then(|s| s.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(format!("no {k}")))
    };
    Ok((lsn("Start-LSN")?, lsn("End-LSN")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_become_recovery_settings() {
        assert_eq!(
            RecoveryTarget::Name("t".into()).settings(),
            vec![("recovery_target_name".to_string(), "t".to_string())]
        );
        let l = RecoveryTarget::Lsn("0/3000000".into()).settings();
        assert!(l.contains(&("recovery_target_inclusive".into(), "off".into())));
    }

    #[test]
    fn reads_the_wal_range_of_a_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("backup_manifest");
        std::fs::write(
            &p,
            r#"{"PostgreSQL-Backup-Manifest-Version": 1, "Files": [],
               "WAL-Ranges": [{"Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100"}]}"#,
        )
        .unwrap();
        assert_eq!(
            manifest_wal_range(&p).unwrap(),
            ("0/2000028".to_string(), "0/2000100".to_string())
        );
        std::fs::write(&p, "{}").unwrap();
        assert!(manifest_wal_range(&p).is_err());
    }
}
