//! The operator area. Its figures come from a server function that refuses non-operators.

use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::PageHeader;
use crate::api::operator::operator_overview;

#[component]
pub fn OperatorPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| operator_overview());
    view! {
        <Title text="Operator" />
        <PageHeader title="Operator" crumbs=vec![("Home", "/")] />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(o) => {
                        view! {
                            <section class="panel" aria-labelledby="instance">
                                <h2 id="instance">"This instance"</h2>
                                <dl class="facts">
                                    <dt>"Accounts"</dt>
                                    <dd>{o.accounts}</dd>
                                    <dt>"Platform operators"</dt>
                                    <dd>{o.operators}</dd>
                                    <dt>"Stored sessions"</dt>
                                    <dd>{o.sessions}</dd>
                                    <dt>"Data schema version"</dt>
                                    <dd>{o.schema_version}</dd>
                                </dl>
                            </section>
                            <section class="panel" aria-labelledby="coming">
                                <h2 id="coming">"Coming to this area"</h2>
                                <p>
                                    "The queue of workspace applications (generate or reject), the workspaces with their status (suspend, reactivate, edit registered information), the email outbox and the audit log of every workspace."
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
