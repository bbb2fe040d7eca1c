//! The account page: who you are, your email address, your password, where you are signed in,
//! and what happened to your account.

use leptos::form::ActionForm;
use leptos::prelude::*;
use crate::ui::kit::Panel;
use leptos_meta::Title;

use super::kit::{ServerForm, done_notice, CheckGroup, 
    action_error, fmt_time, list_position, Badge, DataTable, Field, FormError, Notice,
    NewPasswordFields, PageHeader, StatusBadge, SubmitButton, Tone,
};
use super::use_auth;
use crate::api::account::{
    my_access_tokens, my_second_factor, new_access_token, my_security_events, my_sessions, BeginSecondFactor,
    ChangeEmail, ConfirmSecondFactor, CreateAccessToken, DisableSecondFactor, ResendVerification,
    RevokeAccessToken, RevokeOtherSessions, RevokeSession,
};
use crate::model::account::{AccessTokenView, AccountView, SecondFactorView, SessionView, TokenScope};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
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
    begin_second: ServerAction<BeginSecondFactor>,
    confirm_second: ServerAction<ConfirmSecondFactor>,
    disable_second: ServerAction<DisableSecondFactor>,
    create_token: ServerAction<CreateAccessToken>,
    revoke_token: ServerAction<RevokeAccessToken>,
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    let actions = AccountActions {
        resend: ServerAction::new(),
        change_email: ServerAction::new(),
        revoke: ServerAction::new(),
        revoke_others: ServerAction::new(),
        begin_second: ServerAction::new(),
        confirm_second: ServerAction::new(),
        disable_second: ServerAction::new(),
        create_token: ServerAction::new(),
        revoke_token: ServerAction::new(),
    };
    let page = list_position();
    let changes = move || {
        actions.revoke.version().get()
            + actions.revoke_others.version().get()
            + actions.change_email.version().get()
            + auth.change_password.version().get()
            + actions.begin_second.version().get()
            + actions.confirm_second.version().get()
            + actions.disable_second.version().get()
            + actions.create_token.version().get()
            + actions.revoke_token.version().get()
    };
    let sessions = Resource::new(changes, |_| my_sessions());
    let events = Resource::new(move || (page.get(), changes()), |(p, _)| my_security_events(p));
    let second = Resource::new(changes, |_| my_second_factor());
    let tokens = Resource::new(changes, |_| my_access_tokens());
    let fresh_token = Resource::new(move || actions.create_token.version().get(), |_| new_access_token());
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => view! { <AccountDetails me actions sessions events second tokens fresh_token /> }.into_any(),
                    Ok(None) => view! { <SignInRequired /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountDetails(
    me: AccountView,
    actions: AccountActions,
    sessions: Resource<Result<Vec<crate::model::account::SessionView>, AppError>>,
    events: Resource<Result<Page<AuditEventView>, AppError>>,
    second: Resource<Result<SecondFactorView, AppError>>,
    tokens: Resource<Result<Vec<AccessTokenView>, AppError>>,
    fresh_token: Resource<Result<Option<String>, AppError>>,
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
        <TwoFactorPanel actions second />
        <super::passkeys::PasskeysPanel />
        <TokensPanel actions tokens fresh_token />
        <Panel id="sessions-title" title="Where you are signed in">
            <Notice message=session_done />
            <FormError error=session_error />
            <DataTable
                label="Your sessions"
                columns=vec!["Browser", "Client address", "Signed in with", "Started", "Last seen", "Actions"]
                data=sessions
                empty="No sessions."
                row=move |s: SessionView| {
                    let label = format!("Sign out the session from {}", if s.client.is_empty() { "an unknown address".to_string() } else { s.client.clone() });
                    view! {
                        <tr>
                            <td>{if s.agent.is_empty() { "Unknown browser".to_string() } else { s.agent.clone() }}
                                {s.current.then(|| view! { " " <StatusBadge status=Badge::new("This browser", Tone::Info) /> })}</td>
                            <td>{s.client.clone()}</td>
                            <td>{s.method.clone()}</td>
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

/// Two-factor authentication: set up with an authenticator app (QR code, then a typed code), the
/// recovery codes shown once, turned off with a code.
#[component]
fn TwoFactorPanel(actions: AccountActions, second: Resource<Result<SecondFactorView, AppError>>) -> impl IntoView {
    let begin_error = action_error(actions.begin_second);
    let confirm_error = action_error(actions.confirm_second);
    let disable_error = action_error(actions.disable_second);
    let on = done_notice(actions.confirm_second, "second_factor_on", "Two-factor authentication is on: login now asks for a code from your app after your password.");
    let off = done_notice(actions.disable_second, "second_factor_off", "Two-factor authentication is off: login asks for your password alone.");
    let done = Signal::derive(move || on.get().or_else(|| off.get()));
    view! {
        <Panel id="two-factor" title="Two-factor authentication">
            <Notice message=done />
            <FormError error=begin_error />
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let state = match second.await {
                        Ok(s) => s,
                        Err(e) => return view! { <super::kit::ErrorPanel error=e /> }.into_any(),
                    };
                    let fresh = (!state.fresh_codes.is_empty()).then(|| view! {
                        <div class="alert alert-success" role="status">
                            <p><strong>"Save these recovery codes now."</strong> " Each one signs you in once if you lose your phone. They are not shown again."</p>
                            <ul class="recovery-codes" aria-label="Recovery codes">
                                {state.fresh_codes.iter().map(|c| view! { <li><code>{c.clone()}</code></li> }).collect_view()}
                            </ul>
                        </div>
                    });
                    let body = match (state.on_since, state.setup) {
                        (Some(since), _) => view! {
                            <dl class="facts">
                                <dt>"Status"</dt>
                                <dd><StatusBadge status=Badge::second_factor(true) /></dd>
                                <dt>"Since"</dt>
                                <dd>{fmt_time(&since)}</dd>
                                <dt>"Recovery codes left"</dt>
                                <dd>{state.recovery_left}</dd>
                            </dl>
                            <h3>"Turn off two-factor authentication"</h3>
                            <ActionForm action=actions.disable_second>
                                <FormError error=disable_error />
                                <Field label="Authentication code" name="code" autocomplete="one-time-code" required=true maxlength=20
                                    hint="A current code from your authenticator app, or one of your recovery codes." error=disable_error />
                                <SubmitButton label="Turn off" pending=actions.disable_second.pending() />
                            </ActionForm>
                        }.into_any(),
                        (None, Some(setup)) => view! {
                            <ol class="steps">
                                <li>"Scan this QR code with an authenticator app on your phone (any app for time-based codes)."</li>
                                <li>"Type the six-digit code the app shows for MPDP."</li>
                            </ol>
                            <div class="qr" role="img" aria-label="QR code for your authenticator app" inner_html=setup.qr_svg></div>
                            <p class="hint">"Can't scan it? Type this key into the app: " <code class="secret-key">{setup.key}</code></p>
                            <ActionForm action=actions.confirm_second>
                                <FormError error=confirm_error />
                                <Field label="Code from the app" name="code" autocomplete="one-time-code" required=true maxlength=20 error=confirm_error />
                                <SubmitButton label="Turn on" pending=actions.confirm_second.pending() />
                            </ActionForm>
                        }.into_any(),
                        (None, None) => view! {
                            <p class="hint">"Login asks for your password only. With two-factor authentication it also asks for a code from an authenticator app on your phone, so a stolen password alone does not open your account."</p>
                            <ServerForm action=actions.begin_second>
                                <button type="submit" class="button button-primary">"Set up an authenticator app"</button>
                            </ServerForm>
                        }.into_any(),
                    };
                    view! { {fresh} {body} }.into_any()
                })}
            </Suspense>
        </Panel>
    }
}

/// Personal access tokens for CI and the command line: made for one workspace with scopes and an
/// expiry, shown once, listed with when they were last used, revoked behind a confirmation.
#[component]
fn TokensPanel(
    actions: AccountActions,
    tokens: Resource<Result<Vec<AccessTokenView>, AppError>>,
    fresh_token: Resource<Result<Option<String>, AppError>>,
) -> impl IntoView {
    let create_error = action_error(actions.create_token);
    let revoke_error = action_error(actions.revoke_token);
    let revoked = done_notice(actions.revoke_token, "token_revoked", "The token is revoked.");
    view! {
        <Panel id="tokens" title="Personal access tokens">
            <p class="hint">"For CI and the command line: " <code>"mpdp studio upload --token …"</code> " signs with the App's Upload Key as before, and the token names you, so the audit log shows who uploaded. A token acts in one workspace, with the scopes you choose, only while you are an active member there, until it expires or you revoke it."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    fresh_token.await.ok().flatten().map(|token| view! {
                        <div class="alert alert-success" role="status">
                            <p><strong>"Copy your new token now."</strong> " It is not shown again."</p>
                            <p><code class="secret-key" aria-label="New access token">{token}</code></p>
                        </div>
                    })
                })}
            </Suspense>
            <Notice message=revoked />
            <FormError error=revoke_error />
            <DataTable
                label="Your access tokens"
                columns=vec!["Name", "Workspace", "Scopes", "Expires", "Last used", "State", "Actions"]
                data=tokens
                empty="No tokens yet."
                row=move |t: AccessTokenView| {
                    let scopes = t.scopes.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ");
                    let state = if t.revoked.is_some() { "Revoked" } else if t.live { "Active" } else { "Expired" };
                    let tone = if t.live { Tone::Positive } else { Tone::Negative };
                    let label = format!("Revoke the token {}", t.name);
                    view! {
                        <tr>
                            <td>{t.name.clone()}</td>
                            <td>{t.workspace.clone()}</td>
                            <td>{scopes}</td>
                            <td class="nowrap">{fmt_time(&t.expires)}</td>
                            <td class="nowrap">{t.last_used.map(|u| fmt_time(&u)).unwrap_or_else(|| "Never".into())}</td>
                            <td><StatusBadge status=Badge::new(state, tone) /></td>
                            <td class="row-actions">
                                {t.live.then(|| view! {
                                    <ConfirmDialog action=actions.revoke_token kind=Confirm::RevokeToken opener="Revoke…" opener_label=label fields=vec![("id", t.id.to_string())] error=revoke_error />
                                })}
                            </td>
                        </tr>
                    }.into_any()
                }
            />
            <FormDialog title="Create a token" param="new-token">
                <ServerForm action=actions.create_token error=create_error>
                    <SignInAgainLink error=create_error />
                    <TokenTermsFields name="" error=create_error />
                    <button type="submit" class="button button-primary">"Create token"</button>
                </ServerForm>
            </FormDialog>
        </Panel>
    }
}

/// The terms of a personal access token, as the person chooses them: name, workspace, scopes,
/// lifetime.
#[component]
fn TokenTermsFields(
    /// The name filled in already.
    name: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let workspaces = super::use_auth().workspaces;
    view! {
        <Field label="Name" name="name" required=true maxlength=100 value=Signal::derive(move || name.to_string()) hint="What the token is for, such as the CI job that uses it." error />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let options: Vec<(String, String)> = workspaces.await.unwrap_or_default().into_iter().map(|w| (w.name.clone(), w.name)).collect();
                view! {
                    <Field label="Workspace" name="workspace" kind="select" options required=true hint="The one workspace the token acts in." error />
                }
            })}
        </Suspense>
        <CheckGroup label="Scopes" name="scopes" options=TokenScope::ALL.iter().map(|s| (s.code().to_string(), s.label().to_string(), false)).collect() hint="What the token may do." error />
        <Field label="Expires in" name="days" kind="number" required=true value=Signal::derive(|| "90".to_string()) hint="Days, from 1 to 365." error />
    }
}

/// `/device`: the person approves (or denies) the sign-in of `mpdp studio login` that shows the
/// code they type, choosing the terms of the token it gets.
#[component]
pub fn DevicePage() -> impl IntoView {
    let auth = use_auth();
    let code = super::kit::query_param("code");
    let approve = ServerAction::<crate::api::account::ApproveDevice>::new();
    let deny = ServerAction::<crate::api::account::DenyDevice>::new();
    let request = Resource::new(move || code.get(), |c| async move {
        if c.trim().is_empty() { Ok(None) } else { crate::api::account::device_request(c).await.map(Some) }
    });
    let approve_error = action_error(approve);
    let deny_error = action_error(deny);
    let approved = done_notice(approve, "approved", "Approved: the command line gets its token within a few seconds. You can close this page.");
    let denied = done_notice(deny, "denied", "Denied: the command line gets no token.");
    let done = Signal::derive(move || approved.get().or_else(|| denied.get()));
    view! {
        <Title text="Sign in the command line" />
        <PageHeader title="Sign in the command line" crumbs=vec![("Home", "/")] />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(_)) => {}
                    Ok(None) => return view! { <SignInRequired /> }.into_any(),
                    Err(e) => return view! { <super::kit::ErrorPanel error=e /> }.into_any(),
                }
                let found = request.await;
                let typed = code.get_untracked();
                let code_error = Signal::derive({
                    let e = found.as_ref().err().cloned();
                    move || e.clone()
                });
                view! {
                    <Notice message=done />
                    <Panel id="device-code" title="The code">
                        <p class="hint">"Run " <code>"mpdp studio login --server …"</code> " and type the code it shows. Approve only a request you made yourself, just now."</p>
                        <form method="get" action="/device">
                            <FormError error=code_error />
                            <Field label="Code" name="code" required=true maxlength=12 value=Signal::derive(move || typed.clone()) hint="Eight letters, like BCDF-GHJK." error=code_error />
                            <button type="submit" class="button">"Continue"</button>
                        </form>
                    </Panel>
                    {found.ok().flatten().map(|r| {
                        let (c1, c2) = (r.user_code.clone(), r.user_code.clone());
                        view! {
                            <Panel id="device-approve" title="Approve this sign-in">
                                <dl class="facts">
                                    <dt>"Code"</dt><dd><code>{r.user_code.clone()}</code></dd>
                                    <dt>"Asked from"</dt><dd>{if r.client.is_empty() { "an unknown address".to_string() } else { r.client.clone() }}</dd>
                                    <dt>"Asked at"</dt><dd>{fmt_time(&r.created)}</dd>
                                    <dt>"Waits until"</dt><dd>{fmt_time(&r.expires)}</dd>
                                </dl>
                                <ServerForm action=approve error=approve_error fields=vec![("code", c1)]>
                                    <SignInAgainLink error=approve_error />
                                    <TokenTermsFields name="mpdp studio login" error=approve_error />
                                    <button type="submit" class="button button-primary">"Approve"</button>
                                </ServerForm>
                                <ServerForm action=deny error=deny_error fields=vec![("code", c2)]>
                                    <button type="submit" class="button">"Deny"</button>
                                </ServerForm>
                            </Panel>
                        }
                    })}
                }.into_any()
            })}
        </Suspense>
    }
}

/// A security event's action code in words.
fn event_label(action: &str) -> String {
    crate::model::audit::AuditAction::parse(action).map_or(action, |a| a.label()).to_string()
}

/// The way on from a form's refusal that asks for a fresh sign-in (`sign_in_again`): a link that
/// signs in again and comes back to this page. Kept beside the forms that can get it, so that the
/// form error every page shares stays small.
#[component]
fn SignInAgainLink(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        matches!(error.get(), Some(AppError::SignInAgain(_))).then(|| {
            let to = format!("/login?again=1&next={}", crate::ui::kit::urlencode(&crate::ui::kit::dialog::here()));
            view! { <p><a class="button" href=to>"Sign in again"</a></p> }
        })
    }
}
