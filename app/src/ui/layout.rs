//! The top bar: brand, navigation for the signed-in person, log out.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_router::hooks::use_location;

use super::use_auth;

#[component]
fn NavLink(href: &'static str, label: &'static str) -> impl IntoView {
    let location = use_location();
    let current = move || {
        let path = location.pathname.get();
        let here = if href == "/" {
            path == "/"
        } else {
            path == href || path.starts_with(&format!("{href}/"))
        };
        here.then_some("page")
    };
    view! { <a href=href aria-current=current class="nav-link">{label}</a> }
}

/// The workspaces the person belongs to, to move between them.
#[component]
fn WorkspaceSwitcher(workspaces: Vec<crate::model::workspace::MyWorkspace>) -> impl IntoView {
    let location = use_location();
    let current = move || {
        let path = location.pathname.get();
        path.strip_prefix("/w/")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_string)
    };
    (!workspaces.is_empty()).then(|| {
        view! {
            <details class="switcher">
                <summary class="nav-link">
                    {move || current().map(|c| format!("Workspace: {c}")).unwrap_or_else(|| "Switch workspace".into())}
                </summary>
                <ul class="switcher-menu" aria-label="Your workspaces">
                    {workspaces.into_iter().map(|w| {
                        let href = format!("/w/{}", w.name);
                        let label = match w.status {
                            crate::model::workspace::WorkspaceStatus::Active => format!("{} ({})", w.name, w.role.label()),
                            status => format!("{} ({}, {})", w.name, w.role.label(), status.label()),
                        };
                        view! { <li><a href=href>{label}</a></li> }
                    }).collect_view()}
                </ul>
            </details>
        }
    })
}

/// The link to the notifications, with how many are unread.
#[component]
fn NotificationsLink(unread: u64) -> impl IntoView {
    let location = use_location();
    let current = move || (location.pathname.get() == "/notifications").then_some("page");
    view! {
        <a href="/notifications" class="nav-link" aria-current=current>
            "Notifications"
            {(unread > 0).then(|| view! { " " <span class="count">{unread}</span><span class="visually-hidden">" unread"</span> })}
        </a>
    }
}

#[component]
pub fn TopBar() -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    // Looked at again on every page change (opening the notifications reads them).
    let unread = Resource::new(
        move || (location.pathname.get(), auth.log_in.version().get(), auth.log_out.version().get()),
        |_| crate::api::approvals::unread_notifications(),
    );
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                "MPDP"
            </a>
            <Transition fallback=|| view! { <span class="nav-placeholder"></span> }>
                {move || Suspend::new(async move {
                    let me = auth.me.await;
                    let workspaces = auth.workspaces.await.unwrap_or_default();
                    let unread = unread.await.unwrap_or(0);
                    match me {
                        Ok(Some(me)) => {
                            view! {
                                <nav class="nav" aria-label="Main">
                                    <NavLink href="/" label="Home" />
                                    <NavLink href="/workspaces" label="Workspaces" />
                                    <WorkspaceSwitcher workspaces />
                                    <NavLink href="/requests" label="My requests" />
                                    <NotificationsLink unread />
                                    <NavLink href="/account" label="Account" />
                                    {me.is_operator.then(|| view! { <NavLink href="/operator" label="Operator" /> })}
                                </nav>
                                <div class="session">
                                    <span class="session-user">
                                        <span class="visually-hidden">"Signed in as "</span>
                                        {me.username.clone()}
                                    </span>
                                    <ActionForm action=auth.log_out>
                                        <button type="submit" class="button button-quiet">"Log out"</button>
                                    </ActionForm>
                                </div>
                            }
                                .into_any()
                        }
                        _ => {
                            view! {
                                <nav class="nav" aria-label="Main">
                                    <NavLink href="/login" label="Log in" />
                                    <NavLink href="/sign-up" label="Sign up" />
                                </nav>
                            }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </header>
    }
}

/// Under the top bar while the signed-in person's email address is unproven.
#[component]
pub fn VerifyBanner() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                auth.me.await.ok().flatten().filter(|me| !me.email_verified).map(|me| view! {
                    <p class="verify-banner" role="status">
                        {format!("Verify your email address {}: open the link we sent you. Until then no workspace admits you. ", me.email)}
                        <a href="/account#email">"Send a new link"</a>
                    </p>
                })
            })}
        </Transition>
    }
}
