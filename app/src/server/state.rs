//! The state every server function and handler shares.

use std::sync::Arc;

use super::auth::password::Hasher;
use super::auth::ratelimit::LoginLimiter;
use super::store::Store;
use super::Config;
use crate::model::AppError;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hasher: Hasher,
    pub limiter: Arc<LoginLimiter>,
    pub config: Arc<Config>,
    /// Wakes the mail worker when a use case has queued a message.
    pub mail_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        let limiter = LoginLimiter::new(
            config.login_failures_per_account,
            config.login_failures_per_address,
            config.login_window,
        );
        AppState {
            store,
            hasher: Hasher::new(),
            limiter: Arc::new(limiter),
            config: Arc::new(config),
            mail_wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The state provided to the current server function.
    pub fn current() -> Result<AppState, AppError> {
        leptos::prelude::use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the server function context");
            AppError::Internal
        })
    }
}
