//! Approvals (SPEC §7): applications in four categories, their states and what the console shows
//! of them — shared by the browser and the server.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

/// A decision's reason, a removal's reason, an application's note: at most this many characters.
pub const REASON_MAX: usize = 2000;

/// What an application asks for (SPEC §7's reviewing categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Category {
    Publishing,
    Removal,
    MemberRequest,
    Feature,
}

impl Category {
    pub const ALL: [Category; 4] = [Category::Publishing, Category::Removal, Category::MemberRequest, Category::Feature];

    /// The reviewing category, as the Approvals list shows it.
    pub fn label(self) -> &'static str {
        match self {
            Category::Publishing => "Mini Program Publishing",
            Category::Removal => "Mini Program Removal",
            Category::MemberRequest => "Member requests",
            Category::Feature => "Feature activation",
        }
    }

    /// The application's title.
    pub fn title(self) -> &'static str {
        match self {
            Category::Publishing => "Apply for publishing review",
            Category::Removal => "Apply for removal",
            Category::MemberRequest => "Apply to join the workspace",
            Category::Feature => "Apply for feature activation",
        }
    }

    /// The code stored in index keys (0 means "any").
    pub fn code(self) -> u8 {
        match self {
            Category::Publishing => 1,
            Category::Removal => 2,
            Category::MemberRequest => 3,
            Category::Feature => 4,
        }
    }

}

/// Where an application is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pending, Status::Approved, Status::Rejected, Status::Withdrawn];

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Approved => "Approved",
            Status::Rejected => "Rejected",
            Status::Withdrawn => "Withdrawn",
        }
    }

    /// The code stored in index keys (0 means "any").
    pub fn code(self) -> u8 {
        match self {
            Status::Pending => 1,
            Status::Approved => 2,
            Status::Rejected => 3,
            Status::Withdrawn => 4,
        }
    }

}

/// A capability a mini program may ask to use (feature activation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// As the manifest names it.
    pub code: &'static str,
    pub label: &'static str,
    /// What the container lets the mini program do once it is activated.
    pub description: &'static str,
}

/// The capabilities that can be activated, one application each.
pub const FEATURES: &[Feature] = &[
    Feature { code: "location", label: "Location", description: "Read the device's position while the mini program is open." },
    Feature { code: "camera", label: "Camera", description: "Take photos and scan codes with the camera." },
    Feature { code: "microphone", label: "Microphone", description: "Record audio." },
    Feature { code: "contacts", label: "Contacts", description: "Pick entries from the address book." },
    Feature { code: "payment", label: "Payment", description: "Start payments through the host app's wallet." },
    Feature { code: "bluetooth", label: "Bluetooth", description: "Discover and connect to Bluetooth devices." },
    Feature { code: "clipboard", label: "Clipboard", description: "Read from and write to the clipboard." },
    Feature { code: "notifications", label: "Notifications", description: "Send notifications through the host app." },
    Feature { code: "biometrics", label: "Biometric authentication", description: "Ask the person to confirm with a fingerprint or face." },
    Feature { code: "nfc", label: "NFC", description: "Read NFC tags." },
];

/// A feature by its code.
pub fn feature(code: &str) -> Result<&'static Feature, AppError> {
    FEATURES.iter().find(|f| f.code == code.trim()).ok_or_else(|| {
        AppError::invalid(
            "Feature",
            format!(
                "must be one of {}",
                FEATURES.iter().map(|f| f.code).collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// A required reason (rejection, removal): 1–2 000 characters.
pub fn validate_reason(raw: &str) -> Result<String, AppError> {
    super::text::required("Reason", raw, REASON_MAX)
}

/// An optional note to the approvers: at most 2 000 characters.
pub fn validate_apply_note(raw: &str) -> Result<String, AppError> {
    super::text::at_most("Note", raw, REASON_MAX)
}

/// A row of the Approvals list and of "My requests".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationRow {
    pub id: Uuid,
    pub workspace: String,
    pub title: String,
    pub category: Category,
    pub mini_program: Option<String>,
    pub version: Option<String>,
    pub applicant: String,
    pub created: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub status: Status,
}

/// One step of an application's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub who: String,
    /// "Applied", "Approved", "Rejected", "Withdrawn", "Released".
    pub what: String,
    pub text: String,
}

/// Everything about one application, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationDetail {
    pub row: ApplicationRow,
    pub mini_program_id: Option<Uuid>,
    /// The target Apps of a publishing application.
    pub apps: Vec<String>,
    /// The share of installs a publishing application releases the version to once approved
    /// ("100 %, every install at once", or a candidate's share), so an approver knows it.
    pub rollout: Option<String>,
    /// The feature of a feature activation: (label, description).
    pub feature: Option<(String, String)>,
    /// The applicant's note (publishing, feature, member request) or reason (removal).
    pub note: String,
    /// The approver's reason for a rejection.
    pub reason: Option<String>,
    pub decided_by: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// Whether the viewer may approve or reject it now.
    pub can_decide: bool,
    /// Why the viewer may not decide it, when they are an approver and it is pending (their own
    /// application; a member request for a Reviewer).
    pub decide_refusal: Option<String>,
    /// Whether the viewer (its applicant) may withdraw it now.
    pub can_withdraw: bool,
}

/// A notification in the console.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub text: String,
    /// Where it leads (the application's page).
    pub link: String,
    pub read: bool,
}

/// Where a mini program is released, for its page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseView {
    pub app_id: Uuid,
    pub app: String,
    /// The stable version, which every install gets (`None`: only the candidate's share).
    pub version: Option<String>,
    pub released: Option<DateTime<Utc>>,
    pub candidate: Option<CandidateView>,
    /// Versions that were the stable before, newest first: what a rollback may return to.
    pub earlier: Vec<String>,
    /// When the fleet's reports stop a candidate.
    pub health: HealthRule,
    /// What the installs reported per version and day, over the last days.
    pub figures: Vec<DayFigures>,
}

/// What one version's installs reported on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    pub version: String,
    pub day: chrono::NaiveDate,
    pub launches: u64,
    pub failed: u64,
    pub crashes: u64,
}

impl DayFigures {
    /// Failed launches and crashes over launches, in percent (0 without launches).
    pub fn failure_rate(&self) -> f64 {
        if self.launches == 0 {
            0.0
        } else {
            (self.failed + self.crashes) as f64 * 100.0 / self.launches as f64
        }
    }
}

/// A version rolling out to a share of an App's installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateView {
    pub version: String,
    pub released: DateTime<Utc>,
    /// The share, in per-mille.
    pub rollout: u16,
    /// Who paused it and why (`None`: rolling out).
    pub paused: Option<(String, String)>,
}

impl CandidateView {
    /// "rolling out", or who paused it and why.
    pub fn state(&self) -> String {
        match &self.paused {
            None => "rolling out".to_string(),
            Some((by, why)) => format!("paused by {by}: {why}"),
        }
    }
}

/// When the fleet's reports stop a candidate: the lower bound of the Wilson 95 % interval of its
/// failure rate (failed launches and crashes over launches) at or above `threshold_bp` (basis
/// points: 200 = 2 %), once it has `min_launches` launches. It is then paused, or withdrawn when
/// `roll_back` (the stable stays).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRule {
    pub threshold_bp: u32,
    pub min_launches: u64,
    pub roll_back: bool,
}

impl Default for HealthRule {
    fn default() -> Self {
        HealthRule { threshold_bp: 200, min_launches: 200, roll_back: false }
    }
}

impl HealthRule {
    /// Reads the rule as a person types it: the threshold as a percentage (0.1–100, at most two
    /// decimals), the minimum launches (1–10 000 000), and whether to roll back.
    pub fn parse(threshold: &str, min_launches: &str, roll_back: bool) -> Result<HealthRule, AppError> {
        let t = threshold.trim().trim_end_matches('%').trim();
        let bad = || AppError::invalid("Failure threshold", "must be a percentage from 0.1 to 100, with at most two decimals (such as 2 or 0.5)");
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let bp = whole.parse::<u32>().map_err(|_| bad())? * 100 + format!("{frac:0<2}").parse::<u32>().map_err(|_| bad())?;
        if !(10..=10_000).contains(&bp) {
            return Err(bad());
        }
        let min = min_launches.trim().parse::<u64>().ok().filter(|n| (1..=10_000_000).contains(n)).ok_or_else(|| AppError::invalid("Minimum launches", "must be a whole number from 1 to 10000000"))?;
        Ok(HealthRule { threshold_bp: bp, min_launches: min, roll_back })
    }

    /// The threshold as a percentage: "2 %", "0.5 %".
    pub fn threshold_label(&self) -> String {
        let (w, f) = (self.threshold_bp / 100, self.threshold_bp % 100);
        match f {
            0 => format!("{w} %"),
            f if f % 10 == 0 => format!("{w}.{} %", f / 10),
            f => format!("{w}.{f:02} %"),
        }
    }

    /// Whether `failures` of `launches` break the rule.
    pub fn broken(&self, failures: u64, launches: u64) -> bool {
        launches >= self.min_launches && wilson_lower(failures, launches) * 10_000.0 >= f64::from(self.threshold_bp)
    }
}

/// The lower bound of the Wilson score interval at 95 % (z = 1.96) of `failures` in `trials`.
pub fn wilson_lower(failures: u64, trials: u64) -> f64 {
    if trials == 0 {
        return 0.0;
    }
    let (n, z) = (trials as f64, 1.96_f64);
    let p = failures.min(trials) as f64 / n;
    let z2 = z * z;
    ((p + z2 / (2.0 * n)) - z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt()) / (1.0 + z2 / n)
}

/// The full rollout, in per-mille: everyone.
pub const FULL_ROLLOUT: u16 = 1000;

/// A rollout as a person types it: a percentage from 0 to 100, with at most one decimal
/// (0.1 % is one cohort in a thousand); empty is 100 %. The answer is in per-mille.
pub fn parse_rollout(text: &str) -> Result<u16, AppError> {
    let t = text.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Ok(FULL_ROLLOUT);
    }
    let bad = || AppError::invalid("Rollout", "must be a percentage from 0 to 100, with at most one decimal (such as 1, 12.5 or 100)");
    let (whole, tenth) = match t.split_once('.') {
        Some((w, f)) if f.len() == 1 => (w, f),
        Some(_) => return Err(bad()),
        None => (t, "0"),
    };
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !tenth.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 3 {
        return Err(bad());
    }
    let per_mille = whole.parse::<u16>().map_err(|_| bad())? * 10 + tenth.parse::<u16>().map_err(|_| bad())?;
    if per_mille > FULL_ROLLOUT {
        return Err(bad());
    }
    Ok(per_mille)
}

/// A per-mille share as a percentage: "12.5 %", "100 %".
pub fn rollout_label(per_mille: u16) -> String {
    if per_mille % 10 == 0 {
        format!("{} %", per_mille / 10)
    } else {
        format!("{}.{} %", per_mille / 10, per_mille % 10)
    }
}

/// What a mini program's admin can apply for now, and what is in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniApprovals {
    /// The version that can be sent to publishing review (the newest, when it is Uploaded).
    pub publishable: Option<String>,
    /// The workspace's Apps: (id, name).
    pub apps: Vec<(Uuid, String)>,
    pub releases: Vec<ReleaseView>,
    /// Activated features: (code, label).
    pub features: Vec<(String, String)>,
    /// Features that can still be asked for: (code, label).
    pub requestable: Vec<(String, String)>,
    /// Whether a removal can be applied for (released, none pending).
    pub removable: bool,
    /// Pending applications about this mini program: (id, title).
    pub pending: Vec<(Uuid, String)>,
}

#[cfg(test)]
mod tests {
    use crate::model::page::FilterWord;
    use super::*;

    #[test]
    fn the_health_rule_reads_its_fields_and_judges_by_the_wilson_bound() {
        let r = HealthRule::default();
        assert_eq!((r.threshold_label(), r.min_launches, r.roll_back), ("2 %".to_string(), 200, false));
        assert_eq!(HealthRule::parse("0.5", "1000", true).unwrap(), HealthRule { threshold_bp: 50, min_launches: 1000, roll_back: true });
        assert_eq!(HealthRule::parse("12.25 %", "1", false).unwrap().threshold_label(), "12.25 %");
        for bad in ["0", "0.05", "101", "2.125", "x", ""] {
            assert_eq!(HealthRule::parse(bad, "200", false).unwrap_err().field(), Some("Failure threshold"), "{bad}");
        }
        for bad in ["0", "-1", "x", "20000000"] {
            assert_eq!(HealthRule::parse("2", bad, false).unwrap_err().field(), Some("Minimum launches"), "{bad}");
        }
        // 10 % failing of 300 launches: the bound is about 7 %, above 2 %.
        assert!(r.broken(30, 300));
        // Too few launches to judge, however bad.
        assert!(!r.broken(100, 199));
        // 2 % failing exactly: the bound is below 2 %, so not yet.
        assert!(!r.broken(20, 1000));
        assert!((wilson_lower(30, 300) - 0.0709).abs() < 0.001, "{}", wilson_lower(30, 300));
        assert_eq!(wilson_lower(0, 0), 0.0);
    }

    #[test]
    fn rollouts_are_read_as_percentages_and_shown_back() {
        assert_eq!(parse_rollout("").unwrap(), 1000);
        assert_eq!(parse_rollout("10").unwrap(), 100);
        assert_eq!(parse_rollout(" 12.5 % ").unwrap(), 125);
        assert_eq!(parse_rollout("0").unwrap(), 0);
        assert_eq!(parse_rollout("100.0").unwrap(), 1000);
        for bad in ["100.1", "-1", "1.25", "abc", "1e2", ".5", "1000"] {
            assert_eq!(parse_rollout(bad).unwrap_err().field(), Some("Rollout"), "{bad}");
        }
        assert_eq!(rollout_label(125), "12.5 %");
        assert_eq!(rollout_label(1000), "100 %");
    }

    #[test]
    fn filters_and_fields_name_their_rule() {
        assert_eq!(Category::parse_filter("").unwrap(), None);
        assert_eq!(Category::parse_filter("removal").unwrap(), Some(Category::Removal));
        assert_eq!(Category::parse_filter("nope").unwrap_err().field(), Some("Category"));
        assert_eq!(Status::parse_filter("withdrawn").unwrap(), Some(Status::Withdrawn));
        assert_eq!(Status::parse_filter("done").unwrap_err().field(), Some("Status"));
        assert_eq!(feature("camera").unwrap().label, "Camera");
        assert!(feature("teleport").unwrap_err().to_string().contains("location, camera"));
        assert_eq!(validate_reason("  ").unwrap_err().field(), Some("Reason"));
        assert!(validate_reason(&"x".repeat(2001)).is_err());
        assert_eq!(validate_reason(&"x".repeat(2000)).unwrap().len(), 2000);
        assert!(validate_apply_note(&"y".repeat(2001)).is_err());
        let codes: std::collections::HashSet<u8> = Category::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), 4);
        assert!(!codes.contains(&0), "0 means any");
    }
}

impl crate::model::page::FilterWord for Category {
    const FIELD: &'static str = "Category";
    const WORDS: &'static [(Self, &'static str)] =
        &[(Self::Publishing, "publishing"), (Self::Removal, "removal"), (Self::MemberRequest, "member"), (Self::Feature, "feature")];
    fn label(self) -> &'static str {
        Category::label(self)
    }
}

impl crate::model::page::FilterWord for Status {
    const FIELD: &'static str = "Status";
    const WORDS: &'static [(Self, &'static str)] =
        &[(Self::Pending, "pending"), (Self::Approved, "approved"), (Self::Rejected, "rejected"), (Self::Withdrawn, "withdrawn")];
    fn label(self) -> &'static str {
        Status::label(self)
    }
}
