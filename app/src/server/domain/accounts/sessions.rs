//! The signed-in person's sessions and security events: the live sessions listed, a sign-out
//! recorded, one session ended, or all but this one.

use std::net::IpAddr;

use super::who_acts;
use crate::model::page::Position;
use crate::model::account::SessionView;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::SignedIn;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit;
use crate::server::store::sessions;
use crate::server::Context;
use crate::server::store::listing::Window;

/// The signed-in person's live sessions, this one first, then the most recently seen.
pub async fn live_sessions(cx: &Context, who: &SignedIn) -> Result<Vec<SessionView>, AppError> {
    use crate::server::guard::{AGENT, CLIENT, LAST_SEEN, LOGIN_AT, METHOD};
    let current = who.session_handle();
    let id = who.account().id;
    let now = cx.clock.timestamp();
    let list = cx
        .store
        .read(move |tx| sessions::of_account(tx, id, now))
        .await?;
    let time = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_i64())
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("").to_string();
    let mut out: Vec<SessionView> = list
        .into_iter()
        .map(|s| SessionView {
            handle: format!("{:032x}", s.handle),
            started: time(s.data.get(LOGIN_AT)),
            last_seen: time(s.data.get(LAST_SEEN)),
            client: text(s.data.get(CLIENT)),
            agent: text(s.data.get(AGENT)),
            method: match text(s.data.get(METHOD)) {
                // Sessions begun before the method was noted were signed in with a password.
                m if m.is_empty() => crate::model::account::SignInMethod::Password.label().to_string(),
                m => m,
            },
            current: Some(s.handle) == current,
        })
        .collect();
    out.sort_by(|a, b| b.current.cmp(&a.current).then(b.last_seen.cmp(&a.last_seen)));
    Ok(out)
}

/// The signed-in person's security events (sign-ins, password and email changes, sessions
/// ended), newest first.
pub async fn security_events(
    cx: &Context,
    who: &SignedIn,
    at: Position,
) -> Result<crate::model::page::Page<crate::model::workspace::AuditEventView>, AppError> {
    let id = who.account().id;
    cx.store
        .read(move |tx| audit::of_account(tx, id, &Window::at(audit::SECURITY_LIST, &at, 10)?))
        .await
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

/// Reads the signed-in person's account in the write that acts for them, proving that their
/// session still stands there: the account's session epoch is the one the request was let in
/// on, and the session's record (`keep`, when it has one) is still stored. A request let in
/// before "sign out everywhere", a password change, a reset or this session's revocation, whose
/// write comes after it, acts on nothing (401) — else it would move its own session to the new
/// epoch and outlive the revocation.
pub(super) fn account_of_standing_session(tx: &redb::WriteTransaction, who: &Account, keep: Option<u128>) -> Result<Account, AppError> {
    let account = accounts::get(tx, who.id)?.ok_or(AppError::Unauthenticated)?;
    if account.session_epoch != who.session_epoch || keep.map(|h| sessions::stands(tx, h)).transpose()? == Some(false) {
        return Err(AppError::Unauthenticated);
    }
    Ok(account)
}

/// "Sign out everywhere": ends every session of the signed-in person but this one, and raises
/// the session epoch, so known-device cookies issued before count for nothing (the caller moves
/// this session and this browser's cookie to the new epoch).
pub async fn revoke_other_sessions(cx: &Context, who: &SignedIn, addr: Option<IpAddr>) -> Result<(usize, Account), AppError> {
    let keep = who.session_handle();
    let (id, actor, me) = (who.account().id, who_acts(&who.account(), addr), who.account().clone());
    cx
        .store
        .write(move |tx| {
            let mut account = account_of_standing_session(tx, &me, keep)?;
            account.session_epoch += 1;
            accounts::update(tx, &account)?;
            let n = sessions::revoke_all(tx, id, keep)?;
            audit::record_security(tx, &actor, id, AuditAction::AccountSessionRevoked, &actor.name, &format!("{n} other session(s) signed out"))?;
            Ok((n, account))
        })
        .await
}
