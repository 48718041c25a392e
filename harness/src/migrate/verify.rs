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

use fixtures::ids;
use fixtures::schema::{Kind, Table};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{AssertSqlSafe, PgConnection, Row};

use super::convert::{self, Plan, Raw, Val};
use super::source::{self, Source};
use super::{target, MigrateError};

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

/// Per tenant (legacy company id) aggregates of one table.
pub type Digests = HashMap<i64, Agg>;

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
    /// Legacy company id (None: rows whose tenant is not from the migration).
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
    source: &Path,
    target: &PgConnectOptions,
) -> Result<VerifyReport, MigrateError> {
    let p = source.to_path_buf();
    tokio::task::spawn_blocking(move || Source::open(&p, false))
        .await
        .map_err(|e| MigrateError::Pipeline {
            table: "-".into(),
            problem: e.to_string(),
        })??;
    let mut conn = target::connect(target).await?;
    target::become_migration_role(&mut conn, false).await?;
    let r = verify_with(source, &mut conn, HashMap::new()).await;
    target::close(conn).await;
    r
}

/// Verify with source digests already computed for some tables (the
/// migration computes them while converting).
pub(crate) async fn verify_with(
    path: &Path,
    conn: &mut PgConnection,
    mut known: HashMap<Table, Digests>,
) -> Result<VerifyReport, MigrateError> {
    let rejected = target::rejected_keys(conn).await?;
    let mut report = VerifyReport::default();
    for t in Table::ALL {
        let skip: HashSet<i64> = rejected
            .get(&t)
            .map(|v| v.iter().copied().collect())
            .unwrap_or_default();
        let src = match known.remove(&t) {
            Some(d) => d,
            None => {
                let s = source_rows(path, t, None, skip.clone(), false).await?;
                report.unrecorded_rejects.extend(s.problems);
                s.digests
            }
        };
        let tgt = target_rows(conn, t, None, false).await?;
        let (sa, ta) = (total(&src), total(&tgt.digests));
        report.tables.push(TableVerify {
            table: t.name().into(),
            source_rows: sa.rows,
            target_rows: ta.rows,
            source_digest: format!("{:032x}", sa.sum),
            target_digest: format!("{:032x}", ta.sum),
            tenants: src.len(),
        });
        let tenants: BTreeSet<i64> = src.keys().chain(tgt.digests.keys()).copied().collect();
        for tenant in tenants {
            let (a, b) = (
                src.get(&tenant).copied().unwrap_or_default(),
                tgt.digests.get(&tenant).copied().unwrap_or_default(),
            );
            if a != b {
                let rows = locate(path, conn, t, tenant, &skip).await?;
                report.mismatches.push(Mismatch {
                    table: t.name().into(),
                    tenant: Some(tenant),
                    source_rows: a.rows,
                    target_rows: b.rows,
                    rows,
                });
            }
        }
        if tgt.foreign_tenant.rows > 0 {
            report.mismatches.push(Mismatch {
                table: t.name().into(),
                tenant: None,
                source_rows: 0,
                target_rows: tgt.foreign_tenant.rows,
                rows: vec![],
            });
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
    /// PostgreSQL rows whose tenant is not a migrated company.
    pub foreign_tenant: Agg,
}

/// Read and convert the legacy side (a reader thread feeding this one).
pub async fn source_rows(
    path: &Path,
    t: Table,
    tenant: Option<i64>,
    rejected: HashSet<i64>,
    keep: bool,
) -> Result<Side, MigrateError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Raw>>(4);
        let rp = path.clone();
        let reader = std::thread::spawn(move || source::read_table(&rp, t, tenant, tx));
        let plan = Plan::new(t);
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
                                t.name(),
                                rej.column,
                                rej.reason
                            ));
                        }
                    }
                }
            }
        }
        reader.join().map_err(|_| MigrateError::Pipeline {
            table: t.name().into(),
            problem: "the reader thread panicked".into(),
        })??;
        Ok(side)
    })
    .await
    .map_err(|e| MigrateError::Pipeline {
        table: t.name().into(),
        problem: e.to_string(),
    })?
}

/// The SELECT list that reads a table back typed.
pub fn select_target_sql(t: Table, tenant: Option<uuid::Uuid>) -> String {
    let mut exprs = Vec::new();
    for c in t.def().columns {
        let q = format!("\"{}\"", c.target);
        match c.kind {
            Kind::Point => {
                exprs.push(format!("({q})[0]"));
                exprs.push(format!("({q})[1]"));
            }
            Kind::Numeric { .. } | Kind::Json | Kind::Inet => exprs.push(format!("{q}::text")),
            _ => exprs.push(q),
        }
    }
    let filter = match (tenant, t.is_tenant_child()) {
        (Some(u), true) => format!(" where company_id = '{u}'"),
        (Some(u), false) => format!(" where id = '{u}'"),
        (None, _) => String::new(),
    };
    format!("select {} from \"{}\"{filter}", exprs.join(", "), t.name())
}

/// A row read back: legacy id, legacy tenant (None: not made by the
/// migration) and values.
pub type Decoded = (Option<i64>, Option<i64>, Vec<Val>);

/// Decode one PostgreSQL row into its legacy id, tenant and values.
pub fn decode_row(t: Table, r: &PgRow) -> Result<Decoded, sqlx::Error> {
    let mut vals = Vec::with_capacity(t.def().columns.len());
    let mut i = 0;
    let mut id = None;
    let mut tenant = None;
    for c in t.def().columns {
        let v = match c.kind {
            Kind::Id | Kind::Ref(_) | Kind::RecordRef => {
                let u: Option<uuid::Uuid> = r.try_get(i)?;
                if c.kind == Kind::Id {
                    id = u.and_then(|u| ids::legacy_id(t, u));
                    if !t.is_tenant_child() {
                        tenant = id;
                    }
                }
                if c.target == "company_id" {
                    tenant = u.and_then(|u| ids::legacy_id(Table::Companies, u));
                }
                u.map(Val::Uuid)
            }
            Kind::Text { .. } => r.try_get::<Option<String>, _>(i)?.map(Val::Text),
            Kind::Int => r
                .try_get::<Option<i32>, _>(i)?
                .map(|x| Val::Int(i64::from(x))),
            Kind::Numeric { precision, scale } => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(Val::Numeric {
                    units: convert::parse_decimal(&s, precision, scale)
                        .map_err(|e| sqlx::Error::Decode(e.into()))?,
                    scale,
                }),
            },
            Kind::Bool => r.try_get::<Option<bool>, _>(i)?.map(Val::Bool),
            Kind::Timestamp => r
                .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?
                .map(|d| Val::Ts(d.timestamp_micros())),
            Kind::Date => r.try_get::<Option<chrono::NaiveDate>, _>(i)?.map(|d| {
                let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
                Val::Date((d - epoch).num_days() as i32)
            }),
            Kind::Json => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(convert::json_val(
                    &convert::parse_json(&s).map_err(|e| sqlx::Error::Decode(e.into()))?,
                )),
            },
            Kind::List(_) => r
                .try_get::<Option<Vec<Option<String>>>, _>(i)?
                .map(Val::List),
            Kind::Point => {
                let x: Option<f64> = r.try_get(i)?;
                i += 1;
                let y: Option<f64> = r.try_get(i)?;
                match (x, y) {
                    (Some(x), Some(y)) => Some(Val::Point(x, y)),
                    _ => None,
                }
            }
            Kind::Inet => match r.try_get::<Option<String>, _>(i)? {
                None => None,
                Some(s) => Some(Val::Inet(
                    convert::canonical_inet(&s).map_err(|e| sqlx::Error::Decode(e.into()))?,
                )),
            },
        };
        i += 1;
        vals.push(v.unwrap_or(Val::Null));
    }
    Ok((id, tenant, vals))
}

/// Read the PostgreSQL side of a table (or one tenant of it).
pub async fn target_rows(
    conn: &mut PgConnection,
    t: Table,
    tenant: Option<i64>,
    keep: bool,
) -> Result<Side, MigrateError> {
    let tenant_uuid = tenant.map(|c| ids::to_uuid(Table::Companies, c));
    let sql = select_target_sql(t, tenant_uuid);
    let mut side = Side::default();
    let mut scratch = Vec::new();
    let what = format!("reading {} back", t.name());
    let mut stream = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *conn);
    while let Some(r) = stream
        .try_next()
        .await
        .map_err(MigrateError::target(what.clone()))?
    {
        let (id, ten, vals) = decode_row(t, &r).map_err(MigrateError::target(what.clone()))?;
        let h = convert::row_hash(&vals, &mut scratch);
        match ten {
            Some(ten) => side.digests.entry(ten).or_default().add(h),
            None => side.foreign_tenant.add(h),
        }
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
    t: Table,
    tenant: i64,
    rejected: &HashSet<i64>,
) -> Result<Vec<RowDiff>, MigrateError> {
    let mut a = source_rows(path, t, Some(tenant), rejected.clone(), true)
        .await?
        .rows;
    let mut b = target_rows(conn, t, Some(tenant), true).await?.rows;
    a.sort_by_key(|r| r.0);
    b.sort_by_key(|r| r.0);
    let mut out = Vec::new();
    bisect(&a, &b, &mut out, t);
    Ok(out)
}

type Rows = [(Option<i64>, u128, Vec<Val>)];

fn range_sum(rows: &Rows) -> (usize, u128) {
    (
        rows.len(),
        rows.iter().fold(0u128, |s, r| s.wrapping_add(r.1)),
    )
}

fn bisect(a: &Rows, b: &Rows, out: &mut Vec<RowDiff>, t: Table) {
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
                columns: t
                    .def()
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
    bisect(a1, b1, out, t);
    bisect(a2, b2, out, t);
}
