//! What time it is, for every rule that depends on it: session lifetimes, login windows, request
//! rates, token expiry and the times the console records.
//!
//! The server has one [`Clock`], handed down in the use cases' [`super::context::Context`]. It
//! reads the system clock, plus however far it has been *advanced*: a test moves time forward
//! with [`Clock::advance`] instead of sleeping (and a server started with the hidden
//! `--test-clock` flag takes such moves on its standard input), so a rule about an hour is tested
//! in no time at all. In production nothing advances it: it is the system clock. A worker that
//! waits for its next due time also waits for the clock to move ([`Clock::moved`]), so a test
//! that moves time wakes it at once instead of waiting for its next look.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The server's clock; clones share one time.
#[derive(Debug, Clone)]
pub struct Clock {
    /// How far ahead of the system clock it runs, in milliseconds.
    ahead_ms: Arc<AtomicU64>,
    /// Told each time the clock is advanced.
    advanced: Arc<tokio::sync::watch::Sender<()>>,
}

impl Default for Clock {
    fn default() -> Clock {
        Clock { ahead_ms: Arc::default(), advanced: Arc::new(tokio::sync::watch::Sender::new(())) }
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Sees each move of the clock: `changed()` resolves after the next [`Clock::advance`] (never,
    /// in production). A worker waits on it beside its timer.
    pub fn moved(&self) -> tokio::sync::watch::Receiver<()> {
        self.advanced.subscribe()
    }

    /// How far this clock runs ahead of the system clock.
    pub fn ahead(&self) -> Duration {
        Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// The time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.ahead()
    }

    /// The time now, in Unix seconds.
    pub fn timestamp(&self) -> i64 {
        self.now().timestamp()
    }

    /// A monotonic instant now, for windows and rates.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.ahead()
    }

    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
        self.advanced.send_replace(());
    }
}

/// The rate limiters (`governor`) read the same clock.
impl governor::clock::Clock for Clock {
    type Instant = Instant;

    fn now(&self) -> Instant {
        self.instant()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_worker_waiting_on_the_clock_is_woken_by_each_move_and_only_then() {
        let clock = Clock::system();
        let mut moved = clock.clone().moved();
        assert!(!moved.has_changed().unwrap(), "nothing moved yet");
        let waiting = tokio::spawn(async move { moved.changed().await.map(|_| moved) });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        clock.advance(Duration::from_secs(60));
        let moved = waiting.await.unwrap().expect("woken by the move");
        assert!(!moved.has_changed().unwrap(), "one move, seen once");
        clock.advance(Duration::from_secs(1));
        assert!(moved.has_changed().unwrap(), "a move while it was busy is seen at its next wait");
    }

    #[test]
    fn advancing_moves_every_clone_and_both_kinds_of_time() {
        let clock = Clock::system();
        let other = clock.clone();
        let (wall, mono) = (clock.now(), clock.instant());
        other.advance(Duration::from_secs(3600));
        assert_eq!(clock.ahead(), Duration::from_secs(3600));
        assert!(clock.now() - wall >= chrono::Duration::seconds(3600));
        assert!(clock.instant().duration_since(mono) >= Duration::from_secs(3600));
        assert!(clock.timestamp() >= wall.timestamp() + 3600);
    }

    #[test]
    fn the_system_clock_is_not_ahead() {
        let before = Utc::now();
        let clock = Clock::system();
        assert_eq!(clock.ahead(), Duration::ZERO);
        assert!(clock.now() >= before && clock.now() <= Utc::now());
    }
}
