//! `harness rls` commands (being built by the RLS issue).

use clap::Args;

use crate::config::HarnessConfig;

#[derive(Debug, Args)]
pub struct AuditArgs {}

pub async fn audit(_args: AuditArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

