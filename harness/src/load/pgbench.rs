//! The transport against `pgbench -S`: same cluster, same table, same
//! connection count, same minute, one ratio.
//!
//! `pgbench -S -M prepared` is the anchor for "how fast can a client ask
//! PostgreSQL for one row": a tight C loop of prepared point selects on
//! `pgbench_accounts`. The transport runs the same prepared select on the
//! same table through its pool (checkout, execute, timing, histograms) from
//! as many closed-loop workers as pgbench has clients. Their ratio is the
//! transport's own overhead; the goal is at least 0.7. pgbench runs twice,
//! before and after the transport, and the mean is the anchor, so drift on
//! a shared machine shows as a spread rather than hiding in the ratio. The
//! same select inside the app's tenant transaction (`BEGIN`, `set_config`,
//! select, `COMMIT`) is measured too, to show what the tenant context costs.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use scenarios::{Context, Executor, Param, Query, Route};
use serde::{Deserialize, Serialize};

use super::transport::{Transport, TransportConfig};
use super::LoadError;
use crate::cluster::Cluster;

pub const POINT_SELECT: &str = "select abalance from pgbench_accounts where aid = $1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PgbenchComparison {
    pub connections: u32,
    pub secs: u64,
    pub scale: u32,
    pub pgbench_tps_runs: Vec<f64>,
    pub pgbench_tps: f64,
    pub transport_qps: f64,
    pub transport_p50_ms: f64,
    pub transport_p99_ms: f64,
    pub tenant_tx_qps: f64,
    /// transport / pgbench.
    pub ratio: f64,
    pub tenant_tx_ratio: f64,
}

fn pgbench_bin(cluster: &Cluster) -> PathBuf {
    cluster
        .info()
        .bindir
        .as_ref()
        .map(|d| d.join("pgbench"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("pgbench"))
}

fn pgbench(cluster: &Cluster, args: &[String]) -> Result<String, LoadError> {
    let p = cluster.primary();
    let out = Command::new(pgbench_bin(cluster))
        .args(["-h", &p.host, "-p", &p.port.to_string(), "-U", &p.user])
        .args(args)
        // The URL's TLS settings and password, as libpq variables.
        .envs(p.libpq_env())
        .output()
        .map_err(|e| {
            LoadError::Pgbench(format!(
                "cannot run pgbench ({e}); install postgresql-client or pass --pg-bindir"
            ))
        })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        return Err(LoadError::Pgbench(format!(
            "pgbench {args:?} failed: {text}"
        )));
    }
    Ok(text)
}

/// `tps = 31234.5 (without initial connection time)` -> 31234.5
pub fn parse_tps(text: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l["tps = ".len()..].split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

async fn transport_loop(
    t: &Arc<Transport>,
    conns: u32,
    secs: u64,
    accounts: i64,
    tenant: bool,
) -> (f64, f64, f64) {
    t.recorder.reset();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for w in 0..conns {
        let (t, stop, done) = (t.clone(), stop.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(w as u64);
            // The reference app's three settings, as its users set them.
            let ctx = Context::new(
                [
                    fixtures::tenant::COMPANY_SETTING,
                    fixtures::tenant::USER_SETTING,
                    fixtures::tenant::ROLE_SETTING,
                ]
                .iter()
                .zip([uuid::Uuid::nil().to_string(), String::new(), String::new()])
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            );
            let mut fresh = None;
            while !stop.load(Ordering::Relaxed) {
                // No replica in this transport: a read goes to the primary, as pgbench's do.
                let q = Query::new("point_select", POINT_SELECT, Route::Read)
                    .bind(Param::I64(rng.random_range(1..=accounts)));
                let o = if tenant {
                    t.run(&ctx, &mut fresh, q).await
                } else {
                    t.run_bare(q).await
                };
                if o.ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let el = t0.elapsed().as_secs_f64();
    let all = t.recorder.all.snapshot();
    (
        done.load(Ordering::Relaxed) as f64 / el,
        all.quantile_ms(0.5),
        all.quantile_ms(0.99),
    )
}

/// Run the comparison on `cluster`'s primary, in database `pgbench`.
pub async fn compare(
    cluster: &Cluster,
    connections: u32,
    secs: u64,
    scale: u32,
) -> Result<PgbenchComparison, LoadError> {
    super::data::ensure_database(cluster.primary(), "pgbench").await?;
    let init: Vec<String> = vec![
        "-i".into(),
        "-q".into(),
        "-s".into(),
        scale.to_string(),
        "pgbench".into(),
    ];
    pgbench(cluster, &init)?;
    let run_args: Vec<String> = vec![
        "-S".into(),
        "-M".into(),
        "prepared".into(),
        "-n".into(),
        "-c".into(),
        connections.to_string(),
        "-j".into(),
        "2".into(),
        "-T".into(),
        secs.to_string(),
        "pgbench".into(),
    ];
    let mut runs = Vec::new();
    let first = pgbench(cluster, &run_args)?;
    runs.push(
        parse_tps(&first).ok_or_else(|| {
            LoadError::Pgbench(format!("no tps line in pgbench's output: {first}"))
        })?,
    );

    // The transport does not use the replica here: pgbench -S reads the primary.
    let ep = cluster.primary().with_database("pgbench");
    let t = Arc::new(
        Transport::connect(&TransportConfig {
            primary: ep,
            replica: None,
            pooled: None,
            primary_pool: connections,
            replica_pool: 1,
            acquire_timeout: Duration::from_secs(30),
            ryw_wait: Duration::from_millis(0),
        })
        .await?,
    );
    let accounts = 100_000i64 * scale as i64;
    let (qps, p50, p99) = transport_loop(&t, connections, secs, accounts, false).await;
    let (tenant_qps, _, _) =
        transport_loop(&t, connections, secs.div_ceil(2), accounts, true).await;
    drop(t);
    let second = pgbench(cluster, &run_args)?;
    runs.push(
        parse_tps(&second).ok_or_else(|| {
            LoadError::Pgbench(format!("no tps line in pgbench's output: {second}"))
        })?,
    );
    let anchor = runs.iter().sum::<f64>() / runs.len() as f64;
    Ok(PgbenchComparison {
        connections,
        secs,
        scale,
        pgbench_tps_runs: runs,
        pgbench_tps: anchor,
        transport_qps: qps,
        transport_p50_ms: p50,
        transport_p99_ms: p99,
        tenant_tx_qps: tenant_qps,
        ratio: qps / anchor.max(1e-9),
        tenant_tx_ratio: tenant_qps / anchor.max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_tps_line() {
        let out = "latency average = 1.0 ms\ninitial connection time = 12.3 ms\ntps = 31234.567890 (without initial connection time)\n";
        assert_eq!(parse_tps(out), Some(31234.56789));
        assert_eq!(parse_tps("nothing"), None);
    }
}
