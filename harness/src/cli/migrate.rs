//! `harness migrate` commands (being built by the migration issue).

use clap::Args;

use crate::config::HarnessConfig;

#[derive(Debug, Args)]
pub struct MigrateArgs {}

pub async fn migrate(_args: MigrateArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

#[derive(Debug, Args)]
pub struct VerifyArgs {}

pub async fn verify(_args: VerifyArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

#[derive(Debug, Args)]
pub struct ExportArgs {}

pub async fn export(_args: ExportArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

