//! An app's speed claims (`[[claim]]` in its `workload.toml`), measured
//! after the run: the claimed query's heaviest real call, re-run on the
//! primary as the app role (so under row-level security, as users meet
//! it) with its indexes and with the claim's indexes dropped in a
//! transaction that is rolled back ([`crate::rls::price::speedup`]). A
//! claim holds when time without over time with is at least its
//! `at_least`. It is reported either way, and fails the run only when the
//! claim says `gate = true`.

use serde::{Deserialize, Serialize};

use super::Session;
use crate::report::{Comparison, Gate};
use crate::rls::price::{self, Speedup};

/// Measured runs per side (after one warm-up run each).
const RUNS: u32 = 3;

/// One claim, measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimResult {
    pub name: String,
    pub description: Option<String>,
    pub query: String,
    pub without_indexes: Vec<String>,
    pub at_least: f64,
    pub gate: bool,
    pub measured: Option<Speedup>,
    /// Why it could not be measured.
    pub error: Option<String>,
}

impl ClaimResult {
    /// `None` when not measured.
    pub fn holds(&self) -> Option<bool> {
        self.measured.as_ref().map(|m| m.ratio() >= self.at_least)
    }

    /// The gate of a claim marked `gate = true` (an unmeasured claim
    /// fails it: a gate must not pass by not being measured).
    pub fn as_gate(&self) -> Option<Gate> {
        if !self.gate {
            return None;
        }
        let ratio = self.measured.as_ref().map_or(0.0, Speedup::ratio);
        let g = Gate::new(
            format!("claim {}", self.name),
            ratio,
            Comparison::AtLeast,
            self.at_least,
            "x",
        );
        Some(match (&self.measured, &self.error) {
            (Some(m), _) => g.with_detail(format!(
                "{}: {:.3} ms with its indexes, {:.3} ms without {}",
                self.query,
                m.with_ms,
                m.without_ms,
                self.without_indexes.join(", ")
            )),
            (None, e) => g.with_detail(format!(
                "not measured: {}",
                e.as_deref().unwrap_or("no call")
            )),
        })
    }
}

/// Measure every claim. A claim whose query the run never called
/// successfully, or whose indexes cannot be dropped, gets an `error`.
pub async fn measure(session: &Session, claims: &[scenarios::ClaimDef]) -> Vec<ClaimResult> {
    if claims.is_empty() {
        return Vec::new();
    }
    let examples = session.transport.recorder.examples();
    let mut conn = match session.primary.connect().await {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("harness: the app's claims were not measured: {e}");
            None
        }
    };
    let mut out = Vec::with_capacity(claims.len());
    for c in claims {
        let mut r = ClaimResult {
            name: c.name.clone(),
            description: c.description.clone(),
            query: c.query.clone(),
            without_indexes: c.without_indexes.clone(),
            at_least: c.at_least,
            gate: c.gate,
            measured: None,
            error: None,
        };
        let example = examples.iter().find(|(n, _)| *n == c.query);
        match (&mut conn, example) {
            (None, _) => r.error = Some("no connection to the primary".into()),
            (Some(_), None) => {
                r.error = Some(format!(
                    "the run made no successful call of {}, so there is no real call to time",
                    c.query
                ))
            }
            (Some(conn), Some((_, ex))) => {
                let (who, q) = super::price::replay(session, &c.query, ex);
                match price::speedup(conn, &who, &q, &c.without_indexes, RUNS).await {
                    Ok(m) => r.measured = Some(m),
                    Err(e) => r.error = Some(e.to_string()),
                }
            }
        }
        out.push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(gate: bool, measured: Option<(f64, f64)>) -> ClaimResult {
        ClaimResult {
            name: "fts".into(),
            description: None,
            query: "search".into(),
            without_indexes: vec!["docs_gin".into()],
            at_least: 30.0,
            gate,
            measured: measured.map(|(with_ms, without_ms)| Speedup {
                with_ms,
                without_ms,
                with_indexes: vec![],
                without_indexes: vec![],
            }),
            error: None,
        }
    }

    #[test]
    fn a_claim_holds_at_its_ratio_and_gates_only_when_asked() {
        assert_eq!(claim(false, Some((1.0, 31.0))).holds(), Some(true));
        assert_eq!(claim(false, Some((1.0, 29.0))).holds(), Some(false));
        assert_eq!(claim(false, None).holds(), None);
        assert!(claim(false, Some((1.0, 2.0))).as_gate().is_none());
        assert!(!claim(true, Some((1.0, 2.0))).as_gate().unwrap().passed);
        assert!(claim(true, Some((1.0, 40.0))).as_gate().unwrap().passed);
        assert!(
            !claim(true, None).as_gate().unwrap().passed,
            "an unmeasured gated claim fails"
        );
    }
}
