//! The one authorization table lives in `model::policy`, shared with the browser so the console
//! shows only what a role may open; the server consults the same table on every request.

pub use crate::model::policy::*;
