//! Applicants browsing: full-text project search with ranking, location and
//! status filters with pagination, and project detail pages. Read-only,
//! so every query may be served by the replica.

use rand::RngExt;

use crate::common::{Env, Outcome, Param, Query, Route, Step, UserState};
use crate::queries::{FILTER_PROJECTS, OPEN_STATUSES, PROJECT_DETAIL, SEARCH_PROJECTS};

pub fn steps() -> Vec<Step> {
    vec![
        Step {
            name: "search and open a project",
            weight: 4,
            run: |env, u| Box::pin(search(env, u)),
        },
        Step {
            name: "filter projects",
            weight: 3,
            run: |env, u| Box::pin(filter(env, u)),
        },
        Step {
            name: "open a project",
            weight: 3,
            run: |env, u| Box::pin(detail(env, u)),
        },
    ]
}

fn statuses() -> Param {
    Param::TextArray(OPEN_STATUSES.iter().map(|s| s.to_string()).collect())
}

async fn search(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let t = env.tenant(u);
    let term = u
        .pick(&t.search_terms)
        .cloned()
        .unwrap_or_else(|| "housing".into());
    let page = u.rng.random_range(0..3i64);
    let q = Query::new("search_projects", SEARCH_PROJECTS, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Text(term))
        .bind(statuses())
        .bind(Param::I64(20))
        .bind(Param::I64(page * 20));
    let hits = env.send(u, q).await;
    let mut out = vec![];
    let next = u.pick(&hits.ids).copied();
    out.push(hits);
    if let Some(id) = next {
        out.push(open(env, u, id).await);
    }
    out
}

async fn filter(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let t = env.tenant(u);
    let loc = u.pick(&t.locations).cloned().unwrap_or_default();
    let page = u.rng.random_range(0..3i64);
    let q = Query::new("filter_projects", FILTER_PROJECTS, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Text(loc))
        .bind(statuses())
        .bind(Param::I64(20))
        .bind(Param::I64(page * 20));
    let o = env.send(u, q).await;
    u.last_ids = o.ids.clone();
    vec![o]
}

async fn detail(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let last = std::mem::take(&mut u.last_ids);
    let id = match u.pick(&last).copied() {
        Some(id) => id,
        None => match u.pick(&env.tenant(u).projects).copied() {
            Some(id) => id,
            None => return vec![],
        },
    };
    u.last_ids = last;
    vec![open(env, u, id).await]
}

pub(crate) async fn open(env: &Env, u: &mut UserState, project: uuid::Uuid) -> Outcome {
    let q = Query::new("project_detail", PROJECT_DETAIL, Route::Read)
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Uuid(project));
    env.send(u, q).await
}
