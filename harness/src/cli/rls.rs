//! `harness audit-rls`: audit any PostgreSQL database's row-level security
//! from its catalog, for people and for CI.
//!
//! It needs only a URL and changes nothing there (see [`crate::rls::audit`]),
//! so it can run against a production database. The exit status is what CI
//! reads: [`exit_codes::AUDIT_FINDINGS`] when a finding is at or above
//! `--fail-on`, [`exit_codes::OK`] otherwise, [`exit_codes::SETUP_FAILED`]
//! when the database cannot be reached.

use clap::{Args, ValueEnum};

use super::migrate::AppArgs;
use crate::config::HarnessConfig;
use crate::exit_codes;
use crate::rls::audit::{audit_url, AuditError, AuditOptions, Severity};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One block per finding, worst first.
    #[default]
    Text,
    /// The whole report as JSON (database, tenant tables, findings).
    Json,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The database to audit (postgres://user:password@host:port/db). Only
    /// the catalog is read, in a read-only transaction.
    #[arg(long, env = "DATABASE_URL")]
    pub url: String,
    /// The app whose tenancy is audited (its tenant column, setting and
    /// roles); flags below override it. Without --app, --tenant-column
    /// alone describes the database and no app folder is read.
    #[command(flatten)]
    pub app: AppArgs,
    /// The column that holds the tenant id on every tenant table (default: the app's).
    #[arg(long)]
    pub tenant_column: Option<String>,
    /// A column that scopes rows to one user (`owner_id = auth.uid()`
    /// tables): tables with it are tenant tables too, keyed by it.
    #[arg(long)]
    pub user_column: Option<String>,
    /// The setting the app sets to name its tenant (default: the app's; used in hints).
    #[arg(long)]
    pub setting: Option<String>,
    /// A role the application connects as (repeatable; default: the app's app and reader roles).
    #[arg(long = "app-role")]
    pub app_roles: Vec<String>,
    /// Exit with status 13 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = Severity::Medium)]
    pub fail_on: Severity,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub async fn audit(args: AuditArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    // A database the harness did not create has no app folder: the tenant
    // column flag alone is enough, and the tenancy model comes from its catalog.
    let mut opts = match (&args.app.app, &args.tenant_column) {
        (None, Some(column)) => AuditOptions::for_tenant_column(column),
        _ => AuditOptions::for_app(&args.app.load()?),
    };
    if let Some(c) = &args.tenant_column {
        opts.tenant_column = c.clone();
    }
    if let Some(c) = &args.user_column {
        opts.user_column = Some(c.clone());
    }
    if let Some(s) = &args.setting {
        opts.setting = s.clone();
    }
    if !args.app_roles.is_empty() {
        opts.app_roles = args.app_roles.clone();
    }
    let report = match audit_url(&args.url, &opts).await {
        Ok(r) => r,
        Err(e @ AuditError::Connect { .. }) => {
            eprintln!("error: {e}");
            return Ok(exit_codes::SETUP_FAILED);
        }
        Err(e) => return Err(e.into()),
    };
    match args.format {
        Format::Text => print!("{}", report.to_text()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    let failing = report.at_least(args.fail_on).count();
    if failing > 0 {
        eprintln!(
            "audit-rls: {failing} finding(s) at or above {}",
            args.fail_on
        );
        Ok(exit_codes::AUDIT_FINDINGS)
    } else {
        Ok(exit_codes::OK)
    }
}
