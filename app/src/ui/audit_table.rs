//! The audit log — its search, filters and table — used by the operator and by Workspace Admins.

use leptos::prelude::*;

use crate::model::workspace::{AuditEventView, Page};
use crate::model::audit::AuditAction;
use crate::model::AppError;
use crate::ui::kit::{fmt_time, DataTable, ListControls, ListPanel};

/// The audit log's action filter: every action of a workspace's log, by its words.
fn audit_actions() -> Vec<(&'static str, &'static str)> {
    std::iter::once(("", "All actions"))
        .chain(AuditAction::ALL.iter().filter(|a| !a.is_account()).map(|a| (a.code(), a.label())))
        .collect()
}

/// The audit log of a workspace (or, for the operator, of every workspace: `show_workspace`, which
/// adds the workspace's column and a filter by its name), searchable and filtered by action.
#[component]
pub fn AuditLog(
    data: Resource<Result<Page<AuditEventView>, AppError>>,
    #[prop(optional)] show_workspace: bool,
) -> impl IntoView {
    let mut columns = vec!["When", "Who", "Action", "Target", "Details", "From"];
    if show_workspace {
        columns.insert(1, "Workspace");
    }
    let texts = if show_workspace { vec![("workspace", "Workspace Name")] } else { Vec::new() };
    view! {
        <ListPanel label="Audit log">
            <ListControls
                search_label="Search who, target or details"
                texts
                filters=vec![("action", "Action", audit_actions())]
            />
            <DataTable
                label="Audit log"
                columns
                sortable=vec![("When", "time")]
                data
                empty="No events match."
                row=move |e: AuditEventView| view! {
                    <tr>
                        <td class="nowrap">{fmt_time(&e.at)}</td>
                        {show_workspace.then(|| view! { <td>{e.workspace.clone().unwrap_or_else(|| "—".into())}</td> })}
                        <td>{e.actor.clone()}</td>
                        <td><code>{e.action.clone()}</code></td>
                        <td>{e.target.clone()}</td>
                        <td class="details">{e.details.clone()}</td>
                        <td>{e.client.clone()}</td>
                    </tr>
                }.into_any()
            />
        </ListPanel>
    }
}
