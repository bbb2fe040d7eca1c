//! Sign up, log in, log out, change password, and who is signed in.

use leptos::prelude::*;

use crate::model::account::AccountView;
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{auth::guard::SignedIn, domain::accounts as domain, AppState};

/// Creates an account and signs it in.
#[server(prefix = "/api", endpoint = "sign-up")]
pub async fn sign_up(
    email: String,
    username: String,
    password: String,
    password_confirm: String,
    /// The token of the invitation link the person came from, if any.
    invitation: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::auth::guard::current_session().await?;
    let client = super::client_addr_of_request().await;
    let joins = invitation.as_deref().is_some_and(|t| !t.trim().is_empty());
    let account = domain::sign_up_with(
        &state,
        domain::SignUp {
            email,
            username,
            password,
            password_confirm,
        },
        invitation,
        client,
    )
    .await?;
    SignedIn::start(&session, &account).await?;
    // Someone who signed up from an invitation lands on the workspaces they now belong to.
    leptos_axum::redirect(if joins { "/workspaces?joined=1" } else { "/" });
    Ok(())
}

/// Logs in with an email or username and a password.
#[server(prefix = "/api", endpoint = "log-in")]
pub async fn log_in(login: String, password: String) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::auth::guard::current_session().await?;
    let addr = super::client_addr_of_request().await;
    let account = domain::log_in(&state, &login, password, addr).await?;
    SignedIn::start(&session, &account).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Logs out: the session is deleted on the server and its cookie cleared.
#[server(prefix = "/api", endpoint = "log-out")]
pub async fn log_out() -> Result<(), AppError> {
    let session = crate::server::auth::guard::current_session().await?;
    SignedIn::end(&session).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Changes the signed-in person's password; every other session of theirs is signed out.
#[server(prefix = "/api", endpoint = "change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    let addr = super::client_addr_of_request().await;
    let account = domain::change_password(
        &state,
        &who,
        current_password,
        new_password,
        new_password_confirm,
        addr,
    )
    .await?;
    who.renew(&account).await?;
    leptos_axum::redirect("/account?password_changed=1");
    Ok(())
}

/// The signed-in person, or `None`.
#[server(prefix = "/api", endpoint = "current-account")]
pub async fn current_account() -> Result<Option<AccountView>, AppError> {
    Ok(SignedIn::optional().await?.map(|s| s.account.view()))
}
