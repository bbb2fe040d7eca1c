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
//!
//! **Addresses** are counted by the block one customer line gets ([`address_key`]): an IPv4
//! address itself, an IPv6 address's /64 — otherwise one line's 2^64 addresses would each get a
//! budget of their own.
//!
//! **Memory** is bounded: every limiter keeps at most a fixed number of keys
//! ([`MAX_TRACKED_KEYS`]) in a [`RecentKeys`] map, which forgets the least recently used keys
//! first, with no scan on the request path. A flood of distinct addresses can therefore make the
//! limiters forget quiet keys (their budgets start again), but never grow without bound; a key
//! that keeps being used stays.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed, StateStore};
use governor::{Quota, RateLimiter};
use ipnet::Ipv6Net;

use crate::model::AppError;
use crate::server::clock::Clock;

/// The most keys one limiter keeps (about 100 bytes each).
pub const MAX_TRACKED_KEYS: usize = 100_000;

/// What per-address limits count under: the IPv4 address (also when it arrives IPv4-mapped, as
/// `::ffff:a.b.c.d`), or the /64 an IPv6 address belongs to (`2001:db8:1:2::/64`).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => Ipv6Net::new(v6, 64).expect("64 is a valid IPv6 prefix length").trunc().to_string(),
        },
    }
}

/// Keys and their states, at most `cap` of them, the least recently used forgotten first. Two
/// generations: a key that is used moves into the current one; when the current one is half the
/// cap, it becomes the previous one and the old previous one (keys unused for a whole
/// generation) is dropped. Each use is O(1); nothing is scanned.
struct RecentKeys<V> {
    current: HashMap<String, V>,
    previous: HashMap<String, V>,
    half: usize,
}

impl<V> RecentKeys<V> {
    fn new(cap: usize) -> Self {
        RecentKeys { current: HashMap::new(), previous: HashMap::new(), half: (cap / 2).max(1) }
    }

    /// The state of `key`, if it has one, now among the most recently used.
    fn get_recent(&mut self, key: &str) -> Option<&mut V> {
        if !self.current.contains_key(key) {
            let value = self.previous.remove(key)?;
            self.put(key, value);
        }
        self.current.get_mut(key)
    }

    /// The state of `key` (made by `new` when it has none), now among the most recently used.
    fn entry(&mut self, key: &str, new: impl FnOnce() -> V) -> &mut V {
        if !self.current.contains_key(key) {
            let value = self.previous.remove(key).unwrap_or_else(new);
            self.put(key, value);
        }
        self.current.get_mut(key).expect("the key was just put in the current generation")
    }

    fn put(&mut self, key: &str, value: V) {
        if self.current.len() >= self.half {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key.to_owned(), value);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// Keeps only the states `keep` accepts (for a timer, off the request path).
    fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) {
        self.current.retain(|_, v| keep(v));
        self.previous.retain(|_, v| keep(v));
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere leaves counters that are still counters: carry on with them.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
    windows: Mutex<RecentKeys<Window>>,
    clock: Clock,
    per_account: u32,
    per_address: u32,
    window: Duration,
}

impl LoginLimiter {
    pub fn new(per_account: u32, per_address: u32, window: Duration, clock: Clock) -> Self {
        Self::with_capacity(per_account, per_address, window, MAX_TRACKED_KEYS, clock)
    }

    /// A limiter that keeps at most `cap` keys.
    pub fn with_capacity(per_account: u32, per_address: u32, window: Duration, cap: usize, clock: Clock) -> Self {
        LoginLimiter {
            windows: Mutex::new(RecentKeys::new(cap)),
            clock,
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
        let now = self.clock.instant();
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
            open.push((format!("address:{}", address_key(addr)), self.per_address, "your network address"));
        }
        let mut windows = locked(&self.windows);
        // Looked at is used: a key that keeps being refused is not the one forgotten.
        let spent = |windows: &mut RecentKeys<Window>, key: &str, limit: u32| {
            windows.get_recent(key).and_then(|w| {
                let elapsed = now.duration_since(w.started);
                (elapsed < self.window && w.failures >= limit).then(|| self.window - elapsed)
            })
        };
        for (key, limit, what) in &open {
            if let Some(wait) = spent(&mut windows, key, *limit) {
                return Err(limited(what, wait));
            }
        }
        let account_spent = quiet
            .as_deref()
            .is_some_and(|key| spent(&mut windows, key, self.per_account).is_some());
        let mut keys: Vec<String> = open.into_iter().map(|(k, _, _)| k).collect();
        keys.extend(quiet.filter(|_| !account_spent));
        for key in &keys {
            let w = windows.entry(key, || Window { started: now, failures: 0 });
            if now.duration_since(w.started) >= self.window {
                *w = Window { started: now, failures: 0 };
            }
            w.failures += 1;
        }
        Ok(Attempt { keys, account_spent })
    }

    /// The attempt was right: it is not a failure, so it is given back.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut windows = locked(&self.windows);
        for key in attempt.keys {
            if let Some(w) = windows.get_recent(&key) {
                w.failures = w.failures.saturating_sub(1);
            }
        }
    }

    /// Drops the windows that have ended, so memory follows recent activity (run from a timer).
    pub fn forget_expired(&self) {
        let now = self.clock.instant();
        locked(&self.windows).retain(|w| now.duration_since(w.started) < self.window);
    }

    /// How many keys the limiter holds now.
    pub fn tracked_keys(&self) -> usize {
        locked(&self.windows).len()
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

/// Refused unauthenticated requests per client address (IPv6 by /64). Up to a budget per window
/// they are answered at once; past it, each further refusal is answered only after a delay that
/// grows by `step` with each one, up to `max_delay` — so a client that keeps sending forged
/// requests soon sends one every few seconds per connection instead of thousands, and costs the
/// server a timer rather than a worker. Requests that authenticate are never delayed,
/// also from an address past its budget. At most `max_held` refusals per address wait at once;
/// beyond that they are answered at once (the connection cap bounds the rest).
pub struct Tarpit {
    windows: Mutex<RecentKeys<(Window, usize)>>,
    clock: Clock,
    budget: u32,
    window: Duration,
    step: Duration,
    max_delay: Duration,
    max_held: usize,
}

/// A refusal waiting out its delay; counted among the address's held ones until dropped.
pub struct TarpitHold {
    tarpit: Arc<Tarpit>,
    key: String,
    pub delay: Duration,
}

impl Tarpit {
    pub fn new(budget: u32, window: Duration, step: Duration, max_delay: Duration, max_held: usize, clock: Clock) -> Self {
        Tarpit { windows: Mutex::new(RecentKeys::new(MAX_TRACKED_KEYS)), clock, budget, window, step, max_delay, max_held }
    }

    /// Counts a refusal from `ip`. Past the budget, the hold to wait out before answering it.
    pub fn refused(self: &Arc<Self>, ip: IpAddr) -> Option<TarpitHold> {
        let now = self.clock.instant();
        let key = address_key(ip);
        let mut windows = locked(&self.windows);
        let (w, held) = windows.entry(&key, || (Window { started: now, failures: 0 }, 0));
        if now.duration_since(w.started) >= self.window {
            *w = Window { started: now, failures: 0 };
        }
        w.failures = w.failures.saturating_add(1);
        if w.failures <= self.budget || *held >= self.max_held {
            return None;
        }
        *held += 1;
        let delay = self.step.saturating_mul(w.failures - self.budget).min(self.max_delay);
        Some(TarpitHold { tarpit: self.clone(), key, delay })
    }

    /// Drops the windows that have ended and hold nothing (run from a timer).
    pub fn forget_expired(&self) {
        let now = self.clock.instant();
        locked(&self.windows).retain(|(w, held)| *held > 0 || now.duration_since(w.started) < self.window);
    }
}

impl Drop for TarpitHold {
    fn drop(&mut self) {
        if let Some((_, held)) = locked(&self.tarpit.windows).get_recent(&self.key) {
            *held = held.saturating_sub(1);
        }
    }
}

/// governor's rate state per key, kept in a bounded [`RecentKeys`] map.
struct BoundedStates(Arc<Mutex<RecentKeys<InMemoryState>>>);

impl StateStore for BoundedStates {
    type Key = String;

    fn measure_and_replace<T, F, E>(&self, key: &String, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        locked(&self.0)
            .entry(key, InMemoryState::default)
            .measure_and_replace(&NotKeyed::NonKey, f)
    }
}

/// A request rate per key (client address, target email), for requests that send mail or
/// create accounts — so they can neither flood inboxes nor fill the password-hashing queue.
pub struct Throttle {
    limiter: RateLimiter<String, BoundedStates, Clock, governor::middleware::NoOpMiddleware<Instant>>,
    clock: Clock,
    /// The limiter's states (shared with it), to count them.
    states: Arc<Mutex<RecentKeys<InMemoryState>>>,
    what: &'static str,
}

impl Throttle {
    /// `per_hour` requests per key per hour, all of which may come at once.
    pub fn per_hour(per_hour: u32, what: &'static str, clock: Clock) -> Self {
        Self::per_hour_with_capacity(per_hour, what, MAX_TRACKED_KEYS, clock)
    }

    /// The same, keeping at most `cap` keys.
    pub fn per_hour_with_capacity(per_hour: u32, what: &'static str, cap: usize, clock: Clock) -> Self {
        let n = NonZeroU32::new(per_hour.max(1)).expect("non-zero");
        let states = Arc::new(Mutex::new(RecentKeys::new(cap)));
        Throttle {
            limiter: RateLimiter::new(
                Quota::per_hour(n).allow_burst(n),
                BoundedStates(states.clone()),
                clock.clone(),
            ),
            clock,
            states,
            what,
        }
    }

    /// Counts a request from the client address `ip` (its /64 for IPv6), or refuses it with 429.
    pub fn check_address(&self, ip: IpAddr) -> Result<(), AppError> {
        self.check(&format!("address:{}", address_key(ip)))
    }

    /// Counts a mail to `email` (under [`crate::model::account::mailbox_key`]: the variants of one
    /// mailbox share a budget), or refuses it with 429.
    pub fn check_mailbox(&self, email: &str) -> Result<(), AppError> {
        self.check(&format!("mailbox:{}", crate::model::account::mailbox_key(email)))
    }

    /// How many keys the throttle holds now.
    pub fn tracked_keys(&self) -> usize {
        locked(&self.states).len()
    }

    /// Counts a request for `key`, or refuses it with 429.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        self.limiter.check_key(&key.to_string()).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.instant());
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
    fn refusals_past_the_budget_are_held_and_holds_are_bounded() {
        let clock = Clock::system();
        let t = Arc::new(Tarpit::new(3, Duration::from_millis(300), Duration::from_secs(1), Duration::from_secs(2), 2, clock.clone()));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for _ in 0..3 {
            assert!(t.refused(ip).is_none(), "within the budget a refusal is answered at once");
        }
        let a = t.refused(ip).expect("past the budget a refusal is held");
        assert_eq!(a.delay, Duration::from_secs(1));
        let b = t.refused(ip).expect("a second hold");
        assert_eq!(b.delay, Duration::from_secs(2), "each refusal past the budget waits longer");
        assert!(t.refused(ip).is_none(), "no more than max_held wait at once");
        // Another address and another /64 have budgets of their own; one /64 shares one.
        assert!(t.refused("10.0.0.10".parse().unwrap()).is_none());
        let v6a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        for _ in 0..3 {
            assert!(t.refused(v6a).is_none());
        }
        assert!(t.refused(v6b).is_some(), "the same /64 is one budget");
        drop((a, b));
        assert_eq!(t.refused(ip).map(|h| h.delay), Some(Duration::from_secs(2)), "a hold that ended frees its place; the delay stops at its most");
        clock.advance(Duration::from_millis(350));
        assert!(t.refused(ip).is_none(), "a new window starts a new budget");
    }

    #[test]
    fn account_limit_then_window_reopens() {
        let clock = Clock::system();
        let l = LoginLimiter::new(3, 100, Duration::from_millis(200), clock.clone());
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            let _failed = l.reserve(&acct("ann"), Some(ip)).unwrap();
        }
        let e = l.reserve(&acct("ann"), Some(ip)).err().unwrap();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("this account"), "{e}");
        // another account from elsewhere is unaffected
        let _ = l.reserve(&acct("bob"), Some("10.0.0.2".parse().unwrap())).unwrap();
        clock.advance(Duration::from_millis(250));
        let _ = l.reserve(&acct("ann"), Some(ip)).unwrap();
    }

    #[test]
    fn parallel_attempts_never_exceed_the_budget() {
        let l = std::sync::Arc::new(LoginLimiter::new(5, 1000, Duration::from_secs(60), Clock::system()));
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
        let l = LoginLimiter::new(100, 2, Duration::from_secs(60), Clock::system());
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let _ = l.reserve(&acct("a"), Some(ip)).unwrap();
        let _ = l.reserve(&acct("b"), Some(ip)).unwrap();
        let e = l.reserve(&acct("c"), Some(ip)).err().unwrap();
        assert!(e.to_string().contains("network address"), "{e}");
        let _ = l.reserve(&acct("c"), Some("10.0.0.10".parse().unwrap())).unwrap();
    }

    #[test]
    fn success_is_refunded_and_a_known_device_has_its_own_budget() {
        let l = LoginLimiter::new(2, 100, Duration::from_secs(60), Clock::system());
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
        let l = LoginLimiter::new(2, 100, Duration::from_secs(60), Clock::system());
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
        let t = Throttle::per_hour(2, "to sign up from your network address", Clock::system());
        t.check("10.0.0.1").unwrap();
        t.check("10.0.0.1").unwrap();
        let e = t.check("10.0.0.1").unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("sign up"), "{e}");
        t.check("10.0.0.2").unwrap();
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_addresses_are_counted_by_their_64_and_ipv4_by_the_address() {
        assert_eq!(address_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(address_key(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")), "2001:db8:1:2::/64");
        assert_ne!(address_key(ip("2001:db8:1:3::1")), address_key(ip("2001:db8:1:2::1")));
        assert_eq!(address_key(ip("198.51.100.7")), "198.51.100.7");
        assert_ne!(address_key(ip("198.51.100.7")), address_key(ip("198.51.100.8")));
        assert_eq!(address_key(ip("::ffff:198.51.100.7")), "198.51.100.7");
    }

    #[test]
    fn two_addresses_in_one_64_share_a_login_budget() {
        let l = LoginLimiter::new(100, 2, Duration::from_secs(60), Clock::system());
        let _ = l.reserve(&acct("a"), Some(ip("2001:db8:0:1::1"))).unwrap();
        let _ = l.reserve(&acct("b"), Some(ip("2001:db8:0:1:dead:beef:0:7"))).unwrap();
        let e = l.reserve(&acct("c"), Some(ip("2001:db8:0:1:ffff::"))).err().unwrap();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("your network address"), "{e}");
        // The next /64 has a budget of its own.
        let _ = l.reserve(&acct("c"), Some(ip("2001:db8:0:2::1"))).unwrap();
    }

    #[test]
    fn a_mapped_ipv4_address_shares_the_budget_of_the_ipv4_address() {
        let l = LoginLimiter::new(100, 2, Duration::from_secs(60), Clock::system());
        let _ = l.reserve(&acct("a"), Some(ip("203.0.113.5"))).unwrap();
        let _ = l.reserve(&acct("b"), Some(ip("::ffff:203.0.113.5"))).unwrap();
        assert!(l.reserve(&acct("c"), Some(ip("203.0.113.5"))).is_err());
        assert!(l.reserve(&acct("c"), Some(ip("::ffff:203.0.113.5"))).is_err());
        // Its neighbour is another customer.
        let _ = l.reserve(&acct("c"), Some(ip("203.0.113.6"))).unwrap();
    }

    #[test]
    fn the_throttle_counts_a_64_once_and_a_mapped_address_as_ipv4() {
        let t = Throttle::per_hour(2, "from your network address", Clock::system());
        t.check_address(ip("2001:db8:5:5::1")).unwrap();
        t.check_address(ip("2001:db8:5:5::2")).unwrap();
        let e = t.check_address(ip("2001:db8:5:5:1:2:3:4")).unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("from your network address"), "{e}");
        t.check_address(ip("2001:db8:5:6::1")).unwrap();
        t.check_address(ip("192.0.2.1")).unwrap();
        t.check_address(ip("::ffff:192.0.2.1")).unwrap();
        assert!(t.check_address(ip("192.0.2.1")).is_err());
        t.check_address(ip("192.0.2.2")).unwrap();
    }

    #[test]
    fn the_login_limiter_holds_at_most_its_cap_of_keys() {
        let l = LoginLimiter::with_capacity(5, 5, Duration::from_secs(600), 1000, Clock::system());
        let busy = ip("198.51.100.1");
        for n in 0..50_000u32 {
            let _ = l.reserve(&acct(&format!("guess{n}")), Some(IpAddr::from(n.to_be_bytes())));
            // One account stays in use all along: it is not forgotten.
            if n % 100 == 0 {
                let _ = l.reserve(&acct("target"), Some(busy));
            }
            assert!(l.tracked_keys() <= 1000, "{} keys after {n}", l.tracked_keys());
        }
        assert!(l.tracked_keys() >= 500, "{}", l.tracked_keys());
        let e = l.reserve(&acct("target"), Some(busy)).err().unwrap();
        assert!(e.to_string().contains("this account"), "a key in use keeps its count: {e}");
    }

    #[test]
    fn the_throttle_holds_at_most_its_cap_of_keys() {
        let t = Throttle::per_hour_with_capacity(1, "to sign up from your network address", 1000, Clock::system());
        t.check("kept").unwrap();
        for n in 0..50_000u32 {
            t.check_address(IpAddr::from(n.to_be_bytes())).unwrap();
            if n % 100 == 0 {
                assert!(t.check("kept").is_err(), "a key in use keeps its count");
            }
            assert!(t.tracked_keys() <= 1000, "{} keys after {n}", t.tracked_keys());
        }
    }

    #[test]
    fn ended_windows_are_forgotten_by_the_timer() {
        let clock = Clock::system();
        let l = LoginLimiter::new(5, 100, Duration::from_millis(50), clock.clone());
        for n in 0..10 {
            let _ = l.reserve(&acct(&format!("a{n}")), Some(ip("192.0.2.9")));
        }
        // Per attempt its spelling and its account, and the one address.
        assert_eq!(l.tracked_keys(), 21);
        clock.advance(Duration::from_millis(80));
        l.forget_expired();
        assert_eq!(l.tracked_keys(), 0);
    }
}
