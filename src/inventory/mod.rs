//! Inventories (placeholder until the loader lands).
use std::process::ExitCode;

pub fn command(_args: &crate::cli::InventoryArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("inventories are not read yet")
}
