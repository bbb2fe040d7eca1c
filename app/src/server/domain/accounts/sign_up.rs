//! Sign-up, and the verification link that proves the address.

use std::net::IpAddr;

use redb::ReadableTable;
use uuid::Uuid;

use super::{console, local_path, new_account, send_verification, who_acts};
use crate::model::account::{email_key, username_key, validate_new_email, validate_username};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::auth::password::validate_new_password;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit;
use crate::server::store::tokens::{self, Purpose};
use crate::server::store::{admissions, outbox};
use crate::server::Context;

/// What a person types to sign up.
pub struct SignUp {
    pub email: String,
    pub username: String,
    pub password: String,
    pub password_confirm: String,
}

/// Checks a sign-up form; returns (email, username) cleaned.
pub fn check_sign_up(input: &SignUp) -> Result<(String, String), AppError> {
    let email = validate_new_email("Email", &input.email)?;
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
                if mails_per_target.check_mailbox(&account.email).is_ok() {
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
            // Past the address's mail budget the account is made without a link (the answer is
            // the same): its owner asks for one again from the console once signed in.
            if mails_per_target.check_mailbox(&account.email).is_ok() {
                send_verification(tx, &console, &account, &account.email, Purpose::VerifyEmail, next.as_deref())?;
            }
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
    cx.mails_per_target.check_mailbox(&who.account().email)?;
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
    let (console, mails) = (console(cx), cx.mails_per_target.clone());
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
                    let (old, old_proven) = (account.email.clone(), account.email_verified);
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
                    super::tell_account(tx, &mails, &old, old_proven, "Your MPDP email address was changed", &body)?;
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

#[cfg(test)]
mod tests {
    use crate::server::store::listing::Window;
    
    use super::*;
    use super::super::test_support::{count_accounts, form, state};
    use super::super::{last_link_token, log_in, request_password_reset, reset_password};
    use crate::server::store::workspaces as ws;

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
        let mail = s.store.read(|tx| outbox::list(tx, None, "", &Window::first(outbox::LIST, 10))).await.unwrap();
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
                ws::insert_workspace(tx, &crate::server::store::workspaces::Workspace { id: w, ..crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active) })
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
}
