//! The use cases of the console. Each takes the guard that authorizes it and runs in one write
//! transaction.

pub mod accounts;
pub mod approvals;
pub mod apps;
pub mod fleet;
pub mod mail;
pub mod members;
pub mod minis;
pub mod operator;
pub mod overview;
pub mod releases;
pub mod webhooks;
pub mod workspaces;
