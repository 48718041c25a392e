//! Admins doing bulk status updates: read a batch of one project's pending
//! applications (replica), then decide them all in one `UPDATE ... FROM unnest(...)` on
//! the primary. Two admins of one tenant may pick the same rows: the row
//! locks they then wait on are part of what the load measures.

use rand::RngExt;

use crate::common::{Env, Outcome, Param, Query, Route, Step, UserState};
use crate::queries::{BULK_UPDATE_STATUS, PENDING_APPLICATIONS};

/// Applications decided per bulk update.
pub const BATCH: i64 = 10;

pub fn steps() -> Vec<Step> {
    vec![Step {
        name: "review a batch",
        weight: 1,
        run: |env, u| Box::pin(review(env, u)),
    }]
}

async fn review(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let Some(project) = u.pick(&env.tenant(u).projects).copied() else {
        return vec![];
    };
    let q = Query::new("pending_applications", PENDING_APPLICATIONS, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Uuid(project))
        .bind(Param::I64(BATCH * 5));
    let pending = env.send(u, q).await;
    // A random slice of the queue, so concurrent admins of one tenant
    // mostly (not always) pick different rows.
    let ids: Vec<uuid::Uuid> = pending
        .ids
        .iter()
        .copied()
        .filter(|_| u.rng.random_bool(0.5))
        .take(BATCH as usize)
        .collect();
    let mut out = vec![pending];
    if ids.is_empty() {
        return out;
    }
    let statuses: Vec<String> = ids
        .iter()
        .map(|_| {
            ["under_review", "approved", "rejected", "waitlisted"][u.rng.random_range(0..4usize)]
                .to_string()
        })
        .collect();
    let q = Query::new("bulk_update_status", BULK_UPDATE_STATUS, Route::Write)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::UuidArray(ids))
        .bind(Param::TextArray(statuses));
    out.push(env.send(u, q).await);
    out
}
