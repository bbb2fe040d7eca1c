//! Single sign-on with OpenID Connect: the operator's providers, and a sign-in through one —
//! the authorization code flow with PKCE, its `state` and `nonce` checked, the ID token verified
//! against the provider's published keys, and the person matched to an account by the provider's
//! subject, else by a verified email address, else given a new account. A workspace that uses the
//! provider may make the provider's groups members in chosen roles.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreGenderClaim, CoreProviderMetadata,
};
use openidconnect::{
    reqwest, AccessTokenHash, AdditionalClaims, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoClaims,
};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{new_account, who_acts};
use crate::model::{Missing, OrMissing};
use crate::model::account::{email_key, validate_email, username_key, SsoButton, SsoProviderView, SsoRefusal};
use crate::model::audit::AuditAction;
use crate::model::workspace::WorkspaceStatus;
use crate::model::AppError;
use crate::server::guard::Operator;
use crate::server::store::audit::{self, Actor};
use crate::server::store::sso::{self, SsoProvider, MAX_PROVIDERS};
use crate::server::store::tables::ACCOUNTS_BY_USERNAME;
use crate::server::store::{accounts, admissions, members, workspaces as ws};
use crate::server::Context;

pub use crate::server::store::accounts::Account;

/// How long a sign-in may take at the provider.
pub const PENDING_SECS: i64 = 10 * 60;
pub const ID_MAX: usize = 32;
pub const LABEL_MAX: usize = 40;

/// What the operator types to add or edit a provider.
#[derive(Debug, Clone, Default)]
pub struct ProviderForm {
    pub id: String,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    /// Blank when editing keeps the secret already saved.
    pub client_secret: String,
    /// Domains separated by commas, spaces or new lines.
    pub allowed_domains: String,
    /// Scopes asked beside `openid email profile` (such as `groups`), separated by spaces.
    pub scopes: String,
}

/// Checks a provider form; `existing` is the provider it edits (same id), if any.
pub fn check_form(form: ProviderForm, existing: Option<&SsoProvider>, now: chrono::DateTime<chrono::Utc>) -> Result<SsoProvider, AppError> {
    let id = form.id.trim().to_string();
    if id.is_empty() {
        return Err(AppError::invalid("ID", "is required"));
    }
    if id.len() > ID_MAX
        || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || id.starts_with('-')
    {
        return Err(AppError::invalid("ID", format!("must be 1–{ID_MAX} lowercase letters, digits and '-', not starting with '-'")));
    }
    let label = form.label.trim().to_string();
    if label.is_empty() || label.chars().count() > LABEL_MAX {
        return Err(AppError::invalid("Button label", format!("must be 1–{LABEL_MAX} characters")));
    }
    let issuer = check_issuer(&form.issuer)?;
    let client_id = form.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 200 {
        return Err(AppError::invalid("Client ID", "must be 1–200 characters"));
    }
    let secret = form.client_secret.trim().to_string();
    let client_secret = match (secret.is_empty(), existing) {
        (true, Some(e)) => e.client_secret.clone(),
        (true, None) => return Err(AppError::invalid("Client secret", "is required")),
        (false, _) if secret.len() > 500 => return Err(AppError::invalid("Client secret", "may be at most 500 characters")),
        (false, _) => secret,
    };
    let mut allowed_domains: Vec<String> = Vec::new();
    for d in form.allowed_domains.split(|c: char| c == ',' || c.is_whitespace()).filter(|d| !d.is_empty()) {
        let d = d.trim_start_matches('@').to_ascii_lowercase();
        let ok = d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !ok {
            return Err(AppError::invalid("Allowed email domains", format!("{d} is not a domain name (such as example.com)")));
        }
        if !allowed_domains.contains(&d) {
            allowed_domains.push(d);
        }
    }
    if allowed_domains.len() > 50 {
        return Err(AppError::invalid("Allowed email domains", "may list at most 50 domains"));
    }
    let mut scopes: Vec<String> = Vec::new();
    for s in form.scopes.split_whitespace() {
        if s.len() > 100 || !s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/')) {
            return Err(AppError::invalid("Extra scopes", format!("{s} is not a scope name (letters, digits and _ - . : /)")));
        }
        if !["openid", "email", "profile"].contains(&s) && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_string());
        }
    }
    if scopes.len() > 10 {
        return Err(AppError::invalid("Extra scopes", "may list at most 10 scopes"));
    }
    Ok(SsoProvider {
        id,
        label,
        issuer,
        client_id,
        client_secret,
        allowed_domains,
        scopes,
        created: existing.map(|e| e.created).unwrap_or(now),
    })
}

/// An issuer must be an absolute `https` URL without query or fragment; plain `http` only for a
/// provider on this machine (a test provider, or one behind a local proxy).
fn check_issuer(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim().trim_end_matches('/');
    let bad = || AppError::invalid("Issuer URL", "must be an https:// URL without query or fragment (http:// only for 127.0.0.1 or localhost)");
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    let local = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && local)) || url.query().is_some() || url.fragment().is_some() || raw.len() > 500 {
        return Err(bad());
    }
    Ok(raw.to_string())
}

/// Adds a provider, or edits the one with the same id (its secret kept when left blank).
pub async fn save_provider(cx: &Context, _op: &Operator, form: ProviderForm, create: bool, actor: Actor) -> Result<(), AppError> {
    let now = cx.clock.now();
    cx.store
        .write(move |tx| {
            let existing = sso::get(tx, form.id.trim())?;
            match (&existing, create) {
                (Some(_), true) => return Err(AppError::conflict("ID", "is taken by another provider")),
                (None, false) => return Err(Missing::SsoProvider.into()),
                _ => {}
            }
            if create && sso::list(tx)?.len() >= MAX_PROVIDERS {
                return Err(AppError::conflict("Providers", format!("at most {MAX_PROVIDERS} may be configured")));
            }
            let p = check_form(form, existing.as_ref(), now)?;
            sso::put(tx, &p)?;
            let details = format!("{} at {} (client {})", p.label, p.issuer, p.client_id);
            audit::record(tx, &actor, None, AuditAction::SsoProviderSaved, &p.id, &details)?;
            Ok(())
        })
        .await
}

/// Deletes a provider that no workspace uses. Its people keep their accounts (and may set a
/// password with "Forgot password?").
pub async fn delete_provider(cx: &Context, _op: &Operator, id: String, actor: Actor) -> Result<(), AppError> {
    cx.store
        .write(move |tx| {
            let p = sso::get(tx, &id)?.or_missing(Missing::SsoProvider)?;
            let using = sso::workspaces_using(tx, &id)?;
            if !using.is_empty() {
                return Err(AppError::conflict(
                    "Provider",
                    format!("is used by {} workspace(s): their Workspace Admins must choose another first", using.len()),
                ));
            }
            sso::remove(tx, &id)?;
            audit::record(tx, &actor, None, AuditAction::SsoProviderDeleted, &p.id, &p.label)?;
            Ok(())
        })
        .await
}

/// The address a provider sends people back to (registered at the provider as the redirect URI).
pub fn redirect_uri(cx: &Context, id: &str) -> String {
    format!("{}/sso/{id}/callback", cx.config.public_url.trim_end_matches('/'))
}

/// Every provider, for the operator.
pub async fn providers(cx: &Context, _op: &Operator) -> Result<Vec<SsoProviderView>, AppError> {
    let rows = cx
        .store
        .read(|tx| {
            let mut out = Vec::new();
            for p in sso::list(tx)? {
                let mut names = Vec::new();
                for w in sso::workspaces_using(tx, &p.id)? {
                    if let Some(w) = ws::get_workspace(tx, w)? {
                        names.push(w.name);
                    }
                }
                out.push((p, names));
            }
            Ok(out)
        })
        .await?;
    Ok(rows
        .into_iter()
        .map(|(p, workspaces)| SsoProviderView {
            redirect_uri: redirect_uri(cx, &p.id),
            id: p.id,
            label: p.label,
            issuer: p.issuer,
            client_id: p.client_id,
            allowed_domains: p.allowed_domains,
            scopes: p.scopes,
            created: p.created,
            workspaces,
        })
        .collect())
}

/// The login page's buttons: every provider's id and label.
pub async fn buttons(cx: &Context) -> Result<Vec<SsoButton>, AppError> {
    let list = cx.store.read(|tx| sso::list(tx)).await?;
    Ok(list.into_iter().map(|p| SsoButton { id: p.id, label: p.label }).collect())
}

/// A sign-in begun in a browser, kept in its session until the provider sends the person back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub next: Option<String>,
    pub at: i64,
}

/// The groups claim, which many providers add (Okta, Keycloak, Entra ID, Authentik…).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Groups {
    #[serde(default)]
    groups: Vec<String>,
}
impl AdditionalClaims for Groups {}

type Discovered = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// One client for every provider: no redirects followed (a provider's answer that redirects is
/// refused, not followed somewhere else), and a bounded wait.
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client with rustls")
    })
}

/// How long a provider's discovery document (and its keys) is used before it is read again.
const DISCOVERY_SECS: u64 = 5 * 60;

/// The discovery documents read lately, by issuer: a burst of sign-ins (or of requests to
/// `/sso/{id}` from anyone) reads the provider once, not once each.
fn discovered() -> &'static std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, CoreProviderMetadata)>> {
    static CACHE: OnceLock<std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, CoreProviderMetadata)>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The provider's discovery document (its issuer must be the one configured), read at most
/// every [`DISCOVERY_SECS`].
async fn metadata(p: &SsoProvider) -> Result<CoreProviderMetadata, SsoRefusal> {
    let fresh = |at: &std::time::Instant| at.elapsed() < Duration::from_secs(DISCOVERY_SECS);
    if let Some((_, meta)) = discovered().lock().ok().and_then(|c| c.get(&p.issuer).filter(|(at, _)| fresh(at)).cloned()) {
        return Ok(meta);
    }
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|_| SsoRefusal::Unreachable)?;
    let meta = CoreProviderMetadata::discover_async(issuer, http()).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "single sign-on discovery failed");
        SsoRefusal::Unreachable
    })?;
    if let Ok(mut c) = discovered().lock() {
        c.retain(|_, (at, _)| fresh(at));
        c.insert(p.issuer.clone(), (std::time::Instant::now(), meta.clone()));
    }
    Ok(meta)
}

/// Makes the provider's client from its discovery document.
async fn discover(cx: &Context, p: &SsoProvider) -> Result<(Discovered, String), SsoRefusal> {
    let meta = metadata(p).await?;
    let issuer = meta.issuer().to_string();
    let post_only = meta
        .token_endpoint_auth_methods_supported()
        .is_some_and(|m| m.contains(&CoreClientAuthMethod::ClientSecretPost) && !m.contains(&CoreClientAuthMethod::ClientSecretBasic));
    let redirect = RedirectUrl::new(redirect_uri(cx, &p.id)).map_err(|_| SsoRefusal::Unreachable)?;
    let mut client = CoreClient::from_provider_metadata(meta, ClientId::new(p.client_id.clone()), Some(ClientSecret::new(p.client_secret.clone())))
        .set_redirect_uri(redirect);
    if post_only {
        client = client.set_auth_type(AuthType::RequestBody);
    }
    Ok((client, issuer))
}

/// The provider `id`.
async fn provider(cx: &Context, id: &str) -> Result<SsoProvider, SsoRefusal> {
    let id = id.to_string();
    cx.store
        .read(move |tx| sso::get(tx, &id))
        .await
        .map_err(|_| SsoRefusal::Unreachable)?
        .ok_or(SsoRefusal::UnknownProvider)
}

/// Begins a sign-in at the provider `id`: the address to send the browser to, and what its
/// session keeps until the provider sends it back.
pub async fn begin(cx: &Context, id: &str, next: Option<String>, client: Option<IpAddr>) -> Result<(String, Pending), SsoRefusal> {
    let p = provider(cx, id).await?;
    if let Some(c) = client {
        cx.sign_in_starts.check_address(c).map_err(|_| SsoRefusal::TooMany)?;
    }
    let (client, _) = discover(cx, &p).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scopes(p.scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge)
        .url();
    let pending = Pending {
        provider: p.id,
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        verifier: verifier.secret().clone(),
        next: crate::model::local_path(next.as_deref()),
        at: cx.clock.timestamp(),
    };
    Ok((url.to_string(), pending))
}

/// What the provider sent the browser back with.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// RFC 9207: the issuer of the authorization response, where the provider says it.
    pub iss: Option<String>,
}

/// Who the provider vouched for.
struct Vouched {
    subject: String,
    email: String,
    verified: bool,
    preferred: Option<String>,
    groups: Vec<String>,
}

/// Finishes the sign-in the session's `pending` began (taken out of the session by the caller,
/// so an answer is used once): the account signed in, the provider's label, and where to go.
pub async fn finish(
    cx: &Context,
    provider: &str,
    pending: Option<Pending>,
    answer: Callback,
    client: Option<IpAddr>,
) -> Result<(Account, String, Option<String>), SsoRefusal> {
    let p = self::provider(cx, provider).await?;
    let age = pending.as_ref().map(|x| cx.clock.timestamp() - x.at);
    let pending = match (pending, age) {
        (Some(x), Some(age)) if x.provider == p.id && (0..=PENDING_SECS).contains(&age) => x,
        // Nothing was begun here: anyone can send this, so it is not recorded.
        _ => return Err(SsoRefusal::State),
    };
    let same_state = answer
        .state
        .as_deref()
        .is_some_and(|s| crate::server::keys::sha256_hex(s.as_bytes()) == crate::server::keys::sha256_hex(pending.state.as_bytes()));
    if !same_state {
        return Err(refused(cx, &p, None, SsoRefusal::State, "state does not match").await);
    }
    if let Some(e) = answer.error {
        let e: String = e.chars().take(100).collect();
        return Err(refused(cx, &p, None, SsoRefusal::Denied, &format!("the provider answered {e}")).await);
    }
    let Some(code) = answer.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(refused(cx, &p, None, SsoRefusal::Code, "no code").await);
    };
    let (oidc, issuer) = discover(cx, &p).await?;
    if answer.iss.as_deref().is_some_and(|iss| iss != issuer) {
        return Err(refused(cx, &p, None, SsoRefusal::Issuer, "the authorization response names another issuer").await);
    }
    let vouched = match vouch(&oidc, code, &pending).await {
        Ok(v) => v,
        Err((r, why)) => return Err(refused(cx, &p, None, r, &why).await),
    };
    if !p.admits(&vouched.email) {
        return Err(refused(cx, &p, Some(&vouched.email), SsoRefusal::Domain, "outside the allowed email domains").await);
    }
    let (label, next, now) = (p.label.clone(), pending.next.clone(), cx.clock.now());
    let outcome = cx
        .store
        .write(move |tx| sign_in(tx, &p, &vouched, client, now))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "single sign-on could not be recorded");
            SsoRefusal::Unreachable
        })?;
    match outcome {
        Ok(account) => {
            tracing::info!(account = %account.id, provider = provider, "signed in with single sign-on");
            Ok((account, label, next))
        }
        Err(r) => Err(r),
    }
}

/// Exchanges the code (with the PKCE verifier), verifies the ID token (signature, issuer,
/// audience, expiry, nonce, and the access token's hash), and reads the userinfo endpoint.
async fn vouch(oidc: &Discovered, code: String, pending: &Pending) -> Result<Vouched, (SsoRefusal, String)> {
    let token = oidc
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| (SsoRefusal::Unreachable, e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
        .request_async(http())
        .await
        .map_err(|e| (SsoRefusal::Code, format!("token endpoint: {e}")))?;
    let id_token = token.id_token().ok_or((SsoRefusal::Token, "no ID token".to_string()))?;
    let verifier = oidc.id_token_verifier();
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = id_token.claims(&verifier, &nonce).map_err(|e| (SsoRefusal::Token, format!("ID token: {e}")))?;
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| (SsoRefusal::Token, e.to_string()))?;
        let key = id_token.signing_key(&verifier).map_err(|e| (SsoRefusal::Token, e.to_string()))?;
        let actual = AccessTokenHash::from_token(token.access_token(), alg, key).map_err(|e| (SsoRefusal::Token, e.to_string()))?;
        if actual != *expected {
            return Err((SsoRefusal::Token, "the access token's hash does not match".into()));
        }
    }
    let subject = claims.subject().to_string();
    let mut email = claims.email().map(|e| e.to_string());
    let mut verified = claims.email_verified();
    let mut preferred = claims.preferred_username().map(|u| u.to_string());
    let mut groups = Vec::new();
    if let Ok(request) = oidc.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
        let info: UserInfoClaims<Groups, CoreGenderClaim> = request
            .request_async(http())
            .await
            .map_err(|e| (SsoRefusal::Token, format!("userinfo: {e}")))?;
        if let Some(e) = info.email() {
            email = Some(e.to_string());
            verified = info.email_verified();
        }
        preferred = info.preferred_username().map(|u| u.to_string()).or(preferred);
        groups = info.additional_claims().groups.clone();
    }
    let email = email.filter(|e| validate_email("Email", e).is_ok()).ok_or((SsoRefusal::NoEmail, "no usable email".to_string()))?;
    Ok(Vouched { subject, email, verified: verified == Some(true), preferred, groups })
}

/// Records a refused sign-in (by the email, when the provider gave one) and returns the refusal.
async fn refused(cx: &Context, p: &SsoProvider, email: Option<&str>, r: SsoRefusal, why: &str) -> SsoRefusal {
    tracing::info!(provider = %p.id, refusal = r.code(), why, "single sign-on refused");
    let name = email.map(str::to_string).unwrap_or_else(|| format!("single sign-on: {}", p.label));
    let details = format!("single sign-on with {}: {why}", p.label);
    let target = email.unwrap_or(&p.id).to_string();
    let _ = cx
        .store
        .write(move |tx| {
            let actor = Actor::named(name);
            audit::record(tx, &actor, None, AuditAction::AccountSignInFailed, &target, &details)
        })
        .await;
    r
}

/// In one write: finds or makes the account, links the identity, admits it to the workspaces
/// whose group roles it has, and records the sign-in.
///
/// The provider's word that it verified the address proves the address only in the domains the
/// operator listed for it: a provider allowed for any domain (a tenant's own, say, whose admins
/// can give anyone any address) could otherwise claim every account on the server, the
/// operator's included. Its word elsewhere links no existing account and proves no address.
fn sign_in(tx: &redb::WriteTransaction, p: &SsoProvider, v: &Vouched, client: Option<IpAddr>, now: chrono::DateTime<chrono::Utc>) -> Result<Result<Account, SsoRefusal>, AppError> {
    let vouches = v.verified && !p.allowed_domains.is_empty() && p.admits(&v.email);
    let linked = match sso::identity(tx, &p.id, &v.subject)? {
        Some(id) => match accounts::get(tx, id)? {
            Some(a) => Some(a),
            None => {
                sso::unlink(tx, &p.id, &v.subject)?;
                None
            }
        },
        None => None,
    };
    let mut created = false;
    let mut evicted = None;
    let mut account = match linked {
        Some(a) => a,
        None => match accounts::find_by_login(tx, &v.email)? {
            Some(mut a) if vouches => {
                // The provider proves the address: an account that had not proven it becomes this
                // person's, and whoever registered it loses every way in (the password too).
                if !a.email_verified && email_key(&a.email) == email_key(&v.email) {
                    evicted = Some(super::evict_unproven_holder(tx, &mut a, now)?);
                    a.password_hash = String::new();
                    accounts::update(tx, &a)?;
                }
                sso::link(tx, &p.id, &v.subject, a.id)?;
                a
            }
            Some(a) => {
                let actor = Actor { id: None, name: v.email.clone(), client: client.map(|c| c.to_string()) };
                let (why, refusal) = if v.verified {
                    ("the provider does not speak for the address's domain (no allowed email domains are listed for it)", SsoRefusal::NotVouched)
                } else {
                    ("the provider has not verified the address", SsoRefusal::Unverified)
                };
                audit::record_security(tx, &actor, a.id, AuditAction::AccountSignInFailed, &v.email, &format!("single sign-on with {}: {why}", p.label))?;
                return Ok(Err(refusal));
            }
            None => {
                let mut a = new_account(v.email.clone(), free_username(tx, v)?, String::new(), false);
                a.email_verified = vouches;
                accounts::insert(tx, &a)?;
                sso::link(tx, &p.id, &v.subject, a.id)?;
                created = true;
                a
            }
        },
    };
    let actor = who_acts(&account, client);
    if created {
        audit::record_security(tx, &actor, account.id, AuditAction::AccountSignedUp, &account.email, &format!("through single sign-on with {}", p.label))?;
    }
    // The provider proving the account's own address counts as the emailed link would.
    if vouches && !account.email_verified && email_key(&account.email) == email_key(&v.email) {
        account.email_verified = true;
        accounts::update(tx, &account)?;
        let details = match &evicted {
            Some(gone) => format!("by {}; the password and {}", p.label, gone.details()),
            None => format!("by {}", p.label),
        };
        audit::record_security(tx, &actor, account.id, AuditAction::AccountEmailVerified, &account.email, &details)?;
    }
    if account.email_verified {
        for (workspace, name, role) in admissions::admit_pending(tx, account.id, &account.email)? {
            audit::record(tx, &actor, Some((workspace, &name)), AuditAction::MemberAdmitted, &account.email, &format!("as {} (a representative whose address is now verified)", role.label()))?;
        }
    }
    apply_group_roles(tx, p, &account, &v.groups, &actor)?;
    // With a second factor, only half a login: it is recorded once the second step is passed.
    if !account.has_second_factor() {
        audit::record_security(tx, &actor, account.id, AuditAction::AccountSignedIn, &actor.name, &format!("with single sign-on ({})", p.label))?;
    }
    Ok(Ok(account))
}

/// Makes the person an active member of each workspace using `p` where one of their groups has
/// a role, or raises their role to it. Roles are never lowered and blocks never lifted here:
/// those stay the Workspace Admin's.
fn apply_group_roles(tx: &redb::WriteTransaction, p: &SsoProvider, account: &Account, groups: &[String], actor: &Actor) -> Result<(), AppError> {
    if groups.is_empty() {
        return Ok(());
    }
    for id in sso::workspaces_using(tx, &p.id)? {
        let Some(w) = ws::get_workspace(tx, id)? else { continue };
        if w.status == WorkspaceStatus::Suspended {
            continue;
        }
        let Some(role) = w.single_sign_on.as_ref().filter(|s| s.provider == p.id).and_then(|s| s.role_for(groups)) else {
            continue;
        };
        match members::membership(tx, id, account.id)? {
            None => {
                members::put_membership(tx, &members::Membership { workspace: id, account: account.id, role, active: true, joined: crate::server::store::now() })?;
                audit::record(tx, actor, Some((id, &w.name)), AuditAction::MemberJoined, &account.email, &format!("as {} through a group of {}", role.label(), p.label))?;
            }
            Some(mut m) if m.active && role.rank() > m.role.rank() => {
                let change = format!("{} → {} through a group of {}", m.role.label(), role.label(), p.label);
                m.role = role;
                members::put_membership(tx, &m)?;
                audit::record(tx, actor, Some((id, &w.name)), AuditAction::MemberRoleChanged, &account.email, &change)?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// A username for a new account: the provider's preferred username, else the email's local
/// part, reduced to the username rules, with a number added while it is taken.
fn free_username(tx: &redb::WriteTransaction, v: &Vouched) -> Result<String, AppError> {
    let raw = v.preferred.clone().unwrap_or_else(|| v.email.split('@').next().unwrap_or_default().to_string());
    let mut base: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '-' })
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    if base.len() < 3 {
        base = format!("user{base}");
    }
    let taken = tx.open_table(ACCOUNTS_BY_USERNAME)?;
    for n in 1..10_000u32 {
        let candidate = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let key = username_key(&candidate);
        if !crate::model::account::RESERVED_USERNAMES.contains(&key.as_str()) && taken.get(key.as_str())?.is_none() {
            return Ok(candidate);
        }
    }
    Ok(format!("user-{}", &Uuid::new_v4().simple().to_string()[..12]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vouched(email: &str, verified: bool) -> Vouched {
        Vouched { subject: "sub-9".into(), email: email.into(), verified, preferred: None, groups: vec![] }
    }

    /// A provider vouching for an address proves it: an account registered with it but never
    /// proven becomes the provider's person's, and its registrant keeps no way in — not even
    /// the password. An account that had proven its address keeps everything.
    #[tokio::test]
    async fn a_provider_proving_the_address_takes_the_account_from_whoever_registered_it() {
        use super::super::test_support::{plant_ways_in, state, unverified_account, verified_account, ways_in};
        let cx = state();
        let p = check_form(ProviderForm { allowed_domains: "example.com".into(), ..form() }, None, cx.clock.now()).unwrap();
        let held = unverified_account(&cx, "ann").await;
        plant_ways_in(&cx, held.id).await;
        let now = cx.clock.now();
        let (pp, v) = (p.clone(), vouched("ann@example.com", true));
        let a = cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap().unwrap();
        assert_eq!(a.id, held.id);
        assert!(a.email_verified && a.password_hash.is_empty() && a.session_epoch > held.session_epoch);
        assert_eq!(ways_in(&cx, held.id).await, (0, false, 0, false));
        let linked = cx.store.read(|tx| sso::identity(tx, "acme", "sub-9")).await.unwrap();
        assert_eq!(linked, Some(held.id), "the provider's identity is linked instead");
        // An unverified answer links nothing and takes nothing.
        let bob = unverified_account(&cx, "bob").await;
        let (pp, v) = (p.clone(), Vouched { subject: "sub-8".into(), ..vouched("bob@example.com", false) });
        assert!(cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap().is_err());
        let kept = cx.store.read(move |tx| accounts::get(tx, bob.id)).await.unwrap().unwrap();
        assert_eq!(kept.password_hash, bob.password_hash);
        // A proven account is linked as it is.
        let cy = verified_account(&cx, "cyd").await;
        plant_ways_in(&cx, cy.id).await;
        let (pp, v) = (p, Vouched { subject: "sub-7".into(), ..vouched("cyd@example.com", true) });
        let a = cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap().unwrap();
        assert_eq!((a.id, a.password_hash.as_str()), (cy.id, cy.password_hash.as_str()));
        assert_eq!(ways_in(&cx, cy.id).await, (1, true, 1, true));
    }

    /// A provider allowed for any domain speaks for none: its "verified" signs in to no existing
    /// account (proven or not, the operator's neither), and proves no address of the accounts it
    /// makes — so the address's owner can still take theirs back by email.
    #[tokio::test]
    async fn a_provider_allowed_for_any_domain_claims_no_account_by_its_address() {
        use super::super::test_support::{plant_ways_in, state, unverified_account, verified_account, ways_in};
        let cx = state();
        let any = check_form(ProviderForm { allowed_domains: String::new(), ..form() }, None, cx.clock.now()).unwrap();
        let listed = check_form(ProviderForm { allowed_domains: "example.com".into(), ..form() }, None, cx.clock.now()).unwrap();
        let now = cx.clock.now();
        let mut op = verified_account(&cx, "oper").await;
        op.is_operator = true;
        let o = op.clone();
        cx.store.write(move |tx| accounts::update(tx, &o)).await.unwrap();
        plant_ways_in(&cx, op.id).await;
        let ann = unverified_account(&cx, "ann").await;
        for (n, held) in [op.clone(), ann.clone()].into_iter().enumerate() {
            let (pp, v) = (any.clone(), Vouched { subject: format!("sub-{n}"), ..vouched(&held.email, true) });
            let refused = cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap();
            assert_eq!(refused.unwrap_err(), SsoRefusal::NotVouched, "{}", held.email);
            let kept = cx.store.read({ let id = held.id; move |tx| accounts::get(tx, id) }).await.unwrap().unwrap();
            assert_eq!((kept.password_hash, kept.email_verified), (held.password_hash.clone(), held.email_verified));
            let sub = format!("sub-{n}");
            assert_eq!(cx.store.read(move |tx| sso::identity(tx, "acme", &sub)).await.unwrap(), None, "nothing linked");
        }
        assert_eq!(ways_in(&cx, op.id).await, (1, true, 1, true), "the operator keeps every way in");
        // A new address: an account is made, its address not proven by this provider's word.
        let (pp, v) = (any.clone(), Vouched { subject: "sub-new".into(), ..vouched("new@example.com", true) });
        let made = cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap().unwrap();
        assert!(!made.email_verified);
        // A provider listed for the domain speaks for it.
        let (pp, v) = (listed, Vouched { subject: "sub-listed".into(), ..vouched("new@example.com", true) });
        let again = cx.store.write(move |tx| sign_in(tx, &pp, &v, None, now)).await.unwrap().unwrap();
        assert!(again.id == made.id && again.email_verified);
    }

    fn form() -> ProviderForm {
        ProviderForm {
            id: "acme".into(),
            label: "Acme".into(),
            issuer: "https://login.acme.example/".into(),
            client_id: "mpdp".into(),
            client_secret: "secret".into(),
            allowed_domains: "acme.example, @Acme.ORG\nacme.example".into(),
            scopes: "groups openid groups".into(),
        }
    }

    #[test]
    fn a_provider_form_is_checked_field_by_field() {
        let now = chrono::Utc::now();
        let p = check_form(form(), None, now).unwrap();
        assert_eq!(p.issuer, "https://login.acme.example");
        assert_eq!(p.allowed_domains, vec!["acme.example".to_string(), "acme.org".to_string()]);
        assert_eq!(p.scopes, vec!["groups".to_string()]);
        let field = |f: ProviderForm| match check_form(f, None, now).unwrap_err() {
            AppError::Invalid { field, .. } => field,
            e => panic!("{e:?}"),
        };
        assert_eq!(field(ProviderForm { id: "Acme".into(), ..form() }), "ID");
        assert_eq!(field(ProviderForm { id: "-a".into(), ..form() }), "ID");
        assert_eq!(field(ProviderForm { label: " ".into(), ..form() }), "Button label");
        assert_eq!(field(ProviderForm { issuer: "http://login.acme.example".into(), ..form() }), "Issuer URL");
        assert_eq!(field(ProviderForm { issuer: "https://a.example/?x=1".into(), ..form() }), "Issuer URL");
        assert_eq!(field(ProviderForm { client_id: "".into(), ..form() }), "Client ID");
        assert_eq!(field(ProviderForm { client_secret: "".into(), ..form() }), "Client secret");
        assert_eq!(field(ProviderForm { allowed_domains: "acme".into(), ..form() }), "Allowed email domains");
        assert_eq!(field(ProviderForm { scopes: "a\"b".into(), ..form() }), "Extra scopes");
        // Plain http only on this machine; a blank secret keeps the saved one when editing.
        let local = check_form(ProviderForm { issuer: "http://127.0.0.1:4000".into(), ..form() }, None, now).unwrap();
        let edited = check_form(ProviderForm { client_secret: "".into(), ..form() }, Some(&local), now).unwrap();
        assert_eq!(edited.client_secret, "secret");
    }
}
