//! Sign-up, login, password change, and the first operator.

use std::net::IpAddr;

use chrono::Utc;
use uuid::Uuid;

use crate::model::account::{
    email_key, username_key, validate_email, validate_password_length, validate_username,
};
use crate::model::AppError;
use crate::server::auth::guard::SignedIn;
use crate::server::auth::password::{hash_blocking, validate_new_password};
use crate::server::store::accounts::{self, Account};
use crate::server::store::Store;
use crate::server::AppState;

/// What a person types to sign up.
pub struct SignUp {
    pub email: String,
    pub username: String,
    pub password: String,
    pub password_confirm: String,
}

/// Checks a sign-up form; returns (email, username) cleaned.
pub fn check_sign_up(input: &SignUp) -> Result<(String, String), AppError> {
    let email = validate_email("Email", &input.email)?;
    let username = validate_username(&input.username)?;
    validate_new_password("Password", &input.password)?;
    if input.password != input.password_confirm {
        return Err(AppError::invalid(
            "Confirm password",
            "must match the password",
        ));
    }
    Ok((email, username))
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
        created: Utc::now(),
        session_epoch: 0,
    }
}

pub async fn sign_up(state: &AppState, input: SignUp) -> Result<Account, AppError> {
    sign_up_with(state, input, None, None).await
}

/// Signs up and, with an invitation token from the link, joins that workspace in the same
/// transaction (the invitation's email must be the one signed up with).
pub async fn sign_up_with(
    state: &AppState,
    input: SignUp,
    invitation: Option<String>,
    client: Option<IpAddr>,
) -> Result<Account, AppError> {
    let (email, username) = check_sign_up(&input)?;
    // Refuse a taken email or username before spending a hash on it; the insert checks again.
    let (ekey, ukey) = (email_key(&email), username_key(&username));
    let taken = state
        .store
        .read(move |tx| {
            Ok((
                accounts::find_by_login(tx, &ekey)?.is_some(),
                accounts::find_by_login(tx, &ukey)?.is_some(),
            ))
        })
        .await?;
    match taken {
        (true, _) => {
            return Err(AppError::conflict(
                "Email",
                "is already registered to an account",
            ))
        }
        (_, true) => return Err(AppError::conflict("Username", "is already taken")),
        _ => {}
    }
    let hash = state.hasher.hash(input.password).await?;
    let account = new_account(email, username, hash, false);
    let stored = account.clone();
    state
        .store
        .write(move |tx| {
            accounts::insert(tx, &stored)?;
            // Representatives named before they had an account join their workspaces now.
            crate::server::store::workspaces::admit_pending(tx, stored.id, &stored.email)?;
            if let Some(token) = invitation.as_deref().filter(|t| !t.trim().is_empty()) {
                let actor = crate::server::store::audit::Actor {
                    id: Some(stored.id),
                    name: stored.username.clone(),
                    client: client.map(|c| c.to_string()),
                };
                crate::server::domain::members::accept_in(tx, token, &stored, &actor)?;
            }
            Ok(())
        })
        .await?;
    tracing::info!(account = %account.id, "account signed up");
    Ok(account)
}

/// Checks a login. Unknown account and wrong password give the same error after the same work.
pub async fn log_in(
    state: &AppState,
    login: &str,
    password: String,
    addr: Option<IpAddr>,
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
    let limiter_key = login.to_lowercase();
    state.limiter.check(&limiter_key, addr)?;
    let lookup = login.clone();
    let account = state
        .store
        .read(move |tx| accounts::find_by_login(tx, &lookup))
        .await?;
    let ok = state
        .hasher
        .verify(password, account.as_ref().map(|a| a.password_hash.clone()))
        .await?;
    match account {
        Some(account) if ok => {
            state.limiter.record_success(&limiter_key);
            tracing::info!(account = %account.id, "logged in");
            Ok(account)
        }
        _ => {
            state.limiter.record_failure(&limiter_key, addr);
            tracing::info!(client = ?addr, "failed login");
            Err(AppError::InvalidCredentials)
        }
    }
}

/// Changes the signed-in person's password and signs out every other session of theirs.
pub async fn change_password(
    state: &AppState,
    who: &SignedIn,
    current: String,
    new: String,
    confirm: String,
    addr: Option<IpAddr>,
) -> Result<Account, AppError> {
    if current.is_empty() {
        return Err(AppError::invalid("Current password", "is required"));
    }
    validate_password_length("Current password", &current)
        .map_err(|_| AppError::invalid("Current password", "is not correct"))?;
    validate_new_password("New password", &new)?;
    if new != confirm {
        return Err(AppError::invalid(
            "Confirm new password",
            "must match the new password",
        ));
    }
    if new == current {
        return Err(AppError::invalid(
            "New password",
            "must differ from the current password",
        ));
    }
    let limiter_key = who.account.email.to_lowercase();
    state.limiter.check(&limiter_key, addr)?;
    if !state
        .hasher
        .verify(current, Some(who.account.password_hash.clone()))
        .await?
    {
        state.limiter.record_failure(&limiter_key, addr);
        return Err(AppError::invalid("Current password", "is not correct"));
    }
    let hash = state.hasher.hash(new).await?;
    let id = who.account.id;
    let account = state
        .store
        .write(move |tx| {
            let mut account = accounts::get_for_update(tx, id)?.ok_or(AppError::Unauthenticated)?;
            account.password_hash = hash;
            account.session_epoch += 1;
            accounts::update(tx, &account)?;
            Ok(account)
        })
        .await?;
    tracing::info!(account = %account.id, "password changed; other sessions signed out");
    Ok(account)
}

/// `mpdp operator create`: a new account that is a platform operator.
pub fn create_operator_blocking(
    store: &Store,
    email: &str,
    username: &str,
    password: &str,
) -> Result<Account, AppError> {
    let input = SignUp {
        email: email.into(),
        username: username.into(),
        password: password.into(),
        password_confirm: password.into(),
    };
    let (email, username) = check_sign_up(&input)?;
    let account = new_account(email, username, hash_blocking(password)?, true);
    store.write_blocking(|tx| accounts::insert(tx, &account))?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Config;

    fn state() -> AppState {
        let mut config = Config::default();
        config.login_failures_per_account = 2;
        AppState::new(Store::memory(), config)
    }

    fn form(email: &str, username: &str, password: &str) -> SignUp {
        SignUp {
            email: email.into(),
            username: username.into(),
            password: password.into(),
            password_confirm: password.into(),
        }
    }

    #[tokio::test]
    async fn sign_up_then_log_in_by_email_or_username() {
        let s = state();
        let ann = sign_up(&s, form("Ann@Example.com", "ann", "blue harbour 42"))
            .await
            .unwrap();
        assert!(!ann.is_operator);
        let by_email = log_in(&s, "ann@example.com", "blue harbour 42".into(), None)
            .await
            .unwrap();
        let by_name = log_in(&s, "ANN", "blue harbour 42".into(), None)
            .await
            .unwrap();
        assert_eq!((by_email.id, by_name.id), (ann.id, ann.id));
    }

    #[tokio::test]
    async fn bad_sign_ups_name_the_field_and_store_nothing() {
        let s = state();
        let cases = [
            (form("nope", "ann", "blue harbour 42"), "Email"),
            (form("ann@example.com", "a", "blue harbour 42"), "Username"),
            (form("ann@example.com", "ann", "short"), "Password"),
            (form("ann@example.com", "ann", "password123"), "Password"),
            (form("ann@example.com", "ann", &"x".repeat(129)), "Password"),
            (
                SignUp {
                    email: "ann@example.com".into(),
                    username: "ann".into(),
                    password: "blue harbour 42".into(),
                    password_confirm: "blue harbour 43".into(),
                },
                "Confirm password",
            ),
        ];
        for (input, field) in cases {
            let e = sign_up(&s, input).await.unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
            assert_eq!(e.status(), 422);
        }
        assert_eq!(s.store.read(|tx| accounts::count(tx)).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn duplicates_are_conflicts() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"))
            .await
            .unwrap();
        let e = sign_up(&s, form("ANN@example.com", "ann2", "blue harbour 42"))
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Email")));
        let e = sign_up(&s, form("ann2@example.com", "Ann", "blue harbour 42"))
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Username")));
    }

    #[tokio::test]
    async fn unknown_user_and_wrong_password_look_the_same() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"))
            .await
            .unwrap();
        let wrong = log_in(&s, "ann", "blue harbour 43".into(), None)
            .await
            .unwrap_err();
        let unknown = log_in(&s, "bob", "blue harbour 42".into(), None)
            .await
            .unwrap_err();
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, AppError::InvalidCredentials);
    }

    #[tokio::test]
    async fn the_account_limit_applies_even_to_the_right_password() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"))
            .await
            .unwrap();
        for _ in 0..2 {
            log_in(&s, "ann", "wrong password".into(), None)
                .await
                .unwrap_err();
        }
        let e = log_in(&s, "ann", "blue harbour 42".into(), None)
            .await
            .unwrap_err();
        assert_eq!(e.status(), 429);
    }

    #[test]
    fn operator_creation_validates_and_refuses_duplicates() {
        let store = Store::memory();
        let op = create_operator_blocking(&store, "op@example.com", "operator", "steady lantern 7")
            .unwrap();
        assert!(op.is_operator);
        let e = create_operator_blocking(&store, "op@example.com", "operator2", "steady lantern 7")
            .unwrap_err();
        assert_eq!(e.field(), Some("Email"));
        let e = create_operator_blocking(&store, "op2@example.com", "operator2", "password")
            .unwrap_err();
        assert_eq!(e.field(), Some("Password"));
    }
}
