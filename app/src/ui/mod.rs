//! Pages and components, one page per file.

pub mod account;
pub mod audit_table;
pub mod email_links;
pub mod home;
pub mod kit;
pub mod layout;
pub mod not_found;
pub mod operator;
pub mod passkeys;
pub mod pages;
pub mod requests;
pub mod sign_up;
pub mod workspaces;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode, StaticSegment};

use crate::api::account::{
    current_account, ChangePassword, LogIn, LogInCode, LogOut, ResetPassword, SignUp, VerifyEmail,
};
use crate::model::account::AccountView;
use crate::model::AppError;

/// The HTML document around the app (server only). Its head asks for the stylesheet and nothing
/// else: the WASM is fetched once the page has been painted (`HydrationScript`), and a lazy
/// route's chunks when it hydrates.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let css = format!("/{}/mpdp.css", options.site_pkg_dir);
    // The page's inline scripts carry the nonce Leptos made for this response; the policy names it.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(policy) = axum::http::HeaderValue::from_str(&crate::server::csp::policy(Some(&nonce))) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, policy);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href=css />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScript options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The script that loads the console's WASM and hydrates the page (`hydrate.js`), in place of
/// Leptos's `HydrationScripts`, which preloads the WASM (and, with splitting, every chunk of the
/// page) in the head, where it competes with the stylesheet for the first paint.
#[component]
fn HydrationScript(options: LeptosOptions) -> impl IntoView {
    let pkg = format!("/{}", options.site_pkg_dir);
    let name = options.output_name.to_string();
    let script = format!("{}({pkg:?}, {name:?});", include_str!("hydrate.js"));
    view! { <script type="module" nonce=leptos::nonce::use_nonce()>{script}</script> }
}

/// Who is signed in, and the actions that change it, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub log_in: ServerAction<LogIn>,
    /// The second step of a login: the authenticator code.
    pub log_in_code: ServerAction<LogInCode>,
    pub log_out: ServerAction<LogOut>,
    pub sign_up: ServerAction<SignUp>,
    pub change_password: ServerAction<ChangePassword>,
    /// Verifying an address and resetting a password change who is signed in, and how.
    pub verify_email: ServerAction<VerifyEmail>,
    pub reset_password: ServerAction<ResetPassword>,
    pub me: Resource<Result<Option<AccountView>, AppError>>,
    /// The workspaces of the signed-in person (for the switcher).
    pub workspaces: Resource<Result<Vec<crate::model::workspace::MyWorkspace>, AppError>>,
}

pub fn use_auth() -> Auth {
    expect_context::<Auth>()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let log_in = ServerAction::<LogIn>::new();
    let log_in_code = ServerAction::<LogInCode>::new();
    let log_out = ServerAction::<LogOut>::new();
    let sign_up = ServerAction::<SignUp>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let verify_email = ServerAction::<VerifyEmail>::new();
    let reset_password = ServerAction::<ResetPassword>::new();
    let who_changed = move || {
        (
            log_in.version().get(),
            log_in_code.version().get(),
            log_out.version().get(),
            sign_up.version().get(),
            verify_email.version().get(),
            reset_password.version().get(),
        )
    };
    let me = Resource::new(who_changed, |_| current_account());
    // Created here, before any page's resources, so that the server and the browser number
    // resources in the same order during hydration.
    let workspaces = Resource::new(who_changed, |_| crate::api::workspaces::my_workspaces());
    provide_context(Auth {
        log_in,
        log_in_code,
        log_out,
        sign_up,
        change_password,
        verify_email,
        reset_password,
        me,
        workspaces,
    });
    kit::Toasts::provide();

    view! {
        <Title formatter=|page: String| if page.is_empty() { "MPDP".to_string() } else { format!("{page} · MPDP") } />
        <Meta name="description" content="MPDP — Mini Program Development Platform console" />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <layout::TopBar />
            <layout::VerifyBanner />
            <main id="main" class="main">
                <Routes fallback=not_found::NotFound>
                    <Route path=StaticSegment("") view={Lazy::<pages::Home>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("sign-up") view={Lazy::<pages::SignUp>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("login") view={Lazy::<pages::Login>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/login/code") view={Lazy::<pages::LoginCode>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/confirm/:kind") view={Lazy::<pages::Confirm>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("account") view={Lazy::<pages::Account>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("device") view={Lazy::<pages::Device>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/verify-email/:token") view={Lazy::<pages::VerifyEmail>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view={Lazy::<pages::ForgotPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/reset-password/:token") view={Lazy::<pages::ResetPassword>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/accounts") view={Lazy::<pages::OperatorAccounts>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/sign-in") view={Lazy::<pages::OperatorSignIn>::new()} ssr=SsrMode::Async />
                    <Route path=StaticSegment("operator") view={Lazy::<pages::Operator>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/applications") view={Lazy::<pages::OperatorApplications>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/applications/:id") view={Lazy::<pages::OperatorApplication>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/workspaces") view={Lazy::<pages::OperatorWorkspaces>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/workspaces/:id") view={Lazy::<pages::OperatorWorkspace>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/change-requests") view={Lazy::<pages::OperatorChangeRequests>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/outbox") view={Lazy::<pages::OperatorOutbox>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/outbox/:id") view={Lazy::<pages::OperatorOutboxMessage>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operator/audit") view={Lazy::<pages::OperatorAudit>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/workspaces") view={Lazy::<pages::Workspaces>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/workspaces/apply") view={Lazy::<pages::ApplyWorkspace>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name") view={Lazy::<pages::WorkspaceHome>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/members") view={Lazy::<pages::Members>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/apps") view={Lazy::<pages::Apps>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/mini-programs") view={Lazy::<pages::MiniPrograms>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/mini-programs/:id") view={Lazy::<pages::MiniProgram>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/apps/:id") view={Lazy::<pages::WorkspaceApp>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/webhooks") view={Lazy::<pages::Webhooks>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/webhooks/:id") view={Lazy::<pages::WorkspaceWebhook>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/invitations/:token") view={Lazy::<pages::Invitation>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/general") view={Lazy::<pages::General>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/audit") view={Lazy::<pages::WorkspaceAudit>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/approvals") view={Lazy::<pages::Approvals>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/approvals/:id") view={Lazy::<pages::WorkspaceApplication>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/requests") view={Lazy::<pages::MyRequests>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view={Lazy::<pages::Notifications>::new()} ssr=SsrMode::Async />
                </Routes>
            </main>
            <kit::ToastRegion />
        </Router>
    }
}
