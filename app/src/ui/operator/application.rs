//! `/operator/applications/{id}`: one application in full; generate or reject.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::{by_address_id, OperatorShell};
use crate::api::operator::{
    get_workspace_application, GenerateWorkspace, RejectWorkspaceApplication,
};
use crate::model::workspace::ApplicationStatus;
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{
    action_error, fmt_time, notice_from_query, FormError, Loaded, Notice, Panel, StatusBadge,
};

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let generate = ServerAction::<GenerateWorkspace>::new();
    let reject = ServerAction::<RejectWorkspaceApplication>::new();
    let data = by_address_id(crate::model::Missing::Application, [generate.version(), reject.version()], get_workspace_application);
    let generated = notice_from_query(
        "generated",
        "Workspace generated. The representatives have been emailed.",
    );
    let rejected = notice_from_query(
        "rejected",
        "Application rejected. The applicant has been emailed the reason.",
    );
    let gen_error = action_error(generate);
    let rej_error = action_error(reject);
    view! {
        <OperatorShell title="Workspace application" active="applications" up=("Applications", "/operator/applications")>
        <Notice message=generated />
        <Notice message=rejected />
        <FormError error=gen_error />
        <Loaded data=data show=move |a| {
            let pending = a.status == ApplicationStatus::Pending;
            let (id_generate, id_reject) = (a.id.to_string(), a.id.to_string());
            view! {
                <Panel id="details" title=a.name.clone()>
                    <dl class="facts">
                        <dt>"Status"</dt><dd><StatusBadge status=a.status /></dd>
                        <dt>"Workspace Name"</dt><dd>{a.name.clone()}</dd>
                        <dt>"Applicant"</dt><dd>{a.applicant.clone()}</dd>
                        <dt>"Scope of Business"</dt><dd>{a.scope.clone()}</dd>
                        <dt>"Business Address"</dt><dd class="pre">{a.info.address.clone()}</dd>
                        <dt>"Business Representatives"</dt>
                        <dd><ul class="plain">{a.info.representatives.iter().map(|r| view! { <li>{format!("{} <{}>", r.name, r.email)}</li> }).collect_view()}</ul></dd>
                        <dt>"Submitted"</dt><dd>{fmt_time(&a.created)}</dd>
                        {a.decided.map(|d| view! { <dt>"Decided"</dt><dd>{fmt_time(&d)}</dd> })}
                        {a.reason.clone().map(|r| view! { <dt>"Reason"</dt><dd>{r}</dd> })}
                        {a.workspace_id.map(|w| view! { <dt>"Workspace"</dt><dd><a href=format!("/operator/workspaces/{w}")>{w.to_string()}</a></dd> })}
                    </dl>
                </Panel>
                {pending.then(|| view! {
                    <Panel id="decide" title="Decide">
                        <div class="decide">
                            <ActionForm action=generate>
                                <input type="hidden" name="id" value=id_generate />
                                <p>"Generate the workspace: it becomes Active, and every representative becomes a Workspace Admin and is emailed."</p>
                                <button type="submit" class="button button-primary">"Generate workspace"</button>
                            </ActionForm>
                            <ConfirmDialog action=reject kind=Confirm::RejectApplication opener="Reject…" fields=vec![("id", id_reject.clone())] error=rej_error />
                        </div>
                    </Panel>
                })}
            }.into_any()
        }
        />
        </OperatorShell>
    }
}
