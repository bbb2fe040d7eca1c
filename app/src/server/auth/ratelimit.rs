//! Failed-login limits per account and per client address, in fixed windows: an attacker can slow
//! an account down for one window at a time, never lock its owner out for good.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::AppError;

struct Window {
    started: Instant,
    failures: u32,
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

    fn remaining(&self, key: &str, limit: u32, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().expect("limiter lock");
        let w = windows.get(key)?;
        let elapsed = now.duration_since(w.started);
        (elapsed < self.window && w.failures >= limit).then(|| self.window - elapsed)
    }

    /// Refuses (429) while the account or the address has used up its failures in this window.
    pub fn check(&self, account_key: &str, addr: Option<IpAddr>) -> Result<(), AppError> {
        let now = Instant::now();
        if let Some(wait) = self.remaining(&format!("account:{account_key}"), self.per_account, now)
        {
            return Err(limited("this account", wait));
        }
        if let Some(addr) = addr {
            if let Some(wait) = self.remaining(&format!("address:{addr}"), self.per_address, now) {
                return Err(limited("your network address", wait));
            }
        }
        Ok(())
    }

    pub fn record_failure(&self, account_key: &str, addr: Option<IpAddr>) {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("limiter lock");
        if windows.len() > 100_000 {
            windows.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        let mut bump = |key: String| {
            let w = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(w.started) >= self.window {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures += 1;
        };
        bump(format!("account:{account_key}"));
        if let Some(addr) = addr {
            bump(format!("address:{addr}"));
        }
    }

    /// A successful login clears the account's failures (not the address's).
    pub fn record_success(&self, account_key: &str) {
        self.windows
            .lock()
            .expect("limiter lock")
            .remove(&format!("account:{account_key}"));
    }
}

fn limited(what: &str, wait: Duration) -> AppError {
    let secs = wait.as_secs().max(1);
    let when = if secs >= 120 {
        format!("{} minutes", secs.div_ceil(60))
    } else {
        format!("{secs} seconds")
    };
    AppError::RateLimited {
        message: format!("Too many failed logins for {what}. Please wait {when} and try again."),
        retry_after_secs: secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_limit_then_window_reopens() {
        let l = LoginLimiter::new(3, 100, Duration::from_millis(200));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            l.check("ann", Some(ip)).unwrap();
            l.record_failure("ann", Some(ip));
        }
        let e = l.check("ann", Some(ip)).unwrap_err();
        assert_eq!(e.status(), 429);
        assert!(e.to_string().contains("this account"), "{e}");
        // another account from elsewhere is unaffected
        l.check("bob", Some("10.0.0.2".parse().unwrap())).unwrap();
        std::thread::sleep(Duration::from_millis(250));
        l.check("ann", Some(ip)).unwrap();
    }

    #[test]
    fn address_limit_covers_every_account() {
        let l = LoginLimiter::new(100, 2, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        l.record_failure("a", Some(ip));
        l.record_failure("b", Some(ip));
        let e = l.check("c", Some(ip)).unwrap_err();
        assert!(e.to_string().contains("network address"), "{e}");
        l.check("c", Some("10.0.0.10".parse().unwrap())).unwrap();
    }

    #[test]
    fn success_clears_the_account() {
        let l = LoginLimiter::new(2, 100, Duration::from_secs(60));
        l.record_failure("ann", None);
        l.record_success("ann");
        l.record_failure("ann", None);
        l.check("ann", None).unwrap();
    }
}
