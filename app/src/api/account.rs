//! Accounts: sign up, verify the email address, log in and out, change or reset the password,
//! change the email address, see and end sessions, see one's security events.

use leptos::prelude::*;

use crate::model::page::Position;
use crate::model::account::{AccessTokenView, AccountView, SecondFactorView, SessionView};
use crate::model::workspace::{AuditEventView, Page};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::{guard::SignedIn, domain::accounts as domain, state::AppState};

#[cfg(feature = "ssr")]
async fn request_headers() -> http::HeaderMap {
    leptos_axum::extract::<http::HeaderMap>().await.unwrap_or_default()
}

#[cfg(feature = "ssr")]
use super::{me_acting, me_undoing};

/// Creates an account and mails a link to prove the address. The answer is the same whether or
/// not the email is already registered, and nobody is signed in.
#[server(prefix = "/api", endpoint = "sign-up")]
pub async fn sign_up(
    email: String,
    username: String,
    password: String,
    password_confirm: String,
    /// Where to go once the address is verified (an invitation link), if anywhere.
    next: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let client = super::client_addr_of_request().await;
    let shown = email.trim().to_string();
    domain::sign_up(
        &state,
        domain::SignUp {
            email,
            username,
            password,
            password_confirm,
        },
        next,
        client,
    )
    .await?;
    super::done(&format!("/sign-up?sent={}", super::query_escape(&shown)))
}

/// Proves an email address with the token from its link (sent at sign-up or for an email
/// change), for the signed-in account the link belongs to. Then goes to `next` (a path in this
/// console) or home.
#[server(prefix = "/api", endpoint = "verify-email")]
pub async fn verify_email(token: String, next: Option<String>) -> Result<(), AppError> {
    let state = AppState::current()?;
    let client = super::client_addr_of_request().await;
    let who = SignedIn::optional().await?.map(|w| w.account().id);
    domain::verify_email(&state, token, who, client).await?;
    let to = domain::local_path(next.as_deref()).unwrap_or_else(|| "/?verified=1".into());
    super::done(&to)
}

/// Sends the signed-in person a new verification link.
#[server(prefix = "/api", endpoint = "resend-verification")]
pub async fn resend_verification() -> Result<String, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    let client = super::client_addr_of_request().await;
    let to = domain::resend_verification(&state, &who, client).await?;
    leptos_axum::redirect("/account?verification_sent=1");
    Ok(to)
}

/// Logs in with an email or username and a password. A browser that logs in successfully becomes
/// a known device of the account (its own failure budget; see the security notes).
#[server(prefix = "/api", endpoint = "log-in")]
pub async fn log_in(
    login: String,
    password: String,
    /// Where to go afterwards: a path in this console (anything else goes home).
    next: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let addr = super::client_addr_of_request().await;
    let headers = request_headers().await;
    let device = state.devices.read(&headers);
    let account = domain::log_in(&state, &login, password, addr, device.clone()).await?;
    if account.has_second_factor() {
        SignedIn::begin_second_step(&state.clock, &session, &account).await?;
        let mut to = "/login/code".to_string();
        if let Some(next) = crate::model::local_path(next.as_deref()) {
            to.push_str(&format!("?next={}", super::query_escape(&next)));
        }
        return super::done(&to);
    }
    let method = crate::model::account::SignInMethod::Password;
    signed_in_now(&state, &session, &account, device, method, next, None).await
}

/// The single sign-on providers the login page offers.
#[server(prefix = "/api", endpoint = "sign-in-providers")]
pub async fn sign_in_providers() -> Result<Vec<crate::model::account::SsoButton>, AppError> {
    crate::server::domain::accounts::sso::buttons(&crate::server::Context::current()?).await
}

/// The second step of a login: a code from the authenticator app, or a recovery code, after the
/// right password in this browser (less than five minutes ago).
#[server(prefix = "/api", endpoint = "log-in-code")]
pub async fn log_in_code(
    code: String,
    /// Where to go afterwards: a path in this console (anything else goes home).
    next: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let Some((account, epoch)) = SignedIn::second_step(&state.clock, &session).await? else {
        return Err(AppError::Unauthenticated);
    };
    let after = SignedIn::second_step_after(&session, account).await;
    let addr = super::client_addr_of_request().await;
    let device = state.devices.read(&request_headers().await);
    // A browser that signed in to the account before, at its current epoch, has a budget of
    // wrong codes of its own (as at the password step).
    let known = device.as_ref().filter(|(a, e, _)| *a == account && *e == epoch).map(|(_, _, d)| d.clone());
    let (account, method) = domain::second_factor::complete_login(&state, account, epoch, code, addr, &first_step(&after), known).await?;
    signed_in_now(&state, &session, &account, device, method, next, after).await
}

/// The login waiting for its second factor in this browser: the account's username, and what
/// the step may be answered with (an authenticator code, a passkey), if any.
#[server(prefix = "/api", endpoint = "login-in-progress")]
pub async fn login_in_progress() -> Result<Option<crate::model::account::SecondStepView>, AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let Some((id, _)) = SignedIn::second_step(&state.clock, &session).await? else {
        return Ok(None);
    };
    let account = state.store.read(move |tx| crate::server::store::accounts::get(tx, id)).await?;
    Ok(account.map(|a| crate::model::account::SecondStepView { code: a.second_factor.is_some(), passkey: a.passkeys > 0, username: a.username }))
}

/// The signed-in person's passkeys.
#[server(prefix = "/api", endpoint = "my-passkeys")]
pub async fn my_passkeys() -> Result<Vec<crate::model::account::PasskeyView>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::passkeys::list(&state, &who).await
}

/// Begins adding a passkey named `name`: the options for `navigator.credentials.create()`, as
/// JSON. The browser's answer goes to `finish-passkey` within five minutes.
#[server(prefix = "/api", endpoint = "begin-passkey")]
pub async fn begin_passkey(name: String) -> Result<String, AppError> {
    let (state, who, _) = me_acting().await?;
    let (ceremony, options) = domain::passkeys::begin_registration(&state, &who, &name).await?;
    SignedIn::keep_ceremony(who.session(), &ceremony).await?;
    Ok(options)
}

/// Adds the passkey the browser made (`credential` is its `toJSON()`).
#[server(prefix = "/api", endpoint = "finish-passkey")]
pub async fn finish_passkey(credential: String) -> Result<crate::model::account::PasskeyView, AppError> {
    let (state, who, client) = me_acting().await?;
    let ceremony = SignedIn::ceremony(who.session()).await?;
    domain::passkeys::finish_registration(&state, &who, ceremony, &credential, client).await
}

/// Renames one of the signed-in person's passkeys.
#[server(prefix = "/api", endpoint = "rename-passkey")]
pub async fn rename_passkey(id: uuid::Uuid, name: String) -> Result<(), AppError> {
    let (state, who, _) = me_acting().await?;
    domain::passkeys::rename(&state, &who, id, &name).await?;
    super::done("/account?passkey_renamed=1#passkeys")
}

/// Deletes one of the signed-in person's passkeys.
#[server(prefix = "/api", endpoint = "delete-passkey")]
pub async fn delete_passkey(id: uuid::Uuid) -> Result<(), AppError> {
    let (state, who, client) = me_undoing().await?;
    domain::passkeys::delete(&state, &who, id, client).await?;
    super::done("/account?passkey_deleted=1#passkeys")
}

/// Begins a sign-in with a passkey alone: the options for `navigator.credentials.get()`.
#[server(prefix = "/api", endpoint = "begin-passkey-sign-in")]
pub async fn begin_passkey_sign_in() -> Result<String, AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let addr = super::client_addr_of_request().await;
    let (ceremony, options) = domain::passkeys::begin_sign_in(&state, addr).await?;
    SignedIn::keep_ceremony(&session, &ceremony).await?;
    Ok(options)
}

/// Signs in with the passkey that answered (`credential` is the browser's `toJSON()`).
#[server(prefix = "/api", endpoint = "finish-passkey-sign-in")]
pub async fn finish_passkey_sign_in(
    credential: String,
    /// Where to go afterwards: a path in this console (anything else goes home).
    next: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let ceremony = SignedIn::ceremony(&session).await?;
    let addr = super::client_addr_of_request().await;
    let (account, method) = domain::passkeys::finish_sign_in(&state, ceremony, &credential, addr).await?;
    let device = state.devices.read(&request_headers().await);
    signed_in_now(&state, &session, &account, device, method, next, None).await
}

/// Begins the second step of a login with one of the account's passkeys.
#[server(prefix = "/api", endpoint = "begin-passkey-second-step")]
pub async fn begin_passkey_second_step() -> Result<String, AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let Some((account, _)) = SignedIn::second_step(&state.clock, &session).await? else {
        return Err(AppError::Unauthenticated);
    };
    let (ceremony, options) = domain::passkeys::begin_second_step(&state, account).await?;
    SignedIn::keep_ceremony(&session, &ceremony).await?;
    Ok(options)
}

/// The second step of a login with a passkey, after the right password in this browser.
#[server(prefix = "/api", endpoint = "finish-passkey-second-step")]
pub async fn finish_passkey_second_step(
    credential: String,
    /// Where to go afterwards: a path in this console (anything else goes home).
    next: Option<String>,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let session = crate::server::guard::current_session().await?;
    let Some((account, epoch)) = SignedIn::second_step(&state.clock, &session).await? else {
        return Err(AppError::Unauthenticated);
    };
    let ceremony = SignedIn::ceremony(&session).await?;
    let after = SignedIn::second_step_after(&session, account).await;
    let addr = super::client_addr_of_request().await;
    let (account, method) = domain::passkeys::finish_second_step(&state, ceremony, account, epoch, &credential, addr, &first_step(&after)).await?;
    let device = state.devices.read(&request_headers().await);
    signed_in_now(&state, &session, &account, device, method, next, after).await
}

/// How the first step of a login waiting for its second one was passed, in the audit log's
/// words: the password, or at the single sign-on provider (id, label) it began at.
#[cfg(feature = "ssr")]
fn first_step(after: &Option<(String, String)>) -> String {
    match after {
        Some((_, label)) => format!("single sign-on ({label})"),
        None => "password".into(),
    }
}

/// Starts the signed-in session of a login that passed every step, makes this browser a known
/// device, and goes on to `next`. A login whose first step was at a single sign-on provider
/// (`after`: its id and label) counts as signed in with it.
#[cfg(feature = "ssr")]
async fn signed_in_now(
    state: &AppState,
    session: &tower_sessions::Session,
    account: &domain::Account,
    device: Option<(uuid::Uuid, u64, String)>,
    method: crate::model::account::SignInMethod,
    next: Option<String>,
    after: Option<(String, String)>,
) -> Result<(), AppError> {
    let addr = super::client_addr_of_request().await;
    let agent = request_headers()
        .await
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    SignedIn::start(&state.clock, session, account, addr, agent, method).await?;
    if let (Some((provider, label)), Some(second)) = (after, method.second_factor()) {
        SignedIn::signed_in_with_provider_and(session, &provider, &label, second).await?;
    }
    let keep = device
        .filter(|(a, epoch, _)| *a == account.id && *epoch == account.session_epoch)
        .map(|(_, _, d)| d);
    make_known(state, account, keep);
    super::done(&crate::model::local_path(next.as_deref()).unwrap_or_else(|| "/".into()))
}

/// The sign-in of the command line that `code` (the user code it shows) names, for the signed-in
/// person to approve or deny.
#[server(prefix = "/api", endpoint = "device-request")]
pub async fn device_request(code: String) -> Result<crate::model::account::DeviceRequestView, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::device::request(&state, &who, &code).await
}

/// Approves the command line's sign-in: when it next asks, it gets a personal access token with
/// these terms.
#[server(prefix = "/api", endpoint = "approve-device")]
pub async fn approve_device(
    code: String,
    name: String,
    workspace: String,
    #[server(default)] scopes: Vec<String>,
    days: String,
) -> Result<(), AppError> {
    let (state, who, _) = me_acting().await?;
    let form = domain::access_tokens::TokenForm { name, workspace, scopes, days };
    domain::device::decide(&state, &who, &code, Some(form)).await?;
    super::done("/device?approved=1")
}

/// Denies the command line's sign-in: it gets no token.
#[server(prefix = "/api", endpoint = "deny-device")]
pub async fn deny_device(code: String) -> Result<(), AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::device::decide(&state, &who, &code, None).await?;
    super::done("/device?denied=1")
}

/// Keeps secrets just made for this session's next page to show once (see `store::shown_once`).
#[cfg(feature = "ssr")]
async fn show_once(state: &AppState, who: &SignedIn, kind: crate::server::store::shown_once::Kind, values: Vec<String>) -> Result<(), AppError> {
    let Some(id) = who.session().id() else {
        return Ok(());
    };
    let (handle, sealed) = (crate::server::store::sessions::handle(&id), crate::server::store::shown_once::seal(&id.to_string(), &values)?);
    let now = state.clock.timestamp();
    state.store.write(move |tx| crate::server::store::shown_once::put(tx, handle, kind, sealed, now)).await
}

/// Takes what waits to be shown once to this session. A page another site opened (a link, or a
/// window it opened just after the secret was made) takes nothing: it would use the secret up
/// before the person saw it.
#[cfg(feature = "ssr")]
async fn shown_once(state: &AppState, who: &SignedIn, kind: crate::server::store::shown_once::Kind) -> Result<Vec<String>, AppError> {
    let Some(id) = who.session().id() else {
        return Ok(Vec::new());
    };
    if super::from_another_site().await {
        return Ok(Vec::new());
    }
    let handle = crate::server::store::sessions::handle(&id);
    let now = state.clock.timestamp();
    let sealed = state.store.write(move |tx| crate::server::store::shown_once::take(tx, handle, kind, now)).await?;
    Ok(sealed.map(|s| crate::server::store::shown_once::open(&id.to_string(), &s)).unwrap_or_default())
}

/// The signed-in person's personal access tokens, newest first.
#[server(prefix = "/api", endpoint = "my-access-tokens")]
pub async fn my_access_tokens() -> Result<Vec<AccessTokenView>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::access_tokens::list(&state, &who).await
}

/// The personal access token the signed-in person made just now, once: asked again, `None`.
#[server(prefix = "/api", endpoint = "new-access-token")]
pub async fn new_access_token() -> Result<Option<String>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    Ok(shown_once(&state, &who, crate::server::store::shown_once::Kind::AccessToken).await?.pop())
}

/// Makes a personal access token for one workspace, with scopes and an expiry; the token is
/// shown once on the account page.
#[server(prefix = "/api", endpoint = "create-access-token")]
pub async fn create_access_token(
    name: String,
    workspace: String,
    #[server(default)] scopes: Vec<String>,
    days: String,
) -> Result<(), AppError> {
    let (state, who, addr) = me_acting().await?;
    let form = domain::access_tokens::TokenForm { name, workspace, scopes, days };
    let made = domain::access_tokens::create(&state, &who, form, addr).await?;
    show_once(&state, &who, crate::server::store::shown_once::Kind::AccessToken, vec![made.token]).await?;
    super::done("/account?token_created=1#tokens")
}

/// Revokes one of the signed-in person's tokens: it stops working at once.
#[server(prefix = "/api", endpoint = "revoke-access-token")]
pub async fn revoke_access_token(id: uuid::Uuid) -> Result<(), AppError> {
    let (state, who, addr) = me_undoing().await?;
    domain::access_tokens::revoke(&state, &who, id, addr).await?;
    super::done("/account?token_revoked=1#tokens")
}

/// The signed-in person's second factor: on or off, recovery codes left, an enrolment under way,
/// and recovery codes just made (shown this once).
#[server(prefix = "/api", endpoint = "my-second-factor")]
pub async fn my_second_factor() -> Result<SecondFactorView, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    let fresh = shown_once(&state, &who, crate::server::store::shown_once::Kind::RecoveryCodes).await?;
    domain::second_factor::status(&state, &who, fresh).await
}

/// Begins two-factor authentication: a new secret for an authenticator app, shown as a QR code.
#[server(prefix = "/api", endpoint = "begin-second-factor")]
pub async fn begin_second_factor() -> Result<(), AppError> {
    let (state, who, _) = me_acting().await?;
    domain::second_factor::begin(&state, &who).await?;
    super::done("/account#two-factor")
}

/// Turns two-factor authentication on with a code from the app; the recovery codes are shown
/// once on the account page.
#[server(prefix = "/api", endpoint = "confirm-second-factor")]
pub async fn confirm_second_factor(code: String) -> Result<(), AppError> {
    let (state, who, addr) = me_acting().await?;
    let keep = own_device(&state, &who).await;
    let (codes, account) = domain::second_factor::confirm(&state, &who, &code, addr).await?;
    who.stay_at(&account).await?;
    make_known(&state, &account, keep);
    show_once(&state, &who, crate::server::store::shown_once::Kind::RecoveryCodes, codes).await?;
    super::done("/account?second_factor_on=1#two-factor")
}

/// Turns two-factor authentication off, with a current code or a recovery code.
#[server(prefix = "/api", endpoint = "disable-second-factor")]
pub async fn disable_second_factor(code: String) -> Result<(), AppError> {
    let (state, who, addr) = me_undoing().await?;
    domain::second_factor::disable(&state, &who, code, addr).await?;
    super::done("/account?second_factor_off=1#two-factor")
}

/// Makes this browser a known device of `account` at its current session epoch (keeping the
/// device id `keep`, if it has one).
#[cfg(feature = "ssr")]
fn make_known(state: &AppState, account: &domain::Account, keep: Option<String>) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(v) = http::HeaderValue::from_str(&state.devices.issue(account.id, account.session_epoch, keep)) {
            response.append_header(http::header::SET_COOKIE, v);
        }
    }
}

/// This browser's known-device id for the signed-in account, kept when the epoch moves on: the
/// person who changes the password (or signs out everywhere) keeps this browser known.
#[cfg(feature = "ssr")]
async fn own_device(state: &AppState, who: &SignedIn) -> Option<String> {
    let (id, epoch) = (who.account().id, who.account().session_epoch);
    state
        .devices
        .read(&request_headers().await)
        .filter(|(a, e, _)| *a == id && *e == epoch)
        .map(|(_, _, d)| d)
}

/// Logs out: the session is deleted on the server and its cookie cleared.
#[server(prefix = "/api", endpoint = "log-out")]
pub async fn log_out() -> Result<(), AppError> {
    let state = AppState::current()?;
    if let Some(who) = SignedIn::optional().await? {
        let addr = super::client_addr_of_request().await;
        domain::record_sign_out(&state, &who, addr).await?;
    }
    let session = crate::server::guard::current_session().await?;
    SignedIn::end(&session).await?;
    super::done("/")
}

/// Changes the signed-in person's password; every other session of theirs is signed out.
#[server(prefix = "/api", endpoint = "change-password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    let (state, who, addr) = me_acting().await?;
    let keep = own_device(&state, &who).await;
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
    make_known(&state, &account, keep);
    super::done("/account?password_changed=1")
}

/// Asks to change the signed-in person's email address: a link goes to the new address.
#[server(prefix = "/api", endpoint = "change-email")]
pub async fn change_email(new_email: String, password: String) -> Result<String, AppError> {
    let (state, who, addr) = me_acting().await?;
    let to = domain::request_email_change(&state, &who, &new_email, password, addr).await?;
    leptos_axum::redirect("/account?email_change_sent=1");
    Ok(to)
}

/// "Forgot password?": mails a reset link when the address has an account. Same answer either way.
#[server(prefix = "/api", endpoint = "request-password-reset")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    let state = AppState::current()?;
    let addr = super::client_addr_of_request().await;
    domain::request_password_reset(&state, &email, addr).await?;
    super::done("/forgot-password?sent=1")
}

/// Sets a new password with the token of a reset link; every session of the account ends.
#[server(prefix = "/api", endpoint = "reset-password")]
pub async fn reset_password(
    token: String,
    new_password: String,
    new_password_confirm: String,
) -> Result<(), AppError> {
    let state = AppState::current()?;
    let addr = super::client_addr_of_request().await;
    domain::reset_password(&state, token, new_password, new_password_confirm, addr).await?;
    // Whatever session this browser had is over too.
    let session = crate::server::guard::current_session().await?;
    SignedIn::end(&session).await?;
    super::done("/?password_reset=1")
}

/// The signed-in person, or `None`.
#[server(prefix = "/api", endpoint = "current-account")]
pub async fn current_account() -> Result<Option<AccountView>, AppError> {
    Ok(SignedIn::optional().await?.map(|s| s.account().view()))
}

/// The signed-in person's live sessions, this one first.
#[server(prefix = "/api", endpoint = "my-sessions")]
pub async fn my_sessions() -> Result<Vec<SessionView>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::live_sessions(&state, &who).await
}

/// Signs out one of the signed-in person's sessions (from this browser or another).
#[server(prefix = "/api", endpoint = "revoke-session")]
pub async fn revoke_session(session: String) -> Result<(), AppError> {
    let (state, who, addr) = me_undoing().await?;
    domain::revoke_session(&state, &who, &session, addr).await?;
    super::done("/account?session_revoked=1")
}

/// Signs out every session of the signed-in person but this one.
#[server(prefix = "/api", endpoint = "revoke-other-sessions")]
pub async fn revoke_other_sessions() -> Result<usize, AppError> {
    let (state, who, addr) = me_undoing().await?;
    // Never refused while there are other sessions to sign out; with none it only moves the
    // epoch on, and is counted like any other change (each is audited).
    if domain::live_sessions(&state, &who).await?.len() <= 1 {
        state.count_change(who.account().id)?;
    }
    let keep = own_device(&state, &who).await;
    let (n, account) = domain::revoke_other_sessions(&state, &who, addr).await?;
    who.renew(&account).await?;
    make_known(&state, &account, keep);
    leptos_axum::redirect("/account?sessions_revoked=1");
    Ok(n)
}

/// The signed-in person's security events, newest first.
#[server(prefix = "/api", endpoint = "my-security-events")]
pub async fn my_security_events(
    #[server(flatten)] at: Position,
) -> Result<Page<AuditEventView>, AppError> {
    let state = AppState::current()?;
    let who = SignedIn::require().await?;
    domain::security_events(&state, &who, at).await
}
