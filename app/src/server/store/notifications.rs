//! Notifications in the console, with an unread count kept beside them.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::tables::{NOTIFICATIONS, NOTIFICATIONS_UNREAD};
use crate::model::approvals::NotificationView;
use crate::model::AppError;

/// How many notifications an account keeps; older ones are dropped as new ones arrive.
pub const KEEP: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub text: String,
    pub link: String,
    pub read: bool,
}

impl Notification {
    pub fn view(&self) -> NotificationView {
        NotificationView { id: self.id, at: self.at, text: self.text.clone(), link: self.link.clone(), read: self.read }
    }
}

fn bump(tx: &WriteTransaction, account: Uuid, delta: i64) -> Result<(), AppError> {
    let mut t = tx.open_table(NOTIFICATIONS_UNREAD)?;
    let n = t.get(account.as_u128())?.map(|v| v.value()).unwrap_or(0);
    let n = (n as i64 + delta).max(0) as u64;
    t.insert(account.as_u128(), n)?;
    Ok(())
}

/// Adds an unread notification for `account`, in the caller's transaction.
pub fn notify(tx: &WriteTransaction, account: Uuid, text: &str, link: &str) -> Result<(), AppError> {
    let n = Notification { id: Uuid::now_v7(), at: super::now(), text: text.into(), link: link.into(), read: false };
    let a = account.as_u128();
    let mut t = tx.open_table(NOTIFICATIONS)?;
    t.insert((a, n.id.as_u128()), encode(&n)?.as_slice())?;
    // Keep the newest KEEP: drop the oldest beyond that.
    let mut dropped_unread = 0i64;
    let count = t.range((a, 0)..=(a, u128::MAX))?.count();
    if count > KEEP {
        let old: Vec<(u128, bool)> = t
            .range((a, 0)..=(a, u128::MAX))?
            .take(count - KEEP)
            .map(|row| -> Result<(u128, bool), AppError> {
                let (k, v) = row?;
                Ok((k.value().1, decode::<Notification>(v.value())?.read))
            })
            .collect::<Result<_, _>>()?;
        for (id, read) in old {
            t.remove((a, id))?;
            if !read {
                dropped_unread += 1;
            }
        }
    }
    drop(t);
    bump(tx, account, 1 - dropped_unread)
}

/// How many of `account`'s notifications are unread.
pub fn unread(tx: &ReadTransaction, account: Uuid) -> Result<u64, AppError> {
    Ok(tx.open_table(NOTIFICATIONS_UNREAD)?.get(account.as_u128())?.map(|v| v.value()).unwrap_or(0))
}

/// `account`'s notifications, newest first; all are marked read (the person has opened them).
pub fn open_all(tx: &WriteTransaction, account: Uuid) -> Result<Vec<Notification>, AppError> {
    let a = account.as_u128();
    let mut t = tx.open_table(NOTIFICATIONS)?;
    let mut out: Vec<Notification> = t
        .range((a, 0)..=(a, u128::MAX))?
        .map(|row| -> Result<Notification, AppError> { decode(row?.1.value()) })
        .collect::<Result<_, _>>()?;
    for n in out.iter_mut().filter(|n| !n.read) {
        let mut marked = n.clone();
        marked.read = true;
        t.insert((a, n.id.as_u128()), encode(&marked)?.as_slice())?;
    }
    drop(t);
    tx.open_table(NOTIFICATIONS_UNREAD)?.insert(a, 0)?;
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    #[test]
    fn unread_counts_follow_notifications_and_opening_reads_them() {
        let store = Store::memory();
        let ann = Uuid::now_v7();
        store.write_blocking(|tx| notify(tx, ann, "first", "/a")).unwrap();
        store.write_blocking(|tx| notify(tx, ann, "second", "/b")).unwrap();
        assert_eq!(store.read_blocking(|tx| unread(tx, ann)).unwrap(), 2);
        let opened = store.write_blocking(|tx| open_all(tx, ann)).unwrap();
        assert_eq!(opened.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), ["second", "first"]);
        assert!(opened.iter().all(|n| !n.read), "shown as they were: unread");
        assert_eq!(store.read_blocking(|tx| unread(tx, ann)).unwrap(), 0);
        assert!(store.write_blocking(|tx| open_all(tx, ann)).unwrap().iter().all(|n| n.read));
    }

    #[test]
    fn only_the_newest_are_kept() {
        let store = Store::memory();
        let ann = Uuid::now_v7();
        store
            .write_blocking(|tx| {
                for i in 0..KEEP + 5 {
                    notify(tx, ann, &format!("n{i}"), "/")?;
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(store.read_blocking(|tx| unread(tx, ann)).unwrap(), KEEP as u64);
        let all = store.write_blocking(|tx| open_all(tx, ann)).unwrap();
        assert_eq!(all.len(), KEEP);
        assert_eq!(all[0].text, format!("n{}", KEEP + 4));
    }
}
