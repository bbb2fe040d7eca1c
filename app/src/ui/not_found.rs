//! The page for addresses that lead nowhere (served with status 404).

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="panel" aria-labelledby="nf">
            <h1 id="nf">"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or you may not have access to it."</p>
            <p><a href="/">"Go to the home page"</a></p>
        </section>
    }
}
