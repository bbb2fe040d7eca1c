//! `/operator/workspaces`: every workspace.

use leptos::prelude::*;

use super::OperatorShell;
use crate::api::operator::list_workspaces;
use crate::model::workspace::WorkspaceView;
use crate::ui::kit::{ListPanel, fmt_time, list_position, query_param, DataTable, ListControls, StatusBadge};

#[component]
pub fn WorkspacesAdminPage() -> impl IntoView {
    let (q, page) = (query_param("q"), list_position());
    let data = Resource::new(
        move || (q.get(), page.get()),
        |(q, p)| list_workspaces(q, p.0, p.1),
    );
    view! {
        <OperatorShell title="Workspaces" active="workspaces">
        <ListPanel label="Workspaces">
            <ListControls search_label="Search by Workspace Name" />
            <DataTable
                label="Workspaces"
                columns=vec!["Workspace Name", "Workspace ID", "Scope of Business", "Generated", "Status"]
                sortable=vec![("Workspace Name", "name"), ("Generated", "created")]
                data
                empty="No workspaces match."
                row=|w: WorkspaceView| view! {
                    <tr>
                        <td><a href=format!("/operator/workspaces/{}", w.id)>{w.name.clone()}</a></td>
                        <td><code>{w.id.to_string()}</code></td>
                        <td>{format!("{} — {}", w.mcc, w.mcc_description)}</td>
                        <td class="nowrap">{fmt_time(&w.created)}</td>
                        <td><StatusBadge status=w.status /></td>
                    </tr>
                }.into_any()
            />
        </ListPanel>
        </OperatorShell>
    }
}
