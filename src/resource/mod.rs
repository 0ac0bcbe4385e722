//! Resources (the module registry lands with the playbook loader).
pub mod content;
pub mod lifecycle;
pub mod path_state;
