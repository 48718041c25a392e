//! The load path's connection pool: a fixed set of connections opened before
//! the run, handed out first come, first served, and given back without a
//! round trip when the work on them ended cleanly.
//!
//! Why not `sqlx::PgPool`: it pings every connection it takes back
//! (`Sync`, then wait for `ReadyForQuery`) so that a future dropped halfway
//! cannot leave a half-read answer for the next user. That is the right
//! default for an app, but under load it is one more round trip per query,
//! on the same two cores as the servers: `compare-pgbench`'s point select
//! paid two round trips where `pgbench -S` pays one. Here the caller says
//! when a connection is known to be idle ([`Pooled::done`], after a commit
//! or a complete answer); only a connection given back without that (an
//! error, a timeout, a cancelled future) goes through the ping, on a task
//! of its own, before anyone else gets it, and is replaced by a new one if
//! the ping fails. A transaction left open by a dropped
//! `sqlx::Transaction` is rolled back by that same ping (sqlx queues the
//! `ROLLBACK` and the ping flushes it), so no tenant context can cross to
//! the next user (docs/rls.md, pitfall 4).
//!
//! Waiting is fair: a `tokio::sync::Semaphore` grants permits in arrival
//! order, and an acquire that waits longer than the timeout fails with
//! [`sqlx::Error::PoolTimedOut`], counted by the error gate like sqlx's.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

struct Inner {
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<PgConnection>>,
    opts: PgConnectOptions,
    acquire_timeout: Duration,
}

/// A bounded pool of `size` connections, all opened up front.
#[derive(Clone)]
pub struct ConnPool {
    inner: Arc<Inner>,
}

impl ConnPool {
    /// Open `size` connections (concurrently) or fail with the first error.
    pub async fn open(
        opts: PgConnectOptions,
        size: u32,
        acquire_timeout: Duration,
    ) -> Result<ConnPool, sqlx::Error> {
        let conns = futures::future::try_join_all((0..size).map(|_| opts.connect())).await?;
        Ok(ConnPool {
            inner: Arc::new(Inner {
                permits: Arc::new(Semaphore::new(size as usize)),
                idle: Mutex::new(conns),
                opts,
                acquire_timeout,
            }),
        })
    }

    /// Take a connection, waiting at most the acquire timeout.
    pub async fn acquire(&self) -> Result<Pooled, sqlx::Error> {
        let permit = tokio::time::timeout(
            self.inner.acquire_timeout,
            self.inner.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?
        .map_err(|_| sqlx::Error::PoolClosed)?;
        let conn = self.inner.idle.lock().expect("pool lock").pop();
        let conn = match conn {
            Some(c) => c,
            // A connection lost earlier and not yet replaced.
            None => self.inner.opts.connect().await?,
        };
        Ok(Pooled {
            conn: Some(conn),
            permit: Some(permit),
            inner: self.inner.clone(),
            clean: false,
        })
    }

    /// Forget every idle connection: the server they lead to went away
    /// (a crash, a restart), so each would fail one query before being
    /// replaced. The next acquires connect afresh.
    pub fn discard_idle(&self) {
        let idle = std::mem::take(&mut *self.inner.idle.lock().expect("pool lock"));
        drop(idle);
    }

    /// Refuse new acquires and close every idle connection politely.
    pub async fn close(&self) {
        self.inner.permits.close();
        let idle: Vec<PgConnection> =
            std::mem::take(&mut *self.inner.idle.lock().expect("pool lock"));
        for c in idle {
            let _ = c.close().await;
        }
    }
}

/// A checked-out connection; see the module doc for what [`Pooled::done`]
/// promises.
pub struct Pooled {
    conn: Option<PgConnection>,
    permit: Option<OwnedSemaphorePermit>,
    inner: Arc<Inner>,
    clean: bool,
}

impl Pooled {
    /// The work on this connection ended with a complete answer and no open
    /// transaction: it goes back to the pool as it is.
    pub fn done(&mut self) {
        self.clean = true;
    }
}

impl Deref for Pooled {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let (Some(mut conn), Some(permit)) = (self.conn.take(), self.permit.take()) else {
            return;
        };
        let inner = self.inner.clone();
        if self.clean {
            // After `close`, a connection that comes back is dropped.
            if !inner.permits.is_closed() {
                inner.idle.lock().expect("pool lock").push(conn);
            }
            drop(permit);
            return;
        }
        // Unclean: settle the connection (flush a queued ROLLBACK, read what
        // is left of an answer) or replace it, and only then free the slot.
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let settled = tokio::time::timeout(Duration::from_secs(5), conn.ping())
                .await
                .map(|r| r.is_ok())
                .unwrap_or(false);
            let conn = if settled {
                Some(conn)
            } else {
                drop(conn);
                inner.opts.connect().await.ok()
            };
            if let Some(c) = conn {
                if !inner.permits.is_closed() {
                    inner.idle.lock().expect("pool lock").push(c);
                }
            }
            drop(permit);
        });
    }
}
