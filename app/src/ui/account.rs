//! The account page: who you are, your email address, your password, where you are signed in,
//! and what happened to your account.

use leptos::form::ActionForm;
use leptos::prelude::*;
use crate::ui::kit::Panel;
use leptos_meta::Title;

use super::kit::{ServerForm, 
    action_error, fmt_time, list_position, query_param, Badge, DataTable, Field, FormError, Notice,
    NewPasswordFields, PageHeader, StatusBadge, SubmitButton, Tone,
};
use super::use_auth;
use crate::api::account::{
    my_security_events, my_sessions, ChangeEmail, ResendVerification, RevokeOtherSessions,
    RevokeSession,
};
use crate::model::account::{AccountView, SessionView};
use crate::model::workspace::{AuditEventView, Page};
use crate::model::AppError;

/// Shown on pages that need a signed-in person when there is none: off to log in, and back.
pub use super::kit::LogInFirst as SignInRequired;

/// The actions of the account page, made once so every part reloads after any of them.
#[derive(Clone, Copy)]
struct AccountActions {
    resend: ServerAction<ResendVerification>,
    change_email: ServerAction<ChangeEmail>,
    revoke: ServerAction<RevokeSession>,
    revoke_others: ServerAction<RevokeOtherSessions>,
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    let actions = AccountActions {
        resend: ServerAction::new(),
        change_email: ServerAction::new(),
        revoke: ServerAction::new(),
        revoke_others: ServerAction::new(),
    };
    let page = list_position();
    let changes = move || {
        actions.revoke.version().get()
            + actions.revoke_others.version().get()
            + actions.change_email.version().get()
            + auth.change_password.version().get()
    };
    let sessions = Resource::new(changes, |_| my_sessions());
    let events = Resource::new(move || (page.get(), changes()), |(p, _)| my_security_events(p.0, p.1));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => view! { <AccountDetails me actions sessions events /> }.into_any(),
                    Ok(None) => view! { <SignInRequired /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A notice shown after a plain form post (the server redirects here with `param`) or after the
/// action succeeded in the browser.
fn done_notice<S>(action: ServerAction<S>, param: &'static str, message: &'static str) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let q = query_param(param);
    Signal::derive(move || {
        let done = match action.value().with(|v| v.as_ref().map(|r| r.is_ok())) {
            Some(ok) => ok,
            None => !q.get().is_empty(),
        };
        done.then(|| message.to_string())
    })
}

#[component]
fn AccountDetails(
    me: AccountView,
    actions: AccountActions,
    sessions: Resource<Result<Vec<crate::model::account::SessionView>, AppError>>,
    events: Resource<Result<Page<AuditEventView>, AppError>>,
) -> impl IntoView {
    let auth = use_auth();
    let action = auth.change_password;
    let error = action_error(action);
    let password_done = done_notice(action, "password_changed", "Password changed. Your other sessions have been signed out.");
    let resend_error = action_error(actions.resend);
    let resend_done = done_notice(actions.resend, "verification_sent", "We sent a new verification link. It works for 24 hours.");
    let email_error = action_error(actions.change_email);
    let email_done = done_notice(actions.change_email, "email_change_sent", "We sent a link to the new address. Your email changes when you open it.");
    let session_error = Signal::derive({
        let (a, b) = (action_error(actions.revoke), action_error(actions.revoke_others));
        move || a.get().or_else(|| b.get())
    });
    let revoked_one = done_notice(actions.revoke, "session_revoked", "That session has been signed out.");
    let revoked_all = done_notice(actions.revoke_others, "sessions_revoked", "Every other session has been signed out.");
    let session_done = Signal::derive(move || revoked_one.get().or_else(|| revoked_all.get()));
    // Empty the password form after a successful change.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(action.value().get(), Some(Ok(()))) {
            if let Some(form) = form.get() {
                form.reset();
            }
        }
    });
    let verified = me.email_verified;
    view! {
        <Title text="Account" />
        <PageHeader title="Account" crumbs=vec![("Home", "/")] />
        <Panel id="profile" title="Profile">
            <dl class="facts">
                <dt>"Username"</dt>
                <dd>{me.username.clone()}</dd>
                <dt>"Created"</dt>
                <dd>{fmt_time(&me.created)}</dd>
            </dl>
        </Panel>
        <section class="panel" id="email" aria-labelledby="email-title">
            <h2 id="email-title">"Email address"</h2>
            <dl class="facts">
                <dt>"Email"</dt>
                <dd>{me.email.clone()} " " <StatusBadge status=Badge::email(verified) /></dd>
            </dl>
            {(!verified).then(|| view! {
                <p class="hint">"Until your address is verified, no workspace admits you. Open the link we sent you, or ask for a new one."</p>
                <ActionForm action=actions.resend>
                    <Notice message=resend_done />
                    <FormError error=resend_error />
                    <SubmitButton label="Send a new verification link" pending=actions.resend.pending() />
                </ActionForm>
            })}
            <h3>"Change email address"</h3>
            <ActionForm action=actions.change_email>
                <Notice message=email_done />
                <FormError error=email_error />
                <Field label="New email" name="new_email" kind="email" autocomplete="email" required=true maxlength=254 error=email_error />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true hint="Your current password, to confirm it is you." error=email_error />
                <SubmitButton label="Send confirmation link" pending=actions.change_email.pending() />
            </ActionForm>
        </section>
        <Panel id="password" title="Change password">
            <p class="hint">"Changing your password signs you out everywhere else."</p>
            <ActionForm action node_ref=form>
                <Notice message=password_done />
                <FormError error />
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" required=true error />
                <NewPasswordFields error />
                <SubmitButton label="Change password" pending=action.pending() />
            </ActionForm>
        </Panel>
        <Panel id="sessions-title" title="Where you are signed in">
            <Notice message=session_done />
            <FormError error=session_error />
            <DataTable
                label="Your sessions"
                columns=vec!["Browser", "Client address", "Started", "Last seen", "Actions"]
                data=sessions
                empty="No sessions."
                row=move |s: SessionView| {
                    let label = format!("Sign out the session from {}", if s.client.is_empty() { "an unknown address".to_string() } else { s.client.clone() });
                    view! {
                        <tr>
                            <td>{if s.agent.is_empty() { "Unknown browser".to_string() } else { s.agent.clone() }}
                                {s.current.then(|| view! { " " <StatusBadge status=Badge::new("This browser", Tone::Info) /> })}</td>
                            <td>{s.client.clone()}</td>
                            <td class="nowrap">{s.started.map(|t| fmt_time(&t)).unwrap_or_default()}</td>
                            <td class="nowrap">{s.last_seen.map(|t| fmt_time(&t)).unwrap_or_default()}</td>
                            <td class="row-actions">
                                {(!s.current).then(|| view! {
                                    <ServerForm action=actions.revoke fields=vec![("session", s.handle.clone())]>
                                        <button type="submit" class="button" aria-label=label>"Sign out"</button>
                                    </ServerForm>
                                })}
                            </td>
                        </tr>
                    }.into_any()
                }
            />
            <ServerForm action=actions.revoke_others>
                <button type="submit" class="button">"Sign out everywhere else"</button>
            </ServerForm>
        </Panel>
        <Panel id="events-title" title="Security events">
            <p class="hint">"Sign-ins, failed sign-ins, password and email changes, and sessions signed out, newest first."</p>
            <DataTable
                label="Security events"
                columns=vec!["When", "Event", "Details", "Client address"]
                sortable=vec![("When", "time")]
                data=events
                empty="Nothing yet."
                row=|e: AuditEventView| view! {
                    <tr>
                        <td class="nowrap">{fmt_time(&e.at)}</td>
                        <td>{event_label(&e.action)}</td>
                        <td>{e.details.clone()}</td>
                        <td>{e.client.clone()}</td>
                    </tr>
                }.into_any()
            />
        </Panel>
    }
}

/// A security event's action code in words.
fn event_label(action: &str) -> String {
    crate::model::audit::AuditAction::parse(action).map_or(action, |a| a.label()).to_string()
}
