//! Encoding of stored values: JSON bytes, decoded with an error rather than a panic.

use serde::{de::DeserializeOwned, Serialize};

use crate::model::AppError;

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "could not encode a stored value");
        AppError::Internal
    })
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::error!(error = %e, "a stored value could not be decoded");
        AppError::Internal
    })
}
