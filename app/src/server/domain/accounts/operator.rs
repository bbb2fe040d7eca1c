//! The platform operator's part: the first operator made from the command line, and an address
//! marked verified while no mail server is configured.

use uuid::Uuid;

use super::{check_sign_up, new_account, SignUp};
use crate::model::{Missing, OrMissing};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::auth::password::hash_blocking;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit::{self, Actor};
use crate::server::store::tokens::{self, Purpose};
use crate::server::store::{admissions, Store};
use crate::server::Context;

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
            let mut a = accounts::get(tx, account)?.or_missing(Missing::Account)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
