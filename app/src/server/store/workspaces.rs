//! Workspace applications, workspaces, memberships and pending admissions.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, encode};
use super::members::{membership, put_membership, Membership};
use super::effects::{caused, Effect};
use super::tables::*;
use crate::model::account::email_key;
use crate::model::mcc::mcc_description;
use super::listing::{self, List, Listed, Row};
use crate::model::page::{KeyValue, Sort};
use crate::model::workspace::*;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceApplication {
    pub id: Uuid,
    pub applicant: Uuid,
    pub applicant_name: String,
    pub name: String,
    pub mcc: String,
    pub address: String,
    pub representatives: Vec<Representative>,
    pub status: ApplicationStatus,
    pub reason: Option<String>,
    pub created: DateTime<Utc>,
    pub decided: Option<DateTime<Utc>>,
    pub workspace_id: Option<Uuid>,
}

impl WorkspaceApplication {
    pub fn view(&self) -> ApplicationView {
        ApplicationView {
            id: self.id,
            applicant: self.applicant_name.clone(),
            name: self.name.clone(),
            mcc: self.mcc.clone(),
            mcc_description: mcc_description(&self.mcc).unwrap_or("").into(),
            address: self.address.clone(),
            representatives: self.representatives.clone(),
            status: self.status,
            reason: self.reason.clone(),
            created: self.created,
            decided: self.decided,
            workspace_id: self.workspace_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: Uuid,
    pub name: String,
    pub mcc: String,
    pub address: String,
    pub representatives: Vec<Representative>,
    pub status: WorkspaceStatus,
    pub status_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub application: Uuid,
}

impl Workspace {
    pub fn view(&self) -> WorkspaceView {
        WorkspaceView {
            id: self.id,
            name: self.name.clone(),
            status: self.status,
            status_reason: self.status_reason.clone(),
            address: self.address.clone(),
            mcc: self.mcc.clone(),
            mcc_description: mcc_description(&self.mcc).unwrap_or("").into(),
            representatives: self.representatives.clone(),
            created: self.created,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingAdmission {
    pub role: Role,
    pub added: DateTime<Utc>,
}

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

// ---- names ----------------------------------------------------------------------------------

/// True when a workspace has the name (ignoring case).
pub fn workspace_name_taken(tx: &WriteTransaction, name: &str) -> Result<bool, AppError> {
    Ok(tx
        .open_table(WORKSPACES_BY_NAME)?
        .get(workspace_name_key(name).as_str())?
        .is_some())
}

// ---- applications ---------------------------------------------------------------------------

/// The pending applications of `applicant`: (case-folded name, application id).
pub fn pending_of_applicant(tx: &WriteTransaction, applicant: Uuid) -> Result<Vec<(String, Uuid)>, AppError> {
    let a = applicant.as_u128();
    let mut out = Vec::new();
    for row in tx.open_table(PENDING_APPLICATIONS)?.range((a, "")..)? {
        let (k, v) = row?;
        let (who, name) = k.value();
        if who != a {
            break;
        }
        out.push((name.to_string(), Uuid::from_u128(v.value())));
    }
    Ok(out)
}

/// Stores a pending application. Refused (409): a name a workspace has; a name the applicant
/// already has a pending application for; more than `PENDING_APPLICATIONS_MAX` pending.
///
/// A pending application of *another* account does not keep the name from anyone: refusing it
/// would tell every applicant which names others have asked for, before anything is generated.
/// Two applications may then ask for one name; the operator generates at most one of them (the
/// name is unique among workspaces) and rejects the other.
pub fn insert_application(tx: &WriteTransaction, a: &WorkspaceApplication) -> Result<(), AppError> {
    let key = workspace_name_key(&a.name);
    if workspace_name_taken(tx, &a.name)? {
        return Err(AppError::conflict("Workspace Name", "is already the name of a workspace"));
    }
    let mine = pending_of_applicant(tx, a.applicant)?;
    if mine.iter().any(|(name, _)| *name == key) {
        return Err(AppError::conflict(
            "Workspace Name",
            "you already have a pending application for this name; wait for the operator's decision or withdraw it",
        ));
    }
    if mine.len() >= PENDING_APPLICATIONS_MAX {
        return Err(AppError::conflict(
            "Workspace application",
            format!(
                "you already have {PENDING_APPLICATIONS_MAX} pending applications, the most one account may have; wait for the operator's decisions or withdraw one"
            ),
        ));
    }
    tx.open_table(PENDING_APPLICATIONS)?
        .insert((a.applicant.as_u128(), key.as_str()), a.id.as_u128())?;
    let created = a.created.timestamp_millis();
    tx.open_table(APPLICATIONS_BY_APPLICANT)?
        .insert((a.applicant.as_u128(), created, a.id.as_u128()), ())?;
    tx.open_table(APPLICATIONS_BY_STATUS)?
        .insert((a.status.code(), created, a.id.as_u128()), ())?;
    tx.open_table(APPLICATIONS)?
        .insert(a.id.as_u128(), encode(a)?.as_slice())?;
    index_application(tx, a)
}

pub fn get_application(
    tx: &impl Reads,
    id: Uuid,
) -> Result<Option<WorkspaceApplication>, AppError> {
    let t = tx.open(APPLICATIONS)?;
    let v = t.get(id.as_u128())?;
    v.map(|v| decode(v.value())).transpose()
}

/// Moves a pending application to its decided state; it no longer counts among its applicant's
/// pending ones.
pub fn decide_application(tx: &WriteTransaction, a: &WorkspaceApplication) -> Result<(), AppError> {
    let created = a.created.timestamp_millis();
    let mut by_status = tx.open_table(APPLICATIONS_BY_STATUS)?;
    by_status.remove((ApplicationStatus::Pending.code(), created, a.id.as_u128()))?;
    by_status.insert((a.status.code(), created, a.id.as_u128()), ())?;
    let mut pending = tx.open_table(PENDING_APPLICATIONS)?;
    let key = (a.applicant.as_u128(), workspace_name_key(&a.name));
    if pending.get((key.0, key.1.as_str()))?.is_some_and(|v| v.value() == a.id.as_u128()) {
        pending.remove((key.0, key.1.as_str()))?;
    }
    drop(pending);
    tx.open_table(APPLICATIONS)?
        .insert(a.id.as_u128(), encode(a)?.as_slice())?;
    index_application(tx, a)
}

pub fn applications_of(
    tx: &ReadTransaction,
    applicant: Uuid,
) -> Result<Vec<WorkspaceApplication>, AppError> {
    let index = tx.open_table(APPLICATIONS_BY_APPLICANT)?;
    let id = applicant.as_u128();
    let mut out = Vec::new();
    for row in index
        .range((id, i64::MIN, 0)..=(id, i64::MAX, u128::MAX))?
        .rev()
    {
        let (_, _, app) = row?.0.value();
        if let Some(a) = get_application(tx, Uuid::from_u128(app))? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The operator's queue of workspace applications, filtered by status.
pub const APPLICATION_LIST: List = List { code: 6, sorts: &["created", "name"] };

/// How the operator's queue can be sorted.
pub const APPLICATION_SORTS: &[&str] = APPLICATION_LIST.sorts;

fn index_application(tx: &WriteTransaction, a: &WorkspaceApplication) -> Result<(), AppError> {
    let row = Row::new(
        &[u32::from(a.status.code()) + 1],
        vec![KeyValue::Int(a.created.timestamp_micros()), KeyValue::Text(a.name.clone())],
    );
    listing::set(tx, APPLICATION_LIST, 0, a.id.as_u128(), Some(&row))
}

/// How many workspace applications have `status` (`None`: any).
pub fn count_applications(tx: &ReadTransaction, status: Option<ApplicationStatus>) -> Result<u64, AppError> {
    listing::count(tx, APPLICATION_LIST, 0, listing::filter(&[status.map(|s| u32::from(s.code()) + 1)]))
}

/// The operator's queue: by status, searched by name. Without a search only the page's
/// applications are read.
pub fn list_applications(
    tx: &ReadTransaction,
    status: Option<ApplicationStatus>,
    query: &str,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Listed<ApplicationView>, AppError> {
    let t = tx.open_table(APPLICATIONS)?;
    let q = query.trim().to_lowercase();
    let filter = listing::filter(&[status.map(|s| u32::from(s.code()) + 1)]);
    let query = listing::Query { scope: 0, filter, sort, cursor, per_page };
    let application = |id: u128| t.get(id)?.map(|v| decode::<WorkspaceApplication>(v.value())).transpose();
    if q.is_empty() {
        return listing::page(tx, APPLICATION_LIST, &query, |id| Ok(application(id)?.map(|a| a.view())));
    }
    listing::search(tx, APPLICATION_LIST, &query, |id| {
        Ok(application(id)?.filter(|a| a.name.to_lowercase().contains(&q)).map(|a| a.view()))
    })
}

/// The operator's list of workspaces, searched by name.
pub const WORKSPACE_LIST: List = List { code: 7, sorts: &["name", "created"] };

/// How the operator's workspace list can be sorted.
pub const WORKSPACE_SORTS: &[&str] = WORKSPACE_LIST.sorts;

fn index_workspace(tx: &WriteTransaction, w: &Workspace) -> Result<(), AppError> {
    let status = match w.status {
        WorkspaceStatus::Active => 1,
        WorkspaceStatus::Suspended => 2,
    };
    let row = Row::new(&[status], vec![KeyValue::Text(w.name.clone()), KeyValue::Int(w.created.timestamp_micros())]);
    listing::set(tx, WORKSPACE_LIST, 0, w.id.as_u128(), Some(&row))
}

/// All workspaces, those whose name contains `query`. Without a search only the page's
/// workspaces are read.
pub fn list_workspaces(
    tx: &ReadTransaction,
    query: &str,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Listed<WorkspaceView>, AppError> {
    let t = tx.open_table(WORKSPACES)?;
    let q = query.trim().to_lowercase();
    let query = listing::Query { scope: 0, filter: 0, sort, cursor, per_page };
    let workspace = |id: u128| t.get(id)?.map(|v| decode::<Workspace>(v.value())).transpose();
    if q.is_empty() {
        return listing::page(tx, WORKSPACE_LIST, &query, |id| Ok(workspace(id)?.map(|w| w.view())));
    }
    listing::search(tx, WORKSPACE_LIST, &query, |id| {
        Ok(workspace(id)?.filter(|w| w.name.to_lowercase().contains(&q)).map(|w| w.view()))
    })
}

/// The operator's list of requests for changes to workspaces' information.
pub const CHANGE_REQUEST_LIST: List = List { code: 8, sorts: &["created"] };

/// How change requests can be sorted.
pub const CHANGE_REQUEST_SORTS: &[&str] = CHANGE_REQUEST_LIST.sorts;

fn index_change_request(tx: &WriteTransaction, c: &ChangeRequest) -> Result<(), AppError> {
    let row = Row::new(&[], vec![KeyValue::Int(c.created.timestamp_micros())]);
    listing::set(tx, CHANGE_REQUEST_LIST, 0, c.id.as_u128(), Some(&row))
}

/// Requests for changes to workspaces' information; only the page's are read.
pub fn list_change_requests(
    tx: &ReadTransaction,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Listed<ChangeRequestView>, AppError> {
    let t = tx.open_table(CHANGE_REQUESTS)?;
    let query = listing::Query { scope: 0, filter: 0, sort, cursor, per_page };
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

/// Lists every workspace application, workspace and change request again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    for list in [APPLICATION_LIST, WORKSPACE_LIST, CHANGE_REQUEST_LIST] {
        listing::clear(tx, list)?;
    }
    listing::records::<_, WorkspaceApplication>(tx, APPLICATIONS)?.iter().try_for_each(|a| index_application(tx, a))?;
    listing::records::<_, Workspace>(tx, WORKSPACES)?.iter().try_for_each(|w| index_workspace(tx, w))?;
    listing::records::<_, ChangeRequest>(tx, CHANGE_REQUESTS)?.iter().try_for_each(|c| index_change_request(tx, c))
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
    tx.open_table(WORKSPACES)?
        .insert(w.id.as_u128(), encode(w)?.as_slice())?;
    index_workspace(tx, w)
}

pub fn update_workspace(tx: &WriteTransaction, w: &Workspace) -> Result<(), AppError> {
    caused(Effect::Served);
    tx.open_table(WORKSPACES)?
        .insert(w.id.as_u128(), encode(w)?.as_slice())?;
    index_workspace(tx, w)
}

pub fn get_workspace(tx: &impl Reads, id: Uuid) -> Result<Option<Workspace>, AppError> {
    let t = tx.open(WORKSPACES)?;
    let v = t.get(id.as_u128())?;
    v.map(|v| decode(v.value())).transpose()
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
    let v = workspaces.get(id)?;
    v.map(|v| decode(v.value())).transpose()
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

/// Makes `email`'s account a member with `role` — only when that account has verified the
/// address; otherwise records the admission, which happens when the address is proven (at
/// verification). An existing membership keeps its role unless `role` ranks higher.
pub fn admit(
    tx: &WriteTransaction,
    workspace: Uuid,
    email: &str,
    role: Role,
) -> Result<Option<Uuid>, AppError> {
    let key = email_key(email);
    let account = tx
        .open_table(ACCOUNTS_BY_EMAIL)?
        .get(key.as_str())?
        .map(|v| Uuid::from_u128(v.value()));
    let verified = match account {
        Some(id) => crate::server::store::accounts::get(tx, id)?
            .is_some_and(|a| a.email_verified),
        None => false,
    };
    // Nobody joins a suspended workspace; the admission waits for its reactivation.
    let open = get_workspace(tx, workspace)?
        .is_some_and(|w| w.status != WorkspaceStatus::Suspended);
    match account {
        Some(account) if verified && open => {
            let m = match membership(tx, workspace, account)? {
                Some(mut m) => {
                    if role.rank() > m.role.rank() {
                        m.role = role;
                    }
                    m
                }
                None => Membership {
                    workspace,
                    account,
                    role,
                    active: true,
                    joined: super::now(),
                },
            };
            put_membership(tx, &m)?;
            Ok(Some(account))
        }
        _ => {
            let p = PendingAdmission {
                role,
                added: super::now(),
            };
            tx.open_table(PENDING_ADMISSIONS)?
                .insert((key.as_str(), workspace.as_u128()), encode(&p)?.as_slice())?;
            Ok(None)
        }
    }
}

/// When `email` has just been proven: turns the admissions waiting for it into memberships.
/// Admissions to a suspended workspace stay waiting until it is reactivated. Returns the
/// workspaces joined, with their names and the role.
pub fn admit_pending(
    tx: &WriteTransaction,
    account: Uuid,
    email: &str,
) -> Result<Vec<(Uuid, String, Role)>, AppError> {
    let key = email_key(email);
    let waiting: Vec<(u128, PendingAdmission)> = {
        let t = tx.open_table(PENDING_ADMISSIONS)?;
        let mut out = Vec::new();
        for row in t.range((key.as_str(), 0u128)..=(key.as_str(), u128::MAX))? {
            let (k, v) = row?;
            out.push((k.value().1, decode(v.value())?));
        }
        out
    };
    let mut joined = Vec::new();
    for (ws, p) in waiting {
        let workspace = Uuid::from_u128(ws);
        let Some(w) = get_workspace(tx, workspace)? else {
            tx.open_table(PENDING_ADMISSIONS)?.remove((key.as_str(), ws))?;
            continue;
        };
        if w.status == WorkspaceStatus::Suspended {
            continue;
        }
        tx.open_table(PENDING_ADMISSIONS)?.remove((key.as_str(), ws))?;
        let role = match membership(tx, workspace, account)? {
            Some(mut m) => {
                if p.role.rank() > m.role.rank() {
                    m.role = p.role;
                }
                put_membership(tx, &m)?;
                m.role
            }
            None => {
                put_membership(
                    tx,
                    &Membership {
                        workspace,
                        account,
                        role: p.role,
                        active: true,
                        joined: super::now(),
                    },
                )?;
                p.role
            }
        };
        joined.push((workspace, w.name, role));
    }
    Ok(joined)
}

/// The admissions of `workspace` still waiting for their address to be proven: (email, role,
/// added). Few per workspace (representatives), so a scan of the small table is fine.
pub fn pending_admissions(
    tx: &ReadTransaction,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    admissions_in(&tx.open_table(PENDING_ADMISSIONS)?, workspace)
}

/// [`pending_admissions`] inside a write transaction.
pub fn pending_admissions_of(
    tx: &WriteTransaction,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    admissions_in(&tx.open_table(PENDING_ADMISSIONS)?, workspace)
}

fn admissions_in(
    t: &impl ReadableTable<(&'static str, u128), &'static [u8]>,
    workspace: Uuid,
) -> Result<Vec<(String, Role, chrono::DateTime<Utc>)>, AppError> {
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        let (email, ws) = k.value();
        if ws == workspace.as_u128() {
            let p: PendingAdmission = decode(v.value())?;
            out.push((email.to_string(), p.role, p.added));
        }
    }
    Ok(out)
}

/// Withdraws a waiting admission; true if there was one.
pub fn revoke_admission(tx: &WriteTransaction, workspace: Uuid, email: &str) -> Result<bool, AppError> {
    Ok(tx
        .open_table(PENDING_ADMISSIONS)?
        .remove((email_key(email).as_str(), workspace.as_u128()))?
        .is_some())
}

// ---- change requests ------------------------------------------------------------------------

pub fn insert_change_request(tx: &WriteTransaction, c: &ChangeRequest) -> Result<(), AppError> {
    tx.open_table(CHANGE_REQUESTS)?
        .insert(c.id.as_u128(), encode(c)?.as_slice())?;
    index_change_request(tx, c)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn newest() -> Sort {
        Sort::parse("", APPLICATION_SORTS, "-created").unwrap()
    }

    fn application(name: &str) -> WorkspaceApplication {
        WorkspaceApplication {
            id: Uuid::new_v4(),
            applicant: Uuid::new_v4(),
            applicant_name: "ann".into(),
            name: name.into(),
            mcc: "5812".into(),
            address: "1 Main St".into(),
            representatives: vec![Representative {
                name: "Ann".into(),
                email: "ann@example.com".into(),
            }],
            status: ApplicationStatus::Pending,
            reason: None,
            created: Utc::now(),
            decided: None,
            workspace_id: None,
        }
    }

    #[test]
    fn a_pending_name_is_kept_only_from_its_own_applicant_until_decided() {
        let store = Store::memory();
        let mut first = application("Acme");
        store
            .write_blocking(|tx| insert_application(tx, &first))
            .unwrap();
        // The same applicant, same name in other case: refused.
        let again = WorkspaceApplication { id: Uuid::new_v4(), name: "ACME".into(), ..first.clone() };
        let e = store
            .write_blocking(|tx| insert_application(tx, &again))
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace Name")));
        assert!(e.to_string().contains("you already have a pending application"), "{e}");
        // Another account: the name is answered as free.
        store
            .write_blocking(|tx| insert_application(tx, &application("ACME")))
            .unwrap();
        first.status = ApplicationStatus::Withdrawn;
        store
            .write_blocking(|tx| decide_application(tx, &first))
            .unwrap();
        store
            .write_blocking(|tx| insert_application(tx, &again))
            .unwrap();
        let page = store
            .read_blocking(|tx| list_applications(tx, Some(ApplicationStatus::Pending), "", newest(), "", 10))
            .unwrap();
        assert_eq!(page.total, 2);
        let all = store
            .read_blocking(|tx| list_applications(tx, None, "ACM", newest(), "", 10))
            .unwrap();
        assert_eq!(all.total, 3);
    }

    #[test]
    fn a_workspace_name_is_refused_to_everyone_and_pending_applications_are_capped() {
        let store = Store::memory();
        store
            .write_blocking(|tx| insert_workspace(tx, &workspace("Acme", WorkspaceStatus::Active)))
            .unwrap();
        let e = store
            .write_blocking(|tx| insert_application(tx, &application("aCmE")))
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace Name")));
        assert!(e.to_string().contains("is already the name of a workspace"), "{e}");
        let first = application("One");
        let mine = |name: &str| WorkspaceApplication { id: Uuid::new_v4(), name: name.into(), ..first.clone() };
        for name in ["One", "Two", "Three"] {
            store.write_blocking(|tx| insert_application(tx, &mine(name))).unwrap();
        }
        let e = store
            .write_blocking(|tx| insert_application(tx, &mine("Four")))
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace application")));
        assert!(e.to_string().contains("3 pending applications"), "{e}");
        let pending = store
            .read_blocking(|tx| list_applications(tx, Some(ApplicationStatus::Pending), "", newest(), "", 10))
            .unwrap();
        assert_eq!(pending.total, 3, "a refusal stores nothing");
    }

    fn workspace(name: &str, status: WorkspaceStatus) -> Workspace {
        Workspace {
            id: Uuid::new_v4(),
            name: name.into(),
            mcc: "5812".into(),
            address: "1 Main St".into(),
            representatives: vec![],
            status,
            status_reason: None,
            created: Utc::now(),
            application: Uuid::new_v4(),
        }
    }

    #[test]
    fn admission_waits_for_a_verified_address_and_a_workspace_that_is_not_suspended() {
        let store = Store::memory();
        let active = workspace("Acme", WorkspaceStatus::Active);
        let suspended = workspace("Frozen", WorkspaceStatus::Suspended);
        let (a, b) = (active.id, suspended.id);
        store
            .write_blocking(|tx| {
                insert_workspace(tx, &active)?;
                insert_workspace(tx, &suspended)
            })
            .unwrap();
        for ws in [a, b] {
            let joined = store
                .write_blocking(|tx| admit(tx, ws, "New@Example.com", Role::WorkspaceAdmin))
                .unwrap();
            assert_eq!(joined, None);
        }
        assert_eq!(store.read_blocking(|tx| pending_admissions(tx, a)).unwrap().len(), 1);
        let account = Uuid::new_v4();
        let admitted = store
            .write_blocking(|tx| admit_pending(tx, account, "new@example.com"))
            .unwrap();
        assert_eq!(admitted, vec![(a, "Acme".to_string(), Role::WorkspaceAdmin)]);
        let m = store
            .read_blocking(|tx| membership(tx, a, account))
            .unwrap()
            .unwrap();
        assert_eq!(m.role, Role::WorkspaceAdmin);
        assert!(store.read_blocking(|tx| membership(tx, b, account)).unwrap().is_none());
        assert_eq!(
            store.read_blocking(|tx| pending_admissions(tx, b)).unwrap().len(),
            1,
            "still waiting for the suspended workspace"
        );
        assert!(store.write_blocking(|tx| revoke_admission(tx, b, "NEW@example.com")).unwrap());
        assert!(store
            .write_blocking(|tx| admit_pending(tx, account, "new@example.com"))
            .unwrap()
            .is_empty());
    }
}
