//! Everything that exists only on the server: storage, domain logic, authentication.

pub mod archive;
pub mod auth;
pub mod config;
pub mod container;
pub mod domain;
pub mod keys;
pub mod manifest;
pub mod policy;
pub mod seed;
pub mod state;
pub mod store;
pub mod studio;
pub mod tokens;

pub use config::Config;
pub use state::AppState;
