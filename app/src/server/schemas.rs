//! Shapes of the machine APIs that have no type of their own in the code — the refusal bodies,
//! raw bytes, the headers and path segments read by rule, the device endpoints' forms — as
//! schemas for their OpenAPI description ([`crate::server::openapi`]). A floor below the APIs,
//! so their handlers can name these in their `#[utoipa::path]` attributes.

use utoipa::ToSchema;

/// A refusal of the Studio or container API.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiErrorBody {
    error: ApiErrorDetail,
}

/// What was refused and why.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ApiErrorDetail {
    /// A stable code (`signature_malformed`, `version_not_higher`, `archive_link` …): every code
    /// is listed, with its status, in the response descriptions and the README.
    code: String,
    /// What to do, for people; not for matching.
    message: String,
    /// The field or header the refusal is about, when there is one.
    field: Option<String>,
}

/// A refusal of the device endpoints, in the words of RFC 6749 §5.2 and RFC 8628 §3.5.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct GrantErrorBody {
    /// `authorization_pending`, `slow_down`, `access_denied`, `expired_token`, `invalid_grant`,
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type` or `server_error`.
    error: String,
    error_description: String,
}

/// The refusals several endpoints share, each described once: a failure of the server.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
#[response(status = 500, description = "`internal`.")]
pub struct InternalError(ApiErrorBody);

/// The Studio's refusal of an upload signature (or of the personal access token beside it).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
#[response(
    status = 401,
    description = "`signature_missing`, `unknown_key`, `wrong_key_kind`, `key_revoked`, `key_expired`, `stale_timestamp`, `bad_signature`, `replayed`, `token_invalid`."
)]
pub struct SignatureRefused(ApiErrorBody);

/// The device endpoints' refusals of a form too large, and their failure.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum GrantRefusals {
    #[response(status = 413, description = "`invalid_request`: the form is too large.")]
    TooLarge(GrantErrorBody),
    #[response(status = 500, description = "`server_error`.")]
    ServerError(GrantErrorBody),
}

/// Bytes: a bundle (`application/gzip`) or an icon (`image/png`, `image/jpeg`, `image/webp`).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Bytes(Vec<u8>);

/// A semantic version (SemVer 2.0.0): `1.2.3`, `2.0.0-beta.1`, `1.0.0+build.7`. (The server reads
/// numbers up to 2^64 − 1; the pattern keeps to nine digits.)
#[derive(ToSchema)]
#[schema(value_type = String, example = "1.2.3",
    pattern = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-(0|[1-9][0-9]{0,8}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]{0,8}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$")]
#[allow(dead_code)]
pub struct SemVer(String);

/// An install's opaque id: 8 to 128 visible ASCII characters (spaces inside only).
#[derive(ToSchema)]
#[schema(value_type = String, pattern = r"^[!-~][ -~]{6,126}[!-~]$", example = "8c1e5f0a-install")]
#[allow(dead_code)]
pub struct InstallId(String);

/// A SHA-256 as 64 lowercase hex digits.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = r"^[0-9a-f]{64}$")]
#[allow(dead_code)]
pub struct Sha256(String);

/// A `Range` header: `unit=…` (RFC 9110 §14.1); of bytes, one range: `bytes=a-b`, `bytes=a-` or
/// `bytes=-n`. Another unit is ignored.
#[derive(ToSchema)]
#[schema(value_type = String, pattern = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+=[\t -~]*$", example = "bytes=0-1023")]
#[allow(dead_code)]
pub struct ByteRange(String);

/// A form of the device endpoints (`application/x-www-form-urlencoded`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeviceCodeForm {
    /// Always `mpdp-cli`.
    #[schema(pattern = "^mpdp-cli$")]
    client_id: String,
}

/// The command line's poll for its token.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DeviceTokenForm {
    /// Always `urn:ietf:params:oauth:grant-type:device_code`.
    #[schema(pattern = "^urn:ietf:params:oauth:grant-type:device_code$")]
    grant_type: String,
    /// The `device_code` of the code's answer.
    device_code: String,
    /// Always `mpdp-cli`.
    #[schema(pattern = "^mpdp-cli$")]
    client_id: String,
}
