//! `harness up`, `harness image`: a cluster for humans and scripts.

use std::time::Instant;

use clap::Args;

use super::ClusterArgs;
use crate::cluster::{image, Cluster};
use crate::config::HarnessConfig;
use crate::exit_codes;

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// Tag of the image to build.
    #[arg(long, default_value = image::LOCAL_IMAGE)]
    pub tag: String,
    /// PostgreSQL major version (Debian package postgresql-N).
    #[arg(long, default_value_t = 15)]
    pub pg_major: u32,
    /// Build even if the image is already present.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: UpArgs, file: &HarnessConfig) -> anyhow::Result<i32> {
    let cfg = args.cluster.resolve(file)?;
    eprintln!(
        "harness: starting a primary and a streaming replica (backend {})",
        cfg.backend.as_str()
    );
    let t0 = Instant::now();
    let cluster = Cluster::start(&cfg).await?;
    eprintln!(
        "harness: {} ready in {:.2}s",
        cluster.describe(),
        t0.elapsed().as_secs_f64()
    );
    let replica = cluster.replica().map(|r| r.url()).unwrap_or_default();
    // Output is often piped into a script that stops reading once it has
    // the URLs: a closed pipe must not take the cluster down with a panic.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "primary: {}", cluster.primary().url())
        .and_then(|_| writeln!(out, "replica: {replica}"))
        .and_then(|_| {
            writeln!(
                out,
                "export HARNESS_PRIMARY_URL='{}'",
                cluster.primary().url()
            )
        })
        .and_then(|_| writeln!(out, "export HARNESS_REPLICA_URL='{replica}'"))
        .and_then(|_| match cluster.pooled_primary() {
            None => Ok(()),
            Some(p) => {
                let r = cluster
                    .pooled_replica()
                    .map(|r| r.url())
                    .unwrap_or_default();
                writeln!(out, "pooled primary: {}", p.url())
                    .and_then(|_| writeln!(out, "pooled replica: {r}"))
                    .and_then(|_| writeln!(out, "export HARNESS_POOLED_PRIMARY_URL='{}'", p.url()))
                    .and_then(|_| writeln!(out, "export HARNESS_POOLED_REPLICA_URL='{r}'"))
            }
        })
        .and_then(|_| out.flush());
    drop(out);
    if cluster.pooled_primary().is_some() {
        eprintln!("harness: the pooled URLs are PgBouncer in transaction mode: no named prepared statements through them (docs/pooling.md)");
    }
    eprintln!("harness: running; Ctrl-C (or SIGTERM) stops and tears down");
    // Runs until the signal handler in `cancellable` drops this future; the
    // cluster's Drop then stops and removes everything.
    std::future::pending::<()>().await;
    cluster.shutdown().await?;
    Ok(exit_codes::OK)
}

pub async fn image(args: ImageArgs) -> anyhow::Result<i32> {
    if !args.force && image::docker_answers() && image::image_present(&args.tag) {
        if image::image_current(&args.tag) {
            eprintln!(
                "harness: image {} is present (use --force to rebuild)",
                args.tag
            );
            return Ok(exit_codes::OK);
        }
        eprintln!(
            "harness: image {} lacks some of {}; rebuilding",
            args.tag,
            image::LOCAL_IMAGE_CONTENTS
        );
    }
    let tag = args.tag.clone();
    tokio::task::spawn_blocking(move || image::build_local_image(&tag, args.pg_major)).await??;
    Ok(exit_codes::OK)
}
