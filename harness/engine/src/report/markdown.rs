//! `summary.md`: the run in GitHub-flavoured Markdown for CI job summaries
//! (`cat summary.md >> $GITHUB_STEP_SUMMARY`). Verdict and gates first,
//! failed checks listed by name (passed ones only counted, so a summary of
//! hundreds of RLS checks stays readable), key figures, environment.

use std::fmt::Write;

use super::{fmt_num, Run, Verdict};

pub fn render(run: &Run) -> String {
    let mut o = String::new();
    let badge = match run.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Invalid => "INVALID",
    };
    let _ = writeln!(o, "## harness {}: **{badge}**\n", run.kind.as_str());
    let _ = writeln!(o, "{}\n", md(&run.title));
    let _ = writeln!(
        o,
        "Started {} UTC, {:.1} s. Folder `{}`.\n",
        run.started.format("%Y-%m-%d %H:%M:%S"),
        run.duration_seconds(),
        run.folder.as_deref().unwrap_or("-")
    );
    if let Some(r) = &run.invalid_reason {
        let _ = writeln!(o, "> **Invalid run:** {}\n", md(r));
    }
    for n in &run.notes {
        let _ = writeln!(o, "> {}\n", md(n));
    }
    if !run.gates.is_empty() {
        let _ = writeln!(
            o,
            "| gate | observed | threshold | result |\n|---|---:|---:|---|"
        );
        for g in &run.gates {
            let _ = writeln!(
                o,
                "| {} | {} {} | {} {} {} | {} |",
                md(&g.name),
                fmt_num(g.observed),
                md(&g.unit),
                g.comparison.symbol(),
                fmt_num(g.threshold),
                md(&g.unit),
                if g.passed { "pass" } else { "**FAIL**" }
            );
        }
        o.push('\n');
    }
    if !run.checks.is_empty() {
        let failed: Vec<_> = run.checks.iter().filter(|c| !c.passed).collect();
        let _ = writeln!(
            o,
            "Checks: {} passed, {} failed.\n",
            run.checks.len() - failed.len(),
            failed.len()
        );
        for c in failed {
            let _ = writeln!(
                o,
                "- **FAIL** {}{}: {}",
                c.group
                    .as_deref()
                    .map(|g| format!("[{}] ", md(g)))
                    .unwrap_or_default(),
                md(&c.name),
                md(c.detail.lines().next().unwrap_or(""))
            );
        }
        o.push('\n');
    }
    let figures: Vec<_> = run.figures.iter().filter(|f| f.key).collect();
    if !figures.is_empty() {
        let _ = writeln!(o, "| key figure | value |\n|---|---:|");
        for f in figures {
            let name = match &f.group {
                Some(g) => format!("{} ({})", f.name, g),
                None => f.name.clone(),
            };
            let _ = writeln!(
                o,
                "| {} | {} {} |",
                md(&name),
                fmt_num(f.value),
                md(&f.unit)
            );
        }
        o.push('\n');
    }
    let e = &run.environment;
    let _ = writeln!(
        o,
        "Environment: backend `{}`, PostgreSQL `{}`, durability `{}`, data {}, {} cores, {:.1} GiB, {} ({}).",
        or_dash(&e.backend),
        or_dash(&e.postgres_version),
        or_dash(&e.durability),
        e.data
            .as_ref()
            .map(|d| format!("seed `{}` scale `{}`", d.seed, d.scale))
            .unwrap_or_else(|| "-".into()),
        e.machine.cores,
        e.machine.memory_bytes as f64 / (1u64 << 30) as f64,
        or_dash(&e.machine.os),
        or_dash(&e.machine.kernel)
    );
    o
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// Keep a cell on one line and stop `|` from splitting it.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
