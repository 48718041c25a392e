//! The recovery drill: a base backup and a WAL archive taken while the
//! app's workload writes, restored to a point in time, and checked table
//! by table against what the primary held at that point.
//!
//! One drill, in order (the CLI edge is `crate::cli::drill`):
//!
//! 1. a native cluster starts with WAL archiving into a directory the
//!    harness owns ([`crate::cluster::archive::WalArchive`]); the app's
//!    database gets its schema and rows as for a load run
//!    ([`crate::load::Session::open`]);
//! 2. the app's own workload runs (`load::run`, open model by default) and,
//!    beside it, once the ramp is over: `pg_basebackup`, then, `at` later,
//!    the point T ([`mark_point`]);
//! 3. the load goes on past T; when it ends, the primary's digests are
//!    taken again (which tables were written after T: a drill where none
//!    was proves nothing about the point in time) and the last WAL segment
//!    is archived;
//! 4. the backup is unpacked into a new data directory, the server replays
//!    the archive up to T and promotes; the time from unpack to ready is the
//!    figure ("time to restore");
//! 5. the restored tables' digests are compared with those at T.
//!
//! **Why the digests and the restore point describe one state.** T is two
//! transactions. The first, REPEATABLE READ, takes `LOCK TABLE ... IN SHARE
//! MODE` on every table of the database: a writer holds ROW EXCLUSIVE on
//! what it writes until it ends, so the lock is granted once every writer
//! of those tables has committed or rolled back, and no new write starts
//! while it is held. Its first query then takes the snapshot (so the
//! snapshot sees every commit of those tables), exports it, records the
//! WAL insert position and writes the restore point, all while the lock is
//! held: every commit to these tables is in the WAL before the restore
//! point, none after it until the lock goes. A second connection imports
//! the snapshot before the first commits, and computes the digests from
//! it at leisure: writers are blocked only for the lock, the export and
//! the restore point (milliseconds, reported), not for the digests. The
//! lock is tried with NOWAIT until granted at once, so it never waits
//! while holding tables and cannot deadlock with the app ([`mark_point`]).
//!
//! **Digests.** Per table, order-independent: the row count and the sums,
//! modulo 2^64, of the two halves of each row's `md5(row::text)`. md5 is
//! for telling states apart here, not for security; the text form of a row
//! is the same on the primary and the restored copy (same binaries, same
//! settings, same client). Tables are every permanent table of the
//! database outside the system schemas; unlogged and temporary tables are
//! not in the WAL, so a restore cannot bring them back, and are left out.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::cluster::archive::{RecoveryTarget, WalArchive};
use crate::cluster::{ClusterConfig, ClusterError, Endpoint};
use crate::load::{self, LoadConfig, LoadError, Session};

/// How T is named to recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// `recovery_target_name`: the restore point written at T.
    #[default]
    RestorePoint,
    /// `recovery_target_lsn`: the WAL insert position recorded at T.
    Lsn,
}

/// Test-only ways to make a drill fail, to show that it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Restore to a restore point made after the load, not to T.
    Later,
    /// Delete one row of the restored copy before its digests are taken.
    Tamper,
}

/// What one drill is asked to do.
#[derive(Debug, Clone)]
pub struct DrillPlan {
    pub target: TargetKind,
    /// From the end of the base backup to T.
    pub at: Duration,
    /// How long the restored server may take to reach T and promote.
    pub restore_timeout: Duration,
    pub fault: Option<Fault>,
}

/// One table's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDigest {
    pub table: String,
    pub rows: u64,
    /// 32 hex digits.
    pub digest: String,
}

/// One table through the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableResult {
    pub table: String,
    pub rows_at_point: u64,
    pub digest_at_point: String,
    pub rows_restored: u64,
    pub digest_restored: String,
    /// On the primary when the load had ended.
    pub rows_at_end: u64,
    pub digest_at_end: String,
    /// Restored digest and row count equal those at T.
    pub equal: bool,
}

/// The load that ran beside the drill, in brief.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadBrief {
    pub mode: String,
    pub steady_secs: f64,
    pub queries: u64,
    pub failed: u64,
    pub errors: std::collections::BTreeMap<String, u64>,
}

/// Every figure of a drill (`drill.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DrillResults {
    pub app: String,
    pub database: String,
    /// Recovery's target, in words.
    pub target: String,
    pub restore_point: String,
    /// The WAL insert position at T.
    pub point_lsn: String,
    pub base_backup_secs: f64,
    pub base_backup_bytes: u64,
    pub backup_start_lsn: String,
    pub backup_end_lsn: String,
    /// From the start of the load to T.
    pub point_at_secs: f64,
    /// How long the load kept running after T.
    pub load_after_point_secs: f64,
    /// How long writers were blocked at T (lock, export, restore point).
    pub writers_blocked_ms: f64,
    /// `LOCK` statements sent at T until one was granted.
    pub lock_tries: u32,
    /// WAL between the backup's start and T: what replay had to apply.
    pub wal_replayed_bytes: u64,
    pub archived_segments: usize,
    /// Unpacking the base backup.
    pub unpack_secs: f64,
    /// Server start to ready: replay to T and promotion.
    pub replay_secs: f64,
    /// Time to restore: unpack + replay until the server accepts writes.
    pub restore_secs: f64,
    pub tables: Vec<TableResult>,
    /// Tables whose digest on the primary changed between T and the end of
    /// the load: the writes the restore had to leave out.
    pub written_after_point: Vec<String>,
    /// Tables whose restored digest differs from T's.
    pub mismatched: Vec<String>,
    pub fault: Option<Fault>,
    /// The table a `tamper` fault changed.
    pub tampered: Option<String>,
    pub load: LoadBrief,
    pub notes: Vec<String>,
}

impl DrillResults {
    pub fn rows_compared(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_at_point).sum()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("recovery drill on {database}: {step}: {source}")]
    Sql {
        database: String,
        step: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("recovery drill: {0}")]
    Plan(String),
}

impl DrillError {
    /// For the CLI: a cluster or tool failure keeps its own type, so the
    /// exit code says "setup failed" (3) rather than "internal" (1).
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            DrillError::Cluster(e) | DrillError::Load(LoadError::Cluster(e)) => e.into(),
            other => other.into(),
        }
    }
}

/// A connection for the drill's own queries: digests of large tables are
/// slow on purpose, so sqlx's slow-statement warnings are off.
async fn connect(ep: &Endpoint) -> Result<PgConnection, DrillError> {
    use sqlx::ConnectOptions;
    PgConnection::connect_with(&ep.connect_options().disable_statement_logging())
        .await
        .map_err(sql(ep, "connect"))
}

fn sql<'a>(ep: &'a Endpoint, step: &'static str) -> impl FnOnce(sqlx::Error) -> DrillError + 'a {
    move |source| DrillError::Sql {
        database: ep.database.clone(),
        step,
        source,
    }
}

/// The database's permanent tables outside the system schemas, quoted,
/// in name order.
pub async fn tables(c: &mut PgConnection) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select format('%I.%I', n.nspname, c.relname) from pg_class c \
         join pg_namespace n on n.oid = c.relnamespace \
         where c.relkind = 'r' and c.relpersistence = 'p' \
           and n.nspname not in ('pg_catalog', 'information_schema') \
           and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%' \
         order by n.nspname, c.relname",
    )
    .fetch_all(c)
    .await
}

/// Digests of `tables` as `c`'s snapshot sees them.
pub async fn digests(
    c: &mut PgConnection,
    tables: &[String],
) -> Result<Vec<TableDigest>, sqlx::Error> {
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        // The two halves of md5 as signed 64-bit numbers, summed exactly
        // (numeric), then folded modulo 2^64 below.
        let q = format!(
            "select count(*)::int8, \
               coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::int8::numeric), 0)::text, \
               coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::int8::numeric), 0)::text \
             from (select md5(r::text) as h from only {t} r) s"
        );
        let (rows, hi, lo): (i64, String, String) =
            sqlx::query_as(AssertSqlSafe(q)).fetch_one(&mut *c).await?;
        out.push(TableDigest {
            table: t.clone(),
            rows: rows.max(0) as u64,
            digest: format!("{:016x}{:016x}", fold(&hi), fold(&lo)),
        });
    }
    Ok(out)
}

/// An exact integer sum modulo 2^64. Each term is below 2^63 in size, so
/// the sum of fewer than 2^64 rows fits an i128.
fn fold(sum: &str) -> u64 {
    sum.parse::<i128>().map(|v| v as u64).unwrap_or(u64::MAX)
}

/// What the primary held at T, and how T is named to recovery.
#[derive(Debug, Clone)]
pub struct Point {
    pub name: String,
    /// The WAL insert position just before the restore point record.
    pub lsn: String,
    pub digests: Vec<TableDigest>,
    /// Writers were blocked from the lock request to the commit.
    pub blocked: Duration,
    /// `LOCK` statements sent until one was granted.
    pub lock_tries: u32,
    pub at: Instant,
}

/// Take T on `db` (see the module note): lock every table in SHARE mode,
/// export the snapshot, record the insert position, write the restore
/// point `name`; digests come from the exported snapshot on a second
/// connection. The lock is tried without waiting until it is granted at
/// once (see [`NOWAIT_TRIES`]).
pub async fn mark_point(db: &Endpoint, name: &str) -> Result<Point, DrillError> {
    let mut a = connect(db).await?;
    let mut b = connect(db).await?;
    let tables = tables(&mut a).await.map_err(sql(db, "list the tables"))?;
    if tables.is_empty() {
        return Err(DrillError::Plan(format!(
            "the database {} has no table to compare",
            db.database
        )));
    }
    let list = tables.join(", ");
    let mut attempt = 0;
    let (snapshot, lsn, blocked, at) = loop {
        attempt += 1;
        // NOWAIT first: a lock that waits for one table while holding
        // others can deadlock with a writer that holds that table and then
        // writes one of ours (a trigger's audit row), and the deadlock
        // detector may pick the app's transaction. Writers are short, so a
        // moment comes when no table is being written. Only after
        // NOWAIT_TRIES misses does the lock queue (5 s, retried on a
        // deadlock), for a load that never leaves every table alone.
        let nowait = attempt <= NOWAIT_TRIES;
        sqlx::raw_sql("begin isolation level repeatable read; set local lock_timeout = '5s'")
            .execute(&mut a)
            .await
            .map_err(sql(db, "begin the point's transaction"))?;
        let t0 = Instant::now();
        let lock = format!(
            "lock table {list} in share mode{}",
            if nowait { " nowait" } else { "" }
        );
        match sqlx::query(AssertSqlSafe(lock)).execute(&mut a).await {
            Ok(_) => {}
            Err(e) if attempt < NOWAIT_TRIES + 5 && retryable(&e) => {
                let _ = sqlx::raw_sql("rollback").execute(&mut a).await;
                if nowait {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                } else {
                    tracing::warn!("T: lock not granted ({e}); retrying");
                }
                continue;
            }
            Err(e) => {
                let _ = sqlx::raw_sql("rollback").execute(&mut a).await;
                return Err(sql(db, "lock the tables in share mode")(e));
            }
        }
        let (snapshot, lsn): (String, String) =
            sqlx::query_as("select pg_export_snapshot(), pg_current_wal_insert_lsn()::text")
                .fetch_one(&mut a)
                .await
                .map_err(sql(db, "export the snapshot"))?;
        sqlx::query("select pg_create_restore_point($1)")
            .bind(name)
            .execute(&mut a)
            .await
            .map_err(sql(db, "create the restore point"))?;
        let at = Instant::now();
        sqlx::raw_sql("begin isolation level repeatable read")
            .execute(&mut b)
            .await
            .map_err(sql(db, "begin the digest transaction"))?;
        sqlx::query(AssertSqlSafe(format!(
            "set transaction snapshot '{}'",
            snapshot.replace('\'', "''")
        )))
        .execute(&mut b)
        .await
        .map_err(sql(db, "import the snapshot"))?;
        sqlx::raw_sql("commit")
            .execute(&mut a)
            .await
            .map_err(sql(db, "release the lock"))?;
        break (snapshot, lsn, t0.elapsed(), at);
    };
    let digests = digests(&mut b, &tables)
        .await
        .map_err(sql(db, "digest the tables at T"))?;
    sqlx::raw_sql("commit")
        .execute(&mut b)
        .await
        .map_err(sql(db, "end the digest transaction"))?;
    tracing::debug!(snapshot, "T digested");
    let _ = a.close().await;
    let _ = b.close().await;
    Ok(Point {
        name: name.to_string(),
        lsn,
        digests,
        blocked,
        lock_tries: attempt,
        at,
    })
}

/// Tries of `LOCK ... NOWAIT` before the lock waits in the queue (about
/// 5 s of tries at 5 ms apart, plus each try's round trip).
const NOWAIT_TRIES: u32 = 1000;

/// A lock not granted (NOWAIT or timeout) or a deadlock with a writer:
/// try again.
fn retryable(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|c| c == "55P03" || c == "40P01")
}

/// Digests of every table of `db` now.
async fn digest_now(db: &Endpoint, step: &'static str) -> Result<Vec<TableDigest>, DrillError> {
    let mut c = connect(db).await?;
    let t = tables(&mut c).await.map_err(sql(db, step))?;
    let d = digests(&mut c, &t).await.map_err(sql(db, step))?;
    let _ = c.close().await;
    Ok(d)
}

/// Delete one row of the largest table, bypassing foreign keys
/// (`session_replication_role = replica`): the `tamper` fault.
async fn tamper(db: &Endpoint, at_point: &[TableDigest]) -> Result<Option<String>, DrillError> {
    let Some(t) = at_point
        .iter()
        .filter(|t| t.rows > 0)
        .max_by_key(|t| t.rows)
    else {
        return Ok(None);
    };
    let mut c = connect(db).await?;
    sqlx::raw_sql(AssertSqlSafe(format!(
        "set session_replication_role = replica; \
         delete from only {0} where ctid = (select ctid from only {0} limit 1)",
        t.table
    )))
    .execute(&mut c)
    .await
    .map_err(sql(db, "tamper with the restored copy"))?;
    let _ = c.close().await;
    Ok(Some(t.table.clone()))
}

/// Run the drill on a prepared session (data in place) of a cluster that
/// archives into `archive`, started from `cc`.
pub async fn run(
    session: &Session,
    cfg: &LoadConfig,
    cc: &ClusterConfig,
    archive: &mut WalArchive,
    plan: &DrillPlan,
) -> Result<DrillResults, DrillError> {
    let db = session.primary.clone();
    let name = format!("drill-{}", uuid::Uuid::new_v4().simple());
    let load_started = Instant::now();
    let ramp = Duration::from_secs(cfg.ramp_secs as u64);
    let load_run = async {
        let r = load::run(session, cfg, None).await?;
        Ok::<_, DrillError>((r, Instant::now()))
    };
    let beside = async {
        tokio::time::sleep(ramp).await;
        eprintln!("harness: drill: base backup while the load writes");
        let backup = archive.base_backup(&db.with_database("postgres")).await?;
        tokio::time::sleep(plan.at).await;
        let point = mark_point(&db, &name).await?;
        eprintln!(
            "harness: drill: T at {:.1} s into the load: {} tables digested, restore point {name} at {} (writers blocked {:.0} ms; lock granted on try {})",
            point.at.duration_since(load_started).as_secs_f64(),
            point.digests.len(),
            point.lsn,
            point.blocked.as_secs_f64() * 1000.0,
            point.lock_tries
        );
        Ok::<_, DrillError>((backup, point))
    };
    // The first error ends both: a failed backup stops the load too.
    let ((load_results, load_ended), (backup, point)) = tokio::try_join!(load_run, beside)?;
    let mut notes = Vec::new();
    let after = load_ended.saturating_duration_since(point.at);
    if after < Duration::from_secs(1) {
        notes.push(format!(
            "the load ran only {:.1} s past T: give a longer --duration (or a smaller --at) so writes follow T",
            after.as_secs_f64()
        ));
    }

    let at_end = digest_now(&db, "digest the tables after the load").await?;
    let mut target = match plan.target {
        TargetKind::RestorePoint => RecoveryTarget::Name(point.name.clone()),
        TargetKind::Lsn => RecoveryTarget::Lsn(point.lsn.clone()),
    };
    if plan.fault == Some(Fault::Later) {
        let later = format!("{name}-later");
        let mut c = connect(&db).await?;
        sqlx::query("select pg_create_restore_point($1)")
            .bind(&later)
            .execute(&mut c)
            .await
            .map_err(sql(&db, "create the later restore point"))?;
        let _ = c.close().await;
        notes.push(format!(
            "test fault: restored to {later}, made after the load, not to T"
        ));
        target = RecoveryTarget::Name(later);
    }
    let admin = db.with_database("postgres");
    let wal_replayed_bytes = {
        let mut c = connect(&admin).await?;
        let b: i64 = sqlx::query_scalar("select pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::int8")
            .bind(&point.lsn)
            .bind(&backup.start_lsn)
            .fetch_one(&mut c)
            .await
            .map_err(sql(&admin, "measure the WAL to replay"))?;
        let _ = c.close().await;
        b.max(0) as u64
    };
    archive.flush(&admin, Duration::from_secs(60)).await?;
    let archived_segments = archive.segments();

    eprintln!(
        "harness: drill: restoring the base backup and replaying {} archived segments to {}",
        archived_segments,
        target.describe()
    );
    let restored = archive
        .restore(
            &backup,
            &target,
            &cc.server_settings(),
            &db,
            plan.restore_timeout,
        )
        .await?;
    let mut tampered = None;
    if plan.fault == Some(Fault::Tamper) {
        tampered = tamper(&restored.endpoint, &point.digests).await?;
        if let Some(t) = &tampered {
            notes.push(format!(
                "test fault: one row of {t} deleted from the restored copy"
            ));
        }
    }
    let restored_digests = digest_now(&restored.endpoint, "digest the restored tables").await?;
    let (unpack, replay, total) = (restored.unpack, restored.replay, restored.total());
    restored.shutdown().await;

    let find = |set: &[TableDigest], t: &str| set.iter().find(|d| d.table == t).cloned();
    let mut names: Vec<String> = point
        .digests
        .iter()
        .chain(&restored_digests)
        .map(|d| d.table.clone())
        .collect();
    names.sort();
    names.dedup();
    let absent = |t: &str| TableDigest {
        table: t.to_string(),
        rows: 0,
        digest: "absent".into(),
    };
    let tables: Vec<TableResult> = names
        .iter()
        .map(|t| {
            let p = find(&point.digests, t).unwrap_or_else(|| absent(t));
            let r = find(&restored_digests, t).unwrap_or_else(|| absent(t));
            let e = find(&at_end, t).unwrap_or_else(|| absent(t));
            TableResult {
                table: t.clone(),
                equal: p == r,
                rows_at_point: p.rows,
                digest_at_point: p.digest,
                rows_restored: r.rows,
                digest_restored: r.digest,
                rows_at_end: e.rows,
                digest_at_end: e.digest,
            }
        })
        .collect();
    let written_after_point = tables
        .iter()
        .filter(|t| t.digest_at_end != t.digest_at_point)
        .map(|t| t.table.clone())
        .collect();
    let mismatched = tables
        .iter()
        .filter(|t| !t.equal)
        .map(|t| t.table.clone())
        .collect();
    Ok(DrillResults {
        app: session.app.clone(),
        database: session.database.clone(),
        target: target.describe(),
        restore_point: point.name.clone(),
        point_lsn: point.lsn.clone(),
        base_backup_secs: backup.took.as_secs_f64(),
        base_backup_bytes: backup.bytes,
        backup_start_lsn: backup.start_lsn.clone(),
        backup_end_lsn: backup.end_lsn.clone(),
        point_at_secs: point.at.duration_since(load_started).as_secs_f64(),
        load_after_point_secs: after.as_secs_f64(),
        writers_blocked_ms: point.blocked.as_secs_f64() * 1000.0,
        lock_tries: point.lock_tries,
        wal_replayed_bytes,
        archived_segments,
        unpack_secs: unpack.as_secs_f64(),
        replay_secs: replay.as_secs_f64(),
        restore_secs: total.as_secs_f64(),
        tables,
        written_after_point,
        mismatched,
        fault: plan.fault,
        tampered,
        load: LoadBrief {
            mode: format!("{:?}", load_results.mode).to_lowercase(),
            steady_secs: load_results.steady_secs,
            queries: load_results.overall.count,
            failed: load_results.overall.failed,
            errors: load_results.overall.errors.clone(),
        },
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_fold_modulo_two_to_the_64() {
        assert_eq!(fold("0"), 0);
        assert_eq!(fold("-1"), u64::MAX);
        assert_eq!(fold("18446744073709551617"), 1);
        assert_eq!(fold("-9223372036854775808"), 1 << 63);
    }
}
