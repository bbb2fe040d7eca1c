//! `/operator/audit`: the audit log of every workspace and of the platform.

use leptos::prelude::*;

use super::OperatorShell;
use crate::api::operator::platform_audit;
use crate::ui::audit_table::AuditLog;
use crate::ui::kit::{list_position, query_param};

#[component]
pub fn PlatformAuditPage() -> impl IntoView {
    let (workspace, action, q, page) = (
        query_param("workspace"),
        query_param("action"),
        query_param("q"),
        list_position(),
    );
    let data = Resource::new(
        move || (workspace.get(), action.get(), q.get(), page.get()),
        |(w, a, q, p)| platform_audit(w, a, q, p),
    );
    view! {
        <OperatorShell title="Audit log" active="audit">
            <AuditLog data show_workspace=true />
        </OperatorShell>
    }
}
