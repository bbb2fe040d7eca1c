//! `/operator/applications`: the queue of workspace applications.

use leptos::prelude::*;

use super::OperatorShell;
use crate::api::operator::list_workspace_applications;
use crate::model::page::FilterWord;
use crate::model::workspace::{ApplicationStatus, ApplicationView};
use crate::ui::kit::{ListPanel, fmt_time, list_position, query_param, DataTable, ListControls, StatusBadge};

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let (status, q, page) = (query_param("status"), query_param("q"), list_position());
    let data = Resource::new(
        move || (status.get(), q.get(), page.get()),
        |(s, q, p)| list_workspace_applications(s, q, p.0, p.1),
    );
    view! {
        <OperatorShell title="Workspace applications" active="applications">
        <ListPanel label="Workspace applications">
            <ListControls
                search_label="Search by Workspace Name"
                filters=vec![("status", "Status", ApplicationStatus::options("All"))]
            />
            <DataTable
                label="Workspace applications"
                columns=vec!["Workspace Name", "Applicant", "Scope of Business", "Submitted", "Status"]
                sortable=vec![("Workspace Name", "name"), ("Submitted", "created")]
                data
                empty="No applications match."
                row=|a: ApplicationView| view! {
                    <tr>
                        <td><a href=format!("/operator/applications/{}", a.id)>{a.name.clone()}</a></td>
                        <td>{a.applicant.clone()}</td>
                        <td>{format!("{} — {}", a.mcc, a.mcc_description)}</td>
                        <td class="nowrap">{fmt_time(&a.created)}</td>
                        <td><StatusBadge status=a.status /></td>
                    </tr>
                }.into_any()
            />
        </ListPanel>
        </OperatorShell>
    }
}
