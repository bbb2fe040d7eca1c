//! The pages behind emailed links: verifying an address, asking for a password reset, and
//! setting a new password. Opening a link changes nothing by itself (mail scanners open links):
//! the person confirms with a button.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::{
    action_error, query_param, route_param, Field, FormError, NewPasswordFields, Notice, SubmitButton,
};
use super::use_auth;
use crate::api::account::RequestPasswordReset;

/// `/verify-email/{token}`
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = route_param("token");
    let next = query_param("next");
    let auth = use_auth();
    let verify = auth.verify_email;
    let error = action_error(verify);
    // Signed out: log in first (the password proves the account), then come back here.
    let login = move || {
        let mut back = format!("/verify-email/{}", token.get());
        let n = next.get();
        if !n.is_empty() {
            back.push_str(&format!("?next={}", super::kit::urlencode(&n)));
        }
        format!("/login?next={}", super::kit::urlencode(&back))
    };
    view! {
        <Title text="Verify your email address" />
        <section class="auth-panel" aria-labelledby="verify-title">
            <h1 id="verify-title">"Verify your email address"</h1>
            <p>"Confirm that this address is yours. Workspaces that named it (as a representative, or in an invitation) can then admit you."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match auth.me.await.ok().flatten() {
                        Some(me) => view! {
                            <p>{format!("You are logged in as {}.", me.username)}</p>
                            <ActionForm action=verify>
                                <FormError error />
                                <input type="hidden" name="token" value=move || token.get() />
                                <input type="hidden" name="next" value=move || next.get() />
                                <SubmitButton label="Verify my email address" pending=verify.pending() />
                            </ActionForm>
                        }.into_any(),
                        None => view! {
                            <p class="alert alert-info">"Log in to the account this address belongs to, and you come back here to verify it."</p>
                            <p><a class="button button-primary" href=login()>"Log in to verify"</a></p>
                            <p class="hint">"Did you not create an MPDP account? Then do not verify anything: the address is yours, and you can take the account over by resetting its password."</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
            <p class="aside">"Link expired or used? Log in and send a new one from your " <a href="/account">"account page"</a> "."</p>
        </section>
    }
}

/// `/forgot-password`
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(request);
    let sent = query_param("sent");
    // The same words whether or not the address has an account.
    let message = Signal::derive(move || {
        (matches!(request.value().get(), Some(Ok(()))) || !sent.get().is_empty()).then(|| {
            "If an account uses that address, we sent it a link to choose a new password. It works once, for one hour.".to_string()
        })
    });
    view! {
        <Title text="Forgot password" />
        <section class="auth-panel" aria-labelledby="forgot-title">
            <h1 id="forgot-title">"Forgot your password?"</h1>
            <p>"Enter the email address of your account and we will send you a link to choose a new password."</p>
            <Notice message />
            <ActionForm action=request>
                <FormError error />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true maxlength=254 error />
                <SubmitButton label="Send reset link" pending=request.pending() />
            </ActionForm>
            <p class="aside"><a href="/">"Back to log in"</a></p>
        </section>
    }
}

/// `/reset-password/{token}`
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = route_param("token");
    let reset = use_auth().reset_password;
    let error = action_error(reset);
    view! {
        <Title text="Choose a new password" />
        <section class="auth-panel" aria-labelledby="reset-title">
            <h1 id="reset-title">"Choose a new password"</h1>
            <p class="hint">"Setting a new password signs out every session of your account, on every device."</p>
            <ActionForm action=reset>
                <FormError error />
                <input type="hidden" name="token" value=move || token.get() />
                <NewPasswordFields error />
                <SubmitButton label="Set new password" pending=reset.pending() />
            </ActionForm>
            <p class="aside">"Link expired or used? " <a href="/forgot-password">"Ask for a new one"</a> "."</p>
        </section>
    }
}
