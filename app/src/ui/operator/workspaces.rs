//! `/operator/workspaces`: every workspace.

use leptos::prelude::*;

use super::{OperatorList, WorkspaceRow};
use crate::api::operator::list_workspaces;
use crate::model::workspace::WorkspaceView;
use crate::ui::kit::{list_position, query_param, DataTable};

#[component]
pub fn WorkspacesAdminPage() -> impl IntoView {
    let (q, page) = (query_param("q"), list_position());
    let data = Resource::new(
        move || (q.get(), page.get()),
        |(q, p)| list_workspaces(q, p),
    );
    view! {
        <OperatorList
            title="Workspaces" active="workspaces"
            search="Search by Workspace Name"
        >
            <DataTable
                label="Workspaces"
                columns=vec!["Workspace Name", "Workspace ID", "Scope of Business", "Generated", "Status"]
                sortable=vec![("Workspace Name", "name"), ("Generated", "created")]
                data
                empty="No workspaces match."
                row=|w: WorkspaceView| view! {
                    <WorkspaceRow href=format!("/operator/workspaces/{}", w.id) name=w.name scope=w.scope created=w.created status=w.status>
                        <code>{w.id.to_string()}</code>
                    </WorkspaceRow>
                }.into_any()
            />
        </OperatorList>
    }
}
