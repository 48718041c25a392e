//! Staff dashboards: the newest projects with application statistics, and
//! applicant search. Read-only; a dashboard tolerates replica lag.

use crate::common::{Env, Outcome, Param, Query, Route, Step, UserState};
use crate::queries::{PROJECTS_WITH_STATS, SEARCH_APPLICANTS};

pub fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "dashboard",
            weight: 2,
            run: |env, u| Box::pin(dashboard(env, u)),
        },
        Step {
            name: "search applicants",
            weight: 1,
            run: |env, u| Box::pin(search(env, u)),
        },
    ]
}

async fn dashboard(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let q = Query::new("projects_with_stats", PROJECTS_WITH_STATS, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id));
    vec![env.send(u, q).await]
}

async fn search(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let term = u
        .pick(&env.tenant(u).applicant_names)
        .cloned()
        .unwrap_or_else(|| "smith".into());
    let q = Query::new("search_applicants", SEARCH_APPLICANTS, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Text(term));
    vec![env.send(u, q).await]
}
