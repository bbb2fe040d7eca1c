//! A person's workspaces and applications, applying, and a workspace's own pages.

pub mod apply;
pub mod audit;
pub mod general;
pub mod home;
pub mod invitation;
pub mod list;
pub mod members;

use leptos::prelude::*;

use super::kit::route_param;

/// Tabs of a workspace's pages.
#[component]
pub fn WorkspaceNav(active: &'static str) -> impl IntoView {
    let name = route_param("name");
    let auth = crate::ui::use_auth();
    let tab = move |slug: &'static str, label: &'static str| {
        let href = move || {
            if slug.is_empty() {
                format!("/w/{}", name.get())
            } else {
                format!("/w/{}/{}", name.get(), slug)
            }
        };
        view! { <a href=href class="tab" aria-current=(slug == active).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Workspace">
            {tab("", "Overview")}
            // Only the tabs the person's role opens (the server checks again on every request).
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = auth.workspaces.await.unwrap_or_default();
                    let admin = list.iter().any(|w| {
                        w.name.eq_ignore_ascii_case(&name.get_untracked()) && w.role == crate::model::workspace::Role::WorkspaceAdmin
                    });
                    admin.then(|| view! {
                        {tab("general", "General")}
                        {tab("members", "Members")}
                        {tab("audit", "Audit log")}
                    })
                })}
            </Transition>
        </nav>
    }
}
