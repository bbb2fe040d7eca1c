//! `/requests`: "My requests" — the person's applications in every workspace — and applying to
//! join a workspace; `/notifications`: what happened to them, and what waits for their decision.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::approvals::{my_requests, open_notifications, ApplyJoin};
use crate::model::approvals::{ApplicationRow, REASON_MAX};
use crate::ui::kit::{
    Panel,
    action_error, fmt_time, list_position, query_param, successes, DataTable, ErrorPanel, Field, FormError, Loading, Notice,
    PageHeader,
};
use crate::ui::workspaces::approvals::application_row;

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    let join = ServerAction::<ApplyJoin>::new();
    let joined = successes(join);
    let page = list_position();
    let rows = Resource::new(move || (page.get(), joined.get()), |(p, _)| my_requests(p));
    let asked = query_param("asked");
    let notice = Signal::derive(move || {
        let name = asked.get();
        (!name.is_empty()).then(|| {
            format!("Request sent. If a workspace named {name} exists and you are not yet a member, its Workspace Admins will decide; you will be told here and by email.")
        })
    });
    let error = action_error(join);
    view! {
        <Title text="My requests" />
        <PageHeader title="My requests" crumbs=vec![("Home", "/")] />
        <Notice message=notice />
        <Panel id="requests" title="Your applications">
            <DataTable
                label="Your applications"
                columns=vec!["Title", "Workspace", "Category", "Mini Program name", "Version", "Created", "Finish time", "Status"]
                sortable=vec![("Created", "created")]
                data=rows
                empty="You have not applied for anything yet."
                row=move |a: ApplicationRow| application_row(a, true)
            />
        </Panel>
        <Panel id="join" title="Apply to join a workspace">
            <p class="hint">"Ask to join a workspace by its name. Its Workspace Admins decide; if they approve, you join as a Workspace Developer."</p>
            <ActionForm action=join>
                <FormError error />
                <Field label="Workspace name" name="workspace" required=true maxlength=100 error />
                <Field label="Note" name="note" kind="textarea" maxlength=REASON_MAX hint="Who you are and why you ask (optional)." error />
                <button type="submit" class="button button-primary">"Apply to join"</button>
            </ActionForm>
        </Panel>
    }
}

#[component]
pub fn NotificationsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| open_notifications());
    view! {
        <Title text="Notifications" />
        <PageHeader title="Notifications" crumbs=vec![("Home", "/")] />
        <Panel id="notifications" title="Notifications">
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match list.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(items) if items.is_empty() => view! { <p class="empty">"No notifications yet."</p> }.into_any(),
                        Ok(items) => view! {
                            <ul class="notifications">
                                {items.into_iter().map(|n| view! {
                                    <li class:unread=!n.read>
                                        {(!n.read).then(|| view! { <span class="badge badge-info">"New"</span>" " })}
                                        <a href=n.link.clone()>{n.text.clone()}</a>
                                        <span class="hint">{format!(" · {}", fmt_time(&n.at))}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </Panel>
    }
}
