//! Accounts made and links read as a person would, for the tests.

use uuid::Uuid;

use super::{log_in, sign_up, verify_email, SignUp};
use crate::model::account::email_key;
use crate::model::AppError;
use crate::server::guard::SignedIn;
use crate::server::store::accounts::{self, Account};
use crate::server::store::{outbox, Store};
use crate::server::Config;
use crate::server::Context;

/// Test support: signs up `name@example.com` (password "amber otter 17") and signs in, the
/// address not yet verified.
pub async fn unverified_account(cx: &Context, name: &str) -> Account {
    sign_up(cx, form(&format!("{name}@example.com"), name, "amber otter 17"), None, None)
        .await
        .unwrap();
    log_in(cx, name, "amber otter 17".into(), None, None).await.unwrap()
}

/// Test support: signs up `name@example.com` and verifies it through the emailed link, as a
/// person would.
pub async fn verified_account(cx: &Context, name: &str) -> Account {
    let id = unverified_account(cx, name).await.id;
    let token = last_link_token(cx, &format!("{name}@example.com")).await;
    verify_email(cx, token, Some(id), None).await.unwrap()
}

/// Test support: the secret token of the newest mail to `to`.
pub async fn last_link_token(cx: &Context, to: &str) -> String {
    let to = to.to_string();
    cx
        .store
        .read(move |tx| {
            let t = tx.open_table(crate::server::store::tables::OUTBOX)?;
            use redb::ReadableTable;
            for row in t.iter()?.rev() {
                let m: outbox::OutboxMessage = crate::server::store::codec::decode(row?.1.value())?;
                if m.to.iter().any(|t| email_key(t) == email_key(&to)) {
                    if let Some(s) = m.secrets.first() {
                        return Ok(s.clone());
                    }
                }
            }
            Err(AppError::NotFound("no link mail".into()))
        })
        .await
        .unwrap()
}

pub(super) fn state() -> Context {
    let mut config = Config::default();
    config.login_failures_per_account = 2;
    Context::new(Store::memory(), config)
}

pub(crate) fn form(email: &str, username: &str, password: &str) -> SignUp {
    SignUp {
        email: email.into(),
        username: username.into(),
        password: password.into(),
        password_confirm: password.into(),
    }
}

pub(super) async fn count_accounts(s: &Context) -> u64 {
    s.store.read(|tx| accounts::count(tx)).await.unwrap()
}

/// Test support: `account` signed in on a new session.
pub fn signed_in(s: &Context, account: &Account) -> SignedIn {
    let session = tower_sessions::Session::new(
        None,
        std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())),
        None,
    );
    SignedIn::for_tests(account.clone(), session).signed_in_at(s.clock.timestamp())
}

/// Test support: asks for a password reset of `name@example.com`; the link's token.
pub(super) async fn reset_link(s: &Context, name: &str) -> String {
    let to = format!("{name}@example.com");
    super::request_password_reset(s, &to, None).await.unwrap();
    last_link_token(s, &to).await
}

/// Test support: the reset link `token` is refused (422 on the link) and changes nothing.
pub(super) async fn assert_reset_link_refused(s: &Context, account: Uuid, token: String) {
    let before = current(s, account).await;
    let e = super::reset_password(s, token, "taken over 123".into(), "taken over 123".into(), None)
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.field()), (422, Some("Reset link")), "{e}");
    assert_eq!(current(s, account).await, before, "a refused link changes nothing");
}

pub(super) async fn current(s: &Context, id: Uuid) -> Account {
    s.store.read(move |tx| accounts::get(tx, id)).await.unwrap().unwrap()
}
