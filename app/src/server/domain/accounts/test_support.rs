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

/// Test support: the body of the newest mail to `to`.
pub(super) async fn last_mail_body(cx: &Context, to: &str) -> String {
    let to = to.to_string();
    cx.store
        .read(move |tx| {
            let t = tx.open_table(crate::server::store::tables::OUTBOX)?;
            use redb::ReadableTable;
            for row in t.iter()?.rev() {
                let m: outbox::OutboxMessage = crate::server::store::codec::decode(row?.1.value())?;
                if m.to.iter().any(|t| email_key(t) == email_key(&to)) {
                    return Ok(m.body);
                }
            }
            Err(AppError::NotFound("no mail".into()))
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

/// Test support: gives `account` one of each way in that outlives a session — a passkey, the
/// authenticator app, a personal access token and a single sign-on identity (`idp`/`sub-1`) — as
/// its holder could have set up; the token's hash.
pub(super) async fn plant_ways_in(cx: &Context, account: uuid::Uuid) -> String {
    use crate::server::store::{access_tokens, passkeys, second_factor, sso};
    let now = cx.clock.now();
    cx.store
        .write(move |tx| {
            passkeys::put(tx, account, &passkeys::StoredPasskey { id: uuid::Uuid::now_v7(), name: "Laptop".into(), credential: serde_json::json!({}), created: now, last_used: None })?;
            second_factor::put(tx, account, &second_factor::SecondFactor { totp: None, pending: None, recovery: vec![], failures: 0, failing_since: None })?;
            let token = access_tokens::AccessToken { id: uuid::Uuid::now_v7(), account, name: "ci".into(), workspace: uuid::Uuid::now_v7(), workspace_name: "Acme".into(), scopes: vec![], created: now, expires: now + chrono::Duration::days(30), last_used: None, revoked: None, signed_in_with: None };
            access_tokens::insert(tx, "planted", &token)?;
            sso::link(tx, "idp", "sub-1", account)?;
            let mut a = accounts::get(tx, account)?.unwrap();
            a.passkeys = 1;
            a.second_factor = Some(now);
            accounts::update(tx, &a)
        })
        .await
        .unwrap();
    "planted".into()
}

/// Test support: the ways in `account` still has — (passkeys, authenticator app, live tokens,
/// linked identity `idp`/`sub-1`).
pub(super) async fn ways_in(cx: &Context, account: uuid::Uuid) -> (usize, bool, usize, bool) {
    use crate::server::store::{access_tokens, passkeys, second_factor, sso};
    let now = cx.clock.now();
    cx.store
        .read(move |tx| {
            let a = accounts::get(tx, account)?.unwrap();
            let keys = passkeys::of_account(tx, account)?.len();
            assert_eq!(keys, a.passkeys as usize, "the count kept on the account agrees");
            let app = second_factor::get(tx, account)?.is_some();
            assert_eq!(app, a.second_factor.is_some(), "the flag kept on the account agrees");
            let live = access_tokens::of_account(tx, account)?.iter().filter(|(_, t)| t.live(now)).count();
            Ok((keys, app, live, sso::identity(tx, "idp", "sub-1")? == Some(account)))
        })
        .await
        .unwrap()
}
