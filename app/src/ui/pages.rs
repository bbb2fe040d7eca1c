//! The pages loaded on demand. Each is a lazy route: with `cargo leptos --split` its code (and
//! whatever only it uses) goes into a WASM chunk of its own, which the browser fetches when the
//! page is first shown: on a direct visit before the page hydrates, on a navigation before it
//! renders. The server renders them like any other page. The home and login pages, the frame
//! (top bar, banner, toasts) and what they use stay in the main WASM.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use super::{account, email_links, kit, operator, requests, sign_up, workspaces};

/// `/sign-up`
pub struct SignUp;

#[lazy_route]
impl LazyRoute for SignUp {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <sign_up::SignUpPage /> }.into_any()
    }
}

/// `/confirm/{kind}`
pub struct Confirm;

#[lazy_route]
impl LazyRoute for Confirm {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <kit::dialog::ConfirmPage /> }.into_any()
    }
}

/// `/account`
pub struct Account;

#[lazy_route]
impl LazyRoute for Account {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <account::AccountPage /> }.into_any()
    }
}

/// `/verify-email/{token}`
pub struct VerifyEmail;

#[lazy_route]
impl LazyRoute for VerifyEmail {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <email_links::VerifyEmailPage /> }.into_any()
    }
}

/// `/forgot-password`
pub struct ForgotPassword;

#[lazy_route]
impl LazyRoute for ForgotPassword {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <email_links::ForgotPasswordPage /> }.into_any()
    }
}

/// `/reset-password/{token}`
pub struct ResetPassword;

#[lazy_route]
impl LazyRoute for ResetPassword {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <email_links::ResetPasswordPage /> }.into_any()
    }
}

/// `/operator/accounts`
pub struct OperatorAccounts;

#[lazy_route]
impl LazyRoute for OperatorAccounts {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::accounts::AccountsPage /> }.into_any()
    }
}

/// `/operator`
pub struct Operator;

#[lazy_route]
impl LazyRoute for Operator {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::OperatorPage /> }.into_any()
    }
}

/// `/operator/applications`
pub struct OperatorApplications;

#[lazy_route]
impl LazyRoute for OperatorApplications {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::applications::ApplicationsPage /> }.into_any()
    }
}

/// `/operator/applications/{id}`
pub struct OperatorApplication;

#[lazy_route]
impl LazyRoute for OperatorApplication {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::application::ApplicationPage /> }.into_any()
    }
}

/// `/operator/workspaces`
pub struct OperatorWorkspaces;

#[lazy_route]
impl LazyRoute for OperatorWorkspaces {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::workspaces::WorkspacesAdminPage /> }.into_any()
    }
}

/// `/operator/workspaces/{id}`
pub struct OperatorWorkspace;

#[lazy_route]
impl LazyRoute for OperatorWorkspace {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::workspace::WorkspaceAdminPage /> }.into_any()
    }
}

/// `/operator/change-requests`
pub struct OperatorChangeRequests;

#[lazy_route]
impl LazyRoute for OperatorChangeRequests {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::change_requests::ChangeRequestsPage /> }.into_any()
    }
}

/// `/operator/outbox`
pub struct OperatorOutbox;

#[lazy_route]
impl LazyRoute for OperatorOutbox {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::outbox::OutboxPage /> }.into_any()
    }
}

/// `/operator/outbox/{id}`
pub struct OperatorOutboxMessage;

#[lazy_route]
impl LazyRoute for OperatorOutboxMessage {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::outbox::OutboxMessagePage /> }.into_any()
    }
}

/// `/operator/audit`
pub struct OperatorAudit;

#[lazy_route]
impl LazyRoute for OperatorAudit {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <operator::audit::PlatformAuditPage /> }.into_any()
    }
}

/// `/workspaces`
pub struct Workspaces;

#[lazy_route]
impl LazyRoute for Workspaces {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::list::WorkspacesPage /> }.into_any()
    }
}

/// `/workspaces/apply`
pub struct ApplyWorkspace;

#[lazy_route]
impl LazyRoute for ApplyWorkspace {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::apply::ApplyPage /> }.into_any()
    }
}

/// `/w/{name}`
pub struct WorkspaceHome;

#[lazy_route]
impl LazyRoute for WorkspaceHome {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::home::WorkspaceHomePage /> }.into_any()
    }
}

/// `/w/{name}/members`
pub struct Members;

#[lazy_route]
impl LazyRoute for Members {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::members::MembersPage /> }.into_any()
    }
}

/// `/w/{name}/apps`
pub struct Apps;

#[lazy_route]
impl LazyRoute for Apps {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::apps::AppsPage /> }.into_any()
    }
}

/// `/w/{name}/mini-programs`
pub struct MiniPrograms;

#[lazy_route]
impl LazyRoute for MiniPrograms {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::minis::MiniProgramsPage /> }.into_any()
    }
}

/// `/w/{name}/mini-programs/{id}`
pub struct MiniProgram;

#[lazy_route]
impl LazyRoute for MiniProgram {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::minis::MiniProgramPage /> }.into_any()
    }
}

/// `/w/{name}/apps/{id}`
pub struct WorkspaceApp;

#[lazy_route]
impl LazyRoute for WorkspaceApp {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::apps::AppPage /> }.into_any()
    }
}

/// `/invitations/{token}`
pub struct Invitation;

#[lazy_route]
impl LazyRoute for Invitation {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::invitation::InvitationPage /> }.into_any()
    }
}

/// `/w/{name}/general`
pub struct General;

#[lazy_route]
impl LazyRoute for General {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::general::GeneralPage /> }.into_any()
    }
}

/// `/w/{name}/audit`
pub struct WorkspaceAudit;

#[lazy_route]
impl LazyRoute for WorkspaceAudit {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::audit::WorkspaceAuditPage /> }.into_any()
    }
}

/// `/w/{name}/approvals`
pub struct Approvals;

#[lazy_route]
impl LazyRoute for Approvals {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::approvals::ApprovalsPage /> }.into_any()
    }
}

/// `/w/{name}/approvals/{id}`
pub struct WorkspaceApplication;

#[lazy_route]
impl LazyRoute for WorkspaceApplication {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <workspaces::approvals::ApplicationPage /> }.into_any()
    }
}

/// `/requests`
pub struct MyRequests;

#[lazy_route]
impl LazyRoute for MyRequests {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <requests::MyRequestsPage /> }.into_any()
    }
}

/// `/notifications`
pub struct Notifications;

#[lazy_route]
impl LazyRoute for Notifications {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <requests::NotificationsPage /> }.into_any()
    }
}
