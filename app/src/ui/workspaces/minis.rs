//! Mini Programs (`/w/{name}/mini-programs`): the list (a Workspace Developer sees those assigned
//! to them), creating one, and one mini program's page with its members and versions.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::minis::{
    assignable_members, get_mini_program, list_mini_programs, list_versions, mini_program_icon, AssignMiniProgram,
    CreateMiniProgram, EditMiniProgram, RetireVersion, UnassignMiniProgram,
};
use crate::model::minis::{mib, Assignables, AssignmentView, MiniProgramView, ASSIGNABLE_SHOWN, MiniRole, VersionView, CATEGORIES, MINI_DESCRIPTION_MAX, MINI_NAME_MAX};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{
    Panel, PanelActions, ServerForm,
    action_error, fmt_time, list_position, query_param, route_param, Notice, toast_action, Badge, DataTable, ErrorPanel, Field, FormError,
    Loading, RowMenu, StatusBadge, Tone, successes,
};

#[component]
pub fn MiniProgramsPage() -> impl IntoView {
    let name = route_param("name");
    let create = ServerAction::<CreateMiniProgram>::new();
    let created = successes(create);
    let list = Resource::new(move || (name.get(), created.get()), |(n, _)| list_mini_programs(n));
    let error = action_error(create);
    let icon = RwSignal::new(String::new());
    view! {
        <WorkspaceShell active="mini-programs" title="Mini Programs">
            <Panel id="minis-title" title="Mini Programs">
                <PanelActions slot>
                    <FormDialog title="Create mini program" param="create">
                        <ActionForm action=create>
                            <FormError error />
                            <input type="hidden" name="workspace" value=move || name.get() />
                            <MiniFields icon error />
                            <button type="submit" class="button button-primary">"Create"</button>
                        </ActionForm>
                    </FormDialog>
                </PanelActions>
                <p class="hint">"You become the admin of a mini program you create, and assign members to it as admins or developers. Workspace Developers see the mini programs they are assigned to."</p>
                <DataTable
                    label="Mini programs"
                    columns=vec!["Mini Program Name", "Category", "Latest version", "Your part", "Members", "Created"]
                    data=list
                    empty="No mini programs to show yet."
                    row=move |p: MiniProgramView| {
                        let href = format!("/w/{}/mini-programs/{}", name.get_untracked(), p.id);
                        view! {
                            <tr>
                                <td><a href=href>{p.name.clone()}</a>{p.removed.then(|| view! { " " <StatusBadge status=Badge::new("Removed", Tone::Negative) /> })}</td>
                                <td>{p.category.clone()}</td>
                                <td>{p.latest.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{p.my_role.map(|r| r.label()).unwrap_or("—")}</td>
                                <td>{p.members.len()}</td>
                                <td class="nowrap">{fmt_time(&p.created)}</td>
                            </tr>
                        }.into_any()
                    }
                />
            </Panel>
        </WorkspaceShell>
    }
}

/// The fields of a mini program, for creating or (with `current`) editing it. The icon file is
/// read in the browser into `icon` (base64), which a hidden field sends.
#[component]
fn MiniFields(
    icon: RwSignal<String>,
    #[prop(optional)] current: Option<MiniProgramView>,
    #[prop(into)] error: Signal<Option<crate::model::AppError>>,
) -> impl IntoView {
    let on_icon = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                let promise = file.array_buffer();
                leptos::task::spawn_local(async move {
                    if let Ok(buf) = wasm_bindgen_futures::JsFuture::from(promise).await {
                        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                        use base64::Engine;
                        icon.set(base64::engine::general_purpose::STANDARD.encode(bytes));
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, icon);
    };
    let value = |v: String| Signal::derive(move || v.clone());
    let (name, description, category) = match &current {
        Some(c) => (value(c.name.clone()), value(c.description.clone()), value(c.category.clone())),
        None => (value(String::new()), value(String::new()), value(String::new())),
    };
    let icon_hint = if current.is_some() {
        "Choose a file only to replace the icon. PNG, JPEG or WebP, at most 256 KiB, 16–1024 pixels a side; it needs JavaScript in the browser."
    } else {
        "PNG, JPEG or WebP, at most 256 KiB, 16–1024 pixels a side. Optional; it needs JavaScript in the browser."
    };
    view! {
        <input type="hidden" name="icon" prop:value=move || icon.get() />
        <Field label="Mini Program Name" name="name" required=true maxlength=MINI_NAME_MAX value=name error />
        <Field label="Description" name="description" kind="textarea" maxlength=MINI_DESCRIPTION_MAX hint="What it does, in a sentence or two (at most 500 characters)." value=description error />
        <Field
            label="Category"
            name="category"
            kind="select"
            required=true
            options=CATEGORIES.iter().map(|c| (c.to_string(), c.to_string())).collect()
            value=category
            error
        />
        <Field label="Icon" name="icon_file" kind="file" accept="image/png,image/jpeg,image/webp" hint=icon_hint on_change=Callback::new(on_icon) error />
    }
}

fn version_badge(v: &VersionView) -> Badge {
    use crate::model::minis::VersionState::*;
    let tone = match v.state {
        Uploaded | InReview => Tone::Waiting,
        Approved | Released => Tone::Positive,
        Rejected | Removed => Tone::Negative,
        Superseded | Retired => Tone::Neutral,
    };
    Badge::new(v.state.label(), tone)
}

#[component]
pub fn MiniProgramPage() -> impl IntoView {
    let (name, id) = (route_param("name"), route_param("id"));
    let assign = ServerAction::<AssignMiniProgram>::new();
    let unassign = ServerAction::<UnassignMiniProgram>::new();
    let edit = ServerAction::<EditMiniProgram>::new();
    let retire = ServerAction::<RetireVersion>::new();
    toast_action(retire, |_| "Version retired.".into());
    let retired = successes(retire);
    let retire_error = action_error(retire);
    toast_action(edit, |_| "Mini program saved.".into());
    let edit_error = action_error(edit);
    let edit_icon = RwSignal::new(String::new());
    toast_action(assign, |_| "Member assigned.".into());
    toast_action(unassign, |_| "Member unassigned.".into());
    let mp_id = Memo::new(move |_| id.get().parse::<uuid::Uuid>().ok());
    let missing = || crate::model::AppError::from(crate::model::Missing::MiniProgram);
    let (assigned, unassigned, edited) = (successes(assign), successes(unassign), successes(edit));
    let changes = move || assigned.get() + unassigned.get() + edited.get();
    let mp = Resource::new(move || (name.get(), mp_id.get(), changes()), move |(n, id, _)| async move {
        match id {
            Some(id) => get_mini_program(n, id).await,
            None => Err(missing()),
        }
    });
    let title = Resource::new(move || (name.get(), mp_id.get(), edited.get()), move |(n, id, _)| async move {
        match id {
            Some(id) => get_mini_program(n, id).await.map(|p| p.name).unwrap_or_else(|_| "Mini program".into()),
            None => "Mini program".into(),
        }
    });
    let members = Resource::new(move || (name.get(), mp_id.get(), changes()), move |(n, id, _)| async move {
        match id {
            Some(id) => get_mini_program(n, id).await.map(|p| p.members),
            None => Err(missing()),
        }
    });
    let position = list_position();
    let versions = Resource::new(move || (name.get(), mp_id.get(), position.get(), retired.get()), move |(n, id, p, _)| async move {
        match id {
            Some(id) => list_versions(n, id, p).await,
            None => Err(missing()),
        }
    });
    let icon = Resource::new(move || (name.get(), mp_id.get(), edited.get()), move |(n, id, _)| async move {
        match id {
            Some(id) => mini_program_icon(n, id).await.ok(),
            None => None,
        }
    });
    // Whom the assign form offers: a page of the active members, or those the search finds.
    let member_q = query_param("member");
    let candidates = Resource::new(move || (name.get(), member_q.get()), |(n, q)| async move { assignable_members(n, q).await.unwrap_or_default() });
    let release = super::release::Release::new(name, mp_id);
    let (assign_error, unassign_error) = (action_error(assign), action_error(unassign));
    // How much of a browser upload has been sent (with JavaScript), in percent.
    let progress = RwSignal::new(None::<u32>);
    let uploaded = query_param("uploaded");
    let upload_error = query_param("upload_error");
    let upload_notice = Signal::derive(move || {
        let v = uploaded.get();
        (!v.is_empty()).then(|| format!("Version {v} uploaded."))
    });
    view! {
        <WorkspaceShell active="mini-programs" title="Mini Programs" detail=title>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let icon = icon.await;
                    let candidates = candidates.await;
                    match mp.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(p) => {
                            let ws = name.get_untracked();
                            let id_text = p.id.to_string();
                            let manage = p.can_manage;
                            let (can_retire, mp_uuid) = (p.can_retire, p.id);
                            let upload_action = format!("/w/{}/mini-programs/{}/versions/upload", ws, id_text);
                            let room = p.bundles.map_or_else(String::new, |b| {
                                format!(" This workspace holds {} of bundles, of the {} it may hold (every version uploaded counts, retired ones too).", mib(b.held), mib(b.quota))
                            });
                            let cli = format!("MPDP_UPLOAD_KEY=mpuk_… mpdp studio upload --server {} --mini-program {} --version 1.0.0 ./dist", p.server, id_text);
                            let edit_dialog = manage.then(|| {
                                let current = p.clone();
                                let (ws, id_text) = (ws.clone(), id_text.clone());
                                view! {
                                    <FormDialog title="Edit mini program" param="edit">
                                        <ServerForm action=edit fields=vec![("workspace", ws), ("id", id_text)] error=edit_error>
                                            <MiniFields icon=edit_icon current error=edit_error />
                                            <button type="submit" class="button button-primary">"Save"</button>
                                        </ServerForm>
                                    </FormDialog>
                                }
                            });
                            view! {
                                <Panel id="mp-details" title="Details">
                                    <PanelActions slot>
                                        {edit_dialog}
                                    </PanelActions>
                                    <div class="mp-summary">
                                        {icon.map(|src| view! { <img class="mp-icon" src=src alt=format!("Icon of {}", p.name) width="64" height="64" /> })}
                                        <dl class="details">
                                            <dt>"Category"</dt><dd>{p.category.clone()}</dd>
                                            <dt>"Description"</dt><dd>{if p.description.is_empty() { "—".to_string() } else { p.description.clone() }}</dd>
                                            <dt>"Mini program ID"</dt><dd><code>{p.id.to_string()}</code></dd>
                                            <dt>"Created"</dt><dd>{format!("{} by {}", fmt_time(&p.created), p.created_by)}</dd>
                                            <dt>"Your part"</dt><dd>{p.my_role.map(|r| r.label()).unwrap_or(if manage { "Workspace Admin" } else { "—" })}</dd>
                                        </dl>
                                    </div>
                                </Panel>
                                <Panel id="mp-members" title="Members">
                                    <FormError error=unassign_error />
                                    <DataTable
                                        label="Members of this mini program"
                                        columns=vec!["Username", "Email", "Part", "Actions"]
                                        data=members
                                        empty="Nobody is assigned yet."
                                        row=move |a: AssignmentView| {
                                            let fields = vec![("workspace", name.get_untracked()), ("id", p.id.to_string()), ("account", a.account.to_string())];
                                            let label = format!("Actions for {}", a.username);
                                            let unassign_label = format!("Unassign {}", a.username);
                                            view! {
                                                <tr>
                                                    <td>{a.username.clone()}</td>
                                                    <td>{a.email.clone()}</td>
                                                    <td>{a.role.label()}</td>
                                                    <td class="row-actions">
                                                        {manage.then(|| view! {
                                                            <RowMenu label>
                                                                <ConfirmDialog action=unassign kind=Confirm::Unassign opener="Unassign…" opener_label=unassign_label fields error=unassign_error />
                                                            </RowMenu>
                                                        })}
                                                    </td>
                                                </tr>
                                            }.into_any()
                                        }
                                    />
                                    {manage.then(|| {
                                        let q = member_q.get_untracked();
                                        let Assignables { members: offered, more, by_email } = candidates;
                                        let searched = if by_email { "username or email" } else { "username" };
                                        let none_found = (!q.is_empty() && offered.is_empty()).then(|| view! {
                                            <p class="hint" role="status">{format!("No active member's {searched} contains “{}”.", q.trim())}</p>
                                        });
                                        view! {
                                            {(more || !q.is_empty()).then(|| view! {
                                                <form method="get" class="inline-fields" role="search" aria-label="Find a member to assign">
                                                    <Field
                                                        label="Find a member"
                                                        name="member"
                                                        kind="search"
                                                        value=member_q
                                                        hint=format!("The form offers {ASSIGNABLE_SHOWN} members at most, by username: search by {searched} for the others.")
                                                        error=Signal::derive(|| None::<crate::model::AppError>)
                                                    />
                                                    <button type="submit" class="button">"Find"</button>
                                                </form>
                                            })}
                                            {none_found}
                                            <ActionForm action=assign attr:class="inline-fields">
                                                <FormError error=assign_error />
                                                <input type="hidden" name="workspace" value=ws.clone() />
                                                <input type="hidden" name="id" value=id_text.clone() />
                                                <Field
                                                    label="Member"
                                                    name="account"
                                                    kind="select"
                                                    required=true
                                                    options=offered.into_iter().map(|c| (c.account.to_string(), c.label)).collect()
                                                    error=assign_error
                                                />
                                                <Field
                                                    label="Part"
                                                    name="role"
                                                    kind="select"
                                                    options=[MiniRole::Developer, MiniRole::Admin].into_iter().map(|r| (r.code().to_string(), r.label().to_string())).collect()
                                                    error=assign_error
                                                />
                                                <button type="submit" class="button button-primary">"Assign"</button>
                                            </ActionForm>
                                        }
                                    })}
                                </Panel>
                                <super::release::ReleasePanel release workspace=name.get_untracked() id=p.id manage />
                                <Panel id="mp-versions" title="Versions">
                                    <Notice message=upload_notice />
                                    {move || {
                                        let e = upload_error.get();
                                        (!e.is_empty()).then(|| view! { <p class="alert alert-error" role="alert">{format!("The upload was refused: {e}")}</p> })
                                    }}
                                    <DataTable
                                        label="Versions"
                                        columns=vec!["Version", "State", "Released to", "Needs container", "Size", "SHA-256", "Uploaded by", "Note", "Uploaded", "Actions"]
                                        sortable=vec![("Uploaded", "created")]
                                        data=versions
                                        empty="No versions uploaded yet."
                                        row=move |v: VersionView| {
                                            let status = version_badge(&v);
                                            let short = v.sha256.chars().take(12).collect::<String>();
                                            let actions = (can_retire && v.state.retirable()).then(|| {
                                                let fields = vec![("workspace", name.get_untracked()), ("id", mp_uuid.to_string()), ("version", v.version.clone())];
                                                let label = format!("Actions for version {}", v.version);
                                                let retire_label = format!("Retire version {}", v.version);
                                                view! {
                                                    <RowMenu label>
                                                        <ConfirmDialog action=retire kind=Confirm::RetireVersion opener="Retire…" opener_label=retire_label fields error=retire_error />
                                                    </RowMenu>
                                                }
                                            });
                                            view! {
                                                <tr>
                                                    <td>{v.version.clone()}</td>
                                                    <td><StatusBadge status /></td>
                                                    <td>{if v.released_to.is_empty() { "—".to_string() } else { v.released_to.join(", ") }}</td>
                                                    <td class="nowrap">{v.min_container.as_ref().map_or_else(|| "Any".to_string(), |m| format!("{m} or later"))}</td>
                                                    <td class="nowrap">{format!("{} bytes", v.size)}</td>
                                                    <td><code title=v.sha256.clone()>{short}"…"</code></td>
                                                    <td>{v.uploader.clone()}</td>
                                                    <td class="details">{v.note.clone()}</td>
                                                    <td class="nowrap">{fmt_time(&v.created)}</td>
                                                    <td class="row-actions">{actions}</td>
                                                </tr>
                                            }.into_any()
                                        }
                                    />
                                    {p.can_upload.then(|| view! {
                                        <FormDialog title="Upload a version" param="upload">
                                            <form method="post" enctype="multipart/form-data" class="upload-form"
                                                action=upload_action on:submit=move |ev| send_with_progress(ev, progress)>
                                                <div class="field">
                                                    <label for="upload-version">"Version"</label>
                                                    <input id="upload-version" name="version" required maxlength="64" aria-describedby="upload-version-hint" />
                                                    <p class="hint" id="upload-version-hint">"A semantic version higher than every earlier one, like 1.2.3."</p>
                                                </div>
                                                <div class="field">
                                                    <label for="upload-note">"Note"</label>
                                                    <textarea id="upload-note" name="note" rows="2" maxlength="2000"></textarea>
                                                </div>
                                                <div class="field">
                                                    <label for="upload-bundle">"Bundle"</label>
                                                    <input id="upload-bundle" type="file" name="bundle" required accept=".tar.gz,.tgz,application/gzip" aria-describedby="upload-bundle-hint" />
                                                    <p class="hint" id="upload-bundle-hint">"A gzip-compressed tar with app.json at its root, as mpdp studio packs it; app.json may name the oldest container version that can run it (minContainerVersion). The server hashes it and signs it with the workspace's platform key as uploaded from the console by you."{room}</p>
                                                </div>
                                                <button type="submit" class="button button-primary" aria-busy=move || progress.get().is_some().then_some("true")>"Upload version"</button>
                                                {move || progress.get().map(|pct| view! {
                                                    <div class="upload-progress">
                                                        <progress max="100" value=pct aria-label="Upload progress">{format!("{pct}%")}</progress>
                                                        <span role="status">{if pct < 100 { format!("Uploading… {pct}%") } else { "Checking the bundle…".to_string() }}</span>
                                                    </div>
                                                })}
                                            </form>
                                        </FormDialog>
                                    })}
                                    <p class="hint">{if p.can_upload { "Or upload with" } else { "Upload with" }}" the Mini Program Studio and the App's Upload Key, for example:"</p>
                                    <pre class="mono wrap"><code>{cli}</code></pre>
                                </Panel>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </WorkspaceShell>
    }
}

/// With JavaScript, sends the upload form by XMLHttpRequest to show its progress, then goes where
/// the server's answer leads (the mini program's page saying what happened). Without JavaScript
/// the form posts as it is.
fn send_with_progress(ev: leptos::ev::SubmitEvent, progress: RwSignal<Option<u32>>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else { return };
        let (Ok(data), Ok(xhr)) = (web_sys::FormData::new_with_form(&form), web_sys::XmlHttpRequest::new()) else { return };
        if xhr.open("POST", &form.action()).is_err() {
            return;
        }
        ev.prevent_default();
        progress.set(Some(0));
        if let Ok(upload) = xhr.upload() {
            let on_progress = Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                if e.length_computable() && e.total() > 0.0 {
                    progress.set(Some(((e.loaded() / e.total()) * 100.0).floor().min(100.0) as u32));
                }
            });
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
            on_progress.forget();
        }
        let done_xhr = xhr.clone();
        let on_done = Closure::<dyn Fn()>::new(move || {
            let url = done_xhr.response_url();
            let origin = window().location().origin().unwrap_or_default();
            // Only a page of this console (the redirect's target) is followed.
            if !url.is_empty() && url.starts_with(&format!("{origin}/")) {
                let _ = window().location().set_href(&url);
            } else {
                progress.set(None);
                let _ = window().location().reload();
            }
        });
        xhr.set_onloadend(Some(on_done.as_ref().unchecked_ref()));
        on_done.forget();
        if xhr.send_with_opt_form_data(Some(&data)).is_err() {
            progress.set(None);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, progress);
}
