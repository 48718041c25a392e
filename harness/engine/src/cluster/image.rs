//! Finding, and where no registry answers, building a PostgreSQL image.
//!
//! Where a registry is reachable the official `postgres` image is used as
//! is. This project's machines have a Docker engine and no registry, so
//! [`build_local_image`] makes one from Debian's packages: a minimal root
//! file system by `debootstrap` from the mirror apt already uses, with
//! `postgresql-XX` and `gosu`, our own entrypoint that keeps the official
//! image's contract, imported with `docker import`. One docker code path then
//! serves both images.
//!
//! Engine and image checks shell out to the `docker` CLI: they are one-shot
//! questions asked before any container exists, and the CLI honours the same
//! `DOCKER_HOST` and contexts the user's own commands do.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ClusterError;

/// The official image used where it is present or can be pulled.
pub const OFFICIAL_IMAGE: &str = "postgres:15";
/// The image `just image` builds from Debian's packages.
pub const LOCAL_IMAGE: &str = "harness/postgres:15-bookworm";
pub const PULL_HINT: &str = "(no registry answered for postgres:15)";

/// What the locally built image carries, as a label on it: `harness image`
/// rebuilds an image whose label differs (one built before `pgbouncer` was
/// added cannot run `--pooler pgbouncer`).
pub const LOCAL_IMAGE_CONTENTS: &str = "postgresql,pgbouncer,gosu";
const CONTENTS_LABEL: &str = "harness.image.contents";

const ENTRYPOINT: &str = include_str!("../../../assets/docker-entrypoint.sh");

/// Run `docker ARGS`, returning stdout, or an error with its stderr.
pub fn docker_cli(args: &[&str]) -> Result<String, ClusterError> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            ClusterError::Docker(format!(
                "cannot run `docker`: {e}; install Docker or use --backend native"
            ))
        })?;
    if !out.status.success() {
        return Err(ClusterError::Docker(format!(
            "`docker {}`: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a Docker engine answers (within a few seconds).
pub fn docker_answers() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        let Ok(mut child) = Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match child.try_wait() {
                Ok(Some(s)) => return s.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
    })
}

pub fn image_present(image: &str) -> bool {
    docker_cli(&["image", "inspect", "--format", "{{.Id}}", image]).is_ok()
}

/// Whether `image` is a locally built image with today's contents
/// ([`LOCAL_IMAGE_CONTENTS`]).
pub fn image_current(image: &str) -> bool {
    docker_cli(&[
        "image",
        "inspect",
        "--format",
        &format!("{{{{index .Config.Labels \"{CONTENTS_LABEL}\"}}}}"),
        image,
    ])
    .is_ok_and(|l| l.trim() == LOCAL_IMAGE_CONTENTS)
}

/// The image to use when none was given: the official one if present or
/// pullable, else the locally built one, else None.
pub fn pick_image() -> Result<Option<String>, ClusterError> {
    static PICK: OnceLock<Option<String>> = OnceLock::new();
    if let Ok(i) = std::env::var("HARNESS_IMAGE") {
        return Ok(Some(i));
    }
    Ok(PICK
        .get_or_init(|| {
            if image_present(OFFICIAL_IMAGE) {
                return Some(OFFICIAL_IMAGE.to_string());
            }
            if image_present(LOCAL_IMAGE) {
                return Some(LOCAL_IMAGE.to_string());
            }
            docker_cli(&["pull", "-q", OFFICIAL_IMAGE])
                .ok()
                .map(|_| OFFICIAL_IMAGE.to_string())
        })
        .clone())
}

/// The Debian mirror and suite apt already uses, read from apt's own
/// sources (deb822 `.sources` files and one-line `sources.list`).
pub fn apt_mirror() -> Result<(String, String), ClusterError> {
    let suite = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VERSION_CODENAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "bookworm".into());
    let mut files: Vec<PathBuf> = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut v: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        v.sort();
        files.extend(v);
    }
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(m) = mirror_in(&text, &suite) {
            return Ok((m, suite));
        }
    }
    Err(ClusterError::Config(format!(
        "no Debian mirror for {suite} found in apt's sources (/etc/apt/sources.list, /etc/apt/sources.list.d); set HARNESS_DEBIAN_MIRROR"
    )))
}

/// The first mirror in one apt sources file that serves `suite` itself
/// (not `-security` or `-updates`).
fn mirror_in(text: &str, suite: &str) -> Option<String> {
    // One-line format: `deb [opts] URL SUITE COMPONENTS`.
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("deb ") {
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with('[') && !w.ends_with(']'))
                .collect();
            if words.len() >= 2 && words[1] == suite && words[0].contains("debian") {
                return Some(words[0].to_string());
            }
        }
    }
    // deb822: paragraphs with `URIs:` and `Suites:`.
    for para in text.split("\n\n") {
        let field = |name: &str| {
            para.lines()
                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
        };
        let (Some(uris), Some(suites)) = (field("URIs:"), field("Suites:")) else {
            continue;
        };
        if field("Types:").is_some_and(|t| !t.split_whitespace().any(|w| w == "deb")) {
            continue;
        }
        if suites.split_whitespace().any(|s| s == suite) {
            if let Some(u) = uris.split_whitespace().find(|u| u.contains("debian")) {
                return Some(u.to_string());
            }
        }
    }
    None
}

/// Build [`LOCAL_IMAGE`] (or `tag`) from Debian's packages. Needs root and
/// `debootstrap`; prints what it does, since it takes about a minute.
pub fn build_local_image(tag: &str, pg_major: u32) -> Result<(), ClusterError> {
    if !docker_answers() {
        return Err(ClusterError::Docker(
            "no Docker engine answers; start it (or use --backend native)".into(),
        ));
    }
    let (mirror, suite) = match std::env::var("HARNESS_DEBIAN_MIRROR") {
        Ok(m) => (
            m,
            apt_mirror()
                .map(|(_, s)| s)
                .unwrap_or_else(|_| "bookworm".into()),
        ),
        Err(_) => apt_mirror()?,
    };
    if Command::new("debootstrap")
        .arg("--version")
        .output()
        .is_err()
    {
        return Err(ClusterError::Command {
            what: "debootstrap".into(),
            detail: "not installed; `apt-get install -y debootstrap` (the justfile's `image` recipe does this)".into(),
        });
    }
    let work = tempfile::Builder::new()
        .prefix("harness-image-")
        .tempdir()?;
    let rootfs = work.path().join("rootfs");
    let t0 = Instant::now();
    eprintln!(
        "image: debootstrap {suite} from {mirror} (postgresql-{pg_major}, pgbouncer, gosu) ..."
    );
    // pgbouncer: the `--pooler pgbouncer` containers run this same image.
    let status = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            &format!("--include=postgresql-{pg_major},pgbouncer,gosu,ca-certificates"),
            &suite,
        ])
        .arg(&rootfs)
        .arg(&mirror)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(ClusterError::Command {
            what: "debootstrap".into(),
            detail: format!("{status}; see the output above"),
        });
    }
    eprintln!(
        "image: root file system ready in {:.1}s; trimming",
        t0.elapsed().as_secs_f64()
    );
    trim_rootfs(&rootfs, pg_major)?;
    let bin = format!("/usr/lib/postgresql/{pg_major}/bin");
    let changes = [
        format!("ENV PATH={bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        "ENV PGDATA=/var/lib/postgresql/data".into(),
        format!("ENV PG_MAJOR={pg_major}"),
        "ENV LANG=C.UTF-8".into(),
        "ENTRYPOINT [\"docker-entrypoint.sh\"]".into(),
        "CMD [\"postgres\"]".into(),
        "EXPOSE 5432".into(),
        format!("LABEL {CONTENTS_LABEL}={LOCAL_IMAGE_CONTENTS}"),
    ];
    eprintln!("image: importing into docker as {tag}");
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .args(["--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .spawn()?;
    let tar_out = tar.stdout.take().expect("tar's stdout is piped");
    // The pipe's read end must live only in the docker process: if docker
    // fails early, tar then gets EPIPE instead of blocking forever.
    let import = Command::new("docker")
        .arg("import")
        .args(changes.iter().flat_map(|c| ["--change", c.as_str()]))
        .arg("-")
        .arg(tag)
        .stdin(Stdio::from(tar_out))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = import.wait_with_output()?;
    let tar_status = tar.wait()?;
    if !out.status.success() || !tar_status.success() {
        return Err(ClusterError::Docker(format!(
            "docker import failed ({}, tar {tar_status}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    eprintln!("image: {tag} built in {:.1}s", t0.elapsed().as_secs_f64());
    Ok(())
}

/// Remove what an image does not need and add the entrypoint contract.
fn trim_rootfs(rootfs: &Path, pg_major: u32) -> Result<(), ClusterError> {
    // The package's own cluster: the entrypoint makes one in $PGDATA.
    for p in [
        format!("var/lib/postgresql/{pg_major}"),
        format!("etc/postgresql/{pg_major}"),
        "var/cache/apt/archives".into(),
        "var/lib/apt/lists".into(),
        "usr/share/doc".into(),
        "usr/share/man".into(),
    ] {
        let p = rootfs.join(p);
        if p.exists() {
            std::fs::remove_dir_all(&p)?;
        }
    }
    std::fs::create_dir_all(rootfs.join("var/cache/apt/archives/partial"))?;
    std::fs::create_dir_all(rootfs.join("docker-entrypoint-initdb.d"))?;
    std::fs::create_dir_all(rootfs.join("var/lib/postgresql/data"))?;
    std::fs::create_dir_all(rootfs.join("var/run/postgresql"))?;
    let ep = rootfs.join("usr/local/bin/docker-entrypoint.sh");
    std::fs::write(&ep, ENTRYPOINT)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ep, std::fs::Permissions::from_mode(0o755))?;
    // Ownership inside the root file system: the postgres account's ids
    // there, read from its own passwd file.
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd"))?;
    let (uid, gid) = passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"postgres"))
                .then(|| (f[2].parse::<u32>().ok(), f[3].parse::<u32>().ok()))
        })
        .and_then(|(u, g)| Some((u?, g?)))
        .ok_or_else(|| ClusterError::Config("the image has no postgres account".into()))?;
    for d in [
        "var/lib/postgresql",
        "var/lib/postgresql/data",
        "var/run/postgresql",
    ] {
        std::os::unix::fs::chown(rootfs.join(d), Some(uid), Some(gid))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mirror_in;

    #[test]
    fn reads_mirrors_from_both_apt_formats() {
        let deb822 = "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            mirror_in(deb822, "bookworm").as_deref(),
            Some("http://deb.debian.org/debian")
        );
        let one_line = "# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_in(one_line, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(
            mirror_in(
                "Types: deb\nURIs: http://x/debian-security\nSuites: bookworm-security\n",
                "bookworm"
            ),
            None
        );
    }
}
