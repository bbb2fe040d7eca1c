//! The Studio API's wire as this client speaks it: the headers an upload carries, and the
//! answers' bodies.

use serde::Deserialize;

/// The header naming the uploaded version.
pub(super) const VERSION_HEADER: &str = "MPDP-Version";
/// The header carrying the percent-encoded note.
pub(super) const NOTE_HEADER: &str = "MPDP-Note";

/// A version as the Studio API describes it.
#[derive(Debug, Deserialize)]
pub struct VersionInfo {
    pub version: String,
    pub state: String,
    pub size: u64,
    pub sha256: String,
    /// Who uploaded it (shown as the server gives it).
    #[serde(default)]
    pub uploader: serde_json::Value,
    /// When it was uploaded (shown as the server gives it).
    #[serde(default)]
    pub created: serde_json::Value,
}

#[derive(Deserialize)]
pub(super) struct UploadAnswer {
    pub(super) version: VersionInfo,
    pub(super) console_url: String,
}

/// The answer to `mpdp studio publish`: the application filed.
#[derive(Deserialize)]
pub(super) struct Applied {
    pub console_url: String,
}

#[derive(Deserialize)]
pub(super) struct VersionsAnswer {
    pub(super) versions: Vec<VersionInfo>,
}

#[derive(Deserialize)]
pub(super) struct ErrorAnswer {
    pub(super) error: ErrorBody,
}

#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) code: String,
    pub(super) message: String,
}
