//! What a person watching sees: one progress bar per table while it runs
//! (drawn only when stderr is a terminal, so CI logs stay clean), and a
//! final table in the spirit of pgloader's summary: rows, rejects, bytes,
//! time and rows/s per table, plus the verification outcome.

use std::fmt::Write as _;
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{MigrationReport, VerifyReport};

pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    pub fn new(wanted: bool) -> Progress {
        let on = wanted && std::io::stderr().is_terminal();
        Progress {
            multi: on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    pub fn table(&self, name: &str, rows: u64) -> ProgressBar {
        match &self.multi {
            // Hidden, the bar still carries the table's row count: the
            // converter sizes its list of rows sent by it.
            None => {
                let pb = ProgressBar::hidden();
                pb.set_length(rows);
                pb
            }
            Some(m) => {
                let pb = m.add(ProgressBar::new(rows));
                pb.set_style(
                    ProgressStyle::with_template(
                        "{prefix:>20} [{bar:30}] {pos}/{len} rows {per_sec} {eta}",
                    )
                    .expect("a valid template")
                    .progress_chars("=> "),
                );
                pb.set_prefix(name.to_string());
                pb
            }
        }
    }
}

fn human_bytes(b: u64) -> String {
    let units = ["B", "kB", "MB", "GB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

/// The final table of a migration.
pub fn render(r: &MigrationReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:>10} {:>10} {:>8} {:>9} {:>10} {:>8} {:>11}",
        "table", "read", "copied", "rejects", "unknown", "bytes", "time", "rows/s"
    );
    let _ = writeln!(s, "{}", "-".repeat(95));
    let (mut read, mut copied, mut rej, mut unk, mut bytes, mut secs) = (0, 0, 0, 0, 0, 0.0);
    for t in &r.tables {
        let time = if t.already_done {
            "done".to_string()
        } else {
            format!("{:.2}s", t.seconds)
        };
        let _ = writeln!(
            s,
            "{:<22} {:>10} {:>10} {:>8} {:>9} {:>10} {:>8} {:>11.0}",
            t.table,
            t.rows_read,
            t.rows_copied,
            t.rejects,
            t.unknown_to_null,
            human_bytes(t.bytes),
            time,
            t.rows_per_sec()
        );
        read += t.rows_read;
        copied += t.rows_copied;
        rej += t.rejects;
        unk += t.unknown_to_null;
        bytes += t.bytes;
        secs += t.seconds;
    }
    let _ = writeln!(s, "{}", "-".repeat(95));
    let _ = writeln!(
        s,
        "{:<22} {:>10} {:>10} {:>8} {:>9} {:>10} {:>7.2}s {:>11.0}",
        "total (COPY)",
        read,
        copied,
        rej,
        unk,
        human_bytes(bytes),
        secs,
        if secs > 0.0 {
            copied as f64 / secs
        } else {
            0.0
        }
    );
    let _ =
        writeln!(
        s,
        "load {:.2}s (validation, schema, COPY) = {:.0} rows/s; verify {:.2}s; written as role {}",
        r.load_seconds,
        if r.load_seconds > 0.0 { copied as f64 / r.load_seconds } else { 0.0 },
        r.verify_seconds,
        r.role
    );
    if r.rejects > 0 || r.cells_nulled > 0 {
        let _ = writeln!(
            s,
            "{} rejected rows ({} for their own values, {} only because a row they reference was: each names its root cause); {} cells kept as NULL by on_bad = \"null\": see {}",
            r.rejects,
            r.root_rejects,
            r.rejects - r.root_rejects,
            r.cells_nulled,
            r.reject_path.display()
        );
    }
    if let Some(why) = &r.stopped {
        let _ = writeln!(s, "stopped (--on-error stop): {why}");
    }
    if let Some(v) = &r.verify {
        s.push_str(&render_verify(v));
    }
    s
}

/// Verification outcome: per table counts and digests, then mismatches.
pub fn render_verify(v: &VerifyReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<22} {:>10} {:>10} {:>8}  digest (source = target?)",
        "verify", "source", "target", "tenants"
    );
    for t in &v.tables {
        let same = if t.source_digest == t.target_digest && t.source_rows == t.target_rows {
            "equal"
        } else {
            "DIFFERENT"
        };
        let _ = writeln!(
            s,
            "{:<22} {:>10} {:>10} {:>8}  {} {}",
            t.table,
            t.source_rows,
            t.target_rows,
            t.tenants,
            &t.target_digest[..16],
            same
        );
    }
    for m in &v.mismatches {
        let tenant = m
            .tenant
            .map(|t| format!("company {t}"))
            .unwrap_or_else(|| "rows of no migrated company".into());
        let _ = writeln!(
            s,
            "MISMATCH {} / {tenant}: source {} rows, target {} rows",
            m.table, m.source_rows, m.target_rows
        );
        for r in &m.rows {
            let _ = writeln!(
                s,
                "  legacy id {}: {:?} {}",
                r.legacy_id
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| "(not from the migration)".into()),
                r.kind,
                r.columns.join(", ")
            );
        }
    }
    for p in &v.unrecorded_rejects {
        let _ = writeln!(s, "MISMATCH {p}");
    }
    let _ = writeln!(s, "verification: {}", if v.ok() { "OK" } else { "FAILED" });
    s
}
