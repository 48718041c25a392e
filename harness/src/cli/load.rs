//! `harness load` commands (being built by the load issue).

use clap::Args;

use crate::config::HarnessConfig;

#[derive(Debug, Args)]
pub struct LoadArgs {}

pub async fn load(_args: LoadArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

#[derive(Debug, Args)]
pub struct CapacityArgs {}

pub async fn capacity(_args: CapacityArgs, _file: &HarnessConfig) -> anyhow::Result<i32> {
    anyhow::bail!("not implemented yet")
}

