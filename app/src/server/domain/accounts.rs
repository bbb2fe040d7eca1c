//! Accounts: sign-up with a proven email address, login under limits that hold, password change
//! and reset, email change, sessions, and the first operator.

use std::net::IpAddr;

use redb::ReadableTable;
use uuid::Uuid;

use crate::model::account::{
    email_key, username_key, validate_email, validate_password_length, validate_username,
};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::auth::password::{hash_blocking, validate_new_password};
use crate::server::auth::ratelimit::Subject;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit::{self, Actor};
use crate::server::store::tokens::{self, Purpose};
use crate::server::store::{admissions, outbox, sessions, Store};
use crate::server::Context;

/// How long a verification link works.
pub const VERIFY_HOURS: i64 = 24;
/// How long a password reset link works.
pub const RESET_HOURS: i64 = 1;

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

/// Signs up. The answer is the same whether or not the email already has an account: a new
/// account gets a verification link; the owner of an existing one gets a note that someone tried
/// to sign up with their address. Nobody is signed in here. Usernames may be reported as taken.
pub async fn sign_up(
    cx: &Context,
    input: SignUp,
    next: Option<String>,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let (email, username) = check_sign_up(&input)?;
    if let Some(c) = client {
        cx.account_requests.check_address(c)?;
    }
    let ukey = username_key(&username);
    let username_taken = cx
        .store
        .read(move |tx| accounts::find_by_login(tx, &ukey).map(|a| a.is_some()))
        .await?;
    if username_taken {
        return Err(AppError::conflict("Username", "is already taken"));
    }
    // The hash is computed either way, so both answers take the same time.
    let hash = cx.hasher.hash(input.password).await?;
    let account = new_account(email.clone(), username, hash, false);
    let console = console(cx);
    let next = local_path(next.as_deref());
    let mails_per_target = cx.mails_per_target.clone();
    let created = cx
        .store
        .write(move |tx| {
            let ekey = email_key(&account.email);
            let existing = tx
                .open_table(crate::server::store::tables::ACCOUNTS_BY_EMAIL)?
                .get(ekey.as_str())?
                .is_some();
            if existing {
                // Quietly: a refusal here would tell the caller the address is registered.
                if mails_per_target.check(&ekey).is_ok() {
                    let body = format!(
                        "Hello,\n\nSomeone tried to create an MPDP account with {email}, which already \
                         has one. If it was you, log in at {console}/ — or, if you forgot your password, \
                         reset it at {console}/forgot-password. Otherwise you can ignore this message: \
                         nothing was changed.\n"
                    );
                    outbox::enqueue(tx, vec![account.email.clone()], "Someone tried to sign up with your email address", &body)?;
                }
                return Ok(None);
            }
            accounts::insert(tx, &account)?;
            send_verification(tx, &console, &account, &account.email, Purpose::VerifyEmail, next.as_deref())?;
            audit::record_security(tx, &who_acts(&account, client), account.id, AuditAction::AccountSignedUp, &account.email, "")?;
            Ok(Some(account))
        })
        .await?;
    if let Some(a) = created {
        tracing::info!(account = %a.id, "account signed up");
    }
    Ok(())
}

/// Sends a new verification link to the signed-in person's (unverified) address.
pub async fn resend_verification(
    cx: &Context,
    who: &SignedIn,
    client: Option<IpAddr>,
) -> Result<String, AppError> {
    if who.account().email_verified {
        return Err(AppError::conflict("Email", "is already verified"));
    }
    if let Some(c) = client {
        cx.account_requests.check_address(c)?;
    }
    cx.mails_per_target.check(&email_key(&who.account().email))?;
    let account = who.account().clone();
    let console = console(cx);
    let email = cx
        .store
        .write(move |tx| {
            send_verification(tx, &console, &account, &account.email, Purpose::VerifyEmail, None)?;
            Ok(account.email.clone())
        })
        .await?;
    Ok(email)
}

/// Uses a verification link: proves the account's address (or moves the account to the new
/// address it asked for) and admits it where that address was waiting to be admitted.
///
/// The browser must be signed in as that account: the link proves the mailbox, the password
/// proves the account. Otherwise the owner of an address, clicking the link of an account an
/// impostor made with it, would verify the impostor.
pub async fn verify_email(
    cx: &Context,
    token: String,
    signed_in: Option<Uuid>,
    client: Option<IpAddr>,
) -> Result<Account, AppError> {
    let console = console(cx);
    let account = cx
        .store
        .write(move |tx| {
            if let Some(record) = tokens::peek(tx, &token)? {
                if signed_in != Some(record.account) {
                    let name = accounts::get(tx, record.account)?
                        .map(|a| a.username)
                        .unwrap_or_default();
                    return Err(AppError::Forbidden(format!(
                        "This link verifies the MPDP account {name}. Log in as {name}, then open the link again. \
                         If you did not create that account, do not verify it: reset its password at /forgot-password to take it over."
                    )));
                }
            }
            let record = match tokens::consume(tx, &token, Purpose::VerifyEmail, "Verification link") {
                Ok(r) => r,
                Err(first) => match tokens::consume(tx, &token, Purpose::ChangeEmail, "Verification link") {
                    Ok(r) => r,
                    Err(_) => return Err(first),
                },
            };
            let mut account = accounts::get(tx, record.account)?
                .ok_or_else(|| AppError::invalid("Verification link", "belongs to an account that no longer exists"))?;
            let actor = who_acts(&account, client);
            match record.purpose {
                Purpose::ChangeEmail => {
                    let old = account.email.clone();
                    accounts::change_email(tx, &mut account, &record.email)?;
                    account.email_verified = true;
                    accounts::update(tx, &account)?;
                    crate::server::store::members::account_changed(tx, &account)?;
                    tokens::retire(tx, account.id, Purpose::VerifyEmail)?;
                    tokens::retire_credential_links(tx, account.id)?;
                    audit::record_security(tx, &actor, account.id, AuditAction::AccountEmailChanged, &account.email, &format!("from {old}"))?;
                    let body = format!(
                        "Hello {},\n\nThe email address of your MPDP account was changed from {old} to {}. \
                         If you did not do this, reset your password at {console}/forgot-password and \
                         contact your platform operator.\n",
                        account.username, account.email
                    );
                    outbox::enqueue(tx, vec![old], "Your MPDP email address was changed", &body)?;
                }
                _ => {
                    if email_key(&record.email) != email_key(&account.email) {
                        return Err(AppError::invalid(
                            "Verification link",
                            "was sent to an address this account no longer uses",
                        ));
                    }
                    account.email_verified = true;
                    accounts::update(tx, &account)?;
                    audit::record_security(tx, &actor, account.id, AuditAction::AccountEmailVerified, &account.email, "")?;
                }
            }
            for (workspace, name, role) in admissions::admit_pending(tx, account.id, &account.email)? {
                audit::record(
                    tx,
                    &actor,
                    Some((workspace, &name)),
                    AuditAction::MemberAdmitted,
                    &account.email,
                    &format!("as {} (a representative whose address is now verified)", role.label()),
                )?;
            }
            Ok(account)
        })
        .await?;
    Ok(account)
}

/// Asks to move the signed-in account to `new_email`: a link goes to the new address, and the
/// change happens only when it is opened. The answer is the same when another account already
/// has the address: then no link is made, and the owner of that address gets a note instead.
pub async fn request_email_change(
    cx: &Context,
    who: &SignedIn,
    new_email: &str,
    password: String,
    client: Option<IpAddr>,
) -> Result<String, AppError> {
    let new_email = validate_email("New email", new_email)?;
    if email_key(&new_email) == email_key(&who.account().email) {
        return Err(AppError::invalid("New email", "is already your email address"));
    }
    if password.is_empty() {
        return Err(AppError::invalid("Password", "is required"));
    }
    check_current_password(cx, who, password, client)
        .await
        .map_err(|e| match e {
            AppError::Invalid { message, .. } => AppError::invalid("Password", message),
            other => other,
        })?;
    cx.mails_per_target.check(&email_key(&new_email))?;
    let account = who.account().clone();
    let console = console(cx);
    let sent_to = new_email.clone();
    cx
        .store
        .write(move |tx| {
            let taken = tx
                .open_table(crate::server::store::tables::ACCOUNTS_BY_EMAIL)?
                .get(email_key(&new_email).as_str())?
                .is_some();
            // Quietly: a refusal here would tell the caller the address is registered.
            if taken {
                let body = format!(
                    "Hello,\n\nSomeone signed in to another MPDP account asked to use {new_email} as its \
                     address. This address already belongs to your account, so nothing was changed \
                     and no link was sent. You can ignore this message; if you are worried, change \
                     your password at {console}/account.\n"
                );
                outbox::enqueue(tx, vec![new_email.clone()], "Someone tried to use your email address", &body)?;
            } else {
                send_verification(tx, &console, &account, &new_email, Purpose::ChangeEmail, None)?;
            }
            let details = if taken { "not sent: the address belongs to another account" } else { "" };
            audit::record_security(tx, &who_acts(&account, client), account.id, AuditAction::AccountEmailChangeRequested, &new_email, details)?;
            Ok(())
        })
        .await?;
    Ok(sent_to)
}

/// "Forgot password?": mails a reset link if `email` has an account. The answer is the same
/// either way; requests are limited per client address and per target address.
pub async fn request_password_reset(
    cx: &Context,
    email: &str,
    client: Option<IpAddr>,
) -> Result<(), AppError> {
    let email = validate_email("Email", email)?;
    if let Some(c) = client {
        cx.account_requests.check_address(c)?;
    }
    cx.mails_per_target.check(&email_key(&email))?;
    let console = console(cx);
    // One write transaction whether or not the account exists, so both take the same time.
    cx
        .store
        .write(move |tx| {
            let id = tx
                .open_table(crate::server::store::tables::ACCOUNTS_BY_EMAIL)?
                .get(email_key(&email).as_str())?
                .map(|v| Uuid::from_u128(v.value()));
            let Some(account) = id.map(|id| accounts::get(tx, id)).transpose()?.flatten() else {
                return Ok(());
            };
            let token = tokens::issue(tx, account.id, Purpose::ResetPassword, &account.email, chrono::Duration::hours(RESET_HOURS))?;
            let body = format!(
                "Hello {},\n\nSomeone (we hope you) asked to reset the password of your MPDP account.\n\n\
                 Choose a new password: {console}/reset-password/{token}\n\n\
                 The link works once, for {RESET_HOURS} hour. Setting a new password signs out every \
                 session of the account. If you did not ask for this, ignore this message; your \
                 password stays as it is.\n",
                account.username
            );
            outbox::enqueue_with_secret(tx, vec![account.email.clone()], "Reset your MPDP password", &body, Some(&token))?;
            audit::record_security(tx, &who_acts(&account, client), account.id, AuditAction::AccountPasswordResetRequested, &account.email, "")?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// Sets a new password from a reset link. Every session of the account ends; the address is
/// proven by the link, so it counts as verified.
pub async fn reset_password(
    cx: &Context,
    token: String,
    new: String,
    confirm: String,
    client: Option<IpAddr>,
) -> Result<Account, AppError> {
    const LINK: &str = "Reset link";
    if !crate::server::tokens::well_formed(&token) {
        return Err(AppError::invalid(LINK, "this password reset link is malformed; copy the whole link from the email"));
    }
    validate_new_password("New password", &new)?;
    if new != confirm {
        return Err(AppError::invalid("Confirm new password", "must match the new password"));
    }
    if let Some(c) = client {
        cx.account_requests.check_address(c)?;
    }
    let hash = cx.hasher.hash(new).await?;
    let console = console(cx);
    let account = cx
        .store
        .write(move |tx| {
            let record = tokens::consume(tx, &token, Purpose::ResetPassword, LINK)?;
            let mut account = accounts::get(tx, record.account)?
                .ok_or_else(|| AppError::invalid(LINK, "belongs to an account that no longer exists"))?;
            account.password_hash = hash;
            account.session_epoch += 1;
            if email_key(&record.email) == email_key(&account.email) {
                account.email_verified = true;
            }
            accounts::update(tx, &account)?;
            tokens::retire_credential_links(tx, account.id)?;
            let ended = sessions::revoke_all(tx, account.id, None)?;
            let actor = who_acts(&account, client);
            audit::record_security(tx, &actor, account.id, AuditAction::AccountPasswordReset, &account.email, &format!("{ended} session(s) signed out"))?;
            if account.email_verified {
                for (workspace, name, role) in admissions::admit_pending(tx, account.id, &account.email)? {
                    audit::record(tx, &actor, Some((workspace, &name)), AuditAction::MemberAdmitted, &account.email, &format!("as {} (address proven by a reset link)", role.label()))?;
                }
            }
            let body = format!(
                "Hello {},\n\nThe password of your MPDP account was reset, and every session was \
                 signed out. If you did not do this, reset it again at {console}/forgot-password and \
                 contact your platform operator.\n",
                account.username
            );
            outbox::enqueue(tx, vec![account.email.clone()], "Your MPDP password was reset", &body)?;
            Ok(account)
        })
        .await?;
    tracing::info!(account = %account.id, "password reset; every session signed out");
    Ok(account)
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
    }
}

/// Checks a login. Unknown account and wrong password give the same error after the same work —
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

/// Verifies the signed-in person's current password, under the login limits.
async fn check_current_password(
    cx: &Context,
    who: &SignedIn,
    current: String,
    addr: Option<IpAddr>,
) -> Result<(), AppError> {
    validate_password_length("Current password", &current)
        .map_err(|_| AppError::invalid("Current password", "is not correct"))?;
    let attempt = cx
        .limiter
        .reserve(&Subject::SignedIn(who.account().id.to_string()), addr)?;
    if cx
        .hasher
        .verify(current, Some(who.account().password_hash.clone()))
        .await?
    {
        cx.limiter.succeeded(attempt);
        Ok(())
    } else {
        Err(AppError::invalid("Current password", "is not correct"))
    }
}

/// Changes the signed-in person's password and signs out every other session of theirs.
pub async fn change_password(
    cx: &Context,
    who: &SignedIn,
    current: String,
    new: String,
    confirm: String,
    addr: Option<IpAddr>,
) -> Result<Account, AppError> {
    if current.is_empty() {
        return Err(AppError::invalid("Current password", "is required"));
    }
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
    check_current_password(cx, who, current, addr).await?;
    let hash = cx.hasher.hash(new).await?;
    let id = who.account().id;
    let keep = who.session().id().map(|i| sessions::handle(&i));
    let account = cx
        .store
        .write(move |tx| {
            let mut account = accounts::get(tx, id)?.ok_or(AppError::Unauthenticated)?;
            account.password_hash = hash;
            account.session_epoch += 1;
            accounts::update(tx, &account)?;
            tokens::retire_credential_links(tx, id)?;
            let ended = sessions::revoke_all(tx, id, keep)?;
            audit::record_security(tx, &who_acts(&account, addr), id, AuditAction::AccountPasswordChanged, &account.username, &format!("{ended} other session(s) signed out"))?;
            Ok(account)
        })
        .await?;
    tracing::info!(account = %account.id, "password changed; other sessions signed out");
    Ok(account)
}

/// Records a sign-out (the session itself is ended by the guard).
pub async fn record_sign_out(cx: &Context, who: &SignedIn, addr: Option<IpAddr>) -> Result<(), AppError> {
    let (id, actor) = (who.account().id, who_acts(&who.account(), addr));
    cx
        .store
        .write(move |tx| audit::record_security(tx, &actor, id, AuditAction::AccountSignedOut, &actor.name, "").map(|_| ()))
        .await
}

/// Ends one of the signed-in person's sessions, named by its handle (hex).
pub async fn revoke_session(cx: &Context, who: &SignedIn, handle: &str, addr: Option<IpAddr>) -> Result<(), AppError> {
    let h = u128::from_str_radix(handle.trim(), 16)
        .map_err(|_| AppError::invalid("Session", "is not a session of yours"))?;
    let (id, actor) = (who.account().id, who_acts(&who.account(), addr));
    cx
        .store
        .write(move |tx| {
            if !sessions::revoke(tx, id, h)? {
                return Err(AppError::NotFound("That session has already ended.".into()));
            }
            audit::record_security(tx, &actor, id, AuditAction::AccountSessionRevoked, &actor.name, "one session signed out")?;
            Ok(())
        })
        .await
}

/// "Sign out everywhere": ends every session of the signed-in person but this one, and raises
/// the session epoch, so known-device cookies issued before count for nothing (the caller moves
/// this session and this browser's cookie to the new epoch).
pub async fn revoke_other_sessions(cx: &Context, who: &SignedIn, addr: Option<IpAddr>) -> Result<(usize, Account), AppError> {
    let keep = who.session().id().map(|i| sessions::handle(&i));
    let (id, actor) = (who.account().id, who_acts(&who.account(), addr));
    cx
        .store
        .write(move |tx| {
            let mut account = accounts::get(tx, id)?.ok_or(AppError::Unauthenticated)?;
            account.session_epoch += 1;
            accounts::update(tx, &account)?;
            let n = sessions::revoke_all(tx, id, keep)?;
            audit::record_security(tx, &actor, id, AuditAction::AccountSessionRevoked, &actor.name, &format!("{n} other session(s) signed out"))?;
            Ok((n, account))
        })
        .await
}

/// The operator marks an account's address verified — only while no SMTP server is configured,
/// when the outbox is the only way mail reaches anyone.
pub async fn mark_verified(
    cx: &Context,
    op: &crate::server::guard::Operator,
    account: Uuid,
    actor: Actor,
) -> Result<(), AppError> {
    let _ = op;
    if cx.config.smtp_configured {
        return Err(AppError::conflict(
            "Verified",
            "mail is delivered by SMTP on this server, so the person verifies with the emailed link",
        ));
    }
    cx
        .store
        .write(move |tx| {
            let mut a = accounts::get(tx, account)?
                .ok_or_else(|| AppError::NotFound("No such account.".into()))?;
            if a.email_verified {
                return Err(AppError::conflict("Verified", format!("{} is already verified", a.email)));
            }
            a.email_verified = true;
            accounts::update(tx, &a)?;
            tokens::retire(tx, a.id, Purpose::VerifyEmail)?;
            audit::record_security(tx, &actor, a.id, AuditAction::AccountMarkedVerified, &a.email, "by the platform operator")?;
            for (workspace, name, role) in admissions::admit_pending(tx, a.id, &a.email)? {
                audit::record(tx, &actor, Some((workspace, &name)), AuditAction::MemberAdmitted, &a.email, &format!("as {} (address marked verified by the operator)", role.label()))?;
            }
            Ok(())
        })
        .await
}

/// `mpdp operator create`: a new account that is a platform operator (verified: it is made by
/// whoever runs the server).
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

/// Test support: signs up `name@example.com` and verifies it through the emailed link, as a
/// person would.
#[cfg(test)]
pub async fn verified_account(cx: &Context, name: &str) -> Account {
    sign_up(
        cx,
        SignUp {
            email: format!("{name}@example.com"),
            username: name.into(),
            password: "amber otter 17".into(),
            password_confirm: "amber otter 17".into(),
        },
        None,
        None,
    )
    .await
    .unwrap();
    let token = last_link_token(cx, &format!("{name}@example.com")).await;
    let id = log_in(cx, name, "amber otter 17".into(), None, None).await.unwrap().id;
    verify_email(cx, token, Some(id), None).await.unwrap()
}

/// Test support: the secret token of the newest mail to `to`.
#[cfg(test)]
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use super::*;
    use crate::server::store::workspaces as ws;
    use crate::server::Config;

    fn state() -> Context {
        let mut config = Config::default();
        config.login_failures_per_account = 2;
        Context::new(Store::memory(), config)
    }

    fn form(email: &str, username: &str, password: &str) -> SignUp {
        SignUp {
            email: email.into(),
            username: username.into(),
            password: password.into(),
            password_confirm: password.into(),
        }
    }

    async fn count_accounts(s: &Context) -> u64 {
        s.store.read(|tx| accounts::count(tx)).await.unwrap()
    }

    #[tokio::test]
    async fn sign_up_then_log_in_by_email_or_username_unverified_until_the_link() {
        let s = state();
        sign_up(&s, form("Ann@Example.com", "ann", "blue harbour 42"), None, None)
            .await
            .unwrap();
        let by_email = log_in(&s, "ann@example.com", "blue harbour 42".into(), None, None)
            .await
            .unwrap();
        let by_name = log_in(&s, "ANN", "blue harbour 42".into(), None, None)
            .await
            .unwrap();
        assert_eq!(by_email.id, by_name.id);
        assert!(!by_email.email_verified && !by_email.is_operator);
        let token = last_link_token(&s, "ann@example.com").await;
        let e = verify_email(&s, token.clone(), None, None).await.unwrap_err();
        assert_eq!(e.status(), 403, "signed out: the link alone verifies nothing");
        let e = verify_email(&s, token.clone(), Some(Uuid::new_v4()), None).await.unwrap_err();
        assert!(e.to_string().contains("Log in as ann"), "{e}");
        let verified = verify_email(&s, token.clone(), Some(by_email.id), None).await.unwrap();
        assert!(verified.email_verified);
        let again = verify_email(&s, token, Some(by_email.id), None).await.unwrap_err();
        assert_eq!((again.status(), again.field()), (422, Some("Verification link")));
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
            let e = sign_up(&s, input, None, None).await.unwrap_err();
            assert_eq!(e.field(), Some(field), "{e}");
            assert_eq!(e.status(), 422);
        }
        assert_eq!(count_accounts(&s).await, 0);
    }

    #[tokio::test]
    async fn a_registered_email_gets_the_same_answer_and_its_owner_a_note() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"), None, None)
            .await
            .unwrap();
        // Same answer (Ok) for the impostor; no second account, and Ann is told.
        sign_up(&s, form("ANN@example.com", "ann2", "blue harbour 42"), None, None)
            .await
            .unwrap();
        assert_eq!(count_accounts(&s).await, 1);
        let mail = s.store.read(|tx| outbox::list(tx, None, "", crate::model::page::Sort::parse("", outbox::SORTS, "-created").unwrap(), "", 10)).await.unwrap();
        assert!(mail.items.iter().any(|m| m.subject.contains("tried to sign up")));
        let e = sign_up(&s, form("ann2@example.com", "Ann", "blue harbour 42"), None, None)
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Username")));
    }

    #[tokio::test]
    async fn an_impostor_is_admitted_nowhere_and_the_owner_is_admitted_on_verifying() {
        let s = state();
        let w = Uuid::new_v4();
        s.store
            .write(move |tx| {
                ws::insert_workspace(tx, &ws::Workspace {
                    id: w,
                    name: "Acme".into(),
                    mcc: "5812".into(),
                    address: "1 Road".into(),
                    representatives: vec![],
                    status: crate::model::workspace::WorkspaceStatus::Active,
                    status_reason: None,
                    created: Utc::now(),
                    application: Uuid::new_v4(),
                })
            })
            .await
            .unwrap();
        sign_up(&s, form("ceo@victim.example", "impostor", "blue harbour 42"), None, None)
            .await
            .unwrap();
        let impostor = log_in(&s, "impostor", "blue harbour 42".into(), None, None).await.unwrap();
        let admitted = s
            .store
            .write(move |tx| admissions::admit(tx, w, "ceo@victim.example", crate::model::workspace::Role::WorkspaceAdmin))
            .await
            .unwrap();
        assert_eq!(admitted, None, "an unverified address admits nobody");
        let id = impostor.id;
        assert!(s.store.read(move |tx| crate::server::store::members::membership(tx, w, id)).await.unwrap().is_none());
        // The real owner resets the password through the mail they receive, which proves the
        // address: the account becomes theirs, and the admission happens now.
        request_password_reset(&s, "ceo@victim.example", None).await.unwrap();
        let token = last_link_token(&s, "ceo@victim.example").await;
        let owner = reset_password(&s, token, "new owner phrase 9".into(), "new owner phrase 9".into(), None)
            .await
            .unwrap();
        assert!(owner.email_verified);
        assert!(s.store.read(move |tx| crate::server::store::members::membership(tx, w, id)).await.unwrap().is_some());
        assert!(log_in(&s, "impostor", "blue harbour 42".into(), None, None).await.is_err());
    }

    #[tokio::test]
    async fn unknown_user_and_wrong_password_look_the_same() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"), None, None)
            .await
            .unwrap();
        let wrong = log_in(&s, "ann", "blue harbour 43".into(), None, None)
            .await
            .unwrap_err();
        let unknown = log_in(&s, "bob", "blue harbour 42".into(), None, None)
            .await
            .unwrap_err();
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, AppError::InvalidCredentials);
    }

    #[tokio::test]
    async fn username_and_email_share_one_budget_quietly_and_a_known_device_has_its_own() {
        let s = state();
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"), None, None)
            .await
            .unwrap();
        let ann = log_in(&s, "ann", "blue harbour 42".into(), None, None).await.unwrap();
        log_in(&s, "ann", "wrong password".into(), None, None).await.unwrap_err();
        log_in(&s, "ann@example.com", "wrong password".into(), None, None).await.unwrap_err();
        // The email's failure spent the account's budget for the username too: even the right
        // password is not checked — and is answered as a wrong one, not 429, which would tell
        // that both spellings name one account.
        let e = log_in(&s, "ann", "blue harbour 42".into(), None, None)
            .await
            .unwrap_err();
        assert_eq!(e, AppError::InvalidCredentials);
        // A device cookie from another session epoch (before a password change) counts for
        // nothing; the current one has its own budget.
        let stale = Some((ann.id, ann.session_epoch + 1, "0".repeat(32)));
        assert!(log_in(&s, "ann", "blue harbour 42".into(), None, stale).await.is_err());
        let device = Some((ann.id, ann.session_epoch, "0".repeat(32)));
        log_in(&s, "ann", "blue harbour 42".into(), None, device).await.unwrap();
    }

    #[tokio::test]
    async fn the_answer_to_a_login_does_not_tell_whether_another_spelling_names_the_same_account() {
        let s = state();
        sign_up(&s, form("bob@example.com", "bob", "blue harbour 42"), None, None)
            .await
            .unwrap();
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
        sign_up(&s, form("ann@example.com", "ann", "blue harbour 42"), None, None)
            .await
            .unwrap();
        let failures = |s: Context| async move {
            s.store
                .read(|tx| audit::list(tx, None, "account.sign_in_failed", "", crate::model::page::Sort::parse("", audit::SORTS, "-time")?, "", 10))
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

    #[tokio::test]
    async fn reset_answers_alike_for_unknown_addresses_and_refuses_bad_links() {
        let s = state();
        request_password_reset(&s, "nobody@example.com", None).await.unwrap();
        assert_eq!(
            request_password_reset(&s, "not an address", None).await.unwrap_err().field(),
            Some("Email")
        );
        for bad in ["", "abc", &"g".repeat(64)] {
            let e = reset_password(&s, bad.into(), "new owner phrase 9".into(), "new owner phrase 9".into(), None)
                .await
                .unwrap_err();
            assert_eq!((e.status(), e.field()), (422, Some("Reset link")), "{bad}");
        }
        let unknown = "ab".repeat(32);
        let e = reset_password(&s, unknown, "new owner phrase 9".into(), "new owner phrase 9".into(), None)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("not valid"), "{e}");
    }

    #[tokio::test]
    async fn email_change_happens_only_when_the_new_address_is_verified() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        verified_account(&s, "bob").await;
        let session = tower_sessions::Session::new(
            None,
            std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())),
            None,
        );
        let who = SignedIn::for_tests(ann.clone(), session);
        // A taken address is answered like a free one; its owner is told, and no link is made.
        let sent = request_email_change(&s, &who, "BOB@example.com", "amber otter 17".into(), None)
            .await
            .unwrap();
        assert_eq!(sent, "BOB@example.com");
        let mail = s.store.read(|tx| outbox::list(tx, None, "bob@example.com", crate::model::page::Sort::parse("", outbox::SORTS, "-created").unwrap(), "", 10)).await.unwrap();
        assert!(mail.items[0].subject.contains("tried to use your email address"), "{:?}", mail.items[0].subject);
        let live = s
            .store
            .write(move |tx| Ok(tx.open_table(crate::server::store::tables::ACCOUNT_TOKENS_BY_ACCOUNT)?.get((ann.id.as_u128(), Purpose::ChangeEmail.code()))?.is_some()))
            .await
            .unwrap();
        assert!(!live, "no email-change link exists for a taken address");
        let e = request_email_change(&s, &who, "ann2@example.com", "wrong password".into(), None)
            .await
            .unwrap_err();
        assert_eq!(e.field(), Some("Password"));
        request_email_change(&s, &who, "ann2@example.com", "amber otter 17".into(), None)
            .await
            .unwrap();
        let still = log_in(&s, "ann@example.com", "amber otter 17".into(), None, None).await.unwrap();
        assert_eq!(still.email, "ann@example.com", "nothing changes before the link");
        let token = last_link_token(&s, "ann2@example.com").await;
        let moved = verify_email(&s, token, Some(ann.id), None).await.unwrap();
        assert_eq!((moved.email.as_str(), moved.email_verified), ("ann2@example.com", true));
        assert!(log_in(&s, "ann2@example.com", "amber otter 17".into(), None, None).await.is_ok());
    }

    fn signed_in(s: &Context, account: &Account) -> SignedIn {
        let session = tower_sessions::Session::new(
            None,
            std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())),
            None,
        );
        SignedIn::for_tests(account.clone(), session)
    }

    async fn current(s: &Context, id: Uuid) -> Account {
        s.store.read(move |tx| accounts::get(tx, id)).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_reset_link_stops_working_once_the_password_is_changed() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        request_password_reset(&s, "ann@example.com", None).await.unwrap();
        let reset = last_link_token(&s, "ann@example.com").await;
        change_password(&s, &signed_in(&s, &ann), "amber otter 17".into(), "quiet river 88".into(), "quiet river 88".into(), None)
            .await
            .unwrap();
        let before = current(&s, ann.id).await;
        let e = reset_password(&s, reset, "taken over 123".into(), "taken over 123".into(), None)
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Reset link")), "{e}");
        assert_eq!(current(&s, ann.id).await, before, "a refused link changes nothing");
        assert!(log_in(&s, "ann", "quiet river 88".into(), None, None).await.is_ok());
    }

    #[tokio::test]
    async fn an_email_change_link_stops_working_once_the_password_is_reset() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        request_email_change(&s, &signed_in(&s, &ann), "ann.new@example.com", "amber otter 17".into(), None)
            .await
            .unwrap();
        let change = last_link_token(&s, "ann.new@example.com").await;
        request_password_reset(&s, "ann@example.com", None).await.unwrap();
        let reset = last_link_token(&s, "ann@example.com").await;
        reset_password(&s, reset, "quiet river 88".into(), "quiet river 88".into(), None).await.unwrap();
        let before = current(&s, ann.id).await;
        let e = verify_email(&s, change, Some(ann.id), None).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Verification link")), "{e}");
        let after = current(&s, ann.id).await;
        assert_eq!(after, before, "a refused link changes nothing");
        assert_eq!(after.email, "ann@example.com");
        assert!(log_in(&s, "ann.new@example.com", "quiet river 88".into(), None, None).await.is_err());
    }

    #[tokio::test]
    async fn a_reset_link_stops_working_once_the_email_is_changed() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        request_password_reset(&s, "ann@example.com", None).await.unwrap();
        let reset = last_link_token(&s, "ann@example.com").await;
        request_email_change(&s, &signed_in(&s, &ann), "ann.new@example.com", "amber otter 17".into(), None)
            .await
            .unwrap();
        let change = last_link_token(&s, "ann.new@example.com").await;
        verify_email(&s, change, Some(ann.id), None).await.unwrap();
        let before = current(&s, ann.id).await;
        let e = reset_password(&s, reset, "taken over 123".into(), "taken over 123".into(), None)
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Reset link")), "{e}");
        assert_eq!(current(&s, ann.id).await, before, "a refused link changes nothing");
        assert!(log_in(&s, "ann.new@example.com", "amber otter 17".into(), None, None).await.is_ok());
    }

    #[test]
    fn operator_creation_validates_and_refuses_duplicates() {
        let store = Store::memory();
        let op = create_operator_blocking(&store, "op@example.com", "operator", "steady lantern 7")
            .unwrap();
        assert!(op.is_operator && op.email_verified);
        let e = create_operator_blocking(&store, "op@example.com", "operator2", "steady lantern 7")
            .unwrap_err();
        assert_eq!(e.field(), Some("Email"));
        let e = create_operator_blocking(&store, "op2@example.com", "operator2", "password")
            .unwrap_err();
        assert_eq!(e.field(), Some("Password"));
    }

}
