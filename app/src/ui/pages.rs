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
    /// The home page (the login form for visitors, the dashboard for the signed-in) and the login page.
    HomePage, home_pages, __preload_home_pages:
    /// `/`
    Home: Home => view! { <home::HomePage /> },
    /// `/login`
    Login: Login => view! { <home::LoginPage /> },
    /// `/login/code`
    LoginCode: LoginCode => view! { <home::LoginCodePage /> },
}

lazy_area! {
    /// The pages of a person's own account and the links sent by email (signing up, verifying the
    /// address, resetting the password) and the confirmation page without JavaScript.
    AccountPage, account_pages, __preload_account_pages:
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
}

lazy_area! {
    /// The pages of the operator area.
    OperatorPage, operator_pages, __preload_operator_pages:
    /// `/operator`
    Operator: Overview => view! { <operator::OperatorPage /> },
    /// `/operator/accounts`
    OperatorAccounts: Accounts => view! { <operator::accounts::AccountsPage /> },
    /// `/operator/sign-in`
    OperatorSignIn: SignIn => view! { <operator::sign_in::SignInPage /> },
    /// `/operator/applications`
    OperatorApplications: Applications => view! { <operator::applications::ApplicationsPage /> },
    /// `/operator/applications/{id}`
    OperatorApplication: Application => view! { <operator::application::ApplicationPage /> },
    /// `/operator/workspaces`
    OperatorWorkspaces: Workspaces => view! { <operator::workspaces::WorkspacesAdminPage /> },
    /// `/operator/workspaces/{id}`
    OperatorWorkspace: Workspace => view! { <operator::workspace::WorkspaceAdminPage /> },
    /// `/operator/change-requests`
    OperatorChangeRequests: ChangeRequests => view! { <operator::change_requests::ChangeRequestsPage /> },
    /// `/operator/outbox`
    OperatorOutbox: Outbox => view! { <operator::outbox::OutboxPage /> },
    /// `/operator/outbox/{id}`
    OperatorOutboxMessage: OutboxMessage => view! { <operator::outbox::OutboxMessagePage /> },
    /// `/operator/audit`
    OperatorAudit: Audit => view! { <operator::audit::PlatformAuditPage /> },
}

lazy_area! {
    /// The pages of a person's workspaces, applications, invitations and notifications.
    MyPage, mine_pages, __preload_mine_pages:
    /// `/workspaces`
    Workspaces: Workspaces => view! { <workspaces::list::WorkspacesPage /> },
    /// `/workspaces/apply`
    ApplyWorkspace: Apply => view! { <workspaces::apply::ApplyPage /> },
    /// `/invitations/{token}`
    Invitation: Invitation => view! { <workspaces::invitation::InvitationPage /> },
    /// `/requests`
    MyRequests: Requests => view! { <requests::MyRequestsPage /> },
    /// `/notifications`
    Notifications: Notifications => view! { <requests::NotificationsPage /> },
}

lazy_area! {
    /// The pages of a workspace's overview, General settings and audit log.
    WorkspacePage, workspace_pages, __preload_workspace_pages:
    /// `/w/{name}`
    WorkspaceHome: Overview => view! { <workspaces::home::WorkspaceHomePage /> },
    /// `/w/{name}/general`
    General: General => view! { <workspaces::general::GeneralPage /> },
    /// `/w/{name}/audit`
    WorkspaceAudit: Audit => view! { <workspaces::audit::WorkspaceAuditPage /> },
}

lazy_area! {
    /// The pages of a workspace's members.
    MembersPage, members_pages, __preload_members_pages:
    /// `/w/{name}/members`
    Members: Members => view! { <workspaces::members::MembersPage /> },
}

lazy_area! {
    /// The pages of App Manage.
    AppsPage, apps_pages, __preload_apps_pages:
    /// `/w/{name}/apps`
    Apps: List => view! { <workspaces::apps::AppsPage /> },
    /// `/w/{name}/apps/{id}`
    WorkspaceApp: App => view! { <workspaces::apps::AppPage /> },
}

lazy_area! {
    /// The pages of Webhooks.
    WebhooksPage, webhooks_pages, __preload_webhooks_pages:
    /// `/w/{name}/webhooks`
    Webhooks: List => view! { <workspaces::webhooks::WebhooksPage /> },
    /// `/w/{name}/webhooks/{id}`
    WorkspaceWebhook: Webhook => view! { <workspaces::webhooks::WebhookPage /> },
}

lazy_area! {
    /// The pages of Mini Programs.
    MinisPage, minis_pages, __preload_minis_pages:
    /// `/w/{name}/mini-programs`
    MiniPrograms: List => view! { <workspaces::minis::MiniProgramsPage /> },
    /// `/w/{name}/mini-programs/{id}`
    MiniProgram: MiniProgram => view! { <workspaces::minis::MiniProgramPage /> },
}

lazy_area! {
    /// The pages of a workspace's approvals.
    ApprovalsPage, approvals_pages, __preload_approvals_pages:
    /// `/w/{name}/approvals`
    Approvals: List => view! { <workspaces::approvals::ApprovalsPage /> },
    /// `/w/{name}/approvals/{id}`
    WorkspaceApplication: Application => view! { <workspaces::approvals::ApplicationPage /> },
}
