//! `/operator/applications`: the queue of workspace applications.

use leptos::prelude::*;

use super::{filtered_rows, OperatorList, WorkspaceRow};
use crate::api::operator::list_workspace_applications;
use crate::model::page::FilterWord;
use crate::model::workspace::{ApplicationStatus, ApplicationView};
use crate::ui::kit::DataTable;

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let data = filtered_rows("status", list_workspace_applications);
    view! {
        <OperatorList
            title="Workspace applications" active="applications"
            search="Search by Workspace Name"
            filters=vec![("status", "Status", ApplicationStatus::options("All"))]
        >
            <DataTable
                label="Workspace applications"
                columns=vec!["Workspace Name", "Applicant", "Scope of Business", "Submitted", "Status"]
                sortable=vec![("Workspace Name", "name"), ("Submitted", "created")]
                data
                empty="No applications match."
                row=|a: ApplicationView| view! {
                    <WorkspaceRow href=format!("/operator/applications/{}", a.id) name=a.name scope=a.scope created=a.created status=a.status>
                        {a.applicant}
                    </WorkspaceRow>
                }.into_any()
            />
        </OperatorList>
    }
}
