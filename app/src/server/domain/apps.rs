//! App Manage: a workspace's host apps, their Accessing and Upload Keys (created, rotated with a
//! grace period, revoked), and when each key was last used; an Upload Key's scope (mini programs,
//! client address ranges); who made each key and was shown it, and rotating in one step the
//! Upload Keys a blocked or former member could have copied.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::apps::{
    check_app, parse_networks, AppView, CreatedApp, ExposedKey, ExposedKeysView, Grace, KeyKind, KeyView, NewKey, UploadScopeView,
    SCOPE_MINI_PROGRAMS_FIELD,
};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Authorized};
use crate::server::keys;
use crate::server::store::apps::{self as store, App, Key, KeyRecord, UploadScope};
use crate::server::store::audit::{self, Actor};
use crate::server::store::{accounts, members, minis};
use crate::server::Context;

/// What the "Add App" form sends.
pub struct AppForm {
    pub name: String,
    pub ios: bool,
    pub ios_bundle_id: String,
    pub android: bool,
    pub android_package: String,
}

/// Makes a key of `kind` for `app` with `scope` in the caller's transaction, recorded as made by
/// and shown to `by`; returns the key as shown once.
fn make_key(tx: &redb::WriteTransaction, app: &App, kind: KeyKind, now: DateTime<Utc>, scope: UploadScope, by: Uuid) -> Result<NewKey, AppError> {
    loop {
        let (text, material) = match kind {
            KeyKind::Accessing => keys::new_access_key(),
            KeyKind::Upload => keys::new_upload_key(),
        };
        let id = keys::key_id(&material);
        if store::key_exists(tx, &id)? {
            continue;
        }
        let key = Key::new(app, kind, &text, material, now);
        store::put_key_record(tx, &KeyRecord::new(key, scope, by))?;
        return Ok(NewKey { app: app.id, app_name: app.name.clone(), kind, id, key: text });
    }
}

/// The scope a new Upload Key of `app` starts with: that of the App's newest Upload Key, live or
/// not, so a rotation (even after a revocation) never widens what the App's key may do.
fn inherited_scope(tx: &redb::WriteTransaction, app: Uuid) -> Result<UploadScope, AppError> {
    Ok(store::key_records_of(tx, app)?
        .into_iter()
        .find(|r| r.key.kind == KeyKind::Upload)
        .map(|r| r.scope)
        .unwrap_or_default())
}

/// Expires every live key of `kind` of `app` at `until` (or sooner, if it already ends sooner);
/// returns their ids.
fn end_live_keys(tx: &redb::WriteTransaction, app: Uuid, kind: KeyKind, now: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<String>, AppError> {
    let mut old = Vec::new();
    for mut r in store::key_records_of(tx, app)? {
        if r.key.kind == kind && r.key.live(now) {
            r.key.expires = Some(r.key.expires.map_or(until, |e| e.min(until)));
            old.push(r.key.id.clone());
            store::put_key_record(tx, &r)?;
        }
    }
    Ok(old)
}

/// Adds an App with both its keys, shown once. One transaction, audited.
pub async fn create(cx: &Context, admin: &Authorized<act::ManageApps>, form: AppForm, actor: Actor) -> Result<CreatedApp, AppError> {
    let (name, ios_bundle_id, android_package) =
        check_app(&form.name, form.ios, &form.ios_bundle_id, form.android, &form.android_package)?;
    let me = admin.who().account().id;
    let app = App {
        id: Uuid::now_v7(),
        workspace: admin.workspace().id,
        name,
        ios_bundle_id,
        android_package,
        created: cx.clock.now(),
        created_by: admin.who().account().username.clone(),
        test_devices: Vec::new(),
    };
    let created = admin
        .write(cx, move |tx, s| {
            if store::apps_of(tx, s.workspace())?
                .iter()
                .any(|a| a.name.to_lowercase() == app.name.to_lowercase())
            {
                return Err(AppError::conflict("App Name", "is already the name of an App in this workspace"));
            }
            store::insert_app(tx, &app)?;
            store::ensure_platform_key(tx, s.workspace())?;
            let mut made = Vec::new();
            for kind in [KeyKind::Accessing, KeyKind::Upload] {
                let k = make_key(tx, &app, kind, app.created, UploadScope::default(), me)?;
                audit::record(tx, &actor, s.audited(), AuditAction::AppKeyCreated, &app.name, &format!("{} {}", kind.label(), k.id))?;
                made.push(k);
            }
            audit::record(tx, &actor, s.audited(), AuditAction::AppCreated, &app.name, &app_details(&app))?;
            Ok(CreatedApp { app: app.id, keys: made })
        })
        .await?;
    Ok(created)
}

fn app_details(app: &App) -> String {
    let mut parts = Vec::new();
    if let Some(i) = &app.ios_bundle_id {
        parts.push(format!("iOS {i}"));
    }
    if let Some(a) = &app.android_package {
        parts.push(format!("Android {a}"));
    }
    parts.join(", ")
}

/// A person's username, for the console ("a former account" when it is gone).
fn username(tx: &redb::ReadTransaction, account: Uuid) -> Result<String, AppError> {
    Ok(accounts::get(tx, account)?.map(|a| a.username).unwrap_or_else(|| "a deleted account".into()))
}

/// An Upload Key's scope as the console shows it, with the mini programs' names.
fn scope_view(tx: &redb::ReadTransaction, workspace: Uuid, scope: &UploadScope) -> Result<UploadScopeView, AppError> {
    let mut mini_programs = Vec::new();
    for id in &scope.mini_programs {
        let name = minis::get(tx, workspace, *id)?.map(|p| p.name).unwrap_or_else(|| id.to_string());
        mini_programs.push((*id, name));
    }
    Ok(UploadScopeView { mini_programs, networks: scope.networks.clone() })
}

fn key_view(tx: &redb::ReadTransaction, r: &KeyRecord, now: DateTime<Utc>) -> Result<KeyView, AppError> {
    let mut view = r.key.view(now);
    view.made_by = r.created_by.map(|a| username(tx, a)).transpose()?;
    view.shown_to = r.shown_to.iter().map(|a| username(tx, *a)).collect::<Result<_, _>>()?;
    if r.key.kind == KeyKind::Upload {
        view.scope = Some(scope_view(tx, r.key.workspace, &r.scope)?);
    }
    Ok(view)
}

/// An App as App detail shows it, read in the caller's transaction.
fn view_in(tx: &redb::ReadTransaction, app: App, platform: &str, now: DateTime<Utc>) -> Result<AppView, AppError> {
    let records = store::key_records_of(tx, app.id)?;
    let keys = records.iter().map(|r| key_view(tx, r, now)).collect::<Result<Vec<_>, _>>()?;
    let upload_scope = records
        .iter()
        .find(|r| r.key.kind == KeyKind::Upload && r.key.live(now))
        .map(|r| scope_view(tx, app.workspace, &r.scope))
        .transpose()?;
    let mini_programs = minis::of_workspace(tx, app.workspace)?.into_iter().map(|p| (p.id, p.name)).collect();
    Ok(AppView {
        id: app.id,
        name: app.name,
        ios_bundle_id: app.ios_bundle_id,
        android_package: app.android_package,
        created: app.created,
        created_by: app.created_by,
        keys,
        platform_public_key: platform.to_string(),
        upload_scope,
        mini_programs,
        test_devices: app.test_devices,
    })
}

fn platform_public(tx: &redb::ReadTransaction, workspace: Uuid) -> Result<String, AppError> {
    Ok(store::platform_key(tx, workspace)?
        .map(|p| keys::public_key_text(&p.public))
        .unwrap_or_default())
}

/// One App with its keys and the workspace's platform public key.
pub async fn view(cx: &Context, m: &Authorized<act::ViewApps>, id: Uuid) -> Result<AppView, AppError> {
    let (workspace, now) = (m.workspace().id, cx.clock.now());
    cx
        .store
        .read(move |tx| {
            let app = store::app_of(tx, workspace, id)?.or_missing(Missing::App)?;
            view_in(tx, app, &platform_public(tx, workspace)?, now)
        })
        .await
}

/// The Apps of a workspace, each with its keys (one read).
pub async fn list(cx: &Context, m: &Authorized<act::ViewApps>) -> Result<Vec<AppView>, AppError> {
    let (workspace, now) = (m.workspace().id, cx.clock.now());
    cx
        .store
        .read(move |tx| {
            let platform = platform_public(tx, workspace)?;
            store::apps_of(tx, workspace)?.into_iter().map(|a| view_in(tx, a, &platform, now)).collect()
        })
        .await
}

/// Ends the App's live keys of `kind` after `grace` and makes their successor (an Upload Key
/// keeps the scope of the keys it replaces), audited with `why` after the standard details.
#[allow(clippy::too_many_arguments)]
fn replace_keys(
    tx: &redb::WriteTransaction,
    workspace: (Uuid, &str),
    app: &App,
    kind: KeyKind,
    grace: Grace,
    now: DateTime<Utc>,
    (actor, me): (&Actor, Uuid),
    why: &str,
) -> Result<NewKey, AppError> {
    let limits = match kind {
        KeyKind::Upload => inherited_scope(tx, app.id)?,
        KeyKind::Accessing => UploadScope::default(),
    };
    let old = end_live_keys(tx, app.id, kind, now, now + Duration::seconds(grace.seconds()))?;
    let new = make_key(tx, app, kind, now, limits, me)?;
    let details = format!("{}: {} replaced by {}; grace {}{why}", kind.label(), old.join(", "), new.id, grace.label());
    audit::record(tx, actor, Some(workspace), AuditAction::AppKeyRotated, &app.name, &details)?;
    Ok(new)
}

/// Replaces the live key of `kind` with a new one, shown once. The old key keeps working for
/// the grace period (none: it stops at once).
pub async fn rotate(
    cx: &Context,
    admin: &Authorized<act::ManageApps>,
    app: Uuid,
    kind: KeyKind,
    grace: Grace,
    actor: Actor,
) -> Result<NewKey, AppError> {
    let me = admin.who().account().id;
    let new = admin
        .write(cx, move |tx, s| {
            let app = store::app_of(tx, s.workspace(), app)?.or_missing(Missing::App)?;
            let (now, by) = (crate::server::store::now(), (&actor, me));
            replace_keys(tx, (s.workspace(), s.workspace_name()), &app, kind, grace, now, by, "")
        })
        .await?;
    Ok(new)
}

/// Replaces the App's test devices: install ids that get every candidate rolling out to it,
/// whatever its share. Audited with the count before and after.
pub async fn set_test_devices(cx: &Context, admin: &Authorized<act::ManageApps>, app: Uuid, text: String, actor: Actor) -> Result<(), AppError> {
    let devices = crate::model::apps::parse_test_devices(&text)?;
    admin
        .write(cx, move |tx, s| {
            let mut a = store::app_of(tx, s.workspace(), app)?.or_missing(Missing::App)?;
            if a.test_devices == devices {
                return Err(AppError::invalid(crate::model::apps::TEST_DEVICES_FIELD, "nothing was changed"));
            }
            let details = format!("{} → {} install ids", a.test_devices.len(), devices.len());
            a.test_devices = devices;
            store::update_app(tx, &a)?;
            audit::record(tx, &actor, s.audited(), AuditAction::AppTestDevicesChanged, &a.name, &details)?;
            Ok(())
        })
        .await
}

/// Revokes a key at once.
pub async fn revoke(cx: &Context, admin: &Authorized<act::ManageApps>, app: Uuid, key: String, actor: Actor) -> Result<(), AppError> {
    admin
        .write(cx, move |tx, s| {
            let app = store::app_of(tx, s.workspace(), app)?.or_missing(Missing::App)?;
            let mut k = store::key(tx, &key)?
                .filter(|k| k.app == app.id)
                .or_missing(Missing::Key)?;
            if k.revoked.is_some() {
                return Err(AppError::conflict("Key", "is already revoked"));
            }
            k.revoked = Some(crate::server::store::now());
            store::put_key(tx, &k)?;
            audit::record(tx, &actor, s.audited(), AuditAction::AppKeyRevoked, &app.name, &format!("{} {}", k.kind.label(), k.id))
        })
        .await?;
    Ok(())
}

/// What the scope form sends: the chosen mini programs' ids, and the ranges as typed.
pub struct ScopeForm {
    pub mini_programs: Vec<Uuid>,
    pub networks: String,
}

/// Limits the App's Upload Key — every live one, the current key and any still in its grace
/// period — to the chosen mini programs of the workspace (none: all of them) and client address
/// ranges (none: any). A rotation carries the scope to the new key. Audited with what changed.
pub async fn set_upload_scope(cx: &Context, admin: &Authorized<act::ManageApps>, app: Uuid, form: ScopeForm, actor: Actor) -> Result<(), AppError> {
    let networks = parse_networks(&form.networks)?;
    let mut chosen: Vec<Uuid> = Vec::new();
    for id in form.mini_programs {
        if !chosen.contains(&id) {
            chosen.push(id);
        }
    }
    admin
        .write(cx, move |tx, s| {
            let app = store::app_of(tx, s.workspace(), app)?.or_missing(Missing::App)?;
            let mut names = Vec::new();
            for id in &chosen {
                let p = minis::get(tx, s.workspace(), *id)?.ok_or_else(|| {
                    AppError::invalid(SCOPE_MINI_PROGRAMS_FIELD, format!("{id} is not a mini program of this workspace: choose from the list"))
                })?;
                names.push(p.name);
            }
            let now = crate::server::store::now();
            let live: Vec<KeyRecord> = store::key_records_of(tx, app.id)?
                .into_iter()
                .filter(|r| r.key.kind == KeyKind::Upload && r.key.live(now))
                .collect();
            let Some(current) = live.first() else {
                return Err(AppError::conflict("Upload Key", "this App has no live Upload Key to limit: rotate the Upload Key to make one"));
            };
            let new = UploadScope { mini_programs: chosen, networks };
            if live.iter().all(|r| r.scope == new) {
                return Err(AppError::invalid(SCOPE_MINI_PROGRAMS_FIELD, "nothing was changed"));
            }
            let before = current.scope.clone();
            let mut ids = Vec::new();
            for mut r in live {
                r.scope = new.clone();
                ids.push(r.key.id.clone());
                store::put_key_record(tx, &r)?;
            }
            let programs = |names: &[String]| if names.is_empty() { "all".to_string() } else { names.join(", ") };
            let ranges = |n: &[String]| if n.is_empty() { "any".to_string() } else { n.join(", ") };
            let mut before_names = Vec::new();
            for id in &before.mini_programs {
                before_names.push(minis::get(tx, s.workspace(), *id)?.map(|p| p.name).unwrap_or_else(|| id.to_string()));
            }
            audit::record(
                tx,
                &actor,
                s.audited(),
                AuditAction::AppUploadScopeChanged,
                &app.name,
                &format!(
                    "Upload Key {}: mini programs {} (was {}); client address ranges {} (was {})",
                    ids.join(", "),
                    programs(&names),
                    programs(&before_names),
                    ranges(&new.networks),
                    ranges(&before.networks)
                ),
            )?;
            Ok(())
        })
        .await
}

/// The members of a workspace who were shown, in full, Upload Keys that still work — keys they
/// could have copied — and may no longer see them: blocked, gone, or moved to a role that does
/// not manage Apps; by username. (One read over the workspace's Apps
/// and their keys: a workspace has few.)
pub async fn exposed_upload_keys(cx: &Context, m: &Authorized<act::ViewApps>) -> Result<Vec<ExposedKeysView>, AppError> {
    let workspace = m.workspace().id;
    cx
        .store
        .read(move |tx| {
            let now = crate::server::store::now();
            let mut out: Vec<ExposedKeysView> = Vec::new();
            for app in store::apps_of(tx, workspace)? {
                for r in store::key_records_of(tx, app.id)? {
                    if r.key.kind != KeyKind::Upload || !r.key.live(now) {
                        continue;
                    }
                    for account in &r.shown_to {
                        let standing = match members::membership(tx, workspace, *account)? {
                            Some(m) if m.active && crate::model::policy::allows(m.role, crate::model::policy::WorkspaceAction::ManageApps) => continue,
                            Some(m) if m.active => format!("Now a {}", m.role.label()),
                            Some(_) => "Blocked".to_string(),
                            None => "No longer a member".to_string(),
                        };
                        let key = ExposedKey { app: app.id, app_name: app.name.clone(), id: r.key.id.clone(), masked: r.key.view(now).masked };
                        match out.iter_mut().find(|e| e.account == *account) {
                            Some(e) => e.keys.push(key),
                            None => {
                                let a = accounts::get(tx, *account)?;
                                out.push(ExposedKeysView {
                                    account: *account,
                                    username: a.as_ref().map(|a| a.username.clone()).unwrap_or_else(|| "a deleted account".into()),
                                    email: a.map(|a| a.email).unwrap_or_default(),
                                    standing,
                                    keys: vec![key],
                                });
                            }
                        }
                    }
                }
            }
            out.sort_by_key(|e| e.username.to_lowercase());
            Ok(out)
        })
        .await
}

/// Rotates, in one step, the Upload Key of every App of which `account` was shown a key that
/// still works: each App gets a new Upload Key (same scope; shown once, to this admin), and the
/// keys in use stop at once — no grace period, since a copy may be in the wrong hands. One
/// transaction, audited per App.
pub async fn rotate_keys_shown_to(cx: &Context, admin: &Authorized<act::ManageApps>, account: Uuid, actor: Actor) -> Result<Vec<NewKey>, AppError> {
    let me = admin.who().account().id;
    let made = admin
        .write(cx, move |tx, s| {
            let now = crate::server::store::now();
            let who = accounts::get(tx, account)?.map(|a| a.username).unwrap_or_else(|| "a deleted account".into());
            let mut made = Vec::new();
            for app in store::apps_of(tx, s.workspace())? {
                let exposed = store::key_records_of(tx, app.id)?
                    .iter()
                    .any(|r| r.key.kind == KeyKind::Upload && r.key.live(now) && r.shown(account));
                if !exposed {
                    continue;
                }
                let why = format!("; {who} had been shown it");
                made.push(replace_keys(tx, (s.workspace(), s.workspace_name()), &app, KeyKind::Upload, Grace::None, now, (&actor, me), &why)?);
            }
            if made.is_empty() {
                return Err(AppError::conflict("Member", format!("{who} was not shown any Upload Key that still works")));
            }
            Ok(made)
        })
        .await?;
    Ok(made)
}

/// When keys were last used, kept in memory and written in one batch at most once a minute per
/// key, off the request path: a request that uses a key never writes.
#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<String, DateTime<Utc>>>,
    written: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl LastUsed {
    /// Notes a use at `now` (cheap: a map insert).
    pub fn touch(&self, key: &str, now: DateTime<Utc>) {
        let fresh = self
            .written
            .lock()
            .map(|w| w.get(key).is_some_and(|t| now - *t < Duration::seconds(60)))
            .unwrap_or(false);
        if !fresh {
            if let Ok(mut p) = self.pending.lock() {
                p.insert(key.to_string(), now);
            }
        }
    }

    /// Writes what was noted since the last flush, in one transaction.
    pub async fn flush(&self, cx: &Context) -> Result<usize, AppError> {
        let batch: Vec<(String, DateTime<Utc>)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return Err(AppError::Internal),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        if let Ok(mut w) = self.written.lock() {
            for (k, t) in &batch {
                w.insert(k.clone(), *t);
            }
        }
        let n = batch.len();
        cx.store.write(move |tx| store::record_last_used(tx, &batch)).await?;
        Ok(n)
    }
}

/// New keys waiting to be shown to the admin who made them, when their browser posted a plain
/// form (no JavaScript) and is redirected to the App's page: kept in memory only — never in the
/// data file — taken once, and forgotten after ten minutes.
#[derive(Default)]
pub struct ShownOnce {
    waiting: Mutex<HashMap<(Uuid, Uuid), (DateTime<Utc>, Vec<NewKey>)>>,
}

impl ShownOnce {
    const KEEP_SECS: i64 = 600;

    /// Keeps each key to be shown on its App's page.
    pub fn put(&self, account: Uuid, keys: Vec<NewKey>, now: DateTime<Utc>) {
        if let Ok(mut w) = self.waiting.lock() {
            w.retain(|_, (at, _)| now - *at < Duration::seconds(Self::KEEP_SECS));
            for key in keys {
                w.entry((account, key.app)).or_insert_with(|| (now, Vec::new())).1.push(key);
            }
        }
    }

    pub fn take(&self, account: Uuid, app: Uuid, now: DateTime<Utc>) -> Vec<NewKey> {
        self.waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&(account, app)))
            .filter(|(at, _)| now - *at < Duration::seconds(Self::KEEP_SECS))
            .map(|(_, k)| k)
            .unwrap_or_default()
    }
}
