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
//!   references into another tenant and children of rejected parents.
//! - Bulk-load order inside that transaction, as pg_restore does it:
//!   non-unique secondary indexes (GIN over tsvector above all) are dropped
//!   and rebuilt once after the COPY, foreign keys are added back after it
//!   and validated in one pass. Unique indexes stay: they are how PostgreSQL
//!   names the duplicate row's line.
//! - What only PostgreSQL can judge (the per-tenant `lower(email)` unique
//!   index, CHECKs) is found by COPY itself: the error names the line, the
//!   line names the legacy row, the row is rejected and the table redone
//!   without it (one extra pass per such row; these are rare).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use fixtures::ids;
use fixtures::schema::{Kind, Table};
use indicatif::ProgressBar;
use sqlx::postgres::{PgConnectOptions, PgDatabaseError};
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::convert::{self, Plan, Raw, Val};
use super::reject::{RejectFile, RejectRecord, Stage};
use super::source::{self, Source};
use super::summary::Progress;
use super::target::{self, TableState};
use super::verify::{self, Digests};
use super::{MigrateError, MigrateOptions, MigrationReport, OnError, TableReport};

/// COPY chunk size handed to the writer.
const CHUNK_BYTES: usize = 256 * 1024;

/// Legacy id -> legacy tenant of the rows migrated, per parent table.
pub type Parents = HashMap<Table, HashMap<i64, i64>>;

/// Tables some other table references (their keys are kept for the orphan check).
pub fn is_parent(t: Table) -> bool {
    fixtures::schema::TABLES
        .iter()
        .flat_map(|d| d.columns.iter())
        .any(|c| c.kind == Kind::Ref(t))
}

/// What the converter produced in one pass.
#[derive(Default)]
struct ConvOut {
    /// (legacy id, tenant) of every row sent, in COPY line order.
    sent: Vec<(i64, i64)>,
    digests: Digests,
    rejects: Vec<RejectRecord>,
    unknown: u64,
    bytes: u64,
    stopped: bool,
}

/// Migrate `source` into `target`. See the module docs of [`super`].
pub async fn migrate(
    source: &Path,
    target: &PgConnectOptions,
    opts: &MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let t0 = Instant::now();
    let path = source.to_path_buf();
    let (p1, p2) = (path.clone(), path.clone());
    let integrity = opts.integrity_check;
    let open = tokio::task::spawn_blocking(move || Source::open(&p1, integrity));
    let fp = tokio::task::spawn_blocking(move || source::fingerprint(&p2));
    let src = join(open, "validating the legacy file").await?;
    let fingerprint = join(fp, "hashing the legacy file").await?;

    let mut conn = target::connect(target).await?;
    target::prepare(&mut conn).await?;
    let role = target::become_migration_role(&mut conn, true).await?;
    let states = target::table_states(&mut conn).await?;
    // Refuse before writing a single row.
    for t in Table::ALL {
        match &states[&t] {
            TableState::Done {
                fingerprint: fp, ..
            } if *fp != fingerprint => {
                return Err(MigrateError::TargetNotEmpty {
                    table: t.name().into(),
                    why: format!(
                        "a migration of another legacy file (sha256 {}) wrote",
                        &fp[..12]
                    ),
                })
            }
            TableState::Foreign => {
                return Err(MigrateError::TargetNotEmpty {
                    table: t.name().into(),
                    why: "no harness migration wrote".into(),
                })
            }
            _ => {}
        }
    }

    let mut rejects = RejectFile::create(&opts.reject_path)?;
    let progress = Progress::new(opts.progress);
    let mut parents: Arc<Parents> = Arc::new(HashMap::new());
    let mut report = MigrationReport {
        reject_path: opts.reject_path.clone(),
        role,
        ..Default::default()
    };
    let mut digests: HashMap<Table, Digests> = HashMap::new();
    for t in Table::ALL {
        let rows_read = src.counts[&t];
        if let TableState::Done { rows, .. } = &states[&t] {
            if is_parent(t) {
                let keys = keys_in_target(&mut conn, t).await?;
                Arc::make_mut(&mut parents).insert(t, keys);
            }
            report.tables.push(TableReport {
                table: t.name().into(),
                rows_read,
                rows_copied: *rows,
                already_done: true,
                ..Default::default()
            });
            continue;
        }
        let pb = progress.table(t.name(), rows_read);
        let out = run_table(
            &mut conn,
            t,
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
        report.rejects += out.rejects.len() as u64;
        report.tables.push(TableReport {
            table: t.name().into(),
            rows_read,
            rows_copied: if out.stopped.is_some() {
                0
            } else {
                out.conv.sent.len() as u64
            },
            rejects: out.rejects.len() as u64,
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
        if is_parent(t) {
            let map: HashMap<i64, i64> = out.conv.sent.iter().copied().collect();
            Arc::make_mut(&mut parents).insert(t, map);
        }
        digests.insert(t, out.conv.digests);
    }
    report.load_seconds = t0.elapsed().as_secs_f64();
    drop(parents);

    if opts.verify && report.stopped.is_none() {
        let t1 = Instant::now();
        let v = verify::verify_with(&path, &mut conn, digests).await?;
        report.verify_seconds = t1.elapsed().as_secs_f64();
        report.verify = Some(v);
    }
    target::close(conn).await;
    Ok(report)
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

/// (legacy id -> tenant) of a finished table, read back from the target
/// (a re-run needs them for the orphan check of the tables still to do).
pub async fn keys_in_target(
    conn: &mut PgConnection,
    t: Table,
) -> Result<HashMap<i64, i64>, MigrateError> {
    let tenant_col = if t.is_tenant_child() {
        "company_id"
    } else {
        "id"
    };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "select id, {tenant_col} from \"{}\"",
        t.name()
    )))
    .fetch_all(&mut *conn)
    .await
    .map_err(MigrateError::target(format!(
        "reading the keys of {}",
        t.name()
    )))?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let id: uuid::Uuid = r.get(0);
        let company: uuid::Uuid = r.get(1);
        if let (Some(i), Some(c)) = (
            ids::legacy_id(t, id),
            ids::legacy_id(Table::Companies, company),
        ) {
            out.insert(i, c);
        }
    }
    Ok(out)
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
    t: Table,
    path: &Path,
    fingerprint: &str,
    parents: Arc<Parents>,
    on_error: OnError,
    pb: &ProgressBar,
) -> Result<TableOutcome, MigrateError> {
    let start = Instant::now();
    let mut skip: HashSet<i64> = HashSet::new();
    let mut pg_rejects: Vec<RejectRecord> = Vec::new();
    let triggers = target::has_user_triggers(conn, t).await?;
    let indexes = target::deferrable_indexes(conn, t).await?;
    let fks = target::foreign_keys(conn, t).await?;
    let mut passes = 0;
    loop {
        passes += 1;
        pb.set_position(0);
        let outcome = pass(
            conn,
            t,
            path,
            parents.clone(),
            Arc::new(skip.clone()),
            on_error,
            (triggers, &indexes, &fks),
            pb,
        )
        .await?;
        match outcome {
            PassEnd::Copied(conv) => {
                let mut all = pg_rejects.clone();
                all.extend(conv.rejects.iter().cloned());
                finish_table(conn, t, fingerprint, conv.sent.len() as u64, &all).await?;
                // Fresh statistics for the first queries after the migration.
                exec(
                    conn,
                    format!("analyze \"{}\"", t.name()),
                    "analyzing the table",
                )
                .await?;
                return Ok(TableOutcome {
                    conv,
                    rejects: all,
                    stopped: None,
                    passes,
                    seconds: start.elapsed().as_secs_f64(),
                });
            }
            PassEnd::Stopped(conv) => {
                let mut all = pg_rejects.clone();
                all.extend(conv.rejects.iter().cloned());
                let why = all
                    .first()
                    .map(|r| format!("{} row {:?}: {}", r.table, r.legacy_key, r.reason))
                    .unwrap_or_default();
                return Ok(TableOutcome {
                    conv,
                    rejects: all,
                    stopped: Some(why),
                    passes,
                    seconds: start.elapsed().as_secs_f64(),
                });
            }
            PassEnd::Refused { conv, reject } => {
                let id = reject.legacy_key;
                pg_rejects.push(reject);
                if on_error == OnError::Stop || id.is_none() {
                    let why = format!(
                        "{} row {:?}: {}",
                        t.name(),
                        id,
                        pg_rejects
                            .last()
                            .map(|r| r.reason.clone())
                            .unwrap_or_default()
                    );
                    return Ok(TableOutcome {
                        conv,
                        rejects: pg_rejects,
                        stopped: Some(why),
                        passes,
                        seconds: start.elapsed().as_secs_f64(),
                    });
                }
                skip.insert(id.expect("checked"));
            }
        }
    }
}

enum PassEnd {
    Copied(ConvOut),
    Stopped(ConvOut),
    /// PostgreSQL refused one row; the transaction is rolled back.
    Refused {
        conv: ConvOut,
        reject: RejectRecord,
    },
}

async fn exec(conn: &mut PgConnection, sql: String, what: &str) -> Result<(), MigrateError> {
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .map_err(MigrateError::target(what))?;
    Ok(())
}

/// Index and foreign-key definitions (name, DDL) dropped for a pass and
/// rebuilt after its COPY.
type Deferred<'a> = &'a [(String, String)];

#[allow(clippy::too_many_arguments)]
async fn pass(
    conn: &mut PgConnection,
    t: Table,
    path: &Path,
    parents: Arc<Parents>,
    skip: Arc<HashSet<i64>>,
    on_error: OnError,
    (triggers, indexes, fks): (bool, Deferred<'_>, Deferred<'_>),
    pb: &ProgressBar,
) -> Result<PassEnd, MigrateError> {
    exec(conn, "begin".into(), "starting the table's transaction").await?;
    if triggers {
        exec(
            conn,
            format!("alter table \"{}\" disable trigger user", t.name()),
            "disabling user triggers for COPY",
        )
        .await?;
    }
    // Secondary indexes (not unique: those find duplicates by line) are
    // built once after the COPY instead of row by row, as pg_restore does;
    // inside this transaction, so a crash leaves them as they were.
    for (name, _) in fks {
        exec(
            conn,
            format!("alter table \"{}\" drop constraint {name}", t.name()),
            "dropping a foreign key for the load",
        )
        .await?;
    }
    for (name, _) in indexes {
        exec(
            conn,
            format!("drop index {name}"),
            "dropping a secondary index for the load",
        )
        .await?;
    }
    let cols: Vec<String> = t
        .def()
        .target_columns()
        .map(|c| format!("\"{c}\""))
        .collect();
    let stmt = format!("copy \"{}\" ({}) from stdin", t.name(), cols.join(", "));
    let mut copy = conn
        .copy_in_raw(&stmt)
        .await
        .map_err(MigrateError::target(format!(
            "starting COPY into {}",
            t.name()
        )))?;

    let (btx, brx) = std::sync::mpsc::sync_channel::<Vec<Raw>>(4);
    let (ctx, mut crx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let rpath: PathBuf = path.to_path_buf();
    let reader = std::thread::spawn(move || source::read_table(&rpath, t, None, btx));
    let cpb = pb.clone();
    let converter = std::thread::spawn(move || {
        convert_stage(
            t,
            brx,
            ctx,
            &parents,
            &skip,
            on_error == OnError::Stop,
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
    let joined = tokio::task::spawn_blocking(move || (converter.join(), reader.join()))
        .await
        .map_err(|e| MigrateError::Pipeline {
            table: t.name().into(),
            problem: e.to_string(),
        })?;
    let conv = joined.0.map_err(|_| MigrateError::Pipeline {
        table: t.name().into(),
        problem: "the converter thread panicked".into(),
    })?;
    let read = joined.1.map_err(|_| MigrateError::Pipeline {
        table: t.name().into(),
        problem: "the reader thread panicked".into(),
    })?;
    if let Some(e) = send_err {
        return Err(MigrateError::Target {
            what: format!("sending COPY data into {}", t.name()),
            source: e,
        });
    }
    if let Err(e) = read {
        let _ = copy.abort("the legacy read failed").await;
        exec(conn, "rollback".into(), "rolling back").await?;
        return Err(e);
    }
    if conv.stopped {
        let _ = copy
            .abort("a row was rejected and --on-error is stop")
            .await;
        exec(conn, "rollback".into(), "rolling back").await?;
        return Ok(PassEnd::Stopped(conv));
    }
    match copy.finish().await {
        Ok(_) => {
            for (_, def) in indexes {
                exec(conn, def.clone(), "rebuilding a secondary index").await?;
            }
            for (name, def) in fks {
                exec(
                    conn,
                    format!("alter table \"{}\" add constraint {name} {def}", t.name()),
                    "adding a foreign key back (validated over the whole table)",
                )
                .await?;
            }
            if triggers {
                exec(
                    conn,
                    format!("alter table \"{}\" enable trigger user", t.name()),
                    "re-enabling user triggers",
                )
                .await?;
            }
            Ok(PassEnd::Copied(conv))
        }
        Err(e) => {
            let refused = row_refusal(&e, t, &conv.sent);
            exec(conn, "rollback".into(), "rolling back").await?;
            match refused {
                Some(reject) => Ok(PassEnd::Refused { conv, reject }),
                None => Err(MigrateError::Target {
                    what: format!("COPY into {}", t.name()),
                    source: e,
                }),
            }
        }
    }
}

/// A COPY error that names one row (data exception or constraint
/// violation with a line number) becomes that row's reject record.
fn row_refusal(e: &sqlx::Error, t: Table, sent: &[(i64, i64)]) -> Option<RejectRecord> {
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
        table: t.name().into(),
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
    })
}

/// Commit marker and rejects, then COMMIT: the table is now whole.
async fn finish_table(
    conn: &mut PgConnection,
    t: Table,
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
        sqlx::query(
            "insert into harness_migration.rejects (table_name, legacy_key, column_name, reason, value)
             select * from unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[])",
        )
        .bind(names)
        .bind(keys)
        .bind(cols)
        .bind(reasons)
        .bind(values)
        .execute(&mut *conn)
        .await
        .map_err(MigrateError::target("recording rejects"))?;
    }
    sqlx::query(
        "insert into harness_migration.tables (table_name, source_sha256, rows_copied, rows_rejected)
         values ($1, $2, $3, $4)",
    )
    .bind(t.name())
    .bind(fingerprint)
    .bind(rows as i64)
    .bind(rejects.len() as i64)
    .execute(&mut *conn)
    .await
    .map_err(MigrateError::target(format!("writing the commit marker of {}", t.name())))?;
    exec(conn, "commit".into(), "committing the table").await
}

/// The converter thread: rules, orphan check, COPY text and digests.
fn convert_stage(
    t: Table,
    rx: std::sync::mpsc::Receiver<Vec<Raw>>,
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    parents: &Parents,
    skip: &HashSet<i64>,
    stop_on_reject: bool,
    pb: &ProgressBar,
) -> ConvOut {
    let plan = Plan::new(t);
    let width = plan.legacy_width();
    let refs: Vec<(usize, Table)> = t
        .def()
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| match c.kind {
            Kind::Ref(p) => Some((i, p)),
            _ => None,
        })
        .collect();
    let mut out = ConvOut::default();
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut scratch = Vec::with_capacity(512);
    'batches: for batch in rx {
        let n = batch.len() / width;
        for raws in batch.chunks(width) {
            let row = match plan.convert(raws) {
                Ok(r) => r,
                Err((key, rej)) => {
                    out.rejects.push(RejectRecord {
                        table: t.name().into(),
                        legacy_key: key,
                        column: rej.column,
                        value: rej.value,
                        reason: rej.reason,
                        stage: Stage::Convert,
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
            if let Some(rej) = orphan(&row, &refs, t, parents) {
                out.rejects.push(rej);
                if stop_on_reject {
                    out.stopped = true;
                    break 'batches;
                }
                continue;
            }
            out.unknown += u64::from(row.unknown_to_null);
            convert::to_copy(&row.vals, &mut buf);
            let h = convert::row_hash(&row.vals, &mut scratch);
            out.digests.entry(row.tenant).or_default().add(h);
            out.sent.push((row.legacy_id, row.tenant));
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
    if !buf.is_empty() && !out.stopped {
        out.bytes += buf.len() as u64;
        let _ = tx.blocking_send(buf);
    }
    out
}

fn orphan(
    row: &convert::Row,
    refs: &[(usize, Table)],
    t: Table,
    parents: &Parents,
) -> Option<RejectRecord> {
    for &(i, parent) in refs {
        let Val::Uuid(u) = &row.vals[i] else { continue };
        let id = ids::legacy_id(parent, *u).expect("made by to_uuid");
        let keys = parents.get(&parent)?;
        let column = t.def().columns[i].target;
        let problem = match keys.get(&id) {
            None => format!("orphan: {parent} {id} does not exist in the target (missing, or rejected itself)"),
            Some(owner) if parent != Table::Companies && *owner != row.tenant => format!(
                "cross-tenant reference: {parent} {id} belongs to company {owner}, this row to company {}",
                row.tenant
            ),
            Some(_) => continue,
        };
        return Some(RejectRecord {
            table: t.name().into(),
            legacy_key: Some(row.legacy_id),
            column: column.into(),
            value: serde_json::Value::from(id),
            reason: problem,
            stage: Stage::Orphan,
        });
    }
    None
}
