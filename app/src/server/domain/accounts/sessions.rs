//! The signed-in person's sessions: a sign-out recorded, one session ended, or all but this one.

use std::net::IpAddr;

use super::who_acts;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit;
use crate::server::store::sessions;
use crate::server::Context;

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
