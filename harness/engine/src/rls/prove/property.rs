//! The isolation property as a proptest: generated operations
//! ([`super::ops`]) over every tenant table, run by proptest's
//! [`TestRunner`] so a failure shrinks to a minimal case that is printed as
//! (table, command, context, row).
//!
//! A case is a handful of small numbers ([`Case`]); [`resolve`] turns them
//! into an operation against the world deterministically, so shrinking the
//! numbers shrinks the operation: toward the first table, SELECT, no
//! context, the biggest tenant, the first row. The runner wants a
//! synchronous closure; each case blocks on the async operation through
//! the runtime handle, from a blocking thread.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde::Serialize;

use super::catalog::World;
use super::ops::{self, Conns, Ctx, Op, Resolved};

/// The generated numbers of one case.
#[derive(Debug, Clone)]
pub(super) struct Case {
    table: usize,
    op: Op,
    ctx: CtxChoice,
    target: u16,
    other: u16,
    extras: Vec<Option<usize>>,
}

#[derive(Debug, Clone)]
enum CtxChoice {
    Unset,
    Empty,
    Tenant(usize),
    Unknown(u32),
}

fn strategy(world: &World, read_only: bool) -> BoxedStrategy<Case> {
    let tables = world.tables.len();
    let tenants = world.tenants.len();
    let op = if read_only {
        Just(Op::Select).boxed()
    } else {
        proptest::sample::select(Op::ALL.to_vec()).boxed()
    };
    let unknown_ok = world.unknown_tenant(0).is_some();
    let ctx = if unknown_ok {
        prop_oneof![
            1 => Just(CtxChoice::Unset),
            1 => Just(CtxChoice::Empty),
            6 => (0..tenants).prop_map(CtxChoice::Tenant),
            1 => any::<u32>().prop_map(CtxChoice::Unknown),
        ]
        .boxed()
    } else {
        prop_oneof![
            1 => Just(CtxChoice::Unset),
            1 => Just(CtxChoice::Empty),
            6 => (0..tenants).prop_map(CtxChoice::Tenant),
        ]
        .boxed()
    };
    let extras: Vec<BoxedStrategy<Option<usize>>> = world
        .extras
        .iter()
        .map(|(_, v)| proptest::option::of(0..v.len()).boxed())
        .collect();
    (0..tables, op, ctx, any::<u16>(), any::<u16>(), extras)
        .prop_map(|(table, op, ctx, target, other, extras)| Case {
            table,
            op,
            ctx,
            target,
            other,
            extras,
        })
        .boxed()
}

/// The operation a case stands for.
pub(super) fn resolve(world: &World, c: &Case) -> Resolved {
    let ctx = match &c.ctx {
        CtxChoice::Unset => Ctx::Unset,
        CtxChoice::Empty => Ctx::Empty,
        CtxChoice::Tenant(i) => Ctx::Tenant(world.tenants[i % world.tenants.len()].clone()),
        CtxChoice::Unknown(n) => world
            .unknown_tenant(*n)
            .map(Ctx::Unknown)
            .unwrap_or(Ctx::Empty),
    };
    let own = ctx.tenant().map(str::to_string);
    let others: Vec<&String> = world
        .tenants
        .iter()
        .filter(|t| Some(*t) != own.as_ref())
        .collect();
    let other = others
        .get(c.other as usize % others.len().max(1))
        .map(|s| s.to_string());
    let t = world.table(c.table);
    let pick = |rows: Vec<&super::catalog::TruthRow>| {
        (!rows.is_empty()).then(|| rows[c.target as usize % rows.len()].clone())
    };
    let row = match c.op {
        Op::Select => None,
        Op::Insert => {
            let of_other: Vec<_> = t
                .rows
                .iter()
                .filter(|r| r.tenant.is_some() && r.tenant == other)
                .collect();
            pick(of_other).or_else(|| pick(t.rows.iter().collect()))
        }
        Op::Update | Op::Delete => match &own {
            Some(o) => pick(
                t.rows
                    .iter()
                    .filter(|r| r.tenant.as_ref() != Some(o))
                    .collect(),
            ),
            None => pick(t.rows.iter().collect()),
        },
        Op::UpdateMove => match &own {
            Some(o) => pick(
                t.rows
                    .iter()
                    .filter(|r| r.tenant.as_ref() == Some(o))
                    .collect(),
            ),
            None => pick(t.rows.iter().collect()),
        },
    };
    let extras = world
        .extras
        .iter()
        .zip(&c.extras)
        .filter_map(|((name, values), pick)| {
            pick.map(|i| (name.clone(), values[i % values.len()].clone()))
        })
        .collect();
    Resolved {
        table: c.table % world.tables.len(),
        op: c.op,
        ctx,
        extras,
        row,
        other,
    }
}

/// A minimal failing case, as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counterexample {
    pub table: String,
    pub command: String,
    pub operation: String,
    pub context: String,
    /// The row the operation aimed at (or copied, for INSERT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<String>,
    /// The tenant an INSERT or a move wrote for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_tenant: Option<String>,
    /// What happened instead of what isolation requires.
    pub observed: String,
}

impl Counterexample {
    pub(super) fn of(world: &World, setting: &str, r: &Resolved, observed: String) -> Self {
        Counterexample {
            table: world.table(r.table).display.clone(),
            command: r.op.command().to_string(),
            operation: r.op.to_string(),
            context: r.context_text(setting),
            row: r.row.as_ref().map(ops::describe),
            other_tenant: match r.op {
                Op::Insert | Op::UpdateMove => r.other.clone(),
                _ => None,
            },
            observed,
        }
    }
}

/// proptest's shrinking is a binary search per value, which assumes that
/// a smaller value fails when a larger one does; commands and contexts are
/// not ordered that way (a DELETE may fail where an UPDATE passes, and a
/// SELECT fail again). So the shrunk case is then walked down by hand: any
/// earlier table, earlier command, simpler context or unset extra setting
/// that still fails replaces it, until none does. The result is minimal in
/// that order: the first table, then the first command, then the simplest
/// context that shows the flaw.
fn minimize(
    handle: &tokio::runtime::Handle,
    conns: &mut Conns,
    world: &World,
    setting: &str,
    mut best: Case,
    mut why: String,
) -> Result<(Case, String), sqlx::Error> {
    let rank = |c: &CtxChoice| match c {
        CtxChoice::Unset => 0,
        CtxChoice::Empty => 1,
        CtxChoice::Tenant(i) => 2 + i,
        CtxChoice::Unknown(_) => usize::MAX,
    };
    'again: loop {
        let mut candidates = Vec::new();
        for table in 0..best.table {
            candidates.push(Case {
                table,
                ..best.clone()
            });
        }
        let at = Op::ALL.iter().position(|o| *o == best.op).unwrap_or(0);
        for op in &Op::ALL[..at] {
            candidates.push(Case {
                op: *op,
                ..best.clone()
            });
        }
        let mut ctxs = vec![CtxChoice::Unset, CtxChoice::Empty];
        ctxs.extend((0..world.tenants.len()).map(CtxChoice::Tenant));
        for ctx in ctxs.into_iter().filter(|c| rank(c) < rank(&best.ctx)) {
            candidates.push(Case {
                ctx,
                ..best.clone()
            });
        }
        for i in 0..best.extras.len() {
            if best.extras[i].is_some() {
                let mut c = best.clone();
                c.extras[i] = None;
                candidates.push(c);
            }
        }
        for c in candidates {
            let r = resolve(world, &c);
            if let Err(w) = handle.block_on(ops::run(conns, world, setting, &r))? {
                best = c;
                why = w;
                continue 'again;
            }
        }
        return Ok((best, why));
    }
}

/// The property on one server.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyOutcome {
    /// "primary" or "replica".
    pub server: String,
    /// The commands it covered.
    pub commands: String,
    pub cases: u32,
    pub seconds: f64,
    pub passed: bool,
    /// Why it did not run (no replica), when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterexample: Option<Counterexample>,
}

/// Which server and how many cases.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan<'a> {
    pub server: &'a str,
    pub cases: u32,
    pub seed: u64,
    /// SELECT only (the replica).
    pub read_only: bool,
}

/// Run the property: `cases` generated operations, shrinking on failure.
/// Must run on a blocking thread (it blocks on `handle`).
pub(super) fn run(
    handle: &tokio::runtime::Handle,
    conns: &mut Conns,
    world: &World,
    setting: &str,
    plan: Plan<'_>,
) -> Result<PropertyOutcome, sqlx::Error> {
    let Plan {
        server,
        cases,
        seed,
        read_only,
    } = plan;
    let t0 = std::time::Instant::now();
    let config = Config {
        cases,
        max_shrink_iters: 2048,
        failure_persistence: None,
        max_global_rejects: cases.saturating_mul(4).max(1024),
        verbose: 0,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..16].copy_from_slice(&(read_only as u64).to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let broken: std::cell::RefCell<Option<sqlx::Error>> = Default::default();
    let cell = std::cell::RefCell::new(conns);
    let result = runner.run(&strategy(world, read_only), |case| {
        if broken.borrow().is_some() {
            return Ok(());
        }
        let r = resolve(world, &case);
        let mut conns = cell.borrow_mut();
        match handle.block_on(ops::run(&mut conns, world, setting, &r)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(TestCaseError::fail(why)),
            Err(e) => {
                *broken.borrow_mut() = Some(e);
                Ok(())
            }
        }
    });
    if let Some(e) = broken.into_inner() {
        return Err(e);
    }
    let commands = if read_only {
        "SELECT".to_string()
    } else {
        "SELECT, INSERT, UPDATE, DELETE".to_string()
    };
    let mut out = PropertyOutcome {
        server: server.to_string(),
        commands,
        cases,
        seconds: t0.elapsed().as_secs_f64(),
        passed: true,
        skipped: None,
        counterexample: None,
    };
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, case)) => {
            out.passed = false;
            let conns = cell.into_inner();
            let (case, why) = minimize(
                handle,
                conns,
                world,
                setting,
                case,
                why.message().to_string(),
            )?;
            let r = resolve(world, &case);
            out.counterexample = Some(Counterexample::of(world, setting, &r, why));
        }
        Err(TestError::Abort(why)) => {
            out.passed = false;
            out.skipped = Some(format!("proptest aborted: {why}"));
        }
    }
    Ok(out)
}
