//! A workload compiled against the loaded database, and the catalog of
//! tenants and samples users are drawn from.
//!
//! [`Plan::prepare`] prepares every statement of the file on the server
//! (tenants, samples, named queries) and checks what only the server knows:
//! the SQL itself, the type of each parameter (bound as that type for the
//! whole run, see [`crate::value`]), and the columns the workload reads
//! (`column = "..."` of samples and returned values, read-your-own-write
//! columns). Every problem is listed at once, with the item named, like the
//! file's own checks. Names become indexes here, so a running user never
//! looks a name up.
//!
//! [`Catalog::load`] runs the tenants query and then every sample once per
//! tenant, as the app's owner role with the tenant setting set (so a sample
//! may rely on the tenant predicate or on the policies), `$1` bound to the
//! tenant id.

use std::collections::BTreeSet;

use rand::rngs::SmallRng;
use rand::RngExt;
use sqlx::postgres::PgStatement;
use sqlx::Either;
use sqlx::{Column, PgConnection, Statement, TypeInfo};

use crate::common::Route;
use crate::value::{self, Param, PgType, Scalar, Value};
use crate::workload::{Len, Source, Workload, WorkloadError};

/// A source with names resolved to indexes.
#[derive(Debug, Clone)]
pub enum Src {
    Fixed(Value),
    Tenant,
    Sample {
        sample: usize,
        col: usize,
        or: Option<Box<Src>>,
    },
    User {
        slot: usize,
        col: usize,
        or: Option<Box<Src>>,
    },
    /// `col` is a position in the query's kept columns.
    Returned {
        query: usize,
        col: usize,
        or: Option<Box<Src>>,
    },
    NewUuid,
    Int(i64, i64),
    Float(f64, f64, Option<u32>),
    Choice(Vec<Value>),
    Format(String, Box<Src>),
    List(Box<Src>, Len),
}

#[derive(Debug, Clone)]
pub struct QueryPlan {
    pub name: &'static str,
    pub sql: &'static str,
    pub route: Route,
    pub types: Vec<PgType>,
    pub columns: Vec<(String, String)>,
    /// Columns read back from every answer (positions).
    pub keep: &'static [usize],
}

#[derive(Debug, Clone)]
pub struct CallPlan {
    pub query: usize,
    pub params: Vec<Src>,
}

#[derive(Debug, Clone)]
pub struct StepPlan {
    pub name: &'static str,
    pub weight: usize,
    pub calls: Vec<CallPlan>,
}

#[derive(Debug, Clone)]
pub struct KindPlan {
    pub name: &'static str,
    pub weight: usize,
    pub think: [f64; 2],
    /// Samples a user draws one row of at its start.
    pub slots: Vec<usize>,
    pub settings: Vec<(String, Src)>,
    pub steps: Vec<StepPlan>,
    /// The steps' weights, for drawing a user's next step.
    pub step_weights: Weights,
}

/// A read-your-own-write pair: after `write` returns a row, the next
/// `read` must hold its kept column `write_col` in row position `read_col`.
#[derive(Debug, Clone)]
pub struct RywPlan {
    pub write: usize,
    pub write_col: usize,
    pub read: usize,
    pub read_col: usize,
}

#[derive(Debug, Clone)]
pub struct SamplePlan {
    pub name: String,
    pub sql: String,
    pub columns: Vec<(String, String)>,
    /// The type of `$1` (the tenant id), when the sample takes it.
    pub tenant_param: Option<PgType>,
}

/// A workload ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant_setting: String,
    pub tenants_sql: String,
    pub samples: Vec<SamplePlan>,
    pub queries: Vec<QueryPlan>,
    pub kinds: Vec<KindPlan>,
    pub ryw: Vec<RywPlan>,
}

/// Kept for the whole process: a run's names and SQL are few and fixed,
/// and `'static` lets every query and goose transaction share them.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

struct Described {
    params: Vec<String>,
    columns: Vec<(String, String)>,
}

async fn describe(conn: &mut PgConnection, sql: &str) -> Result<Described, String> {
    let st: PgStatement = sqlx::Executor::prepare(
        &mut *conn,
        sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql.to_string())),
    )
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    })?;
    let params = match st.parameters() {
        Some(Either::Left(types)) => types.iter().map(|t| t.name().to_string()).collect(),
        Some(Either::Right(n)) => vec!["?".to_string(); n],
        None => Vec::new(),
    };
    let columns = st
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), c.type_info().name().to_string()))
        .collect();
    Ok(Described { params, columns })
}

/// Whether a value read as `from` binds as `to`.
fn compatible(from: &str, to: PgType) -> bool {
    let Some(f) = PgType::of(from) else {
        return false;
    };
    let num = |s: Scalar| {
        matches!(
            s,
            Scalar::I16 | Scalar::I32 | Scalar::I64 | Scalar::F32 | Scalar::F64 | Scalar::Numeric
        )
    };
    to.scalar == Scalar::Text
        || f.scalar == to.scalar
        || (num(f.scalar) && num(to.scalar))
        || (f.scalar == Scalar::Text && to.scalar == Scalar::Uuid)
}

/// The column a source reads: (what, its columns) for errors and typing.
struct Resolver<'a> {
    w: &'a Workload,
    samples: &'a [SamplePlan],
    described: &'a [Option<Described>],
    /// Per query: the columns kept so far (positions).
    keep: &'a mut Vec<Vec<usize>>,
    slots: &'a [String],
    slot_samples: &'a [usize],
}

fn col_index(cols: &[(String, String)], col: &Option<String>) -> Option<usize> {
    match col {
        None => (!cols.is_empty()).then_some(0),
        Some(c) => cols.iter().position(|(n, _)| n == c),
    }
}

impl Resolver<'_> {
    /// Resolve `s`, which will be bound as `ty` (when known).
    fn src(
        &mut self,
        s: &Source,
        ty: Option<PgType>,
        at: &str,
        p: &mut Vec<String>,
    ) -> Option<Src> {
        let check = |what: &str, cols: &[(String, String)], i: usize, p: &mut Vec<String>| {
            let (name, t) = &cols[i];
            if !value::readable(t) {
                p.push(format!(
                    "{at}: column {name:?} of {what} is {t}, which the workload cannot read; cast it in the SQL (::text or ::float8)"
                ));
            } else if let Some(ty) = ty {
                let elem = PgType { array: false, ..ty };
                if !compatible(t, ty) && !compatible(t, elem) {
                    p.push(format!(
                        "{at}: column {name:?} of {what} is {t}, which cannot be bound as {}",
                        show(ty)
                    ));
                }
            }
        };
        let missing = |what: &str, col: &Option<String>, cols: &[(String, String)]| {
            format!(
                "{at}: {what} has no column {:?} (columns: {})",
                col.as_deref().unwrap_or("(first)"),
                cols.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let or = |me: &mut Self,
                  o: &Option<Box<Source>>,
                  p: &mut Vec<String>|
         -> Option<Option<Box<Src>>> {
            match o {
                None => Some(None),
                Some(o) => Some(Some(Box::new(me.src(o, ty, at, p)?))),
            }
        };
        Some(match s {
            Source::Fixed(v) => {
                if let Some(ty) = ty {
                    if Param::bind(v, ty).is_none() {
                        p.push(format!("{at}: {v} cannot be bound as {}", show(ty)));
                    }
                }
                Src::Fixed(v.clone())
            }
            Source::Tenant => Src::Tenant,
            Source::Sample {
                sample,
                column,
                or: o,
            } => {
                let i = self.samples.iter().position(|x| &x.name == sample)?;
                let cols = &self.samples[i].columns;
                let what = format!("sample {sample:?}");
                let Some(col) = col_index(cols, column) else {
                    p.push(missing(&what, column, cols));
                    return None;
                };
                check(&what, cols, col, p);
                Src::Sample {
                    sample: i,
                    col,
                    or: or(self, o, p)?,
                }
            }
            Source::User {
                slot,
                column,
                or: o,
            } => {
                let i = self.slots.iter().position(|x| x == slot)?;
                let sp = &self.samples[self.slot_samples[i]];
                let what = format!("user slot {slot:?} (sample {:?})", sp.name);
                let Some(col) = col_index(&sp.columns, column) else {
                    p.push(missing(&what, column, &sp.columns));
                    return None;
                };
                check(&what, &sp.columns, col, p);
                Src::User {
                    slot: i,
                    col,
                    or: or(self, o, p)?,
                }
            }
            Source::Returned {
                query,
                column,
                or: o,
            } => {
                let q = self.w.queries.iter().position(|x| &x.name == query)?;
                let d = self.described[q].as_ref()?;
                let what = format!("query {query:?}");
                let Some(col) = col_index(&d.columns, column) else {
                    p.push(missing(&what, column, &d.columns));
                    return None;
                };
                check(&what, &d.columns, col, p);
                let kept = &mut self.keep[q];
                let at_kept = match kept.iter().position(|&c| c == col) {
                    Some(k) => k,
                    None => {
                        kept.push(col);
                        kept.len() - 1
                    }
                };
                Src::Returned {
                    query: q,
                    col: at_kept,
                    or: or(self, o, p)?,
                }
            }
            Source::NewUuid => {
                if let Some(ty) =
                    ty.filter(|t| t.scalar != Scalar::Uuid && t.scalar != Scalar::Text)
                {
                    p.push(format!("{at}: a new uuid cannot be bound as {}", show(ty)));
                }
                Src::NewUuid
            }
            Source::Int(lo, hi) => Src::Int(*lo, *hi),
            Source::Float(lo, hi, d) => Src::Float(*lo, *hi, *d),
            Source::Choice(v) => {
                if let Some(ty) = ty {
                    for x in v {
                        if Param::bind(x, ty).is_none() {
                            p.push(format!("{at}: choice {x} cannot be bound as {}", show(ty)));
                        }
                    }
                }
                Src::Choice(v.clone())
            }
            Source::Format(f, w) => Src::Format(f.clone(), Box::new(self.src(w, None, at, p)?)),
            Source::List(of, len) => {
                if let Some(ty) = ty.filter(|t| !t.array) {
                    p.push(format!("{at}: a list cannot be bound as {}", show(ty)));
                }
                let elem = ty.map(|t| PgType { array: false, ..t });
                Src::List(Box::new(self.src(of, elem, at, p)?), *len)
            }
        })
    }
}

fn show(t: PgType) -> String {
    format!("{:?}{}", t.scalar, if t.array { "[]" } else { "" }).to_lowercase()
}

impl Plan {
    /// Compile `w` on the database `conn` is connected to (any role that
    /// may prepare the statements; nothing is executed).
    pub async fn prepare(
        w: &Workload,
        conn: &mut PgConnection,
        tenant_setting: &str,
    ) -> Result<Plan, WorkloadError> {
        let mut p = Vec::new();
        match describe(conn, &w.tenants).await {
            Ok(d) => {
                if d.columns.is_empty() || d.columns.len() > 2 {
                    p.push(
                        "tenants: the query returns the tenant id and, optionally, a weight".into(),
                    );
                } else if let Some((n, t)) = d.columns.get(1) {
                    if !matches!(t.as_str(), "INT2" | "INT4" | "INT8") {
                        p.push(format!(
                            "tenants: the weight column {n:?} is {t}; it must be an integer"
                        ));
                    }
                }
                if let Some((n, t)) = d.columns.first() {
                    if !value::readable(t) {
                        p.push(format!(
                            "tenants: the id column {n:?} is {t}; cast it (::text)"
                        ));
                    }
                }
            }
            Err(e) => p.push(format!("tenants: the server refuses the SQL: {e}")),
        }
        let mut samples = Vec::new();
        for s in &w.samples {
            match describe(conn, &s.sql).await {
                Ok(d) => {
                    let tenant_param = d.params.first().map(|t| PgType::of(t));
                    if let Some(None) = tenant_param {
                        p.push(format!(
                            "sample {:?}: $1 is {}, which cannot hold a tenant id",
                            s.name, d.params[0]
                        ));
                    }
                    samples.push(SamplePlan {
                        name: s.name.clone(),
                        sql: s.sql.clone(),
                        columns: d.columns,
                        tenant_param: tenant_param.flatten(),
                    });
                }
                Err(e) => {
                    p.push(format!(
                        "sample {:?}: the server refuses the SQL: {e}",
                        s.name
                    ));
                    samples.push(SamplePlan {
                        name: s.name.clone(),
                        sql: s.sql.clone(),
                        columns: Vec::new(),
                        tenant_param: None,
                    });
                }
            }
        }
        let mut described = Vec::new();
        let mut types = Vec::new();
        for q in &w.queries {
            match describe(conn, &q.sql).await {
                Ok(d) => {
                    let mut ts = Vec::new();
                    for (i, t) in d.params.iter().enumerate() {
                        match PgType::of(t) {
                            Some(ty) => ts.push(ty),
                            None => {
                                p.push(format!(
                                    "query {:?}: ${} is {t}, which the workload cannot bind; cast it in the SQL (e.g. ${}::text::{})",
                                    q.name, i + 1, i + 1, t.to_lowercase()
                                ));
                                ts.push(PgType {
                                    scalar: Scalar::Text,
                                    array: false,
                                });
                            }
                        }
                    }
                    types.push(Some(ts));
                    described.push(Some(d));
                }
                Err(e) => {
                    p.push(format!(
                        "query {:?}: the server refuses the SQL: {e}",
                        q.name
                    ));
                    types.push(None);
                    described.push(None);
                }
            }
        }
        let mut keep: Vec<Vec<usize>> = vec![Vec::new(); w.queries.len()];
        let mut ryw = Vec::new();
        for r in &w.ryw {
            let at = format!("ryw {} -> {}", r.write, r.read);
            let wi = w.queries.iter().position(|q| q.name == r.write);
            let ri = w.queries.iter().position(|q| q.name == r.read);
            let (Some(wi), Some(ri)) = (wi, ri) else {
                continue;
            };
            let (Some(wd), Some(rd)) = (&described[wi], &described[ri]) else {
                continue;
            };
            let read_name = r.read_column.clone().unwrap_or_else(|| r.column.clone());
            let wc = wd.columns.iter().position(|(n, _)| *n == r.column);
            let rc = rd.columns.iter().position(|(n, _)| *n == read_name);
            match (wc, rc) {
                (Some(wc), Some(rc)) => {
                    for (q, c, d) in [(&r.write, wc, wd), (&r.read, rc, rd)] {
                        if !value::readable(&d.columns[c].1) {
                            p.push(format!(
                                "{at}: column {:?} of {q:?} is {}, which the workload cannot read",
                                d.columns[c].0, d.columns[c].1
                            ));
                        }
                    }
                    let k = &mut keep[wi];
                    let write_col = match k.iter().position(|&c| c == wc) {
                        Some(x) => x,
                        None => {
                            k.push(wc);
                            k.len() - 1
                        }
                    };
                    ryw.push(RywPlan {
                        write: wi,
                        write_col,
                        read: ri,
                        read_col: rc,
                    });
                }
                (None, _) => p.push(format!(
                    "{at}: the write returns no column {:?} (add `returning {}`)",
                    r.column, r.column
                )),
                (_, None) => p.push(format!("{at}: the read returns no column {read_name:?}")),
            }
        }
        let mut kinds = Vec::new();
        for u in &w.users {
            let at = format!("user {:?}", u.name);
            let slots: Vec<String> = u.draw.keys().cloned().collect();
            let slot_samples: Vec<usize> = u
                .draw
                .values()
                .filter_map(|s| w.samples.iter().position(|x| &x.name == s))
                .collect();
            let mut r = Resolver {
                w,
                samples: &samples,
                described: &described,
                keep: &mut keep,
                slots: &slots,
                slot_samples: &slot_samples,
            };
            let mut settings = Vec::new();
            for (name, s) in &u.settings {
                let text = PgType {
                    scalar: Scalar::Text,
                    array: false,
                };
                if let Some(s) = r.src(s, Some(text), &format!("{at} setting {name:?}"), &mut p) {
                    settings.push((name.clone(), s));
                }
            }
            let mut steps = Vec::new();
            for s in &u.steps {
                let mut calls = Vec::new();
                for (i, c) in s.calls.iter().enumerate() {
                    let cat = format!("{at} step {:?} call {} ({})", s.name, i + 1, c.query);
                    let Some(q) = w.queries.iter().position(|x| x.name == c.query) else {
                        continue;
                    };
                    let Some(ts) = &types[q] else { continue };
                    if ts.len() != c.params.len() {
                        p.push(format!(
                            "{cat}: {} parameter(s) given, the server counts {}",
                            c.params.len(),
                            ts.len()
                        ));
                        continue;
                    }
                    let params: Vec<Src> = c
                        .params
                        .iter()
                        .zip(ts)
                        .enumerate()
                        .filter_map(|(j, (s, t))| {
                            r.src(s, Some(*t), &format!("{cat} ${}", j + 1), &mut p)
                        })
                        .collect();
                    calls.push(CallPlan { query: q, params });
                }
                steps.push(StepPlan {
                    name: leak(&s.name),
                    weight: s.weight,
                    calls,
                });
            }
            kinds.push(KindPlan {
                name: leak(&u.name),
                weight: u.weight,
                think: u.think,
                slots: slot_samples,
                step_weights: Weights::new(steps.iter().map(|s| s.weight as u64)),
                settings,
                steps,
            });
        }
        if !p.is_empty() {
            return Err(WorkloadError::Invalid {
                path: w.path.clone(),
                problems: p,
            });
        }
        let queries = w
            .queries
            .iter()
            .zip(described)
            .zip(types)
            .zip(keep)
            .map(|(((q, d), t), k)| QueryPlan {
                name: leak(&q.name),
                sql: leak(&q.sql),
                route: q.route,
                types: t.unwrap_or_default(),
                columns: d.map(|d| d.columns).unwrap_or_default(),
                keep: Box::leak(k.into_boxed_slice()),
            })
            .collect();
        Ok(Plan {
            tenant_setting: tenant_setting.to_string(),
            tenants_sql: w.tenants.clone(),
            samples,
            queries,
            kinds,
            ryw,
        })
    }

    /// The named queries the kinds call (what the report will gate).
    pub fn called(&self) -> BTreeSet<&'static str> {
        self.kinds
            .iter()
            .flat_map(|k| k.steps.iter())
            .flat_map(|s| s.calls.iter())
            .map(|c| self.queries[c.query].name)
            .collect()
    }
}

/// One tenant: its id (the value of the tenant setting), its weight, and
/// the rows of every sample for it.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: Value,
    pub weight: u64,
    pub samples: Vec<Vec<Vec<Value>>>,
}

/// A cumulative-weight table: draws an index with probability
/// proportional to its weight (a weight of 0 is never drawn).
#[derive(Debug, Clone, Default)]
pub struct Weights(Vec<u64>);

impl Weights {
    pub fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut acc = 0u64;
        Weights(
            weights
                .into_iter()
                .map(|w| {
                    acc += w;
                    acc
                })
                .collect(),
        )
    }

    /// `None` when there is nothing to draw (no weights, or all 0).
    pub fn draw(&self, rng: &mut SmallRng) -> Option<usize> {
        let total = *self.0.last().filter(|t| **t > 0)?;
        let x = rng.random_range(0..total);
        Some(self.0.partition_point(|&c| c <= x))
    }
}

/// Every tenant the load draws from, with their weights for drawing.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tenants: Vec<Tenant>,
    weights: Weights,
}

#[derive(Debug, thiserror::Error)]
#[error("reading the tenants and samples ({what}): {source}")]
pub struct CatalogError {
    pub what: String,
    #[source]
    pub source: sqlx::Error,
}

impl Catalog {
    pub fn new(tenants: Vec<Tenant>) -> Self {
        let weights = Weights::new(tenants.iter().map(|t| t.weight.max(1)));
        Catalog { tenants, weights }
    }

    /// Run the tenants query, then every sample per tenant as `owner` with
    /// the tenant setting set.
    pub async fn load(
        plan: &Plan,
        conn: &mut PgConnection,
        owner: &str,
    ) -> Result<Catalog, CatalogError> {
        use sqlx::{Connection, Row};
        let err = |what: String| move |source| CatalogError { what, source };
        let rows = sqlx::query(sqlx::AssertSqlSafe(plan.tenants_sql.clone()))
            .fetch_all(&mut *conn)
            .await
            .map_err(err("the tenants query".into()))?;
        let mut tenants = Vec::with_capacity(rows.len());
        let set_role = format!("set local role \"{}\"", owner.replace('"', "\"\""));
        for r in rows {
            let id = value::read(&r, 0);
            let weight = match (r.len() > 1).then(|| value::read(&r, 1)) {
                Some(Value::Int(w)) => w.max(0) as u64,
                _ => 1,
            };
            let mut tx = conn.begin().await.map_err(err("begin".into()))?;
            sqlx::query(sqlx::AssertSqlSafe(set_role.clone()))
                .execute(&mut *tx)
                .await
                .map_err(err(format!("becoming the owner role {owner}")))?;
            sqlx::query("select set_config($1, $2, true)")
                .bind(&plan.tenant_setting)
                .bind(id.to_text())
                .execute(&mut *tx)
                .await
                .map_err(err("setting the tenant".into()))?;
            let mut samples = Vec::with_capacity(plan.samples.len());
            for s in &plan.samples {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(s.sql.clone()));
                if let Some(ty) = s.tenant_param {
                    q = crate::bind::one(q, Param::bind(&id, ty).unwrap_or(Param::Null(ty)));
                }
                let rows = q
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(err(format!("sample {:?} for tenant {id}", s.name)))?;
                samples.push(
                    rows.iter()
                        .map(|r| (0..r.len()).map(|i| value::read(r, i)).collect())
                        .collect(),
                );
            }
            tx.commit().await.map_err(err("commit".into()))?;
            tenants.push(Tenant {
                id,
                weight,
                samples,
            });
        }
        Ok(Catalog::new(tenants))
    }

    /// A tenant drawn with probability proportional to its weight.
    pub fn draw(&self, rng: &mut SmallRng) -> Option<usize> {
        self.weights.draw(rng)
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }
}

#[cfg(test)]
mod weights_tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn indexes_are_drawn_in_proportion_and_each_stream_begins_differently() {
        let weights = Weights::new([4, 1, 0, 5]);
        let mut rng = SmallRng::seed_from_u64(7);
        let mut n = [0usize; 4];
        for _ in 0..100_000 {
            n[weights.draw(&mut rng).unwrap()] += 1;
        }
        assert_eq!(n[2], 0, "a weight of 0 is never drawn");
        for (i, w) in [4, 1, 0, 5].iter().enumerate() {
            let share = n[i] as f64 / 100_000.0;
            assert!(
                (share - *w as f64 / 10.0).abs() < 0.01,
                "index {i}: {share}"
            );
        }
        let firsts: BTreeSet<usize> = (0..50)
            .map(|u| weights.draw(&mut SmallRng::seed_from_u64(u)).unwrap())
            .collect();
        assert!(
            firsts.len() >= 3,
            "streams begin with different indexes: {firsts:?}"
        );
        assert_eq!(Weights::new([]).draw(&mut rng), None);
        assert_eq!(Weights::new([0, 0]).draw(&mut rng), None);
    }
}
