//! Pages and components, one page per file.

pub mod account;
pub mod audit_table;
pub mod email_links;
pub mod home;
pub mod kit;
pub mod layout;
pub mod not_found;
pub mod operator;
pub mod requests;
pub mod sign_up;
pub mod workspaces;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode, StaticSegment};

use crate::api::account::{
    current_account, ChangePassword, LogIn, LogOut, ResetPassword, SignUp, VerifyEmail,
};
use crate::model::account::AccountView;
use crate::model::AppError;

/// The HTML document around the app (server only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let css = format!("/{}/mpdp.css", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href=css />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Who is signed in, and the actions that change it, shared by every page.
#[derive(Clone, Copy)]
pub struct Auth {
    pub log_in: ServerAction<LogIn>,
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
    let log_out = ServerAction::<LogOut>::new();
    let sign_up = ServerAction::<SignUp>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let verify_email = ServerAction::<VerifyEmail>::new();
    let reset_password = ServerAction::<ResetPassword>::new();
    let who_changed = move || {
        (
            log_in.version().get(),
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
        log_out,
        sign_up,
        change_password,
        verify_email,
        reset_password,
        me,
        workspaces,
    });
    kit::Toasts::provide();
    // Effects run only in the browser: this marks the page as interactive (tests wait for it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|page: String| if page.is_empty() { "MPDP".to_string() } else { format!("{page} · MPDP") } />
        <Meta name="description" content="MPDP — Mini Program Development Platform console" />
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <layout::TopBar />
            <layout::VerifyBanner />
            <main id="main" class="main">
                <Routes fallback=not_found::NotFound>
                    <Route path=StaticSegment("") view=home::HomePage ssr=SsrMode::Async />
                    <Route path=StaticSegment("sign-up") view=sign_up::SignUpPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("login") view=home::LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/confirm/:kind") view=kit::dialog::ConfirmPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("account") view=account::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/verify-email/:token") view=email_links::VerifyEmailPage ssr=SsrMode::Async />
                    <Route path=path!("/forgot-password") view=email_links::ForgotPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/reset-password/:token") view=email_links::ResetPasswordPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/accounts") view=operator::accounts::AccountsPage ssr=SsrMode::Async />
                    <Route path=StaticSegment("operator") view=operator::OperatorPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/applications") view=operator::applications::ApplicationsPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/applications/:id") view=operator::application::ApplicationPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/workspaces") view=operator::workspaces::WorkspacesAdminPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/workspaces/:id") view=operator::workspace::WorkspaceAdminPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/change-requests") view=operator::change_requests::ChangeRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/outbox") view=operator::outbox::OutboxPage ssr=SsrMode::Async />
                    <Route path=path!("/operator/outbox/:id") view=operator::outbox::OutboxMessagePage ssr=SsrMode::Async />
                    <Route path=path!("/operator/audit") view=operator::audit::PlatformAuditPage ssr=SsrMode::Async />
                    <Route path=path!("/workspaces") view=workspaces::list::WorkspacesPage ssr=SsrMode::Async />
                    <Route path=path!("/workspaces/apply") view=workspaces::apply::ApplyPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name") view=workspaces::home::WorkspaceHomePage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/members") view=workspaces::members::MembersPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/apps") view=workspaces::apps::AppsPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/mini-programs") view=workspaces::minis::MiniProgramsPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/mini-programs/:id") view=workspaces::minis::MiniProgramPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/apps/:id") view=workspaces::apps::AppPage ssr=SsrMode::Async />
                    <Route path=path!("/invitations/:token") view=workspaces::invitation::InvitationPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/general") view=workspaces::general::GeneralPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/audit") view=workspaces::audit::WorkspaceAuditPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/approvals") view=workspaces::approvals::ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("/w/:name/approvals/:id") view=workspaces::approvals::ApplicationPage ssr=SsrMode::Async />
                    <Route path=path!("/requests") view=requests::MyRequestsPage ssr=SsrMode::Async />
                    <Route path=path!("/notifications") view=requests::NotificationsPage ssr=SsrMode::Async />
                </Routes>
            </main>
            <kit::ToastRegion />
        </Router>
    }
}
