//! App Manage (`/w/{name}/apps`, Workspace Admins): the workspace's host apps, and one App's
//! keys (`/w/{name}/apps/{id}`): shown once when made, masked after, rotated with a grace
//! period, revoked at once; who made each key and was shown it; the Upload Key's scope.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::apps::{get_app, list_app_keys, list_apps, take_new_keys, CreateApp, RevokeAppKey, RotateAppKey, SetTestDevices, SetUploadKeyScope};
use crate::model::apps::{
    AppView, Grace, KeyKind, KeyView, NewKey, UploadScopeView, APP_NAME_MAX, BUNDLE_ID_MAX, SCOPE_MINI_PROGRAMS_FIELD,
    SCOPE_NETWORKS_FIELD,
};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{
    Panel, PanelActions, ServerForm,
    action_error, fmt_time, route_param, toast_action, use_toasts, Badge, CheckGroup, DataTable, ErrorPanel,
    Field, FormError, Loading, RowMenu, StatusBadge, Tone, successes,
};

#[component]
pub fn AppsPage() -> impl IntoView {
    let name = route_param("name");
    let create = ServerAction::<CreateApp>::new();
    toast_action(create, |_| "App added. Copy its keys now: they are shown only once.".into());
    let created = successes(create);
    let apps = Resource::new(move || (name.get(), created.get()), |(n, _)| list_apps(n));
    let error = action_error(create);
    view! {
        <WorkspaceShell active="apps" title="App Manage">
            <Panel id="apps-title" title="Apps">
                <PanelActions slot>
                    <FormDialog title="Add App" param="add">
                        <ActionForm action=create>
                            <FormError error />
                            <input type="hidden" name="workspace" value=move || name.get() />
                            <Field label="App Name" name="name" required=true maxlength=APP_NAME_MAX hint="The host app, as your team calls it (for example: Acme Super App)." error />
                            <fieldset class="platforms">
                                <legend>"Platforms"</legend>
                                <PlatformChoice platform="ios" label="iOS" id_label="iOS Bundle ID" id_name="ios_bundle_id" error />
                                <PlatformChoice platform="android" label="Android" id_label="Android Package Name" id_name="android_package" error />
                            </fieldset>
                            <button type="submit" class="button button-primary">"Add App"</button>
                        </ActionForm>
                        {move || create.value().get().and_then(Result::ok).map(|c| {
                            let href = format!("/w/{}/apps/{}", name.get_untracked(), c.app);
                            view! {
                                <NewKeys keys=c.keys />
                                <p><a href=href>"Open the App"</a></p>
                            }
                        })}
                    </FormDialog>
                </PanelActions>
                <p class="hint">"An App is a host application whose container SDK runs this workspace's mini programs. Each App has a Mini Program Accessing Key for its container and a Mini Program Upload Key for your build tools."</p>
                <DataTable
                    label="Apps"
                    columns=vec!["App Name", "Platforms", "Bundle ID / Package Name", "Live keys", "Created"]
                    data=apps
                    empty="No Apps yet. Add the first one."
                    row=move |a: AppView| {
                        let href = format!("/w/{}/apps/{}", name.get_untracked(), a.id);
                        let ids = [a.ios_bundle_id.clone(), a.android_package.clone()].into_iter().flatten().collect::<Vec<_>>().join(", ");
                        let live = a.keys.iter().filter(|k| k.live).count();
                        view! {
                            <tr>
                                <td><a href=href>{a.name.clone()}</a></td>
                                <td>{a.platforms()}</td>
                                <td><code>{ids}</code></td>
                                <td>{live}</td>
                                <td class="nowrap">{fmt_time(&a.created)}</td>
                            </tr>
                        }.into_any()
                    }
                />
            </Panel>
        </WorkspaceShell>
    }
}

/// A platform's checkbox and the id the App has there.
#[component]
fn PlatformChoice(
    platform: &'static str,
    label: &'static str,
    id_label: &'static str,
    id_name: &'static str,
    #[prop(into)] error: Signal<Option<crate::model::AppError>>,
) -> impl IntoView {
    let check_id = format!("platform-{platform}");
    view! {
        <div class="platform-choice">
            <div class="checkbox">
                <input type="checkbox" id=check_id.clone() name=platform value="on" />
                <label for=check_id>{label}</label>
            </div>
            <Field label=id_label name=id_name maxlength=BUNDLE_ID_MAX hint="Like com.example.app; needed when the platform is ticked." error />
        </div>
    }
}

/// Keys just made, shown in full this once, each with a copy button.
#[component]
pub(crate) fn NewKeys(keys: Vec<NewKey>) -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <section class="new-keys" aria-labelledby="new-keys-title" role="region">
            <h3 id="new-keys-title">"Copy your new keys now"</h3>
            <p class="alert alert-info">"This is the only time they are shown. MPDP keeps only a hash of the Accessing Key and the public half of the Upload Key; if you lose a key, rotate it."</p>
            {keys.into_iter().map(|k| {
                let id = format!("new-key-{}", k.id);
                let text = k.key.clone();
                let copy = move |_| {
                    #[cfg(feature = "hydrate")]
                    {
                        let _ = window().navigator().clipboard().write_text(&text);
                        toasts.success("Copied to the clipboard.");
                    }
                    #[cfg(not(feature = "hydrate"))]
                    let _ = (&text, toasts);
                };
                view! {
                    <div class="new-key">
                        <label for=id.clone()>{if k.app_name.is_empty() { format!("{} ({})", k.kind.label(), k.id) } else { format!("{} of {} ({})", k.kind.label(), k.app_name, k.id) }}</label>
                        <div class="copy-row">
                            <input id=id type="text" readonly value=k.key class="mono" />
                            <button type="button" class="button" on:click=copy aria-label=format!("Copy the {}", k.kind.label())>"Copy"</button>
                        </div>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

fn key_status(k: &KeyView) -> Badge {
    if k.revoked.is_some() {
        Badge::new("Revoked", Tone::Negative)
    } else if !k.live {
        Badge::new("Expired", Tone::Neutral)
    } else if k.expires.is_some() {
        Badge::new("Ending (grace period)", Tone::Waiting)
    } else {
        Badge::new("Active", Tone::Positive)
    }
}

#[component]
pub fn AppPage() -> impl IntoView {
    let (name, id) = (route_param("name"), route_param("id"));
    let rotate = ServerAction::<RotateAppKey>::new();
    let revoke = ServerAction::<RevokeAppKey>::new();
    let limit = ServerAction::<SetUploadKeyScope>::new();
    let devices = ServerAction::<SetTestDevices>::new();
    toast_action(devices, |_| "Test devices saved.".into());
    toast_action(rotate, |k| format!("New {} made. Copy it now: it is shown only once.", k.kind.label()));
    toast_action(revoke, |_| "Key revoked.".into());
    toast_action(limit, |_| "Upload Key scope saved.".into());
    let app_id = Memo::new(move |_| id.get().parse::<uuid::Uuid>().ok());
    let (rotated, revoked, limited, listed) = (successes(rotate), successes(revoke), successes(limit), successes(devices));
    let changed = Memo::new(move |_| rotated.get() + revoked.get() + limited.get() + listed.get());
    let app = Resource::new(
        move || (name.get(), app_id.get(), changed.get()),
        |(n, id, _)| async move {
            match id {
                Some(id) => get_app(n, id).await,
                None => Err(crate::model::Missing::App.into()),
            }
        },
    );
    // Keys made by a plain form post (no JavaScript), waiting to be shown once.
    let waiting = Resource::new(
        move || (name.get(), app_id.get()),
        |(n, id)| async move {
            match id {
                Some(id) => take_new_keys(n, id).await.unwrap_or_default(),
                None => Vec::new(),
            }
        },
    );
    let keys = Resource::new(
        move || (name.get(), app_id.get(), changed.get()),
        |(n, id, _)| async move {
            match id {
                Some(id) => list_app_keys(n, id).await,
                None => Ok(Vec::new()),
            }
        },
    );
    let title = Resource::new(
        move || (name.get(), app_id.get()),
        |(n, id)| async move {
            match id {
                Some(id) => get_app(n, id).await.map(|a| a.name).unwrap_or_else(|_| "App".into()),
                None => "App".into(),
            }
        },
    );
    let (rotate_error, revoke_error, limit_error) = (action_error(rotate), action_error(revoke), action_error(limit));
    view! {
        <WorkspaceShell active="apps" title="App Manage" detail=title>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let shown: Vec<NewKey> = waiting.await;
                    let fresh = move || {
                        let mut all = shown.clone();
                        if let Some(Ok(k)) = rotate.value().get() {
                            all.push(k);
                        }
                        (!all.is_empty()).then(|| view! { <NewKeys keys=all /> })
                    };
                    match app.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(a) => {
                            let ws = name.get_untracked();
                            let app_text = a.id.to_string();
                            view! {
                                {fresh}
                                { let (a, app_text) = (a.clone(), app_text.clone()); view! {
                                    <Panel id="app-details" title="Details">
                                        <dl class="details">
                                            <dt>"Platforms"</dt><dd>{a.platforms()}</dd>
                                            {a.ios_bundle_id.clone().map(|i| view! { <dt>"iOS Bundle ID"</dt><dd><code>{i}</code></dd> })}
                                            {a.android_package.clone().map(|p| view! { <dt>"Android Package Name"</dt><dd><code>{p}</code></dd> })}
                                            <dt>"App ID"</dt><dd><code>{app_text.clone()}</code></dd>
                                            <dt>"Created"</dt><dd>{format!("{} by {}", fmt_time(&a.created), a.created_by)}</dd>
                                            <dt>"Platform public key"</dt>
                                            <dd><code class="mono wrap">{a.platform_public_key.clone()}</code>
                                                <p class="hint">"The workspace's Ed25519 key signs manifests and bundles uploaded from the console, so the container can verify what it runs. Its private half never leaves the server."</p></dd>
                                        </dl>
                                    </Panel>
                                } }
                                {[KeyKind::Accessing, KeyKind::Upload].into_iter().map(|kind| {
                                    let section = format!("keys-{}", kind.code());
                                    let (ws, app_text) = (ws.clone(), app_text.clone());
                                    let scope = (kind == KeyKind::Upload).then(|| view! {
                                        <UploadScope scope=a.upload_scope.clone() choices=a.mini_programs.clone() ws=ws.clone() app=app_text.clone() limit error=limit_error />
                                    });
                                    view! {
                                        <Panel id=section title=kind.label()>
                                            <PanelActions slot>
                                                <RotateKey kind ws=ws.clone() app=app_text.clone() rotate error=rotate_error />
                                            </PanelActions>
                                            <p class="hint">{kind.description()}</p>
                                            {scope}
                                        </Panel>
                                    }
                                }).collect_view()}
                                <TestDevices devices=a.test_devices.clone() ws=ws.clone() app=app_text.clone() action=devices />
                                <Panel id="keys-title" title="Keys">
                                    <DataTable
                                        label="Keys"
                                        columns=vec!["Key", "Kind", "Key ID", "Created", "Shown to", "Last used", "Status", "Actions"]
                                        data=keys
                                        empty="This App has no keys."
                                        row=move |k: KeyView| {
                                            let status = key_status(&k);
                                            let until = k.expires.filter(|_| k.live && k.revoked.is_none()).map(|e| format!("until {}", fmt_time(&e)));
                                            let fields = vec![("workspace", name.get_untracked()), ("app", app_text.clone()), ("key", k.id.clone())];
                                            let label = format!("Actions for key {}", k.id);
                                            let revoke_label = format!("Revoke key {}", k.id);
                                            let shown = if k.shown_to.is_empty() { "not recorded".to_string() } else { k.shown_to.join(", ") };
                                            view! {
                                                <tr>
                                                    <td><code>{k.masked.clone()}</code></td>
                                                    <td>{k.kind.label()}</td>
                                                    <td><code>{k.id.clone()}</code></td>
                                                    <td class="nowrap">{fmt_time(&k.created)}</td>
                                                    <td>{shown}</td>
                                                    <td class="nowrap">{k.last_used.map(|t| fmt_time(&t)).unwrap_or_else(|| "never".into())}</td>
                                                    <td><StatusBadge status=status />{until.map(|u| view! { <br /><span class="hint">{u}</span> })}</td>
                                                    <td class="row-actions">
                                                        {(k.revoked.is_none() && k.live).then(|| view! {
                                                            <RowMenu label=label>
                                                                <ConfirmDialog action=revoke kind=Confirm::RevokeKey opener="Revoke…" opener_label=revoke_label fields error=revoke_error />
                                                            </RowMenu>
                                                        })}
                                                    </td>
                                                </tr>
                                            }.into_any()
                                        }
                                    />
                                </Panel>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </WorkspaceShell>
    }
}

/// "Rotate…": a dialog that asks how long the old key keeps working.
#[component]
fn RotateKey(
    kind: KeyKind,
    ws: String,
    app: String,
    rotate: ServerAction<RotateAppKey>,
    #[prop(into)] error: Signal<Option<crate::model::AppError>>,
) -> impl IntoView {
    let title: &'static str = match kind {
        KeyKind::Accessing => "Rotate the Accessing Key",
        KeyKind::Upload => "Rotate the Upload Key",
    };
    let param: &'static str = match kind {
        KeyKind::Accessing => "rotate-accessing",
        KeyKind::Upload => "rotate-upload",
    };
    view! {
        <FormDialog title param>
            <p>"A new key is made and shown once. The key in use now keeps working for the grace period you choose, so you can roll the new one out; then it stops."</p>
            <ServerForm action=rotate fields=vec![("workspace", ws), ("app", app), ("kind", kind.code().to_string())] error>
                <Field
                    label="Grace period"
                    name="grace"
                    id=format!("grace-{}", kind.code())
                    kind="select"
                    options=Grace::ALL.into_iter().map(|g| (g.code().to_string(), g.label().to_string())).collect()
                    value=Signal::derive(|| Grace::Day.code().to_string())
                    error
                />
                <button type="submit" class="button button-primary">"Rotate"</button>
            </ServerForm>
        </FormDialog>
    }
}

/// What the App's Upload Key may upload to, and "Edit scope…": the mini programs chosen from the
/// workspace's list and the client address ranges typed one per line.
#[component]
fn UploadScope(
    scope: Option<UploadScopeView>,
    choices: Vec<(uuid::Uuid, String)>,
    ws: String,
    app: String,
    limit: ServerAction<SetUploadKeyScope>,
    #[prop(into)] error: Signal<Option<crate::model::AppError>>,
) -> impl IntoView {
    let Some(scope) = scope else {
        return view! { <p class="hint">"This App has no live Upload Key: rotate it to make one, then limit what it may do."</p> }.into_any();
    };
    let options = choices
        .into_iter()
        .map(|(id, name)| {
            let checked = scope.mini_programs.iter().any(|(m, _)| *m == id);
            (id.to_string(), name, checked)
        })
        .collect();
    let typed = scope.networks.join("\n");
    view! {
        <dl class="details">
            <dt>"May upload to"</dt><dd>{scope.mini_programs_text()}</dd>
            <dt>"From client addresses"</dt><dd>{scope.networks_text()}</dd>
        </dl>
        <FormDialog title="Edit Upload Key scope" param="upload-scope">
            <p>"The App's Upload Key — and a key still in its grace period — may upload only to the mini programs ticked, and only from the address ranges listed. A rotation keeps the scope."</p>
            <ServerForm action=limit fields=vec![("workspace", ws), ("app", app)] error>
                <CheckGroup
                    label=SCOPE_MINI_PROGRAMS_FIELD
                    name="mini_programs"
                    options
                    hint="None ticked: every mini program of the workspace, including those made later."
                    empty="This workspace has no mini programs yet: the key may upload to those made later."
                    error
                />
                <Field
                    label=SCOPE_NETWORKS_FIELD
                    name="networks"
                    kind="textarea"
                    value=Signal::derive(move || typed.clone())
                    hint="IPv4 or IPv6 ranges in CIDR form, one per line or separated by commas, such as 203.0.113.0/24 or 2001:db8::/32; a single address stands for itself. Empty: any address."
                    error
                />
                <button type="submit" class="button button-primary">"Save scope"</button>
            </ServerForm>
        </FormDialog>
    }
    .into_any()
}

/// The App's test devices — install ids that get every candidate rolling out to it, whatever its
/// share — and "Edit test devices…".
#[component]
fn TestDevices(devices: Vec<String>, ws: String, app: String, action: ServerAction<SetTestDevices>) -> impl IntoView {
    let error = action_error(action);
    let text = devices.join("\n");
    view! {
        <Panel id="test-devices" title="Test devices">
            <PanelActions slot>
                <FormDialog title="Edit test devices" param="test-devices">
                    <ServerForm action fields=vec![("workspace", ws), ("app", app)] error>
                        <Field
                            label="Test devices"
                            name="devices"
                            kind="textarea"
                            rows=6
                            value=Signal::stored(text)
                            hint="One install id per line (the MPDP-Install-Id the host app sends), at most 100. Empty: none."
                            error
                        />
                        <button type="submit" class="button button-primary">"Save test devices"</button>
                    </ServerForm>
                </FormDialog>
            </PanelActions>
            <p class="hint">"These installs get every candidate that is not paused, whatever its share (0 % included), so QA sees a release before anyone else."</p>
            {if devices.is_empty() {
                view! { <p>"None."</p> }.into_any()
            } else {
                view! { <ul class="plain">{devices.into_iter().map(|d| view! { <li><code>{d}</code></li> }).collect_view()}</ul> }.into_any()
            }}
        </Panel>
    }
}
