//! Types and rules shared by the browser and the server. A rule lives here once; the form and
//! the server both call it.

pub mod account;
pub mod error;
pub mod mcc;
pub mod workspace;

pub use error::AppError;
