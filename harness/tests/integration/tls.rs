//! Managed targets over TLS. One native cluster is started with TLS on and
//! a pg_hba.conf that admits only `hostssl` logins from 127.0.0.1, so a
//! connection that works there used TLS; a certificate authority the test
//! makes with the openssl CLI signs the server's certificate, and a second
//! authority signs nothing. A plain cluster (TLS off) stands in for a
//! server that offers none.
//!
//! One test, one load: each check costs a second or less once the servers
//! and the load have run, and the whole test stays around half a minute.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use harness::cluster::{native, BackendKind, Cluster, ClusterConfig, Durability, Endpoint};
use harness::exit_codes;
use sqlx::Connection;

use crate::support;

/// The files a TLS server and its clients need, in a directory the server
/// account can read.
struct Certs {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    hba: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI runs (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate it signs for 127.0.0.1, an unrelated CA,
/// and a pg_hba.conf that takes TLS only over TCP.
fn make_certs() -> Certs {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [("ca", "harness test CA"), ("other-ca", "some other CA")] {
        let (key, crt, subj) = (
            format!("{name}.key"),
            format!("{name}.crt"),
            format!("/CN={cn}"),
        );
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subj]);
        args.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
        args.extend(["-addext", "keyUsage=critical,keyCertSign"]);
        openssl(d, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(d, &args);
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    // Over TCP, only TLS logins to a database. Replication may be plain:
    // pg_basebackup and the replica's WAL receiver run as the server
    // account with root's HOME, where libpq cannot read ~/.postgresql and
    // so falls back to no TLS; the load never uses replication logins.
    std::fs::write(
        d.join("pg_hba.conf"),
        "local all all trust\nlocal replication all trust\n\
         hostssl all all 127.0.0.1/32 scram-sha-256\n\
         host replication all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    // PostgreSQL reads its key only when its own account owns it, mode 0600.
    if let Some((uid, gid, _)) = native::run_as_user() {
        for f in ["server.key", "server.crt", "pg_hba.conf"] {
            std::os::unix::fs::chown(d.join(f), Some(uid), Some(gid)).unwrap();
        }
    }
    std::fs::set_permissions(d.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    Certs {
        ca: d.join("ca.crt"),
        other_ca: d.join("other-ca.crt"),
        cert: d.join("server.crt"),
        key: d.join("server.key"),
        hba: d.join("pg_hba.conf"),
        _dir: dir,
    }
}

/// A native primary and replica that take TLS only.
async fn tls_cluster(c: &Certs) -> Cluster {
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let settings: BTreeMap<String, String> = [
        ("ssl", "on".to_string()),
        ("ssl_cert_file", path(&c.cert)),
        ("ssl_key_file", path(&c.key)),
        ("hba_file", path(&c.hba)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Cluster::start(&ClusterConfig {
        backend: BackendKind::Native,
        durability: Durability::Fast,
        settings,
        ..Default::default()
    })
    .await
    .expect("a native cluster with TLS on")
}

/// The hand-written ledger app: small data, a quick load.
fn ledger_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/apps/ledger")
}

/// `harness load` against external URLs.
fn load_cmd(primary: &str, replica: Option<&str>, reports: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_harness"));
    c.env("HARNESS_LOG", "warn")
        .env_remove("HARNESS_APP")
        .args(["load", "--backend", "external", "--disposable"])
        .args(["--primary-url", primary]);
    if let Some(r) = replica {
        c.args(["--replica-url", r]);
    }
    c.arg("--app")
        .arg(ledger_dir())
        .args(["--users", "40", "--ramp", "1", "--duration", "3"])
        .args([
            "--think",
            "0.2-0.5",
            "--tenants",
            "4",
            "--scale",
            "1",
            "--pool",
            "4",
        ])
        .arg("--reports-dir")
        .arg(reports);
    c
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The load's own connections on one server right now: (all, over TLS).
async fn load_connections(c: &mut sqlx::PgConnection) -> (i64, i64) {
    sqlx::query_as(
        "select count(*), count(*) filter (where s.ssl) \
         from pg_stat_activity a join pg_stat_ssl s using (pid) \
         where a.application_name = 'harness-load'",
    )
    .fetch_one(c)
    .await
    .unwrap()
}

/// psql with the endpoint's libpq environment: whether its session used TLS.
fn psql_ssl(bindir: &Path, ep: &Endpoint) -> Result<String, String> {
    let out = Command::new(bindir.join("psql"))
        .env_clear()
        .envs(ep.libpq_env())
        .args(["-X", "-A", "-t", "-c"])
        .arg("select ssl from pg_stat_ssl where pid = pg_backend_pid()")
        .output()
        .unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A load reaches a TLS-only target through `--primary-url ...?sslmode=...`
/// and every connection it opens is encrypted (pg_stat_ssl); verify-full
/// works with the right CA and stops at once with a wrong one (exit 3, a
/// message that says what to change); so does sslmode=require against a
/// server without TLS. psql gets the same parameters from the harness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_reaches_a_tls_only_target_and_tls_failures_say_what_to_do() {
    let t0 = Instant::now();
    let certs = make_certs();
    let (tls, plain) = tokio::join!(tls_cluster(&certs), support::native());
    let ca = certs.ca.to_string_lossy().into_owned();
    let other_ca = certs.other_ca.to_string_lossy().into_owned();
    let primary = tls.primary().clone();
    let replica = tls.replica().unwrap().clone();
    let full = |ep: &Endpoint, root: &str| {
        ep.with_param("sslmode", "verify-full")
            .with_param("sslrootcert", root)
    };

    // The server takes TLS only, and a plain login is told how to fix it.
    let e = primary
        .with_param("sslmode", "disable")
        .connect()
        .await
        .unwrap_err();
    assert!(e.is_tls_failure(), "{e}");
    assert!(e.to_string().contains("add sslmode=require"), "{e}");
    // A root certificate that is not there is named as such.
    let e = full(&primary, "/nonexistent/ca.pem")
        .connect()
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("sslrootcert=/nonexistent/ca.pem cannot be read"),
        "{e}"
    );

    // Tools get the parameters: psql verifies with the right CA only.
    let bindir = tls.info().bindir.clone().expect("native bindir");
    assert_eq!(psql_ssl(&bindir, &full(&primary, &ca)).as_deref(), Ok("t"));
    let refused = psql_ssl(&bindir, &full(&primary, &other_ca)).unwrap_err();
    assert!(refused.contains("certificate verify failed"), "{refused}");

    // The load: the primary verified against the CA, the replica encrypted.
    let reports = tempfile::tempdir().unwrap();
    let primary_url = full(&primary, &ca).url();
    let replica_url = replica.with_param("sslmode", "require").url();
    assert!(primary_url.contains("?sslmode=verify-full&sslrootcert=/"));
    let mut watch_p = full(&primary, &ca).connect().await.unwrap();
    let mut watch_r = replica
        .with_param("sslmode", "require")
        .connect()
        .await
        .unwrap();
    let mut child = load_cmd(&primary_url, Some(&replica_url), reports.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut seen_p, mut seen_r) = ((0, 0), (0, 0));
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the load did not end in 120 s");
        let (p, r) = (
            load_connections(&mut watch_p).await,
            load_connections(&mut watch_r).await,
        );
        seen_p = seen_p.max(p);
        seen_r = seen_r.max(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    let code = out.status.code();
    assert!(
        code == Some(exit_codes::OK) || code == Some(exit_codes::GATE_FAILED),
        "exit {code:?}: {said}"
    );
    assert!(!said.contains("cannot connect"), "{said}");
    eprintln!("load exit {code:?}; harness-load connections seen (all, TLS): primary {seen_p:?}, replica {seen_r:?}");
    assert!(seen_p.0 > 0, "the load's pool was seen on the primary");
    assert!(seen_r.0 > 0, "the load's pool was seen on the replica");
    assert_eq!(seen_p.0, seen_p.1, "every primary connection used TLS");
    assert_eq!(seen_r.0, seen_r.1, "every replica connection used TLS");
    let _ = watch_p.close().await;
    let _ = watch_r.close().await;

    // A wrong CA: exit 3 at once, and the message says what to give.
    let started = Instant::now();
    let out = load_cmd(&full(&primary, &other_ca).url(), None, reports.path())
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(exit_codes::SETUP_FAILED), "{said}");
    eprintln!(
        "wrong CA, {:.1} s:\n{said}",
        started.elapsed().as_secs_f64()
    );
    assert!(
        said.contains("not signed by a certificate authority this connection trusts")
            && said.contains("sslrootcert="),
        "{said}"
    );
    assert!(
        !said.contains(primary.password.as_deref().unwrap()),
        "{said}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "a TLS failure is not retried until the start timeout"
    );

    // sslmode=require against a server without TLS: exit 3, what to change.
    let out = load_cmd(
        &plain.primary().with_param("sslmode", "require").url(),
        None,
        reports.path(),
    )
    .output()
    .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(exit_codes::SETUP_FAILED), "{said}");
    eprintln!("no TLS at the server:\n{said}");
    assert!(said.contains("does not offer TLS"), "{said}");

    tls.shutdown().await.unwrap();
    plain.shutdown().await.unwrap();
    eprintln!("tls test: {:.1} s", t0.elapsed().as_secs_f64());
}
