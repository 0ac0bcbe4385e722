//! `deploy`: declarative, agentless deployment for Linux fleets.
//!
//! The data flows one way: inputs are loaded (`yaml`, `inventory`, `playbook`), resolved
//! (`vars`, `template`), each host is probed, diffed, planned and applied (`engine`, with
//! `probe`, `resource`, `apply` and `transport`), and the outcome is reported (`plan`,
//! `report`). The `deploy-lab` crate (`crates/lab`, behind `deploy lab`) brings up disposable
//! hosts to test all of it against; it shares no code with the engine, so it cannot hide the
//! engine's bugs.

pub mod apply;
pub mod cli;
pub mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod facts;
pub mod inventory;
pub mod metrics;
pub mod plan;
pub mod playbook;
pub mod probe;
pub mod python_regex;
pub mod report;
pub mod resource;
pub mod saved;
pub mod shell;
pub mod template;
pub mod transport;
pub mod vars;
pub mod vault;
pub mod yaml;
