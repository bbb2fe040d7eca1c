//! The state every server function and handler shares: the use cases' [`Context`] and what only
//! the HTTP layer holds (the container API's snapshot, the Studio API's limits, cookies, keys
//! waiting to be shown).

use std::ops::Deref;
use std::sync::Arc;

use super::auth::device::DeviceCookies;
use super::context::Context;
use crate::model::AppError;

#[derive(Clone)]
pub struct AppState {
    /// What the use cases are given.
    pub cx: Context,
    /// Wakes the mail worker when a commit has queued a message (see [`after_commit`]).
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Wakes the release publisher when a commit changed what containers are served.
    pub publish_wake: Arc<tokio::sync::Notify>,
    /// Wakes the webhook worker when a commit has queued a delivery.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// Signs and reads "known device" cookies.
    pub devices: DeviceCookies,
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
    /// The fleet's events counted since the last flush (memory only).
    pub fleet: Arc<super::domain::fleet::Fleet>,
    /// Event batches per Accessing Key and per client address.
    pub event_limits: Arc<super::container::EventLimits>,
}

/// A handler reads the context's parts (`state.store`, `state.clock` …) as its own, and hands
/// `&state` to a use case that takes a `&Context`.
impl Deref for AppState {
    type Target = Context;

    fn deref(&self) -> &Context {
        &self.cx
    }
}

impl AppState {
    pub fn new(cx: Context) -> Self {
        let secret = super::store::secrets::get_or_create(
            &cx.store,
            super::store::secrets::DEVICE_COOKIE_KEY,
        )
        .expect("the data file accepts the server's secret on first start");
        let container: Arc<super::container::Container> = Arc::default();
        let mail_wake = Arc::new(tokio::sync::Notify::new());
        let publish_wake = Arc::new(tokio::sync::Notify::new());
        let webhook_wake = Arc::new(tokio::sync::Notify::new());
        let wakes = Wakes { mail: mail_wake.clone(), publish: publish_wake.clone(), webhooks: webhook_wake.clone() };
        cx.store.on_commit(after_commit(container.clone(), wakes));
        AppState {
            bundles: super::store::bundles::Bundles::new(cx.config.bundle_dir.clone()),
            devices: DeviceCookies::new(&secret, cx.config.is_https()),
            mail_wake,
            publish_wake,
            webhook_wake,
            last_used: Arc::default(),
            shown_once: Arc::default(),
            container,
            studio: Arc::new(super::studio::StudioLimits::new(cx.clock.clone())),
            fleet: Arc::default(),
            event_limits: Arc::new(super::container::EventLimits::new(&cx.config, cx.clock.clone())),
            cx,
        }
    }

    /// What the Studio API's handlers are given.
    pub fn studio_api(&self) -> super::studio::Studio {
        super::studio::Studio {
            cx: self.cx.clone(),
            bundles: self.bundles.clone(),
            limits: self.studio.clone(),
            last_used: self.last_used.clone(),
        }
    }

    /// What the container API's handlers are given.
    pub fn container_api(&self) -> super::container::Serving {
        super::container::Serving {
            container: self.container.clone(),
            bundles: self.bundles.clone(),
            clock: self.cx.clock.clone(),
            last_used: self.last_used.clone(),
            fleet: self.fleet.clone(),
            event_limits: self.event_limits.clone(),
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

/// The workers a commit can wake.
#[derive(Clone)]
struct Wakes {
    mail: Arc<tokio::sync::Notify>,
    publish: Arc<tokio::sync::Notify>,
    webhooks: Arc<tokio::sync::Notify>,
}

/// The server's one dispatcher of commit effects (see [`super::store::effects`]): a commit that
/// queued mail wakes the mail worker, one that queued a webhook delivery the webhook worker; one
/// that changed what containers are served rebuilds the container API's snapshot before the use
/// case returns, and wakes the release publisher (the commit itself recorded what it owes the
/// release target).
fn after_commit(container: Arc<super::container::Container>, wakes: Wakes) -> super::store::effects::Dispatcher {
    Arc::new(move |store, effects| {
        let (container, wakes) = (container.clone(), wakes.clone());
        let publish_wake = wakes.publish.clone();
        Box::pin(async move {
            if effects.mail {
                wakes.mail.notify_one();
            }
            if effects.webhook {
                wakes.webhooks.notify_one();
            }
            if effects.served {
                container.refresh(&store).await;
                publish_wake.notify_one();
            }
        })
    })
}
