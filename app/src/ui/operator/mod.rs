//! The operator area. Every figure and list comes from a server function that refuses
//! non-operators.

pub mod application;
pub mod accounts;
pub mod applications;
pub mod audit;
pub mod change_requests;
pub mod outbox;
pub mod workspace;
pub mod workspaces;

use leptos::prelude::*;
use crate::ui::kit::Panel;
use leptos_meta::Title;

use super::kit::{ErrorPanel, Loading, PageHeader};
use crate::api::operator::operator_overview;

/// Tabs of the operator area.
#[component]
pub fn OperatorNav(active: &'static str) -> impl IntoView {
    let tab = |slug: &'static str, label: &'static str| {
        let href = if slug.is_empty() {
            "/operator".to_string()
        } else {
            format!("/operator/{slug}")
        };
        view! { <a href=href class="tab" aria-current=(slug == active).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="tabs" aria-label="Operator">
            {tab("", "Overview")}
            {tab("applications", "Applications")}
            {tab("workspaces", "Workspaces")}
            {tab("accounts", "Accounts")}
            {tab("change-requests", "Change requests")}
            {tab("outbox", "Outbox")}
            {tab("audit", "Audit log")}
        </nav>
    }
}

/// The frame of every operator page: its title, the breadcrumbs (Home, Operator, and for a page
/// about one thing the list it belongs to), the operator tabs, then the page.
#[component]
pub fn OperatorShell(
    /// The page's title.
    title: &'static str,
    /// The tab the page belongs to ("" for the overview).
    active: &'static str,
    /// For a page about one thing: the list it belongs to (label, link).
    #[prop(optional)]
    up: Option<(&'static str, &'static str)>,
    children: Children,
) -> impl IntoView {
    let mut crumbs = vec![("Home", "/")];
    if !active.is_empty() {
        crumbs.push(("Operator", "/operator"));
    }
    crumbs.extend(up);
    view! {
        <Title text=title />
        <PageHeader title=title crumbs=crumbs />
        <OperatorNav active=active />
        {children()}
    }
}

#[component]
pub fn OperatorPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| operator_overview());
    view! {
        <OperatorShell title="Operator" active="">
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => view! {
                        <Panel id="instance" title="This instance">
                            <dl class="facts">
                                <dt>"Pending workspace applications"</dt>
                                <dd><a href="/operator/applications?status=pending">{o.pending_applications}</a></dd>
                                <dt>"Accounts"</dt><dd><a href="/operator/accounts">{o.accounts}</a></dd>
                                <dt>"Accounts with an unverified email address"</dt><dd>{o.unverified_accounts}</dd>
                                <dt>"Platform operators"</dt><dd>{o.operators}</dd>
                                <dt>"Stored sessions"</dt><dd>{o.sessions}</dd>
                                <dt>"Outgoing mail"</dt>
                                <dd>{if o.smtp_configured { "Sent through the configured SMTP server" } else { "No SMTP server configured: messages are kept in the outbox" }}</dd>
                                <dt>"Data schema version"</dt><dd>{o.schema_version}</dd>
                            </dl>
                        </Panel>
                    }.into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Suspense>
        </OperatorShell>
    }
}
