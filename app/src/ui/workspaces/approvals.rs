//! `/w/{name}/approvals`: the workspace's applications (Workspace Admins and Reviewers), and
//! `/w/{name}/approvals/{id}`: one application in full, with its history and the decision.

use leptos::prelude::*;
use uuid::Uuid;

use super::WorkspaceShell;
use crate::api::approvals::{get_application, list_approvals, ApproveApplication, RejectApplication, WithdrawApplication};
use crate::model::approvals::{ApplicationRow, Category, Status};
use crate::model::page::FilterWord;
use crate::ui::kit::dialog::{Confirm, ConfirmDialog};
use crate::ui::kit::{
    action_error, all_successes, fmt_time, list_position, parse_id, query_param, route_param, successes, toast_action, DataTable, FormError, ListControls, Loaded, Panel, StatusBadge,
};

/// One row of an applications table (the Approvals list, "My requests").
pub fn application_row(a: ApplicationRow, with_workspace: bool) -> AnyView {
    let href = format!("/w/{}/approvals/{}", crate::model::url_encode(&a.workspace), a.id);
    view! {
        <tr>
            <td><a href=href>{a.title.clone()}</a></td>
            {with_workspace.then(|| view! { <td>{a.workspace.clone()}</td> })}
            <td>{a.category.label()}</td>
            <td>{a.mini_program.clone().unwrap_or_else(|| "—".into())}</td>
            <td>{a.version.clone().unwrap_or_else(|| "—".into())}</td>
            {(!with_workspace).then(|| view! { <td>{a.applicant.clone()}</td> })}
            <td class="nowrap">{fmt_time(&a.created)}</td>
            <td class="nowrap">{a.finished.as_ref().map(fmt_time).unwrap_or_else(|| "—".into())}</td>
            <td><StatusBadge status=a.status /></td>
        </tr>
    }
    .into_any()
}

/// The Apps a publishing application releases to, and the share of installs it asks for.
fn release_to(apps: &[String], share: Option<&str>) -> String {
    match share {
        Some(share) => format!("{} — {share}", apps.join(", ")),
        None => apps.join(", "),
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let name = route_param("name");
    let (q, category, status, page) = (query_param("q"), query_param("category"), query_param("status"), list_position());
    let rows = Resource::new(
        move || (name.get(), category.get(), status.get(), q.get(), page.get()),
        |(n, c, s, q, p)| list_approvals(n, c, s, q, p),
    );
    view! {
        <WorkspaceShell active="approvals" title="Approvals">
            <Panel id="approvals" title="Applications">
                <p class="hint">"Publishing reviews, removals, member requests and feature activations of this workspace. Nobody decides their own application."</p>
                <ListControls
                    search_label="Search mini program or applicant"
                    filters=vec![
                        ("category", "Category", Category::options("All categories")),
                        ("status", "Status", Status::options("All statuses")),
                    ]
                />
                <DataTable
                    label="Applications"
                    columns=vec!["Title", "Category", "Mini Program name", "Version", "Applicant", "Created", "Finish time", "Status"]
                    sortable=vec![("Created", "created"), ("Finish time", "finished")]
                    data=rows
                    empty="No applications match."
                    row=move |a: ApplicationRow| application_row(a, false)
                />
            </Panel>
        </WorkspaceShell>
    }
}

#[component]
pub fn ApplicationPage() -> impl IntoView {
    let name = route_param("name");
    let id = route_param("id");
    let approve = ServerAction::<ApproveApplication>::new();
    let reject = ServerAction::<RejectApplication>::new();
    let withdraw = ServerAction::<WithdrawApplication>::new();
    let changes = all_successes([successes(approve), successes(reject), successes(withdraw)]);
    let data = Resource::new(
        move || (name.get(), id.get(), changes()),
        |(n, id, _)| async move {
            get_application(n, parse_id(&id, crate::model::Missing::Application)?).await
        },
    );
    let title = Resource::new(
        move || (name.get(), id.get(), changes()),
        |(n, id, _)| async move {
            match Uuid::parse_str(&id) {
                Ok(id) => get_application(n, id).await.map(|a| a.row.title).unwrap_or_else(|_| "Application".into()),
                Err(_) => "Application".into(),
            }
        },
    );
    toast_action(approve, |_| "Application approved.".into());
    toast_action(reject, |_| "Application rejected. The applicant has been told why.".into());
    toast_action(withdraw, |_| "Application withdrawn.".into());
    let (approve_error, reject_error, withdraw_error) = (action_error(approve), action_error(reject), action_error(withdraw));
    view! {
        <WorkspaceShell active="approvals" title="Approvals" detail=title>
            <FormError error=withdraw_error />
            <Loaded data=data whole_page=true show=move |a| {
                let ws = name.get_untracked();
                let fields = vec![("workspace", ws.clone()), ("id", a.row.id.to_string())];
                let mp_link = a.mini_program_id.map(|mp| format!("/w/{}/mini-programs/{mp}", crate::model::url_encode(&ws)));
                let note_label = if a.row.category == Category::Removal { "Reason for removal" } else { "Note" };
                view! {
                    <Panel id="application" title=a.row.title.clone()>
                        <dl class="facts">
                            <dt>"Status"</dt><dd><StatusBadge status=a.row.status /></dd>
                            <dt>"Category"</dt><dd>{a.row.category.label()}</dd>
                            {a.row.mini_program.clone().map(|n| view! {
                                <dt>"Mini program"</dt>
                                <dd>{match mp_link.clone() { Some(href) => view! { <a href=href>{n}</a> }.into_any(), None => n.into_any() }}</dd>
                            })}
                            {a.row.version.clone().map(|v| view! { <dt>"Version"</dt><dd>{v}</dd> })}
                            {(!a.apps.is_empty()).then(|| view! { <dt>"Release to"</dt><dd>{release_to(&a.apps, a.rollout.as_deref())}</dd> })}
                            {a.feature.clone().map(|(label, description)| view! { <dt>"Feature"</dt><dd>{label}<br /><span class="hint">{description}</span></dd> })}
                            {(a.row.category == Category::MemberRequest).then(|| view! { <dt>"Joins as"</dt><dd>"Workspace Developer, unassigned"</dd> })}
                            <dt>"Applicant"</dt><dd>{a.row.applicant.clone()}</dd>
                            {(!a.note.is_empty()).then(|| view! { <dt>{note_label}</dt><dd class="pre">{a.note.clone()}</dd> })}
                            <dt>"Created"</dt><dd>{fmt_time(&a.row.created)}</dd>
                            <dt>"Finish time"</dt><dd>{a.row.finished.as_ref().map(fmt_time).unwrap_or_else(|| "—".into())}</dd>
                            {a.decided_by.clone().map(|d| view! { <dt>"Decided by"</dt><dd>{d}</dd> })}
                            {a.reason.clone().map(|r| view! { <dt>"Reason"</dt><dd class="pre">{r}</dd> })}
                        </dl>
                    </Panel>
                    {(a.can_decide || a.decide_refusal.is_some()).then(|| view! {
                        <Panel id="decide" title="Decide">
                            {a.decide_refusal.clone().map(|r| view! { <p class="alert alert-info" role="note">{r}</p> })}
                            {a.can_decide.then(|| view! {
                                <div class="decide">
                                    <ConfirmDialog action=approve kind=Confirm::ApproveApproval opener="Approve…" fields=fields.clone() error=approve_error />
                                    <ConfirmDialog action=reject kind=Confirm::RejectApproval opener="Reject…" fields=fields.clone() error=reject_error />
                                </div>
                            })}
                        </Panel>
                    })}
                    {a.can_withdraw.then(|| view! {
                        <Panel id="withdraw" title="Your application">
                            <p>"It waits for a Workspace Admin or a Workspace Reviewer. You can withdraw it while it is pending."</p>
                            <ConfirmDialog action=withdraw kind=Confirm::WithdrawApproval opener="Withdraw…" fields=vec![("id", a.row.id.to_string())] error=withdraw_error />
                        </Panel>
                    })}
                    <Panel id="history" title="History">
                        <ol class="history">
                            {a.history.iter().map(|h| view! {
                                <li>
                                    <span class="nowrap">{fmt_time(&h.at)}</span>" · "<strong>{h.what.clone()}</strong>" · "{h.who.clone()}
                                    {(!h.text.is_empty()).then(|| view! { <p class="pre">{h.text.clone()}</p> })}
                                </li>
                            }).collect_view()}
                        </ol>
                    </Panel>
                }.into_any()
            }
            />
        </WorkspaceShell>
    }
}
