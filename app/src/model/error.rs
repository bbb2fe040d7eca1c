//! The one error type of the console. Every variant has an HTTP status; the message is what the
//! person reads, so it names the field and the rule. Internal causes are logged on the server and
//! never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(into = "WireError", from = "WireError")]
pub enum AppError {
    /// A field broke a rule: 422.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The value is already taken (a unique email, a name): 409.
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    /// No valid session: 401.
    #[error("You are not signed in. Please log in and try again.")]
    Unauthenticated,
    /// Unknown account or wrong password, deliberately indistinguishable: 401.
    #[error("The email or username and password do not match an account.")]
    InvalidCredentials,
    /// Signed in, but not allowed: 403.
    #[error("{0}")]
    Forbidden(String),
    /// Signed in, but the place asks for two-factor authentication, which the person has not
    /// turned on: 403.
    #[error("{0}")]
    SecondFactorRequired(String),
    /// Signed in, but the workspace admits only sessions signed in with its single sign-on
    /// provider, and this one was not: 403.
    #[error("{0}")]
    SingleSignOnRequired(String),
    /// Signed in, but the action makes a lasting way into the account (a personal access token,
    /// a passkey) and this session signed in too long ago: the person signs in again first: 403.
    #[error("{0}")]
    SignInAgain(String),
    /// Does not exist, or must not be revealed: 404.
    #[error("{0}")]
    NotFound(String),
    /// Too many attempts: 429.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The request itself could not be read (malformed body, missing argument): 400.
    #[error("The request could not be read: {0}")]
    BadRequest(String),
    /// Something failed on the server; details are in the server log: 500.
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
}

/// What a request can name that may not exist (or must not be revealed to the asker), each with
/// the one message its 404 says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Account,
    App,
    Application,
    Delivery,
    Invitation,
    Key,
    Member,
    Message,
    MiniProgram,
    Passkey,
    SsoProvider,
    WebhookEndpoint,
    Workspace,
}

impl Missing {
    pub fn message(self) -> &'static str {
        match self {
            Missing::Account => "No such account.",
            Missing::App => "No such App in this workspace.",
            Missing::Application => "No such application.",
            Missing::Delivery => "No such delivery in this workspace.",
            Missing::Invitation => "This invitation link is not valid.",
            Missing::Key => "No such key for this App.",
            Missing::Member => "No such member in this workspace.",
            Missing::Message => "No such message.",
            Missing::MiniProgram => "No such mini program in this workspace.",
            Missing::Passkey => "You have no such passkey.",
            Missing::SsoProvider => "There is no such single sign-on provider.",
            Missing::WebhookEndpoint => "No such webhook endpoint in this workspace.",
            Missing::Workspace => "No such workspace.",
        }
    }
}

impl From<Missing> for AppError {
    fn from(what: Missing) -> Self {
        AppError::NotFound(what.message().into())
    }
}

/// A read that found nothing, as the 404 of what it names.
pub trait OrMissing<T> {
    fn or_missing(self, what: Missing) -> Result<T, AppError>;
}

impl<T> OrMissing<T> for Option<T> {
    fn or_missing(self, what: Missing) -> Result<T, AppError> {
        self.ok_or(AppError::from(what))
    }
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Conflict {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) | AppError::SecondFactorRequired(_) | AppError::SingleSignOnRequired(_) | AppError::SignInAgain(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::RateLimited { .. } => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal => 500,
        }
    }

    /// The error's stable code, the same in every API's JSON (`invalid`, `conflict`,
    /// `unauthenticated`, `invalid_credentials`, `forbidden`, `second_factor_required`,
    /// `sso_required`, `sign_in_again`, `not_found`, `rate_limited`,
    /// `bad_request`, `internal`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } => "invalid",
            AppError::Conflict { .. } => "conflict",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::SecondFactorRequired(_) => "second_factor_required",
            AppError::SingleSignOnRequired(_) => "sso_required",
            AppError::SignInAgain(_) => "sign_in_again",
            AppError::NotFound(_) => "not_found",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::BadRequest(_) => "bad_request",
            AppError::Internal => "internal",
        }
    }

    /// The form field this error belongs to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::Conflict { field, .. } => Some(field),
            _ => None,
        }
    }
}

/// How an [`AppError`] travels as JSON: `{"kind": "invalid", "field": "Email", "message": "…"}`.
/// `message` is always present so that any client can show it.
#[derive(Serialize, Deserialize)]
struct WireError {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<u64>,
}

impl From<AppError> for WireError {
    fn from(e: AppError) -> Self {
        let (text, kind) = (e.to_string(), e.code());
        let (field, message, retry_after_secs) = match e {
            AppError::Invalid { field, message } | AppError::Conflict { field, message } => (Some(field), message, None),
            AppError::Unauthenticated | AppError::InvalidCredentials | AppError::Internal => (None, text, None),
            AppError::Forbidden(m) | AppError::SecondFactorRequired(m) | AppError::SingleSignOnRequired(m) | AppError::SignInAgain(m) | AppError::NotFound(m) | AppError::BadRequest(m) => (None, m, None),
            AppError::RateLimited { message, retry_after_secs } => (None, message, Some(retry_after_secs)),
        };
        WireError {
            kind: kind.into(),
            field,
            message,
            retry_after_secs,
        }
    }
}

impl From<WireError> for AppError {
    fn from(w: WireError) -> Self {
        let field = w.field.unwrap_or_default();
        match w.kind.as_str() {
            "invalid" => AppError::Invalid {
                field,
                message: w.message,
            },
            "conflict" => AppError::Conflict {
                field,
                message: w.message,
            },
            "unauthenticated" => AppError::Unauthenticated,
            "invalid_credentials" => AppError::InvalidCredentials,
            "forbidden" => AppError::Forbidden(w.message),
            "second_factor_required" => AppError::SecondFactorRequired(w.message),
            "sso_required" => AppError::SingleSignOnRequired(w.message),
            "sign_in_again" => AppError::SignInAgain(w.message),
            "not_found" => AppError::NotFound(w.message),
            "rate_limited" => AppError::RateLimited {
                message: w.message,
                retry_after_secs: w.retry_after_secs.unwrap_or(1),
            },
            "bad_request" => AppError::BadRequest(w.message),
            _ => AppError::Internal,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// Encodes the error as JSON, and — on the server, while the request is answered — gives the
    /// answer this error's status (see [`answer_status`]).
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        answer_status(self);
        use leptos::server_fn::Encodes;
        JsonEncoding::encode(self).unwrap_or_else(|_| JsonEncoding::encode(&AppError::Internal).expect("a unit variant encodes"))
    }

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(m)
            }
            ServerFnErrorErr::Request(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Response(_) => AppError::BadRequest(
                "the server's answer could not be read; check your connection".into(),
            ),
            ServerFnErrorErr::MissingArg(m) => AppError::BadRequest(format!("missing field {m}")),
            ServerFnErrorErr::UnsupportedRequestMethod(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Registration(_) => {
                AppError::NotFound("No such server function.".into())
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                let _ = other;
                AppError::Internal
            }
        }
    }
}

/// Gives the server function's answer the status of `e` (and a rate limit its Retry-After). A
/// plain form post from a browser without JavaScript is answered by a redirect back to its form,
/// which is left as it is.
#[cfg(feature = "ssr")]
fn answer_status(e: &AppError) {
    use http::{header, HeaderValue, StatusCode};
    use leptos::prelude::use_context;
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let plain_form_post = use_context::<http::request::Parts>().is_some_and(|request| {
        let html = request
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
        html && request.headers.contains_key(header::REFERER)
    });
    if plain_form_post {
        return;
    }
    response.set_status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let AppError::RateLimited { retry_after_secs, .. } = e {
        response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_thing_is_a_404_that_says_what_is_missing() {
        let e = AppError::from(Missing::App);
        assert_eq!((e.status(), e.code()), (404, "not_found"));
        assert_eq!(e.to_string(), "No such App in this workspace.");
        assert_eq!(None::<u8>.or_missing(Missing::Workspace), Err(AppError::NotFound("No such workspace.".into())));
        assert_eq!(Some(7).or_missing(Missing::Workspace), Ok(7));
    }

    #[test]
    fn every_variant_has_a_status_and_round_trips() {
        let all = [
            AppError::invalid("email", "must contain @"),
            AppError::conflict("username", "is taken"),
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::Forbidden("no".into()),
            AppError::SecondFactorRequired("two factors".into()),
            AppError::SingleSignOnRequired("single sign-on".into()),
            AppError::SignInAgain("again".into()),
            AppError::NotFound("gone".into()),
            AppError::RateLimited {
                message: "slow down".into(),
                retry_after_secs: 3,
            },
            AppError::BadRequest("bad".into()),
            AppError::Internal,
        ];
        let statuses: Vec<u16> = all.iter().map(AppError::status).collect();
        assert_eq!(statuses, vec![422, 409, 401, 401, 403, 403, 403, 403, 404, 429, 400, 500]);
        for e in all {
            let back = AppError::de(e.ser());
            assert_eq!(back, e);
        }
    }

    #[test]
    fn the_wire_form_always_carries_a_message() {
        let json = serde_json::to_value(AppError::invalid("Email", "must contain @")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "invalid", "field": "Email", "message": "must contain @"})
        );
        let json = serde_json::to_value(AppError::Forbidden("no".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "forbidden", "message": "no"})
        );
        let json = serde_json::to_value(AppError::InvalidCredentials).unwrap();
        assert!(json["message"].as_str().unwrap().contains("do not match"));
    }

    #[test]
    fn message_names_the_field() {
        assert_eq!(
            AppError::invalid("Email", "must contain @").to_string(),
            "Email: must contain @"
        );
    }
}
