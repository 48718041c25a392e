//! `harness report` commands (being built by the report issue).

use clap::Args;

use crate::config::HarnessConfig;

#[derive(Debug, Args)]
pub struct ReportArgs {}

pub async fn report(_args: ReportArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

