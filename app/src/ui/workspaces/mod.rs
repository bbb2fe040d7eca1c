//! A person's workspaces and applications, applying, and a workspace's own pages.

pub mod apply;
pub mod approvals;
pub mod apps;
pub mod audit;
pub mod general;
pub mod home;
pub mod invitation;
pub mod list;
pub mod members;
pub mod minis;
pub mod release;
pub mod rollout;
pub mod webhooks;

use leptos::prelude::*;

use leptos_meta::Title;

use super::kit::route_param;
use crate::model::policy::{allows, WorkspaceAction};

/// The areas of a workspace, each opened by a view action of the policy table.
const AREAS: &[(&str, &str, WorkspaceAction)] = &[
    ("", "Overview", WorkspaceAction::ViewWorkspace),
    ("mini-programs", "Mini Programs", WorkspaceAction::ViewMiniPrograms),
    ("apps", "App Manage", WorkspaceAction::ViewApps),
    ("approvals", "Approvals", WorkspaceAction::ViewApprovals),
    ("members", "Members", WorkspaceAction::ViewMembers),
    ("webhooks", "Webhooks", WorkspaceAction::ViewWebhooks),
    ("general", "General", WorkspaceAction::ViewGeneral),
    ("audit", "Audit log", WorkspaceAction::ViewAudit),
];

/// A workspace page's frame: the workspace's name in the title and the breadcrumbs, and one
/// navigation with the areas the person's role may open (the policy table decides; the server
/// refuses the rest anyway).
#[component]
pub fn WorkspaceShell(
    /// The area's slug ("" for the overview).
    active: &'static str,
    /// The page's title.
    title: &'static str,
    /// On a page for one thing of the area (an App): its name, which becomes the page's title;
    /// the area becomes a breadcrumb.
    #[prop(optional)]
    detail: Option<Resource<String>>,
    children: Children,
) -> impl IntoView {
    let name = route_param("name");
    let auth = crate::ui::use_auth();
    let home = move || format!("/w/{}", name.get());
    let page_title = move || {
        if title == "Overview" {
            name.get()
        } else {
            format!("{} – {title}", name.get())
        }
    };
    let area = move || format!("/w/{}/{active}", name.get());
    // The page's own name: the detail's (once loaded), the workspace's, or the area's.
    let heading = move || match detail {
        Some(d) => view! {
            <Suspense fallback=|| "…">
                {move || Suspend::new(async move {
                    let d = d.await;
                    view! { <Title text=format!("{d} – {} – {title}", name.get_untracked()) /> {d} }
                })}
            </Suspense>
        }
        .into_any(),
        None if active.is_empty() => name.get().into_any(),
        None => title.into_any(),
    };
    view! {
        {detail.is_none().then(|| view! { <Title text=page_title /> })}
        <header class="page-header">
            <nav aria-label="Breadcrumb" class="crumbs">
                <ol>
                    <li><a href="/">"Home"</a></li>
                    <li><a href="/workspaces">"Workspaces"</a></li>
                    {(!active.is_empty()).then(|| view! { <li><a href=home>{move || name.get()}</a></li> })}
                    {detail.is_some().then(|| view! { <li><a href=area>{title}</a></li> })}
                    <li aria-current="page">{heading}</li>
                </ol>
            </nav>
            <div class="page-header-row">
                <h1>{heading}</h1>
            </div>
        </header>
        <nav class="tabs" aria-label="Workspace">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let list = auth.workspaces.await.unwrap_or_default();
                    let role = list
                        .iter()
                        .find(|w| w.name.eq_ignore_ascii_case(&name.get_untracked()))
                        .map(|w| w.role);
                    AREAS
                        .iter()
                        .filter(|(_, _, action)| role.is_some_and(|r| allows(r, *action)))
                        .map(|(slug, label, _)| {
                            let href = if slug.is_empty() {
                                format!("/w/{}", name.get_untracked())
                            } else {
                                format!("/w/{}/{}", name.get_untracked(), slug)
                            };
                            view! { <a href=href class="tab" aria-current=(*slug == active).then_some("page")>{*label}</a> }
                        })
                        .collect_view()
                })}
            </Transition>
        </nav>
        {children()}
    }
}
