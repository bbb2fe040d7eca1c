//! Email change: the account moves to a new address only when a link sent there is opened.

use std::net::IpAddr;

use redb::ReadableTable;

use super::password::check_current_password;
use super::{console, send_verification, who_acts};
use crate::model::account::{email_key, validate_new_email};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::store::audit;
use crate::server::store::outbox;
use crate::server::store::tokens::Purpose;
use crate::server::Context;

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
    let new_email = validate_new_email("New email", new_email)?;
    if email_key(&new_email) == email_key(&who.account().email) {
        return Err(AppError::invalid("New email", "is already your email address"));
    }
    if password.is_empty() {
        return Err(AppError::invalid("Password", "is required"));
    }
    // Each request hashes a password and mails an address the caller names: budgeted per
    // client address like sign-up and password resets.
    if let Some(c) = client {
        cx.account_requests.check_address(c)?;
    }
    check_current_password(cx, who, password, client)
        .await
        .map_err(|e| match e {
            AppError::Invalid { message, .. } => AppError::invalid("Password", message),
            other => other,
        })?;
    cx.mails_per_target.check_mailbox(&new_email)?;
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

#[cfg(test)]
mod tests {
    use crate::server::store::listing::Window;
    use super::*;
    use super::super::test_support::{assert_reset_link_refused, reset_link, signed_in, state};
    use super::super::{last_link_token, log_in, verified_account, verify_email};

    /// Each request hashes a password and mails an address the caller names: past the client
    /// address's budget, or the mailbox's (however its address is written), it is refused.
    #[tokio::test]
    async fn email_change_requests_are_budgeted_per_client_address_and_per_mailbox() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        let who = signed_in(&s, &ann);
        let ask = |to: String, from: String| {
            let (s, who) = (&s, &who);
            async move { request_email_change(s, who, &to, "amber otter 17".into(), Some(from.parse().unwrap())).await }
        };
        for (i, to) in ["vic@example.com", "Vic@example.com", "v.i.c@example.com", "vic+1@example.com", "vic+2@example.com"].into_iter().enumerate() {
            ask(to.into(), format!("192.0.2.{i}")).await.unwrap();
        }
        let e = ask("vic+3@example.com".into(), "192.0.2.99".into()).await.unwrap_err();
        assert!(e.status() == 429 && e.to_string().contains("for this email address"), "{e}");
        let per_address = s.config.account_requests_per_address;
        for i in 0..per_address {
            let _ = ask(format!("n{i}@example.com"), "198.51.100.7".into()).await;
        }
        let e = ask("late@example.com".into(), "198.51.100.7".into()).await.unwrap_err();
        assert!(e.status() == 429 && e.to_string().contains("from your network address"), "{e}");
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
        let mail = s.store.read(|tx| outbox::list(tx, None, "bob@example.com", &Window::first(outbox::LIST, 10))).await.unwrap();
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
        let told = s.store.read(|tx| outbox::list(tx, None, "ann@example.com", &Window::first(outbox::LIST, 10))).await.unwrap();
        assert!(told.items.iter().any(|m| m.subject.contains("email address was changed")), "the proven old address is told");
        // An address never proven is told only within its mailbox's budget when its account
        // moves away: it may be anyone's (sign up with it, move away, again and again).
        let vic = super::super::test_support::unverified_account(&s, "vic").await;
        while s.mails_per_target.check_mailbox("vic@example.com").is_ok() {}
        let who = signed_in(&s, &vic);
        request_email_change(&s, &who, "vic.own@example.com", "amber otter 17".into(), None).await.unwrap();
        let token = last_link_token(&s, "vic.own@example.com").await;
        verify_email(&s, token, Some(vic.id), None).await.unwrap();
        let told = s.store.read(|tx| outbox::list(tx, None, "vic@example.com", &Window::first(outbox::LIST, 10))).await.unwrap();
        assert!(told.items.iter().all(|m| !m.subject.contains("email address was changed")), "{:?}", told.items);
    }

    #[tokio::test]
    async fn a_reset_link_stops_working_once_the_email_is_changed() {
        let s = state();
        let ann = verified_account(&s, "ann").await;
        let reset = reset_link(&s, "ann").await;
        request_email_change(&s, &signed_in(&s, &ann), "ann.new@example.com", "amber otter 17".into(), None)
            .await
            .unwrap();
        let change = last_link_token(&s, "ann.new@example.com").await;
        verify_email(&s, change, Some(ann.id), None).await.unwrap();
        assert_reset_link_refused(&s, ann.id, reset).await;
        assert!(log_in(&s, "ann.new@example.com", "amber otter 17".into(), None, None).await.is_ok());
    }
}
