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
//! What a login is *answered* must not tell whether it names an account, nor that a username and
//! an email name the same one. So the 429 of a login comes only from budgets that behave alike
//! for every login text: its own spelling's and the client address's. The account's budget, which
//! its username and email share, is kept quietly: once spent, further attempts on the account are
//! not checked (see [`Attempt::account_spent`]) and are answered like any wrong password, until
//! the spelling's own budget answers 429 — after as many attempts as for a login naming nobody.
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
    /// A login as typed, case-folded (`spelling`), and the account it names, if any. The
    /// spelling's budget answers 429 alike whether or not it names an account; the account's,
    /// shared by its username and email, is spent quietly.
    Login { spelling: String, account: Option<String> },
    /// A browser that signed in to this account before: its own budget, so the owner gets in
    /// while strangers exhaust the account's.
    KnownDevice { account: String, device: String },
    /// A signed-in person confirming their password: their account's budget, answered openly
    /// (they know the account exists).
    SignedIn(String),
}

/// A reserved attempt: counted already; call [`LoginLimiter::succeeded`] to refund it.
#[must_use]
pub struct Attempt {
    keys: Vec<String>,
    account_spent: bool,
}

impl Attempt {
    /// The account's shared budget is spent: the password must not be checked, and the attempt
    /// is answered as a wrong password (a 429 here would tell that the login names the account).
    pub fn account_spent(&self) -> bool {
        self.account_spent
    }
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
    /// — or refuses with 429, counting nothing, when a budget that may be answered openly is
    /// spent. Check and count happen under one lock, so parallel attempts cannot slip past the
    /// limit.
    pub fn reserve(&self, subject: &Subject, addr: Option<IpAddr>) -> Result<Attempt, AppError> {
        let now = Instant::now();
        let mut open: Vec<(String, u32, &str)> = Vec::new();
        let mut quiet: Option<String> = None;
        match subject {
            Subject::Login { spelling, account } => {
                open.push((format!("login:{spelling}"), self.per_account, "this account"));
                quiet = account.as_ref().map(|a| format!("account:{a}"));
            }
            Subject::KnownDevice { account, device } => open.push((
                format!("device:{account}:{device}"),
                self.per_account,
                "this account on this browser",
            )),
            Subject::SignedIn(account) => {
                open.push((format!("account:{account}"), self.per_account, "this account"))
            }
        }
        if let (Subject::Login { .. } | Subject::SignedIn(_), Some(addr)) = (subject, addr) {
            open.push((format!("address:{addr}"), self.per_address, "your network address"));
        }
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() > 100_000 {
            windows.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        let spent = |windows: &HashMap<String, Window>, key: &str, limit: u32| {
            windows.get(key).and_then(|w| {
                let elapsed = now.duration_since(w.started);
                (elapsed < self.window && w.failures >= limit).then(|| self.window - elapsed)
            })
        };
        for (key, limit, what) in &open {
            if let Some(wait) = spent(&windows, key, *limit) {
                return Err(limited(what, wait));
            }
        }
        let account_spent = quiet
            .as_deref()
            .is_some_and(|key| spent(&windows, key, self.per_account).is_some());
        let mut keys: Vec<String> = open.into_iter().map(|(k, _, _)| k).collect();
        keys.extend(quiet.filter(|_| !account_spent));
        for key in &keys {
            let w = windows.entry(key.clone()).or_insert(Window { started: now, failures: 0 });
            if now.duration_since(w.started) >= self.window {
                *w = Window { started: now, failures: 0 };
            }
            w.failures += 1;
        }
        Ok(Attempt { keys, account_spent })
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

/// How long to wait, in words: "3 hours", "12 minutes", "40 seconds".
pub(crate) fn wait_text(wait: Duration) -> String {
    let secs = wait.as_secs().max(1);
    if secs >= 7200 {
        format!("{} hours", secs.div_ceil(3600))
    } else if secs >= 120 {
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
        Subject::Login { spelling: a.into(), account: Some(a.into()) }
    }

    fn spelling(text: &str, account: Option<&str>) -> Subject {
        Subject::Login { spelling: text.into(), account: account.map(str::to_string) }
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
    fn a_spent_account_budget_is_kept_quietly_so_a_429_never_links_two_spellings() {
        let l = LoginLimiter::new(2, 100, Duration::from_secs(60));
        // Two failures by email spend ann's shared budget (and that spelling's).
        for _ in 0..2 {
            let a = l.reserve(&spelling("ann@example.com", Some("id-ann")), None).unwrap();
            assert!(!a.account_spent());
        }
        assert_eq!(l.reserve(&spelling("ann@example.com", Some("id-ann")), None).err().unwrap().status(), 429);
        // Her username and a login naming nobody are answered alike: two attempts, then 429.
        for subject in [spelling("ann", Some("id-ann")), spelling("nobody", None)] {
            let first = l.reserve(&subject, None).unwrap();
            let second = l.reserve(&subject, None).unwrap();
            assert_eq!(l.reserve(&subject, None).err().unwrap().status(), 429, "{subject:?}");
            // but ann's username is not checked: her budget is spent
            let quiet = matches!(&subject, Subject::Login { account: Some(_), .. });
            assert_eq!((first.account_spent(), second.account_spent()), (quiet, quiet), "{subject:?}");
        }
        // A signed-in ann confirming her password sees her account's budget openly.
        assert_eq!(l.reserve(&Subject::SignedIn("id-ann".into()), None).err().unwrap().status(), 429);
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
