//! Mini programs, their members and their versions — shared by the browser and the server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

pub const MINI_NAME_MAX: usize = 40;
pub const MINI_DESCRIPTION_MAX: usize = 500;
pub const VERSION_NOTE_MAX: usize = 2000;
/// An icon's largest size.
pub const ICON_MAX_BYTES: usize = 256 * 1024;

/// The categories a mini program can be listed under.
pub const CATEGORIES: &[&str] = &[
    "Shopping",
    "Food & Drink",
    "Travel & Transport",
    "Finance",
    "Lifestyle",
    "Entertainment",
    "Education",
    "Health & Fitness",
    "Utilities",
    "Government & Public Services",
    "Games",
    "Social",
];

/// A member's part in one mini program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MiniRole {
    Admin,
    Developer,
}

impl MiniRole {
    pub fn label(self) -> &'static str {
        match self {
            MiniRole::Admin => "Mini program admin",
            MiniRole::Developer => "Developer",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            MiniRole::Admin => "admin",
            MiniRole::Developer => "developer",
        }
    }

    pub fn parse(text: &str) -> Result<MiniRole, AppError> {
        match text {
            "admin" => Ok(MiniRole::Admin),
            "developer" => Ok(MiniRole::Developer),
            _ => Err(AppError::invalid("Role", "must be admin or developer")),
        }
    }
}

/// Where a version is in its life (SPEC §6). Stored by variant name (serde's default), so a
/// variant is never renamed; the golden test (`server::store::golden`) holds every name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum VersionState {
    Uploaded,
    InReview,
    Approved,
    Released,
    Rejected,
    Superseded,
    Removed,
    /// Taken back by a Workspace Admin before it was ever released: left out of every version
    /// list and of "higher than every earlier version"; its record and bundle are kept.
    Retired,
}

impl VersionState {
    pub fn label(self) -> &'static str {
        match self {
            VersionState::Uploaded => "Uploaded",
            VersionState::InReview => "In review",
            VersionState::Approved => "Approved",
            VersionState::Released => "Released",
            VersionState::Rejected => "Rejected",
            VersionState::Superseded => "Superseded",
            VersionState::Removed => "Removed",
            VersionState::Retired => "Retired",
        }
    }

    /// Whether a Workspace Admin may retire a version in this state: uploaded and never
    /// released — Uploaded, or Rejected in review.
    pub fn retirable(self) -> bool {
        matches!(self, VersionState::Uploaded | VersionState::Rejected)
    }
}

pub fn validate_mini_name(raw: &str) -> Result<String, AppError> {
    super::text::name("Mini Program Name", raw, MINI_NAME_MAX)
}

pub fn validate_description(raw: &str) -> Result<String, AppError> {
    super::text::at_most("Description", raw, MINI_DESCRIPTION_MAX)
}

pub fn validate_category(raw: &str) -> Result<String, AppError> {
    CATEGORIES
        .iter()
        .find(|c| **c == raw.trim())
        .map(|c| c.to_string())
        .ok_or_else(|| AppError::invalid("Category", "must be one of the listed categories"))
}

/// The longest version a mini program may have, in characters (SemVer sets no limit).
pub const VERSION_MAX: usize = 64;

pub fn validate_note(raw: &str) -> Result<String, AppError> {
    super::text::at_most("Note", raw, VERSION_NOTE_MAX)
}

/// A member who can be assigned to a mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignable {
    pub account: Uuid,
    pub label: String,
}

/// How many members the assign form offers at once: a workspace of thousands is searched, not
/// listed.
pub const ASSIGNABLE_SHOWN: u32 = 50;

/// The active members the assign form offers: those whose username (or email, see `by_email`)
/// contains the search (all, without one), the first [`ASSIGNABLE_SHOWN`] by username.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignables {
    pub members: Vec<Assignable>,
    /// More members match than are offered: a narrower search finds them.
    pub more: bool,
    /// The search matches emails too, and the labels show them (the asker may view the members).
    pub by_email: bool,
}

/// A member of a mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentView {
    pub account: Uuid,
    pub username: String,
    pub email: String,
    pub role: MiniRole,
}

/// A mini program as its list and its page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramView {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub category: String,
    pub has_icon: bool,
    pub removed: bool,
    pub created: DateTime<Utc>,
    pub created_by: String,
    /// The viewer's part in it (`None` for a Workspace Admin who is not assigned).
    pub my_role: Option<MiniRole>,
    /// Whether the viewer may manage it (its admin, or a Workspace Admin).
    pub can_manage: bool,
    /// Whether the viewer may upload versions (assigned, or a Workspace Admin).
    pub can_upload: bool,
    pub members: Vec<AssignmentView>,
    pub latest: Option<String>,
    /// Whether the viewer may retire its never-released versions (a Workspace Admin).
    #[serde(default)]
    pub can_retire: bool,
    /// The console's address, for the Studio command it shows.
    pub server: String,
    /// What the workspace's bundles take of what it may hold (on the mini program's own page).
    #[serde(default)]
    pub bundles: Option<BundleRoom>,
}

/// The bytes of bundles a workspace holds (every version it stored, retired ones too) and the
/// most it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRoom {
    pub held: u64,
    pub quota: u64,
}

/// Bytes as MiB with one decimal: `812.3 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A version of a mini program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct VersionView {
    pub version: String,
    pub state: VersionState,
    pub size: u64,
    pub sha256: String,
    /// Who uploaded it: a person (from the console) or an Upload Key.
    pub uploader: String,
    pub note: String,
    pub created: DateTime<Utc>,
    /// The oldest container version that can run it; null: any container.
    #[serde(default)]
    pub min_container: Option<String>,
    /// Where it is served: "Super App (stable)", "Super App (candidate, 10 %)".
    #[serde(default)]
    pub released_to: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_by_their_rules() {
        assert_eq!(validate_mini_name(" Coupons ").unwrap(), "Coupons");
        assert_eq!(validate_mini_name("").unwrap_err().field(), Some("Mini Program Name"));
        assert!(validate_mini_name(&"x".repeat(41)).is_err());
        assert!(validate_description(&"x".repeat(501)).is_err());
        assert_eq!(validate_category("Finance").unwrap(), "Finance");
        assert_eq!(validate_category("Weapons").unwrap_err().field(), Some("Category"));
        assert!(validate_note(&"x".repeat(2001)).is_err());
        assert_eq!(MiniRole::parse("developer").unwrap(), MiniRole::Developer);
        assert!(MiniRole::parse("owner").is_err());
    }
}
