//! Sign up.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::{action_error, Field, FormError, SubmitButton};
use super::use_auth;
use crate::model::account::{PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let auth = use_auth();
    let error = action_error(auth.sign_up);
    // Arriving from an invitation link: the token rides along and the email is filled in.
    let invitation = super::kit::query_param("invitation");
    let invited_email = super::kit::query_param("email");
    view! {
        <Title text="Sign up" />
        <section class="auth-panel" aria-labelledby="sign-up-title">
            <h1 id="sign-up-title">"Create your MPDP account"</h1>
            {move || (!invitation.get().is_empty()).then(|| view! {
                <p class="alert alert-success">"Sign up with the invited email address to join the workspace."</p>
            })}
            <ActionForm action=auth.sign_up>
                <FormError error />
                <input type="hidden" name="invitation" value=move || invitation.get() />
                <Field label="Email" name="email" kind="email" autocomplete="email" required=true maxlength=254 value=invited_email error />
                <Field
                    label="Username"
                    name="username"
                    autocomplete="username"
                    required=true
                    maxlength=USERNAME_MAX
                    hint="3–32 characters: letters, digits, '.', '_' or '-'."
                    error
                />
                <Field
                    label="Password"
                    name="password"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    minlength=PASSWORD_MIN
                    maxlength=PASSWORD_MAX
                    hint="8–128 characters, not a commonly used password. A short sentence works well."
                    error
                />
                <Field
                    label="Confirm password"
                    name="password_confirm"
                    kind="password"
                    autocomplete="new-password"
                    required=true
                    error
                />
                <SubmitButton label="Sign up" pending=auth.sign_up.pending() />
            </ActionForm>
            <p class="aside">"Already have an account? " <a href="/">"Log in"</a></p>
        </section>
    }
}
