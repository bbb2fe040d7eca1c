//! Webhooks: the events a workspace's endpoints can subscribe to, what the console shows of an
//! endpoint and of its deliveries, and the rules a form and the server share.
//!
//! Deliveries follow the Standard Webhooks scheme: a JSON body `{"type", "timestamp", "data"}`
//! and the headers `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` and the
//! base64 HMAC-SHA256, keyed with the endpoint's secret, of `{id}.{timestamp}.{body}`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::AuditAction;
use super::AppError;

coded_enum! {
    /// What an endpoint can be told about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    WebhookEvent {
        VersionUploaded => "version.uploaded", "A version was uploaded";
        ApplicationFiled => "application.filed", "An application was filed for review";
        ApplicationDecided => "application.decided", "An application was approved or rejected";
        ApplicationWithdrawn => "application.withdrawn", "An application was withdrawn by its applicant";
        ReleaseChanged => "release.changed", "A release changed (released, raised, resumed, completed)";
        ReleasePaused => "release.paused", "A rollout was paused";
        ReleaseRolledBack => "release.rolled_back", "A release was rolled back or its rollout aborted";
        MemberJoined => "member.joined", "A member joined";
        MemberBlocked => "member.blocked", "A member was blocked";
    }
}

/// The `type` of the event "Send a test event" delivers (not one an endpoint subscribes to).
pub const TEST_EVENT: &str = "webhook.test";

impl WebhookEvent {
    /// The event an entry of a workspace's audit log raises, if any. A `match`, so a new audit
    /// action has to say whether endpoints hear of it.
    pub fn of(action: AuditAction) -> Option<WebhookEvent> {
        use AuditAction::*;
        match action {
            MiniProgramVersionUploaded => Some(WebhookEvent::VersionUploaded),
            ApprovalApplied => Some(WebhookEvent::ApplicationFiled),
            ApprovalApproved | ApprovalRejected => Some(WebhookEvent::ApplicationDecided),
            ApprovalWithdrawn => Some(WebhookEvent::ApplicationWithdrawn),
            MiniProgramReleased | ReleaseRaised | ReleaseResumed | ReleaseCompleted => Some(WebhookEvent::ReleaseChanged),
            ReleasePaused => Some(WebhookEvent::ReleasePaused),
            ReleaseRolledBack | ReleaseAborted => Some(WebhookEvent::ReleaseRolledBack),
            MemberJoined | MemberAdmitted => Some(WebhookEvent::MemberJoined),
            MemberBlocked => Some(WebhookEvent::MemberBlocked),
            WorkspaceApplicationSubmitted | WorkspaceApplicationWithdrawn | WorkspaceApplicationRejected
            | WorkspaceGenerated | WorkspaceInfoEdited | WorkspaceChangeRequested | WorkspaceSuspended
            | WorkspaceReactivated | WorkspaceSignInPolicyChanged | MemberInvited | MemberInvitationResent
            | MemberInvitationRevoked | MemberAdmissionRevoked | MemberRoleChanged | MemberUnblocked
            | MemberRemoved | MemberLeft | AppCreated | AppKeyCreated | AppKeyRotated | AppKeyRevoked
            | AppUploadScopeChanged | AppTestDevicesChanged | MiniProgramCreated | MiniProgramEdited
            | MiniProgramAssigned | MiniProgramUnassigned | MiniProgramVersionRetired | MiniProgramRemoved
            | MiniProgramFeatureActivated | ReleaseHealthRuleChanged | AccountSignedUp
            | AccountSignedIn | AccountSignInFailed | AccountSignedOut | AccountPasswordChanged
            | AccountPasswordResetRequested | AccountPasswordReset | AccountEmailVerified
            | AccountEmailChangeRequested | AccountEmailChanged | AccountSessionRevoked | AccountMarkedVerified
            | AccountSecondFactorEnabled | AccountSecondFactorDisabled | AccountSecondFactorReset
            | AccountSecondFactorFailed | AccountTokenCreated | AccountTokenRevoked | AccountPasskeyAdded
            | AccountPasskeyRemoved | SsoProviderSaved | SsoProviderDeleted | WorkspaceSingleSignOnChanged
            | WebhookEndpointAdded | WebhookEndpointChanged | WebhookEndpointDeleted | WebhookTestSent | WebhookDeliveryResent => None,
        }
    }
}

/// The form's field names, as refusals name them.
pub const URL_FIELD: &str = "Endpoint URL";
pub const EVENTS_FIELD: &str = "Events";
pub const DESCRIPTION_FIELD: &str = "Description";
pub const ENABLED_FIELD: &str = "Enabled";

/// The longest endpoint URL.
pub const URL_MAX: usize = 2000;
/// The longest description.
pub const DESCRIPTION_MAX: usize = 200;
/// Endpoints per workspace.
pub const ENDPOINTS_MAX: usize = 20;
/// Deliveries one endpoint may have waiting (queued for their first attempt or a retry): an
/// event beyond them is recorded as failed, not queued, and a test event or a re-send is refused.
pub const WAITING_MAX: u64 = 1000;
/// What a refusal for too many waiting deliveries names.
pub const DELIVERIES_FIELD: &str = "Deliveries";

/// Why an event was not queued, or a test event or re-send refused: the endpoint already has
/// [`WAITING_MAX`] deliveries waiting.
pub fn too_many_waiting() -> String {
    format!("the endpoint has {WAITING_MAX} deliveries waiting, the most one endpoint may have; wait until they are delivered or fail")
}

/// Reads the events ticked in a form: at least one, each known, none twice (kept in the order of
/// [`WebhookEvent::ALL`]).
pub fn parse_events(codes: &[String]) -> Result<Vec<WebhookEvent>, AppError> {
    let mut events = Vec::new();
    for code in codes {
        let e = WebhookEvent::parse(code.trim()).ok_or_else(|| {
            let known: Vec<&str> = WebhookEvent::ALL.iter().map(|e| e.code()).collect();
            AppError::invalid(EVENTS_FIELD, format!("\"{}\" is not an event; the events are {}", code.trim(), known.join(", ")))
        })?;
        if !events.contains(&e) {
            events.push(e);
        }
    }
    if events.is_empty() {
        return Err(AppError::invalid(EVENTS_FIELD, "choose at least one event"));
    }
    events.sort_by_key(|e| WebhookEvent::ALL.iter().position(|a| a == e));
    Ok(events)
}

/// Checks a description: at most [`DESCRIPTION_MAX`] characters, no control characters.
pub fn check_description(text: &str) -> Result<String, AppError> {
    let t = super::text::at_most(DESCRIPTION_FIELD, text, DESCRIPTION_MAX)?;
    if t.chars().any(char::is_control) {
        return Err(AppError::invalid(DESCRIPTION_FIELD, "must be one line of text"));
    }
    Ok(t)
}

/// An endpoint as the console shows it to a Workspace Admin. The endpoint's own page (read or
/// just saved) carries its signing secret, which a Workspace Admin may read as the receiver's
/// developers need it; the list of endpoints carries none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointView {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    /// The signing secret (`whsec_…`) on the endpoint's own page; `None` (and absent from the
    /// JSON) in the list of endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created: DateTime<Utc>,
    pub created_by: String,
}

impl EndpointView {
    pub fn events_text(&self) -> String {
        self.events.iter().map(|e| e.code()).collect::<Vec<_>>().join(", ")
    }
}

/// An endpoint just made (or its secret just replaced), and its signing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecret {
    pub endpoint: Uuid,
    pub secret: String,
}

/// Where a delivery is: waiting (for its first attempt or a retry), delivered, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryState {
    Queued,
    Delivered,
    Failed,
}

impl super::page::FilterWord for DeliveryState {
    const FIELD: &'static str = "State";
    const WORDS: &'static [(Self, &'static str)] = &[(Self::Queued, "queued"), (Self::Delivered, "delivered"), (Self::Failed, "failed")];
    fn label(self) -> &'static str {
        match self {
            Self::Queued => "Queued",
            Self::Delivered => "Delivered",
            Self::Failed => "Failed",
        }
    }
}

/// One attempt to deliver: when, the receiver's status (none when no answer came), the start of
/// its answer, or why nothing was sent or heard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    /// The first bytes of the answer's body (at most [`ANSWER_MAX`]).
    pub answer: String,
    pub error: Option<String>,
    pub millis: u64,
}

/// How much of a receiver's answer is kept.
pub const ANSWER_MAX: usize = 1024;

impl Attempt {
    /// The outcome in a few words: "200", "500: …", "timed out".
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), None) => s.to_string(),
            (Some(s), Some(e)) => format!("{s}: {e}"),
            (None, Some(e)) => e.clone(),
            (None, None) => "no answer".into(),
        }
    }
}

/// A delivery as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: Uuid,
    pub endpoint: Uuid,
    /// The event's `type`.
    pub event: String,
    pub state: DeliveryState,
    pub created: DateTime<Utc>,
    /// When the next attempt is due, while queued.
    pub next_attempt: Option<DateTime<Utc>>,
    /// Every attempt, oldest first (the newest [`ATTEMPTS_KEPT`]).
    pub attempts: Vec<Attempt>,
    /// The body every attempt sends.
    pub payload: String,
}

/// How many attempts a delivery keeps the record of.
pub const ATTEMPTS_KEPT: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_back_and_the_form_is_checked() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.code()), Some(*e));
        }
        assert_eq!(
            parse_events(&["member.blocked".into(), "version.uploaded".into(), "member.blocked".into()]).unwrap(),
            vec![WebhookEvent::VersionUploaded, WebhookEvent::MemberBlocked]
        );
        let e = parse_events(&["version.deleted".into()]).unwrap_err().to_string();
        assert!(e.starts_with("Events: \"version.deleted\" is not an event"), "{e}");
        assert_eq!(parse_events(&[]).unwrap_err().to_string(), "Events: choose at least one event");
        assert!(check_description("x\ny").is_err());
        assert!(check_description(&"x".repeat(DESCRIPTION_MAX + 1)).is_err());
    }

    #[test]
    fn every_event_is_raised_by_some_audit_action() {
        for e in WebhookEvent::ALL {
            assert!(AuditAction::ALL.iter().any(|a| WebhookEvent::of(*a) == Some(*e)), "{e:?} is never raised");
        }
        for a in AuditAction::ALL {
            if a.is_account() {
                assert_eq!(WebhookEvent::of(*a), None, "account events stay private: {a:?}");
            }
        }
    }
}
