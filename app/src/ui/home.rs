//! The home page: the login entry for visitors, a dashboard for the signed-in.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::{action_error, query_param, Field, FormError, Notice, PageHeader, SubmitButton};
use super::use_auth;
use crate::model::account::AccountView;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => view! { <Dashboard me /> }.into_any(),
                    Ok(None) => view! { <LoginPanel /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/login`: the login form, which returns to `next` (a path of this console) afterwards.
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let next = query_param("next");
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => {
                        let to = crate::model::local_path(Some(&next.get_untracked())).unwrap_or_else(|| "/".into());
                        view! {
                            <Title text="Log in" />
                            <section class="auth-panel" aria-labelledby="login-title">
                                <h1 id="login-title">"You are logged in"</h1>
                                <p>{format!("You are logged in as {}. ", me.username)} <a href=to>"Continue"</a></p>
                            </section>
                        }.into_any()
                    }
                    Ok(None) => view! { <LoginPanel /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LoginPanel() -> impl IntoView {
    let auth = use_auth();
    let error = action_error(auth.log_in);
    let (verified, reset, next) = (query_param("verified"), query_param("password_reset"), query_param("next"));
    let notice = Signal::derive(move || {
        if !reset.get().is_empty() {
            Some("Your password has been changed and every session signed out. Log in with the new password.".to_string())
        } else if !verified.get().is_empty() {
            Some("Your email address is verified. Log in to continue.".to_string())
        } else {
            None
        }
    });
    view! {
        <Title text="Log in" />
        <section class="auth-panel" aria-labelledby="login-title">
            <h1 id="login-title">"Log in to MPDP"</h1>
            <p class="lede">"The console for your workspaces, mini programs and host apps."</p>
            <Notice message=notice />
            <ActionForm action=auth.log_in>
                <input type="hidden" name="next" value=move || crate::model::local_path(Some(&next.get())).unwrap_or_default() />
                <FormError error />
                <Field label="Email or username" name="login" autocomplete="username" required=true error />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true error />
                <SubmitButton label="Log in" pending=auth.log_in.pending() />
            </ActionForm>
            <p class="aside"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="aside">"New here? " <a href="/sign-up">"Create an account"</a></p>
        </section>
    }
}

#[component]
fn Dashboard(me: AccountView) -> impl IntoView {
    let since = me.created.format("%Y-%m-%d").to_string();
    let verified = query_param("verified");
    let notice = Signal::derive(move || {
        (!verified.get().is_empty()).then(|| "Your email address is verified.".to_string())
    });
    view! {
        <Title text="Home" />
        <PageHeader title="Home" />
        <Notice message=notice />
        <section class="panel" aria-labelledby="welcome">
            <h2 id="welcome">{format!("Welcome, {}", me.username)}</h2>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd>{me.email.clone()}</dd>
                <dt>"Member since"</dt>
                <dd>{since}</dd>
                <dt>"Role"</dt>
                <dd>{if me.is_operator { "Platform operator" } else { "Console user" }}</dd>
            </dl>
            <ul class="links">
                <li><a href="/account">"Account and password"</a></li>
                {me.is_operator.then(|| view! { <li><a href="/operator">"Operator area"</a></li> })}
            </ul>
        </section>
    }
}
