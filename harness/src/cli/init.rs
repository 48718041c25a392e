//! `harness init DIR --from FILE`: draft an app folder from any SQLite file
//! ([`crate::init`]), then print what was written and what the user must
//! decide.
//!
//! Bad input (a missing or non-SQLite file, a non-empty folder without
//! `--force`, an unknown tenant column) exits with
//! [`exit_codes::BAD_INPUT`] ([`crate::cli::classify`]); nothing is written
//! then.

use std::path::PathBuf;

use clap::Args;

use crate::exit_codes;
use crate::init::{init, InitOptions};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The app folder to write (created; it must be empty unless --force).
    pub dir: PathBuf,
    /// The app's SQLite file (opened read-only).
    #[arg(long)]
    pub from: PathBuf,
    /// The column that names a row's tenant (default: guessed from tenant_id,
    /// org_id, account_id, ... when two tables or more share it).
    #[arg(long)]
    pub tenant_column: Option<String>,
    /// Write into DIR even when it is not empty (replaces the files init writes).
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: InitArgs) -> anyhow::Result<i32> {
    let opts = InitOptions {
        dir: args.dir,
        from: args.from,
        tenant_column: args.tenant_column,
        force: args.force,
    };
    let dir = opts.dir.clone();
    // A bad-input InitError exits 4 through `classify`, like every error.
    let report = tokio::task::spawn_blocking(move || init(&opts)).await??;
    println!(
        "harness init: drafted {} tables ({} columns) into {}",
        report.tables,
        report.columns,
        dir.display()
    );
    for f in &report.files {
        println!("  wrote {}", f.display());
    }
    if !report.refused.is_empty() {
        println!("\nnot drafted ({}):", report.refused.len());
        for r in &report.refused {
            println!("  - {r}");
        }
    }
    if report.decisions.is_empty() {
        println!("\nno decisions stood out; review the evidence in mapping.toml");
    } else {
        println!("\ndecide ({}, also in README.md):", report.decisions.len());
        for d in &report.decisions {
            println!("  - {d}");
        }
    }
    Ok(exit_codes::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_input_exits_4_and_a_draft_exits_0() {
        let tmp = tempfile::tempdir().unwrap();
        let args = |from: PathBuf| InitArgs {
            dir: tmp.path().join("app"),
            from,
            tenant_column: None,
            force: false,
        };
        let e = run(args(tmp.path().join("missing.db"))).await.unwrap_err();
        assert_eq!(crate::cli::classify(&e), exit_codes::BAD_INPUT);
        assert!(e.to_string().contains("--from"), "{e}");

        let db = tmp.path().join("ok.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch("create table t (id integer primary key, v text);")
            .unwrap();
        assert_eq!(run(args(db)).await.unwrap(), exit_codes::OK);
        assert!(tmp.path().join("app/mapping.toml").is_file());
    }
}
