//! Limits on guessing and on mail-sending requests.
//!
//! **Logins** spend a budget of failures per account (or per known device of that account) and
//! per client address, in fixed windows. An attempt is *reserved* — counted — under one lock
//! before the password is verified, and refunded only when it succeeds: a hundred guesses sent at
//! once get at most the budget verified, never a hundred. An attacker can slow an account down for
//! one window at a time, never lock its owner out for good, and a browser that has signed in to
//! the account before has a budget of its own (see `device`). Counting failures needs that refund,
//! which a token bucket such as `governor` cannot give back, so this part is written here.
//!
//! **Sign-up, verification resends and password resets** are plain request rates per client
//! address and per target email: those are `governor` limiters.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::model::AppError;

struct Window {
    started: Instant,
    failures: u32,
}

/// Whose failures an attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An account (its username and email share this budget), or for a login that names no
    /// account, that login text (so both cases behave alike).
    Account(String),
    /// A browser that signed in to this account before: its own budget, so the owner gets in
    /// while strangers exhaust the account's.
    KnownDevice { account: String, device: String },
}

/// A reserved attempt: counted already; call [`LoginLimiter::succeeded`] to refund it.
#[must_use]
pub struct Attempt {
    keys: Vec<String>,
}

pub struct LoginLimiter {
    windows: Mutex<HashMap<String, Window>>,
    per_account: u32,
    per_address: u32,
    window: Duration,
}

impl LoginLimiter {
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        LoginLimiter {
            windows: Mutex::new(HashMap::new()),
            per_account,
            per_address,
            window,
        }
    }

    /// Counts one attempt for `subject` (and, unless it is a known device, the client address)
    /// — or refuses with 429, counting nothing, when a budget is spent. Check and count happen
    /// under one lock, so parallel attempts cannot slip past the limit.
    pub fn reserve(&self, subject: &Subject, addr: Option<IpAddr>) -> Result<Attempt, AppError> {
        let now = Instant::now();
        let mut keys: Vec<(String, u32, &str)> = Vec::new();
        match subject {
            Subject::Account(a) => keys.push((format!("account:{a}"), self.per_account, "this account")),
            Subject::KnownDevice { account, device } => keys.push((
                format!("device:{account}:{device}"),
                self.per_account,
                "this account on this browser",
            )),
        }
        if let (Subject::Account(_), Some(addr)) = (subject, addr) {
            keys.push((format!("address:{addr}"), self.per_address, "your network address"));
        }
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() > 100_000 {
            windows.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        for (key, limit, what) in &keys {
            if let Some(w) = windows.get(key) {
                let elapsed = now.duration_since(w.started);
                if elapsed < self.window && w.failures >= *limit {
                    return Err(limited(what, self.window - elapsed));
                }
            }
        }
        for (key, _, _) in &keys {
            let w = windows.entry(key.clone()).or_insert(Window { started: now, failures: 0 });
            if now.duration_since(w.started) >= self.window {
                *w = Window { started: now, failures: 0 };
            }
            w.failures += 1;
        }
        Ok(Attempt { keys: keys.into_iter().map(|(k, _, _)| k).collect() })
    }

    /// The attempt was right: it is not a failure, so it is given back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut windows = self.windows.lock().expect("limiter lock");
        for key in attempt.keys {
            if let Some(w) = windows.get_mut(&key) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }
}

fn limited(what: &str, wait: Duration) -> AppError {
    AppError::RateLimited {
        message: format!(
            "Too many failed logins for {what}. Please wait {} and try again.",
            wait_text(wait)
        ),
        retry_after_secs: wait.as_secs().max(1),
    }
}

fn wait_text(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs >= 120 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    }
}

/// A request rate per key (client address, target email), for requests that send mail or
/// create accounts — so they can neither flood inboxes nor fill the password-hashing queue.
pub struct Throttle {
    limiter: DefaultKeyedRateLimiter<String>,
    what: &'static str,
}

impl Throttle {
    /// `per_hour` requests per key per hour, all of which may come at once.
    pub fn per_hour(per_hour: u32, what: &'static str) -> Self {
        let n = NonZeroU32::new(per_hour.max(1)).expect("non-zero");
        Throttle {
            limiter: RateLimiter::keyed(Quota::per_hour(n).allow_burst(n)),
            what,
        }
    }

    /// Counts a request for `key`, or refuses it with 429.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                message: format!(
                    "Too many requests {}. Please wait {} and try again.",
                    self.what,
                    wait_text(wait)
                ),
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(a: &str) -> Subject {
        Subject::Account(a.into())
    }

    #[test]
    fn account_limit_then_window_reopens() {
        let l = LoginLimiter::new(3, 100, Duration::from_millis(200));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            let _failed = l.reserve(&acct("ann"), Some(ip)).unwrap();
        }
        let e = l.reserve(&acct("ann"), Some(ip)).err().unwrap();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("this account"), "{e}");
        // another account from elsewhere is unaffected
        let _ = l.reserve(&acct("bob"), Some("10.0.0.2".parse().unwrap())).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        let _ = l.reserve(&acct("ann"), Some(ip)).unwrap();
    }

    #[test]
    fn parallel_attempts_never_exceed_the_budget() {
        let l = std::sync::Arc::new(LoginLimiter::new(5, 1000, Duration::from_secs(60)));
        let handles: Vec<_> = (0..100)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || l.reserve(&acct("ann"), None).is_ok())
            })
            .collect();
        let passed = handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn address_limit_covers_every_account() {
        let l = LoginLimiter::new(100, 2, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let _ = l.reserve(&acct("a"), Some(ip)).unwrap();
        let _ = l.reserve(&acct("b"), Some(ip)).unwrap();
        let e = l.reserve(&acct("c"), Some(ip)).err().unwrap();
        assert!(e.to_string().contains("network address"), "{e}");
        let _ = l.reserve(&acct("c"), Some("10.0.0.10".parse().unwrap())).unwrap();
    }

    #[test]
    fn success_is_refunded_and_a_known_device_has_its_own_budget() {
        let l = LoginLimiter::new(2, 100, Duration::from_secs(60));
        let ok = l.reserve(&acct("ann"), None).unwrap();
        l.succeeded(ok);
        let _f1 = l.reserve(&acct("ann"), None).unwrap();
        let _f2 = l.reserve(&acct("ann"), None).unwrap();
        assert!(l.reserve(&acct("ann"), None).is_err(), "strangers have spent the account's budget");
        let device = Subject::KnownDevice { account: "ann".into(), device: "d1".into() };
        let owner = l.reserve(&device, None).unwrap();
        l.succeeded(owner);
        let other = Subject::KnownDevice { account: "ann".into(), device: "d2".into() };
        let _ = l.reserve(&other, None).unwrap();
    }

    #[test]
    fn throttle_refuses_past_the_rate_per_key() {
        let t = Throttle::per_hour(2, "to sign up from your network address");
        t.check("10.0.0.1").unwrap();
        t.check("10.0.0.1").unwrap();
        let e = t.check("10.0.0.1").unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("sign up"), "{e}");
        t.check("10.0.0.2").unwrap();
    }
}
