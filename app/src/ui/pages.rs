//! The pages loaded on demand, as lazy routes. With `cargo leptos --split` the code of each area
//! below (and whatever only it uses) goes into WASM chunks of its own, which the browser fetches
//! when a page of the area is first shown: on a direct visit before the page hydrates, on a
//! navigation before it renders. Code that areas share goes into chunks of its own. The server
//! renders these pages like any other. Only the frame (top bar, banner, toasts, the page for
//! addresses that lead nowhere) and what it uses stay in the main WASM, which every page needs.
//!
//! One lazy function per area rather than per page: a chunk per page meant hundreds of small
//! chunk files, dozens of them to fetch for one page.

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
                #[cfg(feature = "ssr")]
                preload_chunks(stringify!($area));
                $area($page).await
            }

            async fn preload() {
                #[cfg(feature = "hydrate")]
                $preload().await;
            }
        }
    };
}

/// For the server: the chunk files of each lazy function, from the split manifest of the front
/// end it serves (provided as context when that was built with WASM splitting).
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct SplitChunks {
    /// Where the front end's files are served: `/pkg/<build id>`.
    pub pkg: String,
    /// The chunk loader, which the main JS imports.
    pub loader: String,
    /// The chunk files (without `.wasm`) that each lazy function needs, by the function's name
    /// in the manifest (its name, `_`, a number).
    pub chunks: std::sync::Arc<std::collections::HashMap<String, Vec<String>>>,
}

#[cfg(feature = "ssr")]
impl SplitChunks {
    fn of(&self, function: &str) -> &[String] {
        self.chunks
            .iter()
            .find(|(name, _)| {
                name.strip_prefix(function)
                    .and_then(|rest| rest.strip_prefix('_'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
            .map(|(_, files)| files.as_slice())
            .unwrap_or_default()
    }
}

/// Adds `<link rel="preload">` to the page's head for the chunks of an area's lazy function, so
/// that the browser fetches them along with the main WASM rather than after it.
#[cfg(feature = "ssr")]
fn preload_chunks(function: &str) {
    use leptos_meta::Link;

    let Some(split) = use_context::<SplitChunks>() else {
        return;
    };
    for file in split.of(function) {
        // Registers the link with the page's head; renders nothing in the body.
        let href = format!("{}/{file}.wasm", split.pkg);
        let _ = view! { <Link rel="preload" href as_="fetch" type_="application/wasm" crossorigin="anonymous" /> }.to_html();
    }
}

/// The home page (the login form for visitors, the dashboard for the signed-in) and the login page.
#[derive(Clone, Copy)]
pub enum HomePage {
    Home,
    Login,
}

#[lazy]
fn home_pages(page: HomePage) -> AnyView {
    match page {
        HomePage::Home => view! { <home::HomePage /> }.into_any(),
        HomePage::Login => view! { <home::LoginPage /> }.into_any(),
    }
}

page_route!(
    /// `/`
    Home => home_pages(HomePage::Home), __preload_home_pages
);

page_route!(
    /// `/login`
    Login => home_pages(HomePage::Login), __preload_home_pages
);

/// The pages of a person's own account and the links sent by email (signing up, verifying the
/// address, resetting the password) and the confirmation page without JavaScript.
#[derive(Clone, Copy)]
pub enum AccountPage {
    SignUp,
    VerifyEmail,
    ForgotPassword,
    ResetPassword,
    Account,
    Confirm,
}

#[lazy]
fn account_pages(page: AccountPage) -> AnyView {
    match page {
        AccountPage::SignUp => view! { <sign_up::SignUpPage /> }.into_any(),
        AccountPage::VerifyEmail => view! { <email_links::VerifyEmailPage /> }.into_any(),
        AccountPage::ForgotPassword => view! { <email_links::ForgotPasswordPage /> }.into_any(),
        AccountPage::ResetPassword => view! { <email_links::ResetPasswordPage /> }.into_any(),
        AccountPage::Account => view! { <account::AccountPage /> }.into_any(),
        AccountPage::Confirm => view! { <kit::dialog::ConfirmPage /> }.into_any(),
    }
}

page_route!(
    /// `/sign-up`
    SignUp => account_pages(AccountPage::SignUp), __preload_account_pages
);

page_route!(
    /// `/verify-email/{token}`
    VerifyEmail => account_pages(AccountPage::VerifyEmail), __preload_account_pages
);

page_route!(
    /// `/forgot-password`
    ForgotPassword => account_pages(AccountPage::ForgotPassword), __preload_account_pages
);

page_route!(
    /// `/reset-password/{token}`
    ResetPassword => account_pages(AccountPage::ResetPassword), __preload_account_pages
);

page_route!(
    /// `/account`
    Account => account_pages(AccountPage::Account), __preload_account_pages
);

page_route!(
    /// `/confirm/{kind}`
    Confirm => account_pages(AccountPage::Confirm), __preload_account_pages
);

/// The pages of the operator area.
#[derive(Clone, Copy)]
pub enum OperatorPage {
    Overview,
    Accounts,
    Applications,
    Application,
    Workspaces,
    Workspace,
    ChangeRequests,
    Outbox,
    OutboxMessage,
    Audit,
}

#[lazy]
fn operator_pages(page: OperatorPage) -> AnyView {
    match page {
        OperatorPage::Overview => view! { <operator::OperatorPage /> }.into_any(),
        OperatorPage::Accounts => view! { <operator::accounts::AccountsPage /> }.into_any(),
        OperatorPage::Applications => view! { <operator::applications::ApplicationsPage /> }.into_any(),
        OperatorPage::Application => view! { <operator::application::ApplicationPage /> }.into_any(),
        OperatorPage::Workspaces => view! { <operator::workspaces::WorkspacesAdminPage /> }.into_any(),
        OperatorPage::Workspace => view! { <operator::workspace::WorkspaceAdminPage /> }.into_any(),
        OperatorPage::ChangeRequests => view! { <operator::change_requests::ChangeRequestsPage /> }.into_any(),
        OperatorPage::Outbox => view! { <operator::outbox::OutboxPage /> }.into_any(),
        OperatorPage::OutboxMessage => view! { <operator::outbox::OutboxMessagePage /> }.into_any(),
        OperatorPage::Audit => view! { <operator::audit::PlatformAuditPage /> }.into_any(),
    }
}

page_route!(
    /// `/operator`
    Operator => operator_pages(OperatorPage::Overview), __preload_operator_pages
);

page_route!(
    /// `/operator/accounts`
    OperatorAccounts => operator_pages(OperatorPage::Accounts), __preload_operator_pages
);

page_route!(
    /// `/operator/applications`
    OperatorApplications => operator_pages(OperatorPage::Applications), __preload_operator_pages
);

page_route!(
    /// `/operator/applications/{id}`
    OperatorApplication => operator_pages(OperatorPage::Application), __preload_operator_pages
);

page_route!(
    /// `/operator/workspaces`
    OperatorWorkspaces => operator_pages(OperatorPage::Workspaces), __preload_operator_pages
);

page_route!(
    /// `/operator/workspaces/{id}`
    OperatorWorkspace => operator_pages(OperatorPage::Workspace), __preload_operator_pages
);

page_route!(
    /// `/operator/change-requests`
    OperatorChangeRequests => operator_pages(OperatorPage::ChangeRequests), __preload_operator_pages
);

page_route!(
    /// `/operator/outbox`
    OperatorOutbox => operator_pages(OperatorPage::Outbox), __preload_operator_pages
);

page_route!(
    /// `/operator/outbox/{id}`
    OperatorOutboxMessage => operator_pages(OperatorPage::OutboxMessage), __preload_operator_pages
);

page_route!(
    /// `/operator/audit`
    OperatorAudit => operator_pages(OperatorPage::Audit), __preload_operator_pages
);

/// The pages of a person's workspaces, applications, invitations and notifications.
#[derive(Clone, Copy)]
pub enum MyPage {
    Workspaces,
    Apply,
    Invitation,
    Requests,
    Notifications,
}

#[lazy]
fn mine_pages(page: MyPage) -> AnyView {
    match page {
        MyPage::Workspaces => view! { <workspaces::list::WorkspacesPage /> }.into_any(),
        MyPage::Apply => view! { <workspaces::apply::ApplyPage /> }.into_any(),
        MyPage::Invitation => view! { <workspaces::invitation::InvitationPage /> }.into_any(),
        MyPage::Requests => view! { <requests::MyRequestsPage /> }.into_any(),
        MyPage::Notifications => view! { <requests::NotificationsPage /> }.into_any(),
    }
}

page_route!(
    /// `/workspaces`
    Workspaces => mine_pages(MyPage::Workspaces), __preload_mine_pages
);

page_route!(
    /// `/workspaces/apply`
    ApplyWorkspace => mine_pages(MyPage::Apply), __preload_mine_pages
);

page_route!(
    /// `/invitations/{token}`
    Invitation => mine_pages(MyPage::Invitation), __preload_mine_pages
);

page_route!(
    /// `/requests`
    MyRequests => mine_pages(MyPage::Requests), __preload_mine_pages
);

page_route!(
    /// `/notifications`
    Notifications => mine_pages(MyPage::Notifications), __preload_mine_pages
);

/// The pages of a workspace's overview, General settings and audit log.
#[derive(Clone, Copy)]
pub enum WorkspacePage {
    Overview,
    General,
    Audit,
}

#[lazy]
fn workspace_pages(page: WorkspacePage) -> AnyView {
    match page {
        WorkspacePage::Overview => view! { <workspaces::home::WorkspaceHomePage /> }.into_any(),
        WorkspacePage::General => view! { <workspaces::general::GeneralPage /> }.into_any(),
        WorkspacePage::Audit => view! { <workspaces::audit::WorkspaceAuditPage /> }.into_any(),
    }
}

page_route!(
    /// `/w/{name}`
    WorkspaceHome => workspace_pages(WorkspacePage::Overview), __preload_workspace_pages
);

page_route!(
    /// `/w/{name}/general`
    General => workspace_pages(WorkspacePage::General), __preload_workspace_pages
);

page_route!(
    /// `/w/{name}/audit`
    WorkspaceAudit => workspace_pages(WorkspacePage::Audit), __preload_workspace_pages
);

/// The pages of a workspace's members.
#[derive(Clone, Copy)]
pub enum MembersPage {
    Members,
}

#[lazy]
fn members_pages(page: MembersPage) -> AnyView {
    match page {
        MembersPage::Members => view! { <workspaces::members::MembersPage /> }.into_any(),
    }
}

page_route!(
    /// `/w/{name}/members`
    Members => members_pages(MembersPage::Members), __preload_members_pages
);

/// The pages of App Manage.
#[derive(Clone, Copy)]
pub enum AppsPage {
    List,
    App,
}

#[lazy]
fn apps_pages(page: AppsPage) -> AnyView {
    match page {
        AppsPage::List => view! { <workspaces::apps::AppsPage /> }.into_any(),
        AppsPage::App => view! { <workspaces::apps::AppPage /> }.into_any(),
    }
}

page_route!(
    /// `/w/{name}/apps`
    Apps => apps_pages(AppsPage::List), __preload_apps_pages
);

page_route!(
    /// `/w/{name}/apps/{id}`
    WorkspaceApp => apps_pages(AppsPage::App), __preload_apps_pages
);

/// The pages of Mini Programs.
#[derive(Clone, Copy)]
pub enum MinisPage {
    List,
    MiniProgram,
}

#[lazy]
fn minis_pages(page: MinisPage) -> AnyView {
    match page {
        MinisPage::List => view! { <workspaces::minis::MiniProgramsPage /> }.into_any(),
        MinisPage::MiniProgram => view! { <workspaces::minis::MiniProgramPage /> }.into_any(),
    }
}

page_route!(
    /// `/w/{name}/mini-programs`
    MiniPrograms => minis_pages(MinisPage::List), __preload_minis_pages
);

page_route!(
    /// `/w/{name}/mini-programs/{id}`
    MiniProgram => minis_pages(MinisPage::MiniProgram), __preload_minis_pages
);

/// The pages of a workspace's approvals.
#[derive(Clone, Copy)]
pub enum ApprovalsPage {
    List,
    Application,
}

#[lazy]
fn approvals_pages(page: ApprovalsPage) -> AnyView {
    match page {
        ApprovalsPage::List => view! { <workspaces::approvals::ApprovalsPage /> }.into_any(),
        ApprovalsPage::Application => view! { <workspaces::approvals::ApplicationPage /> }.into_any(),
    }
}

page_route!(
    /// `/w/{name}/approvals`
    Approvals => approvals_pages(ApprovalsPage::List), __preload_approvals_pages
);

page_route!(
    /// `/w/{name}/approvals/{id}`
    WorkspaceApplication => approvals_pages(ApprovalsPage::Application), __preload_approvals_pages
);
