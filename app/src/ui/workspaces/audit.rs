//! `/w/{name}/audit`: the workspace's audit log, for its Workspace Admins.

use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::workspaces::workspace_audit;
use crate::ui::audit_table::{AuditTable, AUDIT_ACTIONS};
use crate::ui::kit::{
    page_param, query_param, route_param, ErrorPanel, ListControls, Loading, };

#[component]
pub fn WorkspaceAuditPage() -> impl IntoView {
    let name = route_param("name");
    let (action, q, page) = (query_param("action"), query_param("q"), page_param());
    let data = Resource::new(
        move || (name.get(), action.get(), q.get(), page.get()),
        |(n, a, q, p)| workspace_audit(n, a, q, p),
    );
    view! {
        <WorkspaceShell active="audit" title="Audit log">
        <section class="panel">
            <ListControls search_label="Search who, target or details" filters=vec![("action", "Action", AUDIT_ACTIONS.to_vec())] />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) => view! { <AuditTable page=p /> }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        </WorkspaceShell>
    }
}
