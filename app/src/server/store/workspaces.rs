//! Workspaces: their records, their unique names, the operator's list of them, and the
//! workspaces an account belongs to.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{one, put};
use super::members::membership;
use super::effects::{caused, Effect};
use super::tables::*;
use super::listing::{self, Dimension, List, Listed, Row, Window};
use crate::model::page::KeyValue;
use crate::model::workspace::*;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    /// Stored as the record's own fields (`mcc`, `address`, `representatives`).
    #[serde(flatten)]
    pub info: RegisteredInfo,
    pub status: WorkspaceStatus,
    pub status_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub application: Uuid,
    /// Whether every member must sign in with two factors: a member without a second factor is
    /// refused every page and action of the workspace until they turn one on. Absent in records
    /// written before the setting existed: not required.
    #[serde(default)]
    pub require_second_factor: bool,
    /// The workspace's single sign-on provider, whether it is required, and its group roles.
    /// Absent in records written before single sign-on existed: none.
    #[serde(default)]
    pub single_sign_on: Option<crate::model::workspace::WorkspaceSso>,
}

impl Workspace {
    pub fn view(&self) -> WorkspaceView {
        WorkspaceView {
            id: self.id,
            name: self.name.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            info: self.info.clone(),
            scope: self.info.scope(),
            created: self.created,
            require_second_factor: self.require_second_factor,
            single_sign_on: self.single_sign_on.clone(),
        }
    }
}

// ---- names ----------------------------------------------------------------------------------

/// True when a workspace has the name (ignoring case).
pub fn workspace_name_taken(tx: &WriteTransaction, name: &str) -> Result<bool, AppError> {
    Ok(tx
        .open_table(WORKSPACES_BY_NAME)?
        .get(workspace_name_key(name).as_str())?
        .is_some())
}

/// The operator's list of workspaces, searched by name.
pub const WORKSPACE_LIST: List = List { code: 7, sorts: &["name", "created"], default_sort: "name" };

impl Dimension for WorkspaceStatus {
    fn code_in_index(self) -> u32 {
        match self {
            WorkspaceStatus::Active => 1,
            WorkspaceStatus::Suspended => 2,
        }
    }
}

fn index_workspace(tx: &WriteTransaction, w: &Workspace) -> Result<(), AppError> {
    let row = Row::new(&[w.status.code_in_index()], vec![KeyValue::Text(w.name.clone()), w.created.into()]);
    listing::set(tx, WORKSPACE_LIST, 0, w.id.as_u128(), Some(&row))
}

/// All workspaces, those whose name contains `query`. Without a search only the page's
/// workspaces are read.
pub fn list_workspaces(tx: &ReadTransaction, query: &str, window: &Window) -> Result<Listed<WorkspaceView>, AppError> {
    let matches = |w: &Workspace, q: &str| w.name.to_lowercase().contains(q);
    listing::find(tx, WORKSPACE_LIST, WORKSPACES, &listing::Query { scope: 0, filter: 0, window }, query, matches, Workspace::view)
}

/// Lists every workspace again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, WORKSPACE_LIST)?;
    listing::records::<_, Workspace>(tx, WORKSPACES)?.iter().try_for_each(|w| index_workspace(tx, w))
}

// ---- workspaces -----------------------------------------------------------------------------

pub fn insert_workspace(tx: &WriteTransaction, w: &Workspace) -> Result<(), AppError> {
    let key = workspace_name_key(&w.name);
    let mut by_name = tx.open_table(WORKSPACES_BY_NAME)?;
    if by_name.get(key.as_str())?.is_some() {
        return Err(AppError::conflict(
            "Workspace Name",
            "is already taken by a workspace",
        ));
    }
    by_name.insert(key.as_str(), w.id.as_u128())?;
    put(tx, WORKSPACES, w.id.as_u128(), w)?;
    index_workspace(tx, w)
}

pub fn update_workspace(tx: &WriteTransaction, w: &Workspace) -> Result<(), AppError> {
    caused(Effect::Served);
    put(tx, WORKSPACES, w.id.as_u128(), w)?;
    index_workspace(tx, w)
}

pub fn get_workspace(tx: &impl Reads, id: Uuid) -> Result<Option<Workspace>, AppError> {
    tx.row(WORKSPACES, id.as_u128())
}

pub fn workspace_by_name(tx: &impl Reads, name: &str) -> Result<Option<Workspace>, AppError> {
    by_name_in(&tx.open(WORKSPACES_BY_NAME)?, &tx.open(WORKSPACES)?, name)
}

fn by_name_in(
    names: &impl ReadableTable<&'static str, u128>,
    workspaces: &impl ReadableTable<u128, &'static [u8]>,
    name: &str,
) -> Result<Option<Workspace>, AppError> {
    let Some(id) = names.get(workspace_name_key(name).as_str())?.map(|v| v.value()) else {
        return Ok(None);
    };
    one(workspaces, id)
}

// ---- memberships (the records are the members list's: see `members`) -----------------------

/// The workspaces an account belongs to (active memberships only), by name.
pub fn workspaces_of(tx: &ReadTransaction, account: Uuid) -> Result<Vec<MyWorkspace>, AppError> {
    let index = tx.open_table(MEMBERSHIPS_BY_ACCOUNT)?;
    let a = account.as_u128();
    let mut out = Vec::new();
    for row in index.range((a, 0)..=(a, u128::MAX))? {
        let (_, ws) = row?.0.value();
        let ws = Uuid::from_u128(ws);
        if let (Some(m), Some(w)) = (membership(tx, ws, account)?, get_workspace(tx, ws)?) {
            if m.active {
                out.push(MyWorkspace {
                    id: w.id,
                    name: w.name,
                    status: w.status,
                    role: m.role,
                });
            }
        }
    }
    out.sort_by_key(|w| w.name.to_lowercase());
    Ok(out)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A workspace named `name` in `status`, for the tests.
    pub(crate) fn workspace(name: &str, status: WorkspaceStatus) -> Workspace {
        Workspace {
            id: Uuid::new_v4(),
            name: name.into(),
            info: RegisteredInfo { mcc: "5812".into(), address: "1 Main St".into(), representatives: vec![] },
            status,
            status_reason: None,
            created: Utc::now(),
            application: Uuid::new_v4(),
            require_second_factor: false,
            single_sign_on: None,
        }
    }
}
