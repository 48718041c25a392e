//! `junit.xml`: what CI test panels read. One `<testcase>` per gate and per
//! check, so a failed gate shows up by name next to ordinary test failures.
//!
//! Gates go in one `<testsuite name="gates">`, checks in one suite per check
//! group (the group is also the classname), because CI panels group by
//! suite and an RLS failure should not hide among verification checks.
//! An invalid run adds one failing case, `run is valid`, so a gate reading
//! only JUnit cannot mistake an invalid run for a pass.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{escape, fmt_num, Run};

/// Attribute values: XML parsers turn raw tabs and newlines in attributes
/// into spaces, so keep them as character references.
fn attr(s: &str) -> String {
    escape(s)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

pub fn render(run: &Run) -> String {
    let kind = run.kind.as_str();
    let secs = run.duration_seconds();
    let mut suites: Vec<(String, Vec<Case>)> = Vec::new();

    let mut gates: Vec<Case> = run
        .gates
        .iter()
        .map(|g| {
            let line = format!(
                "observed {} {} {} threshold {} {}",
                fmt_num(g.observed),
                g.unit,
                g.comparison.symbol(),
                fmt_num(g.threshold),
                g.unit
            );
            let text = match &g.detail {
                Some(d) => format!("{line}\n{d}"),
                None => line.clone(),
            };
            Case {
                class: format!("{kind}.gates"),
                name: g.name.clone(),
                failure: (!g.passed).then_some((line, text)),
            }
        })
        .collect();
    if let Some(reason) = &run.invalid_reason {
        gates.push(Case {
            class: format!("{kind}.gates"),
            name: "run is valid".into(),
            failure: Some((format!("invalid run: {reason}"), reason.clone())),
        });
    }
    if !gates.is_empty() {
        suites.push(("gates".into(), gates));
    }

    let mut by_group: BTreeMap<String, Vec<Case>> = BTreeMap::new();
    for c in &run.checks {
        let group = c.group.clone().unwrap_or_else(|| "checks".into());
        by_group.entry(group.clone()).or_default().push(Case {
            class: format!("{kind}.{group}"),
            name: c.name.clone(),
            failure: (!c.passed).then(|| (first_line(&c.detail), c.detail.clone())),
        });
    }
    suites.extend(by_group);

    let total: usize = suites.iter().map(|(_, c)| c.len()).sum();
    let failed: usize = suites
        .iter()
        .flat_map(|(_, c)| c)
        .filter(|c| c.failure.is_some())
        .count();
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<testsuites name="harness {}" tests="{total}" failures="{failed}" errors="0" time="{secs:.3}" timestamp="{}">"#,
        attr(kind),
        run.started.format("%Y-%m-%dT%H:%M:%S")
    );
    for (suite, cases) in &suites {
        let f = cases.iter().filter(|c| c.failure.is_some()).count();
        let _ = writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{f}" errors="0" skipped="0">"#,
            attr(&format!("{kind}.{suite}")),
            cases.len()
        );
        for c in cases {
            let _ = write!(
                out,
                r#"    <testcase classname="{}" name="{}" time="0""#,
                attr(&c.class),
                attr(&c.name)
            );
            match &c.failure {
                None => out.push_str("/>\n"),
                Some((message, text)) => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        attr(message),
                        if suite == "gates" { "gate" } else { "check" },
                        escape(text)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

struct Case {
    class: String,
    name: String,
    /// (message, body) when the case failed.
    failure: Option<(String, String)>,
}

fn first_line(s: &str) -> String {
    let l = s.lines().next().unwrap_or("failed");
    if l.is_empty() {
        "failed".into()
    } else {
        l.to_string()
    }
}
