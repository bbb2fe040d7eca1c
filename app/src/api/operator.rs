//! The operator area.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewFigures {
    pub accounts: u64,
    pub operators: u64,
    pub sessions: u64,
    pub schema_version: u64,
}

/// Figures for the operator's overview page. Operators only.
#[server(prefix = "/api", endpoint = "operator-overview")]
pub async fn operator_overview() -> Result<OverviewFigures, AppError> {
    use crate::server::{auth::guard::Operator, store, AppState};
    Operator::require().await?;
    let state = AppState::current()?;
    let s = state.store.clone();
    let (accounts, operators) = state
        .store
        .read(|tx| {
            Ok((
                store::accounts::count(tx)?,
                store::accounts::count_operators(tx)?,
            ))
        })
        .await?;
    let sessions = store::sessions::RedbSessionStore::new(s.clone())
        .count()
        .await?;
    let schema_version = store::SCHEMA_VERSION;
    Ok(OverviewFigures {
        accounts,
        operators,
        sessions,
        schema_version,
    })
}
