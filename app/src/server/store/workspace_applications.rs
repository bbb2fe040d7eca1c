//! Workspace applications: an account's request for a workspace, pending until the operator
//! decides it, and the operator's queue of them.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::put;
use super::tables::*;
use super::workspaces::workspace_name_taken;
use super::listing::{self, Dimension, List, Listed, Row, Window};
use crate::model::page::KeyValue;
use crate::model::workspace::*;
use crate::model::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceApplication {
    pub id: Uuid,
    pub applicant: Uuid,
    pub applicant_name: String,
    pub name: String,
    /// Stored as the record's own fields (`mcc`, `address`, `representatives`).
    #[serde(flatten)]
    pub info: RegisteredInfo,
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
            info: self.info.clone(),
            scope: self.info.scope(),
            status: self.status,
            reason: self.reason.clone(),
            created: self.created,
            decided: self.decided,
            workspace_id: self.workspace_id,
        }
    }
}

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
    put(tx, APPLICATIONS, a.id.as_u128(), a)?;
    index_application(tx, a)
}

pub fn get_application(
    tx: &impl Reads,
    id: Uuid,
) -> Result<Option<WorkspaceApplication>, AppError> {
    tx.row(APPLICATIONS, id.as_u128())
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
    put(tx, APPLICATIONS, a.id.as_u128(), a)?;
    index_application(tx, a)
}

/// Withdrawn applications kept per applicant, newest first: an older one is deleted when another
/// is withdrawn (its withdrawal stays in the audit log). An applicant's applications are then
/// at most the pending ones, the operator's decisions and these, however often they apply and
/// withdraw.
pub const KEPT_WITHDRAWN: usize = 20;

/// Deletes `applicant`'s withdrawn applications but the newest [`KEPT_WITHDRAWN`], from the
/// table and from every index and count. Returns how many went.
pub fn forget_withdrawn(tx: &WriteTransaction, applicant: Uuid) -> Result<usize, AppError> {
    let id = applicant.as_u128();
    let mut withdrawn = Vec::new();
    for row in tx.open_table(APPLICATIONS_BY_APPLICANT)?.range((id, i64::MIN, 0)..=(id, i64::MAX, u128::MAX))?.rev() {
        let (_, _, app) = row?.0.value();
        if let Some(a) = get_application(tx, Uuid::from_u128(app))?.filter(|a| a.status == ApplicationStatus::Withdrawn) {
            withdrawn.push(a);
        }
    }
    let gone = withdrawn.split_off(withdrawn.len().min(KEPT_WITHDRAWN));
    for a in &gone {
        let (created, app) = (a.created.timestamp_millis(), a.id.as_u128());
        tx.open_table(APPLICATIONS_BY_APPLICANT)?.remove((id, created, app))?;
        tx.open_table(APPLICATIONS_BY_STATUS)?.remove((a.status.code(), created, app))?;
        tx.open_table(APPLICATIONS)?.remove(app)?;
        listing::set(tx, APPLICATION_LIST, 0, app, None)?;
    }
    Ok(gone.len())
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
pub const APPLICATION_LIST: List = List { code: 6, sorts: &["created", "name"], default_sort: "-created" };

/// One more than the number the record keeps (`ApplicationStatus::code`, which starts at 0).
impl Dimension for ApplicationStatus {
    fn code_in_index(self) -> u32 {
        u32::from(self.code()) + 1
    }
}

fn index_application(tx: &WriteTransaction, a: &WorkspaceApplication) -> Result<(), AppError> {
    let row = Row::new(&[a.status.code_in_index()], vec![a.created.into(), KeyValue::Text(a.name.clone())]);
    listing::set(tx, APPLICATION_LIST, 0, a.id.as_u128(), Some(&row))
}

/// How many workspace applications have `status` (`None`: any).
pub fn count_applications(tx: &ReadTransaction, status: Option<ApplicationStatus>) -> Result<u64, AppError> {
    listing::count(tx, APPLICATION_LIST, 0, listing::filter(&[status.map(Dimension::code_in_index)]))
}

/// The operator's queue: by status, searched by name. Without a search only the page's
/// applications are read.
pub fn list_applications(
    tx: &ReadTransaction,
    status: Option<ApplicationStatus>,
    query: &str,
    window: &Window,
) -> Result<Listed<ApplicationView>, AppError> {
    let matches = |a: &WorkspaceApplication, q: &str| a.name.to_lowercase().contains(q);
    let page = listing::Query { scope: 0, filter: listing::filter(&[status.map(Dimension::code_in_index)]), window };
    listing::find(tx, APPLICATION_LIST, APPLICATIONS, &page, query, matches, WorkspaceApplication::view)
}

/// Lists every workspace application again (a migration's job).
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, APPLICATION_LIST)?;
    listing::records::<_, WorkspaceApplication>(tx, APPLICATIONS)?.iter().try_for_each(|r| index_application(tx, r))
}

#[cfg(test)]
mod tests {
    use super::super::workspaces::{fixtures::workspace, insert_workspace};
    use super::super::Store;
    use super::*;

    fn newest() -> Window {
        Window::first(APPLICATION_LIST, 10)
    }

    fn application(name: &str) -> WorkspaceApplication {
        WorkspaceApplication {
            id: Uuid::new_v4(),
            applicant: Uuid::new_v4(),
            applicant_name: "ann".into(),
            name: name.into(),
            info: RegisteredInfo {
                mcc: "5812".into(),
                address: "1 Main St".into(),
                representatives: vec![Representative { name: "Ann".into(), email: "ann@example.com".into() }],
            },
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
            .read_blocking(|tx| list_applications(tx, Some(ApplicationStatus::Pending), "", &newest()))
            .unwrap();
        assert_eq!(page.total, 2);
        let all = store
            .read_blocking(|tx| list_applications(tx, None, "ACM", &newest()))
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
            .read_blocking(|tx| list_applications(tx, Some(ApplicationStatus::Pending), "", &newest()))
            .unwrap();
        assert_eq!(pending.total, 3, "a refusal stores nothing");
    }

    #[test]
    fn only_an_applicants_newest_withdrawn_applications_are_kept() {
        let store = Store::memory();
        let ann = Uuid::new_v4();
        let start = Utc::now() - chrono::Duration::days(1);
        let withdraw = |a: &mut WorkspaceApplication| {
            a.status = ApplicationStatus::Withdrawn;
            let a = a.clone();
            store.write_blocking(move |tx| {
                decide_application(tx, &a)?;
                forget_withdrawn(tx, a.applicant)
            })
        };
        // Someone else's withdrawn application is not touched.
        let mut other = application("Other");
        store.write_blocking(|tx| insert_application(tx, &other)).unwrap();
        withdraw(&mut other).unwrap();
        let mut rejected = WorkspaceApplication { applicant: ann, created: start, ..application("Rejected") };
        store.write_blocking(|tx| insert_application(tx, &rejected)).unwrap();
        rejected.status = ApplicationStatus::Rejected;
        store.write_blocking(|tx| decide_application(tx, &rejected)).unwrap();
        let mut made = Vec::new();
        for i in 0..KEPT_WITHDRAWN + 5 {
            let mut a = WorkspaceApplication {
                applicant: ann,
                created: start + chrono::Duration::seconds(i as i64 + 1),
                ..application(&format!("Shop{i}"))
            };
            store.write_blocking(|tx| insert_application(tx, &a)).unwrap();
            let gone = withdraw(&mut a).unwrap();
            assert_eq!(gone, usize::from(i >= KEPT_WITHDRAWN), "the oldest beyond the kept ones, one each time");
            made.push(a.id);
        }
        let pending = WorkspaceApplication { applicant: ann, created: Utc::now(), ..application("Pending") };
        store.write_blocking(|tx| insert_application(tx, &pending)).unwrap();

        let mine = store.read_blocking(|tx| applications_of(tx, ann)).unwrap();
        let names: Vec<&str> = mine.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(mine.len(), KEPT_WITHDRAWN + 2, "{names:?}");
        assert_eq!((names[0], names[1], names[KEPT_WITHDRAWN]), ("Pending", "Shop24", "Shop5"), "newest first");
        assert_eq!(names[KEPT_WITHDRAWN + 1], "Rejected", "the operator's decision is kept");
        for id in &made[..5] {
            assert!(store.read_blocking(|tx| get_application(tx, *id)).unwrap().is_none());
        }
        // The operator's list and its counts lost them too.
        let withdrawn = store
            .read_blocking(|tx| list_applications(tx, Some(ApplicationStatus::Withdrawn), "", &Window::first(APPLICATION_LIST, 100)))
            .unwrap();
        assert_eq!(withdrawn.total as usize, KEPT_WITHDRAWN + 1);
        assert_eq!(withdrawn.items.len(), KEPT_WITHDRAWN + 1);
        assert_eq!(store.read_blocking(|tx| count_applications(tx, None)).unwrap() as usize, KEPT_WITHDRAWN + 3);
        // Nothing left behind in the status index either.
        let by_status = store
            .read_blocking(|tx| Ok(redb::ReadableTableMetadata::len(&tx.open_table(APPLICATIONS_BY_STATUS)?)?))
            .unwrap();
        assert_eq!(by_status as usize, KEPT_WITHDRAWN + 3);
    }
}
