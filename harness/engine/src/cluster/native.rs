//! The native backend: the locally installed PostgreSQL server binaries.
//!
//! Shaped like the bare shell sequence it is measured against (`initdb`,
//! start, `pg_basebackup -R -X stream`, start) so it stays within a small
//! factor of it: `postgres` is started directly (not through `pg_ctl`) so
//! the harness holds each postmaster as a child process and can stop, kill
//! and restart it precisely, and nothing daemonizes out of its reach.
//!
//! Everything lives in one per-run directory under the temp dir (data
//! directories, sockets, logs), named with the owner's pid so the
//! [`super::janitor`] can remove what a killed harness left. Ports are free
//! ports on 127.0.0.1 only. PostgreSQL refuses to run as root, so when the
//! harness is root every server binary runs as an unprivileged account
//! (`postgres`, or `HARNESS_PG_USER`).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, run_tag, wait_accepting, ClusterConfig, ClusterError, Endpoint};

/// The account PostgreSQL runs as when the harness is root.
pub fn run_as_user() -> Option<(u32, u32, String)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::env::var("HARNESS_PG_USER").unwrap_or_else(|_| "postgres".into());
    let cname = std::ffi::CString::new(name.clone()).ok()?;
    // SAFETY: getpwnam reads a static buffer; we copy the ids out at once.
    let pw = unsafe { libc::getpwnam(cname.as_ptr()) };
    if pw.is_null() {
        return None;
    }
    // SAFETY: pw is non-null and points at a valid passwd record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Some((uid, gid, name))
}

/// Find the directory that holds `initdb`, `postgres` and `pg_basebackup`:
/// the flag, then PATH, then `pg_config --bindir`, then the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bindir(explicit: Option<&Path>) -> Result<PathBuf, ClusterError> {
    let ok = |d: &Path| {
        ["initdb", "postgres", "pg_basebackup"]
            .iter()
            .all(|b| d.join(b).is_file())
    };
    if let Some(d) = explicit {
        return if ok(d) {
            Ok(d.to_path_buf())
        } else {
            Err(ClusterError::Config(format!(
                "--pg-bindir {}: initdb, postgres or pg_basebackup is missing there",
                d.display()
            )))
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if ok(&d) {
                return Ok(d);
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && ok(&d) {
            return Ok(d);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let d = e.path().join("bin");
            ok(&d).then_some((v, d))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d).ok_or_else(|| {
        ClusterError::NoBackend(
            "no PostgreSQL server binaries found on PATH, via pg_config, or under /usr/lib/postgresql/*/bin; install them (`apt-get install postgresql-15`) or pass --pg-bindir".into(),
        )
    })
}

/// Make `cmd` run as `uid`/`gid` (PostgreSQL refuses root), dropping root
/// between fork and exec: shared with PgBouncer ([`super::pooler`]) and the
/// archive's backup and restore tools ([`super::archive`]).
pub(crate) fn run_as(cmd: &mut Command, uid: u32, gid: u32) {
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(gid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One postmaster the harness started.
struct Server {
    name: &'static str,
    data: PathBuf,
    port: u16,
    child: Option<Child>,
}

pub struct NativeCluster {
    pub primary: Endpoint,
    pub replica: Endpoint,
    pub bindir: PathBuf,
    run_dir: Option<tempfile::TempDir>,
    servers: [Server; 2],
    settings: Vec<(String, String)>,
    user: Option<(u32, u32, String)>,
    password: String,
}

impl NativeCluster {
    pub async fn start(cfg: &ClusterConfig) -> Result<NativeCluster, ClusterError> {
        let bindir = find_bindir(cfg.pg_bindir.as_deref())?;
        let user = run_as_user();
        // SAFETY: geteuid has no preconditions.
        if user.is_none() && unsafe { libc::geteuid() } == 0 {
            return Err(ClusterError::NoBackend(
                "running as root and no unprivileged account to run PostgreSQL as; create the `postgres` user or set HARNESS_PG_USER".into(),
            ));
        }
        let run_dir = tempfile::Builder::new()
            .prefix(&format!("{}-", run_tag()))
            .tempdir()?;
        let root = run_dir.path().to_path_buf();
        let password = uuid::Uuid::new_v4().simple().to_string();
        std::fs::write(root.join("pwfile"), &password)?;
        std::fs::create_dir(root.join("sock"))?;
        if let Some((uid, gid, _)) = &user {
            for p in [root.clone(), root.join("pwfile"), root.join("sock")] {
                std::os::unix::fs::chown(&p, Some(*uid), Some(*gid))?;
            }
        }
        let mut settings = cfg.server_settings();
        for (k, v) in settings.iter_mut() {
            if k == "listen_addresses" {
                *v = "127.0.0.1".into();
            }
        }
        let mut me = NativeCluster {
            primary: endpoint(0, &password),
            replica: endpoint(0, &password),
            bindir,
            servers: [
                Server {
                    name: "primary",
                    data: root.join("primary"),
                    port: 0,
                    child: None,
                },
                Server {
                    name: "replica",
                    data: root.join("replica"),
                    port: 0,
                    child: None,
                },
            ],
            run_dir: Some(run_dir),
            settings,
            user,
            password,
        };
        let timeout = Duration::from_secs(cfg.start_timeout_secs);

        me.run_tool(
            "initdb",
            &[
                "-D",
                &path_str(&me.servers[0].data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", root.join("pwfile").display()),
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
        )?;
        me.spawn(0)?;
        me.primary = endpoint(me.servers[0].port, &me.password);
        wait_accepting(&me.primary, timeout).await?;

        let primary_port = me.servers[0].port.to_string();
        me.run_tool(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port,
                "-U",
                "postgres",
                "-D",
                &path_str(&me.servers[1].data),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        )?;
        me.spawn(1)?;
        me.replica = endpoint(me.servers[1].port, &me.password);
        Ok(me)
    }

    fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(self.bindir.join(name));
        c.env("PGPASSWORD", &self.password)
            .env("LC_ALL", "C.UTF-8")
            .stdin(Stdio::null());
        if let Some((uid, gid, _)) = self.user {
            run_as(&mut c, uid, gid);
        }
        if let Some(d) = &self.run_dir {
            c.current_dir(d.path());
        }
        c
    }

    fn run_tool(&self, name: &str, args: &[&str]) -> Result<(), ClusterError> {
        tool_result(name, args, self.tool(name).args(args).output())
    }

    /// Start server `i` on a free port (keeping its port across restarts).
    fn spawn(&mut self, i: usize) -> Result<(), ClusterError> {
        let root = self
            .run_dir
            .as_ref()
            .expect("run dir lives until shutdown")
            .path()
            .to_path_buf();
        // One log per server, opened once: retries and restarts append.
        let log_path = root.join(format!("{}.log", self.servers[i].name));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        if let Some((uid, gid, _)) = self.user {
            std::os::unix::fs::chown(&log_path, Some(uid), Some(gid))?;
        }
        let mut last_err = None;
        for _ in 0..5 {
            let port = if self.servers[i].port != 0 {
                self.servers[i].port
            } else {
                free_port()?
            };
            let mut cmd = self.tool("postgres");
            cmd.arg("-D")
                .arg(&self.servers[i].data)
                .arg("-p")
                .arg(port.to_string())
                .arg("-k")
                .arg(root.join("sock"))
                .stdout(log.try_clone()?)
                .stderr(log.try_clone()?);
            for (k, v) in &self.settings {
                cmd.arg("-c").arg(format!("{k}={v}"));
            }
            let mut child = cmd.spawn().map_err(|e| ClusterError::Command {
                what: "postgres".into(),
                detail: e.to_string(),
            })?;
            // A port taken between free_port() and bind shows as an early exit.
            std::thread::sleep(Duration::from_millis(30));
            match child.try_wait()? {
                None => {
                    self.servers[i].port = port;
                    self.servers[i].child = Some(child);
                    return Ok(());
                }
                Some(status) => {
                    last_err = Some(format!(
                        "{} exited at start ({status}); see {}",
                        self.servers[i].name,
                        log_path.display()
                    ));
                    if self.servers[i].port != 0 {
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            }
        }
        Err(ClusterError::Command {
            what: format!("starting the {}", self.servers[i].name),
            detail: last_err.unwrap_or_default(),
        })
    }

    async fn stop(&mut self, i: usize, kill: bool) -> Result<(), ClusterError> {
        if let Some(child) = self.servers[i].child.take() {
            stop_child(
                child,
                if kill { libc::SIGKILL } else { libc::SIGINT },
                Duration::from_secs(30),
            )
            .await;
        }
        Ok(())
    }

    /// The run directory (data, sockets, logs) and the account servers run
    /// as: where [`super::pooler`] puts its files and who runs it.
    pub(crate) fn run_dir(&self) -> Option<&Path> {
        self.run_dir.as_ref().map(|d| d.path())
    }

    pub(crate) fn account(&self) -> Option<(u32, u32)> {
        self.user.as_ref().map(|(u, g, _)| (*u, *g))
    }

    pub async fn stop_replica(&mut self, kill: bool) -> Result<(), ClusterError> {
        self.stop(1, kill).await
    }

    pub async fn start_replica(&mut self) -> Result<(), ClusterError> {
        self.spawn(1)
    }

    /// SIGKILL the primary (a failover's fence); it is not started again.
    pub async fn kill_primary(&mut self) -> Result<(), ClusterError> {
        self.stop(0, true).await
    }

    pub async fn restart_primary(&mut self) -> Result<(), ClusterError> {
        self.stop(0, false).await?;
        self.spawn(0)
    }

    pub async fn shutdown(mut self) -> Result<(), ClusterError> {
        self.stop(1, false).await?;
        self.stop(0, false).await?;
        if let Some(d) = self.run_dir.take() {
            d.close()?;
        }
        Ok(())
    }
}

impl Drop for NativeCluster {
    /// Panics, failed tests and early returns still stop the servers: an
    /// immediate shutdown (SIGQUIT), then the run directory goes.
    fn drop(&mut self) {
        for s in self.servers.iter_mut().rev() {
            if let Some(child) = s.child.take() {
                quit_now(child);
            }
        }
    }
}

/// An immediate shutdown of a postmaster from a `Drop` (no runtime to
/// await on): SIGQUIT, up to 10 s for it to exit, then SIGKILL.
pub(crate) fn quit_now(mut child: Child) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGQUIT) };
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// What running tool `name` with `args` came to: an error that names the
/// command and carries its stderr unless it exited 0. Shared with the
/// archive's tools ([`super::archive`]).
pub(crate) fn tool_result(
    name: &str,
    args: &[&str],
    out: std::io::Result<std::process::Output>,
) -> Result<(), ClusterError> {
    let out = out.map_err(|e| ClusterError::Command {
        what: name.into(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ClusterError::Command {
            what: format!("{name} {}", args.join(" ")),
            detail: format!(
                "{}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

/// Signal a postmaster and wait for it to exit, escalating to SIGKILL.
async fn stop_child(mut child: Child, signal: i32, grace: Duration) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, signal) };
    let deadline = Instant::now() + grace;
    while matches!(child.try_wait(), Ok(None)) {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if signal == libc::SIGKILL {
        // Backends notice the postmaster died and exit on their own; give
        // them a moment so a restart does not find the old shared memory.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn endpoint(port: u16, password: &str) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        user: "postgres".into(),
        password: Some(password.into()),
        database: "postgres".into(),
        params: Vec::new(),
    }
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}
