//! `/w/{name}/general`: Workspace – General, read-only, with "Request a change", and how the
//! workspace's members must sign in.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::workspaces::{workspace_general, RequestWorkspaceChange, SetSignInPolicy, SetWorkspaceSso};
use crate::model::workspace::{WorkspaceSso, WorkspaceStatus};
use crate::ui::kit::{
    action_error, done_notice, fmt_time, notice_from_query, route_param, Field, ServerForm, FormError, Loaded, Notice, Panel, StatusBadge, SubmitButton,
};

#[component]
pub fn GeneralPage() -> impl IntoView {
    let name = route_param("name");
    let request = ServerAction::<RequestWorkspaceChange>::new();
    let policy = ServerAction::<SetSignInPolicy>::new();
    let sso = ServerAction::<SetWorkspaceSso>::new();
    let data = Resource::new(move || (name.get(), policy.version().get() + sso.version().get()), |(name, _)| workspace_general(name));
    let policy_error = action_error(policy);
    let policy_done = done_notice(policy, "sign_in_policy", "The sign-in requirement is changed.");
    let requested = notice_from_query(
        "requested",
        "Your change request has been sent to the platform operator.",
    );
    let error = action_error(request);
    view! {
        <WorkspaceShell active="general" title="General">
        <Loaded data=data whole_page=true show=move |(w, _role)| {
            let suspended = w.status == WorkspaceStatus::Suspended;
            view! {
                {suspended.then(|| view! {
                    <p class="alert alert-error" role="alert">
                        {format!("This workspace is suspended{}. It is read-only until the platform operator reactivates it.", w.status_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())}
                    </p>
                })}
                { let w = w.clone(); view! {
                    <Panel id="registered" title="Registered information">
                        <dl class="facts">
                            <dt>"Workspace ID"</dt><dd><code>{w.id.to_string()}</code></dd>
                            <dt>"Workspace Name"</dt><dd>{w.name.clone()}</dd>
                            <dt>"Status"</dt><dd><StatusBadge status=w.status /></dd>
                            <dt>"Business Address"</dt><dd class="pre">{w.info.address.clone()}</dd>
                            <dt>"Scope of Business"</dt><dd>{w.scope.clone()}</dd>
                            <dt>"Business Representative(s)"</dt>
                            <dd><ul class="plain">{w.info.representatives.iter().map(|r| view! { <li>{r.name.clone()}</li> }).collect_view()}</ul></dd>
                            <dt>"Representative email(s)"</dt>
                            <dd><ul class="plain">{w.info.representatives.iter().map(|r| view! { <li>{r.email.clone()}</li> }).collect_view()}</ul></dd>
                            <dt>"Generated"</dt><dd>{fmt_time(&w.created)}</dd>
                        </dl>
                    </Panel>
                } }
                { let (required, name) = (w.require_second_factor, w.name.clone()); view! {
                    <Panel id="sign-in" title="Sign-in requirements">
                        <Notice message=policy_done />
                        <dl class="facts">
                            <dt>"Two-factor authentication"</dt>
                            <dd>{if required { "Required of every member" } else { "Not required" }}</dd>
                        </dl>
                        <p class="hint">{if required {
                            "Members without a second factor are refused every page and action of this workspace until they turn one on on their account page."
                        } else {
                            "When required, members without a second factor are refused every page and action of this workspace until they turn one on on their account page. Turn it on for your own account first."
                        }}</p>
                        {(!suspended).then(|| view! {
                            <ServerForm action=policy error=policy_error fields=vec![("workspace", name), ("require_second_factor", (!required).to_string())]>
                                <button type="submit" class="button">{if required { "Stop requiring two-factor authentication" } else { "Require two-factor authentication" }}</button>
                            </ServerForm>
                        })}
                    </Panel>
                } }
                <SingleSignOnPanel workspace=w.name.clone() current=w.single_sign_on.clone() suspended action=sso />
                {(!suspended).then(|| view! {
                    <Panel id="change" title="Request a change">
                        <p class="hint">"This information is kept by the platform operator. Say what should change and why; the operator makes the change. The Workspace Name can't be changed."</p>
                        <ActionForm action=request>
                            <Notice message=requested />
                            <FormError error />
                            <input type="hidden" name="workspace" value=w.name.clone() />
                            <Field label="What to change" name="what" required=true maxlength=1000 error />
                            <Field label="Why" name="why" required=true maxlength=1000 error />
                            <SubmitButton label="Send change request" pending=request.pending() />
                        </ActionForm>
                    </Panel>
                })}
            }.into_any()
        }
        />
        </WorkspaceShell>
    }
}

/// The workspace's single sign-on: which provider, whether it is required, and the roles its
/// groups give.
#[component]
fn SingleSignOnPanel(workspace: String, current: Option<WorkspaceSso>, suspended: bool, action: ServerAction<SetWorkspaceSso>) -> impl IntoView {
    let providers = Resource::new(|| (), |_| crate::api::account::sign_in_providers());
    let error = action_error(action);
    let done = done_notice(action, "single_sign_on", "Single sign-on is saved.");
    view! {
        <Panel id="single-sign-on" title="Single sign-on">
            <Notice message=done />
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let (workspace, current) = (workspace.clone(), current.clone());
                    Suspend::new(async move {
                        let list = providers.await.unwrap_or_default();
                        let label = current.as_ref().map(|c| list.iter().find(|p| p.id == c.provider).map(|p| p.label.clone()).unwrap_or_else(|| c.provider.clone()));
                        let required = current.as_ref().is_some_and(|c| c.required);
                        let groups = current.as_ref().map(|c| c.groups.iter().map(|(g, r)| format!("{g} = {}", r.label())).collect::<Vec<_>>().join("\n")).unwrap_or_default();
                        let chosen = current.as_ref().map(|c| c.provider.clone()).unwrap_or_default();
                        let mut options = vec![(String::new(), "None".to_string())];
                        options.extend(list.iter().map(|p| (p.id.clone(), p.label.clone())));
                        view! {
                            <dl class="facts">
                                <dt>"Provider"</dt><dd>{label.unwrap_or_else(|| "None".into())}</dd>
                                <dt>"Required"</dt><dd>{if required { "Yes: members must sign in with the provider" } else { "No: members may also sign in with a password" }}</dd>
                                <dt>"Group roles"</dt><dd class="pre">{if groups.is_empty() { "None".to_string() } else { groups.clone() }}</dd>
                            </dl>
                            {if list.is_empty() {
                                view! { <p class="hint">"No single sign-on provider is configured on this server: the platform operator adds them."</p> }.into_any()
                            } else if suspended {
                                ().into_any()
                            } else {
                                view! {
                                    <p class="hint">"When required, a session not signed in with the provider is refused every page and action of this workspace (personal access tokens made before keep working). Sign in with the provider yourself before you require it or map groups. Group roles make whoever signs in while in a group an active member in its role, or raise their role; lowering roles, blocking and removing stay yours."</p>
                                    <ActionForm action>
                                        <FormError error />
                                        <input type="hidden" name="workspace" value=workspace />
                                        <Field label="Provider" name="provider" kind="select" options value=Signal::derive(move || chosen.clone()) error />
                                        <div class="field">
                                            <label class="check"><input type="checkbox" id="sso-required" name="required" value="true" checked=required />" Require single sign-on of every member"</label>
                                        </div>
                                        <Field label="Group roles" name="groups" kind="textarea" rows=4 maxlength=10000 value=Signal::derive(move || groups.clone()) error
                                            hint="One per line: group = role (Workspace Admin, Workspace Reviewer, Mini Program Admin or Workspace Developer). The provider must send a groups claim (ask for the groups scope)." />
                                        <SubmitButton label="Save single sign-on" pending=action.pending() />
                                    </ActionForm>
                                }.into_any()
                            }}
                        }
                    })
                }}
            </Suspense>
        </Panel>
    }
}
