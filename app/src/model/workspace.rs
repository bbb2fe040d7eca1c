//! Workspace rules and the views the console shows of workspaces, applications, roles and the
//! audit log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::account::{email_key, validate_email};
use super::mcc::mcc_description;
use super::AppError;

pub const NAME_MIN: usize = 3;
pub const NAME_MAX: usize = 32;
pub const ADDRESS_MAX: usize = 500;
pub const PERSON_NAME_MAX: usize = 100;
pub const MAX_REPRESENTATIVES: usize = 20;
pub const REASON_MAX: usize = 1000;
/// Pending workspace applications one account may have at a time.
pub const PENDING_APPLICATIONS_MAX: usize = 3;

/// Workspace Name: `A-Z a-z 0-9` only, 3–32 characters. It is used in URLs and never changes.
pub fn validate_workspace_name(raw: &str) -> Result<String, AppError> {
    const FIELD: &str = "Workspace Name";
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::invalid(FIELD, "is required"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid(FIELD, "may contain only the letters A–Z and a–z and the digits 0–9 (no spaces or other characters)"));
    }
    if !(NAME_MIN..=NAME_MAX).contains(&name.len()) {
        return Err(AppError::invalid(
            FIELD,
            format!("must be {NAME_MIN}–{NAME_MAX} characters long"),
        ));
    }
    Ok(name.to_string())
}

/// Names are unique ignoring case.
pub fn workspace_name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

pub fn validate_mcc(raw: &str) -> Result<String, AppError> {
    let code = raw.trim();
    // The form's list shows "5812 — Eating places…"; accept the code at the front.
    let code = code.split([' ', '—', '-']).next().unwrap_or("").trim();
    if code.is_empty() {
        return Err(AppError::invalid(
            "Scope of Business",
            "is required: choose a Merchant Category Code",
        ));
    }
    if mcc_description(code).is_none() {
        return Err(AppError::invalid(
            "Scope of Business",
            format!("{code} is not a Merchant Category Code in the list"),
        ));
    }
    Ok(code.to_string())
}

pub fn validate_address(raw: &str) -> Result<String, AppError> {
    super::text::required("Business Address", raw, ADDRESS_MAX)
}

pub fn validate_reason(field: &str, raw: &str) -> Result<String, AppError> {
    super::text::required(field, raw, REASON_MAX)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Representative {
    pub name: String,
    pub email: String,
}

/// A representative as a form's row gives it: either part may be blank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepresentativeRow {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
}

const REPS_FIELD: &str = "Business Representatives";

/// Business Representatives typed one per line as `Name <email>` (the API's and the operator's
/// form), as rows.
pub fn representative_lines(raw: &str) -> Result<Vec<RepresentativeRow>, AppError> {
    let mut rows = Vec::new();
    for (i, line) in raw.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
        match (line.rfind('<'), line.ends_with('>')) {
            (Some(open), true) => rows.push(RepresentativeRow {
                name: line[..open].trim().to_string(),
                email: line[open + 1..line.len() - 1].to_string(),
            }),
            _ => {
                return Err(AppError::invalid(
                    REPS_FIELD,
                    format!("line {} must look like: Jane Doe <jane@example.com>", i + 1),
                ))
            }
        }
    }
    Ok(rows)
}

/// Business Representatives from rows (blank rows are skipped): at least one, each with a name
/// and a valid email, emails distinct.
pub fn check_representatives(rows: &[RepresentativeRow]) -> Result<Vec<Representative>, AppError> {
    let mut reps: Vec<Representative> = Vec::new();
    let filled = rows
        .iter()
        .filter(|r| !r.name.trim().is_empty() || !r.email.trim().is_empty());
    for (i, row) in filled.enumerate() {
        let n = i + 1;
        let name = row.name.trim();
        if name.is_empty() {
            return Err(AppError::invalid(
                REPS_FIELD,
                format!("representative {n} needs a name"),
            ));
        }
        if name.chars().count() > PERSON_NAME_MAX {
            return Err(AppError::invalid(
                REPS_FIELD,
                format!("representative {n}: the name must be at most {PERSON_NAME_MAX} characters"),
            ));
        }
        // A name is written back as "Name <email>", one per line: what would read as another
        // line or another address is refused, so the text always parses to the same people.
        if name.chars().any(|c| c.is_control() || c == '<' || c == '>') {
            return Err(AppError::invalid(
                REPS_FIELD,
                format!("representative {n}: the name must not contain line breaks, control characters, < or >"),
            ));
        }
        let email = validate_email(REPS_FIELD, row.email.trim()).map_err(|e| match e {
            AppError::Invalid { message, .. } => {
                AppError::invalid(REPS_FIELD, format!("representative {n}: the email {message}"))
            }
            other => other,
        })?;
        if reps.iter().any(|r| email_key(&r.email) == email_key(&email)) {
            return Err(AppError::invalid(
                REPS_FIELD,
                format!("representative {n}: {email} is listed twice; each representative needs their own email"),
            ));
        }
        reps.push(Representative {
            name: name.to_string(),
            email,
        });
    }
    if reps.is_empty() {
        return Err(AppError::invalid(REPS_FIELD, "at least one representative is required"));
    }
    if reps.len() > MAX_REPRESENTATIVES {
        return Err(AppError::invalid(
            REPS_FIELD,
            format!("at most {MAX_REPRESENTATIVES} representatives"),
        ));
    }
    Ok(reps)
}

/// A workspace's registered information: its scope of business (an MCC), its address and its
/// Business Representatives. Applied for with the workspace's name; afterwards only the operator
/// edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredInfo {
    pub mcc: String,
    pub address: String,
    pub representatives: Vec<Representative>,
}

impl RegisteredInfo {
    /// What an applicant or the operator entered, checked: a refusal names the field and the rule.
    pub fn check(mcc: &str, address: &str, representatives: &[RepresentativeRow]) -> Result<Self, AppError> {
        Ok(RegisteredInfo {
            mcc: validate_mcc(mcc)?,
            address: validate_address(address)?,
            representatives: check_representatives(representatives)?,
        })
    }

    /// The scope of business as the console shows it: the code, then what it means.
    pub fn scope(&self) -> String {
        format!("{} — {}", self.mcc, mcc_description(&self.mcc).unwrap_or(""))
    }

    /// What differs from `old`, a line per field, as the audit log says it.
    pub fn changes_from(&self, old: &RegisteredInfo) -> Vec<String> {
        let mut changes = Vec::new();
        if old.mcc != self.mcc {
            changes.push(format!("scope {} → {}", old.mcc, self.mcc));
        }
        if old.address != self.address {
            changes.push(format!("address {:?} → {:?}", old.address, self.address));
        }
        if old.representatives != self.representatives {
            changes.push(format!(
                "representatives {:?} → {:?}",
                format_representatives(&old.representatives),
                format_representatives(&self.representatives)
            ));
        }
        changes
    }
}

/// Business Representatives, one per line as `Name <email>`.
pub fn parse_representatives(raw: &str) -> Result<Vec<Representative>, AppError> {
    check_representatives(&representative_lines(raw)?)
}

pub fn format_representatives(reps: &[Representative]) -> String {
    reps.iter()
        .map(|r| format!("{} <{}>", r.name, r.email))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplicationStatus {
    Pending,
    Generated,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [ApplicationStatus; 4] = [
        Self::Pending,
        Self::Generated,
        Self::Rejected,
        Self::Withdrawn,
    ];
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Generated => "Generated",
            Self::Rejected => "Rejected",
            Self::Withdrawn => "Withdrawn",
        }
    }
    /// Stored in index keys: explicit numbers, fixed forever (never the declaration order).
    pub fn code(self) -> u8 {
        match self {
            Self::Pending => 0,
            Self::Generated => 1,
            Self::Rejected => 2,
            Self::Withdrawn => 3,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|x| x.label().eq_ignore_ascii_case(s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceStatus {
    Active,
    Suspended,
}

impl WorkspaceStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Suspended => "Suspended",
        }
    }
}

/// Workspace roles, with an explicit privilege order (higher may do more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    WorkspaceAdmin,
    WorkspaceReviewer,
    MiniProgramAdmin,
    WorkspaceDeveloper,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Self::WorkspaceAdmin => "Workspace Admin",
            Self::WorkspaceReviewer => "Workspace Reviewer",
            Self::MiniProgramAdmin => "Mini Program Admin",
            Self::WorkspaceDeveloper => "Workspace Developer",
        }
    }
    pub fn rank(self) -> u8 {
        match self {
            Self::WorkspaceAdmin => 40,
            Self::WorkspaceReviewer => 30,
            Self::MiniProgramAdmin => 20,
            Self::WorkspaceDeveloper => 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationView {
    pub id: Uuid,
    pub applicant: String,
    pub name: String,
    /// On the wire as the view's own fields (`mcc`, `address`, `representatives`).
    #[serde(flatten)]
    pub info: RegisteredInfo,
    /// `RegisteredInfo::scope`.
    pub scope: String,
    pub status: ApplicationStatus,
    pub reason: Option<String>,
    pub created: DateTime<Utc>,
    pub decided: Option<DateTime<Utc>>,
    pub workspace_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceView {
    pub id: Uuid,
    pub name: String,
    pub status: WorkspaceStatus,
    pub status_reason: Option<String>,
    /// On the wire as the view's own fields (`mcc`, `address`, `representatives`).
    #[serde(flatten)]
    pub info: RegisteredInfo,
    /// `RegisteredInfo::scope`.
    pub scope: String,
    pub created: DateTime<Utc>,
    /// Whether every member must sign in with two factors.
    pub require_second_factor: bool,
    /// The single sign-on provider the workspace uses, if any.
    pub single_sign_on: Option<WorkspaceSso>,
}

/// A workspace's single sign-on: its provider, whether members must sign in with it, and which
/// of the provider's groups make someone a member, in which role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSso {
    /// The provider's id.
    pub provider: String,
    /// Whether a session not signed in with the provider is refused every page and action of
    /// the workspace (password logins included).
    pub required: bool,
    /// (group, role): whoever signs in with the provider while in the group becomes an active
    /// member in that role (the highest, for several).
    pub groups: Vec<(String, Role)>,
}

impl WorkspaceSso {
    /// The role that the `groups` someone is in give them here, if any.
    pub fn role_for(&self, groups: &[String]) -> Option<Role> {
        self.groups
            .iter()
            .filter(|(g, _)| groups.iter().any(|x| x == g))
            .map(|(_, r)| *r)
            .max_by_key(|r| r.rank())
    }
}

/// Reads the group mappings a Workspace Admin types: one `group = role` per line (role by its
/// label or code), blank lines ignored.
pub fn parse_group_roles(raw: &str) -> Result<Vec<(String, Role)>, AppError> {
    let mut out: Vec<(String, Role)> = Vec::new();
    for (n, line) in raw.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
        if line.is_empty() {
            continue;
        }
        let Some((group, role)) = line.rsplit_once('=') else {
            return Err(AppError::invalid("Group roles", format!("line {n} must read \"group = role\"")));
        };
        let group = group.trim();
        if group.is_empty() || group.chars().count() > 200 {
            return Err(AppError::invalid("Group roles", format!("line {n}: the group must be 1–200 characters")));
        }
        let role = role.trim();
        let role = Role::ALL
            .into_iter()
            .find(|r| r.code() == role || r.label().eq_ignore_ascii_case(role))
            .ok_or_else(|| AppError::invalid("Group roles", format!("line {n}: the role must be Workspace Admin, Workspace Reviewer, Mini Program Admin or Workspace Developer")))?;
        if out.iter().any(|(g, _)| g == group) {
            return Err(AppError::invalid("Group roles", format!("line {n}: the group {group} is mapped twice")));
        }
        out.push((group.to_string(), role));
    }
    if out.len() > 50 {
        return Err(AppError::invalid("Group roles", "may map at most 50 groups"));
    }
    Ok(out)
}

/// A workspace as seen by one of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyWorkspace {
    pub id: Uuid,
    pub name: String,
    pub status: WorkspaceStatus,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub workspace: Option<String>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub client: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequestView {
    pub id: Uuid,
    pub workspace: String,
    pub requester: String,
    pub what: String,
    pub why: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxView {
    pub id: Uuid,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
    /// The message holds a secret link (verification, reset, invitation) not yet sent.
    pub carries_link: bool,
    /// The secret link was cut out of this stored copy after sending.
    pub redacted: bool,
}

pub use super::page::{Page, PER_PAGE};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_status_codes_in_keys_never_change() {
        let codes: Vec<u8> = ApplicationStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3]);
    }

    #[test]
    fn workspace_names() {
        assert_eq!(validate_workspace_name(" Acme01 ").unwrap(), "Acme01");
        assert!(validate_workspace_name("abc").is_ok());
        assert!(validate_workspace_name(&"a".repeat(32)).is_ok());
        for bad in [
            "",
            "ab",
            &"a".repeat(33),
            "Acme Pay",
            "acme-pay",
            "acme_pay",
            "Аcme",
            "acmé",
            "ａcme",
            "acme\u{200b}",
        ] {
            let e = validate_workspace_name(bad).unwrap_err();
            assert_eq!(e.field(), Some("Workspace Name"), "{bad:?}");
        }
        assert_eq!(workspace_name_key("AcMe"), workspace_name_key("acme"));
    }

    #[test]
    fn registered_information_is_checked_shown_and_compared_field_by_field() {
        let rows = |e: &str| vec![RepresentativeRow { name: "Jane Doe".into(), email: e.into() }];
        let info = RegisteredInfo::check("5812", " 1 Main St ", &rows("jane@example.com")).unwrap();
        assert_eq!(info.address, "1 Main St");
        assert_eq!(info.scope(), format!("5812 — {}", mcc_description("5812").unwrap()));
        assert_eq!(RegisteredInfo::check("0000", "1 Main St", &rows("jane@example.com")).unwrap_err().field(), Some("Scope of Business"));
        assert_eq!(RegisteredInfo::check("5812", "1 Main St", &rows("jane")).unwrap_err().field(), Some(REPS_FIELD));
        assert!(info.changes_from(&info).is_empty());
        let moved = RegisteredInfo { address: "2 Bay Rd".into(), ..info.clone() };
        assert_eq!(moved.changes_from(&info), vec![r#"address "1 Main St" → "2 Bay Rd""#.to_string()]);
        let other = RegisteredInfo::check("5814", "2 Bay Rd", &rows("li@example.com")).unwrap();
        let said = other.changes_from(&info);
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(said[0].starts_with("scope 5812 → 5814") && said[2].contains("li@example.com"), "{said:?}");
    }

    #[test]
    fn mcc_codes() {
        assert_eq!(validate_mcc("5812").unwrap(), "5812");
        assert_eq!(
            validate_mcc("5812 — Eating places and restaurants").unwrap(),
            "5812"
        );
        assert_eq!(
            validate_mcc("0000").unwrap_err().field(),
            Some("Scope of Business")
        );
        assert!(validate_mcc("").is_err());
        assert!(validate_mcc("abcd").is_err());
    }

    #[test]
    fn representatives() {
        let reps =
            parse_representatives("Jane Doe <jane@example.com>\n\n  Li Wei <li@example.com> ")
                .unwrap();
        assert_eq!(reps.len(), 2);
        assert_eq!(
            reps[1],
            Representative {
                name: "Li Wei".into(),
                email: "li@example.com".into()
            }
        );
        for bad in [
            "",
            "jane@example.com",
            "<jane@example.com>",
            "Jane <not-an-email>",
            "Jane <a@example.com>\nJoe <A@Example.com>",
        ] {
            assert_eq!(
                parse_representatives(bad).unwrap_err().field(),
                Some("Business Representatives"),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_representatives(&format_representatives(&reps)).unwrap(),
            reps
        );
        let row = |name: &str, email: &str| RepresentativeRow { name: name.into(), email: email.into() };
        // Blank rows (the form's spare ones) are skipped; a half-filled row is refused by number.
        assert_eq!(check_representatives(&[row("", ""), row("Jane", "jane@example.com"), row(" ", "")]).unwrap().len(), 1);
        let e = check_representatives(&[row("Jane", "jane@example.com"), row("", "li@example.com")]).unwrap_err();
        assert!(e.to_string().contains("representative 2 needs a name"), "{e}");
        let e = check_representatives(&[row("Jane", "jane@example.com"), row("Li", "nope")]).unwrap_err();
        assert!(e.to_string().contains("representative 2: the email"), "{e}");
        assert!(check_representatives(&[row("", "")]).is_err());
        let many: Vec<_> = (0..=MAX_REPRESENTATIVES).map(|i| row("R", &format!("r{i}@example.com"))).collect();
        assert!(check_representatives(&many).is_err());
        // A name that would read back as another line or another address is refused, so the
        // operator's edit form (the text written back) always parses to the same people.
        for smuggled in ["Jane Doe <mal@evil.example>\nJane Doe", "Jane\rDoe", "Jane <x>", "Jane >", "Tab\there"] {
            let e = check_representatives(&[row(smuggled, "jane@example.com")]).unwrap_err();
            assert!(e.to_string().contains("representative 1: the name must not contain"), "{smuggled:?}: {e}");
        }
        let reps = check_representatives(&[row("Jane O'Neil-Smith (CFO)", "jane@example.com")]).unwrap();
        assert_eq!(parse_representatives(&format_representatives(&reps)).unwrap(), reps);
    }

    #[test]
    fn roles_have_an_explicit_order() {
        assert!(Role::WorkspaceAdmin.rank() > Role::WorkspaceReviewer.rank());
        assert!(Role::WorkspaceReviewer.rank() > Role::MiniProgramAdmin.rank());
        assert!(Role::MiniProgramAdmin.rank() > Role::WorkspaceDeveloper.rank());
    }
}

pub const INVITE_BULK_MAX: usize = 500;
pub const INVITATION_DAYS: i64 = 7;

/// A member as the Members page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub account_id: Uuid,
    pub email: String,
    pub username: String,
    pub role: Role,
    pub active: bool,
    pub joined: DateTime<Utc>,
    /// "Assigned to Mini Program: …": the mini programs' names, or "unassigned".
    pub assignment: String,
    /// Whether the member signs in with two factors.
    pub second_factor: bool,
}

/// A pending invitation as the Members page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub email: String,
    pub role: Role,
    pub inviter: String,
    pub created: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub expired: bool,
}

/// What a signed-in person's home shows: where they are, what they applied for, who invited them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeSummary {
    pub workspaces: Vec<MyWorkspace>,
    pub applications: Vec<ApplicationView>,
    pub invitations: Vec<MyInvitation>,
}

/// An invitation waiting for the signed-in person (accepted from the link in its email).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyInvitation {
    pub workspace: String,
    pub role: Role,
    pub inviter: String,
    pub expires: DateTime<Utc>,
}

/// A representative's admission waiting for their email address to be verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionView {
    pub email: String,
    pub role: Role,
    pub added: DateTime<Utc>,
}

/// What the invitation link shows to whoever holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub workspace: String,
    pub email: String,
    pub role: Role,
    pub inviter: String,
    pub expires: DateTime<Utc>,
    /// "pending", "accepted", "revoked" or "expired".
    pub state: String,
}

/// The result of inviting one address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteRow {
    pub email: String,
    /// "invited", "already a member", "already invited", "duplicate in the list" or
    /// "invalid address: …".
    pub outcome: String,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::WorkspaceAdmin,
        Role::WorkspaceReviewer,
        Role::MiniProgramAdmin,
        Role::WorkspaceDeveloper,
    ];

    /// The form value of the role.
    pub fn code(self) -> &'static str {
        match self {
            Self::WorkspaceAdmin => "WorkspaceAdmin",
            Self::WorkspaceReviewer => "WorkspaceReviewer",
            Self::MiniProgramAdmin => "MiniProgramAdmin",
            Self::WorkspaceDeveloper => "WorkspaceDeveloper",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Role, AppError> {
        Self::ALL.into_iter().find(|r| r.code() == s.trim()).ok_or_else(|| {
            AppError::invalid(field, "must be Workspace Admin, Workspace Reviewer, Mini Program Admin or Workspace Developer")
        })
    }
}

/// A workspace's home page, for any of its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceHomeView {
    pub name: String,
    pub status: WorkspaceStatus,
    pub role: Role,
    pub assignment: String,
    pub joined: DateTime<Utc>,
    /// For those who may manage members: what needs their attention.
    pub members: Option<MemberCounts>,
    /// For those who decide applications: how many are pending.
    pub pending_approvals: Option<u64>,
    /// For those who manage a mini program (its admin, or a Workspace Admin): what waits on them.
    pub needs_you: Option<NeedsYou>,
}

/// What waits on a member in the mini programs they manage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsYou {
    /// Candidates rolling out or paused, paused ones first.
    pub rollouts: Few<RolloutNote>,
    /// The newest version of a mini program, uploaded and not yet applied for.
    pub unapplied: Few<UnappliedNote>,
    /// Applications about the mini programs waiting for a reviewer, oldest first.
    pub waiting: Few<super::approvals::ApplicationRow>,
}

/// The first few of a list, and how long the whole list is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Few<T> {
    pub shown: Vec<T>,
    pub total: usize,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few { shown: Vec::new(), total: 0 }
    }
}

impl<T> Few<T> {
    /// At most this many are shown of each list.
    pub const SHOWN: usize = 10;

    /// The first [`Few::SHOWN`] of `all`.
    pub fn of(mut all: Vec<T>) -> Few<T> {
        let total = all.len();
        all.truncate(Self::SHOWN);
        Few { shown: all, total }
    }
}

/// A candidate of a mini program rolling out to an App.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutNote {
    pub mini_program: Uuid,
    pub name: String,
    pub app: String,
    pub candidate: super::approvals::CandidateView,
}

/// A version uploaded and not yet applied for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnappliedNote {
    pub mini_program: Uuid,
    pub name: String,
    pub version: String,
    pub uploaded: DateTime<Utc>,
}


/// The counts a Workspace Admin's overview shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounts {
    pub members: u64,
    pub blocked: u64,
    pub invitations: u64,
    pub waiting_admissions: u64,
}

impl crate::model::page::FilterWord for Role {
    const FIELD: &'static str = "Role";
    const WORDS: &'static [(Self, &'static str)] = &[
        (Self::WorkspaceAdmin, "workspace-admin"),
        (Self::WorkspaceReviewer, "workspace-reviewer"),
        (Self::MiniProgramAdmin, "mini-program-admin"),
        (Self::WorkspaceDeveloper, "workspace-developer"),
    ];
    fn label(self) -> &'static str {
        Role::label(self)
    }
}

impl crate::model::page::FilterWord for ApplicationStatus {
    const FIELD: &'static str = "Status";
    const WORDS: &'static [(Self, &'static str)] =
        &[(Self::Pending, "pending"), (Self::Generated, "generated"), (Self::Rejected, "rejected"), (Self::Withdrawn, "withdrawn")];
    fn label(self) -> &'static str {
        ApplicationStatus::label(self)
    }
}

/// A member's status as the Members list filters it: active, or blocked (inactive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    Inactive,
}

impl crate::model::page::FilterWord for MemberStatus {
    const FIELD: &'static str = "Status";
    const WORDS: &'static [(Self, &'static str)] = &[(Self::Active, "active"), (Self::Inactive, "inactive")];
    fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// Where an outbox message is: waiting to be sent (or retried), sent, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MailState {
    Queued,
    Sent,
    Failed,
}

impl crate::model::page::FilterWord for MailState {
    const FIELD: &'static str = "State";
    const WORDS: &'static [(Self, &'static str)] = &[(Self::Queued, "queued"), (Self::Sent, "sent"), (Self::Failed, "failed")];
    fn label(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Sent => "Sent",
            Self::Failed => "Failed",
        }
    }
}

/// The figures of the operator's overview page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewFigures {
    pub accounts: u64,
    pub operators: u64,
    pub sessions: u64,
    pub schema_version: u64,
    pub pending_applications: u64,
    pub smtp_configured: bool,
    pub unverified_accounts: u64,
    /// How publishing to the release target goes; `None` when none is configured.
    pub publishing: Option<PublishingView>,
}

/// The release target's state, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishingView {
    /// The target as configured (`s3://…` or `file:///…`).
    pub target: String,
    /// Committed changes not yet published.
    pub pending: u64,
    /// When the oldest of them was committed: the lag.
    pub owed_since: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// Failed attempts since the last success, and why the last one failed.
    pub failures: u32,
    pub last_error: Option<String>,
    pub last_attempt: Option<DateTime<Utc>>,
    /// Objects the publisher wrote that are there now.
    pub objects: u64,
}
