//! `harness seed` commands (being built by the schema/generator issue).

use clap::Args;

use crate::config::HarnessConfig;

#[derive(Debug, Args)]
pub struct SeedArgs {}

pub async fn seed(_args: SeedArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

