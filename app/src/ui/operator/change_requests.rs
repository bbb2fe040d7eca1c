//! `/operator/change-requests`: what Workspace Admins asked to change.

use leptos::prelude::*;
use leptos_meta::Title;

use super::OperatorNav;
use crate::api::operator::list_change_requests;
use crate::ui::kit::{fmt_time, page_param, ErrorPanel, Loading, PageHeader, Pager};

#[component]
pub fn ChangeRequestsPage() -> impl IntoView {
    let page = page_param();
    let data = Resource::new(move || page.get(), list_change_requests);
    view! {
        <Title text="Change requests" />
        <PageHeader title="Change requests" crumbs=vec![("Home", "/"), ("Operator", "/operator")] />
        <OperatorNav active="change-requests" />
        <section class="panel">
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) if p.items.is_empty() => view! { <p class="empty">"No change requests yet."</p> }.into_any(),
                        Ok(p) => {
                            let pages = p.pages();
                            view! {
                                <table class="table">
                                    <thead><tr><th scope="col">"Received"</th><th scope="col">"Workspace"</th><th scope="col">"From"</th><th scope="col">"What"</th><th scope="col">"Why"</th></tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|c| view! {
                                            <tr>
                                                <td class="nowrap">{fmt_time(&c.created)}</td>
                                                <td>{c.workspace.clone()}</td>
                                                <td>{c.requester.clone()}</td>
                                                <td>{c.what.clone()}</td>
                                                <td>{c.why.clone()}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                <Pager page=p.page pages total=p.total />
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
