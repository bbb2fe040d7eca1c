//! Personal access tokens for CI and the command line: named, limited to one workspace and to
//! the scopes chosen, expiring within a year, shown once and stored as a hash, revocable. A token
//! acts for its person only while they are an active member of its workspace.

use std::net::IpAddr;

use rand::RngCore;
use uuid::Uuid;

use super::who_acts;
use crate::model::account::{AccessTokenView, NewAccessToken, TokenScope};
use crate::model::audit::AuditAction;
use crate::model::AppError;
use crate::server::guard::SignedIn;
use crate::server::keys::sha256_hex;
use crate::server::store::access_tokens::{self, AccessToken};
use crate::server::store::audit;
use crate::server::store::{members, workspaces as ws};
use crate::server::Context;

/// What every token starts with, so that a leaked one is recognised (and a key is not taken for
/// a token, or a token for a key).
pub const TOKEN_PREFIX: &str = "mppat_";
/// A token lives at most this many days.
pub const MAX_DAYS: i64 = 365;
/// Tokens a person may have that are neither revoked nor expired.
pub const MAX_LIVE: usize = 50;
pub const NAME_MAX: usize = 100;
/// Ended tokens (revoked or expired) kept per person, newest first, so the account page shows
/// what became of them; an older one is deleted when a new token is made. A person's tokens are
/// then at most [`MAX_LIVE`] + `KEPT_ENDED`, however many they make and revoke.
pub const KEPT_ENDED: usize = 50;

/// The hash a token is stored under.
pub fn hash_of(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

fn view(t: &AccessToken, now: chrono::DateTime<chrono::Utc>) -> AccessTokenView {
    AccessTokenView {
        id: t.id,
        name: t.name.clone(),
        workspace: t.workspace_name.clone(),
        scopes: t.scopes.clone(),
        created: t.created,
        expires: t.expires,
        last_used: t.last_used,
        revoked: t.revoked,
        live: t.live(now),
    }
}

/// The signed-in person's tokens, newest first.
pub async fn list(cx: &Context, who: &SignedIn) -> Result<Vec<AccessTokenView>, AppError> {
    let id = who.account().id;
    let now = cx.clock.now();
    let mut tokens = cx.store.read(move |tx| access_tokens::of_account(tx, id)).await?;
    tokens.reverse();
    Ok(tokens.iter().map(|(_, t)| view(t, now)).collect())
}

/// What the form to create a token sends.
pub struct TokenForm {
    pub name: String,
    pub workspace: String,
    pub scopes: Vec<String>,
    /// Days until it expires, 1 to [`MAX_DAYS`].
    pub days: String,
}

pub use crate::model::account::TokenTerms as Terms;

/// Checks the form, each refusal naming its field.
pub fn check_form(form: TokenForm) -> Result<Terms, AppError> {
    let name = form.name.trim().to_string();
    if name.is_empty() {
        return Err(AppError::invalid("Name", "is required"));
    }
    if name.chars().count() > NAME_MAX {
        return Err(AppError::invalid("Name", format!("must be at most {NAME_MAX} characters")));
    }
    let mut scopes = Vec::new();
    for s in &form.scopes {
        let scope = TokenScope::parse(s).ok_or_else(|| AppError::invalid("Scopes", format!("has no scope named {s:?}")))?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err(AppError::invalid("Scopes", "needs at least one scope"));
    }
    scopes.sort_by_key(|s| TokenScope::ALL.iter().position(|x| x == s));
    let days: i64 = form
        .days
        .trim()
        .parse()
        .ok()
        .filter(|d| (1..=MAX_DAYS).contains(d))
        .ok_or_else(|| AppError::invalid("Expires in", format!("must be a whole number of days from 1 to {MAX_DAYS}")))?;
    let workspace = form.workspace.trim().to_string();
    if workspace.is_empty() {
        return Err(AppError::invalid("Workspace", "is required"));
    }
    Ok(Terms { name, workspace, scopes, days, signed_in_with: None })
}

/// A new random token.
pub fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    use base64::Engine as _;
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

/// The workspace named `name`, if `account` is an active member of it; otherwise a refusal that
/// names the field (the same whether the workspace does not exist or is not theirs).
pub fn member_workspace(tx: &impl crate::server::store::Reads, account: Uuid, name: &str) -> Result<ws::Workspace, AppError> {
    let w = ws::workspace_by_name(tx, name)?;
    let member = match &w {
        Some(w) => members::membership(tx, w.id, account)?.filter(|m| m.active),
        None => None,
    };
    match (w, member) {
        (Some(w), Some(_)) => Ok(w),
        _ => Err(AppError::invalid("Workspace", format!("must be a workspace you are an active member of ({name} is not)"))),
    }
}

/// Stores a token with `terms` for `account` under the hash of `token`, in the caller's write:
/// the workspace must be one the account is an active member of, and the account may have at
/// most [`MAX_LIVE`] live tokens. Audited.
pub fn issue(tx: &redb::WriteTransaction, actor: &crate::server::store::audit::Actor, account: Uuid, terms: Terms, token: &str, now: chrono::DateTime<chrono::Utc>) -> Result<AccessToken, AppError> {
    let w = member_workspace(tx, account, &terms.workspace)?;
    let (live, ended): (Vec<_>, Vec<_>) = access_tokens::of_account(tx, account)?.into_iter().partition(|(_, t)| t.live(now));
    if live.len() >= MAX_LIVE {
        return Err(AppError::conflict("Name", format!("can't be added: you have {MAX_LIVE} live tokens; revoke one first")));
    }
    // Oldest first: all but the newest `KEPT_ENDED` go.
    for (hash, old) in &ended[..ended.len().saturating_sub(KEPT_ENDED)] {
        access_tokens::remove(tx, hash, old)?;
    }
    let record = AccessToken {
        id: Uuid::now_v7(),
        account,
        name: terms.name,
        workspace: w.id,
        workspace_name: w.name.clone(),
        scopes: terms.scopes,
        created: now,
        expires: now + chrono::Duration::days(terms.days),
        last_used: None,
        revoked: None,
        signed_in_with: terms.signed_in_with,
    };
    access_tokens::insert(tx, &hash_of(token), &record)?;
    let scopes = record.scopes.iter().map(|s| s.code()).collect::<Vec<_>>().join(", ");
    audit::record_security(tx, actor, account, AuditAction::AccountTokenCreated, &record.name, &format!("for {} ({scopes}), expires {}", w.name, record.expires.format("%Y-%m-%d")))?;
    Ok(record)
}

/// Refuses terms for a workspace that requires single sign-on when `who`'s session was not
/// signed in with its provider: a token must not let a person around the workspace's rule.
/// (Whether they are an active member is checked in the write that makes the token.)
pub async fn single_sign_on_admits(cx: &Context, who: &SignedIn, terms: &Terms) -> Result<(), AppError> {
    let name = terms.workspace.clone();
    if let Some(w) = cx.store.read(move |tx| ws::workspace_by_name(tx, &name)).await? {
        who.single_sign_on_admits(&w).await?;
    }
    Ok(())
}

/// Creates a token; the token itself is in the answer and nowhere else.
pub async fn create(cx: &Context, who: &SignedIn, form: TokenForm, addr: Option<IpAddr>) -> Result<NewAccessToken, AppError> {
    who.signed_in_recently(&cx.clock, "make a personal access token")?;
    let mut terms = check_form(form)?;
    single_sign_on_admits(cx, who, &terms).await?;
    terms.signed_in_with = who.single_sign_on_provider().await;
    let token = new_token();
    let now = cx.clock.now();
    let (account, actor) = (who.account().id, who_acts(who.account(), addr));
    let issued = token.clone();
    let record = cx.store.write(move |tx| issue(tx, &actor, account, terms, &issued, now)).await?;
    Ok(NewAccessToken { token, view: view(&record, now) })
}

/// Revokes one of the signed-in person's tokens (named by its id): it stops at once.
pub async fn revoke(cx: &Context, who: &SignedIn, id: Uuid, addr: Option<IpAddr>) -> Result<(), AppError> {
    let (account, actor) = (who.account().id, who_acts(who.account(), addr));
    let now = cx.clock.now();
    cx.store
        .write(move |tx| {
            let found = access_tokens::of_account(tx, account)?.into_iter().find(|(_, t)| t.id == id);
            let Some((hash, mut token)) = found else {
                return Err(AppError::NotFound("You have no such token.".into()));
            };
            if token.revoked.is_some() {
                return Err(AppError::conflict("Token", "is already revoked"));
            }
            token.revoked = Some(now);
            access_tokens::update(tx, &hash, &token)?;
            audit::record_security(tx, &actor, account, AuditAction::AccountTokenRevoked, &token.name, &format!("for {}", token.workspace_name))?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{signed_in, state, verified_account};
    use super::*;
    use crate::model::workspace::{Role, WorkspaceStatus};

    fn form(name: &str, workspace: &str, scopes: &[&str], days: &str) -> TokenForm {
        TokenForm { name: name.into(), workspace: workspace.into(), scopes: scopes.iter().map(|s| s.to_string()).collect(), days: days.into() }
    }

    /// Ann, signed in, a Workspace Developer of Acme (`active`, or blocked).
    async fn ann_of_acme(cx: &Context, active: bool) -> SignedIn {
        let ann = verified_account(cx, "ann").await;
        let w = ws::fixtures::workspace("Acme", WorkspaceStatus::Active);
        let m = members::Membership { workspace: w.id, account: ann.id, role: Role::WorkspaceDeveloper, active, joined: chrono::Utc::now() };
        cx.store.write(move |tx| { ws::insert_workspace(tx, &w)?; members::put_membership(tx, &m) }).await.unwrap();
        signed_in(cx, &ann)
    }

    #[tokio::test]
    async fn a_token_is_shown_once_stored_as_a_hash_listed_and_revoked() {
        let cx = state();
        let who = ann_of_acme(&cx, true).await;
        let made = create(&cx, &who, form(" CI ", "acme", &["read", "upload", "upload"], "30"), None).await.unwrap();
        assert!(made.token.starts_with(TOKEN_PREFIX) && made.token.len() == TOKEN_PREFIX.len() + 43, "{}", made.token);
        assert_eq!((made.view.name.as_str(), made.view.workspace.as_str()), ("CI", "Acme"));
        assert_eq!(made.view.scopes, vec![TokenScope::Upload, TokenScope::Read]);
        assert_eq!((made.view.expires - made.view.created).num_days(), 30);
        let stored = cx.store.read({ let h = hash_of(&made.token); move |tx| access_tokens::by_hash(tx, &h) }).await.unwrap().unwrap();
        assert_eq!(stored.id, made.view.id);
        let ann = who.account().id;
        let raw = cx.store.read(move |tx| access_tokens::of_account(tx, ann)).await.unwrap();
        assert!(!serde_json::to_string(&raw).unwrap().contains(&made.token), "only the hash is kept");
        assert_eq!(list(&cx, &who).await.unwrap(), vec![made.view.clone()]);
        revoke(&cx, &who, made.view.id, None).await.unwrap();
        assert!(!list(&cx, &who).await.unwrap()[0].live);
        assert_eq!(revoke(&cx, &who, made.view.id, None).await.unwrap_err().status(), 409);
        // Someone else can't revoke it, or even tell it exists.
        let bob = verified_account(&cx, "bob").await;
        assert_eq!(revoke(&cx, &signed_in(&cx, &bob), made.view.id, None).await.unwrap_err().status(), 404);
    }

    /// Making and revoking tokens in a loop keeps the newest ended ones only: a person's tokens
    /// stay at most `MAX_LIVE` + `KEPT_ENDED`.
    #[tokio::test]
    async fn only_the_newest_ended_tokens_are_kept() {
        let cx = state();
        let who = ann_of_acme(&cx, true).await;
        let ann = who.account().id;
        let mut made = Vec::new();
        for i in 0..KEPT_ENDED + 3 {
            let t = create(&cx, &who, form(&format!("t{i}"), "acme", &["read"], "30"), None).await.unwrap();
            revoke(&cx, &who, t.view.id, None).await.unwrap();
            made.push(t);
        }
        let stored = |cx: &Context| {
            let cx = cx.clone();
            async move { cx.store.read(move |tx| access_tokens::of_account(tx, ann)).await.unwrap() }
        };
        // The newest ended tokens, and none of the two oldest: their hashes no longer find them.
        assert_eq!(stored(&cx).await.len(), KEPT_ENDED + 1, "the last revoked one waits for the next token");
        create(&cx, &who, form("live", "acme", &["read"], "30"), None).await.unwrap();
        let names: Vec<String> = list(&cx, &who).await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names.len(), KEPT_ENDED + 1);
        assert_eq!(names[0], "live", "a live token is never deleted to make room");
        assert_eq!(names[1], format!("t{}", KEPT_ENDED + 2), "newest first");
        assert_eq!(names[KEPT_ENDED], "t3", "t0 to t2 are gone");
        for gone in &made[..3] {
            let h = hash_of(&gone.token);
            assert!(cx.store.read(move |tx| access_tokens::by_hash(tx, &h)).await.unwrap().is_none());
        }
    }

    /// Where the workspace requires single sign-on, only a session signed in with its provider
    /// makes a token for it, on the account page or by approving a device's code.
    #[tokio::test]
    async fn a_workspace_that_requires_single_sign_on_gets_tokens_only_from_its_providers_sessions() {
        let cx = state();
        let who = ann_of_acme(&cx, true).await;
        cx.store
            .write(|tx| {
                let mut w = ws::workspace_by_name(tx, "Acme")?.unwrap();
                w.single_sign_on = Some(crate::model::workspace::WorkspaceSso { provider: "acme-okta".into(), required: true, groups: vec![] });
                ws::update_workspace(tx, &w)
            })
            .await
            .unwrap();
        let e = create(&cx, &who, form("ci", "Acme", &["upload"], "30"), None).await.unwrap_err();
        assert_eq!((e.status(), e.code()), (403, "sso_required"), "{e}");
        let device = super::super::device::start(&cx, super::super::device::CLIENT_ID, None).await.unwrap();
        let approve = || Some(form("laptop", "Acme", &["upload"], "30"));
        let e = super::super::device::decide(&cx, &who, &device.user_code, approve()).await.unwrap_err();
        assert_eq!(e.code(), "sso_required", "{e}");
        assert!(list(&cx, &who).await.unwrap().is_empty(), "no token was made");
        // Signed in with another provider: still refused. With Acme's: made.
        who.session().insert(crate::server::store::sessions::SSO_KEY, "other-idp").await.unwrap();
        assert_eq!(create(&cx, &who, form("ci", "Acme", &["upload"], "30"), None).await.unwrap_err().code(), "sso_required");
        who.session().insert(crate::server::store::sessions::SSO_KEY, "acme-okta").await.unwrap();
        create(&cx, &who, form("ci", "Acme", &["upload"], "30"), None).await.unwrap();
        super::super::device::decide(&cx, &who, &device.user_code, approve()).await.unwrap();
    }

    /// A token outlives the session that makes it, so a session that signed in long ago (a
    /// stolen cookie, say) makes none, on the account page or by approving a device's code; a
    /// fresh sign-in does.
    #[tokio::test]
    async fn a_session_that_signed_in_long_ago_makes_no_token_until_it_signs_in_again() {
        let cx = state();
        let who = ann_of_acme(&cx, true).await;
        cx.clock.advance(std::time::Duration::from_secs(crate::server::guard::RECENT_SIGN_IN_SECS as u64 - 60));
        create(&cx, &who, form("early", "Acme", &["upload"], "30"), None).await.unwrap();
        cx.clock.advance(std::time::Duration::from_secs(61));
        let e = create(&cx, &who, form("ci", "Acme", &["upload"], "30"), None).await.unwrap_err();
        assert_eq!((e.status(), e.code()), (403, "sign_in_again"), "{e}");
        assert!(e.to_string().starts_with("To make a personal access token, sign in again first"), "{e}");
        let device = super::super::device::start(&cx, super::super::device::CLIENT_ID, None).await.unwrap();
        let approve = || Some(form("laptop", "Acme", &["upload"], "30"));
        let e = super::super::device::decide(&cx, &who, &device.user_code, approve()).await.unwrap_err();
        assert_eq!(e.code(), "sign_in_again", "{e}");
        assert_eq!(list(&cx, &who).await.unwrap().len(), 1, "only the token made in time");
        // Denying needs no fresh sign-in: it makes nothing.
        super::super::device::decide(&cx, &who, &device.user_code, None).await.unwrap();
        // A session signed in now (the clock's now) may.
        let again = signed_in(&cx, who.account());
        create(&cx, &again, form("ci", "Acme", &["upload"], "30"), None).await.unwrap();
    }

    #[tokio::test]
    async fn refusals_name_the_field_and_change_nothing() {
        let cx = state();
        let who = ann_of_acme(&cx, false).await;
        for (f, field) in [
            (form("", "Acme", &["upload"], "30"), "Name"),
            (form(&"x".repeat(101), "Acme", &["upload"], "30"), "Name"),
            (form("ci", "Acme", &[], "30"), "Scopes"),
            (form("ci", "Acme", &["admin"], "30"), "Scopes"),
            (form("ci", "Acme", &["upload"], "0"), "Expires in"),
            (form("ci", "Acme", &["upload"], "366"), "Expires in"),
            (form("ci", "Acme", &["upload"], "a week"), "Expires in"),
            (form("ci", "", &["upload"], "30"), "Workspace"),
            (form("ci", "Nowhere", &["upload"], "30"), "Workspace"),
            // A blocked member gets no token for that workspace.
            (form("ci", "Acme", &["upload"], "30"), "Workspace"),
        ] {
            let e = create(&cx, &who, f, None).await.unwrap_err();
            assert_eq!((e.status(), e.field()), (422, Some(field)), "{e}");
        }
        assert!(list(&cx, &who).await.unwrap().is_empty());
    }
}
