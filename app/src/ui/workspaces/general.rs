//! `/w/{name}/general`: Workspace – General, read-only, with "Request a change".

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::workspaces::{workspace_general, RequestWorkspaceChange};
use crate::model::workspace::WorkspaceStatus;
use crate::ui::kit::{
    action_error, fmt_time, notice_from_query, route_param, Field, FormError, Loaded, Notice, Panel, StatusBadge, SubmitButton,
};

#[component]
pub fn GeneralPage() -> impl IntoView {
    let name = route_param("name");
    let request = ServerAction::<RequestWorkspaceChange>::new();
    let data = Resource::new(move || name.get(), workspace_general);
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
