//! One keyset pagination for every list of the console.
//!
//! A list (the Members page, the operator's accounts, an audit log …) is a [`List`]: a code and
//! the columns it can be sorted by. Each row of it is indexed in [`LISTINGS`] under every filter
//! it matches (0: "every row") and every sort, by its sort key's bytes, in the transaction that
//! writes the row ([`set`]); [`LISTING_COUNTS`] keeps how many rows each filter has. A page is
//! then one range read of the index in display order, starting just past its cursor: its cost
//! depends on the page size, not on how many rows the list has ([`page`] says how many index
//! entries it read). Every list writes and reads one cursor format ([`Cursor`]).
//!
//! Filters are dimensions (a member's role, their status …), each a small non-zero code: a row
//! is listed under every combination of its codes and "any" ([`Row::new`]), and a query names
//! the combination it wants ([`filter`]). A value a list is filtered by has its code by
//! [`Dimension`], written once per type.

use std::ops::Bound;

use redb::{ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::codec::{encode, one};
use super::tables::{LISTINGS, LISTING_COUNTS, LISTING_ROWS};
use crate::model::page::{window_keyed, Cursor, KeyValue, Page, Position, Sort};
use crate::model::AppError;

/// A list of the console: its code in the index (never reused) and the columns it can be sorted
/// by (their order is part of the index: append only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List {
    pub code: u8,
    pub sorts: &'static [&'static str],
    /// The sort a page asked for without one (`-column` for descending).
    pub default_sort: &'static str,
}

/// Bits of the filter code each dimension has.
const DIMENSION_BITS: u32 = 32;

/// A value a list is filtered by (a mail's state, a member's role, whether an account is an
/// operator …): the code its rows are indexed under. Codes are explicit numbers, never 0 (which
/// means "any") and fixed forever, never the declaration order: `golden.rs` pins each.
pub trait Dimension: Copy {
    fn code_in_index(self) -> u32;
}

/// A yes-or-no dimension (verified, an operator, active): 1 for yes, 2 for no.
impl Dimension for bool {
    fn code_in_index(self) -> u32 {
        if self { 1 } else { 2 }
    }
}

/// What one row is listed under: its filter codes and its sort keys (one per sort of the list,
/// in the list's order).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Row {
    pub filters: Vec<u64>,
    pub keys: Vec<Vec<u8>>,
}

impl Row {
    /// A row whose filter dimensions have the codes `dims` (each non-zero), with one sort key
    /// per sort of its list.
    pub fn new(dims: &[u32], keys: Vec<KeyValue>) -> Row {
        let mut filters = Vec::with_capacity(1 << dims.len());
        for subset in 0u32..(1 << dims.len()) {
            let mut code = 0u64;
            for (i, d) in dims.iter().enumerate() {
                if subset & (1 << i) != 0 {
                    code |= u64::from(*d) << (DIMENSION_BITS * i as u32);
                }
            }
            filters.push(code);
        }
        filters.sort_unstable();
        filters.dedup();
        Row { filters, keys: keys.iter().map(KeyValue::bytes).collect() }
    }
}

/// The filter code of a query: per dimension (in the order [`Row::new`] took them) the code
/// wanted ([`Dimension::code_in_index`]), or `None` for any.
pub fn filter(dims: &[Option<u32>]) -> u64 {
    dims.iter()
        .enumerate()
        .map(|(i, d)| d.map_or(0, |d| u64::from(d) << (DIMENSION_BITS * i as u32)))
        .fold(0, |a, b| a | b)
}

/// A text filter's code (an audit action's name, say): 32 bits of its SHA-256, never 0.
pub fn text_code(text: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(text.as_bytes());
    u32::from_be_bytes([h[0], h[1], h[2], h[3]]).max(1)
}

type IndexKey<'a> = (u8, u128, u64, u8, &'a [u8], u128);

/// Lists row `id` of `list` in `scope` as `row` says, or (`None`) takes it off the list, moving
/// its index entries and counts. Called in the transaction that writes the row.
pub fn set(tx: &WriteTransaction, list: List, scope: u128, id: u128, row: Option<&Row>) -> Result<(), AppError> {
    let mut rows = tx.open_table(LISTING_ROWS)?;
    let old: Option<Row> = one(&rows, (list.code, scope, id))?;
    if old.as_ref() == row {
        return Ok(());
    }
    match row {
        Some(r) => {
            debug_assert_eq!(r.keys.len(), list.sorts.len(), "one key per sort of the list");
            rows.insert((list.code, scope, id), encode(r)?.as_slice())?;
        }
        None => {
            rows.remove((list.code, scope, id))?;
        }
    }
    drop(rows);
    let mut index = tx.open_table(LISTINGS)?;
    if let Some(old) = &old {
        for f in &old.filters {
            for (s, k) in old.keys.iter().enumerate() {
                index.remove((list.code, scope, *f, s as u8, k.as_slice(), id))?;
            }
        }
    }
    if let Some(new) = row {
        for f in &new.filters {
            for (s, k) in new.keys.iter().enumerate() {
                index.insert((list.code, scope, *f, s as u8, k.as_slice(), id), ())?;
            }
        }
    }
    drop(index);
    let before = old.map(|r| r.filters).unwrap_or_default();
    let after = row.map(|r| r.filters.as_slice()).unwrap_or_default();
    let mut counts = tx.open_table(LISTING_COUNTS)?;
    let changes = before
        .iter()
        .filter(|f| !after.contains(f))
        .map(|f| (*f, -1i64))
        .chain(after.iter().filter(|f| !before.contains(f)).map(|f| (*f, 1)));
    for (f, delta) in changes {
        let key = (list.code, scope, f);
        let n = counts.get(key)?.map(|v| v.value()).unwrap_or(0) as i64 + delta;
        if n > 0 {
            counts.insert(key, n as u64)?;
        } else {
            counts.remove(key)?;
        }
    }
    Ok(())
}

/// Takes every row of `list` off it (before the list is built again from its table).
pub fn clear(tx: &WriteTransaction, list: List) -> Result<(), AppError> {
    let lo = (list.code, 0u128, 0u128);
    let hi = (list.code, u128::MAX, u128::MAX);
    tx.open_table(LISTING_ROWS)?.retain_in(lo..=hi, |_, _| false)?;
    let empty: &[u8] = &[];
    let (lo, hi): (IndexKey, IndexKey) = ((list.code, 0, 0, 0, empty, 0), (list.code, u128::MAX, u64::MAX, u8::MAX, empty, 0));
    tx.open_table(LISTINGS)?.retain_in(lo..hi, |_, _| false)?;
    tx.open_table(LISTING_COUNTS)?.retain_in((list.code, 0, 0)..=(list.code, u128::MAX, u64::MAX), |_, _| false)?;
    Ok(())
}

/// Every record of a table whose values are JSON, decoded: what a list is built again from.
pub fn records<K: redb::Key + 'static, T: serde::de::DeserializeOwned>(
    tx: &WriteTransaction,
    def: redb::TableDefinition<K, &'static [u8]>,
) -> Result<Vec<T>, AppError> {
    super::codec::all(&tx.open_table(def)?)
}

/// How many rows of `list` in `scope` match `filter`.
pub fn count(tx: &impl super::Reads, list: List, scope: u128, filter: u64) -> Result<u64, AppError> {
    Ok(tx.open(LISTING_COUNTS)?.get((list.code, scope, filter))?.map(|v| v.value()).unwrap_or(0))
}

/// The ids of every row of `list` in `scope` that matches `filter`, in the list's first sort:
/// as many index entries read as there are such rows, whatever else the list holds.
pub fn ids(tx: &impl super::Reads, list: List, scope: u128, filter: u64) -> Result<Vec<u128>, AppError> {
    let mut read = 0;
    Ok(scan(&tx.open(LISTINGS)?, (list.code, scope, filter, 0), None, true, usize::MAX, &mut read)?.into_iter().map(|(_, id)| id).collect())
}

/// How many rows of `list` in `scope` under `filter` have a `column` value of `from` or more (in
/// a write transaction: a rate limit counts what it is about to add to).
pub fn entries_from(
    tx: &WriteTransaction,
    list: List,
    scope: u128,
    filter: u64,
    column: &str,
    from: &KeyValue,
) -> Result<usize, AppError> {
    let order = list.sorts.iter().position(|c| *c == column).ok_or(AppError::Internal)? as u8;
    let key = from.bytes();
    let empty: &[u8] = &[];
    let lo: IndexKey = (list.code, scope, filter, order, key.as_slice(), 0);
    let hi: IndexKey = (list.code, scope, filter, order + 1, empty, 0);
    Ok(tx.open_table(LISTINGS)?.range::<IndexKey>(lo..hi)?.count())
}

/// The ids of at most `limit` rows of `list` in `scope` under `filter` whose `column` value is
/// below `before`, lowest first (the oldest, for a purge): as many index entries read as ids.
pub fn ids_before(
    tx: &impl super::Reads,
    list: List,
    scope: u128,
    filter: u64,
    column: &str,
    before: &KeyValue,
    limit: usize,
) -> Result<Vec<u128>, AppError> {
    let order = list.sorts.iter().position(|c| *c == column).ok_or(AppError::Internal)? as u8;
    let key = before.bytes();
    let empty: &[u8] = &[];
    let lo: IndexKey = (list.code, scope, filter, order, empty, 0);
    let hi: IndexKey = (list.code, scope, filter, order, key.as_slice(), 0);
    let mut ids = Vec::new();
    for row in tx.open(LISTINGS)?.range::<IndexKey>(lo..hi)?.take(limit) {
        ids.push(row?.0.value().5);
    }
    Ok(ids)
}

/// How many entries the whole index holds (for the data file's statistics and tests).
pub fn entries(tx: &ReadTransaction) -> Result<u64, AppError> {
    Ok(tx.open_table(LISTINGS)?.len()?)
}

/// Which page of a list is asked for: its sort, the cursor an earlier page gave (empty for the
/// first page) and how many rows. Every list takes one, made from the request's `sort` and
/// `cursor` parameters by [`Window::parse`].
#[derive(Debug, Clone)]
pub struct Window {
    pub sort: Sort,
    pub cursor: String,
    pub per_page: u32,
}

impl Window {
    /// The page of `list` that the `sort` (empty: the list's default) and `cursor` parameters
    /// name. A sort the list does not have is refused here, naming "Sort"; a malformed cursor
    /// is refused when the page is read, naming "cursor".
    pub fn parse(list: List, sort: &str, cursor: &str, per_page: u32) -> Result<Window, AppError> {
        Ok(Window { sort: Sort::parse(sort, list.sorts, list.default_sort)?, cursor: cursor.to_string(), per_page })
    }

    /// The page of `list` a request's [`Position`] names (as [`Window::parse`]).
    pub fn at(list: List, position: &Position, per_page: u32) -> Result<Window, AppError> {
        Window::parse(list, &position.sort, &position.cursor, per_page)
    }

    /// The first page of `list` in its default order.
    pub fn first(list: List, per_page: u32) -> Window {
        Window { sort: list.default_order(), cursor: String::new(), per_page }
    }
}

impl List {
    /// The list's default sort.
    pub fn default_order(self) -> Sort {
        Sort { column: self.default_sort.trim_start_matches('-'), desc: self.default_sort.starts_with('-') }
    }
}

/// What a page of a list asks for: the rows of one scope and filter, and the window.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub scope: u128,
    pub filter: u64,
    pub window: &'a Window,
}

/// A page, and how many index entries were read to make it.
#[derive(Debug)]
pub struct Listed<T> {
    pub page: Page<T>,
    pub entries_read: usize,
}

impl<T> std::ops::Deref for Listed<T> {
    type Target = Page<T>;
    fn deref(&self) -> &Page<T> {
        &self.page
    }
}

/// Reads up to `n` index entries of one (list, scope, filter, sort) in key order (`ascending`)
/// or its reverse, starting just past `from`.
#[allow(clippy::too_many_arguments)]
fn scan(
    t: &impl ReadableTable<IndexKey<'static>, ()>,
    prefix: (u8, u128, u64, u8),
    from: Option<&(Vec<u8>, u128)>,
    ascending: bool,
    n: usize,
    read: &mut usize,
) -> Result<Vec<(Vec<u8>, u128)>, AppError> {
    let (l, s, f, o) = prefix;
    let empty: &[u8] = &[];
    let lo: IndexKey = (l, s, f, o, empty, 0);
    // Past every key of this sort: the next sort's first (a list has far fewer than 255 sorts).
    let hi: IndexKey = (l, s, f, o + 1, empty, 0);
    let bounds: (Bound<IndexKey>, Bound<IndexKey>) = match (from, ascending) {
        (None, _) => (Bound::Included(lo), Bound::Excluded(hi)),
        (Some((k, id)), true) => (Bound::Excluded((l, s, f, o, k.as_slice(), *id)), Bound::Excluded(hi)),
        (Some((k, id)), false) => (Bound::Included(lo), Bound::Excluded((l, s, f, o, k.as_slice(), *id))),
    };
    let range = t.range::<IndexKey>(bounds)?;
    let rows: Box<dyn Iterator<Item = _>> = if ascending { Box::new(range) } else { Box::new(range.rev()) };
    let mut out = Vec::with_capacity(n.min(1024));
    for row in rows.take(n) {
        let k = row?.0;
        let k = k.value();
        *read += 1;
        out.push((k.4.to_vec(), k.5));
    }
    Ok(out)
}

/// One page of `list`, its rows loaded by `load` (a row it no longer finds is left out).
pub fn page<T>(
    tx: &ReadTransaction,
    list: List,
    q: &Query,
    mut load: impl FnMut(u128) -> Result<Option<T>, AppError>,
) -> Result<Listed<T>, AppError> {
    page_keyed(tx, list, q, |_, id| load(id))
}

/// [`page`], whose `load` is also given the row's sort key (a row found by its key).
pub fn page_keyed<T>(
    tx: &ReadTransaction,
    list: List,
    q: &Query,
    mut load: impl FnMut(&[u8], u128) -> Result<Option<T>, AppError>,
) -> Result<Listed<T>, AppError> {
    let w = q.window;
    let Some(order) = list.sorts.iter().position(|c| *c == w.sort.column) else {
        tracing::error!(list = list.code, sort = w.sort.column, "a sort the list does not have");
        return Err(AppError::Internal);
    };
    let cursor = Cursor::decode(&w.sort, &w.cursor)?;
    let prefix = (list.code, q.scope, q.filter, order as u8);
    let total = count(tx, list, q.scope, q.filter)?;
    let index = tx.open_table(LISTINGS)?;
    let per = w.per_page.max(1) as usize;
    // Display order is key order when ascending, its reverse when descending.
    let forward = !w.sort.desc;
    let mut read = 0;
    let first_page = |read: &mut usize| -> Result<_, AppError> {
        let mut keys = scan(&index, prefix, None, forward, per + 1, read)?;
        let more = keys.len() > per;
        keys.truncate(per);
        Ok((keys, 0, false, more))
    };
    let (keys, offset, has_prev, has_next) = match cursor {
        None => first_page(&mut read)?,
        Some(Cursor { after: true, offset, key }) => {
            let mut keys = scan(&index, prefix, Some(&key), forward, per + 1, &mut read)?;
            let more = keys.len() > per;
            keys.truncate(per);
            // Past the last row the page is empty: it has no first row to lead back from.
            match keys.is_empty() {
                true => (keys, total, false, false),
                false => (keys, offset.min(total), true, more),
            }
        }
        Some(Cursor { after: false, offset, key }) => {
            let mut keys = scan(&index, prefix, Some(&key), !forward, per + 1, &mut read)?;
            if keys.len() > per {
                keys.truncate(per);
                keys.reverse();
                (keys, offset.min(total), true, true)
            } else {
                // Fewer than a page before the cursor: that is the first page.
                first_page(&mut read)?
            }
        }
    };
    let prev = match keys.first() {
        Some(first) if has_prev => Some(
            Cursor { after: false, offset: offset.saturating_sub(per as u64), key: first.clone() }.encode(&w.sort),
        ),
        _ => None,
    };
    let next = match keys.last() {
        Some(last) if has_next => {
            Some(Cursor { after: true, offset: offset + keys.len() as u64, key: last.clone() }.encode(&w.sort))
        }
        _ => None,
    };
    let mut items = Vec::with_capacity(keys.len());
    for (key, id) in &keys {
        if let Some(t) = load(key, *id)? {
            items.push(t);
        }
    }
    Ok(Listed { page: Page { items, total, offset, prev, next, sort: w.sort.param() }, entries_read: read })
}

/// A searched page of `list`: every row listed under the query's filter is offered to `hit`, in
/// the query's sort, and those it returns are paged with the same links as [`page`]. A search
/// reads the whole filtered list (what it reads is counted in `entries_read`).
pub fn search<T>(
    tx: &ReadTransaction,
    list: List,
    q: &Query,
    mut hit: impl FnMut(u128) -> Result<Option<T>, AppError>,
) -> Result<Listed<T>, AppError> {
    let w = q.window;
    let Some(order) = list.sorts.iter().position(|c| *c == w.sort.column) else {
        tracing::error!(list = list.code, sort = w.sort.column, "a sort the list does not have");
        return Err(AppError::Internal);
    };
    let index = tx.open_table(LISTINGS)?;
    let mut read = 0;
    let keys = scan(&index, (list.code, q.scope, q.filter, order as u8), None, true, usize::MAX, &mut read)?;
    let mut rows = Vec::new();
    for key in keys {
        if let Some(t) = hit(key.1)? {
            rows.push((key, t));
        }
    }
    Ok(Listed { page: window_keyed(rows, w.sort, &w.cursor, w.per_page)?, entries_read: read })
}

/// A page of `list`, whose rows are the records of `records` keyed by their ids, searched or
/// not: without a search (`search` blank) one range of the index, as [`page`]; with one, the
/// records `matches` keeps for the lower-cased search, as [`search`]. Each is shown as `view`
/// makes it.
pub fn find<R: DeserializeOwned, T>(
    tx: &ReadTransaction,
    list: List,
    records: TableDefinition<u128, &'static [u8]>,
    q: &Query,
    search: &str,
    matches: impl Fn(&R, &str) -> bool,
    view: impl Fn(&R) -> T,
) -> Result<Listed<T>, AppError> {
    let table = tx.open_table(records)?;
    let load = |id: u128| one::<_, R>(&table, id);
    let needle = search.trim().to_lowercase();
    if needle.is_empty() {
        return page(tx, list, q, |id| Ok(load(id)?.map(|r| view(&r))));
    }
    self::search(tx, list, q, |id| Ok(load(id)?.filter(|r| matches(r, &needle)).map(|r| view(&r))))
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    const PEOPLE: List = List { code: 250, sorts: &["name", "joined"], default_sort: "name" };

    fn person(name: &str, joined: i64, role: u32) -> Row {
        Row::new(&[role], vec![KeyValue::Text(name.into()), KeyValue::Int(joined)])
    }

    fn q(sort: &str, filter: u64, cursor: &str) -> (u64, Window) {
        (filter, Window::parse(PEOPLE, sort, cursor, 3).unwrap())
    }

    fn query((filter, window): &(u64, Window)) -> Query<'_> {
        Query { scope: 7, filter: *filter, window }
    }

    fn names(store: &Store, q: &(u64, Window)) -> (Vec<u128>, Listed<u128>) {
        let listed = store.read_blocking(|tx| page(tx, PEOPLE, &query(q), |id| Ok(Some(id)))).unwrap();
        (listed.page.items.clone(), listed)
    }

    #[test]
    fn a_row_is_listed_under_every_combination_of_its_filters() {
        let r = Row::new(&[2, 5], vec![KeyValue::Int(1)]);
        assert_eq!(r.filters, vec![0, 2, 5 << 32, 2 | (5 << 32)]);
        assert_eq!(filter(&[Some(2), None]), 2);
        assert_eq!(filter(&[None, Some(5)]), 5 << 32);
        assert_eq!(filter(&[None, None]), 0);
    }

    #[test]
    fn pages_read_only_their_entries_and_follow_cursors_both_ways() {
        let store = Store::memory();
        store
            .write_blocking(|tx| {
                for i in 0..100u128 {
                    set(tx, PEOPLE, 7, i, Some(&person(&format!("p{i:03}"), i as i64, 1 + (i % 2) as u32)))?;
                }
                // Another scope's rows are not this list's.
                set(tx, PEOPLE, 8, 1000, Some(&person("a", 0, 1)))
            })
            .unwrap();
        let (first, listed) = names(&store, &q("", 0, ""));
        assert_eq!((first, listed.page.total, listed.entries_read), (vec![0, 1, 2], 100, 4));
        let next = listed.page.next.unwrap();
        let (second, listed) = names(&store, &q("", 0, &next));
        assert_eq!((second, listed.page.offset, listed.entries_read), (vec![3, 4, 5], 3, 4));
        let prev = listed.page.prev.unwrap();
        let (back, listed) = names(&store, &q("", 0, &prev));
        assert_eq!((back, listed.page.offset, listed.page.prev), (vec![0, 1, 2], 0, None));
        // Newest first, filtered to one role.
        let (newest, listed) = names(&store, &q("-joined", filter(&[Some(2)]), ""));
        assert_eq!((newest, listed.page.total, listed.entries_read), (vec![99, 97, 95], 50, 4));
        // A cursor made for another sort is refused.
        let e = store.read_blocking(|tx| page(tx, PEOPLE, &query(&q("joined", 0, &next)), |id| Ok(Some(id)))).unwrap_err();
        assert_eq!(e.field(), Some("cursor"));
    }

    #[test]
    fn a_changed_row_moves_and_a_removed_one_leaves_with_its_counts() {
        let store = Store::memory();
        store.write_blocking(|tx| set(tx, PEOPLE, 7, 1, Some(&person("zed", 1, 1)))).unwrap();
        store.write_blocking(|tx| set(tx, PEOPLE, 7, 2, Some(&person("amy", 2, 1)))).unwrap();
        store.write_blocking(|tx| set(tx, PEOPLE, 7, 1, Some(&person("abe", 1, 2)))).unwrap();
        let (all, listed) = names(&store, &q("", 0, ""));
        assert_eq!((all, listed.page.total), (vec![1, 2], 2));
        let (ones, listed) = names(&store, &q("", filter(&[Some(1)]), ""));
        assert_eq!((ones, listed.page.total), (vec![2], 1));
        store.write_blocking(|tx| set(tx, PEOPLE, 7, 2, None)).unwrap();
        let (left, listed) = names(&store, &q("", 0, ""));
        assert_eq!((left, listed.page.total), (vec![1], 1));
        assert_eq!(store.read_blocking(|tx| count(tx, PEOPLE, 7, filter(&[Some(1)]))).unwrap(), 0);
        // Two sorts, two filters (any, role 2): four entries.
        assert_eq!(store.read_blocking(entries).unwrap(), 4);
        store.write_blocking(|tx| clear(tx, PEOPLE)).unwrap();
        assert_eq!(store.read_blocking(entries).unwrap(), 0);
    }

    #[test]
    fn a_search_pages_its_hits_with_the_same_links() {
        let store = Store::memory();
        store
            .write_blocking(|tx| (0..30u128).try_for_each(|i| set(tx, PEOPLE, 7, i, Some(&person(&format!("p{i:02}"), i as i64, 1)))))
            .unwrap();
        let even = |id: u128| Ok((id % 2 == 0).then_some(id));
        let first = store.read_blocking(|tx| search(tx, PEOPLE, &query(&q("-name", 0, "")), even)).unwrap();
        assert_eq!((first.page.items.clone(), first.page.total, first.entries_read), (vec![28, 26, 24], 15, 30));
        let next = first.page.next.unwrap();
        let second = store.read_blocking(|tx| search(tx, PEOPLE, &query(&q("-name", 0, &next)), even)).unwrap();
        assert_eq!((second.page.items, second.page.offset), (vec![22, 20, 18], 3));
    }

    /// Every list of the console, filled through the store functions that write its rows: a page
    /// (the first, and one followed by its link) reads its own entries and no others.
    #[test]
    fn every_list_reads_only_its_page() {
        use super::super::golden as g;
        use super::super::{accounts, approvals, audit, change_requests, members, minis, outbox, workspace_applications, workspaces};
        use crate::model::audit::AuditAction;
        use uuid::Uuid;
        const N: u128 = 60;
        let store = Store::memory();
        let ws = Uuid::from_u128(7);
        let applicant = Uuid::from_u128(8);
        let mp = Uuid::from_u128(9);
        store
            .write_blocking(|tx| {
                let mut program = g::mini_program();
                (program.id, program.workspace) = (mp, ws);
                minis::put(tx, &program)?;
                for i in 0..N {
                    let later = chrono::Duration::seconds(i as i64);
                    let mut a = g::account();
                    (a.id, a.email, a.username, a.created) =
                        (Uuid::from_u128(1000 + i), format!("p{i}@example.com"), format!("p{i}"), a.created + later);
                    accounts::insert(tx, &a)?;
                    let mut m = g::membership();
                    (m.workspace, m.account, m.joined) = (ws, a.id, m.joined + later);
                    crate::server::store::members::put_membership(tx, &m)?;
                    let actor = audit::Actor { id: Some(a.id), name: a.username.clone(), client: None };
                    audit::record(tx, &actor, Some((ws, "Acme")), AuditAction::WorkspaceApplicationSubmitted, "t", "d")?;
                    audit::record_security(tx, &actor, applicant, AuditAction::WorkspaceApplicationSubmitted, "t", "d")?;
                    outbox::enqueue(tx, vec![a.email.clone()], "Hi", "Body")?;
                    let mut wa = g::workspace_application();
                    (wa.id, wa.applicant, wa.name) = (Uuid::from_u128(2000 + i), a.id, format!("Ws{i}"));
                    workspace_applications::insert_application(tx, &wa)?;
                    let mut w = g::workspace();
                    (w.id, w.name) = (Uuid::from_u128(3000 + i), format!("Ws{i}"));
                    workspaces::insert_workspace(tx, &w)?;
                    let mut c = g::change_request();
                    (c.id, c.created) = (Uuid::from_u128(4000 + i), c.created + later);
                    change_requests::insert_change_request(tx, &c)?;
                    let mut ap = g::approval();
                    (ap.id, ap.workspace, ap.applicant, ap.version, ap.created) =
                        (Uuid::from_u128(5000 + i), ws, applicant, Some(format!("1.0.{i}")), ap.created + later);
                    approvals::insert(tx, &ap)?;
                    let mut v = g::version();
                    (v.mini_program, v.version, v.created) = (mp, format!("1.0.{i}"), v.created + later);
                    minis::put_version(tx, &v)?;
                }
                Ok(())
            })
            .unwrap();
        let lists: Vec<(List, u128, u64)> = vec![
            (accounts::LIST, 0, N as u64),
            (members::LIST, ws.as_u128(), N as u64),
            // The platform's log has the workspace's events and the security events.
            (audit::LIST, 0, 2 * N as u64),
            (audit::LIST, ws.as_u128(), N as u64),
            (audit::SECURITY_LIST, applicant.as_u128(), N as u64),
            (outbox::LIST, 0, N as u64),
            (workspace_applications::APPLICATION_LIST, 0, N as u64),
            (workspaces::WORKSPACE_LIST, 0, N as u64),
            (change_requests::CHANGE_REQUEST_LIST, 0, N as u64),
            (approvals::LIST, ws.as_u128(), N as u64),
            (approvals::MINE, applicant.as_u128(), N as u64),
            (minis::VERSION_LIST, mp.as_u128(), N as u64),
        ];
        for (list, _, _) in &lists {
            // Every list's default sort is one of its own, so `Window::first` pages it.
            assert_eq!(Sort::parse("", list.sorts, list.default_sort).ok(), Some(list.default_order()), "list {}", list.code);
        }
        for (list, scope, total) in lists {
            for column in list.sorts {
                let window = Window { sort: Sort { column, desc: true }, cursor: String::new(), per_page: 20 };
                let first = store
                    .read_blocking(|tx| page(tx, list, &Query { scope, filter: 0, window: &window }, |id| Ok(Some(id))))
                    .unwrap();
                assert_eq!((first.page.total, first.page.items.len(), first.entries_read), (total, 20, 21), "list {} by {column}", list.code);
                let window = Window { cursor: first.page.next.clone().unwrap(), ..window };
                let second = store
                    .read_blocking(|tx| page(tx, list, &Query { scope, filter: 0, window: &window }, |id| Ok(Some(id))))
                    .unwrap();
                assert_eq!((second.page.offset, second.entries_read), (20, 21), "list {} by {column}", list.code);
                assert!(first.page.items.iter().all(|id| !second.page.items.contains(id)));
            }
        }
        // The module's own list functions read the same way.
        let w = |list: List| Window { sort: Sort { column: list.sorts[0], desc: false }, cursor: String::new(), per_page: 20 };
        let read = store
            .read_blocking(|tx| {
                Ok(vec![
                    accounts::list(tx, "", &w(accounts::LIST))?.entries_read,
                    members::list(tx, ws, "", true, None, None, &w(members::LIST), members::member_view(tx, ws))?.entries_read,
                    audit::list(tx, None, "", "", &w(audit::LIST))?.entries_read,
                    audit::list(tx, Some(ws), "workspace_application.submitted", "", &w(audit::LIST))?.entries_read,
                    outbox::list(tx, None, "", &w(outbox::LIST))?.entries_read,
                    workspace_applications::list_applications(tx, None, "", &w(workspace_applications::APPLICATION_LIST))?.entries_read,
                    workspaces::list_workspaces(tx, "", &w(workspaces::WORKSPACE_LIST))?.entries_read,
                    change_requests::list_change_requests(tx, &w(change_requests::CHANGE_REQUEST_LIST))?.entries_read,
                    minis::versions_page(tx, mp, &w(minis::VERSION_LIST))?.entries_read,
                ])
            })
            .unwrap();
        assert_eq!(read, vec![21; 9]);
    }

    #[test]
    fn a_next_link_past_the_last_row_gives_an_empty_page() {
        let store = Store::memory();
        store
            .write_blocking(|tx| {
                for i in 0..6u128 {
                    set(tx, PEOPLE, 7, i, Some(&person(&format!("p{i}"), i as i64, 1)))?;
                }
                Ok(())
            })
            .unwrap();
        let (_, listed) = names(&store, &q("", 0, ""));
        let next = listed.page.next.unwrap();
        let (second, listed) = names(&store, &q("", 0, &next));
        assert_eq!((second, listed.page.next), (vec![3, 4, 5], None));
        // The last three go; the link to the second page leads past the end.
        store.write_blocking(|tx| (3..6).try_for_each(|i| set(tx, PEOPLE, 7, i, None))).unwrap();
        let (empty, listed) = names(&store, &q("", 0, &next));
        assert!(empty.is_empty());
        assert_eq!((listed.page.total, listed.page.offset, listed.page.prev, listed.page.next), (3, 3, None, None));
    }
}
