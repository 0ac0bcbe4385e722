//! `deploy inventory`: an inventory shown as `ansible-inventory` shows it.

use std::process::ExitCode;

use anyhow::{Context as _, Result};

use crate::cli::{exit, InventoryArgs};
use crate::inventory::Inventory;

/// `deploy inventory`: show an inventory as `ansible-inventory` would.
pub fn command(args: &InventoryArgs) -> Result<ExitCode> {
    let settings = crate::cli::ansible_settings()?;
    crate::cli::vault::install(&args.vault, &settings)?;
    let inventories = crate::cli::inventories(&args.inventories, &settings);
    if inventories.is_empty() {
        anyhow::bail!(
            "an inventory is required: -i INVENTORY, or `inventory` under [defaults] in ansible.cfg"
        );
    }
    let inventory = Inventory::load(&inventories)?;
    let text = if let Some(host) = &args.host {
        crate::inventory::output::host(&inventory, host)?
    } else if args.graph {
        crate::inventory::output::graph(&inventory)
    } else {
        let selection = match &args.limit {
            Some(limit) => {
                let selection = inventory
                    .select_with_warnings("all", Some(limit))
                    .with_context(|| format!("invalid --limit `{limit}`"))?;
                for warning in &selection.warnings {
                    eprintln!("warning: {warning}");
                }
                selection.hosts
            }
            None => inventory.group_hosts("all"),
        };
        crate::inventory::output::list(&inventory, &selection)?
    };
    // Values from a vault are shown as `********`, never in clear.
    let text = crate::engine::redact(&text, &crate::vault::tainted());
    println!("{text}");
    Ok(ExitCode::from(exit::OK))
}
