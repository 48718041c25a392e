//! The COPY stage and the run as a whole: per table, in foreign-key order,
//! reader thread -> converter thread -> async COPY writer, all at once.
//!
//! Shape and why:
//! - Two bounded channels (batches of [`source::BATCH_ROWS`] rows, then
//!   COPY chunks of ~256 KiB) keep memory flat and let SQLite reads, the
//!   conversion and PostgreSQL's ingest overlap; the slowest stage sets
//!   the pace, which should be PostgreSQL.
//! - One transaction per table holds its COPY, its reject rows and its
//!   commit marker in `harness_migration.tables`: after a SIGKILL a table
//!   is either whole and marked, or absent (PostgreSQL rolls the
//!   transaction back), so a re-run skips the marked tables and redoes the
//!   rest. Nothing is ever deleted.
//! - Orphans are found before COPY: a composite foreign-key error would
//!   only surface at the end of the statement, without a line number. The
//!   converter checks every reference against the (legacy id -> tenant)
//!   map of the parent rows actually migrated, which also rejects
//!   references into another tenant and children of rejected parents; a
//!   child of a rejected parent names its root cause (`cause` in the
//!   reject file). References within one table (a parent row of the same
//!   table) are settled after the table's conversion: a row whose parent
//!   did not make it is rejected with its cause and the pass redone.
//! - Bulk-load order inside that transaction, as pg_restore does it:
//!   indexes (GIN over tsvector above all, and unique ones such as the
//!   primary key) are dropped and rebuilt once after the COPY, foreign keys
//!   are added back after it and validated in one pass. A key that other
//!   tables' foreign keys point at goes too while those tables are empty,
//!   their foreign keys with it (see [`target::deferrable_indexes`]).
//! - What only PostgreSQL can judge (unique indexes such as a per-tenant
//!   `lower(email)`, CHECKs) is found by COPY itself: the error names the
//!   line, the line names the legacy row, the row is rejected and the table
//!   redone without it (one extra pass per such row; these are rare). A
//!   unique index rebuilt after the COPY cannot name the row: when its
//!   rebuild finds a duplicate, the table is loaded again with its unique
//!   indexes in place, which can.
//! - ANALYZE of a finished table runs on a second connection while the
//!   next table loads: it reads committed rows and needs no lock the load
//!   takes, and statistics are no part of what a re-run must find whole.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use indicatif::ProgressBar;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError};
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::binary;
use super::convert::{self, Plan, Raw};
use super::reject::{RejectFile, RejectRecord, Stage};
use super::source::{self, Source};
use super::summary::Progress;
use super::target::{self, TableState};
use super::verify::{self, Digests};
use super::{MigrateError, MigrateOptions, MigrationReport, OnError, TableReport};
use crate::app::{quote, App, TenantLink};

/// COPY chunk size handed to the writer.
const CHUNK_BYTES: usize = 256 * 1024;

/// `maintenance_work_mem` for rebuilding b-tree indexes after the COPY:
/// their sorts stay in memory at the usual sizes.
const SORT_MEMORY: &str = "128MB";

/// `maintenance_work_mem` for rebuilding GIN indexes. Smaller is faster:
/// measured on PostgreSQL 15 (2026-11-24, one backend), 1 M four-lexeme
/// values built in 8.0 s at 16 MB, 9.5 s at 64 MB (the server's default
/// here), 11.2 to 12.5 s at 128 MB.
const GIN_MEMORY: &str = "16MB";

/// What the converter needs to know of the tables already done, by mapping
/// index: legacy key -> legacy tenant of the rows migrated, and legacy key
/// -> root cause of the rows rejected.
#[derive(Debug, Clone, Default)]
pub struct Parents {
    pub keys: HashMap<usize, KeyIndex>,
    pub rejected: HashMap<usize, HashMap<i64, String>>,
}

/// Legacy key -> legacy tenant of a finished table's rows, held until the
/// end of the migration for the orphan check of the tables after it. The
/// keys of every parent table were most of the migration's memory at 10 M
/// rows (a hash map: 450 MiB peak for the reference app), so the index is
/// the smaller of two sorted forms, searched by halves:
/// - **runs**: (first key, last key, tenant) for each run of consecutive
///   keys of one tenant, 24 bytes a run. Keys handed out in order, tenant
///   after tenant or row after row of one tenant, make few runs;
/// - **pairs**: (key, tenant), 16 bytes a row, when the runs are short
///   (keys with gaps, tenants interleaved row by row).
#[derive(Debug, Clone)]
pub enum KeyIndex {
    Runs(Vec<(i64, i64, i64)>),
    Pairs(Vec<(i64, i64)>),
}

impl Default for KeyIndex {
    fn default() -> Self {
        KeyIndex::Pairs(Vec::new())
    }
}

/// A tenant of `None` (a table without tenant) stored in the i64.
const NO_TENANT: i64 = i64::MIN;

/// A row's (legacy key, tenant) packed into 16 bytes (`Option<i64>` takes
/// 16 on its own): the tenant `None` is [`NO_TENANT`].
fn pack(tenant: Option<i64>) -> i64 {
    tenant.unwrap_or(NO_TENANT)
}

fn unpack(tenant: i64) -> Option<i64> {
    (tenant != NO_TENANT).then_some(tenant)
}

impl KeyIndex {
    /// The tenant of key `id`: `None` if no such row, `Some(None)` for a
    /// row without tenant.
    pub fn get(&self, id: &i64) -> Option<Option<i64>> {
        let t = match self {
            KeyIndex::Pairs(v) => v[v.binary_search_by_key(id, |(k, _)| *k).ok()?].1,
            KeyIndex::Runs(v) => {
                let i = v
                    .partition_point(|(first, _, _)| first <= id)
                    .checked_sub(1)?;
                let (_, last, t) = v[i];
                if *id > last {
                    return None;
                }
                t
            }
        };
        Some(unpack(t))
    }

    /// Rows indexed.
    pub fn len(&self) -> usize {
        match self {
            KeyIndex::Pairs(v) => v.len(),
            KeyIndex::Runs(v) => v.iter().map(|(f, l, _)| (l - f + 1) as usize).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            KeyIndex::Pairs(v) => v.is_empty(),
            KeyIndex::Runs(v) => v.is_empty(),
        }
    }

    /// Bytes the index holds (for the docs' memory figures and the tests).
    pub fn heap_bytes(&self) -> usize {
        match self {
            KeyIndex::Pairs(v) => v.capacity() * 16,
            KeyIndex::Runs(v) => v.capacity() * 24,
        }
    }

    /// From packed (key, tenant) pairs in any order; duplicate keys keep
    /// the first.
    fn from_packed(mut v: Vec<(i64, i64)>) -> KeyIndex {
        // Rows come in key order already; sorting a sorted run is a pass.
        v.sort_by_key(|(k, _)| *k);
        v.dedup_by_key(|(k, _)| *k);
        let mut runs: Vec<(i64, i64, i64)> = Vec::new();
        for &(k, t) in &v {
            match runs.last_mut() {
                Some((_, last, rt)) if *rt == t && last.checked_add(1) == Some(k) => *last = k,
                _ => {
                    runs.push((k, k, t));
                    // Short runs: the pairs are smaller; stop counting.
                    if runs.len() * 24 > v.len() * 16 {
                        v.shrink_to_fit();
                        return KeyIndex::Pairs(v);
                    }
                }
            }
        }
        runs.shrink_to_fit();
        KeyIndex::Runs(runs)
    }
}

impl FromIterator<(i64, Option<i64>)> for KeyIndex {
    fn from_iter<I: IntoIterator<Item = (i64, Option<i64>)>>(it: I) -> Self {
        KeyIndex::from_packed(it.into_iter().map(|(k, t)| (k, pack(t))).collect())
    }
}

/// Tables some other table references (their keys are kept for the orphan check).
fn is_parent(plans: &[Plan], index: usize) -> bool {
    plans
        .iter()
        .any(|p| p.refs.iter().any(|(_, parent)| *parent == index))
}

/// What the converter produced in one pass.
#[derive(Default)]
struct ConvOut {
    /// (legacy id, tenant) of every row sent, in COPY line order, the
    /// tenant packed ([`pack`]): 16 bytes a row of the table being copied.
    sent: Vec<(i64, i64)>,
    /// (child, parent) legacy keys of references within the table.
    self_refs: Vec<(i64, i64)>,
    digests: Digests,
    rejects: Vec<RejectRecord>,
    unknown: u64,
    bytes: u64,
    stopped: bool,
}

/// Migrate `source` into `target` as `app` describes it. See the module
/// docs of [`super`].
pub async fn migrate(
    app: &App,
    source: &Path,
    target: &PgConnectOptions,
    opts: &MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let t0 = Instant::now();
    let path = source.to_path_buf();
    let (p1, p2) = (path.clone(), path.clone());
    let integrity = opts.integrity_check;
    let app1 = app.clone();
    let open = tokio::task::spawn_blocking(move || Source::open(&p1, &app1, integrity));
    let fp = tokio::task::spawn_blocking(move || source::fingerprint(&p2));
    let src = join(open, "validating the legacy file").await?;
    let fingerprint = join(fp, "hashing the legacy file").await?;

    let mut conn = target::connect(target).await?;
    target::prepare(&mut conn, app).await?;
    let role = target::become_migration_role(&mut conn, &app.toml.roles.owner, true).await?;
    let states = target::table_states(&mut conn, app).await?;
    // Refuse before writing a single row.
    for (t, state) in app.mapping.tables.iter().zip(&states) {
        match state {
            TableState::Done {
                fingerprint: fp, ..
            } if *fp != fingerprint => {
                return Err(MigrateError::TargetNotEmpty {
                    table: t.name.clone(),
                    why: format!(
                        "a migration of another legacy file (sha256 {}) wrote",
                        &fp[..12]
                    ),
                })
            }
            TableState::Foreign => {
                return Err(MigrateError::TargetNotEmpty {
                    table: t.name.clone(),
                    why: "no harness migration wrote".into(),
                })
            }
            _ => {}
        }
    }

    let plans = Plan::all(app);
    let mut analyzer = Analyzer::start(target, &role, &plans);
    let mut rejects = RejectFile::create(&opts.reject_path)?;
    let progress = Progress::new(opts.progress);
    let mut parents: Arc<Parents> = Arc::new(Parents::default());
    let mut report = MigrationReport {
        app: app.dir.display().to_string(),
        reject_path: opts.reject_path.clone(),
        role,
        ..Default::default()
    };
    let mut digests: HashMap<usize, Digests> = HashMap::new();
    for (i, plan) in plans.iter().enumerate() {
        let name = plan.name().to_string();
        let rows_read = src.counts[i];
        if let TableState::Done { rows, .. } = &states[i] {
            if is_parent(&plans, i) {
                let keys = keys_in_target(&mut conn, plan).await?;
                // A re-run still names the root cause of a child's rejection.
                let causes = target::rejected_causes(&mut conn, &name).await?;
                let p = Arc::make_mut(&mut parents);
                p.keys.insert(i, keys);
                p.rejected.insert(i, causes);
            }
            report.tables.push(TableReport {
                table: name,
                rows_read,
                rows_copied: *rows,
                already_done: true,
                ..Default::default()
            });
            continue;
        }
        let pb = progress.table(&name, rows_read);
        let mut out = run_table(
            &mut conn,
            plan,
            &path,
            &fingerprint,
            parents.clone(),
            opts.on_error,
            &pb,
        )
        .await?;
        pb.finish_and_clear();
        for r in &out.rejects {
            rejects.write(r)?;
        }
        let absent = out.rejects.iter().filter(|r| r.row_absent()).count() as u64;
        let root = out.rejects.iter().filter(|r| r.is_root()).count() as u64;
        let cells = out.rejects.len() as u64 - absent;
        report.rejects += absent;
        report.root_rejects += root;
        report.cells_nulled += cells;
        report.tables.push(TableReport {
            table: name,
            rows_read,
            rows_copied: if out.stopped.is_some() {
                0
            } else {
                out.conv.sent.len() as u64
            },
            rejects: absent,
            root_rejects: root,
            cells_nulled: cells,
            unknown_to_null: out.conv.unknown,
            bytes: out.conv.bytes,
            seconds: out.seconds,
            passes: out.passes,
            already_done: false,
        });
        if let Some(why) = out.stopped {
            report.stopped = Some(why);
            break;
        }
        analyzer.loaded(i);
        if is_parent(&plans, i) {
            let p = Arc::make_mut(&mut parents);
            p.keys
                .insert(i, KeyIndex::from_packed(std::mem::take(&mut out.conv.sent)));
            p.rejected.insert(
                i,
                out.rejects
                    .iter()
                    .filter(|r| r.row_absent())
                    .filter_map(|r| Some((r.legacy_key?, r.root_cause())))
                    .collect(),
            );
        }
        digests.insert(i, out.conv.digests);
    }
    report.load_seconds = t0.elapsed().as_secs_f64();
    drop(parents);

    if opts.verify && report.stopped.is_none() {
        let t1 = Instant::now();
        let v = verify::verify_with(app, &path, &mut conn, digests).await?;
        report.verify_seconds = t1.elapsed().as_secs_f64();
        report.verify = Some(v);
    }
    analyzer.finish(&mut conn).await?;
    target::close(conn).await;
    Ok(report)
}

/// ANALYZE of the finished tables on a second connection, while the next
/// tables load (see the module docs). Fresh statistics for the first
/// queries after the migration.
///
/// A table is analyzed once the last table that references it is loaded:
/// loading a child drops its foreign keys, which locks the parent against
/// ANALYZE (and ANALYZE would hold the child's load up the same way).
struct Analyzer {
    tx: tokio::sync::mpsc::UnboundedSender<String>,
    /// Ends with the tables it could not analyze.
    task: tokio::task::JoinHandle<Vec<String>>,
    /// Table names by plan index, the last index of a table referencing
    /// each, and the tables loaded and not yet handed over.
    names: Vec<String>,
    last_child: Vec<Option<usize>>,
    waiting: Vec<usize>,
}

impl Analyzer {
    /// `role`: the role the migration writes as (the tables' owner).
    fn start(target: &PgConnectOptions, role: &str, plans: &[Plan]) -> Analyzer {
        let last_child = (0..plans.len())
            .map(|i| {
                plans
                    .iter()
                    .enumerate()
                    .filter(|(j, p)| *j != i && p.refs.iter().any(|(_, parent)| *parent == i))
                    .map(|(j, _)| j)
                    .max()
            })
            .collect();
        let names = plans.iter().map(|p| p.name().to_string()).collect();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let (target, role) = (target.clone(), role.to_string());
        let task = tokio::spawn(async move {
            let mut conn = match target::connect(&target).await {
                Ok(mut c) => match exec(&mut c, format!("set role {}", quote(&role)), "").await {
                    Ok(()) => Some(c),
                    Err(_) => None,
                },
                Err(_) => None,
            };
            let mut left = Vec::new();
            while let Some(table) = rx.recv().await {
                let done = match conn.as_mut() {
                    Some(c) => exec(c, format!("analyze {}", quote(&table)), "")
                        .await
                        .is_ok(),
                    None => false,
                };
                if !done {
                    left.push(table);
                }
            }
            if let Some(c) = conn {
                target::close(c).await;
            }
            left
        });
        Analyzer {
            tx,
            task,
            names,
            last_child,
            waiting: Vec::new(),
        }
    }

    /// Table `index` is loaded: hand over it and the tables whose last
    /// child it was.
    fn loaded(&mut self, index: usize) {
        self.waiting.push(index);
        let last_child = &self.last_child;
        let (now, later): (Vec<usize>, Vec<usize>) = self
            .waiting
            .iter()
            .partition(|t| last_child[**t].is_none_or(|c| c <= index));
        self.waiting = later;
        for t in now {
            // The task ends only after the sender is dropped.
            let _ = self.tx.send(self.names[t].clone());
        }
    }

    /// Wait for the analyses; what the second connection could not do
    /// (it could not connect, or an ANALYZE failed) is done on `conn`,
    /// whose error is then the run's.
    async fn finish(self, conn: &mut PgConnection) -> Result<(), MigrateError> {
        for t in self.waiting {
            let _ = self.tx.send(self.names[t].clone());
        }
        drop(self.tx);
        let left = self.task.await.map_err(|e| MigrateError::Pipeline {
            table: "-".into(),
            problem: format!("analyzing the tables: {e}"),
        })?;
        for table in left {
            exec(
                conn,
                format!("analyze {}", quote(&table)),
                "analyzing the table",
            )
            .await?;
        }
        Ok(())
    }
}

async fn join<T>(
    h: tokio::task::JoinHandle<Result<T, MigrateError>>,
    what: &str,
) -> Result<T, MigrateError> {
    h.await.map_err(|e| MigrateError::Pipeline {
        table: "-".into(),
        problem: format!("{what}: {e}"),
    })?
}

/// (legacy key -> tenant) of a finished table, read back from the target
/// (a re-run needs them for the orphan check of the tables still to do).
pub async fn keys_in_target(
    conn: &mut PgConnection,
    plan: &Plan,
) -> Result<KeyIndex, MigrateError> {
    let key = quote(&plan.def.columns[plan.key_col].target);
    let tenant = match plan.tenant {
        TenantLink::Column(i) => quote(&plan.def.columns[i].target),
        TenantLink::Root | TenantLink::None => key.clone(),
    };
    // Read as text: a user's schema may give a kept key any integer type.
    let rows = sqlx::query(AssertSqlSafe(format!(
        "select {key}::text, {tenant}::text from {}",
        quote(plan.name())
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target(format!(
        "reading the keys of {}",
        plan.name()
    )))?;
    // A UUID when the table has a uuid_tag, else the legacy integer itself.
    let legacy = |s: Option<String>, tag: Option<u8>| -> Option<i64> {
        let s = s?;
        match tag {
            Some(_) => convert::legacy_key(tag, &convert::Val::Uuid(s.parse().ok()?)),
            None => s.parse().ok(),
        }
    };
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id = legacy(r.get(0), plan.key_tag());
        let tenant = match plan.tenant {
            TenantLink::Column(_) => legacy(r.get(1), plan.tenant_tag),
            TenantLink::Root => id,
            TenantLink::None => None,
        };
        if let Some(i) = id {
            out.push((i, tenant));
        }
    }
    Ok(out.into_iter().collect())
}

struct TableOutcome {
    conv: ConvOut,
    rejects: Vec<RejectRecord>,
    stopped: Option<String>,
    passes: u32,
    seconds: f64,
}

async fn run_table(
    conn: &mut PgConnection,
    plan: &Plan,
    path: &Path,
    fingerprint: &str,
    parents: Arc<Parents>,
    on_error: OnError,
    pb: &ProgressBar,
) -> Result<TableOutcome, MigrateError> {
    let start = Instant::now();
    let name = plan.name();
    let mut skip: HashSet<i64> = HashSet::new();
    let mut pg_rejects: Vec<RejectRecord> = Vec::new();
    let triggers = target::has_user_triggers(conn, name).await?;
    let deferrable = target::deferrable_indexes(conn, name).await?;
    let fks = target::foreign_keys(conn, name).await?;
    let binary = binary_plan(conn, plan).await?;
    // Unique indexes are rebuilt after the COPY too, until one finds a
    // duplicate: the table is then redone with them in place, where the
    // COPY error names the line, hence the legacy row, to reject.
    let mut keep_unique = false;
    let mut passes = 0;
    loop {
        passes += 1;
        pb.set_position(0);
        let indexes: Vec<target::Rebuild> = deferrable
            .iter()
            .filter(|r| !(keep_unique && r.unique))
            .cloned()
            .collect();
        let outcome = pass(
            conn,
            plan,
            path,
            parents.clone(),
            Arc::new(skip.clone()),
            on_error,
            (triggers, &indexes, &fks),
            binary.clone(),
            pb,
        )
        .await?;
        let stop = |conv: ConvOut, all: Vec<RejectRecord>| {
            let why = all
                .iter()
                .find(|r| r.row_absent())
                .map(|r| format!("{} row {:?}: {}", r.table, r.legacy_key, r.reason))
                .unwrap_or_default();
            TableOutcome {
                conv,
                rejects: all,
                stopped: Some(why),
                passes,
                seconds: start.elapsed().as_secs_f64(),
            }
        };
        match outcome {
            PassEnd::Copied(conv) => {
                let mut all = pg_rejects.clone();
                all.extend(conv.rejects.iter().cloned());
                finish_table(conn, name, fingerprint, conv.sent.len() as u64, &all).await?;
                return Ok(TableOutcome {
                    conv,
                    rejects: all,
                    stopped: None,
                    passes,
                    seconds: start.elapsed().as_secs_f64(),
                });
            }
            PassEnd::Duplicates => {
                if keep_unique {
                    return Err(MigrateError::Pipeline {
                        table: name.to_string(),
                        problem: "a unique index found duplicates after the COPY although it was kept through it".into(),
                    });
                }
                tracing::info!("{name}: a unique index found duplicate rows after the COPY; loading again with the unique indexes in place to name them");
                keep_unique = true;
            }
            PassEnd::Stopped(conv) => {
                let mut all = pg_rejects.clone();
                all.extend(conv.rejects.iter().cloned());
                return Ok(stop(conv, all));
            }
            PassEnd::Refused { conv, reject } => {
                let ids: Vec<Option<i64>> = reject.iter().map(|r| r.legacy_key).collect();
                pg_rejects.extend(reject);
                if on_error == OnError::Stop || ids.iter().any(Option::is_none) {
                    return Ok(stop(conv, pg_rejects));
                }
                skip.extend(ids.into_iter().flatten());
            }
        }
    }
}

enum PassEnd {
    Copied(ConvOut),
    Stopped(ConvOut),
    /// A unique index rebuilt after the COPY found duplicates; the
    /// transaction is rolled back and the pass redone with unique indexes
    /// in place, so that COPY names the rows.
    Duplicates,
    /// PostgreSQL refused a row, or rows lost their parent row in the same
    /// table; the transaction is rolled back and the pass redone without them.
    Refused {
        conv: ConvOut,
        reject: Vec<RejectRecord>,
    },
}

async fn exec(conn: &mut PgConnection, sql: String, what: &str) -> Result<(), MigrateError> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(MigrateError::target(what))?;
    Ok(())
}

/// Foreign-key definitions (name, DDL) dropped for a pass and added back
/// after its COPY.
type Deferred<'a> = &'a [(String, String)];

/// Rows whose parent row in the same table did not make it into `sent`:
/// repeated until no such row is left (a chain loses every link below a
/// rejected row), each with the root cause.
fn dangling_self_refs(
    plan: &Plan,
    conv: &ConvOut,
    known: &HashMap<i64, String>,
) -> Vec<RejectRecord> {
    if conv.self_refs.is_empty() {
        // No reference within the table: nothing can dangle (and no set of
        // every key sent is built: 100 MB for a 4 M-row table).
        return Vec::new();
    }
    let mut present: HashSet<i64> = conv.sent.iter().map(|(id, _)| *id).collect();
    let mut cause: HashMap<i64, String> = known.clone();
    for r in &conv.rejects {
        if let (Some(k), true) = (r.legacy_key, r.row_absent()) {
            cause.entry(k).or_insert_with(|| r.root_cause());
        }
    }
    let column = plan
        .refs
        .iter()
        .find(|(_, p)| *p == plan.index)
        .map(|(c, _)| plan.def.columns[*c].target.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    loop {
        let mut changed = false;
        for &(child, parent) in &conv.self_refs {
            if present.contains(&child) && !present.contains(&parent) {
                present.remove(&child);
                changed = true;
                let c = cause.get(&parent).cloned();
                let reason = match &c {
                    Some(_) => format!("its parent row {parent} of the same table was rejected"),
                    None => format!("orphan: row {parent} of the same table does not exist"),
                };
                let record = RejectRecord {
                    table: plan.name().to_string(),
                    legacy_key: Some(child),
                    column: column.clone(),
                    value: serde_json::Value::from(parent),
                    reason,
                    stage: Stage::Orphan,
                    cause: c,
                };
                // A grandchild names the same root as its parent.
                cause.insert(child, record.root_cause());
                out.push(record);
            }
        }
        if !changed {
            return out;
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn pass(
    conn: &mut PgConnection,
    plan: &Plan,
    path: &Path,
    parents: Arc<Parents>,
    skip: Arc<HashSet<i64>>,
    on_error: OnError,
    (triggers, indexes, fks): (bool, &[target::Rebuild], Deferred<'_>),
    binary: Option<Arc<Vec<bool>>>,
    pb: &ProgressBar,
) -> Result<PassEnd, MigrateError> {
    let name = plan.name().to_string();
    let qname = quote(&name);
    exec(conn, "begin".into(), "starting the table's transaction").await?;
    if triggers {
        exec(
            conn,
            format!("alter table {qname} disable trigger user"),
            "disabling user triggers for COPY",
        )
        .await?;
    }
    // Indexes are built once after the COPY instead of row by row, as
    // pg_restore does (unique ones too, unless a previous pass found
    // duplicates: see `run_table`); inside this transaction, so a crash
    // leaves them as they were.
    for (fk, _) in fks {
        exec(
            conn,
            format!("alter table {qname} drop constraint {fk}"),
            "dropping a foreign key for the load",
        )
        .await?;
    }
    for index in indexes {
        exec(conn, index.drop.clone(), "dropping an index for the load").await?;
    }
    let cols: Vec<String> = plan.def.target_columns().map(quote).collect();
    let stmt = format!(
        "copy {qname} ({}) from stdin{}",
        cols.join(", "),
        if binary.is_some() {
            " with (format binary)"
        } else {
            ""
        }
    );
    let mut copy = conn
        .copy_in_raw(&stmt)
        .await
        .map_err(MigrateError::target(format!("starting COPY into {name}")))?;

    let (btx, brx) = std::sync::mpsc::sync_channel::<Vec<Raw>>(4);
    let (ctx, mut crx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let rpath: PathBuf = path.to_path_buf();
    let rplan = plan.clone();
    let reader = std::thread::spawn(move || source::read_table(&rpath, &rplan, None, btx));
    let cpb = pb.clone();
    let cplan = plan.clone();
    let cparents = parents.clone();
    let converter = std::thread::spawn(move || {
        convert_stage(
            &cplan,
            brx,
            ctx,
            &cparents,
            &skip,
            on_error == OnError::Stop,
            binary.as_deref().map(Vec::as_slice),
            &cpb,
        )
    });

    let mut send_err = None;
    while let Some(chunk) = crx.recv().await {
        if let Err(e) = copy.send(chunk).await {
            send_err = Some(e);
            break;
        }
    }
    drop(crx);
    let pipeline = |problem: String| MigrateError::Pipeline {
        table: name.clone(),
        problem,
    };
    let joined = tokio::task::spawn_blocking(move || (converter.join(), reader.join()))
        .await
        .map_err(|e| pipeline(e.to_string()))?;
    let conv = joined
        .0
        .map_err(|_| pipeline("the converter thread panicked".into()))?;
    let read = joined
        .1
        .map_err(|_| pipeline("the reader thread panicked".into()))?;
    if let Some(e) = send_err {
        return Err(MigrateError::Target {
            what: format!("sending COPY data into {name}"),
            source: e,
        });
    }
    if let Err(e) = read {
        discard(copy).await;
        exec(conn, "rollback".into(), "rolling back").await?;
        return Err(e);
    }
    if conv.stopped {
        discard(copy).await;
        exec(conn, "rollback".into(), "rolling back").await?;
        return Ok(PassEnd::Stopped(conv));
    }
    let empty = HashMap::new();
    let dangling = dangling_self_refs(
        plan,
        &conv,
        parents.rejected.get(&plan.index).unwrap_or(&empty),
    );
    if !dangling.is_empty() {
        discard(copy).await;
        exec(conn, "rollback".into(), "rolling back").await?;
        return Ok(PassEnd::Refused {
            conv,
            reject: dangling,
        });
    }
    match copy.finish().await {
        Ok(_) => {
            for index in indexes {
                let def = &index.create;
                // GIN builds are faster with a cache-sized buffer than a
                // large one (it gathers keys in a tree of this size before
                // each flush); b-tree sorts want room to stay in memory.
                let memory = if def.contains(" USING gin ") {
                    GIN_MEMORY
                } else {
                    SORT_MEMORY
                };
                exec(
                    conn,
                    format!("set local maintenance_work_mem = '{memory}'"),
                    "sizing the index build's memory",
                )
                .await?;
                if let Err(e) = sqlx::raw_sql(AssertSqlSafe(def.clone()))
                    .execute(&mut *conn)
                    .await
                {
                    let duplicate = index.unique
                        && e.as_database_error().and_then(|d| d.code()).as_deref() == Some("23505");
                    exec(conn, "rollback".into(), "rolling back").await?;
                    if duplicate {
                        return Ok(PassEnd::Duplicates);
                    }
                    return Err(MigrateError::Target {
                        what: format!("rebuilding an index of {name} after the COPY"),
                        source: e,
                    });
                }
            }
            for (fk, def) in fks {
                exec(
                    conn,
                    format!("alter table {qname} add constraint {fk} {def}"),
                    "adding a foreign key back (validated over the whole table)",
                )
                .await?;
            }
            if triggers {
                exec(
                    conn,
                    format!("alter table {qname} enable trigger user"),
                    "re-enabling user triggers",
                )
                .await?;
            }
            Ok(PassEnd::Copied(conv))
        }
        Err(e) => {
            let refused = row_refusal(&e, &name, &conv.sent);
            exec(conn, "rollback".into(), "rolling back").await?;
            match refused {
                Some(reject) => Ok(PassEnd::Refused {
                    conv,
                    reject: vec![reject],
                }),
                None => Err(MigrateError::Target {
                    what: format!("COPY into {name}"),
                    source: e,
                }),
            }
        }
    }
}

/// End a COPY whose rows the caller rolls back. Not `abort()`: when the
/// server has already refused a row, its error is what answers the
/// CopyFail, and sqlx then leaves the ReadyForQuery unread, so the next
/// statement reads a stale reply ("expected CopyInResponse, got
/// CommandComplete"; found by generated hard values in a self-referencing
/// table). `finish()` reads the server's answer whatever it is; the
/// transaction's rollback discards the rows either way.
async fn discard<C: std::ops::DerefMut<Target = sqlx::PgConnection>>(
    copy: sqlx::postgres::PgCopyIn<C>,
) {
    let _ = copy.finish().await;
}

/// A COPY error that names one row (data exception or constraint
/// violation with a line number) becomes that row's reject record.
fn row_refusal(e: &sqlx::Error, table: &str, sent: &[(i64, i64)]) -> Option<RejectRecord> {
    let d = e
        .as_database_error()?
        .try_downcast_ref::<PgDatabaseError>()?;
    let code = d.code();
    if !(code.starts_with("22") || code.starts_with("23")) {
        return None;
    }
    let context = d.r#where()?;
    let line: usize = context
        .split("line ")
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    let (id, _) = *sent.get(line.checked_sub(1)?)?;
    let column = d
        .column()
        .map(str::to_string)
        .or_else(|| d.constraint().map(|c| format!("constraint {c}")))
        .unwrap_or_else(|| "-".into());
    Some(RejectRecord {
        table: table.into(),
        legacy_key: Some(id),
        column,
        value: d
            .detail()
            .map(|s| serde_json::Value::String(s.into()))
            .unwrap_or(serde_json::Value::Null),
        reason: format!(
            "PostgreSQL refused the row: {} (SQLSTATE {code})",
            d.message()
        ),
        stage: Stage::Postgres,
        cause: None,
    })
}

/// Commit marker and rejects, then COMMIT: the table is now whole.
async fn finish_table(
    conn: &mut PgConnection,
    table: &str,
    fingerprint: &str,
    rows: u64,
    rejects: &[RejectRecord],
) -> Result<(), MigrateError> {
    if !rejects.is_empty() {
        let names: Vec<String> = rejects.iter().map(|r| r.table.clone()).collect();
        let keys: Vec<Option<i64>> = rejects.iter().map(|r| r.legacy_key).collect();
        let cols: Vec<String> = rejects.iter().map(|r| r.column.clone()).collect();
        let reasons: Vec<String> = rejects.iter().map(|r| r.reason.clone()).collect();
        let values: Vec<String> = rejects.iter().map(|r| r.value.to_string()).collect();
        let stages: Vec<String> = rejects
            .iter()
            .map(|r| r.stage.as_str().to_string())
            .collect();
        sqlx::query(
            "insert into harness_migration.rejects (table_name, legacy_key, column_name, reason, value, stage)
             select * from unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[])",
        )
        .bind(names)
        .bind(keys)
        .bind(cols)
        .bind(reasons)
        .bind(values)
        .bind(stages)
        .execute(&mut *conn)
        .await
        .map_err(MigrateError::target("recording rejects"))?;
    }
    let absent = rejects.iter().filter(|r| r.row_absent()).count();
    sqlx::query(
        "insert into harness_migration.tables (table_name, source_sha256, rows_copied, rows_rejected)
         values ($1, $2, $3, $4)",
    )
    .bind(table)
    .bind(fingerprint)
    .bind(rows as i64)
    .bind(absent as i64)
    .execute(&mut *conn)
    .await
    .map_err(MigrateError::target(format!("writing the commit marker of {table}")))?;
    exec(conn, "commit".into(), "committing the table").await
}

/// The converter thread: rules, orphan check, COPY data and digests.
/// `binary`: COPY's binary format, with each column's "is int4" flag.
#[allow(clippy::too_many_arguments)]
fn convert_stage(
    plan: &Plan,
    rx: std::sync::mpsc::Receiver<Vec<Raw>>,
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    parents: &Parents,
    skip: &HashSet<i64>,
    stop_on_reject: bool,
    binary: Option<&[bool]>,
    pb: &ProgressBar,
) -> ConvOut {
    let width = plan.legacy_width();
    let name = plan.name().to_string();
    let mut out = ConvOut::default();
    // Sized once from the table's row count: grown by doubling, the list
    // held its old and new copies at once (100 MB for 4 M rows).
    out.sent
        .reserve_exact(pb.length().unwrap_or(0).min(1 << 32) as usize);
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    if binary.is_some() {
        buf.extend_from_slice(binary::HEADER);
    }
    let mut scratch = Vec::with_capacity(512);
    'batches: for batch in rx {
        let n = batch.len() / width;
        for raws in batch.chunks(width) {
            let row = match plan.convert(raws) {
                Ok(r) => r,
                Err((key, rej)) => {
                    out.rejects.push(RejectRecord {
                        table: name.clone(),
                        legacy_key: key,
                        column: rej.column,
                        value: rej.value,
                        reason: rej.reason,
                        stage: Stage::Convert,
                        cause: None,
                    });
                    if stop_on_reject {
                        out.stopped = true;
                        break 'batches;
                    }
                    continue;
                }
            };
            if skip.contains(&row.legacy_id) {
                continue;
            }
            if let Some(rej) = orphan(&row, plan, parents, &mut out.self_refs) {
                out.rejects.push(rej);
                if stop_on_reject {
                    out.stopped = true;
                    break 'batches;
                }
                continue;
            }
            for cell in &row.nulled {
                out.rejects.push(RejectRecord {
                    table: name.clone(),
                    legacy_key: Some(row.legacy_id),
                    column: cell.column.clone(),
                    value: cell.value.clone(),
                    reason: format!(
                        "{}; kept the row with this cell NULL (on_bad = \"null\")",
                        cell.reason
                    ),
                    stage: Stage::Cell,
                    cause: None,
                });
            }
            out.unknown += u64::from(row.unknown_to_null);
            match binary {
                Some(int4) => binary::encode_row(&row.vals, int4, &mut buf),
                None => convert::to_copy(&row.vals, &mut buf),
            }
            let h = convert::row_hash(&row.vals, &mut scratch);
            out.digests.entry(row.tenant).or_default().add(h);
            out.sent.push((row.legacy_id, pack(row.tenant)));
            if buf.len() >= CHUNK_BYTES {
                out.bytes += buf.len() as u64;
                let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK_BYTES + 4096));
                if tx.blocking_send(full).is_err() {
                    return out;
                }
            }
        }
        pb.inc(n as u64);
    }
    if binary.is_some() {
        buf.extend_from_slice(binary::TRAILER);
    }
    if !buf.is_empty() && !out.stopped {
        out.bytes += buf.len() as u64;
        let _ = tx.blocking_send(buf);
    }
    out
}

/// Whether the table can take COPY's binary format: every target column
/// has exactly the type its rule sends (binary input does not cast). Some
/// with each column's "is int4" flag; None keeps the text format.
async fn binary_plan(
    conn: &mut PgConnection,
    plan: &Plan,
) -> Result<Option<Arc<Vec<bool>>>, MigrateError> {
    let types: HashMap<String, String> = sqlx::query_as(
        "select a.attname::text, t.typname::text from pg_attribute a join pg_type t on t.oid = a.atttypid
         where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped",
    )
    .bind(quote(plan.name()))
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target(format!("reading the column types of {}", plan.name())))?
    .into_iter()
    .collect();
    let mut int4 = Vec::with_capacity(plan.def.columns.len());
    for (i, c) in plan.def.columns.iter().enumerate() {
        let key_uuid = match &c.rule {
            crate::app::Rule::Ref { .. } => plan.ref_tag(i).is_some(),
            crate::app::Rule::RecordRef { .. } => match plan.record_ref_tags() {
                Some(all_uuid) => all_uuid,
                None => return Ok(None),
            },
            _ => false,
        };
        let want = binary::expected_type(&c.rule, key_uuid);
        if types.get(&c.target).map(String::as_str) != Some(want) {
            tracing::info!(
                "{}.{}: its type is {:?}, the rule sends {want}: the table is loaded as text",
                plan.name(),
                c.target,
                types.get(&c.target)
            );
            return Ok(None);
        }
        int4.push(want == "int4");
    }
    Ok(Some(Arc::new(int4)))
}

/// The first reference of `row` that points nowhere: to a missing row, to
/// a rejected row (with its root cause), or into another tenant. References
/// within the table are collected for [`dangling_self_refs`].
fn orphan(
    row: &convert::Row,
    plan: &Plan,
    parents: &Parents,
    self_refs: &mut Vec<(i64, i64)>,
) -> Option<RejectRecord> {
    for &(i, parent) in &plan.refs {
        let Some(id) = plan.ref_of(i, &row.vals[i]) else {
            continue;
        };
        if parent == plan.index {
            self_refs.push((row.legacy_id, id));
            continue;
        }
        let column = &plan.def.columns[i].target;
        let keys = parents.keys.get(&parent)?;
        let rejected = parents.rejected.get(&parent).and_then(|m| m.get(&id));
        let root_ref = plan.tenant == TenantLink::Column(i);
        let (problem, cause) = match keys.get(&id) {
            None => match rejected {
                Some(c) => (
                    format!("its parent row {id} ({column}) was rejected"),
                    Some(c.clone()),
                ),
                None => (
                    format!(
                        "orphan: {} row {id} ({column}) does not exist in the legacy file",
                        plan.parent_name(i)
                    ),
                    None,
                ),
            },
            Some(owner) if !root_ref && owner.is_some() && row.tenant.is_some() && owner != row.tenant => (
                format!(
                    "cross-tenant reference: row {id} ({column}) belongs to tenant {}, this row to tenant {}",
                    owner.unwrap_or_default(),
                    row.tenant.unwrap_or_default()
                ),
                None,
            ),
            Some(_) => continue,
        };
        return Some(RejectRecord {
            table: plan.name().to_string(),
            legacy_key: Some(row.legacy_id),
            column: column.clone(),
            value: serde_json::Value::from(id),
            reason: problem,
            stage: Stage::Orphan,
            cause,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::KeyIndex;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Rows as the converter sees them: keys in blocks (consecutive, with
    /// gaps between blocks, sometimes repeated), each block one tenant or
    /// tenants changing row by row, some rows without tenant.
    fn rows() -> impl Strategy<Value = Vec<(i64, Option<i64>)>> {
        prop::collection::vec(
            (
                prop_oneof![Just(i64::MIN), -5i64..5, 0i64..1_000, Just(i64::MAX - 3)],
                1usize..40,
                prop::option::of(0i64..4),
                any::<bool>(),
            ),
            0..30,
        )
        .prop_map(|blocks| {
            let mut out = Vec::new();
            for (start, len, tenant, interleave) in blocks {
                for j in 0..len as i64 {
                    let Some(k) = start.checked_add(j) else { break };
                    let t = match (interleave, tenant) {
                        (true, Some(t)) => Some(t + j % 2),
                        _ => tenant,
                    };
                    out.push((k, t));
                }
            }
            out
        })
    }

    proptest! {
        /// Whichever form it picks, the index answers as a map built from
        /// the same rows (first row of a key wins), for present keys, their
        /// neighbours and far-off keys; and it is never larger than the
        /// pairs form.
        #[test]
        fn answers_as_a_map_of_the_rows(rows in rows(), probes in prop::collection::vec(any::<i64>(), 0..20)) {
            let mut oracle: BTreeMap<i64, Option<i64>> = BTreeMap::new();
            for &(k, t) in &rows {
                oracle.entry(k).or_insert(t);
            }
            let index: KeyIndex = rows.iter().copied().collect();
            prop_assert_eq!(index.len(), oracle.len());
            prop_assert!(index.heap_bytes() <= oracle.len() * 16);
            let near = oracle.keys().flat_map(|k| [k.wrapping_sub(1), *k, k.wrapping_add(1)]);
            for k in near.chain(probes) {
                prop_assert_eq!(index.get(&k), oracle.get(&k).copied(), "key {}", k);
            }
        }
    }

    #[test]
    fn tenant_blocks_become_a_few_runs() {
        let rows: Vec<(i64, Option<i64>)> = (1..=100_000).map(|k| (k, Some(k / 1000))).collect();
        let index: KeyIndex = rows.into_iter().collect();
        assert!(
            matches!(&index, KeyIndex::Runs(r) if r.len() == 101),
            "{:?}",
            index.len()
        );
        assert_eq!(index.get(&4_500), Some(Some(4)));
        assert_eq!(index.get(&100_001), None);
    }
}
