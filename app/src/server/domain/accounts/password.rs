//! Passwords: the reset link for a forgotten one, and the change of a known one.

use std::net::IpAddr;

use redb::ReadableTable;
use uuid::Uuid;

use super::{console, who_acts};
use crate::model::account::{email_key, validate_email, validate_password_length};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::auth::password::validate_new_password;
use crate::server::auth::ratelimit::Subject;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit;
use crate::server::store::tokens::{self, Purpose};
use crate::server::store::{admissions, outbox, sessions};
use crate::server::Context;

/// How long a password reset link works.
pub const RESET_HOURS: i64 = 1;

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
    cx.mails_per_target.check_mailbox(&email)?;
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
    let now = cx.clock.now();
    let account = cx
        .store
        .write(move |tx| {
            let record = tokens::consume(tx, &token, Purpose::ResetPassword, LINK)?;
            let mut account = accounts::get(tx, record.account)?
                .ok_or_else(|| AppError::invalid(LINK, "belongs to an account that no longer exists"))?;
            let proves = email_key(&record.email) == email_key(&account.email);
            // The link proves the address: an account that had not proven it becomes the prover's.
            let evicted = if proves && !account.email_verified { Some(super::evict_unproven_holder(tx, &mut account, now)?) } else { None };
            account.password_hash = hash;
            account.email_verified |= proves;
            let details = match &evicted {
                Some(gone) => gone.details(),
                None => {
                    account.session_epoch += 1;
                    tokens::retire_credential_links(tx, account.id)?;
                    format!("{} session(s) signed out", sessions::revoke_all(tx, account.id, None)?)
                }
            };
            accounts::update(tx, &account)?;
            let actor = who_acts(&account, client);
            audit::record_security(tx, &actor, account.id, AuditAction::AccountPasswordReset, &account.email, &details)?;
            if account.email_verified {
                for (workspace, name, role) in admissions::admit_pending(tx, account.id, &account.email)? {
                    audit::record(tx, &actor, Some((workspace, &name)), AuditAction::MemberAdmitted, &account.email, &format!("as {} (address proven by a reset link)", role.label()))?;
                }
            }
            let removed = if evicted.is_some_and(|g| g.passkeys + g.tokens + g.identities > 0 || g.second_factor) {
                "\n\nThe account had not proven this address before: the passkeys, authenticator app, \
                 access tokens and single sign-on identities set up on it until now were removed.\n"
            } else {
                ""
            };
            let body = format!(
                "Hello {},\n\nThe password of your MPDP account was reset, and every session was \
                 signed out. If you did not do this, reset it again at {console}/forgot-password and \
                 contact your platform operator.\n{removed}",
                account.username
            );
            outbox::enqueue(tx, vec![account.email.clone()], "Your MPDP password was reset", &body)?;
            Ok(account)
        })
        .await?;
    tracing::info!(account = %account.id, "password reset; every session signed out");
    Ok(account)
}

/// Verifies the signed-in person's current password, under the login limits.
pub(super) async fn check_current_password(
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
    let (id, me) = (who.account().id, who.account().clone());
    let keep = who.session_handle();
    let account = cx
        .store
        .write(move |tx| {
            let mut account = super::sessions::account_of_standing_session(tx, &me, keep)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use super::super::test_support::{assert_reset_link_refused, current, reset_link, signed_in, state};
    use super::super::{last_link_token, log_in, request_email_change, verified_account, verify_email};

    /// Anyone may sign up with any address; the owner of the mailbox takes the account back with
    /// a reset link, and whoever registered it keeps no way in.
    #[tokio::test]
    async fn a_reset_that_proves_the_address_takes_the_account_from_whoever_registered_it() {
        use super::super::test_support::{last_mail_body, plant_ways_in, unverified_account, ways_in};
        let s = state();
        let held = unverified_account(&s, "ann").await;
        plant_ways_in(&s, held.id).await;
        assert_eq!(ways_in(&s, held.id).await, (1, true, 1, true));
        let link = reset_link(&s, "ann").await;
        let a = reset_password(&s, link, "the owner's own 42".into(), "the owner's own 42".into(), None).await.unwrap();
        assert!(a.email_verified && a.session_epoch > held.session_epoch);
        assert_eq!(ways_in(&s, held.id).await, (0, false, 0, false), "passkey, authenticator app, token and identity are gone");
        assert!(last_mail_body(&s, "ann@example.com").await.contains("were removed"));
        // An account that had proven its address is its owner's: a reset leaves the rest alone.
        let bob = verified_account(&s, "bob").await;
        plant_ways_in(&s, bob.id).await;
        let link = reset_link(&s, "bob").await;
        reset_password(&s, link, "bob forgot it 42".into(), "bob forgot it 42".into(), None).await.unwrap();
        assert_eq!(ways_in(&s, bob.id).await, (1, true, 1, true));
        assert!(!last_mail_body(&s, "bob@example.com").await.contains("were removed"));
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

    /// A request let in on a session before the owner signed out everywhere (or changed or reset
    /// the password, or revoked that session), whose write comes after, changes nothing: it would
    /// otherwise move its own session to the new epoch and outlive the revocation.
    #[tokio::test]
    async fn a_request_let_in_before_a_revocation_acts_on_nothing_after_it() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        let stale = signed_in(&s, &ann);
        super::super::revoke_other_sessions(&s, &signed_in(&s, &ann), None).await.unwrap();
        let before = current(&s, ann.id).await;
        let e = super::super::revoke_other_sessions(&s, &stale, None).await.unwrap_err();
        assert_eq!(e.status(), 401, "{e}");
        let e = change_password(&s, &stale, "amber otter 17".into(), "quiet river 88".into(), "quiet river 88".into(), None).await.unwrap_err();
        assert_eq!(e.status(), 401, "{e}");
        assert_eq!(current(&s, ann.id).await, before, "a refusal changes nothing");
        // At the same epoch, a session whose record is gone (signed out, revoked) acts on nothing.
        let gone = tower_sessions::Session::new(
            Some(tower_sessions::session::Id::default()),
            std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())),
            None,
        );
        let gone = crate::server::guard::SignedIn::for_tests(before.clone(), gone);
        assert_eq!(super::super::revoke_other_sessions(&s, &gone, None).await.unwrap_err().status(), 401);
        assert_eq!(current(&s, ann.id).await, before);
        // The person as the store now knows them acts.
        super::super::revoke_other_sessions(&s, &signed_in(&s, &before), None).await.unwrap();
        assert_eq!(current(&s, ann.id).await.session_epoch, before.session_epoch + 1);
    }

    #[tokio::test]
    async fn a_reset_link_stops_working_once_the_password_is_changed() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        let reset = reset_link(&s, "ann").await;
        change_password(&s, &signed_in(&s, &ann), "amber otter 17".into(), "quiet river 88".into(), "quiet river 88".into(), None)
            .await
            .unwrap();
        assert_reset_link_refused(&s, ann.id, reset).await;
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
}
