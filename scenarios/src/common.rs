//! What every kind of user shares: the named query a journey hands to the
//! transport, the transport's answer, the catalog of tenants users are drawn
//! from, one user's state, and the glue that turns a journey step into a
//! goose transaction.
//!
//! The journeys do not talk to PostgreSQL themselves. They build a
//! [`Query`] (a name, SQL, parameters and a [`Route`]) and hand it to an
//! [`Executor`]; the harness's transport implements it with shared bounded
//! pools, routing and timing. That split is forced by the crate graph
//! (`harness` depends on `scenarios`, not the other way) and is also the
//! right one: the same journeys then run under goose's closed model and
//! under the harness's own open-model scheduler, and a named query's SQL is
//! visible here, next to the journey that sends it.
//!
//! A goose transaction is a closure over an [`Env`] (goose 0.19 takes
//! `Arc<dyn Fn>`), so no global state is needed and two attacks in one
//! process do not see each other.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use fixtures::tenant::TenantContext;
use goose::prelude::*;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A bound parameter of a named query.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Uuid(Uuid),
    Text(String),
    I64(i64),
    F64(f64),
    UuidArray(Vec<Uuid>),
    TextArray(Vec<String>),
}

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
#[derive(Debug, Clone)]
pub struct Query {
    /// The request name in goose's reports and in the gates.
    pub name: &'static str,
    pub sql: &'static str,
    pub params: Vec<Param>,
    pub route: Route,
}

impl Query {
    pub fn new(name: &'static str, sql: &'static str, route: Route) -> Self {
        Query {
            name,
            sql,
            params: Vec::new(),
            route,
        }
    }

    pub fn bind(mut self, p: Param) -> Self {
        self.params.push(p);
        self
    }
}

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
    /// `None` on success; else a short error kind such as `pool-timeout`
    /// or `sql:40001`.
    pub error: Option<String>,
    /// Rows returned or affected.
    pub rows: u64,
    /// The first column of each returned row when it is a uuid (ids the
    /// journey reuses, e.g. project ids for a detail page).
    pub ids: Vec<Uuid>,
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

/// Boxed future type for object-safe async.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The transport a journey sends its queries through. Implemented by the
/// harness (`harness::load::transport`).
pub trait Executor: Send + Sync {
    /// Run `query` in one transaction as `who` (tenant context set
    /// transaction-locally), routed by `query.route`. `fresh` is the user's
    /// last commit LSN: set by the executor after a write, read for
    /// [`Route::ReadOwnWrites`].
    fn run<'a>(
        &'a self,
        who: &'a TenantContext,
        fresh: &'a mut Option<String>,
        query: Query,
    ) -> BoxFut<'a, Outcome>;
}

/// One tenant as the load sees it: an id, its size (the weight users are
/// drawn with), and samples of its rows so journeys hit real data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TenantSample {
    pub company_id: Uuid,
    /// Rows the tenant owns (projects + applicants + applications): bigger
    /// tenants get proportionally more users.
    pub size: u64,
    pub projects: Vec<Uuid>,
    pub locations: Vec<String>,
    pub search_terms: Vec<String>,
    /// (applicant id, the applicant's user id when they have an account).
    pub applicants: Vec<(Uuid, Option<Uuid>)>,
    /// "first last" of sampled applicants: what staff type into the
    /// applicant search (both words, so the search is as selective as a
    /// person looking for one applicant).
    pub applicant_names: Vec<String>,
    pub staff: Vec<Uuid>,
    pub admins: Vec<Uuid>,
}

/// Every tenant the load draws from, with a cumulative-weight table for
/// drawing by size.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tenants: Vec<TenantSample>,
    cumulative: Vec<u64>,
}

impl Catalog {
    pub fn new(tenants: Vec<TenantSample>) -> Self {
        let mut acc = 0u64;
        let cumulative = tenants
            .iter()
            .map(|t| {
                acc += t.size.max(1);
                acc
            })
            .collect();
        Catalog {
            tenants,
            cumulative,
        }
    }

    /// A tenant drawn with probability proportional to its size.
    pub fn draw(&self, rng: &mut SmallRng) -> Option<&TenantSample> {
        let total = *self.cumulative.last()?;
        let x = rng.random_range(0..total);
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.tenants.get(i)
    }

    pub fn is_empty(&self) -> bool {
        self.tenants.is_empty()
    }
}

/// The kinds of user, each a module of this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Browsing,
    Applying,
    Staff,
    Admin,
    Contact,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Browsing,
        Kind::Applying,
        Kind::Staff,
        Kind::Admin,
        Kind::Contact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Browsing => "browsing applicant",
            Kind::Applying => "applying applicant",
            Kind::Staff => "staff dashboard",
            Kind::Admin => "admin bulk update",
            Kind::Contact => "public contact form",
        }
    }
}

/// One simulated user's state between steps.
#[derive(Debug, Clone)]
pub struct UserState {
    pub kind: Kind,
    pub tenant: usize,
    pub ctx: TenantContext,
    /// The applicant row this user is (applying and browsing users).
    pub applicant: Option<Uuid>,
    /// Commit LSN of this user's last write (read-your-writes).
    pub fresh: Option<String>,
    /// Ids the previous step returned (e.g. search hits for a detail view).
    pub last_ids: Vec<Uuid>,
    pub rng: SmallRng,
}

impl UserState {
    /// A new user of `kind`, in a tenant drawn by size. `None` when the
    /// catalog has no tenant that can host this kind of user.
    pub fn draw(kind: Kind, catalog: &Catalog, seed: u64) -> Option<UserState> {
        let mut rng = SmallRng::seed_from_u64(seed);
        for _ in 0..16 {
            let t = catalog.draw(&mut rng)?;
            let tenant = catalog
                .tenants
                .iter()
                .position(|x| x.company_id == t.company_id)?;
            let pick = |v: &[Uuid], rng: &mut SmallRng| {
                (!v.is_empty()).then(|| v[rng.random_range(0..v.len())])
            };
            let (ctx, applicant) = match kind {
                Kind::Browsing | Kind::Applying => {
                    if t.applicants.is_empty() || t.projects.is_empty() {
                        continue;
                    }
                    let (a, u) = t.applicants[rng.random_range(0..t.applicants.len())];
                    let ctx = match u {
                        Some(u) => TenantContext::user(t.company_id, u, "applicant"),
                        None => TenantContext {
                            company_id: t.company_id,
                            user_id: None,
                            role: Some("applicant".into()),
                        },
                    };
                    (ctx, Some(a))
                }
                Kind::Staff => match pick(&t.staff, &mut rng).or_else(|| pick(&t.admins, &mut rng))
                {
                    Some(u) => (TenantContext::user(t.company_id, u, "developer"), None),
                    None => continue,
                },
                Kind::Admin => match pick(&t.admins, &mut rng) {
                    Some(u) => (TenantContext::user(t.company_id, u, "admin"), None),
                    None => continue,
                },
                Kind::Contact => (
                    TenantContext {
                        company_id: t.company_id,
                        user_id: None,
                        role: Some("public".into()),
                    },
                    None,
                ),
            };
            return Some(UserState {
                kind,
                tenant,
                ctx,
                applicant,
                fresh: None,
                last_ids: Vec::new(),
                rng,
            });
        }
        None
    }

    /// Pick one element of a non-empty slice.
    pub fn pick<'v, T>(&mut self, v: &'v [T]) -> Option<&'v T> {
        (!v.is_empty()).then(|| &v[self.rng.random_range(0..v.len())])
    }
}

/// Everything a step needs: the transport and the catalog.
#[derive(Clone)]
pub struct Env {
    pub exec: Arc<dyn Executor>,
    pub catalog: Arc<Catalog>,
}

impl Env {
    pub fn tenant(&self, u: &UserState) -> &TenantSample {
        &self.catalog.tenants[u.tenant]
    }

    /// Send one query as `u`; keeps `u.fresh` up to date.
    pub async fn send(&self, u: &mut UserState, q: Query) -> Outcome {
        self.exec.run(&u.ctx, &mut u.fresh, q).await
    }
}

/// A step's body: one page view or action, one or more named queries.
pub type StepFn = for<'a> fn(&'a Env, &'a mut UserState) -> BoxFut<'a, Vec<Outcome>>;

/// One step of a journey, with its weight inside its kind of user.
#[derive(Clone, Copy)]
pub struct Step {
    pub name: &'static str,
    pub weight: usize,
    pub run: StepFn,
}

/// The steps of one kind of user.
pub fn steps(kind: Kind) -> Vec<Step> {
    match kind {
        Kind::Browsing => crate::browsing::steps(),
        Kind::Applying => crate::applying::steps(),
        Kind::Staff => crate::staff::steps(),
        Kind::Admin => crate::admin::steps(),
        Kind::Contact => crate::contact::steps(),
    }
}

/// Weights of the kinds of user in the mix (relative, any scale).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Mix {
    pub browsing: usize,
    pub applying: usize,
    pub staff: usize,
    pub admin: usize,
    pub contact: usize,
}

impl Default for Mix {
    /// Mostly applicants reading, as on a housing portal: browsing 60,
    /// applying 15, staff 15, admin 5, contact 5.
    fn default() -> Self {
        Mix {
            browsing: 60,
            applying: 15,
            staff: 15,
            admin: 5,
            contact: 5,
        }
    }
}

impl Mix {
    pub fn weight(&self, k: Kind) -> usize {
        match k {
            Kind::Browsing => self.browsing,
            Kind::Applying => self.applying,
            Kind::Staff => self.staff,
            Kind::Admin => self.admin,
            Kind::Contact => self.contact,
        }
    }

    /// The kinds with a non-zero weight.
    pub fn kinds(&self) -> Vec<(Kind, usize)> {
        Kind::ALL
            .iter()
            .map(|&k| (k, self.weight(k)))
            .filter(|&(_, w)| w > 0)
            .collect()
    }
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

/// Goose's method label for SQL requests.
pub const METHOD: &str = "SQL";

/// A user's state as goose session data: shared behind a lock so a step
/// borrows it without cloning (goose hands out `&mut GooseUser` and the
/// state must outlive the step's awaits).
#[derive(Clone)]
struct Slot(Arc<tokio::sync::Mutex<UserState>>);

/// Turn a step into a goose transaction over `env`: run it with the user's
/// session state and record each named query as a custom request.
fn goose_transaction(env: Arc<Env>, step: Step) -> Result<Transaction, GooseError> {
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
                (step.run)(&env, &mut state).await
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
        .set_name(step.name)
        .set_weight(step.weight)
}

/// The on-start transaction of a kind: draw a tenant and a user.
fn on_start(env: Arc<Env>, kind: Kind, seed: u64) -> Transaction {
    let f: TransactionFunction = Arc::new(move |user: &mut GooseUser| {
        let env = env.clone();
        Box::pin(async move {
            let s = seed ^ (user.weighted_users_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            match UserState::draw(kind, &env.catalog, s) {
                Some(state) => {
                    user.set_session_data(Slot(Arc::new(tokio::sync::Mutex::new(state))));
                    Ok(())
                }
                None => Err(Box::new(TransactionError::Custom(format!(
                    "no tenant in the catalog can host a {} user",
                    kind.as_str()
                )))),
            }
        })
    });
    Transaction::new(f).set_name("start").set_on_start()
}

/// The goose scenarios for `mix`, each kind weighted, each user thinking
/// between `think.0` and `think.1` between steps.
pub fn goose_scenarios(
    env: Arc<Env>,
    mix: &Mix,
    think: (Duration, Duration),
    seed: u64,
) -> Result<Vec<Scenario>, GooseError> {
    let mut out = Vec::new();
    for (kind, weight) in mix.kinds() {
        let mut sc = Scenario::new(kind.as_str())
            .set_weight(weight)?
            .set_wait_time(think.0, think.1)?
            .register_transaction(on_start(env.clone(), kind, seed ^ kind as u64));
        for step in steps(kind) {
            sc = sc.register_transaction(goose_transaction(env.clone(), step)?);
        }
        out.push(sc);
    }
    Ok(out)
}
