//! Requests for changes to a workspace's information, and the operator's list of them.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, put};
use super::tables::*;
use super::listing::{self, List, Listed, Row, Window};
use crate::model::workspace::*;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: Uuid,
    pub workspace: Uuid,
    pub workspace_name: String,
    pub requester: Uuid,
    pub requester_name: String,
    pub what: String,
    pub why: String,
    pub created: DateTime<Utc>,
}

/// The operator's list of requests for changes to workspaces' information.
pub const CHANGE_REQUEST_LIST: List = List { code: 8, sorts: &["created"], default_sort: "-created" };

fn index_change_request(tx: &WriteTransaction, c: &ChangeRequest) -> Result<(), AppError> {
    listing::set(tx, CHANGE_REQUEST_LIST, 0, c.id.as_u128(), Some(&Row::new(&[], vec![c.created.into()])))
}

/// Requests for changes to workspaces' information; only the page's are read.
pub fn list_change_requests(tx: &ReadTransaction, window: &Window) -> Result<Listed<ChangeRequestView>, AppError> {
    let t = tx.open_table(CHANGE_REQUESTS)?;
    let query = listing::Query { scope: 0, filter: 0, window };
    listing::page(tx, CHANGE_REQUEST_LIST, &query, |id| {
        let Some(v) = t.get(id)? else { return Ok(None) };
        let c: ChangeRequest = decode(v.value())?;
        Ok(Some(ChangeRequestView {
            id: c.id,
            workspace: c.workspace_name,
            requester: c.requester_name,
            what: c.what,
            why: c.why,
            created: c.created,
        }))
    })
}

pub fn insert_change_request(tx: &WriteTransaction, c: &ChangeRequest) -> Result<(), AppError> {
    put(tx, CHANGE_REQUESTS, c.id.as_u128(), c)?;
    index_change_request(tx, c)
}

/// Lists every change request again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, CHANGE_REQUEST_LIST)?;
    listing::records::<_, ChangeRequest>(tx, CHANGE_REQUESTS)?.iter().try_for_each(|r| index_change_request(tx, r))
}
