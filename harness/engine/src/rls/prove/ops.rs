//! One operation as the app role, and its verdict against the truth.
//!
//! An operation is (table, command, context, extra settings, target row,
//! other tenant). It runs in its own transaction on an app-role
//! connection and is rolled back, so the data stays as the truth says.
//! The verdict compares what the app role got with what the oracle read:
//!
//! | command | with tenant T | with no tenant (unset, `''`, unknown id) |
//! |---|---|---|
//! | SELECT | every visible row is T's, no more than T owns | nothing visible |
//! | INSERT a row of another tenant | refused with 42501 | refused with 42501 |
//! | UPDATE another tenant's row | 0 rows (or 42501) | 0 rows (or 42501) |
//! | UPDATE own row into another tenant | refused (42501) or 0 rows | 0 rows (or 42501) |
//! | DELETE another tenant's row | 0 rows (or 42501) | 0 rows (or 42501) |
//!
//! A write refused by some other error (a unique or foreign key) was let
//! through by the policies and stopped only by luck: it counts as a
//! failure, because PostgreSQL checks policies before constraints, so a
//! sound policy always answers first. An error on SELECT (a cast of `''`)
//! is a failure too: no context must mean no rows, not an error.

use std::fmt;

use sqlx::{AssertSqlSafe, Connection, PgConnection};

use super::catalog::{Table, TruthRow, World};

/// The tenant context of an operation (docs/rls.md, pitfall 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ctx {
    /// Never set on this connection.
    Unset,
    /// Set to `''` (what a pooled connection shows after an earlier
    /// transaction-local value).
    Empty,
    /// A tenant that owns rows.
    Tenant(String),
    /// An id of the tenant type that no tenant has.
    Unknown(String),
}

impl Ctx {
    pub fn tenant(&self) -> Option<&str> {
        match self {
            Ctx::Tenant(t) => Some(t),
            _ => None,
        }
    }
}

/// What the operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Select,
    /// INSERT a row that belongs to another tenant.
    Insert,
    /// UPDATE a row of another tenant (in place).
    Update,
    /// UPDATE an own row so it belongs to another tenant.
    UpdateMove,
    /// DELETE a row of another tenant.
    Delete,
}

impl Op {
    pub const ALL: [Op; 5] = [
        Op::Select,
        Op::Insert,
        Op::Update,
        Op::UpdateMove,
        Op::Delete,
    ];

    /// The SQL command.
    pub fn command(self) -> &'static str {
        match self {
            Op::Select => "SELECT",
            Op::Insert => "INSERT",
            Op::Update | Op::UpdateMove => "UPDATE",
            Op::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Select => "SELECT every row",
            Op::Insert => "INSERT a row of another tenant",
            Op::Update => "UPDATE another tenant's row",
            Op::UpdateMove => "UPDATE an own row into another tenant",
            Op::Delete => "DELETE another tenant's row",
        })
    }
}

/// An operation with every choice made.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    pub table: usize,
    pub op: Op,
    pub ctx: Ctx,
    pub extras: Vec<(String, String)>,
    /// The target row (UPDATE, DELETE) or the row copied for INSERT.
    pub row: Option<TruthRow>,
    /// The tenant an INSERT or a move writes for.
    pub other: Option<String>,
}

impl Resolved {
    /// The context as people read it: `setting = 'T'` and the extras.
    pub fn context_text(&self, setting: &str) -> String {
        let mut s = match &self.ctx {
            Ctx::Unset => format!("{setting} never set"),
            Ctx::Empty => format!("{setting} = '' (empty)"),
            Ctx::Tenant(t) => format!("{setting} = '{t}'"),
            Ctx::Unknown(t) => format!("{setting} = '{t}' (no such tenant)"),
        };
        for (k, v) in &self.extras {
            s.push_str(&format!(", {k} = '{v}'"));
        }
        s
    }
}

/// The outcome of one operation: fine, or how isolation broke.
pub(super) type Verdict = Result<(), String>;

pub(super) fn sqlstate(e: &sqlx::Error) -> Option<String> {
    e.as_database_error()
        .and_then(|d| d.code())
        .map(|c| c.to_string())
}

fn db_message(e: &sqlx::Error) -> String {
    e.as_database_error()
        .map(|d| d.message().to_string())
        .unwrap_or_else(|| e.to_string())
}

/// Whether an error came from the database (an answer) rather than from
/// the connection (an infrastructure failure that stops the proof).
fn answered(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some()
}

/// The connections an operation needs on one server.
pub(super) struct Conns {
    /// The oracle: superuser or BYPASSRLS.
    pub owner: PgConnection,
    /// The app role, used for every context that sets the tenant.
    pub app: PgConnection,
    /// The app role, on which the tenant setting is never set.
    pub never: PgConnection,
}

/// Set the context inside an open transaction.
pub(super) async fn set_context(
    conn: &mut PgConnection,
    setting: &str,
    ctx: &Ctx,
    extras: &[(String, String)],
) -> Result<(), sqlx::Error> {
    let tenant = match ctx {
        Ctx::Unset => None,
        Ctx::Empty => Some(String::new()),
        Ctx::Tenant(t) | Ctx::Unknown(t) => Some(t.clone()),
    };
    if let Some(v) = tenant {
        sqlx::query("select set_config($1, $2, true)")
            .bind(setting)
            .bind(v)
            .execute(&mut *conn)
            .await?;
    }
    for (k, v) in extras {
        sqlx::query("select set_config($1, $2, true)")
            .bind(k)
            .bind(v)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The row `row` of `t` as JSON, made a row of `tenant`, with a fresh key,
/// read by the oracle: what an INSERT for another tenant writes.
pub(super) async fn row_for(
    owner: &mut PgConnection,
    world: &World,
    t: &Table,
    row: &TruthRow,
    tenant: &str,
) -> Result<Option<String>, sqlx::Error> {
    let fresh = match &t.fresh_key {
        Some((k, "uuid")) => format!(" || jsonb_build_object({}, gen_random_uuid())", sql_text(k)),
        Some((k, _)) => format!(
            " || jsonb_build_object({}, (select coalesce(max({k}), 0) + 1 + floor(random() * 1000)::int from {}))",
            sql_text(k),
            t.sql
        ),
        None => String::new(),
    };
    sqlx::query_scalar(AssertSqlSafe(format!(
        "select (jsonb_set(to_jsonb(x), array[$1], to_jsonb($2::text::{})){fresh})::text
         from {} x where ctid = $3::tid",
        world.tenant_type, t.sql
    )))
    .bind(&t.tenant_col)
    .bind(tenant)
    .bind(&row.ctid)
    .fetch_optional(&mut *owner)
    .await
}

/// A quoted identifier as the SQL string of its bare name, for
/// `jsonb_build_object` keys.
fn sql_text(quoted: &str) -> String {
    let bare = quoted[1..quoted.len() - 1].replace("\"\"", "\"");
    crate::app::literal(&bare)
}

/// The INSERT that writes a JSON row into `t`.
pub(super) fn insert_sql(t: &Table) -> String {
    let cols = t.insert_cols.join(", ");
    format!(
        "insert into {} ({cols}) select {cols} from jsonb_populate_record(null::{}, $1::jsonb)",
        t.sql, t.sql
    )
}

/// Run one operation and judge it. `Err` is a failure of the connection,
/// not of isolation.
pub(super) async fn run(
    conns: &mut Conns,
    world: &World,
    setting: &str,
    r: &Resolved,
) -> Result<Verdict, sqlx::Error> {
    let t = world.table(r.table);
    // The oracle prepares an INSERT's row before the app's transaction.
    let insert_row = match (r.op, &r.row, &r.other) {
        (Op::Insert, Some(row), Some(other)) => {
            match row_for(&mut conns.owner, world, t, row, other).await? {
                Some(j) => Some(j),
                None => return Ok(Ok(())),
            }
        }
        (Op::Insert, _, _) => return Ok(Ok(())),
        _ => None,
    };
    let conn = if r.ctx == Ctx::Unset {
        &mut conns.never
    } else {
        &mut conns.app
    };
    let mut tx = conn.begin().await?;
    set_context(&mut tx, setting, &r.ctx, &r.extras).await?;
    let verdict = judge(&mut tx, world, t, r, insert_row).await;
    tx.rollback().await?;
    verdict
}

async fn judge(
    conn: &mut PgConnection,
    world: &World,
    t: &Table,
    r: &Resolved,
    insert_row: Option<String>,
) -> Result<Verdict, sqlx::Error> {
    let tcol = t.tenant_sql();
    let own = r.ctx.tenant();
    match r.op {
        Op::Select => {
            let q: Result<(i64, i64, Option<String>, Option<String>), sqlx::Error> =
                sqlx::query_as(AssertSqlSafe(format!(
                    "select count(*)::int8,
                            (count(*) filter (where {tcol}::text is distinct from $1))::int8,
                            ((array_agg(ctid order by ctid)
                                filter (where {tcol}::text is distinct from $1))[1])::text,
                            (array_agg(({}) || ' (tenant ' || coalesce({tcol}::text, 'NULL') || ')'
                                order by ctid) filter (where {tcol}::text is distinct from $1))[1]
                     from {}",
                    t.label_sql, t.sql
                )))
                .bind(own)
                .fetch_one(&mut *conn)
                .await;
            match q {
                Ok((_, 0, _, _)) if own.is_none() => Ok(Ok(())),
                Ok((seen, foreign, ctid, seen_as)) => {
                    if foreign > 0 {
                        let ctid = ctid.unwrap_or_default();
                        let row = t
                            .row_at(&ctid)
                            .map(describe)
                            .or(seen_as)
                            .unwrap_or_else(|| format!("the row at ctid {ctid}"));
                        return Ok(Err(format!(
                            "{foreign} of the {seen} visible row(s) are not the context's: {row}"
                        )));
                    }
                    let owns = own
                        .map(|o| t.counts.get(&Some(o.to_string())).copied().unwrap_or(0))
                        .unwrap_or(0);
                    if seen > owns {
                        Ok(Err(format!(
                            "{seen} row(s) visible, but the tenant owns {owns} as the owner sees them"
                        )))
                    } else {
                        Ok(Ok(()))
                    }
                }
                Err(e) if sqlstate(&e).as_deref() == Some("42501") => Ok(Ok(())),
                Err(e) if answered(&e) => Ok(Err(format!(
                    "the SELECT failed with {} ({}): a context must give rows or none, never an error",
                    sqlstate(&e).unwrap_or_default(),
                    db_message(&e)
                ))),
                Err(e) => Err(e),
            }
        }
        Op::Insert => {
            let row = insert_row.unwrap_or_default();
            let other = r.other.as_deref().unwrap_or_default();
            let res = sqlx::query(AssertSqlSafe(insert_sql(t)))
                .bind(&row)
                .execute(&mut *conn)
                .await;
            refused(res, &format!("a row of tenant {other} was inserted"))
        }
        Op::Update | Op::Delete | Op::UpdateMove => {
            let Some(row) = &r.row else {
                return Ok(Ok(()));
            };
            let (sql, what) = match r.op {
                Op::Update => (
                    format!("update {} set {tcol} = {tcol} where ctid = $1::tid", t.sql),
                    "updated".to_string(),
                ),
                Op::Delete => (
                    format!("delete from {} where ctid = $1::tid", t.sql),
                    "deleted".to_string(),
                ),
                _ => (
                    format!(
                        "update {} set {tcol} = $2::text::{} where ctid = $1::tid",
                        t.sql, world.tenant_type
                    ),
                    format!(
                        "moved into tenant {}",
                        r.other.as_deref().unwrap_or_default()
                    ),
                ),
            };
            let res = sqlx::query(AssertSqlSafe(sql))
                .bind(&row.ctid)
                .bind(r.other.as_deref())
                .execute(&mut *conn)
                .await;
            match res {
                Ok(done) if done.rows_affected() == 0 => Ok(Ok(())),
                Ok(_) if r.op == Op::UpdateMove => Ok(Err(format!(
                    "the row was {what}: {} (WITH CHECK must refuse it)",
                    describe(row)
                ))),
                Ok(_) => Ok(Err(format!("the row was {what}: {}", describe(row)))),
                Err(e) if sqlstate(&e).as_deref() == Some("42501") => Ok(Ok(())),
                Err(e) if answered(&e) => Ok(Err(format!(
                    "refused by {} ({}), not by a policy: the policies let it through",
                    sqlstate(&e).unwrap_or_default(),
                    db_message(&e)
                ))),
                Err(e) => Err(e),
            }
        }
    }
}

/// An INSERT's outcome: refused with 42501 is right; success is a leak;
/// another error means the policies let the row through.
fn refused(
    res: Result<sqlx::postgres::PgQueryResult, sqlx::Error>,
    leak: &str,
) -> Result<Result<(), String>, sqlx::Error> {
    match res {
        Ok(_) => Ok(Err(format!("{leak} (WITH CHECK must refuse it)"))),
        Err(e) if sqlstate(&e).as_deref() == Some("42501") => Ok(Ok(())),
        Err(e) if answered(&e) => Ok(Err(format!(
            "refused by {} ({}), not by a policy: the policies let the row through",
            sqlstate(&e).unwrap_or_default(),
            db_message(&e)
        ))),
        Err(e) => Err(e),
    }
}

pub(super) fn describe(row: &TruthRow) -> String {
    format!(
        "{} (tenant {})",
        row.label,
        row.tenant.as_deref().unwrap_or("NULL")
    )
}
