//! The one authorization table: which workspace role may do which action. Shared with the
//! browser, which uses it only to hide what a role can't open; the server decides. Every server function
//! that touches a workspace goes through `Member::authorize`, which consults this table (and
//! refuses blocked members and, for changes, suspended workspaces). Platform operator actions
//! are guarded by `Operator`.

use crate::model::approvals::Category;
use crate::model::minis::MiniRole;
use crate::model::workspace::Role;

/// Declares the workspace actions once: the enum the table is written over, the list of all of
/// them, and one type per action ([`act`]) for the guard that proves it (`Authorized<act::X>`).
macro_rules! workspace_actions {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Everything a member can try to do in a workspace.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum WorkspaceAction {
            $($(#[$doc])* $name,)*
        }

        impl WorkspaceAction {
            /// Every action, in declaration order.
            pub const ALL: &'static [WorkspaceAction] = &[$(WorkspaceAction::$name),*];
        }

        /// One type per [`WorkspaceAction`]: a guard names the action it proved with one of them,
        /// and a use case names the one it needs.
        pub mod act {
            $(
                #[doc = concat!("The action [`super::WorkspaceAction::", stringify!($name), "`].")]
                #[derive(Debug, Clone, Copy)]
                pub struct $name;
                impl super::Action for $name {
                    const ACTION: super::WorkspaceAction = super::WorkspaceAction::$name;
                }
            )*
        }
    };
}

/// An action as a type (see [`act`]).
pub trait Action: Copy + Send + Sync + 'static {
    const ACTION: WorkspaceAction;
}

workspace_actions! {
    /// The workspace's home page: name, status, your role.
    ViewWorkspace,
    ViewGeneral,
    RequestInfoChange,
    ViewAudit,
    ViewMembers,
    InviteMembers,
    ChangeRoles,
    BlockMembers,
    RemoveMembers,
    /// Leaving is allowed to every member (the last admin is refused by the domain rule).
    Leave,
    /// The mini programs (a Workspace Developer sees those assigned to them).
    ViewMiniPrograms,
    /// Creating a mini program (its creator becomes its admin).
    CreateMiniPrograms,
    /// Assigning members to a mini program, and editing it (further limited to its admins and
    /// Workspace Admins).
    AssignMiniPrograms,
    /// Uploading a version from the browser (further limited to those assigned to the mini
    /// program, and Workspace Admins).
    UploadVersions,
    /// Retiring a version that was uploaded and never released.
    RetireVersions,
    /// App Manage: the workspace's host apps and their keys.
    ViewApps,
    /// Adding Apps, rotating and revoking their keys.
    ManageApps,
    /// Applying for publishing review, removal or feature activation of a mini program (further
    /// limited to that mini program's admins and Workspace Admins).
    ApplyForMiniPrograms,
    /// The Approvals list and its applications.
    ViewApprovals,
    /// Approving or rejecting applications (member requests further limited to Workspace Admins;
    /// nobody decides their own — the two-person rule).
    DecideApprovals,
    /// Requiring two factors of every member (or no longer).
    SetSignInPolicy,
    /// Raising, pausing, resuming, completing and aborting a rollout, and rolling back (further
    /// limited to the mini program's admins and Workspace Admins).
    ControlReleases,
    /// The workspace's webhook endpoints and their deliveries.
    ViewWebhooks,
    /// Adding, changing and deleting webhook endpoints, sending test events, re-sending
    /// deliveries.
    ManageWebhooks,
}

use Role::*;
use WorkspaceAction::*;

const EVERY_ROLE: &[Role] = &[WorkspaceAdmin, WorkspaceReviewer, MiniProgramAdmin, WorkspaceDeveloper];

/// role × action, read row by row: the roles that may do the action. A `match`, so a new action
/// without its row does not compile.
pub fn roles(action: WorkspaceAction) -> &'static [Role] {
    match action {
        ViewWorkspace | ViewMiniPrograms | Leave => EVERY_ROLE,
        ViewGeneral | RequestInfoChange | ViewAudit | SetSignInPolicy => &[WorkspaceAdmin],
        ViewMembers | InviteMembers | ChangeRoles | BlockMembers | RemoveMembers => &[WorkspaceAdmin],
        CreateMiniPrograms | AssignMiniPrograms | ApplyForMiniPrograms | ControlReleases => &[WorkspaceAdmin, MiniProgramAdmin],
        UploadVersions => &[WorkspaceAdmin, MiniProgramAdmin, WorkspaceDeveloper],
        RetireVersions | ViewApps | ManageApps | ViewWebhooks | ManageWebhooks => &[WorkspaceAdmin],
        ViewApprovals | DecideApprovals => &[WorkspaceAdmin, WorkspaceReviewer],
    }
}

impl WorkspaceAction {
    /// Whether the action changes something (refused while the workspace is suspended).
    pub fn is_change(self) -> bool {
        !matches!(self, ViewWorkspace | ViewGeneral | ViewAudit | ViewMembers | ViewApps | ViewMiniPrograms | ViewApprovals | ViewWebhooks)
    }

    /// What the refusal says.
    pub fn refusal(self) -> &'static str {
        match self {
            ViewGeneral | RequestInfoChange => "Only a Workspace Admin may see and request changes to the workspace's registered information.",
            ViewAudit => "Only a Workspace Admin may read the workspace's audit log.",
            SetSignInPolicy => "Only a Workspace Admin may change how the workspace's members sign in.",
            ViewMembers | InviteMembers | ChangeRoles | BlockMembers | RemoveMembers => "Only a Workspace Admin may manage the workspace's members.",
            Leave | ViewWorkspace => "You are not a member of this workspace.",
            ViewMiniPrograms => "You are not a member of this workspace.",
            CreateMiniPrograms => "Only a Mini Program Admin or a Workspace Admin may create mini programs.",
            AssignMiniPrograms => "Only a mini program's admin or a Workspace Admin may change who works on it.",
            UploadVersions => "Only members assigned to this mini program, or a Workspace Admin, may upload its versions.",
            RetireVersions => "Only a Workspace Admin may retire a version.",
            ViewApps | ManageApps => "Only a Workspace Admin may see and manage the workspace's Apps and their keys.",
            ViewWebhooks | ManageWebhooks => "Only a Workspace Admin may see and manage the workspace's webhooks.",
            ApplyForMiniPrograms => "Only a mini program's admin or a Workspace Admin may apply for its publishing, removal or features.",
            ControlReleases => "Only a mini program's admin or a Workspace Admin may change its rollout or roll it back.",
            ViewApprovals | DecideApprovals => "Only a Workspace Admin or a Workspace Reviewer may see and decide the workspace's applications.",
        }
    }
}

pub fn allows(role: Role, action: WorkspaceAction) -> bool {
    roles(action).contains(&role)
}

/// Who may decide an application of `category`: the roles of [`DecideApprovals`], and for a
/// member request a Workspace Admin only (it admits a person to the workspace). Nobody decides
/// their own application; that rule is the domain's. A `match`, so a new category without its
/// row does not compile.
pub fn may_decide(role: Role, category: Category) -> bool {
    match category {
        Category::MemberRequest => role == WorkspaceAdmin,
        Category::Publishing | Category::Removal | Category::Feature => allows(role, DecideApprovals),
    }
}

/// What refusing [`may_decide`] says.
pub fn decide_refusal(category: Category) -> &'static str {
    match category {
        Category::MemberRequest => "Only a Workspace Admin may decide member requests.",
        Category::Publishing | Category::Removal | Category::Feature => DecideApprovals.refusal(),
    }
}

/// What a mini program action needs of the member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiniNeed {
    /// Seeing it: everyone of the workspace, a Workspace Developer only when assigned to it.
    See,
    /// Uploading its versions: assigned to it (admin or developer), or a Workspace Admin.
    Upload,
    /// Managing it — editing, assigning, applying for its publishing, removal or features: its
    /// admin, or a Workspace Admin.
    Manage,
}

/// The mini program table: whether a member of `role`, with `part` in a mini program (assigned as
/// its admin or developer, or not at all), may do `need` on it. One who may not [`MiniNeed::See`]
/// it is told it does not exist.
pub fn mini_allows(role: Role, part: Option<MiniRole>, need: MiniNeed) -> bool {
    match need {
        MiniNeed::See => role != WorkspaceDeveloper || part.is_some(),
        MiniNeed::Upload => role == WorkspaceAdmin || part.is_some(),
        MiniNeed::Manage => role == WorkspaceAdmin || part == Some(MiniRole::Admin),
    }
}

impl MiniNeed {
    /// What the refusal says.
    pub fn refusal(self) -> &'static str {
        match self {
            MiniNeed::See => "You are not a member of this workspace.",
            MiniNeed::Upload => "Only members assigned to this mini program, or a Workspace Admin, may upload its versions.",
            MiniNeed::Manage => "Only this mini program's admin or a Workspace Admin may change it, change who works on it, or apply for its publishing, removal or features.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;


    #[test]
    fn the_mini_program_table_and_who_decides_each_category() {
        use MiniNeed::*;
        for need in [See, Upload, Manage] {
            assert!(mini_allows(WorkspaceAdmin, None, need), "{need:?}");
            assert!(mini_allows(WorkspaceDeveloper, Some(MiniRole::Admin), need), "{need:?}");
        }
        assert!(!mini_allows(WorkspaceDeveloper, None, See), "a developer sees only what they are assigned to");
        assert!(mini_allows(WorkspaceDeveloper, Some(MiniRole::Developer), Upload));
        assert!(!mini_allows(WorkspaceDeveloper, Some(MiniRole::Developer), Manage));
        assert!(mini_allows(WorkspaceReviewer, None, See));
        assert!(!mini_allows(WorkspaceReviewer, None, Upload));
        assert!(!mini_allows(MiniProgramAdmin, None, Manage), "a Mini Program Admin manages the ones they administer");
        for c in Category::ALL {
            assert!(may_decide(WorkspaceAdmin, c), "{c:?}");
            assert!(!may_decide(WorkspaceDeveloper, c), "{c:?}");
            assert_eq!(may_decide(WorkspaceReviewer, c), c != Category::MemberRequest, "{c:?}");
        }
    }

    #[test]
    fn every_action_has_a_row_and_a_workspace_admin_may_do_it() {
        for &a in WorkspaceAction::ALL {
            assert!(!roles(a).is_empty(), "{a:?}");
            assert!(allows(WorkspaceAdmin, a), "{a:?}");
        }
    }

    #[test]
    fn admins_manage_and_everyone_may_leave() {
        assert!(allows(WorkspaceAdmin, ChangeRoles));
        for r in [WorkspaceReviewer, MiniProgramAdmin, WorkspaceDeveloper] {
            assert!(!allows(r, ChangeRoles));
            assert!(!allows(r, ViewMembers));
            assert!(allows(r, Leave));
        }
        assert!(!ViewMembers.is_change());
        assert!(BlockMembers.is_change());
    }
}
