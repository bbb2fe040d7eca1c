//! Accounts: sign-up with a proven email address, login under limits that hold, password change
//! and reset, email change, sessions, and the first operator.

pub mod access_tokens;
pub mod device;
mod email_change;
mod login;
mod operator;
mod password;
pub mod passkeys;
pub mod second_factor;
pub mod sso;
mod sessions;
mod sign_up;
#[cfg(test)]
mod test_support;

use std::net::IpAddr;

use uuid::Uuid;

use crate::model::AppError;
/// The account the use cases answer with (after a password change, or signing out everywhere).
pub use crate::server::store::accounts::Account;
use crate::server::auth::ratelimit::Throttle;
use crate::server::store::audit::Actor;
use crate::server::store::outbox;
use crate::server::store::tokens::{self, Purpose};
use crate::server::Context;

pub use email_change::request_email_change;
pub use login::log_in;
pub use operator::{create_operator_blocking, mark_verified};
pub use password::{change_password, request_password_reset, reset_password, RESET_HOURS};
pub use sessions::{live_sessions, record_sign_out, revoke_other_sessions, revoke_session, security_events};
pub use sign_up::{check_sign_up, resend_verification, sign_up, verify_email, SignUp};
#[cfg(test)]
pub use test_support::{last_link_token, signed_in, unverified_account, verified_account};

/// How long a verification link works.
pub const VERIFY_HOURS: i64 = 24;

/// A path inside the console to go to after verification (`/invitations/…`); anything else is
/// dropped.
pub use crate::model::local_path;

fn console(cx: &Context) -> String {
    cx.config.public_url.trim_end_matches('/').to_string()
}

fn who_acts(account: &Account, client: Option<IpAddr>) -> Actor {
    Actor {
        id: Some(account.id),
        name: account.username.clone(),
        client: client.map(|c| c.to_string()),
    }
}

/// What was removed from an account whose address someone proved while it was unverified.
#[derive(Debug, Default, PartialEq, Eq)]
struct Evicted {
    sessions: usize,
    passkeys: usize,
    second_factor: bool,
    tokens: usize,
    identities: usize,
}

impl Evicted {
    /// For the audit log: what the unproven holder lost.
    fn details(&self) -> String {
        format!(
            "what was set up before the address was proven was removed: {} session(s), {} passkey(s), {}, {} access token(s), {} single sign-on identit{}",
            self.sessions,
            self.passkeys,
            if self.second_factor { "the authenticator app" } else { "no authenticator app" },
            self.tokens,
            self.identities,
            if self.identities == 1 { "y" } else { "ies" },
        )
    }
}

/// Mails `to` (an account's own address, now or until now) a notice about the account, in the
/// write that caused it. Anyone may sign up with any address, so one never proven (`proven`
/// false) may be anyone's: it is told within its mailbox's budget only, else turning a setting on
/// and off would mail a stranger at will. A proven address hears of every change.
pub(super) fn tell_account(tx: &redb::WriteTransaction, mails: &Throttle, to: &str, proven: bool, subject: &str, body: &str) -> Result<(), AppError> {
    if proven || mails.check_mailbox(to).is_ok() {
        outbox::enqueue(tx, vec![to.to_string()], subject, body)?;
    }
    Ok(())
}

/// Anyone may sign up with any address, and an account that has not proven its address signs in
/// all the same. When someone proves the address (a password reset link, or a single sign-on
/// provider vouching for it), the account becomes theirs: every way in its unproven holder set up
/// goes — sessions, links in flight, passkeys, the authenticator app, personal access tokens and
/// linked single sign-on identities — in the same write. The caller sets the password and the
/// verified flag, and stores `account`.
fn evict_unproven_holder(tx: &redb::WriteTransaction, account: &mut Account, now: chrono::DateTime<chrono::Utc>) -> Result<Evicted, AppError> {
    use crate::server::store::{access_tokens, passkeys, second_factor, sessions, sso};
    account.session_epoch += 1;
    let mut gone = Evicted { sessions: sessions::revoke_all(tx, account.id, None)?, ..Evicted::default() };
    tokens::retire_credential_links(tx, account.id)?;
    for p in passkeys::of_account(tx, account.id)? {
        passkeys::remove(tx, account.id, p.id)?;
        gone.passkeys += 1;
    }
    account.passkeys = 0;
    gone.second_factor = second_factor::remove(tx, account.id)? || account.second_factor.is_some();
    account.second_factor = None;
    for (hash, mut t) in access_tokens::of_account(tx, account.id)? {
        if t.revoked.is_none() {
            t.revoked = Some(now);
            access_tokens::update(tx, &hash, &t)?;
            gone.tokens += 1;
        }
    }
    gone.identities = sso::unlink_account(tx, account.id)?;
    Ok(gone)
}

/// Queues the verification mail for `email` (the account's address, or the one it moves to).
fn send_verification(
    tx: &redb::WriteTransaction,
    console: &str,
    account: &Account,
    email: &str,
    purpose: Purpose,
    next: Option<&str>,
) -> Result<(), AppError> {
    let token = tokens::issue(tx, account.id, purpose, email, chrono::Duration::hours(VERIFY_HOURS))?;
    let mut link = format!("{console}/verify-email/{token}");
    if let Some(next) = next {
        link.push_str(&format!("?next={}", crate::model::url_encode(next)));
    }
    let name = &account.username;
    let (subject, intro) = match purpose {
        Purpose::ChangeEmail => (
            "Confirm your new MPDP email address",
            format!("The MPDP account \"{name}\" asked to use {email} as its address."),
        ),
        _ => (
            "Verify your MPDP email address",
            format!("Someone — we hope you — created the MPDP account \"{name}\" with {email}."),
        ),
    };
    let body = format!(
        "{intro}\n\nTo confirm the address, log in as {name} and open: {link}\n\n\
         The link works once, for {VERIFY_HOURS} hours. Until the address is verified, no \
         workspace admits the account.\n\n\
         If you did not create the account \"{name}\", do not verify it. The address is yours, \
         so you can take the account over by resetting its password: {console}/forgot-password\n"
    );
    outbox::enqueue_with_secret(tx, vec![email.to_string()], subject, &body, Some(&token))?;
    Ok(())
}

fn new_account(
    email: String,
    username: String,
    password_hash: String,
    is_operator: bool,
) -> Account {
    Account {
        id: Uuid::new_v4(),
        email,
        username,
        password_hash,
        is_operator,
        created: crate::server::store::now(),
        session_epoch: 0,
        email_verified: is_operator,
        second_factor: None,
        passkeys: 0,
    }
}
