//! `/invitations/{token}`: the link from an invitation email.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::members::{invitation_details, AcceptInvitation};
use crate::ui::kit::{action_error, fmt_time, route_param, ErrorPanel, FormError, Loading};
use crate::ui::use_auth;

#[component]
pub fn InvitationPage() -> impl IntoView {
    let token = route_param("token");
    let auth = use_auth();
    let accept = ServerAction::<AcceptInvitation>::new();
    let data = Resource::new(move || token.get(), invitation_details);
    let error = action_error(accept);
    view! {
        <Title text="Invitation" />
        <section class="auth-panel" aria-labelledby="inv">
            <h1 id="inv">"Invitation"</h1>
            <FormError error />
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let me = auth.me.await.ok().flatten();
                    match data.await {
                        Ok(i) => {
                            let intro = format!("{} invited {} to join the workspace {} as {}.", i.inviter, i.email, i.workspace, i.role.label());
                            let body = match (i.state.as_str(), me) {
                                ("pending", Some(me)) if me.email.eq_ignore_ascii_case(&i.email) && !me.email_verified => view! {
                                    <p class="alert alert-error">{format!("Verify your email address {} first: open the link we sent you (or send a new one from your account page), then come back to this invitation.", me.email)}</p>
                                    <p><a href="/account#email">"Go to your account page"</a></p>
                                }.into_any(),
                                ("pending", Some(me)) if me.email.eq_ignore_ascii_case(&i.email) => view! {
                                    <ActionForm action=accept>
                                        <input type="hidden" name="token" value=token.get_untracked() />
                                        <button type="submit" class="button button-primary">{format!("Join {}", i.workspace)}</button>
                                    </ActionForm>
                                }.into_any(),
                                ("pending", Some(me)) => view! {
                                    <p class="alert alert-error">{format!("You are signed in as {}. Log out, then log in or sign up as {} to accept.", me.email, i.email)}</p>
                                }.into_any(),
                                ("pending", None) => {
                                    let sign_up = format!("/sign-up?invitation={}&email={}", token.get_untracked(), i.email);
                                    view! {
                                        <p>"New to MPDP? " <a href=sign_up>"Sign up with this email"</a> ", verify it from the message we send, then accept here."</p>
                                        <p>"Already have an account with this email? " <a href="/">"Log in"</a> ", then open this link again."</p>
                                    }.into_any()
                                }
                                ("accepted", _) => view! { <p class="alert alert-error">"This invitation has already been used."</p> }.into_any(),
                                ("revoked", _) => view! { <p class="alert alert-error">"This invitation has been withdrawn. Ask a Workspace Admin for a new one."</p> }.into_any(),
                                _ => view! { <p class="alert alert-error">"This invitation has expired. Ask a Workspace Admin to send it again."</p> }.into_any(),
                            };
                            view! {
                                <p>{intro}</p>
                                <p class="hint">{format!("Expires {}", fmt_time(&i.expires))}</p>
                                {body}
                            }.into_any()
                        }
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
