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
use super::transport::Example;
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
        let (who, q) = replay(session, name, &ex);
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

/// Who made a query's example call and the call itself, to run it again
/// (the price of RLS here, an app's claims in [`super::claims`]).
pub(super) fn replay(session: &Session, name: &str, ex: &Example) -> (ActingAs, PricedQuery) {
    (
        ActingAs {
            role: session.app_role.clone(),
            settings: ex.settings.clone(),
        },
        PricedQuery {
            name: name.to_string(),
            sql: ex.sql.to_string(),
            args: ex.args.clone(),
        },
    )
}

/// The server where `sql` took the most statement time, and its share.
fn share(results: &LoadResults, sql: &str) -> (Option<String>, Option<f64>) {
    let s = &results.sampled;
    let ours = shape(sql);
    s.top_statements
        .iter()
        .filter(|t| same_statement(&ours, &t.query))
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

/// Whether `theirs` (pg_stat_statements' text: constants replaced by `$n`,
/// whitespace collapsed, cut at 160 characters) is the statement `ours`
/// (already [`shape`]d).
fn same_statement(ours: &str, theirs: &str) -> bool {
    let mut t = shape(theirs);
    if theirs.chars().count() >= 160 {
        // Cut mid-token: compare up to the last whole word.
        let keep = t.rfind(' ').unwrap_or(0);
        t.truncate(keep);
    }
    !t.is_empty() && ours.starts_with(&t)
}

/// A statement's text with whitespace runs as one space and every
/// parameter, string literal and number as `?`, so the text sent and the
/// text pg_stat_statements keeps (which numbers constants as parameters)
/// compare equal.
fn shape(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev_word = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            while let Some(d) = chars.next() {
                if d == '\'' {
                    if chars.peek() == Some(&'\'') {
                        chars.next();
                    } else {
                        break;
                    }
                }
            }
            out.push('?');
            prev_word = false;
        } else if c == '$' && chars.peek().is_some_and(char::is_ascii_digit)
            || c.is_ascii_digit() && !prev_word
        {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('?');
            prev_word = false;
        } else if c.is_whitespace() {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            prev_word = false;
        } else {
            prev_word = c.is_alphanumeric() || c == '_';
            out.push(c);
        }
    }
    out.trim_end().to_string()
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

    #[test]
    fn constants_numbered_by_pg_stat_statements_still_match() {
        let sql = "select p.id from projects p\n where p.company_id = $1 and p.location ilike '%' || $2 || '%'\n limit 25";
        let theirs = "select p.id from projects p where p.company_id = $1 and p.location ilike $3 || $2 || $4 limit $5";
        assert!(same_statement(&shape(sql), theirs));
        assert!(!same_statement(
            &shape(sql),
            "select p.id from projects q where q.x = $1"
        ));
        // Cut at 160 characters in the middle of a word.
        let long = format!("select {} from t where a = $1", "c1, ".repeat(40));
        let cut: String = long.replace("\n", " ").chars().take(160).collect();
        assert!(same_statement(&shape(&long), &cut));
        // Names with digits are names, not numbers.
        assert_eq!(
            shape("select c1 from t2 where x = 10"),
            "select c1 from t2 where x = ?"
        );
    }
}
