//! The price of row-level security per named query, in the load report.
//!
//! After the run, each named query's heaviest real call (the one whose
//! answer was largest, so the biggest tenant the run met) is run again on
//! the primary with [`crate::rls::price`]: as the app role with the same
//! settings, and with the policies out of the way. A query that loses an
//! index under RLS is flagged with the index, the operator that is not
//! leakproof and the fix; its share of the server's statement time during
//! the run says how much that matters.

use serde::{Deserialize, Serialize};

use super::results::LoadResults;
use super::Session;
use crate::rls::price::{self, ActingAs, Price, PricedQuery};

/// Measured runs per side (after one warm-up run each).
const RUNS: u32 = 3;

/// One named query's price, with its weight on the server during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryPrice {
    #[serde(flatten)]
    pub price: Price,
    /// The server whose statement time this query took most of, and the
    /// share (percent of all statement time on it, steady state), when
    /// pg_stat_statements saw the query.
    pub server: Option<String>,
    pub share_pct: Option<f64>,
}

/// Measure every named query the run called successfully. Failures to
/// measure become the query's `error`, never the run's.
pub async fn measure(session: &Session, results: &LoadResults) -> Vec<QueryPrice> {
    let examples = session.transport.recorder.examples();
    if examples.is_empty() {
        return Vec::new();
    }
    let mut conn = match session.primary.connect().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("harness: the price of RLS was not measured: {e}");
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(examples.len());
    for (name, ex) in examples {
        let who = ActingAs {
            role: session.app_role.clone(),
            settings: ex.settings.clone(),
        };
        let q = PricedQuery {
            name: name.to_string(),
            sql: ex.sql.to_string(),
            args: ex.args.clone(),
        };
        let price = match price::measure(&mut conn, &who, std::slice::from_ref(&q), RUNS).await {
            Ok(mut v) => v.remove(0),
            Err(e) => {
                eprintln!("harness: the price of RLS stopped at {name}: {e}");
                break;
            }
        };
        let (server, share_pct) = share(results, ex.sql);
        out.push(QueryPrice {
            price,
            server,
            share_pct,
        });
    }
    out
}

/// The server where `sql` took the most statement time, and its share.
fn share(results: &LoadResults, sql: &str) -> (Option<String>, Option<f64>) {
    let s = &results.sampled;
    let key: String = collapse(sql).chars().take(160).collect();
    s.top_statements
        .iter()
        .filter(|t| t.query == key)
        .max_by(|a, b| a.total_ms.total_cmp(&b.total_ms))
        .map(|t| {
            let total = s.statement_ms.get(&t.server).copied().unwrap_or(0.0);
            let pct = if total > 0.0 {
                100.0 * t.total_ms / total
            } else {
                0.0
            };
            (Some(t.server.clone()), Some(pct))
        })
        .unwrap_or((None, None))
}

/// Whitespace runs as one space, as the sampler reads statement texts.
fn collapse(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::sampler::{Sampled, TopStatement};

    #[test]
    fn a_query_finds_its_statement_and_share_by_its_collapsed_text() {
        let r = LoadResults {
            sampled: Sampled {
                top_statements: vec![
                    TopStatement {
                        server: "replica".into(),
                        query: "select a from t where x = $1".into(),
                        calls: 10,
                        total_ms: 75.0,
                        mean_ms: 7.5,
                    },
                    TopStatement {
                        server: "primary".into(),
                        query: "select a from t where x = $1".into(),
                        calls: 1,
                        total_ms: 5.0,
                        mean_ms: 5.0,
                    },
                ],
                statement_ms: [
                    ("replica".to_string(), 100.0),
                    ("primary".to_string(), 50.0),
                ]
                .into_iter()
                .collect(),
                ..Default::default()
            },
            ..Default::default()
        };
        let (server, pct) = share(&r, "select a\n  from t\n where x = $1");
        assert_eq!(server.as_deref(), Some("replica"));
        assert_eq!(pct, Some(75.0));
        assert_eq!(share(&r, "select b from t"), (None, None));
    }
}
