//! `deploy`: declarative, agentless deployment for Linux fleets.
//!
//! The data flows one way: inputs are loaded (`yaml`, `inventory`, `playbook`), resolved
//! (`vars`, `template`), each host is probed, diffed, planned and applied, and the outcome is
//! reported. `lab` brings up disposable hosts to test all of it against.

pub mod cli;
pub mod error;
pub mod inventory;
pub mod lab;
pub mod template;
pub mod vars;
pub mod yaml;
