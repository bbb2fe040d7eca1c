//! `/workspaces`: the workspaces you belong to and your applications.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::workspaces::{
    my_workspace_applications, my_workspaces, WithdrawWorkspaceApplication,
};
use crate::model::workspace::{ApplicationStatus, ApplicationView, MyWorkspace};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{
    Panel,
    action_error, fmt_time, notice_from_query, DataTable, FormError, Notice, PageHeader, StatusBadge,
};

#[component]
pub fn WorkspacesPage() -> impl IntoView {
    let withdraw = ServerAction::<WithdrawWorkspaceApplication>::new();
    let workspaces = Resource::new(|| (), |_| my_workspaces());
    let applications = Resource::new(
        move || withdraw.version().get(),
        |_| my_workspace_applications(),
    );
    let applied = notice_from_query("applied", "Application submitted. The platform operator will review it; you will get an email with the decision.");
    let withdrawn = notice_from_query("withdrawn", "Application withdrawn.");
    let joined = notice_from_query("joined", "Welcome! You have joined the workspace.");
    let left = notice_from_query("left", "You have left the workspace.");
    let error = action_error(withdraw);
    view! {
        <Title text="Workspaces" />
        <PageHeader title="Workspaces" crumbs=vec![("Home", "/")]>
            <a class="button button-primary" href="/workspaces/apply">"Apply for a workspace"</a>
        </PageHeader>
        <Notice message=applied />
        <Notice message=withdrawn />
        <Notice message=joined />
        <Notice message=left />
        <FormError error />
        <Panel id="mine" title="Your workspaces">
            <DataTable
                label="Your workspaces"
                columns=vec!["Workspace", "Your role", "Status"]
                data=workspaces
                empty="You are not a member of any workspace yet."
                row=|w: MyWorkspace| view! {
                    <tr>
                        <td><a href=format!("/w/{}", w.name)>{w.name.clone()}</a></td>
                        <td>{w.role.label()}</td>
                        <td><StatusBadge status=w.status /></td>
                    </tr>
                }.into_any()
            />
        </Panel>
        <Panel id="applications" title="Your applications">
            <DataTable
                label="Your applications"
                columns=vec!["Workspace Name", "Scope of Business", "Submitted", "Status", "Reason", "Actions"]
                data=applications
                empty="You have not applied for a workspace."
                row=move |a: ApplicationView| {
                    let pending = a.status == ApplicationStatus::Pending;
                    let id = a.id.to_string();
                    view! {
                        <tr>
                            <td>{a.name.clone()}</td>
                            <td>{a.scope.clone()}</td>
                            <td>{fmt_time(&a.created)}</td>
                            <td><StatusBadge status=a.status /></td>
                            <td>{a.reason.clone().unwrap_or_default()}</td>
                            <td>{pending.then(|| view! {
                                <ConfirmDialog action=withdraw kind=Confirm::WithdrawApplication opener="Withdraw…" opener_label=format!("Withdraw the application for {}", a.name) fields=vec![("id", id.clone())] error />
                            })}</td>
                        </tr>
                    }.into_any()
                }
            />
        </Panel>
    }
}
