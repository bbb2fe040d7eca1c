//! Applications (publishing, removal, member requests, feature activation), stored so that the
//! Approvals list reads one page straight from an index in display order, whatever the filter,
//! and counts with one lookup — it never scans a workspace's applications per page.

use chrono::{DateTime, Utc};
use super::Reads;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::codec::{decode, one, put};
use super::listing::{self, Dimension, List, Row, Window};
pub use super::listing::Listed;
use super::tables::{
    APPROVALS, APPROVALS_BY_APPLICANT, APPROVALS_BY_SUBJECT, APPROVALS_PENDING, APPROVAL_APPLICANTS, MINI_PROGRAMS,
    MINI_PROGRAMS_BY_WORKSPACE,
};
use crate::model::approvals::{ApplicationRow, Category, HistoryEntry, Status};
use crate::model::page::{window, KeyValue, Page};
use crate::model::AppError;

/// A workspace's Approvals list, filtered by category and status, by when an application was
/// filed or finished.
pub const LIST: List = List { code: 9, sorts: &["created", "finished"], default_sort: "-created" };

/// "My requests": one applicant's applications in every workspace they are a member of, and
/// their requests to join (see [`follow_membership`]).
pub const MINE: List = List { code: 10, sorts: &["created"], default_sort: "-created" };

/// The same numbers as the subjects table keeps (`Category::code`).
impl Dimension for Category {
    fn code_in_index(self) -> u32 {
        u32::from(self.code())
    }
}

/// The same numbers as the subjects table keeps (`Status::code`).
impl Dimension for Status {
    fn code_in_index(self) -> u32 {
        u32::from(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: Uuid,
    pub workspace: Uuid,
    pub workspace_name: String,
    pub category: Category,
    pub status: Status,
    pub applicant: Uuid,
    pub applicant_name: String,
    pub applicant_email: String,
    pub mini_program: Option<Uuid>,
    pub mini_program_name: Option<String>,
    pub version: Option<String>,
    /// The target Apps of a publishing application: (id, name).
    pub apps: Vec<(Uuid, String)>,
    /// The share of installs a publishing application releases to at first, in per-mille
    /// (1000: everyone, the version becomes the stable at once).
    #[serde(default = "full_rollout", skip_serializing_if = "is_full_rollout")]
    pub rollout: u16,
    pub feature: Option<String>,
    /// The applicant's note, or a removal's reason.
    pub note: String,
    pub created: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub decided_by: Option<(Uuid, String)>,
    /// A rejection's reason.
    pub reason: Option<String>,
    pub history: Vec<HistoryEntry>,
}

fn full_rollout() -> u16 {
    crate::model::approvals::FULL_ROLLOUT
}

fn is_full_rollout(r: &u16) -> bool {
    *r == crate::model::approvals::FULL_ROLLOUT
}

impl Application {
    /// What at most one pending application may be about.
    pub fn pending_key(&self) -> String {
        let mp = self.mini_program.unwrap_or_default();
        match self.category {
            Category::Publishing => format!("version:{mp}:{}", self.version.as_deref().unwrap_or_default()),
            Category::Removal => format!("removal:{mp}"),
            Category::Feature => format!("feature:{mp}:{}", self.feature.as_deref().unwrap_or_default()),
            Category::MemberRequest => format!("member:{}:{}", self.workspace, self.applicant),
        }
    }

    pub fn row(&self) -> ApplicationRow {
        ApplicationRow {
            id: self.id,
            workspace: self.workspace_name.clone(),
            title: self.category.title().into(),
            category: self.category,
            mini_program: self.mini_program_name.clone(),
            version: self.version.clone(),
            applicant: self.applicant_name.clone(),
            created: self.created,
            finished: self.finished,
            status: self.status,
        }
    }

    fn finished_micros(&self) -> i64 {
        self.finished.map(|f| f.timestamp_micros()).unwrap_or(0)
    }

    fn subjects(&self) -> Vec<u128> {
        let mut s = vec![self.applicant.as_u128()];
        if let Some(mp) = self.mini_program {
            s.push(mp.as_u128());
        }
        s
    }
}

/// Lists an application on its workspace's Approvals list.
fn index(tx: &WriteTransaction, a: &Application) -> Result<(), AppError> {
    let row = Row::new(
        &[a.category.code_in_index(), a.status.code_in_index()],
        vec![KeyValue::from(a.created), KeyValue::Int(a.finished_micros())],
    );
    listing::set(tx, LIST, a.workspace.as_u128(), a.id.as_u128(), Some(&row))
}

/// Lists application `id`, filed by `applicant` at `created` (µs), on their requests, or
/// (`listed` false) takes it off.
fn list_mine(tx: &WriteTransaction, applicant: u128, id: u128, created: i64, listed: bool) -> Result<(), AppError> {
    listing::set(tx, MINE, applicant, id, listed.then(|| Row::new(&[], vec![KeyValue::Int(created)])).as_ref())
}

/// Lists every application again (a migration's job): on the Approvals lists, and on their
/// applicants' requests while [`follow_membership`] would keep them there.
pub fn reindex(tx: &WriteTransaction) -> Result<(), AppError> {
    listing::clear(tx, LIST)?;
    listing::clear(tx, MINE)?;
    let all: Vec<Application> = listing::records(tx, APPROVALS)?;
    let memberships = tx.open_table(super::tables::MEMBERSHIPS)?;
    for a in &all {
        index(tx, a)?;
        let member = memberships.get((a.workspace.as_u128(), a.applicant.as_u128()))?.is_some();
        list_mine(tx, a.applicant.as_u128(), a.id.as_u128(), a.created.timestamp_micros(), member || a.category == Category::MemberRequest)?;
    }
    Ok(())
}

/// Keeps an applicant's requests in step with their membership of `workspace`: one who is no
/// longer a member (removed, or left) no longer lists the applications they filed there — what
/// became of them is the workspace's to know — and one who joins again lists them again. Requests
/// to join stay listed either way. Reads only the person's applications in that workspace.
pub fn follow_membership(tx: &WriteTransaction, workspace: Uuid, account: Uuid, member: bool) -> Result<(), AppError> {
    let (w, a) = (workspace.as_u128(), account.as_u128());
    let mut filed = Vec::new();
    for row in tx.open_table(APPROVALS_BY_SUBJECT)?.range((w, a, i64::MIN, 0)..=(w, a, i64::MAX, u128::MAX))? {
        let (k, v) = row?;
        let (_, _, created, id) = k.value();
        if v.value().0 != Category::MemberRequest.code() {
            filed.push((created, id));
        }
    }
    filed.into_iter().try_for_each(|(created, id)| list_mine(tx, a, id, created, member))
}

/// Stores a new (pending) application with its indexes and counts. Refused with 409 when a
/// pending application about the same thing exists.
pub fn insert(tx: &WriteTransaction, a: &Application) -> Result<(), AppError> {
    let key = a.pending_key();
    {
        let mut pending = tx.open_table(APPROVALS_PENDING)?;
        if pending.get(key.as_str())?.is_some() {
            return Err(AppError::conflict("Application", "a pending application for this already exists; wait for its decision or withdraw it"));
        }
        pending.insert(key.as_str(), a.id.as_u128())?;
    }
    put(tx, APPROVALS, a.id.as_u128(), a)?;
    index(tx, a)?;
    let (w, created) = (a.workspace.as_u128(), a.created.timestamp_micros());
    list_mine(tx, a.applicant.as_u128(), a.id.as_u128(), created, true)?;
    {
        let mut subjects = tx.open_table(APPROVALS_BY_SUBJECT)?;
        for s in a.subjects() {
            subjects.insert((w, s, created, a.id.as_u128()), (a.category.code(), a.status.code(), a.finished_micros()))?;
        }
    }
    tx.open_table(APPROVAL_APPLICANTS)?
        .insert((w, a.applicant.as_u128()), format!("{} {}", a.applicant_name, a.applicant_email).as_str())?;
    tx.open_table(APPROVALS_BY_APPLICANT)?
        .insert((a.applicant.as_u128(), created, a.id.as_u128()), ())?;
    Ok(())
}

/// Writes a changed application (a decision, a withdrawal), moving its index entries and counts
/// and freeing its pending key when it is no longer pending.
pub fn update(tx: &WriteTransaction, before: &Application, after: &Application) -> Result<(), AppError> {
    put(tx, APPROVALS, after.id.as_u128(), after)?;
    if before.status == after.status && before.finished == after.finished {
        return Ok(());
    }
    index(tx, after)?;
    let (w, created) = (after.workspace.as_u128(), after.created.timestamp_micros());
    {
        let mut subjects = tx.open_table(APPROVALS_BY_SUBJECT)?;
        for s in after.subjects() {
            subjects.insert((w, s, created, after.id.as_u128()), (after.category.code(), after.status.code(), after.finished_micros()))?;
        }
    }
    if before.status == Status::Pending && after.status != Status::Pending {
        let mut pending = tx.open_table(APPROVALS_PENDING)?;
        let key = before.pending_key();
        if pending.get(key.as_str())?.map(|v| v.value()) == Some(before.id.as_u128()) {
            pending.remove(key.as_str())?;
        }
    }
    Ok(())
}

fn get_in(t: &impl ReadableTable<u128, &'static [u8]>, id: Uuid) -> Result<Option<Application>, AppError> {
    one(t, id.as_u128())
}

pub fn get(tx: &impl Reads, id: Uuid) -> Result<Option<Application>, AppError> {
    get_in(&tx.open(APPROVALS)?, id)
}

/// When the member requests `applicant` filed since `since` were filed, oldest first — in
/// every workspace, whatever became of them since.
pub fn member_requests_by_since(tx: &WriteTransaction, applicant: Uuid, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, AppError> {
    let (a, from) = (applicant.as_u128(), since.timestamp_micros());
    let ids: Vec<u128> = tx
        .open_table(APPROVALS_BY_APPLICANT)?
        .range((a, from, 0)..=(a, i64::MAX, u128::MAX))?
        .map(|row| row.map(|(k, _)| k.value().2))
        .collect::<Result<_, _>>()?;
    let t = tx.open_table(APPROVALS)?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(a) = get_in(&t, Uuid::from_u128(id))?.filter(|a| a.category == Category::MemberRequest) {
            out.push(a.created);
        }
    }
    Ok(out)
}

/// How many applications `applicant` filed since `since` (any workspace, category or outcome),
/// counted up to `at_most`: one range of the index, no application read.
pub fn filed_by_since(tx: &WriteTransaction, applicant: Uuid, since: DateTime<Utc>, at_most: usize) -> Result<usize, AppError> {
    let (a, from) = (applicant.as_u128(), since.timestamp_micros());
    let index = tx.open_table(APPROVALS_BY_APPLICANT)?;
    let mut n = 0;
    for row in index.range((a, from, 0)..=(a, i64::MAX, u128::MAX))?.take(at_most) {
        row?;
        n += 1;
    }
    Ok(n)
}

/// How many member requests `workspace` has had since `since`, whatever became of them (one
/// range of the index, no application read).
pub fn member_requests_to_since(tx: &WriteTransaction, workspace: Uuid, since: DateTime<Utc>) -> Result<usize, AppError> {
    let filter = listing::filter(&[Some(Category::MemberRequest.code_in_index()), None]);
    listing::entries_from(tx, LIST, workspace.as_u128(), filter, "created", &KeyValue::from(since))
}

/// The pending application about `key` (see [`Application::pending_key`]), if any.
pub fn pending(tx: &impl Reads, key: &str) -> Result<Option<Uuid>, AppError> {
    Ok(tx.open(APPROVALS_PENDING)?.get(key)?.map(|v| Uuid::from_u128(v.value())))
}

/// The pending applications whose keys start with `prefix` (`version:<mp>:`, `feature:<mp>:`).
pub fn pending_with_prefix(tx: &impl Reads, prefix: &str) -> Result<Vec<Uuid>, AppError> {
    let t = tx.open(APPROVALS_PENDING)?;
    let mut out = Vec::new();
    for row in t.range(prefix..)? {
        let (k, v) = row?;
        if !k.value().starts_with(prefix) {
            break;
        }
        out.push(Uuid::from_u128(v.value()));
    }
    Ok(out)
}

/// How many applications of a workspace match a category and status (`None`: any).
pub fn count(tx: &ReadTransaction, workspace: Uuid, category: Option<Category>, status: Option<Status>) -> Result<u64, AppError> {
    listing::count(tx, LIST, workspace.as_u128(), listing::filter(&[category.map(Dimension::code_in_index), status.map(Dimension::code_in_index)]))
}

/// What the Approvals list asks for.
#[derive(Debug, Clone)]
pub struct Query {
    pub workspace: Uuid,
    pub category: Option<Category>,
    pub status: Option<Status>,
    /// Matched against mini program names and applicants' usernames (and emails, with
    /// `by_email`).
    pub search: String,
    /// Whether the search may match applicants' emails: only for those who may view the
    /// members, so that no one learns an address by probing it a letter at a time.
    pub by_email: bool,
    pub window: Window,
}

fn load(tx: &ReadTransaction, ids: &[u128]) -> Result<Vec<Application>, AppError> {
    let t = tx.open_table(APPROVALS)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(a) = get_in(&t, Uuid::from_u128(*id))? {
            out.push(a);
        }
    }
    Ok(out)
}

/// One page of a workspace's applications, read from the index in display order whatever the
/// filter.
pub fn list(tx: &ReadTransaction, q: &Query) -> Result<Listed<Application>, AppError> {
    if !q.search.trim().is_empty() {
        return search(tx, q);
    }
    let t = tx.open_table(APPROVALS)?;
    let filter = listing::filter(&[q.category.map(Dimension::code_in_index), q.status.map(Dimension::code_in_index)]);
    let query = listing::Query { scope: q.workspace.as_u128(), filter, window: &q.window };
    listing::page(tx, LIST, &query, |id| get_in(&t, Uuid::from_u128(id)))
}

/// A searched page: the applications of the mini programs and applicants whose names match,
/// read from their subject index (so only theirs), filtered and paged.
fn search(tx: &ReadTransaction, q: &Query) -> Result<Listed<Application>, AppError> {
    let needle = q.search.trim().to_lowercase();
    let w = q.workspace.as_u128();
    let mut subjects = Vec::new();
    {
        let index = tx.open_table(MINI_PROGRAMS_BY_WORKSPACE)?;
        let table = tx.open_table(MINI_PROGRAMS)?;
        for row in index.range((w, 0)..=(w, u128::MAX))? {
            let id = row?.0.value().1;
            if let Some(v) = table.get(id)? {
                let mp: super::minis::MiniProgram = decode(v.value())?;
                if mp.name.to_lowercase().contains(&needle) {
                    subjects.push(id);
                }
            }
        }
    }
    for row in tx.open_table(APPROVAL_APPLICANTS)?.range((w, 0)..=(w, u128::MAX))? {
        let (k, v) = row?;
        // "username email": a username holds no space.
        let held = v.value().to_lowercase();
        let searched = if q.by_email { held.as_str() } else { held.split_once(' ').map_or(held.as_str(), |(name, _)| name) };
        if searched.contains(&needle) {
            subjects.push(k.value().1);
        }
    }
    let (cat, st) = (q.category.map_or(0, Category::code), q.status.map_or(0, Status::code));
    let by_subject = tx.open_table(APPROVALS_BY_SUBJECT)?;
    let mut read = 0;
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for s in subjects {
        for row in by_subject.range((w, s, i64::MIN, 0)..=(w, s, i64::MAX, u128::MAX))? {
            let (k, v) = row?;
            read += 1;
            let (_, _, created, id) = k.value();
            let (c, status, finished) = v.value();
            if (cat == 0 || c == cat) && (st == 0 || status == st) && seen.insert(id) {
                let time = if q.window.sort.column == "finished" { finished } else { created };
                rows.push((KeyValue::Int(time), id, id));
            }
        }
    }
    let page = window(rows, q.window.sort, &q.window.cursor, q.window.per_page)?;
    let items = load(tx, &page.items)?;
    Ok(Listed {
        page: Page { items, total: page.total, offset: page.offset, prev: page.prev, next: page.next, sort: page.sort },
        entries_read: read,
    })
}

/// The applications of one applicant, in every workspace they are a member of, and their
/// requests to join (only the page's are read).
pub fn of_applicant(tx: &ReadTransaction, account: Uuid, window: &Window) -> Result<Page<Application>, AppError> {
    let t = tx.open_table(APPROVALS)?;
    let query = listing::Query { scope: account.as_u128(), filter: 0, window };
    Ok(listing::page(tx, MINE, &query, |id| get_in(&t, Uuid::from_u128(id)))?.page)
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    fn application(ws: Uuid, n: u32, category: Category) -> Application {
        let applicant = Uuid::from_u128(1000 + n as u128 % 3);
        Application {
            id: Uuid::now_v7(),
            workspace: ws,
            workspace_name: "Acme".into(),
            category,
            status: Status::Pending,
            applicant,
            applicant_name: format!("user{}", n % 3),
            applicant_email: format!("user{}@example.com", n % 3),
            mini_program: Some(Uuid::from_u128(ws.as_u128() ^ 77)),
            mini_program_name: Some("Coupons".into()),
            version: Some(format!("1.0.{n}")),
            apps: vec![],
            rollout: crate::model::approvals::FULL_ROLLOUT,
            feature: None,
            note: String::new(),
            created: DateTime::from_timestamp(1_700_000_000 + n as i64, 0).unwrap(),
            finished: None,
            decided_by: None,
            reason: None,
            history: vec![],
        }
    }

    fn query(ws: Uuid, sort: &str, cursor: &str) -> Query {
        Query {
            workspace: ws,
            category: None,
            status: None,
            search: String::new(),
            by_email: true,
            window: Window::parse(LIST, sort, cursor, 10).unwrap(),
        }
    }

    fn seed(store: &Store, ws: Uuid, n: u32) -> Vec<Application> {
        let apps: Vec<Application> = (0..n)
            .map(|i| application(ws, i, if i % 2 == 0 { Category::Publishing } else { Category::Feature }))
            .map(|mut a| {
                if a.category == Category::Feature {
                    a.feature = Some(format!("f{}", a.version.clone().unwrap()));
                }
                a
            })
            .collect();
        let copy = apps.clone();
        store.write_blocking(move |tx| copy.iter().try_for_each(|a| insert(tx, a))).unwrap();
        apps
    }

    #[test]
    fn pages_come_from_the_index_in_display_order_both_ways() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        seed(&store, ws, 25);
        seed(&store, Uuid::now_v7(), 5);
        let p1 = store.read_blocking(|tx| list(tx, &query(ws, "", ""))).unwrap();
        assert_eq!((p1.page.total, p1.page.offset, p1.page.items.len()), (25, 0, 10));
        assert_eq!(p1.page.items[0].version.as_deref(), Some("1.0.24"));
        assert!(p1.entries_read <= 11, "{}", p1.entries_read);
        let next = p1.page.next.clone().unwrap();
        let p2 = store.read_blocking(move |tx| list(tx, &query(ws, "", &next))).unwrap();
        assert_eq!((p2.page.offset, p2.page.items[0].version.as_deref()), (10, Some("1.0.14")));
        let next = p2.page.next.clone().unwrap();
        let p3 = store.read_blocking(move |tx| list(tx, &query(ws, "", &next))).unwrap();
        assert_eq!((p3.page.offset, p3.page.items.len(), p3.page.next.is_none()), (20, 5, true));
        let prev = p3.page.prev.clone().unwrap();
        let back = store.read_blocking(move |tx| list(tx, &query(ws, "", &prev))).unwrap();
        assert_eq!(back.page.items.iter().map(|a| a.id).collect::<Vec<_>>(), p2.page.items.iter().map(|a| a.id).collect::<Vec<_>>());
        let asc = store.read_blocking(move |tx| list(tx, &query(ws, "created", ""))).unwrap();
        assert_eq!(asc.page.items[0].version.as_deref(), Some("1.0.0"));
        for bad in ["x", "a.-created.0.zz.1", "a.created.0.1.1", "q.-created.0.1.1", "a.-created.-1.1.1"] {
            let bad = bad.to_string();
            let e = store.read_blocking(move |tx| list(tx, &query(ws, "", &bad))).err().unwrap();
            assert_eq!(e.field(), Some("cursor"));
        }
    }

    #[test]
    fn a_cursor_at_or_past_the_last_row_reads_an_empty_page() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        seed(&store, ws, 20);
        let p1 = store.read_blocking(move |tx| list(tx, &query(ws, "", ""))).unwrap();
        let p2 = store.read_blocking(move |tx| list(tx, &query(ws, "", &p1.page.next.unwrap()))).unwrap();
        assert_eq!((p2.page.items.len(), p2.page.next.is_none()), (10, true));
        // The row the second page ends with, as a "next" cursor.
        let last = p2.page.items.last().unwrap();
        use crate::model::page::Cursor;
        let (newest, oldest) = (LIST.default_order(), Window::parse(LIST, "created", "", 10).unwrap().sort);
        let cursor = |sort: &crate::model::page::Sort, offset: u64, time: i64, id: u128| {
            Cursor { after: true, offset, key: (KeyValue::Int(time).bytes(), id) }.encode(sort)
        };
        let at_last = cursor(&newest, 20, last.created.timestamp_micros(), last.id.as_u128());
        let past = cursor(&newest, 20, i64::MIN, 0);
        let past_asc = cursor(&oldest, 99999999999, i64::MAX, u128::MAX);
        for (sort, cursor) in [("", at_last), ("", past), ("created", past_asc)] {
            let c = cursor.clone();
            let page = store.read_blocking(move |tx| list(tx, &query(ws, sort, &c))).unwrap().page;
            assert!(page.items.is_empty(), "{cursor}");
            assert_eq!((page.total, page.offset, page.next), (20, 20, None), "{cursor}");
        }
    }

    #[test]
    fn decisions_move_rows_between_filters_and_counts_follow() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        let apps = seed(&store, ws, 6);
        let before = apps[0].clone();
        let mut after = before.clone();
        after.status = Status::Approved;
        after.finished = Some(Utc::now());
        store.write_blocking(|tx| update(tx, &before, &after)).unwrap();
        let counts = store
            .read_blocking(move |tx| {
                Ok((
                    count(tx, ws, None, None)?,
                    count(tx, ws, None, Some(Status::Pending))?,
                    count(tx, ws, Some(Category::Publishing), Some(Status::Approved))?,
                    count(tx, ws, Some(Category::Feature), None)?,
                ))
            })
            .unwrap();
        assert_eq!(counts, (6, 5, 1, 3));
        let mut q = query(ws, "-finished", "");
        q.status = Some(Status::Approved);
        let approved = store.read_blocking(move |tx| list(tx, &q)).unwrap();
        assert_eq!(approved.page.items.iter().map(|a| a.id).collect::<Vec<_>>(), vec![before.id]);
        // Its pending key is free again; a second pending one for the same version is refused.
        let mut again = application(ws, 0, Category::Publishing);
        again.version = before.version.clone();
        store.write_blocking(|tx| insert(tx, &again)).unwrap();
        let mut third = application(ws, 0, Category::Publishing);
        third.version = before.version.clone();
        let e = store.write_blocking(|tx| insert(tx, &third)).unwrap_err();
        assert_eq!(e.status(), 409);
    }

    #[test]
    fn a_search_reads_only_the_matching_subjects() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        seed(&store, ws, 9);
        let mut q = query(ws, "", "");
        q.search = "USER1@".into();
        let found = store.read_blocking(move |tx| list(tx, &q)).unwrap();
        assert_eq!(found.page.total, 3);
        assert!(found.page.items.iter().all(|a| a.applicant_name == "user1"));
        let mut q = query(ws, "", "");
        q.search = "nothing like it".into();
        assert_eq!(store.read_blocking(move |tx| list(tx, &q)).unwrap().page.total, 0);
    }

    #[test]
    fn without_by_email_a_search_matches_usernames_but_never_emails() {
        let store = Store::memory();
        let ws = Uuid::now_v7();
        seed(&store, ws, 9);
        let found = |search: &str| {
            let mut q = query(ws, "", "");
            q.by_email = false;
            q.search = search.into();
            store.read_blocking(move |tx| list(tx, &q)).unwrap().page.total
        };
        assert_eq!(found("USER1"), 3);
        assert_eq!(found("user1@"), 0);
        assert_eq!(found("example.com"), 0);
        assert_eq!(found(" "), 9, "a blank search is no search");
    }
}
