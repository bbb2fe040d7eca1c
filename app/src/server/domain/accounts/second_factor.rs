//! Two-factor authentication with an authenticator app (RFC 6238 codes): enrolment with a QR
//! code and a typed code, ten single-use recovery codes, the code step of a login, turning it
//! off, and the operator's reset.
//!
//! Every check of a code is one write transaction that reads the record, judges the code and
//! writes the outcome (the step now used, the recovery code struck out, or one more failure), so
//! fifty requests at once with one code accept it at most once, and a burst of guesses counts
//! every guess.

use std::net::IpAddr;

use rand::Rng;
use uuid::Uuid;

use super::who_acts;
use crate::model::{Missing, OrMissing};
use crate::model::account::{SecondFactorView, SignInMethod, TotpSetup};
use crate::model::audit::AuditAction;
use crate::model::AppError;
use crate::server::auth::ratelimit::Subject;
use crate::server::guard::{Operator, SignedIn};
use crate::server::keys::sha256_hex;
use crate::server::store::accounts::{self, Account};
use crate::server::store::audit::{self, Actor};
use crate::server::store::second_factor::{self, SecondFactor, TotpSecret};
use crate::server::Context;

/// The name authenticator apps show beside the account.
const ISSUER: &str = "MPDP";
/// How many recovery codes an enrolment makes.
pub const RECOVERY_CODES: usize = 10;
/// Wrong codes allowed within [`FAILURE_WINDOW_SECS`] before further codes are refused unchecked.
pub const FAILURES_ALLOWED: u32 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// Recovery codes: ten characters without look-alikes (no 0/o, 1/l/i), shown as `xxxxx-xxxxx`.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The code generator of a secret: SHA-1, six digits, 30-second steps, one step of skew either
/// way — what every authenticator app does by default.
fn generator(secret: &TotpSecret, account_name: &str) -> Result<totp_rs::Totp, AppError> {
    let bytes = hex::decode(&secret.secret).map_err(|_| AppError::Internal)?;
    totp_rs::Builder::new()
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        .with_account_name(account_name)
        .build()
        .map_err(|e| {
            tracing::error!(error = %e, "a stored authenticator secret is unusable");
            AppError::Internal
        })
}

fn new_secret(cx: &Context) -> TotpSecret {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill(&mut bytes);
    TotpSecret { secret: hex::encode(bytes), created: cx.clock.now(), last_step: 0 }
}

fn setup_of(secret: &TotpSecret, account_name: &str) -> Result<TotpSetup, AppError> {
    let totp = generator(secret, account_name)?;
    let uri = totp.to_url().map_err(|_| AppError::Internal)?;
    let base32 = totp.secret().to_base32();
    let key = base32
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(|_| AppError::Internal)?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(TotpSetup { key, uri, qr_svg })
}

/// Recovery codes as shown once, and their hashes as stored.
fn recovery_codes() -> (Vec<String>, Vec<String>) {
    let mut rng = rand::rngs::OsRng;
    let shown: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..10)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let hashes = shown.iter().map(|c| recovery_hash(c)).collect();
    (shown, hashes)
}

/// A recovery code's hash: letters folded to lower case, spaces and hyphens dropped.
fn recovery_hash(code: &str) -> String {
    let folded: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    sha256_hex(folded.as_bytes())
}

/// The signed-in person's second factor for the account page, with the recovery codes just made
/// (`fresh`), if any.
pub async fn status(cx: &Context, who: &SignedIn, fresh: Vec<String>) -> Result<SecondFactorView, AppError> {
    let (id, name) = (who.account().id, who.account().username.clone());
    let on_since = who.account().second_factor;
    let record = cx.store.read(move |tx| second_factor::get(tx, id)).await?.unwrap_or_default();
    let setup = match (&record.totp, &record.pending) {
        (None, Some(pending)) => Some(setup_of(pending, &name)?),
        _ => None,
    };
    Ok(SecondFactorView {
        on_since,
        recovery_left: if record.totp.is_some() { record.recovery.len() } else { 0 },
        setup,
        fresh_codes: fresh,
    })
}

/// Starts enrolment: a new secret, kept as pending until a code from it is typed.
pub async fn begin(cx: &Context, who: &SignedIn) -> Result<TotpSetup, AppError> {
    let (id, name) = (who.account().id, who.account().username.clone());
    let pending = new_secret(cx);
    let shown = setup_of(&pending, &name)?;
    cx.store
        .write(move |tx| {
            let mut record = second_factor::get(tx, id)?.unwrap_or_default();
            if record.totp.is_some() {
                return Err(AppError::conflict("Two-factor authentication", "is already on: turn it off first to use another app"));
            }
            record.pending = Some(pending);
            second_factor::put(tx, id, &record)
        })
        .await?;
    Ok(shown)
}

/// Confirms enrolment with a code from the app: two factors are required from now on, and the
/// ten recovery codes are returned, to be shown this once, with the account as it now is. Every
/// other session ends and the session epoch moves on (the caller moves this session and this
/// browser to it): a session or a known browser someone got with the password alone, before,
/// counts for nothing now.
pub async fn confirm(cx: &Context, who: &SignedIn, code: &str, addr: Option<IpAddr>) -> Result<(Vec<String>, Account), AppError> {
    let code = six_digits(code)?;
    let (id, name, actor) = (who.account().id, who.account().username.clone(), who_acts(who.account(), addr));
    let (me, keep) = (who.account().clone(), who.session_handle());
    let (now, secs) = (cx.clock.now(), cx.clock.timestamp().max(0) as u64);
    let (shown, hashes) = recovery_codes();
    let account = cx.store
        .write(move |tx| {
            let mut account = super::sessions::account_of_standing_session(tx, &me, keep)?;
            let mut record = second_factor::get(tx, id)?.unwrap_or_default();
            if record.totp.is_some() {
                return Err(AppError::conflict("Two-factor authentication", "is already on"));
            }
            let Some(mut pending) = record.pending.take() else {
                return Err(AppError::invalid("Code", "has no setup to confirm: start the setup again"));
            };
            let Some(step) = generator(&pending, &name)?.check(&code, secs) else {
                return Err(AppError::invalid("Code", "is not the code your authenticator app shows now: check the app's clock and type the current code"));
            };
            pending.last_step = step;
            record = SecondFactor { totp: Some(pending), recovery: hashes, ..Default::default() };
            second_factor::put(tx, id, &record)?;
            account.second_factor = Some(now);
            account.session_epoch += 1;
            accounts::update(tx, &account)?;
            let ended = crate::server::store::sessions::revoke_all(tx, id, keep)?;
            audit::record_security(tx, &actor, id, AuditAction::AccountSecondFactorEnabled, &name, &format!("authenticator app; {ended} other session(s) signed out"))?;
            Ok(account)
        })
        .await?;
    Ok((shown, account))
}

/// Six digits, spaces allowed between them.
fn six_digits(code: &str) -> Result<String, AppError> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.is_empty() {
        return Err(AppError::invalid("Code", "is required"));
    }
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("Code", "must be the six digits your authenticator app shows"));
    }
    Ok(digits)
}

/// Which kind of code was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    Code,
    Recovery { left: usize },
}

/// Judges `code` (an authenticator code or an unused recovery code) against `record` at `now`,
/// changing the record as the outcome requires: the step used, the recovery code struck out, or
/// one failure more. Past [`FAILURES_ALLOWED`] wrong codes within the window, codes are refused
/// unchecked until it ends — unless the code comes with a budget of its own (`own_budget`: a
/// known browser of the account, counted by the login limiter), whose wrong codes are not the
/// account's: so whoever has the password cannot lock the owner out of their second factor.
fn judge(record: &mut SecondFactor, account_name: &str, code: &str, now: chrono::DateTime<chrono::Utc>, own_budget: bool) -> Result<Accepted, NotAccepted> {
    let code = code.trim();
    if code.is_empty() {
        return Err(NotAccepted::Unchecked(AppError::invalid("Code", "is required")));
    }
    let Some(totp) = record.totp.clone() else {
        return Err(NotAccepted::Unchecked(AppError::invalid("Code", "cannot be checked: this account has no second factor")));
    };
    if let Some(since) = record.failing_since {
        let ends = since.timestamp() + FAILURE_WINDOW_SECS;
        if now.timestamp() >= ends {
            record.failures = 0;
            record.failing_since = None;
        } else if record.failures >= FAILURES_ALLOWED && !own_budget {
            let wait = std::time::Duration::from_secs((ends - now.timestamp()).max(1) as u64);
            return Err(NotAccepted::Unchecked(AppError::RateLimited {
                message: format!(
                    "Too many wrong codes for this account. Please wait {} and try again.",
                    crate::server::auth::ratelimit::wait_text(wait)
                ),
                retry_after_secs: wait.as_secs(),
            }));
        }
    }
    let outcome = match six_digits(code) {
        Ok(digits) => match generator(&totp, account_name).map_err(NotAccepted::Unchecked)?.check(&digits, now.timestamp().max(0) as u64) {
            Some(step) if step > totp.last_step => {
                record.totp = Some(TotpSecret { last_step: step, ..totp });
                Ok(Accepted::Code)
            }
            Some(_) => Err(AppError::invalid("Code", "has been used already: wait for the next code from your app")),
            None => Err(AppError::invalid("Code", "is not the code your authenticator app shows now")),
        },
        Err(_) => {
            let hash = recovery_hash(code);
            match record.recovery.iter().position(|h| *h == hash) {
                Some(i) => {
                    record.recovery.remove(i);
                    Ok(Accepted::Recovery { left: record.recovery.len() })
                }
                None => Err(AppError::invalid("Code", "is neither the current code of your authenticator app nor an unused recovery code")),
            }
        }
    };
    // A known browser's codes are counted by its own budget: strangers' wrong codes stay theirs
    // when it gets in, and its wrong codes are not the account's.
    if !own_budget {
        if outcome.is_ok() {
            record.failures = 0;
            record.failing_since = None;
        } else {
            record.failures += 1;
            record.failing_since.get_or_insert(now);
        }
    }
    outcome.map_err(NotAccepted::Wrong)
}

/// Why a code was not accepted: refused before it was compared (none given, no second factor,
/// too many wrong ones), or compared and wrong.
enum NotAccepted {
    Unchecked(AppError),
    Wrong(AppError),
}

/// Checks a code of `account` in one write transaction that keeps the outcome (a wrong code is
/// recorded as a failure, in the audit log too). `then` runs in that transaction after a code
/// was accepted.
async fn check<T: Send + 'static>(
    cx: &Context,
    account: Uuid,
    code: String,
    actor: Actor,
    own_budget: bool,
    then: impl FnOnce(&redb::WriteTransaction, &Account, Accepted) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let now = cx.clock.now();
    cx.store
        .write(move |tx| {
            let Some(account) = accounts::get(tx, account)? else {
                return Ok(Err(AppError::Unauthenticated));
            };
            let mut record = second_factor::get(tx, account.id)?.unwrap_or_default();
            let before = record.clone();
            let outcome = judge(&mut record, &account.username, &code, now, own_budget);
            if record != before {
                second_factor::put(tx, account.id, &record)?;
            }
            match outcome {
                Ok(accepted) => then(tx, &account, accepted).map(Ok),
                Err(NotAccepted::Unchecked(e)) => Ok(Err(e)),
                Err(NotAccepted::Wrong(e)) => {
                    let actor = Actor { id: Some(account.id), ..actor };
                    audit::record_security(tx, &actor, account.id, AuditAction::AccountSecondFactorFailed, &account.username, &e.to_string())?;
                    Ok(Err(e))
                }
            }
        })
        .await?
}

/// The second step of a login: its first step (`first`: "password", or a single sign-on) passed
/// for `account` at session epoch `epoch`; `code` decides. Records the sign-in with how it was
/// made. `known_device`: the browser is a known device of the account at that epoch (checked by
/// the caller); its wrong codes then spend a budget of its own, not the account's.
pub async fn complete_login(
    cx: &Context,
    account: Uuid,
    epoch: u64,
    code: String,
    addr: Option<IpAddr>,
    first: &str,
    known_device: Option<String>,
) -> Result<(Account, SignInMethod), AppError> {
    let first = first.to_string();
    let actor = Actor { id: Some(account), name: String::new(), client: addr.map(|a| a.to_string()) };
    let attempt = match &known_device {
        Some(device) => Some(cx.limiter.reserve(&Subject::KnownDevice { account: account.to_string(), device: format!("code:{device}") }, None)?),
        None => None,
    };
    let outcome = check(cx, account, code, actor, attempt.is_some(), move |tx, a, accepted| {
        if a.session_epoch != epoch || a.second_factor.is_none() {
            // The password changed, or the second factor was reset, since the password step.
            return Err(AppError::Unauthenticated);
        }
        let (method, details) = match accepted {
            Accepted::Code => (SignInMethod::PasswordAndCode, format!("with {first} and authenticator code")),
            Accepted::Recovery { left } => (
                SignInMethod::PasswordAndRecoveryCode,
                format!("with {first} and a recovery code ({left} left)"),
            ),
        };
        audit::record_security(tx, &who_acts(a, addr), a.id, AuditAction::AccountSignedIn, &a.username, &details)?;
        Ok((a.clone(), method))
    })
    .await;
    if let (Some(attempt), Ok(_)) = (attempt, &outcome) {
        cx.limiter.succeeded(attempt);
    }
    outcome
}

/// Turns two-factor authentication off: needs a current code or a recovery code. The person is
/// emailed.
pub async fn disable(cx: &Context, who: &SignedIn, code: String, addr: Option<IpAddr>) -> Result<(), AppError> {
    if who.account().second_factor.is_none() {
        return Err(AppError::conflict("Two-factor authentication", "is already off"));
    }
    let actor = who_acts(who.account(), addr);
    let (console, mails) = (super::console(cx), cx.mails_per_target.clone());
    check(cx, who.account().id, code, actor.clone(), false, move |tx, a, _| {
        turn_off(tx, &mails, a, &actor, AuditAction::AccountSecondFactorDisabled, "by the account's owner", &console)
    })
    .await
}

/// The operator resets a person's second factor (who lost their phone and their recovery
/// codes): login asks for the password alone again. Audited, and the person is emailed.
pub async fn reset_by_operator(cx: &Context, op: &Operator, account: Uuid, actor: Actor) -> Result<String, AppError> {
    let _ = op;
    let (console, mails) = (super::console(cx), cx.mails_per_target.clone());
    cx.store
        .write(move |tx| {
            let a = accounts::get(tx, account)?.or_missing(Missing::Account)?;
            if a.second_factor.is_none() {
                return Err(AppError::conflict("Two-factor authentication", format!("is not on for {}", a.username)));
            }
            turn_off(tx, &mails, &a, &actor, AuditAction::AccountSecondFactorReset, "by the platform operator", &console)?;
            Ok(a.username)
        })
        .await
}

fn turn_off(
    tx: &redb::WriteTransaction,
    mails: &crate::server::auth::ratelimit::Throttle,
    account: &Account,
    actor: &Actor,
    action: AuditAction,
    by: &str,
    console: &str,
) -> Result<(), AppError> {
    second_factor::remove(tx, account.id)?;
    let mut a = account.clone();
    a.second_factor = None;
    accounts::update(tx, &a)?;
    audit::record_security(tx, actor, a.id, action, &a.username, by)?;
    let body = format!(
        "Two-factor authentication of the MPDP account \"{}\" was turned off {by}. Login now asks \
         for the password alone.\n\nIf this was not expected, change your password and turn \
         two-factor authentication on again: {console}/account\n",
        a.username
    );
    super::tell_account(tx, mails, &a.email, a.email_verified, "Two-factor authentication was turned off", &body)
}

#[cfg(test)]
mod tests {
    use crate::server::store::listing::Window;
    use super::super::test_support::{signed_in, state as ticking, verified_account};
    use super::*;

    fn secret_of(cx: &Context, account: Uuid) -> TotpSecret {
        let record = cx.store.write_blocking(|tx| second_factor::get(tx, account)).unwrap().unwrap();
        record.totp.or(record.pending).unwrap()
    }

    fn code_at(cx: &Context, account: Uuid, secs: i64) -> String {
        generator(&secret_of(cx, account), "x").unwrap().generate(secs as u64).to_string()
    }

    async fn enrolled(cx: &Context, name: &str) -> (SignedIn, Vec<String>) {
        let account = verified_account(cx, name).await;
        let who = signed_in(cx, &account);
        begin(cx, &who).await.unwrap();
        let code = code_at(cx, who.account().id, cx.clock.timestamp());
        let (codes, account) = confirm(cx, &who, &code, None).await.unwrap();
        (signed_in(cx, &account), codes)
    }

    #[tokio::test]
    async fn enrolment_needs_a_code_from_the_shown_secret_and_makes_ten_single_use_recovery_codes() {
        let cx = ticking();
        let account = verified_account(&cx, "ann").await;
        let who = signed_in(&cx, &account);
        let e = confirm(&cx, &who, "123456", None).await.unwrap_err();
        assert_eq!(e.field(), Some("Code"), "no setup begun");
        let setup = begin(&cx, &who).await.unwrap();
        assert!(setup.uri.starts_with("otpauth://totp/MPDP:ann?"), "{}", setup.uri);
        assert!(setup.qr_svg.contains("<svg"));
        assert_eq!(setup.key.replace(' ', "").len(), 32);
        assert_eq!(confirm(&cx, &who, "12345", None).await.unwrap_err().field(), Some("Code"));
        let now = cx.clock.timestamp();
        let wrong = (code_at(&cx, who.account().id, now).parse::<u32>().unwrap() + 1) % 1_000_000;
        assert!(confirm(&cx, &who, &format!("{wrong:06}"), None).await.is_err());
        assert!(status(&cx, &who, vec![]).await.unwrap().setup.is_some());
        let (codes, account) = confirm(&cx, &who, &code_at(&cx, who.account().id, now), None).await.unwrap();
        assert_eq!(codes.len(), RECOVERY_CODES);
        // The session epoch moved on: a session or known browser from before counts for nothing.
        assert_eq!(account.session_epoch, who.account().session_epoch + 1);
        assert_eq!(confirm(&cx, &who, "123456", None).await.unwrap_err().status(), 401, "a request let in before acts on nothing");
        assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
        let stored = cx.store.write_blocking(|tx| second_factor::get(tx, who.account().id)).unwrap().unwrap();
        assert!(stored.recovery.iter().all(|h| !codes.contains(h)), "only hashes are kept");
        assert!(begin(&cx, &who).await.is_err(), "already on");
    }

    #[tokio::test]
    async fn a_code_works_once_and_wrong_codes_are_limited_and_recorded() {
        let cx = ticking();
        let (who, codes) = enrolled(&cx, "ann").await;
        let id = who.account().id;
        let epoch = who.account().session_epoch;
        // The enrolment used its step's code: it is refused at login (replay).
        let used = secret_of(&cx, id).last_step as i64 * 30;
        let e = complete_login(&cx, id, epoch, code_at(&cx, id, used), None, "password", None).await.unwrap_err();
        assert!(e.to_string().contains("used already"), "{e}");
        // The next step's code works once.
        let next = code_at(&cx, id, used + 30);
        cx.clock.advance(std::time::Duration::from_secs(30));
        let (_, method) = complete_login(&cx, id, epoch, next.clone(), None, "password", None).await.unwrap();
        assert_eq!(method, SignInMethod::PasswordAndCode);
        assert!(complete_login(&cx, id, epoch, next, None, "password", None).await.is_err());
        // A recovery code works once, in any case and spacing.
        let (_, method) = complete_login(&cx, id, epoch, codes[0].to_uppercase().replace('-', " "), None, "password", None).await.unwrap();
        assert_eq!(method, SignInMethod::PasswordAndRecoveryCode);
        assert!(complete_login(&cx, id, epoch, codes[0].clone(), None, "password", None).await.is_err());
        // A session epoch from before a password change is refused.
        assert_eq!(complete_login(&cx, id, epoch + 1, codes[1].clone(), None, "password", None).await.unwrap_err(), AppError::Unauthenticated);
        // An accepted code clears the failures before it: one failure since (the reused recovery
        // code), four more wrong codes make five, and then even a right code is refused
        // unchecked until the window ends.
        for _ in 1..FAILURES_ALLOWED {
            assert_eq!(complete_login(&cx, id, epoch, "wrong-code!".into(), None, "password", None).await.unwrap_err().status(), 422);
        }
        let e = complete_login(&cx, id, epoch, codes[2].clone(), None, "password", None).await.unwrap_err();
        assert_eq!(e.status(), 429);
        // Whoever has the password locks nobody out: the owner's known browser has a budget of
        // its own, and its wrong codes are not the account's.
        let owner = || Some("owner-browser".to_string());
        for _ in 0..cx.config.login_failures_per_account {
            let e = complete_login(&cx, id, epoch, "wrong-code!".into(), None, "password", owner()).await.unwrap_err();
            assert_eq!(e.status(), 422, "{e}");
        }
        assert_eq!(complete_login(&cx, id, epoch, codes[2].clone(), None, "password", owner()).await.unwrap_err().status(), 429, "its own budget, spent");
        let (_, method) = complete_login(&cx, id, epoch, codes[2].clone(), None, "password", Some("another-known-browser".into())).await.unwrap();
        assert_eq!(method, SignInMethod::PasswordAndRecoveryCode);
        let e = complete_login(&cx, id, epoch, codes[3].clone(), None, "password", None).await.unwrap_err();
        assert_eq!(e.status(), 429, "a stranger still waits for the account's window");
        cx.clock.advance(std::time::Duration::from_secs(FAILURE_WINDOW_SECS as u64));
        complete_login(&cx, id, epoch, codes[3].clone(), None, "password", None).await.unwrap();
        let failed = cx
            .store
            .read(move |tx| audit::of_account(tx, id, &Window::first(audit::LIST, 100)))
            .await
            .unwrap()
            .items
            .into_iter()
            .filter(|e| e.action == AuditAction::AccountSecondFactorFailed.code())
            .count();
        // two replays, the reused recovery code and four wrong codes (the code refused
        // unchecked was not judged), then the known browser's wrong codes
        assert_eq!(failed, 2 + FAILURES_ALLOWED as usize + cx.config.login_failures_per_account as usize);
    }

    #[tokio::test]
    async fn fifty_logins_at_once_with_one_code_let_one_in() {
        let cx = ticking();
        let (who, _) = enrolled(&cx, "ann").await;
        let (id, epoch) = (who.account().id, who.account().session_epoch);
        cx.clock.advance(std::time::Duration::from_secs(30));
        let code = code_at(&cx, id, cx.clock.timestamp());
        let tries = (0..50).map(|_| {
            let (cx, code) = (cx.clone(), code.clone());
            tokio::spawn(async move { complete_login(&cx, id, epoch, code, None, "password", None).await.is_ok() })
        });
        let ok = futures::future::join_all(tries).await.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(ok, 1);
    }

    #[tokio::test]
    async fn turning_it_off_needs_a_code_and_the_operator_can_reset_it_and_both_are_mailed() {
        let cx = ticking();
        let (who, codes) = enrolled(&cx, "ann").await;
        assert_eq!(disable(&cx, &who, "000000-nope".into(), None).await.unwrap_err().field(), Some("Code"));
        disable(&cx, &who, codes[3].clone(), None).await.unwrap();
        let id = who.account().id;
        let a = cx.store.read(move |tx| accounts::get(tx, id)).await.unwrap().unwrap();
        assert_eq!(a.second_factor, None);
        assert_eq!(cx.store.write_blocking(|tx| second_factor::get(tx, id)).unwrap(), None);

        let (bob, _) = enrolled(&cx, "bob").await;
        let op = Operator::for_tests(who.clone());
        let actor = Actor::named("operator");
        assert_eq!(reset_by_operator(&cx, &op, bob.account().id, actor.clone()).await.unwrap(), "bob");
        let e = reset_by_operator(&cx, &op, bob.account().id, actor.clone()).await.unwrap_err();
        assert_eq!(e.status(), 409);
        assert_eq!(reset_by_operator(&cx, &op, Uuid::now_v7(), actor).await.unwrap_err().status(), 404);
        let mails = cx
            .store
            .read(|tx| {
                use redb::ReadableTable;
                let t = tx.open_table(crate::server::store::tables::OUTBOX)?;
                let mut out = Vec::new();
                for row in t.iter()? {
                    let m: crate::server::store::outbox::OutboxMessage = crate::server::store::codec::decode(row?.1.value())?;
                    if m.subject.contains("Two-factor") {
                        out.push((m.to[0].clone(), m.body.contains("platform operator")));
                    }
                }
                Ok(out)
            })
            .await
            .unwrap();
        assert_eq!(mails, vec![("ann@example.com".to_string(), false), ("bob@example.com".to_string(), true)]);
    }
}
