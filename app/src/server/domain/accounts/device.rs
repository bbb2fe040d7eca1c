//! `mpdp studio login`: the device authorization grant of RFC 8628. The command line asks for a
//! device code and a user code; the person opens `/device`, types the user code and approves
//! (choosing the token's workspace, scopes and lifetime) or denies; the command line, polling
//! with its device code, then gets a personal access token — made at that moment, shown to it
//! once, stored as a hash. Only the device code's hash is kept, so the data file holds nothing
//! that could fetch the token.

use std::net::IpAddr;

use rand::Rng;
use serde::Serialize;

use super::access_tokens::{self, check_form, TokenForm};
use super::who_acts;
use crate::model::account::DeviceRequestView;
use crate::model::AppError;
use crate::server::guard::SignedIn;
use crate::server::keys::sha256_hex;
use crate::server::store::device_grants::{self, Decision, DeviceGrant};
use crate::server::Context;

/// The one client of the grant.
pub const CLIENT_ID: &str = "mpdp-cli";
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// How long a request waits for the person's decision.
pub const EXPIRES_SECS: i64 = 600;
/// How often the command line may ask for its token.
pub const INTERVAL_SECS: i64 = 5;
/// User codes: eight letters without vowels (RFC 8628 §6.1), shown as `XXXX-XXXX`.
const USER_CODE_ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The answer to a device authorization request (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: i64,
    pub interval: i64,
}

/// The token answer (RFC 8628 §3.5, RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenAnswer {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    /// The workspace the token acts in.
    pub workspace: String,
    /// Its scopes, space-separated.
    pub scope: String,
}

/// A refusal in the words of RFC 6749 §5.2 and RFC 8628 §3.5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl GrantError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> GrantError {
        GrantError { status, error, description: description.into() }
    }
}

impl From<AppError> for GrantError {
    fn from(e: AppError) -> GrantError {
        match e {
            AppError::RateLimited { message, .. } => GrantError::new(429, "slow_down", message),
            e => GrantError::new(e.status(), "server_error", e.to_string()),
        }
    }
}

fn check_client(client_id: &str) -> Result<(), GrantError> {
    if client_id != CLIENT_ID {
        return Err(GrantError::new(401, "invalid_client", format!("client_id must be {CLIENT_ID}")));
    }
    Ok(())
}

/// A user code as typed: letters folded to upper case, spaces and hyphens dropped, then shown as
/// `XXXX-XXXX`.
fn user_code_of(typed: &str) -> Result<String, AppError> {
    let raw: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
    if raw.is_empty() {
        return Err(AppError::invalid("Code", "is required"));
    }
    if raw.len() != 8 || !raw.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)) {
        return Err(AppError::invalid("Code", "must be the eight letters the command line shows, like BCDF-GHJK"));
    }
    Ok(format!("{}-{}", &raw[..4], &raw[4..]))
}

/// `POST /api/device/v1/code`: a new request (limited per client address like sign-ups).
pub async fn start(cx: &Context, client_id: &str, addr: Option<IpAddr>) -> Result<DeviceCode, GrantError> {
    check_client(client_id)?;
    if let Some(a) = addr {
        cx.account_requests.check_address(a)?;
    }
    let device_code = access_tokens::new_token().replacen(access_tokens::TOKEN_PREFIX, "mpdc_", 1);
    let mut rng = rand::rngs::OsRng;
    let letters: String = (0..8).map(|_| USER_CODE_ALPHABET[rng.gen_range(0..USER_CODE_ALPHABET.len())] as char).collect();
    let user_code = format!("{}-{}", &letters[..4], &letters[4..]);
    let now = cx.clock.now();
    let grant = DeviceGrant {
        user_code: user_code.clone(),
        created: now,
        expires: now + chrono::Duration::seconds(EXPIRES_SECS),
        client: addr.map(|a| a.to_string()),
        last_poll: None,
        decision: None,
    };
    let hash = sha256_hex(device_code.as_bytes());
    cx.store
        .write(move |tx| {
            device_grants::purge(tx, now)?;
            device_grants::insert(tx, &hash, &grant)
        })
        .await?;
    let console = cx.config.public_url.trim_end_matches('/');
    Ok(DeviceCode {
        device_code,
        verification_uri: format!("{console}/device"),
        verification_uri_complete: format!("{console}/device?code={user_code}"),
        user_code,
        expires_in: EXPIRES_SECS,
        interval: INTERVAL_SECS,
    })
}

/// `POST /api/device/v1/token`: the command line asks whether the person decided. Approved, the
/// token is made now and the grant removed, so its device code works once.
/// Whether `grant` was polled less than the interval before `now`.
fn polled_too_soon(grant: &device_grants::DeviceGrant, now: chrono::DateTime<chrono::Utc>) -> bool {
    grant.last_poll.is_some_and(|last| (now - last).num_seconds() < INTERVAL_SECS)
}

fn slow_down() -> GrantError {
    GrantError::new(400, "slow_down", format!("Ask at most every {INTERVAL_SECS} seconds."))
}

pub async fn poll(cx: &Context, grant_type: &str, device_code: &str, client_id: &str, addr: Option<IpAddr>) -> Result<TokenAnswer, GrantError> {
    if grant_type != GRANT_TYPE {
        return Err(GrantError::new(400, "unsupported_grant_type", format!("grant_type must be {GRANT_TYPE}")));
    }
    check_client(client_id)?;
    if device_code.is_empty() {
        return Err(GrantError::new(400, "invalid_request", "device_code is required"));
    }
    let hash = sha256_hex(device_code.as_bytes());
    // An unknown code, which anyone may send, is answered from a read: it costs no write. So is
    // a poll of a pending code sooner than the interval after the last one: a client polling as
    // fast as it can costs one write per interval, not one per poll.
    let known = hash.clone();
    let now = cx.clock.now();
    let Some(seen) = cx.store.read(move |tx| device_grants::get(tx, &known)).await.map_err(GrantError::from)? else {
        return Err(unknown_code());
    };
    if seen.decision.is_none() && now < seen.expires && polled_too_soon(&seen, now) {
        return Err(slow_down());
    }
    let token = access_tokens::new_token();
    let issued = token.clone();
    let answer = cx
        .store
        .write(move |tx| {
            let Some(mut grant) = device_grants::get(tx, &hash)? else { return Ok(Err(unknown_code())) };
            if now >= grant.expires {
                device_grants::remove(tx, &hash)?;
                return Ok(Err(GrantError::new(400, "expired_token", "The request expired before it was approved: run mpdp studio login again.")));
            }
            let too_soon = polled_too_soon(&grant, now);
            grant.last_poll = Some(now);
            match grant.decision.clone() {
                None => {
                    device_grants::update(tx, &hash, &grant)?;
                    Ok(Err(if too_soon {
                        slow_down()
                    } else {
                        GrantError::new(400, "authorization_pending", "Waiting for the person to approve the request in the browser.")
                    }))
                }
                Some(Decision::Denied) => {
                    device_grants::remove(tx, &hash)?;
                    Ok(Err(GrantError::new(400, "access_denied", "The request was denied in the browser.")))
                }
                Some(Decision::Approved { account, terms }) => {
                    device_grants::remove(tx, &hash)?;
                    let Some(a) = crate::server::store::accounts::get(tx, account)? else {
                        return Ok(Err(GrantError::new(400, "access_denied", "The account that approved the request no longer exists.")));
                    };
                    let actor = who_acts(&a, addr);
                    let record = match access_tokens::issue(tx, &actor, account, terms, &issued, now) {
                        Ok(r) => r,
                        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
                            return Ok(Err(GrantError::new(400, "access_denied", e.to_string())));
                        }
                        Err(e) => return Err(e),
                    };
                    Ok(Ok(TokenAnswer {
                        access_token: String::new(),
                        token_type: "Bearer",
                        expires_in: (record.expires - now).num_seconds(),
                        workspace: record.workspace_name,
                        scope: record.scopes.iter().map(|s| s.code()).collect::<Vec<_>>().join(" "),
                    }))
                }
            }
        })
        .await
        .map_err(GrantError::from)??;
    Ok(TokenAnswer { access_token: token, ..answer })
}

fn unknown_code() -> GrantError {
    GrantError::new(400, "invalid_grant", "This device code is unknown, or its token was already given.")
}

/// Counts a code named by `who`, right or wrong, against the account's hourly budget
/// ([`DEVICE_CODES_PER_ACCOUNT_PER_HOUR`](crate::server::context::DEVICE_CODES_PER_ACCOUNT_PER_HOUR)),
/// before the code is looked up: past it, the code is not looked up at all.
fn counted(cx: &Context, who: &SignedIn) -> Result<(), AppError> {
    cx.device_codes.check(&format!("account:{}", who.account().id))
}

/// The request a user code names, for the signed-in person to decide; one that is unknown or
/// expired (or decided) is refused, naming the field.
pub async fn request(cx: &Context, who: &SignedIn, typed: &str) -> Result<DeviceRequestView, AppError> {
    let code = user_code_of(typed)?;
    counted(cx, who)?;
    let now = cx.clock.now();
    let found = cx.store.read(move |tx| device_grants::by_user_code(tx, &code)).await?;
    match found {
        Some((_, g)) if g.decision.is_none() && now < g.expires => Ok(DeviceRequestView {
            user_code: g.user_code,
            created: g.created,
            expires: g.expires,
            client: g.client.unwrap_or_default(),
        }),
        _ => Err(AppError::invalid("Code", "names no waiting request: it expired (after ten minutes) or was decided; run mpdp studio login again")),
    }
}

/// Decides a request: approved with the token's terms (checked now, and again when the token is
/// made), or denied.
pub async fn decide(cx: &Context, who: &SignedIn, typed: &str, approve: Option<TokenForm>) -> Result<(), AppError> {
    let code = user_code_of(typed)?;
    counted(cx, who)?;
    let account = who.account().id;
    let decision = match approve {
        Some(form) => {
            who.signed_in_recently(&cx.clock, "approve a sign-in of the command line")?;
            let mut terms = check_form(form)?;
            access_tokens::single_sign_on_admits(cx, who, &terms).await?;
            terms.signed_in_with = who.single_sign_on_provider().await;
            Decision::Approved { account, terms }
        }
        None => Decision::Denied,
    };
    let now = cx.clock.now();
    cx.store
        .write(move |tx| {
            if let Decision::Approved { terms, .. } = &decision {
                access_tokens::member_workspace(tx, account, &terms.workspace)?;
            }
            match device_grants::by_user_code(tx, &code)? {
                Some((hash, mut g)) if g.decision.is_none() && now < g.expires => {
                    g.decision = Some(decision);
                    device_grants::update(tx, &hash, &g)
                }
                _ => Err(AppError::invalid("Code", "names no waiting request: it expired (after ten minutes) or was decided; run mpdp studio login again")),
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{signed_in, state, verified_account};
    use super::*;

    /// Anyone may ask with a made-up code: the answer costs no write to the data file.
    #[tokio::test]
    async fn an_unknown_device_code_is_refused_without_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::server::store::Store::open(&dir.path().join("mpdp.redb")).unwrap();
        let cx = Context::new(store, crate::server::Config::default());
        let code = start(&cx, CLIENT_ID, None).await.unwrap();
        let before = cx.store.durable_commits().unwrap();
        for _ in 0..20 {
            assert_eq!(poll(&cx, GRANT_TYPE, "made-up", CLIENT_ID, None).await.unwrap_err().error, "invalid_grant");
        }
        assert_eq!(cx.store.durable_commits().unwrap(), before, "unknown codes wrote nothing");
        assert_eq!(poll(&cx, GRANT_TYPE, &code.device_code, CLIENT_ID, None).await.unwrap_err().error, "authorization_pending");
    }

    #[tokio::test]
    async fn a_request_is_approved_in_the_browser_and_its_token_given_once() {
        let cx = state();
        let ann = verified_account(&cx, "ann").await;
        let w = crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active);
        let m = crate::server::store::members::Membership { workspace: w.id, account: ann.id, role: crate::model::workspace::Role::WorkspaceDeveloper, active: true, joined: chrono::Utc::now() };
        cx.store.write(move |tx| { crate::server::store::workspaces::insert_workspace(tx, &w)?; crate::server::store::members::put_membership(tx, &m) }).await.unwrap();
        let who = signed_in(&cx, &ann);
        assert_eq!(start(&cx, "other", None).await.unwrap_err().error, "invalid_client");
        let code = start(&cx, CLIENT_ID, None).await.unwrap();
        assert!(code.verification_uri_complete.ends_with(&format!("/device?code={}", code.user_code)));
        let pending = poll(&cx, GRANT_TYPE, &code.device_code, CLIENT_ID, None).await.unwrap_err();
        assert_eq!(pending.error, "authorization_pending");
        let polled = |c: &str| {
            let hash = sha256_hex(c.as_bytes());
            cx.store.read_blocking(move |tx| device_grants::get(tx, &hash)).unwrap().unwrap().last_poll
        };
        let first = polled(&code.device_code);
        for _ in 0..20 {
            assert_eq!(poll(&cx, GRANT_TYPE, &code.device_code, CLIENT_ID, None).await.unwrap_err().error, "slow_down");
        }
        assert_eq!(polled(&code.device_code), first, "a poll too soon is answered from a read, writing nothing");
        assert_eq!(poll(&cx, "password", &code.device_code, CLIENT_ID, None).await.unwrap_err().error, "unsupported_grant_type");
        // Typed in lower case with spaces, it names the request.
        let typed = code.user_code.to_lowercase().replace('-', " ");
        assert_eq!(request(&cx, &who, &typed).await.unwrap().user_code, code.user_code);
        assert_eq!(request(&cx, &who, "AEIO-UAEI").await.unwrap_err().field(), Some("Code"));
        let form = |w: &str| TokenForm { name: "laptop".into(), workspace: w.into(), scopes: vec!["upload".into()], days: "30".into() };
        assert_eq!(decide(&cx, &who, &typed, Some(form("Nowhere"))).await.unwrap_err().field(), Some("Workspace"));
        decide(&cx, &who, &typed, Some(form("Acme"))).await.unwrap();
        assert_eq!(decide(&cx, &who, &typed, None).await.unwrap_err().field(), Some("Code"), "decided once");
        // Decided, the code is answered at the next poll however soon: only a pending one is told
        // to slow down.
        let answer = poll(&cx, GRANT_TYPE, &code.device_code, CLIENT_ID, None).await.unwrap();
        assert!(answer.access_token.starts_with(access_tokens::TOKEN_PREFIX));
        assert_eq!((answer.workspace.as_str(), answer.scope.as_str()), ("Acme", "upload"));
        assert_eq!(access_tokens::list(&cx, &who).await.unwrap().len(), 1);
        assert_eq!(poll(&cx, GRANT_TYPE, &code.device_code, CLIENT_ID, None).await.unwrap_err().error, "invalid_grant", "given once");

        // Denied, and expired.
        let denied = start(&cx, CLIENT_ID, None).await.unwrap();
        decide(&cx, &who, &denied.user_code, None).await.unwrap();
        assert_eq!(poll(&cx, GRANT_TYPE, &denied.device_code, CLIENT_ID, None).await.unwrap_err().error, "access_denied");
        let late = start(&cx, CLIENT_ID, None).await.unwrap();
        cx.clock.advance(std::time::Duration::from_secs(EXPIRES_SECS as u64));
        assert_eq!(request(&cx, &who, &late.user_code).await.unwrap_err().field(), Some("Code"));
        assert_eq!(poll(&cx, GRANT_TYPE, &late.device_code, CLIENT_ID, None).await.unwrap_err().error, "expired_token");
    }

    /// Naming codes, right or wrong, is counted per account: past the hour's budget the code is
    /// not looked up at all (a right one included), and another account is not affected.
    #[tokio::test]
    async fn the_codes_a_person_names_are_counted_so_they_cannot_be_guessed() {
        let cx = state();
        let (ann, bob) = (verified_account(&cx, "ann").await, verified_account(&cx, "bob").await);
        let (ann, bob) = (signed_in(&cx, &ann), signed_in(&cx, &bob));
        let code = start(&cx, CLIENT_ID, None).await.unwrap();
        let budget = crate::server::context::DEVICE_CODES_PER_ACCOUNT_PER_HOUR;
        for _ in 1..budget {
            assert_eq!(request(&cx, &ann, "BCDF-GHJK").await.unwrap_err().field(), Some("Code"));
        }
        assert!(request(&cx, &ann, &code.user_code).await.is_ok(), "the last of the budget");
        for e in [request(&cx, &ann, &code.user_code).await.unwrap_err(), decide(&cx, &ann, &code.user_code, None).await.unwrap_err()] {
            assert_eq!(e.status(), 429, "{e}");
        }
        assert!(request(&cx, &bob, &code.user_code).await.is_ok(), "bob has a budget of his own");
        // An hour on, her budget is whole again (the code itself expired meanwhile).
        cx.clock.advance(std::time::Duration::from_secs(3600));
        let next = start(&cx, CLIENT_ID, None).await.unwrap();
        decide(&cx, &ann, &next.user_code, None).await.unwrap();
    }
}
