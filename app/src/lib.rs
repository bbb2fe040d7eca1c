//! The MPDP console: pages and components (`ui`), server functions (`api`), the types both
//! sides share (`model`) and, with the `ssr` feature, everything that exists only on the server.
#![recursion_limit = "256"]

pub mod api;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod server;

pub use ui::{shell, App};
