//! The person behind a Studio request: a personal access token (`Authorization: Bearer
//! mppat_…`) sent beside the Upload Key's signature. The key proves the App; the token proves the
//! person and their standing — known, neither revoked nor expired, holding the scope, for the
//! key's workspace, an active member there (with a second factor where the workspace requires
//! one) who may do this to the mini program. Checked before the body is read and again in the
//! transaction that acts, which also notes when the token was last used.

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::model::account::TokenScope;
use crate::model::AppError;
use crate::server::domain::accounts::access_tokens::{hash_of, TOKEN_PREFIX};
use crate::server::guard::{MemberScope, MiniNeed, MiniProgramAccess, WorkspaceAction};
use crate::server::http_error::ApiError;
use crate::server::store::access_tokens;
use crate::server::store::accounts::{self, Account};
use crate::server::store::Reads;

/// A token as the request presents it: the hash it is stored under.
#[derive(Clone, Debug)]
pub(crate) struct Presented {
    pub hash: String,
}

fn token_invalid(why: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "token_invalid", format!("The personal access token {why}: make a new one on your account page (or run mpdp studio login)."))
}

/// The token of `Authorization: Bearer mppat_…`, if the request has one.
pub(crate) fn presented(authorization: Option<&str>) -> Result<Option<Presented>, ApiError> {
    let Some(value) = authorization else { return Ok(None) };
    let token = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX))
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "token_malformed", format!("The Authorization header must be \"Bearer {TOKEN_PREFIX}…\": a personal access token.")))?;
    Ok(Some(Presented { hash: hash_of(token) }))
}

/// The authorization header of a request.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// A token that acts alone (no key signs the request): known, live, holding `scope`; its record
/// and its person's account. What the person may do is then checked as for a signed-in member.
pub(crate) fn holder(tx: &impl Reads, token: &Presented, scope: TokenScope, now: DateTime<Utc>) -> Result<Result<(Account, access_tokens::AccessToken), ApiError>, AppError> {
    let Some(t) = access_tokens::by_hash(tx, &token.hash)? else {
        return Ok(Err(token_invalid("is not known to this server")));
    };
    if let Err(e) = usable(&t, scope, now) {
        return Ok(Err(e));
    }
    if let Some(w) = crate::server::store::workspaces::get_workspace(tx, t.workspace)? {
        if let Err(e) = single_sign_on_admits(&t, &w) {
            return Ok(Err(e));
        }
    }
    match accounts::get(tx, t.account)? {
        Some(a) => Ok(Ok((a, t))),
        None => Ok(Err(token_invalid("belongs to an account that no longer exists"))),
    }
}

/// Where the token's workspace requires single sign-on, only a token made by a session signed in
/// with its provider acts: one made before the rule, or by a password's session, stops, as that
/// session would.
fn single_sign_on_admits(t: &access_tokens::AccessToken, w: &crate::server::store::workspaces::Workspace) -> Result<(), ApiError> {
    match w.single_sign_on.as_ref().filter(|s| s.required) {
        Some(sso) if t.signed_in_with.as_deref() != Some(sso.provider.as_str()) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_single_sign_on",
            format!("The workspace {} requires single sign-on, and this personal access token was not made by a session signed in with it: sign in with single sign-on, then make a new token (or run mpdp studio login).", w.name),
        )),
        _ => Ok(()),
    }
}

/// Neither revoked nor expired, and holding `scope`.
fn usable(t: &access_tokens::AccessToken, scope: TokenScope, now: DateTime<Utc>) -> Result<(), ApiError> {
    if t.revoked.is_some() {
        return Err(token_invalid("has been revoked"));
    }
    if now >= t.expires {
        return Err(token_invalid(&format!("expired on {}", t.expires.format("%Y-%m-%d"))));
    }
    if !t.scopes.contains(&scope) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_scope",
            format!("This personal access token lacks the {} scope (it has: {}).", scope.code(), t.scopes.iter().map(|s| s.code()).collect::<Vec<_>>().join(", ")),
        ));
    }
    Ok(())
}

/// Checks the token in `tx` for `scope` on the mini program `mini_program` of `workspace`
/// (`need`, as a member would need it); the person's account. A refusal is `Ok(Err(_))`, so a
/// caller's transaction may still commit what it wrote before.
pub(crate) fn check(
    tx: &impl Reads,
    token: &Presented,
    scope: TokenScope,
    workspace: (Uuid, &str),
    mini_program: Uuid,
    need: MiniNeed,
    now: DateTime<Utc>,
) -> Result<Result<(Account, access_tokens::AccessToken), ApiError>, AppError> {
    let (account, t) = match holder(tx, token, scope, now)? {
        Ok(held) => held,
        Err(e) => return Ok(Err(e)),
    };
    if t.workspace != workspace.0 {
        return Ok(Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token_workspace",
            format!("This personal access token is for the workspace {}, not for {}, whose Upload Key signed the request.", t.workspace_name, workspace.1),
        )));
    }
    let action = match need {
        MiniNeed::Upload => WorkspaceAction::UploadVersions,
        _ => WorkspaceAction::ViewMiniPrograms,
    };
    let standing = MemberScope::for_account(tx, workspace.0, workspace.1, account.id, action)
        .and_then(|scope| MiniProgramAccess::check(tx, &scope, mini_program, need).map(drop));
    match standing {
        Ok(()) => Ok(Ok((account, t))),
        Err(e) => Ok(Err(e.into())),
    }
}

/// Notes that the token under `hash` was used now (in the caller's write).
pub(crate) fn used(tx: &redb::WriteTransaction, token: &Presented, mut t: access_tokens::AccessToken, now: DateTime<Utc>) -> Result<(), AppError> {
    t.last_used = Some(now);
    access_tokens::update(tx, &token.hash, &t)
}
