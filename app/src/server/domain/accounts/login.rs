//! Log-in under limits that hold, and that answer alike whether or not an account exists.

use std::net::IpAddr;

use uuid::Uuid;

use super::who_acts;
use crate::model::account::{email_key, username_key};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::auth::ratelimit::Subject;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit::{self, Actor};
use crate::server::Context;

/// Checks a login's password. For an account with a second factor this is only the first step:
/// the caller asks for the code next, and nothing is granted yet. Unknown account and wrong password give the same error after the same work —
/// a password check and one recorded failure either way. The attempt is counted before the
/// password is checked (see `ratelimit`); `device` is the (account, session epoch, device id) of
/// the browser's known-device cookie, if genuine.
pub async fn log_in(
    cx: &Context,
    login: &str,
    password: String,
    addr: Option<IpAddr>,
    device: Option<(Uuid, u64, String)>,
) -> Result<Account, AppError> {
    let login = login.trim().to_string();
    if login.is_empty() {
        return Err(AppError::invalid("Email or username", "is required"));
    }
    if password.is_empty() {
        return Err(AppError::invalid("Password", "is required"));
    }
    if login.chars().count() > 254 || password.chars().count() > crate::model::account::PASSWORD_MAX
    {
        return Err(AppError::InvalidCredentials);
    }
    let lookup = login.clone();
    let account = cx
        .store
        .read(move |tx| accounts::find_by_login(tx, &lookup))
        .await?;
    let spelling = if login.contains('@') { email_key(&login) } else { username_key(&login) };
    // A device cookie counts only for its account, and only if issued at its current session epoch.
    let subject = match (&account, device) {
        (Some(a), Some((known, epoch, device))) if known == a.id && epoch == a.session_epoch => {
            Subject::KnownDevice { account: a.id.to_string(), device }
        }
        (a, _) => Subject::Login { spelling, account: a.as_ref().map(|a| a.id.to_string()) },
    };
    let attempt = cx.limiter.reserve(&subject, addr)?;
    let checked = account.as_ref().filter(|_| !attempt.account_spent());
    let ok = cx
        .hasher
        .verify(password, checked.map(|a| a.password_hash.clone()))
        .await?;
    if let (Some(account), true) = (&account, ok) {
        cx.limiter.succeeded(attempt);
        if account.has_second_factor() {
            // Only half a login: the sign-in is recorded once the second factor is given
            // (`second_factor::complete_login`).
            tracing::info!(account = %account.id, "password accepted, second factor asked");
            return Ok(account.clone());
        }
        let (id, actor) = (account.id, who_acts(account, addr));
        let known = matches!(subject, Subject::KnownDevice { .. });
        cx
            .store
            .write(move |tx| {
                audit::record_security(tx, &actor, id, AuditAction::AccountSignedIn, &actor.name, if known { "from a known browser" } else { "" })
            })
            .await?;
        tracing::info!(account = %account.id, "logged in");
        return Ok(account.clone());
    }
    // The failure is recorded whether or not the login names an account: the same durable write
    // either way, so the time of the answer does not tell them apart.
    let spent = attempt.account_spent();
    cx
        .store
        .write(move |tx| match &account {
            Some(a) => {
                let why = if spent { "refused unchecked: too many failed logins for this account" } else { "wrong password" };
                audit::record_security(tx, &who_acts(a, addr), a.id, AuditAction::AccountSignInFailed, &a.username, why)
            }
            None => {
                let actor = Actor { id: None, name: login.clone(), client: addr.map(|c| c.to_string()) };
                audit::record(tx, &actor, None, AuditAction::AccountSignInFailed, &login, "no such account")
            }
        })
        .await?;
    tracing::info!(client = ?addr, "failed login");
    Err(AppError::InvalidCredentials)
}

#[cfg(test)]
mod tests {
    use crate::server::store::listing::Window;
    use super::*;
    use super::super::test_support::{state, unverified_account};

    #[tokio::test]
    async fn unknown_user_and_wrong_password_look_the_same() {
        let s = state();
        unverified_account(&s, "ann").await;
        let wrong = log_in(&s, "ann", "amber otter 18".into(), None, None).await.unwrap_err();
        let unknown = log_in(&s, "bob", "amber otter 17".into(), None, None).await.unwrap_err();
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, AppError::InvalidCredentials);
    }

    #[tokio::test]
    async fn username_and_email_share_one_budget_quietly_and_a_known_device_has_its_own() {
        let s = state();
        unverified_account(&s, "ann").await;
        let ann = log_in(&s, "ann", "amber otter 17".into(), None, None).await.unwrap();
        log_in(&s, "ann", "wrong password".into(), None, None).await.unwrap_err();
        log_in(&s, "ann@example.com", "wrong password".into(), None, None).await.unwrap_err();
        // The email's failure spent the account's budget for the username too: even the right
        // password is not checked — and is answered as a wrong one, not 429, which would tell
        // that both spellings name one account.
        let e = log_in(&s, "ann", "amber otter 17".into(), None, None).await.unwrap_err();
        assert_eq!(e, AppError::InvalidCredentials);
        // A device cookie from another session epoch (before a password change) counts for
        // nothing; the current one has its own budget.
        let stale = Some((ann.id, ann.session_epoch + 1, "0".repeat(32)));
        assert!(log_in(&s, "ann", "amber otter 17".into(), None, stale).await.is_err());
        let device = Some((ann.id, ann.session_epoch, "0".repeat(32)));
        log_in(&s, "ann", "amber otter 17".into(), None, device).await.unwrap();
    }

    #[tokio::test]
    async fn the_answer_to_a_login_does_not_tell_whether_another_spelling_names_the_same_account() {
        let s = state();
        unverified_account(&s, "bob").await;
        // The same story for a linked pair (bob's email, then his username) and for two logins
        // naming nobody: two failures on the first spelling, then the second is tried.
        let mut answers = Vec::new();
        for (first, second) in [("bob@example.com", "bob"), ("carol@example.com", "carol")] {
            for _ in 0..2 {
                log_in(&s, first, "wrong password".into(), None, None).await.unwrap_err();
            }
            let mut seen = Vec::new();
            for _ in 0..3 {
                seen.push(log_in(&s, second, "wrong password".into(), None, None).await.unwrap_err().status());
            }
            answers.push(seen);
        }
        assert_eq!(answers[0], vec![401, 401, 429]);
        assert_eq!(answers[0], answers[1]);
    }

    #[tokio::test]
    async fn a_failed_login_is_recorded_alike_whether_or_not_the_account_exists() {
        let s = state();
        unverified_account(&s, "ann").await;
        let failures = |s: Context| async move {
            s.store
                .read(|tx| audit::list(tx, None, "account.sign_in_failed", "", &Window::first(audit::LIST, 10)))
                .await
                .unwrap()
                .page.items
                .into_iter()
                .map(|e| e.target)
                .collect::<Vec<_>>()
        };
        assert!(failures(s.clone()).await.is_empty());
        log_in(&s, "ann", "wrong password".into(), None, None).await.unwrap_err();
        log_in(&s, "nobody", "wrong password".into(), None, None).await.unwrap_err();
        assert_eq!(failures(s.clone()).await, vec!["nobody", "ann"]);
    }
}
