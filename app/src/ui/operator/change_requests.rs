//! `/operator/change-requests`: what Workspace Admins asked to change.

use leptos::prelude::*;

use super::OperatorList;
use crate::api::operator::list_change_requests;
use crate::model::workspace::ChangeRequestView;
use crate::ui::kit::{fmt_time, list_position, DataTable};

#[component]
pub fn ChangeRequestsPage() -> impl IntoView {
    let page = list_position();
    let data = Resource::new(move || page.get(), list_change_requests);
    view! {
        <OperatorList
            title="Change requests" active="change-requests"
        >
            <DataTable
                label="Change requests"
                columns=vec!["Received", "Workspace", "From", "What", "Why"]
                sortable=vec![("Received", "created")]
                data
                empty="No change requests yet."
                row=|c: ChangeRequestView| view! {
                    <tr>
                        <td class="nowrap">{fmt_time(&c.created)}</td>
                        <td>{c.workspace.clone()}</td>
                        <td>{c.requester.clone()}</td>
                        <td>{c.what.clone()}</td>
                        <td>{c.why.clone()}</td>
                    </tr>
                }.into_any()
            />
        </OperatorList>
    }
}
