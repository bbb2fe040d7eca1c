//! The state every server function and handler shares.

use std::sync::Arc;

use super::auth::password::Hasher;
use super::auth::device::DeviceCookies;
use super::auth::ratelimit::{LoginLimiter, Throttle};
use super::store::Store;
use super::Config;
use crate::model::AppError;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub hasher: Hasher,
    pub limiter: Arc<LoginLimiter>,
    pub config: Arc<Config>,
    /// Wakes the mail worker when a commit has queued a message (see [`after_commit`]).
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Signs and reads "known device" cookies.
    pub devices: DeviceCookies,
    /// Sign-ups, verification resends and reset requests per client address.
    pub account_requests: Arc<Throttle>,
    /// Verification and reset mails per target address.
    pub mails_per_target: Arc<Throttle>,
    /// When App keys were last used, written in batches.
    pub last_used: Arc<super::domain::apps::LastUsed>,
    /// The bundle files.
    pub bundles: super::store::bundles::Bundles,
    /// New keys waiting to be shown once to a browser without JavaScript (memory only).
    pub shown_once: Arc<super::domain::apps::ShownOnce>,
    /// What the container API serves: an in-memory snapshot, rebuilt after the commits that
    /// change it (see [`after_commit`]).
    pub container: Arc<super::container::Container>,
    /// The Studio API's nonces in flight and uploads in progress (memory only).
    pub studio: Arc<super::studio::StudioLimits>,
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        let limiter = LoginLimiter::new(
            config.login_failures_per_account,
            config.login_failures_per_address,
            config.login_window,
        );
        let secret = super::store::secrets::get_or_create(
            &store,
            super::store::secrets::DEVICE_COOKIE_KEY,
        )
        .expect("the data file accepts the server's secret on first start");
        let container: Arc<super::container::Container> = Arc::default();
        let mail_wake = Arc::new(tokio::sync::Notify::new());
        store.on_commit(after_commit(container.clone(), mail_wake.clone()));
        AppState {
            bundles: super::store::bundles::Bundles::new(config.bundle_dir.clone()),
            devices: DeviceCookies::new(&secret, config.is_https()),
            account_requests: Arc::new(Throttle::per_hour(
                config.account_requests_per_address,
                "from your network address",
            )),
            mails_per_target: Arc::new(Throttle::per_hour(
                super::config::MAILS_PER_TARGET_PER_HOUR,
                "for this email address",
            )),
            store,
            hasher: Hasher::new(),
            limiter: Arc::new(limiter),
            config: Arc::new(config),
            mail_wake,
            last_used: Arc::default(),
            shown_once: Arc::default(),
            container,
            studio: Arc::default(),
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

/// The server's one dispatcher of commit effects (see [`super::store::effects`]): a commit that
/// queued mail wakes the mail worker; one that changed what containers are served rebuilds the
/// container API's snapshot before the use case returns.
fn after_commit(container: Arc<super::container::Container>, mail_wake: Arc<tokio::sync::Notify>) -> super::store::effects::Dispatcher {
    Arc::new(move |store, effects| {
        let (container, mail_wake) = (container.clone(), mail_wake.clone());
        Box::pin(async move {
            if effects.mail {
                mail_wake.notify_one();
            }
            if effects.served {
                container.refresh(&store).await;
            }
        })
    })
}
