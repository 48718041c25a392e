//! A connection pooler in front of the cluster: PgBouncer (Debian's
//! package, 1.18 on bookworm) in transaction pool mode, one instance per
//! server, started with the cluster and stopped with it.
//!
//! Why it is here: real deployments of the apps this harness checks reach
//! PostgreSQL through PgBouncer in transaction mode, where one server
//! connection serves many clients in turn. Anything a client leaves on the
//! session (a session-level `SET` of the tenant, a named prepared
//! statement) reaches the next client. The harness must be able to run its
//! loads and its proofs through one to show that the app's way of setting
//! the tenant survives it (docs/pooling.md).
//!
//! Shape, and why:
//! - **One instance per server** (primary, replica) rather than one
//!   instance with a database entry per server: each instance has a single
//!   `*` entry that forwards any database name to its server, so databases
//!   created after PgBouncer starts (every load database is) need no
//!   reload, and a pooled URL differs from the direct one only in host and
//!   port.
//! - **Authentication by `auth_query`**: PgBouncer logs in as the superuser
//!   (the only entry of its auth file) and reads a client role's SCRAM
//!   secret from `pg_shadow` when the client connects, then uses the
//!   client's own SCRAM exchange to log in to the server as that role. App
//!   roles are created and given passwords by the app's migrations and
//!   [`crate::rls::roles::login`] long after PgBouncer started; a static
//!   auth file would not know them.
//! - **Native**: `pgbouncer` runs as the account the servers run as, from an
//!   ini file in the cluster's run directory, in the foreground as a child
//!   of the harness (like the postmasters), with a pid file there so the
//!   [`super::janitor`] can stop it when the harness died.
//! - **Docker**: one container per instance on the cluster's network, from
//!   the same image as the servers (the locally built image carries the
//!   `pgbouncer` package), reaching its server by container name; labelled
//!   with the owner's pid like the servers, so the janitor's container
//!   sweep removes it too.
//!
//! What a client must not do through it (PgBouncer 1.18 forwards the
//! extended protocol as it comes): use named prepared statements (sqlx's
//! default: `sqlx_s_1` made by one client exists on a server connection
//! another client gets), or send a bound query outside a transaction (its
//! `Parse` and its `Bind` may reach different server connections). The load
//! transport therefore sends unnamed statements, inside `BEGIN .. COMMIT`,
//! and control connections stay direct.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::{free_port, ClusterError, Endpoint};

/// Which pooler runs in front of the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum PoolerKind {
    /// Clients connect to the servers directly.
    #[default]
    None,
    /// PgBouncer in transaction pool mode, one instance per server.
    Pgbouncer,
}

impl PoolerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PoolerKind::None => "none",
            PoolerKind::Pgbouncer => "pgbouncer",
        }
    }
}

/// Server connections per (database, role) pair: as many as the load's
/// default pools hold, so a default pooled run queues nowhere the direct
/// run does not.
pub const DEFAULT_POOL_SIZE: u32 = 40;
/// Client connections one instance accepts. Far above the load's pools
/// (40 + 40 by default), below the project machines' file descriptor limit
/// (20,000) with the server connections added.
pub const DEFAULT_MAX_CLIENTS: u32 = 2000;

/// What the ini file says beyond where to listen and forward.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub pool_size: u32,
    pub max_clients: u32,
}

/// Where one instance listens, forwards and writes.
struct Layout<'a> {
    listen: (&'a str, u16),
    server: (&'a str, u16),
    superuser: &'a str,
    auth_file: &'a str,
    /// Native only: the pid file the janitor reads.
    pidfile: Option<&'a str>,
}

/// The ini file of one instance.
fn ini(l: &Layout, limits: Limits) -> String {
    format!(
        "; Written by the harness for one run (docs/pooling.md).\n\
         [databases]\n\
         * = host={server_host} port={server_port}\n\
         \n\
         [pgbouncer]\n\
         listen_addr = {listen_host}\n\
         listen_port = {listen_port}\n\
         unix_socket_dir =\n\
         pool_mode = transaction\n\
         default_pool_size = {pool}\n\
         min_pool_size = 0\n\
         reserve_pool_size = 0\n\
         max_client_conn = {clients}\n\
         auth_type = scram-sha-256\n\
         auth_file = {auth_file}\n\
         auth_user = {su}\n\
         auth_query = SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1\n\
         admin_users = {su}\n\
         ; sqlx sends it at startup; PgBouncer would refuse the login.\n\
         ignore_startup_parameters = extra_float_digits\n\
         log_connections = 0\n\
         log_disconnections = 0\n\
         pidfile = {pidfile}\n",
        server_host = l.server.0,
        server_port = l.server.1,
        listen_host = l.listen.0,
        listen_port = l.listen.1,
        pool = limits.pool_size,
        clients = limits.max_clients,
        auth_file = l.auth_file,
        su = l.superuser,
        pidfile = l.pidfile.unwrap_or(""),
    )
}

/// The auth file: the superuser alone (auth_query finds everyone else).
fn auth_file(superuser: &Endpoint) -> String {
    let q = |s: &str| s.replace('"', "\"\"");
    format!(
        "\"{}\" \"{}\"\n",
        q(&superuser.user),
        q(superuser.password.as_deref().unwrap_or(""))
    )
}

enum Instance {
    Native {
        name: &'static str,
        child: Option<Child>,
    },
    // Boxed: a container handle is hundreds of bytes, a child a few dozen.
    Docker(Box<ContainerAsync<GenericImage>>),
}

/// The running PgBouncer instances and the endpoints clients use.
pub struct PgBouncer {
    /// The primary through PgBouncer (superuser, database `postgres`, like
    /// the direct endpoint; `with_user`/`with_database` as usual).
    pub primary: Endpoint,
    /// The replica through PgBouncer.
    pub replica: Option<Endpoint>,
    /// `PgBouncer 1.18.0`, as `SHOW VERSION` answers.
    pub version: String,
    pub limits: Limits,
    instances: Vec<Instance>,
}

impl PgBouncer {
    /// One line for reports: what pooled, in which mode, with what limits.
    pub fn describe(&self) -> String {
        format!(
            "{}, pool_mode=transaction, default_pool_size={}, max_client_conn={}",
            self.version, self.limits.pool_size, self.limits.max_clients
        )
    }

    /// Start one instance per server, natively, with its files in `dir`,
    /// run as `account` (uid, gid) when the harness is root.
    pub async fn start_native(
        dir: &Path,
        account: Option<(u32, u32)>,
        servers: &[(&'static str, &Endpoint)],
        limits: Limits,
        timeout: Duration,
    ) -> Result<PgBouncer, ClusterError> {
        let binary = find_binary()?;
        let superuser = servers
            .first()
            .map(|(_, e)| (*e).clone())
            .ok_or_else(|| ClusterError::Config("a pooler needs a server".into()))?;
        let auth = dir.join("pgbouncer-users.txt");
        write_private(&auth, &auth_file(&superuser), account)?;
        let mut me = PgBouncer {
            primary: superuser.clone(),
            replica: None,
            version: String::new(),
            limits,
            instances: Vec::new(),
        };
        for (name, server) in servers {
            let (child, port) = spawn_native(&binary, dir, account, name, server, &auth, limits)?;
            me.instances.push(Instance::Native {
                name,
                child: Some(child),
            });
            let pooled = Endpoint {
                host: "127.0.0.1".into(),
                port,
                ..(*server).clone()
            };
            wait_pooled(&pooled, timeout, || me.native_exited(name, dir)).await?;
            me.set(name, pooled);
        }
        me.version = version(&me.primary).await;
        Ok(me)
    }

    /// Start one container per server on the docker cluster's network
    /// `net`, from `image`. `servers` are (name, container name, the
    /// server's endpoint for its password).
    pub async fn start_docker(
        image: &str,
        net: &str,
        servers: &[(&'static str, String, &Endpoint)],
        limits: Limits,
        timeout: Duration,
    ) -> Result<PgBouncer, ClusterError> {
        let superuser = servers
            .first()
            .map(|(_, _, e)| (*e).clone())
            .ok_or_else(|| ClusterError::Config("a pooler needs a server".into()))?;
        let (name, tag) = super::docker::split_image(image);
        let mut me = PgBouncer {
            primary: superuser.clone(),
            replica: None,
            version: String::new(),
            limits,
            instances: Vec::new(),
        };
        for (server, container, ep) in servers {
            let conf = ini(
                &Layout {
                    listen: ("0.0.0.0", 5432),
                    server: (container, 5432),
                    superuser: &superuser.user,
                    auth_file: "/etc/pgbouncer/harness-users.txt",
                    pidfile: None,
                },
                limits,
            );
            let started = GenericImage::new(name.clone(), tag.clone())
                .with_exposed_port(5432.tcp())
                .with_wait_for(WaitFor::Nothing)
                .with_network(net.to_string())
                .with_container_name(format!("{container}-pgbouncer"))
                .with_label("harness.owner_pid", std::process::id().to_string())
                .with_copy_to("/etc/pgbouncer/harness.ini", conf.into_bytes())
                .with_copy_to(
                    "/etc/pgbouncer/harness-users.txt",
                    auth_file(&superuser).into_bytes(),
                )
                .with_cmd([
                    "sh",
                    "-c",
                    "command -v pgbouncer >/dev/null || { echo 'no pgbouncer in this image' >&2; exit 127; }; exec gosu postgres pgbouncer /etc/pgbouncer/harness.ini",
                ])
                .with_startup_timeout(timeout)
                .start()
                .await
                .map_err(|e| {
                    ClusterError::Docker(format!("starting the {server}'s PgBouncer container: {e}"))
                })?;
            let id = started.id().to_string();
            // A container that exited at once (no pgbouncer in the image)
            // publishes no port: say why rather than that.
            let pooled =
                match super::docker::endpoint(&started, ep.password.as_deref().unwrap_or("")).await
                {
                    Ok(p) => p,
                    Err(e) => {
                        return Err(container_exited(&id, image)
                            .map(|why| ClusterError::Command {
                                what: "PgBouncer".into(),
                                detail: why,
                            })
                            .unwrap_or(e))
                    }
                };
            me.instances.push(Instance::Docker(Box::new(started)));
            let pooled = Endpoint {
                user: ep.user.clone(),
                database: ep.database.clone(),
                ..pooled
            };
            wait_pooled(&pooled, timeout, || container_exited(&id, image)).await?;
            me.set(server, pooled);
        }
        me.version = version(&me.primary).await;
        Ok(me)
    }

    fn set(&mut self, server: &str, pooled: Endpoint) {
        if server == "primary" {
            self.primary = pooled;
        } else {
            self.replica = Some(pooled);
        }
    }

    /// Why a native instance is gone, if it is.
    fn native_exited(&mut self, which: &str, dir: &Path) -> Option<String> {
        for i in &mut self.instances {
            if let Instance::Native {
                name,
                child: Some(c),
            } = i
            {
                if *name == which {
                    if let Ok(Some(status)) = c.try_wait() {
                        return Some(format!(
                            "pgbouncer for the {which} exited ({status}); see {}",
                            dir.join(format!("pgbouncer-{which}.log")).display()
                        ));
                    }
                }
            }
        }
        None
    }

    /// SIGTERM to every native instance at once (each takes about a
    /// second to act on it, so they are not stopped one after the other).
    fn signal_native(&self) {
        for i in &self.instances {
            if let Instance::Native { child: Some(c), .. } = i {
                // SAFETY: signalling our own child by pid.
                unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            }
        }
    }

    /// Transactions and queries the instances served for `database` since
    /// they started, summed (`SHOW STATS` on each admin console).
    pub async fn served(&self, database: &str) -> Result<(i64, i64), ClusterError> {
        use sqlx::Row;
        let sql = |e: sqlx::Error| ClusterError::Sql {
            role: "pooler",
            source: e,
        };
        let (mut xacts, mut queries) = (0, 0);
        for ep in std::iter::once(&self.primary).chain(self.replica.as_ref()) {
            let mut c = ep.with_database("pgbouncer").connect().await?;
            for row in sqlx::raw_sql("SHOW STATS")
                .fetch_all(&mut c)
                .await
                .map_err(sql)?
            {
                // The counters come as NUMERIC in text form (simple
                // protocol): read the text and parse it.
                let count = |col: &str| -> Result<i64, ClusterError> {
                    let text: String = row.try_get_unchecked(col).map_err(sql)?;
                    text.parse().map_err(|_| {
                        ClusterError::Config(format!("SHOW STATS {col}: {text:?} is not a count"))
                    })
                };
                if row.try_get::<String, _>("database").map_err(sql)? == database {
                    xacts += count("total_xact_count")?;
                    queries += count("total_query_count")?;
                }
            }
        }
        Ok((xacts, queries))
    }

    /// CPU seconds the native instances used so far (user + system, from
    /// `/proc`); None on docker. PgBouncer is one process per instance, so
    /// this says how close it came to one core.
    pub fn cpu_secs(&self) -> Option<f64> {
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let mut total = 0.0;
        let mut any = false;
        for i in &self.instances {
            let Instance::Native { child: Some(c), .. } = i else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{}/stat", c.id())).ok()?;
            // Fields after "pid (comm) ": state is the 1st, utime the 12th.
            let rest = stat.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let (u, s) = (
                f.get(11)?.parse::<f64>().ok()?,
                f.get(12)?.parse::<f64>().ok()?,
            );
            total += (u + s) / ticks;
            any = true;
        }
        any.then_some(total)
    }

    /// [`Self::served`] as a line for a run's notes.
    pub async fn served_note(&self, database: &str) -> String {
        let cpu = self
            .cpu_secs()
            .map(|c| format!("; its processes used {c:.1} s of CPU in all"))
            .unwrap_or_default();
        match self.served(database).await {
            Ok((x, q)) => format!(
                "PgBouncer served {x} transactions ({q} queries) on database {database} (SHOW STATS, primary and replica instances){cpu}"
            ),
            Err(e) => format!("PgBouncer's SHOW STATS could not be read: {e}"),
        }
    }

    /// Stop every instance; errors are reported, not swallowed.
    pub async fn shutdown(mut self) -> Result<(), ClusterError> {
        self.signal_native();
        for i in std::mem::take(&mut self.instances) {
            match i {
                Instance::Native { mut child, .. } => {
                    if let Some(c) = child.take() {
                        reap(c).await;
                    }
                }
                Instance::Docker(c) => c
                    .rm()
                    .await
                    .map_err(|e| ClusterError::Docker(format!("removing a PgBouncer: {e}")))?,
            }
        }
        Ok(())
    }
}

impl Drop for PgBouncer {
    /// Panics and Ctrl-C still stop the instances: SIGTERM (PgBouncer
    /// 1.18's immediate shutdown), then SIGKILL. Containers are removed by
    /// their own `Drop`.
    fn drop(&mut self) {
        self.signal_native();
        let deadline = Instant::now() + Duration::from_secs(5);
        for i in &mut self.instances {
            if let Instance::Native { child, .. } = i {
                if let Some(mut c) = child.take() {
                    while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
    }
}

/// `pgbouncer` on PATH or where Debian puts it.
fn find_binary() -> Result<PathBuf, ClusterError> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.into_iter()
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            ClusterError::NoBackend(
                "--pooler pgbouncer: no `pgbouncer` binary on PATH or in /usr/sbin; install it (`apt-get install pgbouncer`, or `just setup`)".into(),
            )
        })
}

/// Write a file only its owner (the servers' account) may read.
fn write_private(path: &Path, text: &str, account: Option<(u32, u32)>) -> Result<(), ClusterError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    if let Some((uid, gid)) = account {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// Start the instance for `server` on a free port (retrying when another
/// process took the port first); its ini file, log and pid file go in `dir`.
fn spawn_native(
    binary: &Path,
    dir: &Path,
    account: Option<(u32, u32)>,
    name: &str,
    server: &Endpoint,
    auth: &Path,
    limits: Limits,
) -> Result<(Child, u16), ClusterError> {
    let conf_path = dir.join(format!("pgbouncer-{name}.ini"));
    let pid_path = dir.join(format!("pgbouncer-{name}.pid"));
    let log_path = dir.join(format!("pgbouncer-{name}.log"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let conf = ini(
            &Layout {
                listen: ("127.0.0.1", port),
                server: (&server.host, server.port),
                superuser: &server.user,
                auth_file: &auth.to_string_lossy(),
                pidfile: Some(&pid_path.to_string_lossy()),
            },
            limits,
        );
        write_private(&conf_path, &conf, account)?;
        let mut cmd = Command::new(binary);
        cmd.arg(&conf_path)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log.try_clone()?);
        raise_fd_limit(&mut cmd);
        if let Some((uid, gid)) = account {
            super::native::run_as(&mut cmd, uid, gid);
        }
        let mut child = cmd.spawn().map_err(|e| ClusterError::Command {
            what: format!("{} {}", binary.display(), conf_path.display()),
            detail: e.to_string(),
        })?;
        // A port taken between free_port() and bind shows as an early exit.
        std::thread::sleep(Duration::from_millis(50));
        match child.try_wait()? {
            None => return Ok((child, port)),
            Some(status) => {
                last = format!(
                    "pgbouncer for the {name} exited at start ({status}); see {}",
                    log_path.display()
                )
            }
        }
    }
    Err(ClusterError::Command {
        what: format!("starting PgBouncer for the {name}"),
        detail: last,
    })
}

/// Let the child use every file descriptor the hard limit allows: each
/// client connection is one, and `max_client_conn` is well above the
/// usual soft limit of 1,024.
fn raise_fd_limit(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: getrlimit/setrlimit are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
                l.rlim_cur = l.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            }
            Ok(())
        });
    }
}

/// Poll until `pooled` answers a query through PgBouncer (which also
/// proves auth_query works: the superuser logs in through it). `gone`
/// says why the instance died, if it did, so a dead one fails at once.
async fn wait_pooled(
    pooled: &Endpoint,
    timeout: Duration,
    mut gone: impl FnMut() -> Option<String>,
) -> Result<(), ClusterError> {
    let deadline = Instant::now() + timeout;
    loop {
        let err = match answer(pooled, "select 1").await {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if let Some(why) = gone() {
            return Err(ClusterError::Command {
                what: "PgBouncer".into(),
                detail: why,
            });
        }
        if Instant::now() > deadline {
            return Err(ClusterError::Timeout(
                timeout,
                format!(
                    "PgBouncer on {}:{} to answer (last error: {err})",
                    pooled.host, pooled.port
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The first column of the first row of `sql`, sent as a simple query (the
/// only safe form outside a transaction through PgBouncer, see the module
/// doc).
pub async fn answer(ep: &Endpoint, sql: &'static str) -> Result<String, ClusterError> {
    use sqlx::Row;
    let mut c = ep.connect().await?;
    let row = sqlx::raw_sql(sql)
        .fetch_one(&mut c)
        .await
        .map_err(|source| ClusterError::Sql {
            role: "pooler",
            source,
        })?;
    row.try_get::<String, _>(0)
        .or_else(|_| row.try_get::<i32, _>(0).map(|i| i.to_string()))
        .map_err(|source| ClusterError::Sql {
            role: "pooler",
            source,
        })
}

/// `SHOW VERSION` on the admin console (the `pgbouncer` database).
async fn version(pooled: &Endpoint) -> String {
    answer(&pooled.with_database("pgbouncer"), "SHOW VERSION")
        .await
        .unwrap_or_else(|_| "PgBouncer (version unknown)".into())
}

/// Why a PgBouncer container is gone, if it is: its exit and last log lines.
fn container_exited(id: &str, image: &str) -> Option<String> {
    let running = super::image::docker_cli(&["inspect", "--format", "{{.State.Running}}", id])
        .map(|s| s.trim() == "true")
        .unwrap_or(false);
    if running {
        return None;
    }
    // `docker logs` writes the container's stderr to its own stderr,
    // which docker_cli does not return: ask for the exit code instead.
    let code = super::image::docker_cli(&["inspect", "--format", "{{.State.ExitCode}}", id])
        .map(|c| c.trim().to_string())
        .unwrap_or_default();
    let logs = match code.as_str() {
        "127" => "exit 127: no pgbouncer in the image".to_string(),
        c => format!("exit {c}; see `docker logs {id}`"),
    };
    Some(format!(
        "the PgBouncer container stopped: {}\n  hint: the image {image} must carry the `pgbouncer` package; the official postgres image does not. Build the local one (`harness image --force`) and pass --image {}, or use --backend native",
        logs.trim(),
        super::image::LOCAL_IMAGE
    ))
}

/// Wait for a signalled instance to exit; SIGKILL after 5 s.
async fn reap(mut c: Child) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(c.try_wait(), Ok(None)) {
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The janitor's part: stop the PgBouncer instances a dead harness left in
/// its run directory `dir` (their pid files), checking that each pid is a
/// `pgbouncer` still, since pids are reused.
pub(crate) fn sweep_orphans(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("pgbouncer-") && name.ends_with(".pid")) {
            continue;
        }
        let Some(pid) = std::fs::read_to_string(e.path())
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "pgbouncer" {
            continue;
        }
        tracing::warn!(dir = %dir.display(), pid, "stopping an orphaned pgbouncer");
        // SAFETY: signalling a pid that a dead run's pid file names and
        // that is a pgbouncer process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if Path::new(&format!("/proc/{pid}")).exists() {
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_forwards_every_database_in_transaction_mode() {
        let text = ini(
            &Layout {
                listen: ("127.0.0.1", 6432),
                server: ("127.0.0.1", 5433),
                superuser: "postgres",
                auth_file: "/run/x/users.txt",
                pidfile: Some("/run/x/p.pid"),
            },
            Limits {
                pool_size: 3,
                max_clients: 500,
            },
        );
        for line in [
            "* = host=127.0.0.1 port=5433",
            "listen_port = 6432",
            "pool_mode = transaction",
            "default_pool_size = 3",
            "max_client_conn = 500",
            "auth_user = postgres",
            "pidfile = /run/x/p.pid",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn auth_file_quotes_like_pgbouncer() {
        let ep = Endpoint::parse("postgres://postgres:pa\"ss@h:1/d").unwrap();
        assert_eq!(auth_file(&ep), "\"postgres\" \"pa\"\"ss\"\n");
    }
}
