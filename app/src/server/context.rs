//! What a use case is given: the store (whose commits carry their own effects), the settings, the
//! clock, and the limits on guessing and on mail. Nothing of the HTTP layer — the container
//! API's snapshot, the Studio API's limits, cookies — is here: the domain cannot reach it.

use std::sync::Arc;

use super::auth::password::Hasher;
use super::auth::ratelimit::{LoginLimiter, Throttle};
use super::clock::Clock;
use super::config::{Config, MAILS_PER_TARGET_PER_HOUR};
use super::store::Store;
use crate::model::AppError;

/// Sign-ins begun without an account (passkey, single sign-on) allowed per client address and
/// hour, for each account request allowed (`--account-requests-per-address`).
pub const SIGN_IN_STARTS_PER_ACCOUNT_REQUEST: u32 = 5;

#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub hasher: Hasher,
    /// Failed logins per account, known device and client address.
    pub limiter: Arc<LoginLimiter>,
    /// Sign-ups, verification resends and reset requests per client address.
    pub account_requests: Arc<Throttle>,
    /// Mails to an address its owner may not have asked for (verification, reset, email change,
    /// invitations, sign-up notices) per mailbox ([`Throttle::check_mailbox`]).
    pub mails_per_target: Arc<Throttle>,
    /// Sign-ins begun by someone not signed in (a passkey alone, single sign-on) per client
    /// address: each keeps a challenge until it is answered, so their number is bounded.
    pub sign_in_starts: Arc<Throttle>,
    /// Device codes a signed-in person names (to see or decide the request) per account, so the
    /// codes cannot be guessed (see [`DEVICE_CODES_PER_ACCOUNT_PER_HOUR`]).
    pub device_codes: Arc<Throttle>,
    /// Changes a signed-in person makes to their own account and applications, per account
    /// (`--account-changes-per-hour`): see [`Context::count_change`].
    pub account_changes: Arc<Throttle>,
}

/// Device codes one account may name in an hour, right or wrong: a person signing in a command
/// line names a code twice (to see the request, then to decide it); a guesser of the 20⁸ codes
/// gets nowhere.
pub const DEVICE_CODES_PER_ACCOUNT_PER_HOUR: u32 = 30;

impl Context {
    /// A context on the system clock.
    pub fn new(store: Store, config: Config) -> Context {
        Context::with_clock(store, config, Clock::system())
    }

    /// A context whose rules — and whose store's write transactions — read `clock`.
    pub fn with_clock(store: Store, config: Config, clock: Clock) -> Context {
        let store = store.with_clock(clock.clone());
        let limiter = LoginLimiter::new(
            config.login_failures_per_account,
            config.login_failures_per_address,
            config.login_window,
            clock.clone(),
        );
        Context {
            account_requests: Arc::new(Throttle::per_hour(
                config.account_requests_per_address,
                "from your network address",
                clock.clone(),
            )),
            sign_in_starts: Arc::new(Throttle::per_hour(
                config.account_requests_per_address.saturating_mul(SIGN_IN_STARTS_PER_ACCOUNT_REQUEST),
                "from your network address",
                clock.clone(),
            )),
            mails_per_target: Arc::new(Throttle::per_hour(
                MAILS_PER_TARGET_PER_HOUR,
                "for this email address",
                clock.clone(),
            )),
            device_codes: Arc::new(Throttle::per_hour(
                DEVICE_CODES_PER_ACCOUNT_PER_HOUR,
                "naming a device's code from your account",
                clock.clone(),
            )),
            account_changes: Arc::new(Throttle::per_hour(
                config.account_changes_per_hour,
                "to change your account",
                clock.clone(),
            )),
            limiter: Arc::new(limiter),
            hasher: Hasher::new(),
            config: Arc::new(config),
            store,
            clock,
        }
    }

    /// Counts a change `account` makes to itself (its passkeys, two factors, tokens, password,
    /// address, applications), or refuses it with 429 before anything is read or written. Every such change is kept (an audit row, a record), so this bounds how fast one
    /// account can grow the store.
    pub fn count_change(&self, account: uuid::Uuid) -> Result<(), AppError> {
        self.account_changes.check(&format!("account:{account}"))
    }

    /// The context of the current server function's request.
    pub fn current() -> Result<Context, AppError> {
        leptos::prelude::use_context::<Context>().ok_or_else(|| {
            tracing::error!("Context missing from the server function context");
            AppError::Internal
        })
    }
}
