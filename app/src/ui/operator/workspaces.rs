//! `/operator/workspaces`: every workspace.

use leptos::prelude::*;
use leptos_meta::Title;

use super::OperatorNav;
use crate::api::operator::list_workspaces;
use crate::ui::kit::{
    fmt_time, page_param, query_param, ErrorPanel, ListControls, Loading, PageHeader, Pager,
    StatusBadge,
};

#[component]
pub fn WorkspacesAdminPage() -> impl IntoView {
    let (q, page) = (query_param("q"), page_param());
    let data = Resource::new(
        move || (q.get(), page.get()),
        |(q, p)| list_workspaces(q, p),
    );
    view! {
        <Title text="Workspaces" />
        <PageHeader title="Workspaces" crumbs=vec![("Home", "/"), ("Operator", "/operator")] />
        <OperatorNav active="workspaces" />
        <section class="panel">
            <ListControls search_label="Search by Workspace Name" />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) if p.items.is_empty() => view! { <p class="empty">"No workspaces match."</p> }.into_any(),
                        Ok(p) => {
                            let pages = p.pages();
                            view! {
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Workspace Name"</th><th scope="col">"Workspace ID"</th><th scope="col">"Scope of Business"</th>
                                        <th scope="col">"Generated"</th><th scope="col">"Status"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|w| view! {
                                            <tr>
                                                <td><a href=format!("/operator/workspaces/{}", w.id)>{w.name.clone()}</a></td>
                                                <td><code>{w.id.to_string()}</code></td>
                                                <td>{format!("{} — {}", w.mcc, w.mcc_description)}</td>
                                                <td class="nowrap">{fmt_time(&w.created)}</td>
                                                <td><StatusBadge status=w.status /></td>
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
