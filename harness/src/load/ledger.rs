//! The write ledger: proof that every write the app was told had committed
//! is still there after the faults.
//!
//! Any app, any workload: the harness cannot know what a write of the app
//! writes, nor how to look for it afterwards. So it adds a row of its own
//! to each write: inside every write transaction ([`scenarios::Route::Write`]
//! of the workload), after the app's statement, the transport inserts one
//! row into `harness.ledger` with an id the generator allocates. The row
//! commits atomically with the app's write, so its presence proves the
//! write and its absence proves the write is gone. An id whose `COMMIT`
//! answered OK is *acknowledged*; an id whose `COMMIT` failed (the
//! connection died under it) is *in doubt*: the write may or may not have
//! committed, and neither outcome is a loss.
//!
//! After the run, every id present on the surviving primary (the promoted
//! replica after a promotion) is read back; an acknowledged id that is not
//! there is a **lost write**. With asynchronous replication a promotion may
//! lose the last commits the old primary acknowledged before the replica
//! received them: a finding about the setup, gated only when asked
//! (`--max-lost-writes`); with `--durability sync-apply` a commit returns
//! only once the replica applied it, and the gate is zero.
//!
//! The table is the harness's own (schema `harness`, no row-level
//! security, `INSERT` granted to the app role), created in the load's
//! database before the run and emptied if it was there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sqlx::{Connection, PgConnection, Postgres, Transaction};

use crate::cluster::Endpoint;

/// How many lost ids the results list (the count is always whole).
const LISTED: usize = 20;

/// The ledger of one run.
#[derive(Default)]
pub struct Ledger {
    next: AtomicU64,
    acknowledged: Mutex<Vec<u64>>,
    in_doubt: Mutex<Vec<u64>>,
}

/// What the ledger found after the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LedgerFigures {
    /// Writes whose `COMMIT` answered OK.
    pub acknowledged: u64,
    /// Of those, how many the surviving primary holds.
    pub found: u64,
    /// Acknowledged but missing: lost writes.
    pub lost: u64,
    /// The first lost ids (ledger ids, in order).
    pub lost_ids: Vec<u64>,
    /// Writes whose `COMMIT` failed (outcome unknown to the app), and how
    /// many of them committed anyway.
    pub in_doubt: u64,
    pub in_doubt_committed: u64,
    /// Where the check ran (`host:port`): the surviving primary.
    pub checked_on: String,
    /// Acknowledged rows deleted on purpose before the check (a test of
    /// the check itself; 0 in real runs).
    #[serde(default)]
    pub dropped_for_test: u64,
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Ledger {
    /// Create (or empty) `harness.ledger` in `db` (a superuser endpoint of
    /// the primary, on the load's database) and let `app_role` insert into it.
    pub async fn install(db: &Endpoint, app_role: &str) -> Result<Ledger, sqlx::Error> {
        let mut c = PgConnection::connect_with(&db.connect_options()).await?;
        let role = quote_ident(app_role);
        for sql in [
            "create schema if not exists harness".to_string(),
            "create table if not exists harness.ledger (id bigint primary key)".to_string(),
            "truncate harness.ledger".to_string(),
            format!("grant usage on schema harness to {role}"),
            format!("grant insert on harness.ledger to {role}"),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await?;
        }
        Ok(Ledger::default())
    }

    /// Inside a write transaction: insert the next id; it is neither
    /// acknowledged nor in doubt until the `COMMIT` answers.
    /// `named`: whether the statement may be a named (cached) one; not
    /// through a transaction-mode pooler ([`super::transport`]).
    pub async fn record(
        &self,
        tx: &mut Transaction<'_, Postgres>,
        named: bool,
    ) -> Result<u64, sqlx::Error> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        sqlx::query("insert into harness.ledger (id) values ($1)")
            .bind(id as i64)
            .persistent(named)
            .execute(&mut **tx)
            .await?;
        Ok(id)
    }

    pub fn acknowledge(&self, id: u64) {
        self.acknowledged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
    }

    pub fn in_doubt(&self, id: u64) {
        self.in_doubt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
    }

    /// Acknowledged ids so far, sorted.
    pub fn acknowledged(&self) -> Vec<u64> {
        let mut v = self
            .acknowledged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        v.sort_unstable();
        v
    }

    /// Read every id on `db` (a superuser endpoint of the surviving primary
    /// on the load's database) and compare. `drop_for_test` acknowledged
    /// rows are deleted first: the check must then count exactly that many
    /// lost.
    pub async fn check(
        &self,
        db: &Endpoint,
        drop_for_test: u64,
    ) -> Result<LedgerFigures, sqlx::Error> {
        let mut c = PgConnection::connect_with(&db.connect_options()).await?;
        let acked = self.acknowledged();
        if drop_for_test > 0 {
            let victims: Vec<i64> = acked
                .iter()
                .rev()
                .take(drop_for_test as usize)
                .map(|&i| i as i64)
                .collect();
            sqlx::query("delete from harness.ledger where id = any($1)")
                .bind(victims)
                .execute(&mut c)
                .await?;
        }
        let mut present: Vec<i64> = sqlx::query_scalar("select id from harness.ledger")
            .fetch_all(&mut c)
            .await?;
        present.sort_unstable();
        let has = |id: u64| present.binary_search(&(id as i64)).is_ok();
        let lost: Vec<u64> = acked.iter().copied().filter(|&i| !has(i)).collect();
        let doubt = self
            .in_doubt
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Ok(LedgerFigures {
            acknowledged: acked.len() as u64,
            found: (acked.len() - lost.len()) as u64,
            lost: lost.len() as u64,
            lost_ids: lost.iter().take(LISTED).copied().collect(),
            in_doubt: doubt.len() as u64,
            in_doubt_committed: doubt.iter().filter(|&&i| has(i)).count() as u64,
            checked_on: format!("{}:{}", db.host, db.port),
            dropped_for_test: drop_for_test,
        })
    }
}
