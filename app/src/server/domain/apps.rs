//! App Manage: a workspace's host apps, their Accessing and Upload Keys (created, rotated with a
//! grace period, revoked), and when each key was last used.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::model::apps::{check_app, AppView, CreatedApp, Grace, KeyKind, NewKey};
use crate::model::AppError;
use crate::server::auth::guard::WorkspaceAdmin;
use crate::server::keys;
use crate::server::store::apps::{self as store, App, Key};
use crate::server::store::audit::{self, Actor};
use crate::server::AppState;

/// What the "Add App" form sends.
pub struct AppForm {
    pub name: String,
    pub ios: bool,
    pub ios_bundle_id: String,
    pub android: bool,
    pub android_package: String,
}

/// Makes a key of `kind` for `app` in the caller's transaction; returns the key as shown once.
fn make_key(tx: &redb::WriteTransaction, app: &App, kind: KeyKind, now: DateTime<Utc>) -> Result<NewKey, AppError> {
    loop {
        let (text, material) = match kind {
            KeyKind::Accessing => keys::new_access_key(),
            KeyKind::Upload => keys::new_upload_key(),
        };
        let id = keys::key_id(&material);
        if store::key_exists(tx, &id)? {
            continue;
        }
        store::put_key(
            tx,
            &Key {
                id: id.clone(),
                kind,
                app: app.id,
                workspace: app.workspace,
                material,
                tail: keys::key_tail(&text),
                created: now,
                expires: None,
                revoked: None,
                last_used: None,
            },
        )?;
        return Ok(NewKey { app: app.id, kind, id, key: text });
    }
}

/// Adds an App with both its keys, shown once. One transaction, audited.
pub async fn create(state: &AppState, admin: &WorkspaceAdmin, form: AppForm, actor: Actor) -> Result<CreatedApp, AppError> {
    let (name, ios_bundle_id, android_package) =
        check_app(&form.name, form.ios, &form.ios_bundle_id, form.android, &form.android_package)?;
    let m = &admin.member();
    let (wid, wname) = (m.workspace().id, m.workspace().name.clone());
    let app = App {
        id: Uuid::now_v7(),
        workspace: wid,
        name,
        ios_bundle_id,
        android_package,
        created: Utc::now(),
        created_by: m.who().account().username.clone(),
    };
    let created = state
        .store
        .write(move |tx| {
            if store::apps_of_for_update(tx, wid)?
                .iter()
                .any(|a| a.name.to_lowercase() == app.name.to_lowercase())
            {
                return Err(AppError::conflict("App Name", "is already the name of an App in this workspace"));
            }
            store::insert_app(tx, &app)?;
            store::ensure_platform_key(tx, wid)?;
            let mut made = Vec::new();
            for kind in [KeyKind::Accessing, KeyKind::Upload] {
                let k = make_key(tx, &app, kind, app.created)?;
                audit::record(tx, &actor, Some((wid, &wname)), "app.key_created", &app.name, &format!("{} {}", kind.label(), k.id))?;
                made.push(k);
            }
            audit::record(tx, &actor, Some((wid, &wname)), "app.created", &app.name, &app_details(&app))?;
            Ok(CreatedApp { app: app.id, keys: made })
        })
        .await?;
    // The new Accessing Key reads the container API from now on.
    state.container.refresh(&state.store).await;
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

fn not_found() -> AppError {
    AppError::NotFound("No such App in this workspace.".into())
}

/// An App as App detail shows it, read in the caller's transaction.
fn view_in(tx: &redb::ReadTransaction, app: App, platform: &str) -> Result<AppView, AppError> {
    let now = Utc::now();
    let keys = store::keys_of(tx, app.id)?.iter().map(|k| k.view(now)).collect();
    Ok(AppView {
        id: app.id,
        name: app.name,
        ios_bundle_id: app.ios_bundle_id,
        android_package: app.android_package,
        created: app.created,
        created_by: app.created_by,
        keys,
        platform_public_key: platform.to_string(),
    })
}

fn platform_public(tx: &redb::ReadTransaction, workspace: Uuid) -> Result<String, AppError> {
    Ok(store::platform_key(tx, workspace)?
        .map(|p| keys::public_key_text(&p.public))
        .unwrap_or_default())
}

/// One App with its keys and the workspace's platform public key.
pub async fn view(state: &AppState, workspace: Uuid, id: Uuid) -> Result<AppView, AppError> {
    state
        .store
        .read(move |tx| {
            let app = store::app_of(tx, workspace, id)?.ok_or_else(not_found)?;
            view_in(tx, app, &platform_public(tx, workspace)?)
        })
        .await
}

/// The Apps of a workspace, each with its keys (one read).
pub async fn list(state: &AppState, workspace: Uuid) -> Result<Vec<AppView>, AppError> {
    state
        .store
        .read(move |tx| {
            let platform = platform_public(tx, workspace)?;
            store::apps_of(tx, workspace)?.into_iter().map(|a| view_in(tx, a, &platform)).collect()
        })
        .await
}

/// Replaces the live key of `kind` with a new one, shown once. The old key keeps working for
/// the grace period (none: it stops at once).
pub async fn rotate(
    state: &AppState,
    admin: &WorkspaceAdmin,
    app: Uuid,
    kind: KeyKind,
    grace: Grace,
    actor: Actor,
) -> Result<NewKey, AppError> {
    let (wid, wname) = (admin.member().workspace().id, admin.member().workspace().name.clone());
    let new = state
        .store
        .write(move |tx| {
            let app = store::app_of_for_update(tx, wid, app)?.ok_or_else(not_found)?;
            let now = Utc::now();
            let until = now + Duration::seconds(grace.seconds());
            let mut old = Vec::new();
            for mut k in store::keys_of_for_update(tx, app.id)? {
                if k.kind == kind && k.live(now) {
                    k.expires = Some(k.expires.map_or(until, |e| e.min(until)));
                    old.push(k.id.clone());
                    store::put_key(tx, &k)?;
                }
            }
            let new = make_key(tx, &app, kind, now)?;
            audit::record(
                tx,
                &actor,
                Some((wid, &wname)),
                "app.key_rotated",
                &app.name,
                &format!("{}: {} replaced by {}; grace {}", kind.label(), old.join(", "), new.id, grace.label()),
            )?;
            Ok(new)
        })
        .await?;
    // The container API knows the new key, and the old one's grace end.
    state.container.refresh(&state.store).await;
    Ok(new)
}

/// Revokes a key at once.
pub async fn revoke(state: &AppState, admin: &WorkspaceAdmin, app: Uuid, key: String, actor: Actor) -> Result<(), AppError> {
    let (wid, wname) = (admin.member().workspace().id, admin.member().workspace().name.clone());
    state
        .store
        .write(move |tx| {
            let app = store::app_of_for_update(tx, wid, app)?.ok_or_else(not_found)?;
            let mut k = store::key_for_update(tx, &key)?
                .filter(|k| k.app == app.id)
                .ok_or_else(|| AppError::NotFound("No such key for this App.".into()))?;
            if k.revoked.is_some() {
                return Err(AppError::conflict("Key", "is already revoked"));
            }
            k.revoked = Some(Utc::now());
            store::put_key(tx, &k)?;
            audit::record(tx, &actor, Some((wid, &wname)), "app.key_revoked", &app.name, &format!("{} {}", k.kind.label(), k.id))
        })
        .await?;
    // Revocation is immediate: the container API refuses the key from the next request on.
    state.container.refresh(&state.store).await;
    Ok(())
}

/// When keys were last used, kept in memory and written in one batch at most once a minute per
/// key, off the request path: a request that uses a key never writes.
#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<String, DateTime<Utc>>>,
    written: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl LastUsed {
    /// Notes a use (cheap: a map insert).
    pub fn touch(&self, key: &str) {
        let now = Utc::now();
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
    pub async fn flush(&self, state: &AppState) -> Result<usize, AppError> {
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
        state.store.write(move |tx| store::record_last_used(tx, &batch)).await?;
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

    pub fn put(&self, account: Uuid, keys: Vec<NewKey>) {
        let Some(app) = keys.first().map(|k| k.app) else { return };
        let now = Utc::now();
        if let Ok(mut w) = self.waiting.lock() {
            w.retain(|_, (at, _)| now - *at < Duration::seconds(Self::KEEP_SECS));
            w.entry((account, app)).or_insert_with(|| (now, Vec::new())).1.extend(keys);
        }
    }

    pub fn take(&self, account: Uuid, app: Uuid) -> Vec<NewKey> {
        let now = Utc::now();
        self.waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&(account, app)))
            .filter(|(at, _)| now - *at < Duration::seconds(Self::KEEP_SECS))
            .map(|(_, k)| k)
            .unwrap_or_default()
    }
}
