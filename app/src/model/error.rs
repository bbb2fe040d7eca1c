//! The one error type of the console. Every variant has an HTTP status; the message is what the
//! person reads, so it names the field and the rule. Internal causes are logged on the server and
//! never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
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
    /// Does not exist, or must not be revealed: 404.
    #[error("{0}")]
    NotFound(String),
    /// Too many attempts: 429.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// The request itself could not be read (malformed body, missing argument): 400.
    #[error("The request could not be read: {0}")]
    BadRequest(String),
    /// Something failed on the server; details are in the server log: 500.
    #[error("Something went wrong on the server. It has been logged; please try again.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.into(), message: message.into() }
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Conflict { field: field.into(), message: message.into() }
    }

    /// The HTTP status code of this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::Conflict { .. } => 409,
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::RateLimited { .. } => 429,
            AppError::BadRequest(_) => 400,
            AppError::Internal => 500,
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

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Request(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Response(_) => {
                AppError::BadRequest("the server's answer could not be read; check your connection".into())
            }
            ServerFnErrorErr::MissingArg(m) => AppError::BadRequest(format!("missing field {m}")),
            ServerFnErrorErr::UnsupportedRequestMethod(m) => AppError::BadRequest(m),
            ServerFnErrorErr::Registration(_) => AppError::NotFound("No such server function.".into()),
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failure");
                let _ = other;
                AppError::Internal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_status_and_round_trips() {
        let all = [
            AppError::invalid("email", "must contain @"),
            AppError::conflict("username", "is taken"),
            AppError::Unauthenticated,
            AppError::InvalidCredentials,
            AppError::Forbidden("no".into()),
            AppError::NotFound("gone".into()),
            AppError::RateLimited { message: "slow down".into(), retry_after_secs: 3 },
            AppError::BadRequest("bad".into()),
            AppError::Internal,
        ];
        let statuses: Vec<u16> = all.iter().map(AppError::status).collect();
        assert_eq!(statuses, vec![422, 409, 401, 401, 403, 404, 429, 400, 500]);
        for e in all {
            let back = AppError::de(e.ser());
            assert_eq!(back, e);
        }
    }

    #[test]
    fn message_names_the_field() {
        assert_eq!(AppError::invalid("Email", "must contain @").to_string(), "Email: must contain @");
    }
}
