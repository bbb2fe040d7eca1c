//! What a commit changes outside the data file, and who is told.
//!
//! The store functions that write what has consequences elsewhere say so in the transaction
//! ([`caused`]): a write to what the container API serves (releases, keys, platform keys, mini
//! programs, icons, workspaces) causes [`Effect::Served`]; a message put in the mail
//! outbox causes [`Effect::Mail`]; a webhook delivery queued, [`Effect::Webhook`].
//! [`super::Store::write`] collects them while its closure runs,
//! commits, waits until the commit is on disk, and only then hands them to the one
//! [`Dispatcher`] the server registered ([`super::Store::on_commit`]), awaiting it before the use
//! case returns — so a request that released a version answers after the container API serves
//! it. A use case that fails causes nothing; no use case refreshes a cache or wakes a worker by
//! hand, and a store function that writes served data cannot forget to say so, because saying so
//! is part of the function.
//!
//! The transaction's effects are gathered on the thread that runs it (a write transaction never
//! leaves the blocking thread that began it, and one thread runs one at a time). Outside
//! [`collect`] — in a unit test on a bare database — [`caused`] is a no-op.

use std::cell::Cell;
use std::sync::Arc;

use futures::future::BoxFuture;

/// One consequence of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// What the container API serves changed: its snapshot must be rebuilt.
    Served,
    /// A message was queued in the outbox: the mail worker should look now.
    Mail,
    /// A webhook delivery was queued: the webhook worker should look now.
    Webhook,
    /// A refused sign-in was recorded: counted in the metrics (by the store, once committed).
    SignInFailed,
}

/// The consequences of one commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Effects {
    pub served: bool,
    pub mail: bool,
    pub sign_in_failed: bool,
    pub webhook: bool,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }

    fn add(mut self, effect: Effect) -> Effects {
        match effect {
            Effect::Served => self.served = true,
            Effect::Mail => self.mail = true,
            Effect::SignInFailed => self.sign_in_failed = true,
            Effect::Webhook => self.webhook = true,
        }
        self
    }
}

/// Applies a commit's effects; registered once by the server (see [`super::Store::on_commit`]).
/// It is given the store, to read what changed.
pub type Dispatcher = Arc<dyn Fn(super::Store, Effects) -> BoxFuture<'static, ()> + Send + Sync>;

thread_local! {
    /// The effects of the write transaction running on this thread, if one is collecting.
    static COLLECTING: Cell<Option<Effects>> = const { Cell::new(None) };
}

/// Records that the write transaction running on this thread causes `effect` if it commits.
pub fn caused(effect: Effect) {
    COLLECTING.with(|c| {
        if let Some(effects) = c.get() {
            c.set(Some(effects.add(effect)));
        }
    });
}

/// What the write transaction running on this thread has caused so far.
pub(super) fn so_far() -> Effects {
    COLLECTING.with(|c| c.get()).unwrap_or_default()
}

/// Runs `f` (one write transaction, from begin to commit or abort) and returns what it caused.
pub(super) fn collect<T>(f: impl FnOnce() -> T) -> (T, Effects) {
    struct Reset(Option<Effects>);
    impl Drop for Reset {
        fn drop(&mut self) {
            COLLECTING.with(|c| c.set(self.0));
        }
    }
    let outer = COLLECTING.with(|c| c.replace(Some(Effects::default())));
    let reset = Reset(outer);
    let value = f();
    let effects = COLLECTING.with(|c| c.get()).unwrap_or_default();
    drop(reset);
    (value, effects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_are_collected_per_transaction_and_nowhere_else() {
        caused(Effect::Mail); // no transaction collecting: nothing happens
        let ((), e) = collect(|| caused(Effect::Served));
        assert_eq!(e, Effects { served: true, ..Effects::default() });
        let ((), e) = collect(|| {
            caused(Effect::Mail);
            caused(Effect::Mail);
        });
        assert_eq!(e, Effects { mail: true, ..Effects::default() });
        let ((), e) = collect(|| {});
        assert!(e.is_empty());
        // A panic inside leaves the thread as it was.
        let _ = std::panic::catch_unwind(|| collect(|| -> () { panic!("a failed transaction") }));
        let ((), e) = collect(|| {});
        assert!(e.is_empty());
    }
}
