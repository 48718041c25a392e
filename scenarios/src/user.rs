//! The workload interpreter: one simulated user of a kind, and how it runs
//! one step.
//!
//! A user starts in a tenant drawn by weight, draws one row of each sample
//! its kind names in `draw` (who it is: an applicant, an admin), and sets
//! its context from them. A step sends its calls in order, each with its
//! parameters drawn afresh; the user keeps the kept columns of its last
//! answer to each query, so a later call (in this step or a later one) can
//! use what it returned. A call with a parameter that has nothing to draw
//! from is skipped, and a failed call ends the step (the app would show an
//! error page, not the next one). After a write of a read-your-own-write
//! pair returns its row, the user's next read of the pair must return it
//! too ([`crate::common::RYW_MISS`] otherwise).

use std::sync::Arc;

use rand::rngs::SmallRng;
use rand::seq::index;
use rand::{RngExt, SeedableRng};
use uuid::Uuid;

use crate::common::{Context, Executor, Outcome, Query, Route};
use crate::plan::{Catalog, KindPlan, Plan, Src, Tenant};
use crate::value::{Param, Value};
use crate::workload::Len;

/// Everything a step needs: the transport, the compiled workload and the
/// catalog.
#[derive(Clone)]
pub struct Env {
    pub exec: Arc<dyn Executor>,
    pub plan: Arc<Plan>,
    pub catalog: Arc<Catalog>,
}

/// One simulated user's state between steps.
#[derive(Debug, Clone)]
pub struct UserState {
    pub kind: usize,
    pub tenant: usize,
    pub ctx: Context,
    /// The row drawn for each slot of the kind's `draw`.
    pub slots: Vec<Vec<Value>>,
    /// Per query: the kept columns of this user's last answer.
    pub last: Vec<Option<Vec<Vec<Value>>>>,
    /// Reads that must return a value this user wrote: (read, column, value).
    pub pending: Vec<(usize, usize, Value)>,
    /// Commit LSN of this user's last write (read-your-writes routing).
    pub fresh: Option<String>,
    pub rng: SmallRng,
}

fn pick<'a, T>(v: &'a [T], rng: &mut SmallRng) -> Option<&'a T> {
    (!v.is_empty()).then(|| &v[rng.random_range(0..v.len())])
}

/// Draws values for one user in one tenant.
struct Drawer<'a> {
    tenant: &'a Tenant,
    slots: &'a [Vec<Value>],
    last: &'a [Option<Vec<Vec<Value>>>],
}

impl Drawer<'_> {
    /// The rows a source picks a row from, when it is row-based.
    fn rows(&self, s: &Src) -> Option<(Vec<&[Value]>, usize)> {
        match s {
            Src::Sample { sample, col, .. } => Some((
                self.tenant.samples[*sample]
                    .iter()
                    .map(|r| r.as_slice())
                    .collect(),
                *col,
            )),
            Src::User { slot, col, .. } => Some((vec![self.slots[*slot].as_slice()], *col)),
            Src::Returned { query, col, .. } => Some((
                self.last[*query]
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|r| r.as_slice())
                    .collect(),
                *col,
            )),
            _ => None,
        }
    }

    fn or(s: &Src) -> Option<&Src> {
        match s {
            Src::Sample { or, .. } | Src::User { or, .. } | Src::Returned { or, .. } => {
                or.as_deref()
            }
            _ => None,
        }
    }

    /// One value, or `None` when there is nothing to draw from.
    fn draw(&self, s: &Src, rng: &mut SmallRng) -> Option<Value> {
        if let Some((rows, col)) = self.rows(s) {
            return match pick(&rows, rng) {
                Some(r) => r.get(col).cloned(),
                None => self.draw(Self::or(s)?, rng),
            };
        }
        Some(match s {
            Src::Fixed(v) => v.clone(),
            Src::Tenant => self.tenant.id.clone(),
            Src::NewUuid => Value::Uuid(Uuid::new_v4()),
            Src::Int(lo, hi) => Value::Int(rng.random_range(*lo..=*hi)),
            Src::Float(lo, hi, d) => {
                let x = if lo < hi {
                    rng.random_range(*lo..*hi)
                } else {
                    *lo
                };
                Value::Float(match d {
                    Some(d) => {
                        let m = 10f64.powi(*d as i32);
                        (x * m).round() / m
                    }
                    None => x,
                })
            }
            Src::Choice(v) => pick(v, rng)?.clone(),
            Src::Format(f, w) => Value::Text(f.replacen("{}", &self.draw(w, rng)?.to_text(), 1)),
            Src::List(of, Len::Fixed(n)) => self.list(of, *n, rng)?,
            // Resolved by `params` once the other parameters are drawn.
            Src::List(_, Len::Of(_)) => Value::Null,
            Src::Sample { .. } | Src::User { .. } | Src::Returned { .. } => unreachable!(),
        })
    }

    /// Up to `n` values: distinct rows of a row source (a random subset,
    /// none when there are no rows), or `n` draws of a generator.
    fn list(&self, of: &Src, n: usize, rng: &mut SmallRng) -> Option<Value> {
        if let Some((rows, col)) = self.rows(of) {
            if rows.is_empty() {
                return match Self::or(of) {
                    Some(o) => self.list(o, n, rng),
                    None => None,
                };
            }
            let k = n.min(rows.len());
            let mut at = index::sample(rng, rows.len(), k).into_vec();
            // Kept in the answer's order, as an app walks a list top down.
            at.sort_unstable();
            return Some(Value::List(
                at.into_iter()
                    .filter_map(|i| rows[i].get(col).cloned())
                    .collect(),
            ));
        }
        (0..n)
            .map(|_| self.draw(of, rng))
            .collect::<Option<Vec<_>>>()
            .map(Value::List)
    }

    /// Every parameter of a call; `None` skips the call.
    fn params(&self, srcs: &[Src], rng: &mut SmallRng) -> Option<Vec<Value>> {
        let mut out = Vec::with_capacity(srcs.len());
        for s in srcs {
            out.push(self.draw(s, rng)?);
        }
        for (i, s) in srcs.iter().enumerate() {
            if let Src::List(of, Len::Of(k)) = s {
                let n = match &out[*k] {
                    Value::List(v) => v.len(),
                    Value::Null => 0,
                    _ => 1,
                };
                if n == 0 {
                    return None;
                }
                out[i] = self.list(of, n, rng)?;
            }
        }
        Some(out)
    }
}

impl UserState {
    /// A new user of `kind`, in a tenant drawn by weight. `None` when no
    /// tenant drawn in 16 tries can host this kind (its `draw` samples or
    /// settings have nothing to draw from there).
    pub fn start(plan: &Plan, catalog: &Catalog, kind: usize, seed: u64) -> Option<UserState> {
        let k: &KindPlan = &plan.kinds[kind];
        let mut rng = SmallRng::seed_from_u64(seed);
        for _ in 0..16 {
            let tenant = catalog.draw(&mut rng)?;
            let t = &catalog.tenants[tenant];
            let Some(slots) = k
                .slots
                .iter()
                .map(|&s| pick(&t.samples[s], &mut rng).cloned())
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            let last = vec![None; plan.queries.len()];
            let d = Drawer {
                tenant: t,
                slots: &slots,
                last: &last,
            };
            let mut settings = vec![(plan.tenant_setting.clone(), t.id.to_text())];
            let mut ok = true;
            for (name, s) in &k.settings {
                match d.draw(s, &mut rng) {
                    Some(v) => settings.push((name.clone(), v.to_text())),
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            return Some(UserState {
                kind,
                tenant,
                ctx: Context::new(settings),
                slots,
                last,
                pending: Vec::new(),
                fresh: None,
                rng,
            });
        }
        None
    }

    /// Draw this user's next step by the steps' weights: each user draws
    /// its own sequence, so short runs see every step in proportion and
    /// users do not all begin with the same one.
    pub fn draw_step(&mut self, env: &Env) -> usize {
        env.plan.kinds[self.kind]
            .step_weights
            .draw(&mut self.rng)
            .unwrap_or(0)
    }

    /// Run step `step` of this user's kind: its calls in order.
    pub async fn run_step(&mut self, env: &Env, step: usize) -> Vec<Outcome> {
        let plan = &env.plan;
        let tenant = &env.catalog.tenants[self.tenant];
        let calls = &plan.kinds[self.kind].steps[step].calls;
        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            let q = &plan.queries[c.query];
            let d = Drawer {
                tenant,
                slots: &self.slots,
                last: &self.last,
            };
            let Some(values) = d.params(&c.params, &mut self.rng) else {
                continue;
            };
            let mut params = Vec::with_capacity(values.len());
            for (v, t) in values.iter().zip(&q.types) {
                match Param::bind(v, *t) {
                    Some(p) => params.push(p),
                    None => break,
                }
            }
            if params.len() < values.len() {
                // Types were checked against the server before the run; a
                // value that still does not fit (a text cell that is no
                // uuid, a number past int4) fails the call, counted.
                let o = env
                    .exec
                    .refuse(q.name, q.route, format!("bind:${}", params.len() + 1));
                out.push(o);
                break;
            }
            let expect = match self.pending.iter().position(|p| p.0 == c.query) {
                Some(i) => {
                    let (_, col, v) = self.pending.swap_remove(i);
                    Some((col, v))
                }
                None => None,
            };
            let query = Query {
                name: q.name,
                sql: q.sql,
                params,
                route: q.route,
                keep: q.keep,
                expect,
            };
            let o = env.exec.run(&self.ctx, &mut self.fresh, query).await;
            let ok = o.ok();
            if ok && !q.keep.is_empty() {
                if q.route == Route::Write {
                    for r in plan.ryw.iter().filter(|r| r.write == c.query) {
                        if let Some(v) = o.values.first().and_then(|row| row.get(r.write_col)) {
                            self.pending.retain(|p| p.0 != r.read);
                            self.pending.push((r.read, r.read_col, v.clone()));
                        }
                    }
                }
                self.last[c.query] = Some(o.values.clone());
            }
            out.push(o);
            if !ok {
                break;
            }
        }
        out
    }

    /// Draw a step of this user's kind by weight.
    pub fn pick_step(&mut self, plan: &Plan) -> usize {
        let steps = &plan.kinds[self.kind].steps;
        let total: usize = steps.iter().map(|s| s.weight).sum();
        let mut x = self.rng.random_range(0..total.max(1));
        for (i, s) in steps.iter().enumerate() {
            if x < s.weight {
                return i;
            }
            x -= s.weight;
        }
        0
    }
}
