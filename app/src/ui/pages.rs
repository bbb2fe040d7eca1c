//! The pages loaded on demand, as lazy routes. With `cargo leptos --split` the code of each area
//! below (and whatever only it uses) goes into a WASM chunk of its own, which the browser fetches
//! when a page of the area is first shown: on a direct visit as the page hydrates, on a
//! navigation before it renders. Code that areas share goes into chunks of its own, one for each
//! set of areas that shares it. The server renders these pages like any other. Only the frame
//! (top bar, banner, toasts, the page for addresses that lead nowhere) and what it uses stay in
//! the main WASM, which every page needs.
//!
//! Three areas, so that a first page fetches at most five WASM files: the main one, its area's,
//! and the chunks its area shares with one or both of the others. A lazy function per page (or
//! per group of pages) meant hundreds of chunk files, dozens of them for one page.

use leptos::prelude::*;
use leptos_router::LazyRoute;

use super::{account, email_links, home, kit, operator, requests, sign_up, workspaces};

/// A lazy route: `$route` shows the page `$page` of an area through the area's lazy function
/// `$area`; `$preload` (made by `#[lazy]`) fetches the area's chunks as a navigation starts.
macro_rules! page_route {
    ($(#[$doc:meta])* $route:ident => $area:ident($page:expr), $preload:ident) => {
        $(#[$doc])*
        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                $area($page).await
            }

            async fn preload() {
                #[cfg(feature = "hydrate")]
                $preload().await;
            }
        }
    };
}

/// An area of lazy routes: the enum `$pages` of its pages, its lazy function `$area` that shows
/// each (`$preload`, made by `#[lazy]`, fetches its chunks), and a route per page (`page_route!`).
macro_rules! lazy_area {
    (
        $(#[$doc:meta])*
        $pages:ident, $area:ident, $preload:ident:
        $($(#[$route_doc:meta])* $route:ident: $page:ident => $view:expr,)+
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub enum $pages {
            $($page,)+
        }

        #[lazy]
        fn $area(page: $pages) -> AnyView {
            match page {
                $($pages::$page => $view.into_any(),)+
            }
        }

        $(page_route!($(#[$route_doc])* $route => $area($pages::$page), $preload);)+
    };
}

lazy_area! {
    /// The pages outside workspaces and the operator area: the home page (the login form for
    /// visitors, the dashboard for the signed-in), logging in and signing up, the links sent by
    /// email, a person's own account, workspaces, applications, invitations and notifications,
    /// and the confirmation page without JavaScript.
    PublicPage, public_pages, __preload_public_pages:
    /// `/`
    Home: Home => view! { <home::HomePage /> },
    /// `/login`
    Login: Login => view! { <home::LoginPage /> },
    /// `/login/code`
    LoginCode: LoginCode => view! { <home::LoginCodePage /> },
    /// `/sign-up`
    SignUp: SignUp => view! { <sign_up::SignUpPage /> },
    /// `/verify-email/{token}`
    VerifyEmail: VerifyEmail => view! { <email_links::VerifyEmailPage /> },
    /// `/forgot-password`
    ForgotPassword: ForgotPassword => view! { <email_links::ForgotPasswordPage /> },
    /// `/reset-password/{token}`
    ResetPassword: ResetPassword => view! { <email_links::ResetPasswordPage /> },
    /// `/account`
    Account: Account => view! { <account::AccountPage /> },
    /// `/device`
    Device: Device => view! { <account::DevicePage /> },
    /// `/confirm/{kind}`
    Confirm: Confirm => view! { <kit::dialog::ConfirmPage /> },
    /// `/workspaces`
    Workspaces: Workspaces => view! { <workspaces::list::WorkspacesPage /> },
    /// `/workspaces/apply`
    ApplyWorkspace: ApplyWorkspace => view! { <workspaces::apply::ApplyPage /> },
    /// `/invitations/{token}`
    Invitation: Invitation => view! { <workspaces::invitation::InvitationPage /> },
    /// `/requests`
    MyRequests: MyRequests => view! { <requests::MyRequestsPage /> },
    /// `/notifications`
    Notifications: Notifications => view! { <requests::NotificationsPage /> },
}

lazy_area! {
    /// The pages of a workspace: its overview, General settings and audit log, members, App Manage,
    /// Webhooks, Mini Programs and approvals.
    WorkspacePage, workspace_pages, __preload_workspace_pages:
    /// `/w/{name}`
    WorkspaceHome: WorkspaceHome => view! { <workspaces::home::WorkspaceHomePage /> },
    /// `/w/{name}/general`
    General: General => view! { <workspaces::general::GeneralPage /> },
    /// `/w/{name}/audit`
    WorkspaceAudit: WorkspaceAudit => view! { <workspaces::audit::WorkspaceAuditPage /> },
    /// `/w/{name}/members`
    Members: Members => view! { <workspaces::members::MembersPage /> },
    /// `/w/{name}/apps`
    Apps: Apps => view! { <workspaces::apps::AppsPage /> },
    /// `/w/{name}/apps/{id}`
    WorkspaceApp: WorkspaceApp => view! { <workspaces::apps::AppPage /> },
    /// `/w/{name}/webhooks`
    Webhooks: Webhooks => view! { <workspaces::webhooks::WebhooksPage /> },
    /// `/w/{name}/webhooks/{id}`
    WorkspaceWebhook: WorkspaceWebhook => view! { <workspaces::webhooks::WebhookPage /> },
    /// `/w/{name}/mini-programs`
    MiniPrograms: MiniPrograms => view! { <workspaces::minis::MiniProgramsPage /> },
    /// `/w/{name}/mini-programs/{id}`
    MiniProgram: MiniProgram => view! { <workspaces::minis::MiniProgramPage /> },
    /// `/w/{name}/approvals`
    Approvals: Approvals => view! { <workspaces::approvals::ApprovalsPage /> },
    /// `/w/{name}/approvals/{id}`
    WorkspaceApplication: WorkspaceApplication => view! { <workspaces::approvals::ApplicationPage /> },
}

lazy_area! {
    /// The pages of the operator area.
    OperatorPage, operator_pages, __preload_operator_pages:
    /// `/operator`
    Operator: Operator => view! { <operator::OperatorPage /> },
    /// `/operator/accounts`
    OperatorAccounts: OperatorAccounts => view! { <operator::accounts::AccountsPage /> },
    /// `/operator/sign-in`
    OperatorSignIn: OperatorSignIn => view! { <operator::sign_in::SignInPage /> },
    /// `/operator/applications`
    OperatorApplications: OperatorApplications => view! { <operator::applications::ApplicationsPage /> },
    /// `/operator/applications/{id}`
    OperatorApplication: OperatorApplication => view! { <operator::application::ApplicationPage /> },
    /// `/operator/workspaces`
    OperatorWorkspaces: OperatorWorkspaces => view! { <operator::workspaces::WorkspacesAdminPage /> },
    /// `/operator/workspaces/{id}`
    OperatorWorkspace: OperatorWorkspace => view! { <operator::workspace::WorkspaceAdminPage /> },
    /// `/operator/change-requests`
    OperatorChangeRequests: OperatorChangeRequests => view! { <operator::change_requests::ChangeRequestsPage /> },
    /// `/operator/outbox`
    OperatorOutbox: OperatorOutbox => view! { <operator::outbox::OutboxPage /> },
    /// `/operator/outbox/{id}`
    OperatorOutboxMessage: OperatorOutboxMessage => view! { <operator::outbox::OutboxMessagePage /> },
    /// `/operator/audit`
    OperatorAudit: OperatorAudit => view! { <operator::audit::PlatformAuditPage /> },
}
