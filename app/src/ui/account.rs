//! The account page: who you are, and changing your password.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::{action_error, Field, FormError, Notice, PageHeader, SubmitButton};
use super::use_auth;
use crate::model::account::{AccountView, PASSWORD_MAX, PASSWORD_MIN};

/// Shown on pages that need a signed-in person when there is none.
#[component]
pub fn SignInRequired() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::UNAUTHORIZED);
    }
    view! {
        <Title text="Log in required" />
        <section class="panel" aria-labelledby="signin-required">
            <h1 id="signin-required">"Please log in"</h1>
            <p>"This page is for signed-in people. " <a href="/">"Log in"</a> " or " <a href="/sign-up">"create an account"</a> "."</p>
        </section>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => view! { <AccountDetails me /> }.into_any(),
                    Ok(None) => view! { <SignInRequired /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountDetails(me: AccountView) -> impl IntoView {
    let auth = use_auth();
    let action = auth.change_password;
    let error = action_error(action);
    // After a plain form post (no JavaScript) the server redirects here with a marker.
    let query = leptos_router::hooks::use_query_map();
    let done = Signal::derive(move || {
        let changed = matches!(action.value().get(), Some(Ok(())))
            || (action.value().get().is_none() && query.read().get("password_changed").is_some());
        changed.then(|| "Password changed. Your other sessions have been signed out.".to_string())
    });
    // Empty the form after a successful change.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    view! {
        <Title text="Account" />
        <PageHeader title="Account" crumbs=vec![("Home", "/")] />
        <section class="panel" aria-labelledby="profile">
            <h2 id="profile">"Profile"</h2>
            <dl class="facts">
                <dt>"Username"</dt>
                <dd>{me.username.clone()}</dd>
                <dt>"Email"</dt>
                <dd>{me.email.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{me.created.format("%Y-%m-%d %H:%M UTC").to_string()}</dd>
            </dl>
        </section>
        <section class="panel" aria-labelledby="password">
            <h2 id="password">"Change password"</h2>
            <p class="hint">"Changing your password signs you out everywhere else."</p>
            <ActionForm action node_ref=form>
                <Notice message=done />
                <FormError error />
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" required=true error />
                <Field
                    label="New password"
                    name="new_password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    minlength=PASSWORD_MIN
                    maxlength=PASSWORD_MAX
                    hint="8–128 characters, not a commonly used password."
                    error
                />
                <Field label="Confirm new password" name="new_password_confirm" kind="password" autocomplete="new-password" required=true error />
                <SubmitButton label="Change password" pending=action.pending() />
            </ActionForm>
        </section>
    }
}
