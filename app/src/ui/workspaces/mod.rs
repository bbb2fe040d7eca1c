//! A person's workspaces and applications, applying, and a workspace's own pages.

pub mod apply;
pub mod audit;
pub mod general;
pub mod list;

use leptos::prelude::*;

use super::kit::route_param;

/// Tabs of a workspace's pages.
#[component]
pub fn WorkspaceNav(active: &'static str) -> impl IntoView {
    let name = route_param("name");
    let tab = move |slug: &'static str, label: &'static str| {
        let href = move || format!("/w/{}/{}", name.get(), slug);
        view! { <a href=href class="tab" aria-current=(slug == active).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Workspace">
            {tab("general", "General")}
            {tab("audit", "Audit log")}
        </nav>
    }
}
