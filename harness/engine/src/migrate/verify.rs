//! Verification: row counts, then canonical per-row digests rolled up per
//! table and per tenant on both sides; a mismatch is bisected down to rows.
//!
//! The digest of a row is the first 128 bits of SHA-256 over its canonical
//! bytes ([`convert::canonical`]), computed from the legacy row *after*
//! conversion and from the PostgreSQL row read back typed; both sides go
//! through the same [`Val`]s, so a difference means the data differs, not
//! the formatting. A group's digest is the wrapping sum of its rows'
//! digests: order-independent (no ORDER BY needed on either side) and
//! additive, so the digest of an id range is the sum of its rows, which is
//! what the bisection (the reladiff idea) narrows on. Rows the migration
//! rejected (recorded in `harness_migration.rejects`) are expected absent.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::convert::{self, Plan, Raw, Val};
use super::source::{self, Source};
use super::{target, MigrateError};
use crate::app::{quote, App, Rule, TenantLink};

/// Rows and digest sum of a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agg {
    pub rows: u64,
    pub sum: u128,
}

impl Agg {
    pub fn add(&mut self, h: u128) {
        self.rows += 1;
        self.sum = self.sum.wrapping_add(h);
    }
    fn merge(&mut self, o: Agg) {
        self.rows += o.rows;
        self.sum = self.sum.wrapping_add(o.sum);
    }
}

/// Per tenant (legacy tenant id; `None`: rows of no tenant) aggregates of one table.
pub type Digests = HashMap<Option<i64>, Agg>;

/// How one row differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RowDiffKind {
    /// In the legacy file (converted, not rejected), not in PostgreSQL.
    Missing,
    /// In PostgreSQL, not in the legacy file.
    Extra,
    /// In both, with different values.
    Changed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowDiff {
    /// Legacy id (None: a PostgreSQL row whose UUID is not from the migration).
    pub legacy_id: Option<i64>,
    pub kind: RowDiffKind,
    /// Columns that differ (Changed only).
    pub columns: Vec<String>,
}

/// A (table, tenant) whose digests differ, narrowed to rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    pub table: String,
    /// Legacy tenant id (None: rows without a tenant, or whose tenant is
    /// not from the migration).
    pub tenant: Option<i64>,
    pub source_rows: u64,
    pub target_rows: u64,
    /// The differing rows found by bisection (at most [`MAX_ROWS`]).
    pub rows: Vec<RowDiff>,
}

pub const MAX_ROWS: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableVerify {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    /// Hex of the table's digest sum on each side.
    pub source_digest: String,
    pub target_digest: String,
    pub tenants: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub tables: Vec<TableVerify>,
    pub mismatches: Vec<Mismatch>,
    /// Legacy rows that fail conversion but were never recorded as rejected.
    pub unrecorded_rejects: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty() && self.unrecorded_rejects.is_empty()
    }
}

/// Verify a legacy file against its migrated copy.
pub async fn verify(
    app: &App,
    source: &Path,
    target: &PgConnectOptions,
) -> Result<VerifyReport, MigrateError> {
    let p = source.to_path_buf();
    let a = app.clone();
    tokio::task::spawn_blocking(move || Source::open(&p, &a, false))
        .await
        .map_err(|e| MigrateError::Pipeline {
            table: "-".into(),
            problem: e.to_string(),
        })??;
    let mut conn = target::connect(target).await?;
    target::become_migration_role(&mut conn, &app.toml.roles.owner, false).await?;
    let r = verify_with(app, source, &mut conn, HashMap::new()).await;
    target::close(conn).await;
    r
}

/// Verify with source digests already computed for some tables (the
/// migration computes them while converting).
pub(crate) async fn verify_with(
    app: &App,
    path: &Path,
    conn: &mut PgConnection,
    mut known: HashMap<usize, Digests>,
) -> Result<VerifyReport, MigrateError> {
    let rejected = target::rejected_keys(conn).await?;
    let mut report = VerifyReport::default();
    for plan in Plan::all(app) {
        let name = plan.name().to_string();
        let skip: HashSet<i64> = rejected
            .get(&name)
            .map(|v| v.iter().copied().collect())
            .unwrap_or_default();
        let src = match known.remove(&plan.index) {
            Some(d) => d,
            None => {
                let s = source_rows(path, &plan, None, skip.clone(), false).await?;
                report.unrecorded_rejects.extend(s.problems);
                s.digests
            }
        };
        let tgt = target_rows(conn, &plan, None, false).await?;
        let (sa, ta) = (total(&src), total(&tgt.digests));
        report.tables.push(TableVerify {
            table: name.clone(),
            source_rows: sa.rows,
            target_rows: ta.rows,
            source_digest: format!("{:032x}", sa.sum),
            target_digest: format!("{:032x}", ta.sum),
            tenants: src.len(),
        });
        let tenants: BTreeSet<Option<i64>> =
            src.keys().chain(tgt.digests.keys()).copied().collect();
        for tenant in tenants {
            let (a, b) = (
                src.get(&tenant).copied().unwrap_or_default(),
                tgt.digests.get(&tenant).copied().unwrap_or_default(),
            );
            if a != b {
                let rows = locate(path, conn, &plan, tenant, &skip).await?;
                report.mismatches.push(Mismatch {
                    table: name.clone(),
                    tenant,
                    source_rows: a.rows,
                    target_rows: b.rows,
                    rows,
                });
            }
        }
    }
    Ok(report)
}

fn total(d: &Digests) -> Agg {
    let mut a = Agg::default();
    for v in d.values() {
        a.merge(*v);
    }
    a
}

/// One side's rows of a table (or one tenant of it).
#[derive(Default)]
pub struct Side {
    pub digests: Digests,
    /// (legacy id, digest, values), sorted by id; kept only when asked.
    pub rows: Vec<(Option<i64>, u128, Vec<Val>)>,
    pub problems: Vec<String>,
}

/// Read and convert the legacy side (a reader thread feeding this one).
pub async fn source_rows(
    path: &Path,
    plan: &Plan,
    tenant: Option<Option<i64>>,
    rejected: HashSet<i64>,
    keep: bool,
) -> Result<Side, MigrateError> {
    let path = path.to_path_buf();
    let plan = plan.clone();
    let name = plan.name().to_string();
    tokio::task::spawn_blocking(move || {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Raw>>(4);
        let rp = path.clone();
        let rplan = plan.clone();
        let reader = std::thread::spawn(move || source::read_table(&rp, &rplan, tenant, tx));
        let width = plan.legacy_width();
        let mut side = Side::default();
        let mut scratch = Vec::new();
        for batch in rx {
            for raws in batch.chunks(width) {
                match plan.convert(raws) {
                    Ok(row) => {
                        if rejected.contains(&row.legacy_id) {
                            continue;
                        }
                        let h = convert::row_hash(&row.vals, &mut scratch);
                        side.digests.entry(row.tenant).or_default().add(h);
                        if keep {
                            side.rows.push((Some(row.legacy_id), h, row.vals));
                        }
                    }
                    Err((key, rej)) => {
                        if key.is_none_or(|k| !rejected.contains(&k)) {
                            side.problems.push(format!(
                                "{} row {key:?} fails conversion ({}: {}) but is not recorded as rejected",
                                plan.name(),
                                rej.column,
                                rej.reason
                            ));
                        }
                    }
                }
            }
        }
        reader.join().map_err(|_| MigrateError::Pipeline {
            table: plan.name().into(),
            problem: "the reader thread panicked".into(),
        })??;
        Ok(side)
    })
    .await
    .map_err(|e| MigrateError::Pipeline {
        table: name,
        problem: e.to_string(),
    })?
}

/// A target value as a SQL literal (keys and tenant ids only).
fn sql_literal(v: &Val) -> String {
    match v {
        Val::Uuid(u) => format!("'{u}'::uuid"),
        Val::Int(i) => i.to_string(),
        _ => unreachable!("keys are UUIDs or integers"),
    }
}

/// The SELECT list that reads a table back typed, optionally for one
/// tenant (`Some(None)`: rows without a tenant).
pub fn select_target_sql(plan: &Plan, tenant: Option<Option<i64>>) -> String {
    let mut exprs = Vec::new();
    for c in &plan.def.columns {
        let q = quote(&c.target);
        match c.rule {
            Rule::Point => {
                exprs.push(format!("({q})[0]"));
                exprs.push(format!("({q})[1]"));
            }
            Rule::Numeric { .. } | Rule::Jsonb | Rule::Inet => exprs.push(format!("{q}::text")),
            _ => exprs.push(q),
        }
    }
    let key = quote(&plan.def.columns[plan.key_col].target);
    let filter = match (tenant, plan.tenant) {
        (Some(Some(t)), TenantLink::Root) => {
            format!(" where {key} = {}", sql_literal(&plan.key_val(t)))
        }
        (Some(Some(t)), TenantLink::Column(i)) => format!(
            " where {} = {}",
            quote(&plan.def.columns[i].target),
            sql_literal(&plan.tenant_val(t))
        ),
        // Rows of no tenant, and rows whose tenant the migration did not make.
        (Some(None), TenantLink::Column(i)) => {
            let col = quote(&plan.def.columns[i].target);
            match plan.tenant_tag {
                Some(tag) => format!(
                    " where {col} is null or substr(uuid_send({col}), 1, 5) <> '\\x{}'::bytea",
                    super::keys::prefix_hex(tag)
                ),
                None => format!(" where {col} is null"),
            }
        }
        (Some(Some(_)), TenantLink::None) => " where false".to_string(),
        _ => String::new(),
    };
    format!(
        "select {} from {}{filter}",
        exprs.join(", "),
        quote(plan.name())
    )
}

/// A row read back: legacy key (None: not made by the migration), legacy
/// tenant and values.
pub type Decoded = (Option<i64>, Option<i64>, Vec<Val>);

/// Decode one PostgreSQL row into its legacy key, tenant and values.
pub fn decode_row(plan: &Plan, r: &PgRow) -> Result<Decoded, sqlx::Error> {
    let mut vals = Vec::with_capacity(plan.def.columns.len());
    let mut i = 0;
    let decode_err = |e: String| sqlx::Error::Decode(e.into());
    for c in &plan.def.columns {
        let v = match &c.rule {
            Rule::Key { uuid_tag: Some(_) } => {
                r.try_get::<Option<uuid::Uuid>, _>(i)?.map(Val::Uuid)
            }
            Rule::Key { uuid_tag: None } => r.try_get::<Option<i64>, _>(i)?.map(Val::Int),
            Rule::Ref { .. } | Rule::RecordRef { .. } => {
                // The column's type follows the referenced key: uuid or bigint.
                match r.try_get::<Option<uuid::Uuid>, _>(i) {
                    Ok(u) => u.map(Val::Uuid),
                    Err(_) => r.try_get::<Option<i64>, _>(i)?.map(Val::Int),
                }
            }
            Rule::Text { .. } => r.try_get::<Option<String>, _>(i)?.map(Val::Text),
            Rule::Integer => r
                .try_get::<Option<i32>, _>(i)?
                .map(|x| Val::Int(i64::from(x))),
            Rule::Bigint => r.try_get::<Option<i64>, _>(i)?.map(Val::Int),
            Rule::Float => r.try_get::<Option<f64>, _>(i)?.map(Val::Float),
            Rule::Bytea => r.try_get::<Option<Vec<u8>>, _>(i)?.map(Val::Bytes),
            Rule::Numeric { precision, scale } => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(Val::Numeric {
                    units: convert::parse_decimal(&s, *precision, *scale).map_err(decode_err)?,
                    scale: *scale,
                }),
            },
            Rule::Boolean => r.try_get::<Option<bool>, _>(i)?.map(Val::Bool),
            Rule::Timestamptz { .. } => r
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?
                .map(|d| Val::Ts(d.timestamp_micros())),
            Rule::Date { .. } => r.try_get::<Option<chrono::NaiveDate>, _>(i)?.map(|d| {
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
                Val::Date((d - epoch).num_days() as i32)
            }),
            Rule::Jsonb => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(convert::json_val(
                    &convert::parse_json(&s).map_err(decode_err)?,
                )),
            },
            Rule::TextArray { .. } => r
                .try_get::<Option<Vec<Option<String>>>, _>(i)?
                .map(Val::List),
            Rule::Point => {
                let x: Option<f64> = r.try_get(i)?;
                i += 1;
                let y: Option<f64> = r.try_get(i)?;
                match (x, y) {
                    (Some(x), Some(y)) => Some(Val::Point(x, y)),
                    _ => None,
                }
            }
            Rule::Inet => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(Val::Inet(convert::canonical_inet(&s).map_err(decode_err)?)),
            },
        };
        i += 1;
        vals.push(v.unwrap_or(Val::Null));
    }
    let id = plan.key_of(&vals[plan.key_col]);
    let tenant = match plan.tenant {
        TenantLink::Root => id,
        TenantLink::Column(c) => plan.tenant_of(&vals[c]),
        TenantLink::None => None,
    };
    Ok((id, tenant, vals))
}

/// Read the PostgreSQL side of a table (or one tenant of it).
pub async fn target_rows(
    conn: &mut PgConnection,
    plan: &Plan,
    tenant: Option<Option<i64>>,
    keep: bool,
) -> Result<Side, MigrateError> {
    let sql = select_target_sql(plan, tenant);
    let mut side = Side::default();
    let mut scratch = Vec::new();
    let what = format!("reading {} back", plan.name());
    let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    while let Some(r) = stream
        .try_next()
        .await
        .map_err(MigrateError::target(what.clone()))?
    {
        let (id, ten, vals) = decode_row(plan, &r).map_err(MigrateError::target(what.clone()))?;
        let h = convert::row_hash(&vals, &mut scratch);
        side.digests.entry(ten).or_default().add(h);
        if keep {
            side.rows.push((id, h, vals));
        }
    }
    Ok(side)
}

/// Narrow a differing (table, tenant) to its rows: both sides' rows sorted
/// by legacy id, then id ranges halved while their digest sums differ.
async fn locate(
    path: &Path,
    conn: &mut PgConnection,
    plan: &Plan,
    tenant: Option<i64>,
    rejected: &HashSet<i64>,
) -> Result<Vec<RowDiff>, MigrateError> {
    let mut a = source_rows(path, plan, Some(tenant), rejected.clone(), true)
        .await?
        .rows;
    let mut b = target_rows(conn, plan, Some(tenant), true).await?.rows;
    a.sort_by_key(|r| r.0);
    b.sort_by_key(|r| r.0);
    let mut out = Vec::new();
    bisect(&a, &b, &mut out, plan);
    Ok(out)
}

type Rows = [(Option<i64>, u128, Vec<Val>)];

fn range_sum(rows: &Rows) -> (usize, u128) {
    (
        rows.len(),
        rows.iter().fold(0u128, |s, r| s.wrapping_add(r.1)),
    )
}

fn bisect(a: &Rows, b: &Rows, out: &mut Vec<RowDiff>, plan: &Plan) {
    if out.len() >= MAX_ROWS || range_sum(a) == range_sum(b) {
        return;
    }
    // One key left on each side (or none): compare the rows themselves.
    let keys: BTreeSet<Option<i64>> = a.iter().chain(b).map(|r| r.0).collect();
    if keys.len() <= 1 {
        let key = keys.into_iter().next().flatten();
        let diff = match (a.first(), b.first()) {
            (Some(_), None) => RowDiff {
                legacy_id: key,
                kind: RowDiffKind::Missing,
                columns: vec![],
            },
            (None, Some(_)) => RowDiff {
                legacy_id: key,
                kind: RowDiffKind::Extra,
                columns: vec![],
            },
            (Some(x), Some(y)) => RowDiff {
                legacy_id: key,
                kind: RowDiffKind::Changed,
                columns: plan
                    .def
                    .columns
                    .iter()
                    .zip(x.2.iter().zip(&y.2))
                    .filter(|(_, (p, q))| {
                        let (mut s1, mut s2) = (Vec::new(), Vec::new());
                        convert::canonical(std::slice::from_ref(*p), &mut s1);
                        convert::canonical(std::slice::from_ref(*q), &mut s2);
                        s1 != s2
                    })
                    .map(|(c, _)| c.target.to_string())
                    .collect(),
            },
            (None, None) => return,
        };
        out.push(diff);
        return;
    }
    // Split the key range at its middle key; both sides split at the same key.
    let keys: Vec<Option<i64>> = keys.into_iter().collect();
    let mid = keys[keys.len() / 2];
    let (a1, a2) = a.split_at(a.partition_point(|r| r.0 < mid));
    let (b1, b2) = b.split_at(b.partition_point(|r| r.0 < mid));
    bisect(a1, b1, out, plan);
    bisect(a2, b2, out, plan);
}
