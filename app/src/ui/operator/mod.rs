//! The operator area. Every figure and list comes from a server function that refuses
//! non-operators.

pub mod application;
pub mod accounts;
pub mod applications;
pub mod audit;
pub mod change_requests;
pub mod outbox;
pub mod sign_in;
pub mod workspace;
pub mod workspaces;

use std::future::Future;

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{de::DeserializeOwned, Serialize};

use super::kit::{
    fmt_time, list_position, parse_id, query_param, route_param, Badge, ListControls, ListPanel, Loaded, PageHeader, Panel, StatusBadge,
};
use crate::api::operator::operator_overview;
use crate::model::AppError;

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
            {tab("sign-in", "Single sign-on")}
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

/// A select filter of a list: (parameter, label, options as (value, text)).
type Filter = (&'static str, &'static str, Vec<(&'static str, &'static str)>);

/// An operator page that is one list: the page and the region carry `title`; above the list's
/// table (children), the search box (labelled `search`) and the select filters, when it has them.
#[component]
pub fn OperatorList(
    title: &'static str,
    active: &'static str,
    /// The search box's label; a list without one has no search and no filters.
    #[prop(optional)]
    search: Option<&'static str>,
    #[prop(optional)] filters: Vec<Filter>,
    children: Children,
) -> impl IntoView {
    view! {
        <OperatorShell title active>
        <ListPanel label=title>
            {search.map(|search_label| view! { <ListControls search_label filters /> })}
            {children()}
        </ListPanel>
        </OperatorShell>
    }
}

/// A list's rows as the URL asks for them — the select filter `filter`, the search and the
/// position — loaded again whenever one of them changes.
fn filtered_rows<T, L, Fut>(filter: &'static str, load: L) -> Resource<Result<T, AppError>>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    L: Fn(String, String, crate::model::page::Position) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let (value, q, page) = (query_param(filter), query_param("q"), list_position());
    Resource::new(move || (value.get(), q.get(), page.get()), move |(v, q, p)| load(v, q, p))
}

/// What an operator page is about, by the `id` in its address (one that can't be an id is "not
/// found", saying `missing`), loaded again after each run of the page's actions (their `versions`).
fn by_address_id<T, L, Fut, const N: usize>(
    missing: crate::model::Missing,
    versions: [RwSignal<usize>; N],
    load: L,
) -> Resource<Result<T, AppError>>
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    L: Fn(uuid::Uuid) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let id = route_param("id");
    Resource::new(move || (id.get(), versions.map(|v| v.get())), move |(id, _)| {
        let loading = parse_id(&id, missing).map(&load);
        async move { loading?.await }
    })
}

/// A row of a list of workspaces, applied for or generated: the name (a link to `href`), the
/// cell given as children, the scope of business, when, and the status.
#[component]
fn WorkspaceRow(
    href: String,
    name: String,
    scope: String,
    created: chrono::DateTime<chrono::Utc>,
    #[prop(into)] status: Badge,
    children: Children,
) -> impl IntoView {
    view! {
        <tr>
            <td><a href=href>{name}</a></td>
            <td>{children()}</td>
            <td>{scope}</td>
            <td class="nowrap">{fmt_time(&created)}</td>
            <td><StatusBadge status /></td>
        </tr>
    }
}

#[component]
pub fn OperatorPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| operator_overview());
    view! {
        <OperatorShell title="Operator" active="">
        <Loaded data=overview show=move |o| view! {
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
            <Panel id="publishing" title="Release publishing">
                {match o.publishing {
                    None => view! {
                        <p>"Not configured: containers read releases from this server only. Start the server with "
                        <code>"--publish-to s3://BUCKET/PREFIX"</code>" (or "<code>"file:///DIR"</code>") to publish them for a CDN."</p>
                    }.into_any(),
                    Some(p) => {
                        let never = || "—".to_string();
                        view! {
                            <dl class="facts">
                                <dt>"Target"</dt><dd><code>{p.target.clone()}</code></dd>
                                <dt>"State"</dt><dd><StatusBadge status=Badge::publishing(&p) /></dd>
                                <dt>"Oldest unpublished change"</dt><dd>{p.owed_since.map(|t| fmt_time(&t)).unwrap_or_else(never)}</dd>
                                <dt>"Last published"</dt><dd>{p.published_at.map(|t| fmt_time(&t)).unwrap_or_else(never)}</dd>
                                <dt>"Last attempt"</dt><dd>{p.last_attempt.map(|t| fmt_time(&t)).unwrap_or_else(never)}</dd>
                                <dt>"Objects published"</dt><dd>{p.objects}</dd>
                            </dl>
                            {p.last_error.clone().map(|e| view! {
                                <p class="alert alert-error" role="alert">"The last attempt failed; it is tried again with backoff: "{e}</p>
                            })}
                        }.into_any()
                    }
                }}
            </Panel>
        }.into_any()
        />
        </OperatorShell>
    }
}
