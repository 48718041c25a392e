//! Applicants applying: submit an application, then see it in their own
//! list. The list right after the submit is the read-your-own-write case:
//! it is routed [`Route::ReadOwnWrites`], so the transport serves it from
//! the replica only once the replica has replayed the submit's commit.

use rand::RngExt;
use uuid::Uuid;

use crate::common::{Env, Outcome, Param, Query, Route, Step, UserState};
use crate::queries::{APPLY, MY_APPLICATIONS};

pub fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "apply and see it listed",
            weight: 1,
            run: |env, u| Box::pin(apply(env, u)),
        },
        Step {
            name: "my applications",
            weight: 2,
            run: |env, u| Box::pin(mine(env, u)),
        },
    ]
}

async fn apply(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let Some(applicant) = u.applicant else {
        return vec![];
    };
    let Some(project) = u.pick(&env.tenant(u).projects).copied() else {
        return vec![];
    };
    let score = u.rng.random_range(0.0..100.0f64);
    let q = Query::new("apply", APPLY, Route::Write)
        .bind(Param::Uuid(Uuid::new_v4()))
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Uuid(project))
        .bind(Param::Uuid(applicant))
        .bind(Param::F64((score * 100.0).round() / 100.0));
    let w = env.send(u, q).await;
    let ok = w.ok();
    let mut out = vec![w];
    if ok {
        out.push(list(env, u, Route::ReadOwnWrites).await);
    }
    out
}

async fn mine(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    vec![list(env, u, Route::ReadOwnWrites).await]
}

async fn list(env: &Env, u: &mut UserState, route: Route) -> Outcome {
    let q = Query::new("my_applications", MY_APPLICATIONS, route)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Uuid(u.applicant.unwrap_or_default()));
    env.send(u, q).await
}
