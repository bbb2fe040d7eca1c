//! Status badges: one colour per meaning, decided by a typed status — never by the English label.

use leptos::prelude::*;

use crate::model::workspace::{ApplicationStatus, WorkspaceStatus};
use crate::model::page::FilterWord;

/// What a status means to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Done, live, allowed (Active, Sent, Verified, Generated).
    Positive,
    /// Waiting on someone (Pending, Queued, Unverified).
    Waiting,
    /// Stopped or refused (Suspended, Inactive, Rejected, Failed, Expired).
    Negative,
    /// Closed without a verdict (Withdrawn).
    Neutral,
    /// A marker, not a state ("This browser").
    Info,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Positive => "badge badge-positive",
            Tone::Waiting => "badge badge-waiting",
            Tone::Negative => "badge badge-negative",
            Tone::Neutral => "badge badge-neutral",
            Tone::Info => "badge badge-info",
        }
    }
}

/// A label with its meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub label: String,
    pub tone: Tone,
}

impl Badge {
    pub fn new(label: impl Into<String>, tone: Tone) -> Badge {
        Badge { label: label.into(), tone }
    }

    /// A member: Active or Inactive (blocked).
    /// The release target's state: up to date, changes waiting, or failing.
    pub fn publishing(p: &crate::model::workspace::PublishingView) -> Badge {
        match (p.failures, p.pending) {
            (0, 0) => Badge::new("Up to date", Tone::Positive),
            (0, n) => Badge::new(format!("{n} {} waiting", if n == 1 { "change" } else { "changes" }), Tone::Waiting),
            (f, _) => Badge::new(format!("Failing ({f} {})", if f == 1 { "attempt" } else { "attempts" }), Tone::Negative),
        }
    }

    pub fn member(active: bool) -> Badge {
        if active {
            Badge::new("Active", Tone::Positive)
        } else {
            Badge::new("Inactive", Tone::Negative)
        }
    }

    /// An email address: Verified or Unverified.
    pub fn email(verified: bool) -> Badge {
        if verified {
            Badge::new("Verified", Tone::Positive)
        } else {
            Badge::new("Unverified", Tone::Waiting)
        }
    }

    /// Whether login asks for a second factor.
    pub fn second_factor(on: bool) -> Badge {
        if on {
            Badge::new("On", Tone::Positive)
        } else {
            Badge::new("Off", Tone::Neutral)
        }
    }

    /// An outbox message's delivery state.
    pub fn mail(state: &str) -> Badge {
        let tone = match state {
            "Sent" => Tone::Positive,
            "Failed" => Tone::Negative,
            _ => Tone::Waiting,
        };
        Badge::new(state, tone)
    }
}

/// A typed status's badge: its own label, with the tone each of its variants means.
macro_rules! status_tones {
    ($($status:ty { $($variant:ident => $tone:ident),+ $(,)? })+) => {$(
        impl From<$status> for Badge {
            fn from(s: $status) -> Badge {
                type Status = $status;
                let tone = match s {
                    $(Status::$variant => Tone::$tone,)+
                };
                Badge::new(s.label(), tone)
            }
        }
    )+};
}

status_tones! {
    WorkspaceStatus { Active => Positive, Suspended => Negative }
    ApplicationStatus { Pending => Waiting, Generated => Positive, Rejected => Negative, Withdrawn => Neutral }
    crate::model::approvals::Status { Pending => Waiting, Approved => Positive, Rejected => Negative, Withdrawn => Neutral }
    crate::model::webhooks::DeliveryState { Queued => Waiting, Delivered => Positive, Failed => Negative }
}

#[component]
pub fn StatusBadge(#[prop(into)] status: Badge) -> impl IntoView {
    view! { <span class=status.tone.class()>{status.label}</span> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_meaning() {
        assert_eq!(Badge::from(ApplicationStatus::Pending).tone, Tone::Waiting);
        assert_eq!(Badge::from(WorkspaceStatus::Suspended).tone, Tone::Negative);
        assert_eq!(Badge::mail("Queued").tone, Tone::Waiting);
        assert_eq!(Badge::mail("Sent").tone, Tone::Positive);
        assert_eq!(Badge::mail("Failed").tone, Tone::Negative);
        assert_eq!(Badge::member(false).label, "Inactive");
    }
}
