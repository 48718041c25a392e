//! The goose glue: one goose scenario per kind of user of the workload,
//! one goose transaction that draws the user's next step by the steps'
//! weights and runs it, and each named query a step sends recorded as a
//! goose custom request.
//!
//! Why not one goose transaction per step with the step's weight: goose
//! lays a scenario's weighted transactions out once, in one order, and
//! every user walks that order from its start, so in a short run the
//! steps late in it barely run at all and every user begins alike.
//!
//! A goose transaction is a closure over an [`Env`] (goose 0.19 takes
//! `Arc<dyn Fn>`), so no global state is needed and two attacks in one
//! process do not see each other.

use std::sync::Arc;
use std::time::Duration;

use goose::prelude::*;

use crate::user::{Env, UserState};

/// Goose's method label for SQL requests.
pub const METHOD: &str = "SQL";

/// A user's state as goose session data: shared behind a lock so a step
/// borrows it without cloning (goose hands out `&mut GooseUser` and the
/// state must outlive the step's awaits).
#[derive(Clone)]
struct Slot(Arc<tokio::sync::Mutex<UserState>>);

/// The user's next step, drawn by weight, as a goose transaction.
fn goose_transaction(env: Arc<Env>) -> Transaction {
    let f: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let env = env.clone();
        Box::pin(async move {
            let Some(slot) = user.get_session_data::<Slot>().cloned() else {
                return Err(Box::new(TransactionError::Custom(
                    "user has no session: its on-start transaction failed".into(),
                )));
            };
            let outcomes = {
                let mut state = slot.0.lock().await;
                let step = state.draw_step(&env);
                state.run_step(&env, step).await
            };
            for o in &outcomes {
                user.record_custom_request_duration(
                    METHOD,
                    o.name,
                    o.total,
                    o.ok(),
                    None,
                    o.error.as_deref(),
                )
                .await?;
            }
            Ok(())
        })
    });
    Transaction::new(f)
}

/// The on-start transaction of a kind: draw a tenant and who the user is.
fn on_start(env: Arc<Env>, kind: usize, seed: u64) -> Transaction {
    let f: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let env = env.clone();
        Box::pin(async move {
            let s = seed ^ (user.weighted_users_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            match UserState::start(&env.plan, &env.catalog, kind, s) {
                Some(state) => {
                    user.set_session_data(Slot(Arc::new(tokio::sync::Mutex::new(state))));
                    Ok(())
                }
                None => Err(Box::new(TransactionError::Custom(format!(
                    "no tenant in the catalog can host a {} user (its samples are empty)",
                    env.plan.kinds[kind].name
                )))),
            }
        })
    });
    Transaction::new(f).set_name("start").set_on_start()
}

/// The goose scenarios of the workload, each kind weighted, each user
/// thinking its kind's think time between steps, or `think` for every
/// kind when given.
pub fn goose_scenarios(
    env: Arc<Env>,
    think: Option<(Duration, Duration)>,
    seed: u64,
) -> Result<Vec<Scenario>, GooseError> {
    let mut out = Vec::new();
    for (k, kind) in env.plan.kinds.iter().enumerate() {
        let (lo, hi) = think.unwrap_or((
            Duration::from_secs_f64(kind.think[0]),
            Duration::from_secs_f64(kind.think[1]),
        ));
        out.push(
            Scenario::new(kind.name)
                .set_weight(kind.weight)?
                .set_wait_time(lo, hi)?
                .register_transaction(on_start(env.clone(), k, seed ^ k as u64))
                .register_transaction(goose_transaction(env.clone()).set_name("step")),
        );
    }
    Ok(out)
}
