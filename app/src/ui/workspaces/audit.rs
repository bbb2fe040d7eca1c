//! `/w/{name}/audit`: the workspace's audit log, for its Workspace Admins.

use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::workspaces::workspace_audit;
use crate::ui::audit_table::AuditLog;
use crate::ui::kit::{list_position, query_param, route_param};

#[component]
pub fn WorkspaceAuditPage() -> impl IntoView {
    let name = route_param("name");
    let (action, q, page) = (query_param("action"), query_param("q"), list_position());
    let data = Resource::new(
        move || (name.get(), action.get(), q.get(), page.get()),
        |(n, a, q, p)| workspace_audit(n, a, q, p),
    );
    view! {
        <WorkspaceShell active="audit" title="Audit log">
            <AuditLog data />
        </WorkspaceShell>
    }
}
