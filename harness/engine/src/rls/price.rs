//! The price of row-level security, per named query: the same statement
//! planned and timed as the app role (bound by the policies) and as a role
//! the policies do not bind, side by side, with the indexes the app role's
//! plan lost and why.
//!
//! Why an index is lost: the planner evaluates a policy's predicate before
//! any condition of the query that could leak a row's values (a function
//! not marked `LEAKPROOF` may raise an error or a notice that shows its
//! arguments). A query condition the planner must hold back cannot be an
//! index condition, so an index that only that condition could use is
//! skipped: full-text search (`@@`, `ts_match_vq`), `LIKE` on a trigram
//! index, JSON containment and most operators other than plain comparisons
//! are not leakproof. The tenant predicate still uses its own index, so
//! the query reads every row of the tenant and filters, which is fine for a
//! small tenant and ruinous for a large one.
//!
//! How it is measured, without knowing the query's parameter types: the
//! statement is `PREPARE`d (the server infers the types) and run with
//! `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE` with the arguments as untyped
//! literals, each run inside a savepoint that is rolled back, in one
//! transaction that is rolled back: writes are measured and undone. The
//! fastest of a few runs is kept on each side, after one unmeasured run
//! each, so both sides read warm pages.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// One named query with the arguments to run it with (`None` is NULL),
/// written as SQL literals would be (`'{a,b}'` for an array).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricedQuery {
    pub name: String,
    pub sql: String,
    pub args: Vec<Option<String>>,
}

/// Who the app role acts as: its role and the transaction-local settings
/// that name the tenant (and whatever else its policies read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActingAs {
    pub role: String,
    pub settings: Vec<(String, String)>,
}

/// An index the unbound plan used and the app role's plan did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostIndex {
    pub index: String,
    pub table: String,
    /// Operators the index serves whose function is not leakproof and
    /// which the query's text uses (`@@ (ts_match_vq)`).
    pub not_leakproof: Vec<String>,
}

/// What RLS costs one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub name: String,
    /// Execution time as the app role (fastest run), ms.
    pub app_ms: f64,
    /// Execution time with the policies out of the way, ms.
    pub unbound_ms: f64,
    pub app_indexes: Vec<String>,
    pub unbound_indexes: Vec<String>,
    pub lost: Vec<LostIndex>,
    /// Rows the app role's run returned or touched, and the unbound run's.
    pub app_rows: f64,
    pub unbound_rows: f64,
    /// Set when RLS costs this query an index or makes it much slower.
    pub flag: Option<String>,
    /// Why, in words.
    pub reason: Option<String>,
    /// What to do about it.
    pub fix: Option<String>,
    /// The query could not be measured (its error).
    pub error: Option<String>,
}

impl Price {
    /// App time over unbound time (1.0 when the unbound side took no time).
    pub fn ratio(&self) -> f64 {
        if self.unbound_ms > 0.0 {
            self.app_ms / self.unbound_ms
        } else {
            1.0
        }
    }
}

/// A query is flagged as merely slow (no index lost) when the app role's
/// run is at least this many times the unbound one ...
pub const SLOW_RATIO: f64 = 3.0;
/// ... and at least this much slower in absolute terms, ms.
pub const SLOW_DELTA_MS: f64 = 1.0;

/// Measure every query in `queries`. `conn` must be a role that RLS does
/// not bind (a superuser, or a role with `BYPASSRLS` that may `SET ROLE`
/// to `who.role`). `runs` measured runs per side (at least 1).
pub async fn measure(
    conn: &mut PgConnection,
    who: &ActingAs,
    queries: &[PricedQuery],
    runs: u32,
) -> Result<Vec<Price>, sqlx::Error> {
    let mut out = Vec::with_capacity(queries.len());
    for q in queries {
        out.push(match measure_one(conn, who, q, runs.max(1)).await {
            Ok(p) => p,
            Err(e) => Price {
                name: q.name.clone(),
                app_ms: 0.0,
                unbound_ms: 0.0,
                app_indexes: vec![],
                unbound_indexes: vec![],
                lost: vec![],
                app_rows: 0.0,
                unbound_rows: 0.0,
                flag: None,
                reason: None,
                fix: None,
                error: Some(match &e {
                    sqlx::Error::Database(d) if d.code().as_deref() == Some("23505") => {
                        "not measured: a write replayed with the key its real call already \
                         inserted"
                            .to_string()
                    }
                    _ => e.to_string(),
                }),
            },
        });
    }
    Ok(out)
}

/// A transaction with `who`'s settings set in it (transaction-local).
async fn begin_with_settings<'c>(
    conn: &'c mut PgConnection,
    who: &ActingAs,
) -> Result<sqlx::Transaction<'c, sqlx::Postgres>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    for (name, value) in &who.settings {
        sqlx::query("select set_config($1, $2, true)")
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

/// Act as `who`'s role until `reset role` or the transaction's end.
async fn set_role(conn: &mut PgConnection, who: &ActingAs) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(AssertSqlSafe(format!(
        "set local role {}",
        crate::app::quote(&who.role)
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// One side's plan summary.
struct Side {
    ms: f64,
    rows: f64,
    indexes: BTreeSet<(String, String)>,
}

async fn measure_one(
    conn: &mut PgConnection,
    who: &ActingAs,
    q: &PricedQuery,
    runs: u32,
) -> Result<Price, sqlx::Error> {
    let mut tx = begin_with_settings(conn, who).await?;
    let unbound = side(&mut tx, q, runs).await?;
    set_role(&mut tx, who).await?;
    let bound = side(&mut tx, q, runs).await?;
    sqlx::raw_sql("reset role").execute(&mut *tx).await?;
    let mut lost = Vec::new();
    for (index, table) in unbound.indexes.difference(&bound.indexes) {
        lost.push(LostIndex {
            index: index.clone(),
            table: table.clone(),
            not_leakproof: not_leakproof_operators(&mut tx, index, &q.sql).await?,
        });
    }
    tx.rollback().await?;
    let names = |s: &BTreeSet<(String, String)>| s.iter().map(|(i, _)| i.clone()).collect();
    let mut price = Price {
        name: q.name.clone(),
        app_ms: bound.ms,
        unbound_ms: unbound.ms,
        app_indexes: names(&bound.indexes),
        unbound_indexes: names(&unbound.indexes),
        lost,
        app_rows: bound.rows,
        unbound_rows: unbound.rows,
        flag: None,
        reason: None,
        fix: None,
        error: None,
    };
    judge(&mut price, who);
    Ok(price)
}

/// A claimed speed-up, measured: one query as the app role, with its
/// indexes and with some of them dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Speedup {
    /// Execution time with the indexes (fastest run), ms.
    pub with_ms: f64,
    /// Execution time with the named indexes dropped, ms.
    pub without_ms: f64,
    /// Indexes each plan used.
    pub with_indexes: Vec<String>,
    pub without_indexes: Vec<String>,
}

impl Speedup {
    /// Time without the indexes over time with them.
    pub fn ratio(&self) -> f64 {
        if self.with_ms > 0.0 {
            self.without_ms / self.with_ms
        } else {
            0.0
        }
    }
}

/// Time `q` as `who` with its indexes, then with `drop` dropped, in one
/// transaction that is rolled back (nothing is dropped for good; the
/// tables are locked until it ends, so run it when no load runs). `conn`
/// as for [`measure`], and it must own the indexes or be a superuser.
/// Index names may be schema-qualified (`public.idx`).
pub async fn speedup(
    conn: &mut PgConnection,
    who: &ActingAs,
    q: &PricedQuery,
    drop: &[String],
    runs: u32,
) -> Result<Speedup, sqlx::Error> {
    let runs = runs.max(1);
    let mut tx = begin_with_settings(conn, who).await?;
    set_role(&mut tx, who).await?;
    let with = side(&mut tx, q, runs).await?;
    sqlx::raw_sql("reset role").execute(&mut *tx).await?;
    for index in drop {
        let name = match index.split_once('.') {
            Some((schema, name)) => {
                format!("{}.{}", crate::app::quote(schema), crate::app::quote(name))
            }
            None => crate::app::quote(index),
        };
        sqlx::raw_sql(AssertSqlSafe(format!("drop index {name}")))
            .execute(&mut *tx)
            .await?;
    }
    set_role(&mut tx, who).await?;
    let without = side(&mut tx, q, runs).await?;
    tx.rollback().await?;
    let names = |s: &BTreeSet<(String, String)>| s.iter().map(|(i, _)| i.clone()).collect();
    Ok(Speedup {
        with_ms: with.ms,
        without_ms: without.ms,
        with_indexes: names(&with.indexes),
        without_indexes: names(&without.indexes),
    })
}

/// Decide the flag, the reason and the fix from the figures.
pub fn judge(p: &mut Price, who: &ActingAs) {
    let setting = who
        .settings
        .first()
        .map(|(n, _)| n.as_str())
        .unwrap_or("the tenant setting");
    // An index lost to a condition that is not leakproof is RLS's doing by
    // construction; one lost without such an operator is a plan the
    // planner chose for other reasons (row estimates), judged by time.
    // A query that leaves the tenant filter to the policy reads every
    // tenant when unbound: there RLS is the faster side, and nothing is lost.
    let leaky: Vec<&LostIndex> = p
        .lost
        .iter()
        .filter(|l| !l.not_leakproof.is_empty())
        .collect();
    if !leaky.is_empty() && p.app_ms > p.unbound_ms {
        let what: Vec<String> = leaky
            .iter()
            .map(|l| {
                format!(
                    "{} on {} (its operator {} is not leakproof)",
                    l.index,
                    l.table,
                    l.not_leakproof.join(", ")
                )
            })
            .collect();
        p.flag = Some("rls-costs-index".into());
        p.reason = Some(format!(
            "under RLS the plan no longer uses {}: the policy's predicate must run before any \
             condition that is not leakproof, so such a condition cannot be an index condition \
             and the query reads every row of the tenant, then filters ({:.2} ms against \
             {:.2} ms, {:.1}x)",
            what.join("; "),
            p.app_ms,
            p.unbound_ms,
            p.ratio()
        ));
        p.fix = Some(format!(
            "move the query into a SECURITY DEFINER function (plpgsql, `set search_path`), owned \
             by a role RLS does not bind and granted to the app role, whose body applies the \
             tenant predicate itself from `nullif(current_setting('{setting}', true), '')` \
             (never from a parameter), so the planner may use the index; or, on a server you \
             administer, mark the operator's function LEAKPROOF as a superuser once you have \
             checked it cannot raise an error that depends on the row"
        ));
    } else if p.ratio() >= SLOW_RATIO && p.app_ms - p.unbound_ms >= SLOW_DELTA_MS {
        let changed = if p.lost.is_empty() {
            "with the same indexes".to_string()
        } else {
            let names: Vec<&str> = p.lost.iter().map(|l| l.index.as_str()).collect();
            format!(
                "with a different plan (no longer using {})",
                names.join(", ")
            )
        };
        p.flag = Some("rls-slower".into());
        p.reason = Some(format!(
            "{:.2} ms under RLS against {:.2} ms without ({:.1}x) {changed}: the policy's \
             predicate is evaluated per row (a subquery or function in the policy) or changes \
             the planner's row estimates",
            p.app_ms,
            p.unbound_ms,
            p.ratio()
        ));
        p.fix = Some(
            "wrap the policy's context calls in a scalar subselect `(select ...)` so they run \
             once per statement, index the columns the policy's subqueries filter on, and \
             compare the two plans (EXPLAIN as the app role and as the owner)"
                .into(),
        );
    }
}

/// Run `q` `runs + 1` times under EXPLAIN ANALYZE as the current role,
/// each in a rolled-back savepoint; the fastest measured run's figures.
async fn side(conn: &mut PgConnection, q: &PricedQuery, runs: u32) -> Result<Side, sqlx::Error> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "harness_price_{}",
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    sqlx::raw_sql(AssertSqlSafe(format!("prepare {name} as {}", q.sql)))
        .execute(&mut *conn)
        .await?;
    let runs_result = explain_runs(conn, &name, q, runs).await;
    // Prepared statements outlive a rolled-back transaction: always drop it.
    let dropped = sqlx::raw_sql(AssertSqlSafe(format!("deallocate {name}")))
        .execute(&mut *conn)
        .await;
    let side = runs_result?;
    dropped?;
    Ok(side)
}

async fn explain_runs(
    conn: &mut PgConnection,
    name: &str,
    q: &PricedQuery,
    runs: u32,
) -> Result<Side, sqlx::Error> {
    let args: Vec<String> = q
        .args
        .iter()
        .map(|a| match a {
            Some(v) => crate::app::literal(v),
            None => "null".into(),
        })
        .collect();
    let explain = if args.is_empty() {
        format!("explain (analyze, format json) execute {name}")
    } else {
        format!(
            "explain (analyze, format json) execute {name}({})",
            args.join(", ")
        )
    };
    let mut best: Option<Side> = None;
    for run in 0..=runs {
        sqlx::raw_sql("savepoint harness_price_run")
            .execute(&mut *conn)
            .await?;
        let plan: Result<serde_json::Value, sqlx::Error> =
            sqlx::query_scalar(AssertSqlSafe(explain.clone()))
                .persistent(false)
                .fetch_one(&mut *conn)
                .await;
        sqlx::raw_sql("rollback to savepoint harness_price_run")
            .execute(&mut *conn)
            .await?;
        let plan = plan?;
        if run == 0 {
            continue;
        }
        let s = read_plan(&plan);
        if best.as_ref().is_none_or(|b| s.ms < b.ms) {
            best = Some(s);
        }
    }
    Ok(best.expect("at least one measured run"))
}

/// Execution time, top-level rows and the (index, table) pairs of an
/// `EXPLAIN (ANALYZE, FORMAT JSON)` result.
fn read_plan(v: &serde_json::Value) -> Side {
    let top = &v[0];
    let mut indexes = BTreeSet::new();
    walk(&top["Plan"], "", &mut indexes);
    Side {
        ms: top["Execution Time"].as_f64().unwrap_or(0.0),
        rows: top["Plan"]["Actual Rows"].as_f64().unwrap_or(0.0),
        indexes,
    }
}

/// A bitmap index scan names no table: it is its parent heap scan's.
fn walk(node: &serde_json::Value, parent: &str, out: &mut BTreeSet<(String, String)>) {
    let table = node["Relation Name"].as_str().unwrap_or(parent);
    if let Some(index) = node["Index Name"].as_str() {
        out.insert((index.to_string(), table.to_string()));
    }
    if let Some(children) = node["Plans"].as_array() {
        for c in children {
            walk(c, table, out);
        }
    }
}

/// The operators `index` serves whose function is not leakproof and whose
/// symbol appears in `sql`, as `op (function)`.
async fn not_leakproof_operators(
    conn: &mut PgConnection,
    index: &str,
    sql: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select distinct o.oprname::text, p.proname::text
         from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_opclass oc on oc.oid = any(i.indclass::oid[])
         join pg_amop am on am.amopfamily = oc.opcfamily
         join pg_operator o on o.oid = am.amopopr
         join pg_proc p on p.oid = o.oprcode
         where c.relname = $1 and pg_table_is_visible(c.oid) and not p.proleakproof
         order by 1, 2",
    )
    .bind(index)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(op, _)| sql.contains(op.as_str()))
        .map(|(op, f)| format!("{op} ({f})"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(app_ms: f64, unbound_ms: f64, lost: Vec<LostIndex>) -> Price {
        Price {
            name: "q".into(),
            app_ms,
            unbound_ms,
            app_indexes: vec![],
            unbound_indexes: vec![],
            lost,
            app_rows: 1.0,
            unbound_rows: 1.0,
            flag: None,
            reason: None,
            fix: None,
            error: None,
        }
    }

    fn who() -> ActingAs {
        ActingAs {
            role: "app".into(),
            settings: vec![("x.tenant".into(), "7".into())],
        }
    }

    #[test]
    fn a_lost_index_is_flagged_with_its_operator_and_the_setting_in_the_fix() {
        let mut p = price(
            40.0,
            0.2,
            vec![LostIndex {
                index: "docs_search".into(),
                table: "docs".into(),
                not_leakproof: vec!["@@ (ts_match_vq)".into()],
            }],
        );
        judge(&mut p, &who());
        assert_eq!(p.flag.as_deref(), Some("rls-costs-index"));
        let reason = p.reason.unwrap();
        assert!(reason.contains("docs_search") && reason.contains("@@ (ts_match_vq)"));
        assert!(reason.contains("200.0x"), "{reason}");
        assert!(p.fix.unwrap().contains("current_setting('x.tenant', true)"));
    }

    #[test]
    fn an_index_lost_without_a_leaky_operator_is_judged_by_time_alone() {
        let lost = || {
            vec![LostIndex {
                index: "orders_key".into(),
                table: "orders".into(),
                not_leakproof: vec![],
            }]
        };
        let mut p = price(1.35, 0.81, lost());
        judge(&mut p, &who());
        assert_eq!(p.flag, None, "a different plan, 1.7x: not flagged");
        let mut p = price(12.0, 2.0, lost());
        judge(&mut p, &who());
        assert_eq!(p.flag.as_deref(), Some("rls-slower"));
        assert!(p.reason.unwrap().contains("no longer using orders_key"));
    }

    #[test]
    fn a_query_that_relies_on_the_policy_for_its_tenant_is_not_flagged_when_rls_is_faster() {
        let mut p = price(
            0.26,
            9.95,
            vec![LostIndex {
                index: "entries_tags".into(),
                table: "entries".into(),
                not_leakproof: vec!["&& (arrayoverlap)".into()],
            }],
        );
        judge(&mut p, &who());
        assert_eq!(p.flag, None, "unbound read every tenant: {p:?}");
    }

    #[test]
    fn slow_needs_both_the_ratio_and_the_delta() {
        let mut fast = price(0.6, 0.1, vec![]);
        judge(&mut fast, &who());
        assert_eq!(fast.flag, None, "6x but half a millisecond is noise");
        let mut close = price(25.0, 10.0, vec![]);
        judge(&mut close, &who());
        assert_eq!(close.flag, None, "2.5x is under the ratio");
        let mut slow = price(31.0, 10.0, vec![]);
        judge(&mut slow, &who());
        assert_eq!(slow.flag.as_deref(), Some("rls-slower"));
    }

    #[test]
    fn plans_give_time_rows_and_every_index_at_any_depth() {
        let v: serde_json::Value = serde_json::from_str(
            r#"[{"Plan": {"Node Type": "Limit", "Actual Rows": 3, "Plans": [
                {"Node Type": "Bitmap Heap Scan", "Relation Name": "docs", "Plans": [
                    {"Node Type": "Bitmap Index Scan", "Index Name": "docs_search"}]},
                {"Node Type": "Index Scan", "Index Name": "docs_pkey", "Relation Name": "docs"}]},
               "Execution Time": 1.25}]"#,
        )
        .unwrap();
        let s = read_plan(&v);
        assert_eq!(s.ms, 1.25);
        assert_eq!(s.rows, 3.0);
        let pairs: Vec<(&str, &str)> = s
            .indexes
            .iter()
            .map(|(i, t)| (i.as_str(), t.as_str()))
            .collect();
        assert_eq!(pairs, [("docs_pkey", "docs"), ("docs_search", "docs")]);
    }
}
