//! `/w/{name}/members`: Workspace – Members, for Workspace Admins.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::apps::{exposed_upload_keys, RotateExposedUploadKeys};
use crate::api::members::{
    list_admissions, list_invitations, list_members, BlockMember, InviteMembers, RemoveMember,
    ResendInvitation, RevokeAdmission, RevokeInvitation, SetMemberRole, UnblockMember,
};
use crate::model::apps::ExposedKeysView;
use crate::model::page::FilterWord;
use crate::model::workspace::{AdmissionView, InvitationView, MemberStatus, MemberView, Role, INVITE_BULK_MAX};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{ServerForm, 
    Panel, PanelActions,
    action_error, fmt_time, list_position, query_param, route_param, Badge, DataTable, Field,
    FormError, ListControls, RowMenu, StatusBadge, Tone, all_successes, successes, toast_action,
};

fn role_options(selected: Option<Role>) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(move |r| view! { <option value=r.code() selected=selected == Some(r)>{r.label()}</option> })
        .collect_view()
}

#[component]
pub fn MembersPage() -> impl IntoView {
    let name = route_param("name");
    let (q, role, status, page) = (
        query_param("q"),
        query_param("role"),
        query_param("status"),
        list_position(),
    );
    let invite = ServerAction::<InviteMembers>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let set_role = ServerAction::<SetMemberRole>::new();
    let block = ServerAction::<BlockMember>::new();
    let unblock = ServerAction::<UnblockMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke_admission = ServerAction::<RevokeAdmission>::new();
    let rotate_exposed = ServerAction::<RotateExposedUploadKeys>::new();
    // Any completed action reloads the lists.
    let changes = all_successes([
        successes(invite),
        successes(resend),
        successes(revoke),
        successes(set_role),
        successes(block),
        successes(unblock),
        successes(remove),
        successes(revoke_admission),
        successes(rotate_exposed),
    ]);
    let members = Resource::new(
        move || {
            (
                name.get(),
                q.get(),
                role.get(),
                status.get(),
                page.get(),
                changes(),
            )
        },
        |(n, q, r, s, p, _)| list_members(n, q, r, s, p),
    );
    let invitations = Resource::new(
        move || (name.get(), changes()),
        |(n, _)| list_invitations(n),
    );
    let admissions = Resource::new(
        move || (name.get(), changes()),
        |(n, _)| list_admissions(n),
    );
    let exposed = Resource::new(
        move || (name.get(), changes()),
        |(n, _)| exposed_upload_keys(n),
    );
    let rotate_exposed_error = action_error(rotate_exposed);
    let (block_error, unblock_error, remove_error) =
        (action_error(block), action_error(unblock), action_error(remove));
    let errors: Vec<Signal<Option<crate::model::AppError>>> = vec![
        action_error(revoke_admission),
        action_error(resend),
        action_error(revoke),
        action_error(set_role),
        block_error,
        unblock_error,
        remove_error,
    ];
    toast_action(invite, |rows| {
        let sent = rows.iter().filter(|r| r.outcome == "invited").count();
        format!("{sent} of {} invitations sent.", rows.len())
    });
    toast_action(set_role, |_| "Role changed.".into());
    toast_action(block, |_| "Member blocked.".into());
    toast_action(unblock, |_| "Member unblocked.".into());
    toast_action(remove, |_| "Member removed.".into());
    toast_action(resend, |_| "Invitation sent again.".into());
    toast_action(revoke, |_| "Invitation revoked.".into());
    toast_action(revoke_admission, |_| "Admission revoked.".into());
    toast_action(rotate_exposed, |keys| format!("{} new Upload Keys made. Copy them now: they are shown only once.", keys.len()));
    let action_failure = Signal::derive(move || errors.iter().find_map(|e| e.get()));
    view! {
        <WorkspaceShell active="members" title="Members">
        <FormError error=action_failure />
        <Panel id="members" title="Members">
            <PanelActions slot>
                <FormDialog title="Invite members" param="invite">
                    <InviteForm invite name />
                </FormDialog>
            </PanelActions>
            <ListControls
                search_label="Search email or username"
                filters=vec![
                    ("role", "Role", Role::options("All roles")),
                    ("status", "Status", MemberStatus::options("All")),
                ]
            />
            <DataTable
                label="Members"
                columns=vec!["Login email", "Username", "Role", "Status", "Two-factor", "Start date", "Actions"]
                sortable=vec![("Login email", "email"), ("Username", "username"), ("Role", "role"), ("Start date", "joined")]
                data=members
                empty="No members match."
                row=move |m: MemberView| {
                                            let id = m.account_id.to_string();
                                            let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
                                            let who = m.username.clone();
                                            let (block_label, unblock_label, remove_label) =
                                                (format!("Block {who}"), format!("Unblock {who}"), format!("Remove {who}"));
                                            view! {
                                                <tr>
                                                    <td>{m.email.clone()}</td>
                                                    <td>{m.username.clone()}</td>
                                                    <td>{m.role.label()}<br /><span class="hint">{format!("Assigned to Mini Program: {}", m.assignment)}</span></td>
                                                    <td><StatusBadge status=Badge::member(m.active) /></td>
                                                    <td><StatusBadge status=Badge::second_factor(m.second_factor) /></td>
                                                    <td class="nowrap">{m.joined.format("%Y-%m-%d").to_string()}</td>
                                                    <td class="row-actions">
                                                        <RowMenu label=format!("Actions for {who}")>
                                                        <ServerForm action=set_role fields=vec![("workspace", name.get_untracked()), ("account", id1)]>
                                                            <label class="visually-hidden" for=format!("role-{id}")>{format!("Role of {who}")}</label>
                                                            <select id=format!("role-{id}") name="role">{role_options(Some(m.role))}</select>
                                                            <button type="submit" class="button">"Set role"</button>
                                                        </ServerForm>
                                                        {if m.active {
                                                            view! { <ConfirmDialog action=block kind=Confirm::BlockMember opener="Block…" opener_label=block_label fields=vec![("workspace", name.get_untracked()), ("account", id2.clone())] error=block_error /> }.into_any()
                                                        } else {
                                                            view! { <ConfirmDialog action=unblock kind=Confirm::UnblockMember opener="Unblock…" opener_label=unblock_label fields=vec![("workspace", name.get_untracked()), ("account", id2.clone())] error=unblock_error /> }.into_any()
                                                        }}
                                                        <ConfirmDialog action=remove kind=Confirm::RemoveMember opener="Remove…" opener_label=remove_label fields=vec![("workspace", name.get_untracked()), ("account", id3.clone())] error=remove_error />
                                                        </RowMenu>
                                                    </td>
                                                </tr>
                                            }.into_any()
                }
            />
        </Panel>
        <Panel id="exposed-keys" title="Upload Keys a member who lost access could have copied">
            <p class="hint">"An Upload Key belongs to its App, not to a person: blocking, removing or demoting a member doesn't stop a copy of a key they were shown. Each Upload Key is shown once, in full, to whoever made it; these still work. Rotate them to stop the copies. (Keys made before MPDP recorded who saw them are listed on their App's page as \"not recorded\".)"</p>
            {move || rotate_exposed.value().get().and_then(Result::ok).map(|keys| view! { <super::apps::NewKeys keys /> })}
            <DataTable
                label="Upload Keys a member who lost access could have copied"
                columns=vec!["Member", "Standing", "Upload Keys they were shown", "Actions"]
                data=exposed
                empty="No member who lost access was shown an Upload Key that still works."
                row=move |e: ExposedKeysView| {
                    let label = format!("Actions for the keys {} was shown", e.username);
                    let rotate_label = format!("Rotate the Upload Keys {} was shown", e.username);
                    let fields = vec![("workspace", name.get_untracked()), ("account", e.account.to_string())];
                    view! {
                        <tr>
                            <td>{e.username.clone()}<br /><span class="hint">{e.email.clone()}</span></td>
                            <td><StatusBadge status=Badge::new(if e.standing == "Blocked" { "Blocked" } else { "Former member" }, Tone::Negative) /></td>
                            <td>
                                <ul class="plain-list">
                                    {e.keys.iter().map(|k| {
                                        let href = format!("/w/{}/apps/{}", name.get_untracked(), k.app);
                                        view! { <li><a href=href>{k.app_name.clone()}</a>": "<code>{k.masked.clone()}</code>" ("{k.id.clone()}")"</li> }
                                    }).collect_view()}
                                </ul>
                            </td>
                            <td class="row-actions">
                                <RowMenu label>
                                    <ConfirmDialog action=rotate_exposed kind=Confirm::RotateExposedKeys opener="Rotate these keys…" opener_label=rotate_label fields error=rotate_exposed_error />
                                </RowMenu>
                            </td>
                        </tr>
                    }.into_any()
                }
            />
        </Panel>
        <Panel id="pending" title="Pending invitations">
            <DataTable
                label="Pending invitations"
                columns=vec!["Email", "Role", "Invited by", "Expires", "Actions"]
                data=invitations
                empty="No pending invitations."
                row=move |i: InvitationView| {
                    let (e1, e2) = (i.email.clone(), i.email.clone());
                    view! {
                        <tr>
                                                <td>{i.email.clone()}</td>
                                                <td>{i.role.label()}</td>
                                                <td>{i.inviter.clone()}</td>
                                                <td>{if i.expired { view! { <StatusBadge status=Badge::new("Expired", Tone::Negative) /> }.into_any() } else { fmt_time(&i.expires).into_any() }}</td>
                                                <td class="row-actions">
                                                    <ServerForm action=resend fields=vec![("workspace", name.get_untracked()), ("email", e1)]>
                                                        <button type="submit" class="button">"Resend"</button>
                                                    </ServerForm>
                                                    <ServerForm action=revoke fields=vec![("workspace", name.get_untracked()), ("email", e2)]>
                                                        <button type="submit" class="button">"Revoke"</button>
                                                    </ServerForm>
                                                </td>
                                            </tr>
                    }.into_any()
                }
            />
        </Panel>
        <Panel id="admissions" title="Waiting for a verified address">
            <p class="hint">"Representatives named for this workspace join as soon as their email address is verified on MPDP. Nobody is admitted on an address they have not proven."</p>
            <DataTable
                label="Admissions waiting for a verified address"
                columns=vec!["Email", "Role", "Since", "Actions"]
                data=admissions
                empty="Nobody is waiting."
                row=move |a: AdmissionView| {
                                        let label = format!("Revoke the admission of {}", a.email);
                                        view! {
                                            <tr>
                                                <td>{a.email.clone()}</td>
                                                <td>{a.role.label()}</td>
                                                <td class="nowrap">{fmt_time(&a.added)}</td>
                                                <td class="row-actions">
                                                    <ServerForm action=revoke_admission fields=vec![("workspace", name.get_untracked()), ("email", a.email.clone())]>
                                                        <button type="submit" class="button" aria-label=label>"Revoke"</button>
                                                    </ServerForm>
                                                </td>
                                            </tr>
                                        }.into_any()
                }
            />
        </Panel>
        </WorkspaceShell>
    }
}

/// The invitation form, shown in the "Invite members" dialog, with each address's outcome.
#[component]
fn InviteForm(invite: ServerAction<InviteMembers>, name: Memo<String>) -> impl IntoView {
    let invite_error = action_error(invite);
    let bulk = NodeRef::<leptos::html::Textarea>::new();
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                let promise = file.text();
                leptos::task::spawn_local(async move {
                    if let Ok(text) = wasm_bindgen_futures::JsFuture::from(promise).await {
                        if let (Some(area), Some(text)) = (bulk.get(), text.as_string()) {
                            area.set_value(&text);
                        }
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
            <ActionForm action=invite>
                <FormError error=invite_error />
                <input type="hidden" name="workspace" value=move || name.get() />
                <Field
                    label="Email addresses"
                    name="emails"
                    kind="textarea"
                    required=true
                    textarea_ref=bulk
                    hint=format!("One address, or many: one per line or separated by commas (at most {INVITE_BULK_MAX}). You can also load a CSV file of emails below.")
                    error=invite_error
                />
                <Field label="CSV file of emails" name="csv" kind="file" accept=".csv,text/csv,text/plain" on_change=Callback::new(on_file) error=invite_error />
                <Field
                    label="Role"
                    name="role"
                    kind="select"
                    options=Role::ALL.into_iter().map(|r| (r.code().to_string(), r.label().to_string())).collect()
                    value=Signal::derive(|| Role::WorkspaceDeveloper.code().to_string())
                    error=invite_error
                />
                <button type="submit" class="button button-primary">"Send invitations"</button>
            </ActionForm>
            {move || invite.value().get().and_then(|r| r.ok()).map(|rows| view! {
                <ul class="results" aria-label="Invitation results">
                    {rows.into_iter().map(|r| view! { <li><strong>{r.email}</strong>": "{r.outcome}</li> }).collect_view()}
                </ul>
            })}
    }
}
