//! Everything that exists only on the server: storage, domain logic, authentication.

pub mod archive;
pub mod auth;
pub mod clock;
pub mod config;
pub mod container;
pub mod csp;
pub mod context;
pub mod domain;
pub mod guard;
pub mod http_error;
pub mod keys;
pub mod manifest;
pub mod metrics;
pub mod openapi;
pub mod schemas;
pub mod policy;
pub mod publish;
pub mod release_document;
pub mod rollout;
pub mod routes;
pub mod seed;
pub mod sso;
pub mod state;
pub mod store;
pub mod studio;
pub mod tokens;

pub use config::Config;
pub use context::Context;
