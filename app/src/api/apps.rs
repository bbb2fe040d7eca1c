//! App Manage: Apps and their keys (Workspace Admins only).

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::apps::{AppView, CreatedApp, ExposedKeysView, NewKey};
use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::model::apps::{Grace, KeyKind};
#[cfg(feature = "ssr")]
use super::acting;
#[cfg(feature = "ssr")]
use crate::server::{
    guard::{act, Authorized, Member},
    domain::apps as domain,
    state::AppState, Context,
};

/// Whether the request is a plain form post from a browser without JavaScript (which follows a
/// redirect and never sees the answer's body).
#[cfg(feature = "ssr")]
pub(crate) async fn plain_form_post() -> bool {
    leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| h.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html")))
        .unwrap_or(false)
}

/// A browser without JavaScript goes to the App's page, where the new keys wait to be shown
/// once (keys of other Apps wait on their pages); with JavaScript the keys are in the answer.
#[cfg(feature = "ssr")]
async fn show_once(state: &AppState, admin: &Authorized<act::ManageApps>, keys: &[NewKey]) {
    if let Some(app) = keys.first().map(|k| k.app) {
        if plain_form_post().await {
            state.shown_once.put(admin.who().account().id, keys.to_vec(), state.clock.now());
            leptos_axum::redirect(&format!("/w/{}/apps/{app}", admin.workspace().name));
        }
    }
}

/// The Apps of a workspace, with their keys (masked).
#[server(prefix = "/api", endpoint = "list-apps")]
pub async fn list_apps(workspace: String) -> Result<Vec<AppView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApps)?;
    domain::list(&Context::current()?, &m).await
}

/// One App: its keys (masked), the platform public key.
#[server(prefix = "/api", endpoint = "get-app")]
pub async fn get_app(workspace: String, id: Uuid) -> Result<AppView, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApps)?;
    domain::view(&Context::current()?, &m, id).await
}

/// The keys an App has had, masked, newest first.
#[server(prefix = "/api", endpoint = "list-app-keys")]
pub async fn list_app_keys(workspace: String, id: Uuid) -> Result<Vec<crate::model::apps::KeyView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApps)?;
    Ok(domain::view(&Context::current()?, &m, id).await?.keys)
}

/// Keys made for this person's last plain form post, shown once (then forgotten).
#[server(prefix = "/api", endpoint = "take-new-keys")]
pub async fn take_new_keys(workspace: String, id: Uuid) -> Result<Vec<NewKey>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApps)?;
    if super::from_another_site().await {
        // A page another site opened would use them up before the person saw them.
        return Ok(Vec::new());
    }
    let state = AppState::current()?;
    Ok(state.shown_once.take(m.who().account().id, id, state.clock.now()))
}

/// Adds an App (name; iOS and/or Android with their ids) with both keys, shown once.
#[server(prefix = "/api", endpoint = "create-app")]
pub async fn create_app(
    workspace: String,
    name: String,
    #[server(default)] ios: Option<String>,
    #[server(default)] ios_bundle_id: String,
    #[server(default)] android: Option<String>,
    #[server(default)] android_package: String,
) -> Result<CreatedApp, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    let form = domain::AppForm {
        name,
        ios: ios.is_some(),
        ios_bundle_id,
        android: android.is_some(),
        android_package,
    };
    let created = domain::create(&state, &admin, form, actor).await?;
    show_once(&state, &admin, &created.keys).await;
    Ok(created)
}

/// Replaces an App's Accessing or Upload Key; the old one works for the grace period.
#[server(prefix = "/api", endpoint = "rotate-app-key")]
pub async fn rotate_app_key(workspace: String, app: Uuid, kind: String, grace: String) -> Result<NewKey, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    let (kind, grace) = (KeyKind::parse(&kind)?, Grace::parse(&grace)?);
    let key = domain::rotate(&state, &admin, app, kind, grace, actor).await?;
    show_once(&state, &admin, std::slice::from_ref(&key)).await;
    Ok(key)
}

/// Revokes a key at once.
#[server(prefix = "/api", endpoint = "revoke-app-key")]
pub async fn revoke_app_key(
    workspace: String,
    app: Uuid,
    key: String,
    /// The page to return to after a plain form post from the confirmation page.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    domain::revoke(&state, &admin, app, key, actor).await?;
    super::return_to(back)
}

/// Limits the App's Upload Key to chosen mini programs of the workspace (`mini_programs[0]`,
/// `mini_programs[1]`, … in a form; none: all of them) and to client address ranges (CIDR, one
/// per line or comma separated; none: any address).
#[server(prefix = "/api", endpoint = "set-upload-key-scope")]
pub async fn set_upload_key_scope(
    workspace: String,
    app: Uuid,
    #[server(default)] mini_programs: Vec<Uuid>,
    #[server(default)] networks: String,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    domain::set_upload_scope(&state, &admin, app, domain::ScopeForm { mini_programs, networks }, actor).await
}

/// Replaces the App's test devices: install ids (one per line) that get every candidate rolling
/// out to the App, whatever its share.
#[server(prefix = "/api", endpoint = "set-test-devices")]
pub async fn set_test_devices(workspace: String, app: Uuid, #[server(default)] devices: String) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    domain::set_test_devices(&state, &admin, app, devices, actor).await
}

/// The blocked and former members who were shown Upload Keys that still work, with those keys.
#[server(prefix = "/api", endpoint = "exposed-upload-keys")]
pub async fn exposed_upload_keys(workspace: String) -> Result<Vec<ExposedKeysView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewApps)?;
    domain::exposed_upload_keys(&Context::current()?, &m).await
}

/// Rotates, in one step and with no grace period, the Upload Keys `account` was shown that still
/// work; the new keys are shown once.
#[server(prefix = "/api", endpoint = "rotate-exposed-upload-keys")]
pub async fn rotate_exposed_upload_keys(
    workspace: String,
    account: Uuid,
    /// The page that asked (a plain form post goes to the first App's page, where its new key waits).
    #[server(default)]
    back: Option<String>,
) -> Result<Vec<NewKey>, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageApps).await?;
    let keys = domain::rotate_keys_shown_to(&state, &admin, account, actor).await?;
    let _ = back;
    show_once(&state, &admin, &keys).await;
    Ok(keys)
}
