//! Sign up. The answer never says whether the email already had an account: either way the
//! person is told to look for our mail.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use super::kit::{action_error, query_param, Field, FormError, SubmitButton};
use super::use_auth;
use crate::model::account::{PASSWORD_MAX, PASSWORD_MIN, USERNAME_MAX};

#[component]
pub fn SignUpPage() -> impl IntoView {
    let auth = use_auth();
    let error = action_error(auth.sign_up);
    // Arriving from an invitation link: the token rides along (to come back to the invitation
    // once the address is verified) and the email is filled in.
    let invitation = query_param("invitation");
    let invited_email = query_param("email");
    let sent = query_param("sent");
    let next = move || {
        let t = invitation.get();
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| format!("/invitations/{t}"))
    };
    view! {
        <Title text="Sign up" />
        <section class="auth-panel" aria-labelledby="sign-up-title">
            <h1 id="sign-up-title">"Create your MPDP account"</h1>
            <Show
                when=move || sent.get().is_empty()
                fallback=move || view! {
                    <div class="alert alert-success" role="status">
                        <p><strong>"Check your inbox."</strong></p>
                        <p>{move || format!("We sent a message to {}. Open the link in it to verify your address; it works for 24 hours.", sent.get())}</p>
                    </div>
                    <p>"You can log in already; workspaces admit you once the address is verified."</p>
                    <p class="aside"><a href="/">"Go to log in"</a></p>
                }
            >
                {move || (!invitation.get().is_empty()).then(|| view! {
                    <p class="alert alert-info">"Sign up with the invited email address, verify it from the message we send, then accept the invitation."</p>
                })}
                <ActionForm action=auth.sign_up>
                    <FormError error />
                    <input type="hidden" name="next" value=next />
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
            </Show>
        </section>
    }
}
