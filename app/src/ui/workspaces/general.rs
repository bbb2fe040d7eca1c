//! `/w/{name}/general`: Workspace – General, read-only, with "Request a change", and how the
//! workspace's members must sign in.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::workspaces::{workspace_general, RequestWorkspaceChange, SetSignInPolicy};
use crate::model::workspace::WorkspaceStatus;
use crate::ui::kit::{
    action_error, done_notice, fmt_time, notice_from_query, route_param, Field, ServerForm, FormError, Loaded, Notice, Panel, StatusBadge, SubmitButton,
};

#[component]
pub fn GeneralPage() -> impl IntoView {
    let name = route_param("name");
    let request = ServerAction::<RequestWorkspaceChange>::new();
    let policy = ServerAction::<SetSignInPolicy>::new();
    let data = Resource::new(move || (name.get(), policy.version().get()), |(name, _)| workspace_general(name));
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
                            <dt>"Business Address"</dt><dd class="pre">{w.address.clone()}</dd>
                            <dt>"Scope of Business"</dt><dd>{format!("{} — {}", w.mcc, w.mcc_description)}</dd>
                            <dt>"Business Representative(s)"</dt>
                            <dd><ul class="plain">{w.representatives.iter().map(|r| view! { <li>{r.name.clone()}</li> }).collect_view()}</ul></dd>
                            <dt>"Representative email(s)"</dt>
                            <dd><ul class="plain">{w.representatives.iter().map(|r| view! { <li>{r.email.clone()}</li> }).collect_view()}</ul></dd>
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
