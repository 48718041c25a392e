//! The contract between the workload interpreter and the transport that
//! runs its queries: a named [`Query`] with typed parameters and a
//! [`Route`], the [`Context`] it runs as, and the [`Outcome`] that comes
//! back.
//!
//! The interpreter does not talk to PostgreSQL itself. It hands queries to
//! an [`Executor`]; the harness's transport implements it with shared
//! bounded pools, routing and timing. That split is forced by the crate
//! graph (`harness` depends on `scenarios`, not the other way) and is also
//! the right one: the same workload then runs under goose's closed model
//! and under the harness's own open-model scheduler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::value::{Param, Value};

/// Where a query may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// A read that may be served by the replica, however stale.
    Read,
    /// A read that must see this user's own last write: the replica once it
    /// has replayed that write's commit LSN, else the primary.
    ReadOwnWrites,
    /// A write: always the primary.
    Write,
}

/// One named query: the unit the transport times, records and gates.
/// Names, SQL and the kept columns are fixed for a run (they come from the
/// workload, compiled once), hence `'static`.
#[derive(Debug, Clone)]
pub struct Query {
    /// The request name in goose's reports and in the gates.
    pub name: &'static str,
    pub sql: &'static str,
    pub params: Vec<Param>,
    pub route: Route,
    /// Columns of the answer to read back (by position), for later calls
    /// (`returned`) and read-your-own-write checks. Empty: only count rows.
    pub keep: &'static [usize],
    /// Read-your-own-write: the answer must hold this value in this column
    /// (a position in the row), else the query fails with `ryw-miss`.
    pub expect: Option<(usize, Value)>,
}

impl Query {
    pub fn new(name: &'static str, sql: &'static str, route: Route) -> Self {
        Query {
            name,
            sql,
            params: Vec::new(),
            route,
            keep: &[],
            expect: None,
        }
    }

    pub fn bind(mut self, p: Param) -> Self {
        self.params.push(p);
        self
    }
}

/// The error kind of a read that did not return the user's own write.
pub const RYW_MISS: &str = "ryw-miss";

/// Which server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Server {
    Primary,
    Replica,
}

/// What the transport reports for one named query. A failure is data (an
/// error kind), never a panic: the gate judges the error rate.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: &'static str,
    pub server: Server,
    /// `None` on success; else a short error kind such as `pool-timeout`,
    /// `sql:40001` or [`RYW_MISS`].
    pub error: Option<String>,
    /// Rows returned or affected.
    pub rows: u64,
    /// The kept columns ([`Query::keep`]) of every returned row.
    pub values: Vec<Vec<Value>>,
    /// Pool wait + query time.
    pub total: Duration,
    /// Time spent waiting for a pooled connection.
    pub pool_wait: Duration,
    /// Time from holding a connection to the commit's answer.
    pub exec: Duration,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Who a query runs as: the settings set transaction-locally before it
/// (the app's tenant setting from `app.toml`, then the user kind's own,
/// such as a user id and role the policies read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub settings: Arc<[(String, String)]>,
    /// `BEGIN` and every `set_config` in one simple-protocol message, when
    /// every name and value is safe to inline (see [`Context::new`]).
    pub begin_sql: Option<Arc<str>>,
}

impl Context {
    pub fn new(settings: Vec<(String, String)>) -> Context {
        let begin_sql = begin_sql(&settings).map(Arc::from);
        Context {
            settings: settings.into(),
            begin_sql,
        }
    }
}

/// `begin; select set_config('n', 'v', true), ...`: one round trip for the
/// transaction and its context. Only for text with no quote, backslash or
/// NUL (ids, numbers, role words): anything else is bound in a second
/// round trip instead of being escaped here.
fn begin_sql(settings: &[(String, String)]) -> Option<String> {
    let safe = |s: &str| !s.contains(['\'', '\\', '\0']);
    if !settings.iter().all(|(n, v)| safe(n) && safe(v)) {
        return None;
    }
    if settings.is_empty() {
        return Some("begin".into());
    }
    let sets: Vec<String> = settings
        .iter()
        .map(|(n, v)| format!("set_config('{n}', '{v}', true)"))
        .collect();
    Some(format!("begin; select {}", sets.join(", ")))
}

/// Boxed future type for object-safe async.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The transport the interpreter sends its queries through. Implemented by
/// the harness (`harness::load::transport`).
pub trait Executor: Send + Sync {
    /// Run `query` in one transaction as `who` (settings set
    /// transaction-locally), routed by `query.route`. `fresh` is the user's
    /// last commit LSN: set by the executor after a write, read for
    /// [`Route::ReadOwnWrites`].
    fn run<'a>(
        &'a self,
        who: &'a Context,
        fresh: &'a mut Option<String>,
        query: Query,
    ) -> BoxFut<'a, Outcome>;

    /// Record `name` as failed with `kind` without sending it: a value
    /// that cannot be bound as its parameter's type (`bind:$2`). Counted
    /// like any failed query, so a workload whose values do not fit shows
    /// in the error table instead of silently sending less.
    fn refuse(&self, name: &'static str, route: Route, kind: String) -> Outcome;
}

/// A short error kind for a query failure, for error tables and goose.
pub fn error_kind(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => "pool-timeout".into(),
        sqlx::Error::PoolClosed => "pool-closed".into(),
        sqlx::Error::Database(d) => format!(
            "sql:{}",
            d.code().map(|c| c.to_string()).unwrap_or_default()
        ),
        sqlx::Error::Io(_) => "io".into(),
        other => {
            let s = other.to_string();
            s.split(':').next().unwrap_or("error").trim().to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_round_trip_only_for_values_that_need_no_quoting() {
        let c = Context::new(vec![
            ("app.tenant".into(), "42".into()),
            ("app.role".into(), "admin".into()),
        ]);
        assert_eq!(
            c.begin_sql.as_deref(),
            Some("begin; select set_config('app.tenant', '42', true), set_config('app.role', 'admin', true)")
        );
        for bad in ["x'; reset all; --", "ad\\min", "a\0b"] {
            let c = Context::new(vec![("app.role".into(), bad.into())]);
            assert_eq!(c.begin_sql, None, "{bad}");
        }
    }
}
