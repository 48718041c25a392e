//! The docker backend: a primary and a streaming replica as testcontainers
//! on a user-defined network of their own.
//!
//! The replica container runs `pg_basebackup -R -X stream` against the
//! primary by its container name, then `postgres`: the same steps as the
//! native backend, inside the network. The image contract is the official
//! `postgres` image's (entrypoint, `POSTGRES_*` variables,
//! `/docker-entrypoint-initdb.d`, `gosu`, server binaries on PATH), which the
//! locally built image ([`super::image`]) copies, so both images take this
//! one code path.
//!
//! Readiness is checked by connecting from the host rather than by log
//! lines: the official entrypoint's temporary init server listens on the
//! socket only, so a TCP answer means the final server, on either image and
//! after restarts where no init lines are printed at all.

use std::time::Duration;

use testcontainers::core::{ContainerPort, IntoContainerPort, Mount, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};

use super::{run_tag, ClusterConfig, ClusterError, Endpoint};

/// Added to the primary's `pg_hba.conf` at init: the official image allows
/// `all` databases from anywhere, which does not cover replication.
const HBA_SCRIPT: &str =
    "#!/bin/sh\nset -e\necho 'host replication all all scram-sha-256' >> \"$PGDATA/pg_hba.conf\"\n";

pub struct DockerCluster {
    pub primary: Endpoint,
    pub replica: Endpoint,
    primary_c: Option<ContainerAsync<GenericImage>>,
    replica_c: Option<ContainerAsync<GenericImage>>,
    /// The servers' data directories, bind-mounted (see [`DATA`]); dropped
    /// after the containers, and swept by the janitor if this process dies.
    run_dir: Option<tempfile::TempDir>,
    /// The run's tag: its network's name, and its containers' names are
    /// `<tag>-primary` and `<tag>-replica` ([`super::pooler`] reaches them so).
    pub(crate) tag: String,
}

/// Where PostgreSQL keeps its data inside the containers. Both data
/// directories are bind mounts of host directories under a run directory
/// named like the native backend's (`/tmp/harness-<pid>-<n>-...`): Docker's
/// storage driver may be `fuse-overlayfs` (it is on this project's machines),
/// where every page PostgreSQL reads or writes passes through a userland
/// FUSE daemon. Under a load run that daemon took more CPU than the servers'
/// own processes; a bind mount is the host's file system, as the official
/// image's `VOLUME` would be.
const DATA: &str = "/var/lib/postgresql/data";

pub(crate) fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

fn derr(what: &str) -> impl FnOnce(testcontainers::TestcontainersError) -> ClusterError + '_ {
    move |e| ClusterError::Docker(format!("{what}: {e}"))
}

impl DockerCluster {
    pub async fn start(cfg: &ClusterConfig, image: &str) -> Result<DockerCluster, ClusterError> {
        let tag = run_tag();
        let net = tag.clone();
        let password = uuid::Uuid::new_v4().simple().to_string();
        let (name, version) = split_image(image);
        let pid = std::process::id().to_string();
        let pg_port: ContainerPort = 5432.tcp();
        let run_dir = tempfile::Builder::new()
            .prefix(&format!("{tag}-docker-"))
            .tempdir()?;
        let data_dir = |server: &str| -> Result<String, ClusterError> {
            let d = run_dir.path().join(server);
            std::fs::create_dir(&d)?;
            Ok(d.to_string_lossy().into_owned())
        };
        let (primary_data, replica_data) = (data_dir("primary")?, data_dir("replica")?);
        let timeout = Duration::from_secs(cfg.start_timeout_secs.max(30));

        let mut args: Vec<String> = vec!["postgres".into()];
        for (k, v) in cfg.server_settings() {
            args.push("-c".into());
            args.push(format!("{k}={v}"));
        }
        let primary_name = format!("{tag}-primary");
        let primary_c = GenericImage::new(name.clone(), version.clone())
            .with_exposed_port(pg_port)
            .with_wait_for(WaitFor::Nothing)
            .with_network(net.clone())
            .with_mount(Mount::bind_mount(primary_data, DATA))
            .with_container_name(primary_name.clone())
            .with_label("harness.owner_pid", pid.clone())
            .with_env_var("POSTGRES_PASSWORD", password.clone())
            .with_env_var("POSTGRES_USER", "postgres")
            .with_env_var("POSTGRES_DB", "postgres")
            // Throwaway clusters: fsyncing every file initdb writes costs
            // seconds on overlay file systems and protects nothing.
            .with_env_var("POSTGRES_INITDB_ARGS", "--no-sync")
            .with_copy_to(
                "/docker-entrypoint-initdb.d/10-replication.sh",
                HBA_SCRIPT.as_bytes().to_vec(),
            )
            .with_cmd(args.clone())
            .with_startup_timeout(timeout)
            .start()
            .await
            .map_err(derr("starting the primary container"))?;
        let mut me = DockerCluster {
            primary: endpoint(&primary_c, &password).await?,
            replica: Endpoint {
                host: "127.0.0.1".into(),
                port: 0,
                user: "postgres".into(),
                password: Some(password.clone()),
                database: "postgres".into(),
                params: Vec::new(),
            },
            primary_c: Some(primary_c),
            replica_c: None,
            run_dir: Some(run_dir),
            tag: tag.clone(),
        };
        super::wait_accepting(&me.primary, timeout).await?;

        // Idempotent, so a restarted replica container streams again instead
        // of failing on a non-empty data directory.
        let server = args
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let script = format!(
            "set -e\n\
             if [ ! -s \"$PGDATA/PG_VERSION\" ]; then\n\
               mkdir -p \"$PGDATA\" && chown postgres:postgres \"$PGDATA\" && chmod 700 \"$PGDATA\"\n\
               until pg_isready -q -h {primary_name} -U postgres; do sleep 0.1; done\n\
               gosu postgres pg_basebackup -h {primary_name} -U postgres -D \"$PGDATA\" -R -X stream -c fast --no-sync\n\
             fi\n\
             exec gosu postgres {server}\n"
        );
        let replica_c = GenericImage::new(name, version)
            .with_exposed_port(pg_port)
            .with_wait_for(WaitFor::Nothing)
            .with_network(net)
            .with_mount(Mount::bind_mount(replica_data, DATA))
            .with_container_name(format!("{tag}-replica"))
            .with_label("harness.owner_pid", pid)
            .with_env_var("PGPASSWORD", password.clone())
            .with_cmd(["bash".to_string(), "-c".to_string(), script])
            .with_startup_timeout(timeout)
            .start()
            .await
            .map_err(derr("starting the replica container"))?;
        me.replica = endpoint(&replica_c, &password).await?;
        me.replica_c = Some(replica_c);
        Ok(me)
    }

    pub async fn stop_replica(&mut self, kill: bool) -> Result<(), ClusterError> {
        let c = self
            .replica_c
            .as_ref()
            .expect("replica container lives until shutdown");
        stop_container(c, if kill { "KILL" } else { "INT" }).await
    }

    pub async fn start_replica(&mut self) -> Result<(), ClusterError> {
        let c = self
            .replica_c
            .as_ref()
            .expect("replica container lives until shutdown");
        c.start().await.map_err(derr("starting the replica"))?;
        // Docker may publish a new host port after a restart.
        let pw = self.replica.password.clone().unwrap_or_default();
        self.replica = endpoint(c, &pw).await?;
        Ok(())
    }

    /// SIGKILL the primary's postmaster (a failover's fence).
    pub async fn kill_primary(&mut self) -> Result<(), ClusterError> {
        let c = self
            .primary_c
            .as_ref()
            .expect("primary container lives until shutdown");
        stop_container(c, "KILL").await
    }

    pub async fn restart_primary(&mut self) -> Result<(), ClusterError> {
        let c = self
            .primary_c
            .as_ref()
            .expect("primary container lives until shutdown");
        stop_container(c, "INT").await?;
        c.start().await.map_err(derr("starting the primary"))?;
        let pw = self.primary.password.clone().unwrap_or_default();
        self.primary = endpoint(c, &pw).await?;
        Ok(())
    }

    pub async fn shutdown(mut self) -> Result<(), ClusterError> {
        // Replica first, so the primary never waits on a walsender.
        if let Some(c) = self.replica_c.take() {
            c.rm().await.map_err(derr("removing the replica"))?;
        }
        if let Some(c) = self.primary_c.take() {
            c.rm().await.map_err(derr("removing the primary"))?;
        }
        drop(self.run_dir.take());
        Ok(())
    }
}

/// Stop a container by signalling its postmaster: INT is PostgreSQL's fast
/// shutdown (docker's default SIGTERM is a smart shutdown that waits for
/// clients), KILL is a crash. Imported images cannot carry a STOPSIGNAL, so
/// the signal is sent explicitly for both images.
async fn stop_container(
    c: &ContainerAsync<GenericImage>,
    signal: &str,
) -> Result<(), ClusterError> {
    super::image::docker_cli(&["kill", "--signal", signal, c.id()])?;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while c
        .is_running()
        .await
        .map_err(derr("inspecting a container"))?
    {
        if std::time::Instant::now() > deadline {
            c.stop().await.map_err(derr("stopping a container"))?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// How the host reaches a container's server: at the container's own
/// address on the run's network when the host has a route to it (a local
/// Linux engine), else at the port Docker publishes on 127.0.0.1.
///
/// The published port goes through `docker-proxy`, a userland process that
/// copies every byte twice. Under a load run that is one more process per
/// round trip competing for the same two cores as both servers and the
/// generator; the direct address costs nothing. A connect that is refused
/// proves the route (the container's kernel answered) even before the
/// server listens; a timeout or "unreachable" means no route (Docker
/// Desktop, a remote engine), and the published port is used.
pub(crate) async fn endpoint(
    c: &ContainerAsync<GenericImage>,
    password: &str,
) -> Result<Endpoint, ClusterError> {
    let mut host = "127.0.0.1".to_string();
    let mut port = c
        .get_host_port_ipv4(5432.tcp())
        .await
        .map_err(derr("reading the published port"))?;
    if std::env::var("HARNESS_DOCKER_VIA").as_deref() != Ok("port") {
        if let Ok(ip) = c.get_bridge_ip_address().await {
            if routable(ip).await {
                host = ip.to_string();
                port = 5432;
            }
        }
    }
    Ok(Endpoint {
        host,
        port,
        user: "postgres".into(),
        password: Some(password.to_string()),
        database: "postgres".into(),
        params: Vec::new(),
    })
}

async fn routable(ip: std::net::IpAddr) -> bool {
    let addr = std::net::SocketAddr::new(ip, 5432);
    match tokio::time::timeout(
        Duration::from_millis(500),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::ConnectionRefused,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_image_names() {
        assert_eq!(
            super::split_image("postgres:15"),
            ("postgres".into(), "15".into())
        );
        assert_eq!(
            super::split_image("harness/postgres:15-bookworm"),
            ("harness/postgres".into(), "15-bookworm".into())
        );
        assert_eq!(
            super::split_image("localhost:5000/pg"),
            ("localhost:5000/pg".into(), "latest".into())
        );
    }
}
