//! The home page: the login entry for visitors, a dashboard for the signed-in.

use leptos::form::ActionForm;
use leptos::prelude::*;
use crate::ui::kit::Panel;
use leptos_meta::Title;

use super::kit::{action_error, query_param, Field, FormError, Notice, PageHeader, SubmitButton};
use super::use_auth;
use crate::model::account::AccountView;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    // Made here, not inside the dashboard, so server and browser create resources in one order.
    let summary = Resource::new(
        move || (auth.log_in.version().get(), auth.log_out.version().get(), auth.verify_email.version().get()),
        |_| crate::api::workspaces::home_summary(),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(me)) => view! { <Dashboard me summary /> }.into_any(),
                    Ok(None) => view! { <LoginPanel /> }.into_any(),
                    Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/login`: the login form, which returns to `next` (a path of this console) afterwards. With
/// `again`, a signed-in person signs in afresh (an action that needs a recent sign-in sent them).
#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let (next, again) = (query_param("next"), query_param("again"));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match auth.me.await {
                    Ok(Some(_)) if !again.get_untracked().is_empty() => view! { <LoginPanel /> }.into_any(),
                    Ok(Some(me)) => {
                        let to = crate::model::local_path(Some(&next.get_untracked())).unwrap_or_else(|| "/".into());
                        view! {
                            <Title text="Log in" />
                            <section class="auth-panel" aria-labelledby="login-title">
                                <h1 id="login-title">"You are logged in"</h1>
                                <p>{format!("You are logged in as {}. ", me.username)} <a href=to>"Continue"</a></p>
                                <SsoButtons heading="A workspace that requires single sign-on needs a session made with its provider:" />
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
    let (verified, reset, next, again) = (query_param("verified"), query_param("password_reset"), query_param("next"), query_param("again"));
    let notice = Signal::derive(move || {
        if !again.get().is_empty() {
            Some("Sign in again to confirm it is you. You come back to the page you were on.".to_string())
        } else if !reset.get().is_empty() {
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
            <SsoRefused />
            <ActionForm action=auth.log_in>
                <input type="hidden" name="next" value=move || crate::model::local_path(Some(&next.get())).unwrap_or_default() />
                <FormError error />
                <Field label="Email or username" name="login" autocomplete="username" required=true error />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true error />
                <SubmitButton label="Log in" pending=auth.log_in.pending() />
            </ActionForm>
            <p class="aside"><a href="/forgot-password">"Forgot password?"</a></p>
            <super::passkeys::PasskeySignIn next />
            <SsoButtons heading="Or sign in with your organisation's account:" />
            <p class="aside">"New here? " <a href="/sign-up">"Create an account"</a></p>
        </section>
    }
}

/// Why a single sign-on came back refused (`?refused=`), in the login page's words.
#[component]
fn SsoRefused() -> impl IntoView {
    let refused = query_param("refused");
    move || {
        crate::model::account::SsoRefusal::parse(&refused.get())
            .map(|r| view! { <p class="alert alert-error" role="alert">{r.message()}</p> })
    }
}

/// A button for each single sign-on provider, which returns to `next` afterwards; nothing when
/// there are none.
#[component]
fn SsoButtons(heading: &'static str) -> impl IntoView {
    let next = query_param("next");
    let providers = Resource::new(|| (), |_| crate::api::account::sign_in_providers());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let list = providers.await.unwrap_or_default();
                let back = crate::model::local_path(Some(&next.get_untracked()))
                    .map(|n| format!("?next={}", crate::model::url_encode(&n)))
                    .unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <div class="sso" role="group" aria-label="Single sign-on">
                        <p class="aside">{heading}</p>
                        {list.into_iter().map(|p| view! {
                            <a class="button" rel="external" href=format!("/sso/{}{back}", p.id)>{format!("Sign in with {}", p.label)}</a>
                        }).collect_view()}
                    </div>
                })
            })}
        </Suspense>
    }
}

/// `/login/code`: the second step of a login, for an account with two-factor authentication.
#[component]
pub fn LoginCodePage() -> impl IntoView {
    let auth = use_auth();
    let error = action_error(auth.log_in_code);
    let next = query_param("next");
    let pending = Resource::new(|| (), |_| crate::api::account::login_in_progress());
    view! {
        <Title text="Two-factor authentication" />
        <section class="auth-panel" aria-labelledby="code-title">
            <h1 id="code-title">"Two-factor authentication"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(Some(step)) => view! {
                            <p class="lede">{format!("Signing in as {}. {}", step.username, match (step.code, step.passkey) {
                                (true, true) => "Type the code your authenticator app shows for MPDP, or use a passkey.",
                                (false, true) => "Use one of your passkeys.",
                                _ => "Open your authenticator app and type the code it shows for MPDP.",
                            })}</p>
                            {step.passkey.then(|| view! { <super::passkeys::PasskeySecondStep next primary=!step.code /> })}
                            {step.code.then(|| view! {
                            <ActionForm action=auth.log_in_code>
                                <input type="hidden" name="next" value=move || crate::model::local_path(Some(&next.get())).unwrap_or_default() />
                                <FormError error />
                                <Field label="Authentication code" name="code" autocomplete="one-time-code" required=true maxlength=20
                                    hint="Six digits from your authenticator app, or one of your recovery codes if you don't have the app at hand." error />
                                <SubmitButton label="Verify" pending=auth.log_in_code.pending() />
                            </ActionForm>
                            })}
                            <p class="aside"><a href="/login">"Start again"</a></p>
                        }.into_any(),
                        Ok(None) => view! {
                            <p>"There is no sign-in waiting for a code in this browser: it has expired (after five minutes) or was never begun."</p>
                            <p><a class="button" href="/login">"Log in"</a></p>
                        }.into_any(),
                        Err(e) => view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Dashboard(
    me: AccountView,
    summary: Resource<Result<crate::model::workspace::HomeSummary, crate::model::AppError>>,
) -> impl IntoView {
    let since = me.created.format("%Y-%m-%d").to_string();
    let verified = query_param("verified");
    let notice = Signal::derive(move || {
        (!verified.get().is_empty()).then(|| "Your email address is verified.".to_string())
    });
    view! {
        <Title text="Home" />
        <PageHeader title="Home" />
        <Notice message=notice />
        <NextSteps verified=me.email_verified summary />
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

/// What to do next, from where the person stands: verify, apply, wait, accept, open.
#[component]
fn NextSteps(
    verified: bool,
    summary: Resource<Result<crate::model::workspace::HomeSummary, crate::model::AppError>>,
) -> impl IntoView {
    use crate::model::workspace::ApplicationStatus;
    view! {
        <Panel id="next-steps" title="Next steps">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let s = match summary.await {
                        Ok(s) => s,
                        Err(e) => return view! { <super::kit::ErrorPanel error=e /> }.into_any(),
                    };
                    let pending: Vec<_> = s.applications.iter().filter(|a| a.status == ApplicationStatus::Pending).cloned().collect();
                    let rejected: Vec<_> = s.applications.iter().filter(|a| a.status == ApplicationStatus::Rejected).take(3).cloned().collect();
                    let nothing_yet = s.workspaces.is_empty() && pending.is_empty() && s.invitations.is_empty();
                    view! {
                        <ul class="steps">
                            {(!verified).then(|| view! {
                                <li>"Verify your email address: open the link we sent you, or " <a href="/account#email">"send a new one"</a> ". Until then no workspace admits you."</li>
                            })}
                            {s.invitations.into_iter().map(|i| view! {
                                <li>{format!("{} invited you to the workspace {} as {}. Open the link in the invitation email to join (it expires {}).", i.inviter, i.workspace, i.role.label(), super::kit::fmt_time(&i.expires))}</li>
                            }).collect_view()}
                            {pending.into_iter().map(|a| view! {
                                <li>{format!("Your application for the workspace {} is waiting for the platform operator's review.", a.name)} " " <a href="/workspaces">"See your applications"</a></li>
                            }).collect_view()}
                            {rejected.into_iter().map(|a| view! {
                                <li>{format!("Your application for {} was rejected: {}", a.name, a.reason.clone().unwrap_or_default())} " " <a href="/workspaces/apply">"Apply again"</a></li>
                            }).collect_view()}
                            {nothing_yet.then(|| view! {
                                <li>"You are not in a workspace yet. " <a href="/workspaces/apply">"Apply for a workspace"</a> " for your company, or ask a Workspace Admin to invite you."</li>
                            })}
                            {s.workspaces.into_iter().map(|w| {
                                let href = format!("/w/{}", w.name);
                                view! { <li>"Open your workspace " <a href=href>{w.name.clone()}</a> {format!(" ({})", w.role.label())}</li> }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                })}
            </Suspense>
        </Panel>
    }
}
