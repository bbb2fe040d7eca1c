//! Passkeys (WebAuthn): a person registers several, names and deletes them, and signs in with
//! one alone (a discoverable credential: the browser says whose it is) or uses one as the second
//! step after the password. The relying party is this console's public URL: its host is the RP
//! ID and its origin the only one accepted. Each registration or sign-in is a ceremony kept in
//! the store for five minutes and taken out in the write that accepts its answer, so an answer is
//! accepted once; a signature counter that goes backwards (a copied authenticator) is refused.

use std::net::IpAddr;

use chrono::Duration;
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Webauthn, WebauthnBuilder, WebauthnError,
};

use super::who_acts;
use crate::model::{Missing, OrMissing};
use crate::model::account::{PasskeyView, SignInMethod};
use crate::model::audit::AuditAction;
use crate::model::AppError;
use crate::server::guard::SignedIn;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit;
use crate::server::store::passkeys::{self as store, Ceremony, CeremonyKind, StoredPasskey, MAX_PER_ACCOUNT};
use crate::server::Context;

/// How long a browser has to answer a ceremony's challenge.
pub const CEREMONY_SECS: i64 = 5 * 60;
pub const NAME_MAX: usize = 60;
/// The largest answer read from a browser.
pub const ANSWER_MAX: usize = 16 * 1024;

/// The relying party: this console, at its public URL's host and origin.
fn relying_party(cx: &Context) -> Result<Webauthn, AppError> {
    let unusable = || {
        AppError::conflict("Passkeys", "need this console at a domain name (its --public-url), not an IP address")
    };
    let origin = Url::parse(&cx.config.public_origin()).map_err(|_| unusable())?;
    let host = origin.domain().ok_or_else(unusable)?.to_string();
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name("MPDP").build())
        .map_err(|e| {
            tracing::warn!(error = %e, "passkeys: the public URL can't be a relying party");
            unusable()
        })
}

/// A WebAuthn refusal, in words that say which rule the answer broke.
fn refusal(e: WebauthnError) -> AppError {
    tracing::info!(error = %e, "passkey answer refused");
    let rule = match e {
        WebauthnError::InvalidRPOrigin | WebauthnError::CredentialCrossOrigin => {
            "was made for another site (its origin is not this console's)".to_string()
        }
        WebauthnError::MismatchedChallenge | WebauthnError::ChallengeNotFound => {
            "answers another request (its challenge is not this one's): try again".to_string()
        }
        WebauthnError::CredentialPossibleCompromise => {
            "was refused: its signature counter went backwards, so the authenticator may have been copied".to_string()
        }
        WebauthnError::InvalidUserUniqueId | WebauthnError::CredentialNotFound => {
            "is not registered with this console".to_string()
        }
        other => format!("could not be verified ({other})"),
    };
    AppError::invalid("Passkey", rule)
}

fn expired() -> AppError {
    AppError::invalid("Passkey", "answers no request waiting in this browser (it was answered already, or took longer than five minutes): try again")
}

fn bad_answer() -> AppError {
    AppError::invalid("Passkey", "the browser's answer could not be read")
}

fn parse<T: serde::de::DeserializeOwned>(answer: &str) -> Result<T, AppError> {
    if answer.len() > ANSWER_MAX {
        return Err(bad_answer());
    }
    serde_json::from_str(answer).map_err(|_| bad_answer())
}

fn credential(p: &StoredPasskey) -> Result<Passkey, AppError> {
    serde_json::from_value(p.credential.clone()).map_err(|e| {
        tracing::error!(error = %e, "a stored passkey could not be read");
        AppError::Internal
    })
}

/// Whether `k` is the credential whose id is `id`.
fn same(k: &Passkey, id: &[u8]) -> bool {
    let mine: &[u8] = k.cred_id().as_ref();
    mine == id
}

fn view(p: &StoredPasskey) -> PasskeyView {
    PasskeyView { id: p.id, name: p.name.clone(), created: p.created, last_used: p.last_used }
}

fn check_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid("Passkey name", format!("must be 1–{NAME_MAX} characters")));
    }
    Ok(name.to_string())
}

/// Keeps a ceremony for [`CEREMONY_SECS`]; returns its id (for the browser's session).
async fn keep(cx: &Context, kind: CeremonyKind, account: Option<Uuid>, state: serde_json::Value) -> Result<String, AppError> {
    let id = {
        use base64::Engine;
        use rand::RngCore;
        let mut raw = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    };
    let c = Ceremony { kind, account, state, expires: cx.clock.now() + Duration::seconds(CEREMONY_SECS) };
    let key = id.clone();
    cx.store.write(move |tx| store::put_ceremony(tx, &key, &c)).await?;
    Ok(id)
}

/// The ceremony `id` if it is of `kind` and still waiting (it is taken out only on acceptance).
async fn waiting(cx: &Context, id: Option<String>, kind: fn(&CeremonyKind) -> bool) -> Result<(String, Ceremony), AppError> {
    let id = id.ok_or_else(expired)?;
    let key = id.clone();
    let c = cx.store.read(move |tx| store::ceremony(tx, &key)).await?.ok_or_else(expired)?;
    if !kind(&c.kind) || c.expires <= cx.clock.now() {
        return Err(expired());
    }
    Ok((id, c))
}

fn state<T: serde::de::DeserializeOwned>(c: &Ceremony) -> Result<T, AppError> {
    serde_json::from_value(c.state.clone()).map_err(|_| expired())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, AppError> {
    serde_json::to_value(v).map_err(|_| AppError::Internal)
}

/// The signed-in person's passkeys.
pub async fn list(cx: &Context, who: &SignedIn) -> Result<Vec<PasskeyView>, AppError> {
    let id = who.account().id;
    let all = cx.store.read(move |tx| store::of_account(tx, id)).await?;
    Ok(all.iter().map(view).collect())
}

/// What adding a passkey is called where a session signed in too long ago is refused it.
const ADD: &str = "add a passkey";

/// Begins adding a passkey named `name`: the options for the browser's
/// `navigator.credentials.create()` (as JSON), and the ceremony's id.
pub async fn begin_registration(cx: &Context, who: &SignedIn, name: &str) -> Result<(String, String), AppError> {
    who.signed_in_recently(&cx.clock, ADD)?;
    let name = check_name(name)?;
    let wa = relying_party(cx)?;
    let account = who.account().clone();
    let id = account.id;
    let existing = cx.store.read(move |tx| store::of_account(tx, id)).await?;
    if existing.len() >= MAX_PER_ACCOUNT {
        return Err(AppError::conflict("Passkeys", format!("at most {MAX_PER_ACCOUNT} per account: delete one first")));
    }
    let exclude = existing.iter().map(credential).map(|p| p.map(|p| p.cred_id().clone())).collect::<Result<Vec<_>, _>>()?;
    let (mut options, reg) = wa
        .start_passkey_registration(account.id, &account.username, &account.email, Some(exclude))
        .map_err(refusal)?;
    options.public_key.extensions = None;
    let mut options = to_value(&options)?;
    // A passkey the browser keeps (discoverable), so it can sign in without a username.
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection").and_then(|s| s.as_object_mut()) {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
    let ceremony = keep(cx, CeremonyKind::Register { name }, Some(account.id), to_value::<PasskeyRegistration>(&reg)?).await?;
    Ok((ceremony, options.to_string()))
}

/// Finishes adding a passkey with the browser's answer (`credential.toJSON()`).
pub async fn finish_registration(cx: &Context, who: &SignedIn, ceremony: Option<String>, answer: &str, client: Option<IpAddr>) -> Result<PasskeyView, AppError> {
    who.signed_in_recently(&cx.clock, ADD)?;
    let reg: RegisterPublicKeyCredential = parse(answer)?;
    let (id, c) = waiting(cx, ceremony, |k| matches!(k, CeremonyKind::Register { .. })).await?;
    let account = who.account().clone();
    if c.account != Some(account.id) {
        return Err(expired());
    }
    let CeremonyKind::Register { name } = c.kind.clone() else { return Err(expired()) };
    let pk = relying_party(cx)?.finish_passkey_registration(&reg, &state(&c)?).map_err(refusal)?;
    let stored = StoredPasskey { id: Uuid::now_v7(), name, credential: to_value(&pk)?, created: cx.clock.now(), last_used: None };
    let actor = who_acts(&account, client);
    let out = view(&stored);
    let (console, mails) = (super::console(cx), cx.mails_per_target.clone());
    let keep = who.session_handle();
    cx.store
        .write(move |tx| {
            store::take_ceremony(tx, &id)?.ok_or_else(expired)?;
            let mut a = super::sessions::account_of_standing_session(tx, &account, keep)?;
            let mine = store::of_account(tx, a.id)?;
            if mine.len() >= MAX_PER_ACCOUNT {
                return Err(AppError::conflict("Passkeys", format!("at most {MAX_PER_ACCOUNT} per account: delete one first")));
            }
            for p in &mine {
                if same(&credential(p)?, pk.cred_id()) {
                    return Err(AppError::conflict("Passkey", format!("is registered already, as {}", p.name)));
                }
            }
            store::put(tx, a.id, &stored)?;
            a.passkeys = mine.len() as u32 + 1;
            accounts::update(tx, &a)?;
            audit::record_security(tx, &actor, a.id, AuditAction::AccountPasskeyAdded, &stored.name, "")?;
            tell_owner(tx, &mails, &a, &console, "A passkey was added to your account", &format!("The passkey \"{}\" was added to", stored.name), "")
        })
        .await?;
    Ok(out)
}

/// Renames one of the signed-in person's passkeys.
pub async fn rename(cx: &Context, who: &SignedIn, id: Uuid, name: &str) -> Result<(), AppError> {
    let name = check_name(name)?;
    let account = who.account().id;
    cx.store
        .write(move |tx| {
            let mut p = store::get(tx, account, id)?.or_missing(Missing::Passkey)?;
            p.name = name;
            store::put(tx, account, &p)
        })
        .await
}

/// Deletes one of the signed-in person's passkeys: it signs nobody in any more.
pub async fn delete(cx: &Context, who: &SignedIn, id: Uuid, client: Option<IpAddr>) -> Result<(), AppError> {
    let account = who.account().clone();
    let actor = who_acts(&account, client);
    let (console, mails) = (super::console(cx), cx.mails_per_target.clone());
    cx.store
        .write(move |tx| {
            let p = store::get(tx, account.id, id)?.or_missing(Missing::Passkey)?;
            store::remove(tx, account.id, id)?;
            let mut a = accounts::get(tx, account.id)?.ok_or(AppError::Unauthenticated)?;
            a.passkeys = store::of_account(tx, a.id)?.len() as u32;
            accounts::update(tx, &a)?;
            audit::record_security(tx, &actor, a.id, AuditAction::AccountPasskeyRemoved, &p.name, "")?;
            let alone = if a.passkeys == 0 && a.second_factor.is_none() { " Login now asks for the password alone." } else { "" };
            tell_owner(tx, &mails, &a, &console, "A passkey was removed from your account", &format!("The passkey \"{}\" was removed from", p.name), alone)
        })
        .await
}

/// Emails the account's owner that a passkey was added or removed (`what` … "the MPDP account"),
/// in the write that did it: a session in other hands must not change how the account signs in
/// unseen.
fn tell_owner(tx: &redb::WriteTransaction, mails: &crate::server::auth::ratelimit::Throttle, a: &Account, console: &str, subject: &str, what: &str, then: &str) -> Result<(), AppError> {
    let body = format!(
        "{what} the MPDP account \"{}\".{then}\n\nIf this was not you, change your password, sign out \
         your other sessions and check your passkeys and tokens: {console}/account\n",
        a.username
    );
    super::tell_account(tx, mails, &a.email, a.email_verified, subject, &body)
}

/// Begins a sign-in with a passkey alone: the options for `navigator.credentials.get()` (no
/// account named: the browser offers the passkeys it keeps for this console).
pub async fn begin_sign_in(cx: &Context, client: Option<IpAddr>) -> Result<(String, String), AppError> {
    if let Some(c) = client {
        cx.sign_in_starts.check_address(c)?;
    }
    let (mut options, auth) = relying_party(cx)?.start_discoverable_authentication().map_err(refusal)?;
    options.public_key.extensions = None;
    let ceremony = keep(cx, CeremonyKind::SignIn, None, to_value::<DiscoverableAuthentication>(&auth)?).await?;
    Ok((ceremony, serde_json::to_string(&options).map_err(|_| AppError::Internal)?))
}

/// Finishes a sign-in with a passkey alone: the account whose passkey answered.
pub async fn finish_sign_in(cx: &Context, ceremony: Option<String>, answer: &str, client: Option<IpAddr>) -> Result<(Account, SignInMethod), AppError> {
    let cred: PublicKeyCredential = parse(answer)?;
    let (id, c) = waiting(cx, ceremony, |k| *k == CeremonyKind::SignIn).await?;
    let wa = relying_party(cx)?;
    let (user, cred_id) = wa.identify_discoverable_authentication(&cred).map_err(refusal)?;
    let (account, cred_id) = (Uuid::from_bytes(*user.as_bytes()), cred_id.to_vec());
    let found = cx
        .store
        .read(move |tx| {
            let Some(a) = accounts::get(tx, account)? else { return Ok(None) };
            for p in store::of_account(tx, a.id)? {
                if same(&credential(&p)?, &cred_id) {
                    return Ok(Some((a, p)));
                }
            }
            Ok(None)
        })
        .await?;
    let Some((account, stored)) = found else {
        return Err(refusal(WebauthnError::CredentialNotFound));
    };
    let pk = credential(&stored)?;
    let result = match wa.finish_discoverable_authentication_v2(&cred, state(&c)?, &pk) {
        Ok(r) => r,
        Err(e) => return Err(failed(cx, &account, e, client).await),
    };
    accept(cx, id, account, stored.id, result, client, SignInMethod::Passkey, "with a passkey".into()).await
}

/// Begins the second step of a login with one of the account's passkeys.
pub async fn begin_second_step(cx: &Context, account: Uuid) -> Result<(String, String), AppError> {
    let passkeys = cx.store.read(move |tx| store::of_account(tx, account)).await?;
    if passkeys.is_empty() {
        return Err(AppError::conflict("Passkey", "none is registered for this account: use your authenticator app's code"));
    }
    let creds = passkeys.iter().map(credential).collect::<Result<Vec<_>, _>>()?;
    let (mut options, auth) = relying_party(cx)?.start_passkey_authentication(&creds).map_err(refusal)?;
    options.public_key.extensions = None;
    let ceremony = keep(cx, CeremonyKind::SecondStep, Some(account), to_value::<PasskeyAuthentication>(&auth)?).await?;
    Ok((ceremony, serde_json::to_string(&options).map_err(|_| AppError::Internal)?))
}

/// Finishes the second step of the login of `account` (whose first step, `first` — "password",
/// or a single sign-on — passed at session epoch `epoch`) with a passkey.
pub async fn finish_second_step(cx: &Context, ceremony: Option<String>, account: Uuid, epoch: u64, answer: &str, client: Option<IpAddr>, first: &str) -> Result<(Account, SignInMethod), AppError> {
    let cred: PublicKeyCredential = parse(answer)?;
    let (id, c) = waiting(cx, ceremony, |k| *k == CeremonyKind::SecondStep).await?;
    if c.account != Some(account) {
        return Err(expired());
    }
    let found = cx
        .store
        .read(move |tx| Ok((accounts::get(tx, account)?, store::of_account(tx, account)?)))
        .await?;
    let (Some(account), passkeys) = found else { return Err(AppError::Unauthenticated) };
    if account.session_epoch != epoch {
        return Err(AppError::Unauthenticated);
    }
    let Some(stored) = passkeys.into_iter().find(|p| credential(p).is_ok_and(|k| same(&k, cred.get_credential_id()))) else {
        return Err(refusal(WebauthnError::CredentialNotFound));
    };
    let result = match relying_party(cx)?.finish_passkey_authentication(&cred, &state(&c)?) {
        Ok(r) => r,
        Err(e) => return Err(failed(cx, &account, e, client).await),
    };
    accept(cx, id, account, stored.id, result, client, SignInMethod::PasswordAndPasskey, format!("with {first} and passkey")).await
}

/// Records a refused answer in the person's security events, and returns the refusal.
async fn failed(cx: &Context, account: &Account, e: WebauthnError, client: Option<IpAddr>) -> AppError {
    let refused = refusal(e);
    let (actor, id, why) = (who_acts(account, client), account.id, format!("passkey {}", refused));
    let name = account.username.clone();
    let _ = cx
        .store
        .write(move |tx| audit::record_security(tx, &actor, id, AuditAction::AccountSignInFailed, &name, &why))
        .await;
    refused
}

/// In one write: takes the ceremony out (a second answer to it is refused), moves the
/// passkey's signature counter on and notes its use, and records the sign-in.
#[allow(clippy::too_many_arguments)]
async fn accept(
    cx: &Context,
    ceremony: String,
    account: Account,
    passkey: Uuid,
    result: webauthn_rs::prelude::AuthenticationResult,
    client: Option<IpAddr>,
    method: SignInMethod,
    how: String,
) -> Result<(Account, SignInMethod), AppError> {
    let now = cx.clock.now();
    let actor = who_acts(&account, client);
    let id = account.id;
    let recorded = how.clone();
    cx.store
        .write(move |tx| {
            store::take_ceremony(tx, &ceremony)?.ok_or_else(expired)?;
            let mut p = store::get(tx, id, passkey)?.ok_or_else(|| refusal(WebauthnError::CredentialNotFound))?;
            let mut k = credential(&p)?;
            k.update_credential(&result);
            p.credential = to_value(&k)?;
            p.last_used = Some(now);
            store::put(tx, id, &p)?;
            audit::record_security(tx, &actor, id, AuditAction::AccountSignedIn, &actor.name, &recorded)?;
            Ok(())
        })
        .await?;
    tracing::info!(account = %account.id, "signed in {how}");
    Ok((account, method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sign_ins_begun_without_an_account_are_limited_per_address_and_need_a_domain_name() {
        use crate::server::{store::Store, Config};
        // At an IP address there is no relying party.
        let at_ip = Context::new(Store::memory(), Config::default());
        assert!(matches!(begin_sign_in(&at_ip, None).await, Err(AppError::Conflict { field, .. }) if field == "Passkeys"));
        let config = Config { public_url: "http://localhost:3000".into(), account_requests_per_address: 1, ..Config::default() };
        let cx = Context::new(Store::memory(), config);
        let (a, b) = (Some("192.0.2.1".parse().unwrap()), Some("192.0.2.2".parse().unwrap()));
        for _ in 0..crate::server::context::SIGN_IN_STARTS_PER_ACCOUNT_REQUEST {
            begin_sign_in(&cx, a).await.unwrap();
        }
        assert!(matches!(begin_sign_in(&cx, a).await, Err(AppError::RateLimited { .. })));
        begin_sign_in(&cx, b).await.unwrap();
    }

    /// A passkey outlives the session that adds it: a session that signed in long ago adds none.
    #[tokio::test]
    async fn a_session_that_signed_in_long_ago_adds_no_passkey() {
        use super::super::test_support::{signed_in, verified_account};
        use crate::server::{guard::RECENT_SIGN_IN_SECS, store::Store, Config};
        let cx = Context::new(Store::memory(), Config { public_url: "http://localhost:3000".into(), ..Config::default() });
        let ann = verified_account(&cx, "ann").await;
        let old = signed_in(&cx, &ann).signed_in_at(cx.clock.timestamp() - RECENT_SIGN_IN_SECS - 1);
        let e = begin_registration(&cx, &old, "Laptop").await.unwrap_err();
        assert_eq!((e.status(), e.code()), (403, "sign_in_again"), "{e}");
        assert!(e.to_string().starts_with("To add a passkey, sign in again first"), "{e}");
        let e = finish_registration(&cx, &old, None, "{}", None).await.unwrap_err();
        assert_eq!(e.code(), "sign_in_again", "{e}");
        let (ceremony, options) = begin_registration(&cx, &signed_in(&cx, &ann), "Laptop").await.unwrap();
        assert!(!ceremony.is_empty() && options.contains("publicKey"), "{options}");
        assert!(list(&cx, &signed_in(&cx, &ann)).await.unwrap().is_empty());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(check_name("  Laptop  ").unwrap(), "Laptop");
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(NAME_MAX + 1)] {
            assert!(matches!(check_name(bad), Err(AppError::Invalid { field, .. }) if field == "Passkey name"));
        }
    }
}
