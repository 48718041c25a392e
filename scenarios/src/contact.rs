//! The public contact form: one insert on the primary, as the tenant whose
//! site the form is on, with no signed-in user.

use rand::RngExt;
use uuid::Uuid;

use crate::common::{Env, Outcome, Param, Query, Route, Step, UserState};
use crate::queries::CONTACT;

pub fn steps() -> Vec<Step> {
    vec![Step {
        name: "send the contact form",
        weight: 1,
        run: |env, u| Box::pin(submit(env, u)),
    }]
}

async fn submit(env: &Env, u: &mut UserState) -> Vec<Outcome> {
    let n: u32 = u.rng.random_range(0..1_000_000);
    let q = Query::new("contact_form", CONTACT, Route::Write)
        .bind(Param::Uuid(Uuid::new_v4()))
        .bind(Param::Uuid(u.ctx.company_id))
        .bind(Param::Text(format!("Visitor {n}")))
        .bind(Param::Text(format!("visitor{n}@example.org")))
        .bind(Param::Text("Question about availability".into()))
        .bind(Param::Text(
            "When does the waiting list open for two-bedroom units?".into(),
        ));
    vec![env.send(u, q).await]
}
