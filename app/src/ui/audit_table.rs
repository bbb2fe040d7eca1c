//! The audit log table, used by the operator and by Workspace Admins.

use leptos::prelude::*;

use crate::model::workspace::{AuditEventView, Page};
use crate::ui::kit::{fmt_time, Pager};

pub const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("", "All actions"),
    ("workspace_application.submitted", "Application submitted"),
    ("workspace_application.withdrawn", "Application withdrawn"),
    ("workspace_application.rejected", "Application rejected"),
    ("workspace.generated", "Workspace generated"),
    ("workspace.info_edited", "Information edited"),
    ("workspace.change_requested", "Change requested"),
    ("workspace.suspended", "Workspace suspended"),
    ("workspace.reactivated", "Workspace reactivated"),
];

#[component]
pub fn AuditTable(
    page: Page<AuditEventView>,
    #[prop(optional)] show_workspace: bool,
) -> impl IntoView {
    let pages = page.pages();
    if page.items.is_empty() {
        return view! { <p class="empty">"No events match."</p> }.into_any();
    }
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    {show_workspace.then(|| view! { <th scope="col">"Workspace"</th> })}
                    <th scope="col">"Who"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Target"</th>
                    <th scope="col">"Details"</th>
                    <th scope="col">"From"</th>
                </tr>
            </thead>
            <tbody>
                {page.items.into_iter().map(|e| view! {
                    <tr>
                        <td class="nowrap">{fmt_time(&e.at)}</td>
                        {show_workspace.then(|| view! { <td>{e.workspace.clone().unwrap_or_else(|| "—".into())}</td> })}
                        <td>{e.actor.clone()}</td>
                        <td><code>{e.action.clone()}</code></td>
                        <td>{e.target.clone()}</td>
                        <td class="details">{e.details.clone()}</td>
                        <td>{e.client.clone()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <Pager page=page.page pages total=page.total />
    }
    .into_any()
}
