//! `/operator/applications`: the queue of workspace applications.

use leptos::prelude::*;
use leptos_meta::Title;

use super::OperatorNav;
use crate::api::operator::list_workspace_applications;
use crate::ui::kit::{
    fmt_time, page_param, query_param, ErrorPanel, ListControls, Loading, PageHeader, Pager,
    StatusBadge,
};

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let (status, q, page) = (query_param("status"), query_param("q"), page_param());
    let data = Resource::new(
        move || (status.get(), q.get(), page.get()),
        |(s, q, p)| list_workspace_applications(s, q, p),
    );
    view! {
        <Title text="Workspace applications" />
        <PageHeader title="Workspace applications" crumbs=vec![("Home", "/"), ("Operator", "/operator")] />
        <OperatorNav active="applications" />
        <section class="panel">
            <ListControls
                search_label="Search by Workspace Name"
                filters=vec![("status", "Status", vec![("", "All"), ("Pending", "Pending"), ("Generated", "Generated"), ("Rejected", "Rejected"), ("Withdrawn", "Withdrawn")])]
            />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) if p.items.is_empty() => view! { <p class="empty">"No applications match."</p> }.into_any(),
                        Ok(p) => {
                            let pages = p.pages();
                            view! {
                                <table class="table">
                                    <thead><tr>
                                        <th scope="col">"Workspace Name"</th><th scope="col">"Applicant"</th><th scope="col">"Scope of Business"</th>
                                        <th scope="col">"Submitted"</th><th scope="col">"Status"</th>
                                    </tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|a| view! {
                                            <tr>
                                                <td><a href=format!("/operator/applications/{}", a.id)>{a.name.clone()}</a></td>
                                                <td>{a.applicant.clone()}</td>
                                                <td>{format!("{} — {}", a.mcc, a.mcc_description)}</td>
                                                <td class="nowrap">{fmt_time(&a.created)}</td>
                                                <td><StatusBadge status=a.status /></td>
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
