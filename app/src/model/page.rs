//! Pages of long lists: a sort chosen from the list's columns, and keyset ("cursor") paging — a
//! page link names the last (or first) row seen, not a page number, so rows added or removed
//! meanwhile never shift a page or show a row twice. Cursors are checked on the server: a link
//! that was changed, or that belongs to another sort, is refused with a message.

use serde::{Deserialize, Serialize};

use super::AppError;

/// Rows per page.
pub const PER_PAGE: u32 = 20;

/// One page of a list, in the order its `sort` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Rows in the whole (filtered) list.
    pub total: u64,
    /// How many rows come before this page.
    pub offset: u64,
    /// The cursor of the page before, if any.
    pub prev: Option<String>,
    /// The cursor of the page after, if any.
    pub next: Option<String>,
    /// The sort in effect, as the `sort` query parameter says it (`email`, `-created`).
    pub sort: String,
}

/// A sort: a column of the list, ascending or (`-column`) descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub column: &'static str,
    pub desc: bool,
}

impl Sort {
    /// Reads a `sort` parameter (`""` for the list's default) against the list's sortable
    /// columns.
    pub fn parse(text: &str, columns: &[&'static str], default: &str) -> Result<Sort, AppError> {
        let text = if text.trim().is_empty() { default } else { text.trim() };
        let (name, desc) = match text.strip_prefix('-') {
            Some(n) => (n, true),
            None => (text, false),
        };
        columns
            .iter()
            .find(|c| **c == name)
            .map(|column| Sort { column, desc })
            .ok_or_else(|| {
                AppError::invalid(
                    "Sort",
                    format!(
                        "“{name}” is not a column this list can be sorted by (it can be sorted by {})",
                        columns.join(", ")
                    ),
                )
            })
    }

    /// The `sort` query parameter for this sort.
    pub fn param(&self) -> String {
        format!("{}{}", if self.desc { "-" } else { "" }, self.column)
    }
}

/// The part of a row its list is sorted by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

/// A row's place in its list: the sorted value, then the row's id to break ties.
pub type Key = (KeyValue, u128);

/// The refusal of a page link (`cursor` parameter) that cannot be followed; every keyset list
/// uses it, so the message and the field are the same everywhere.
pub fn bad_cursor() -> AppError {
    AppError::invalid(
        "cursor",
        "this page link is not valid (it was changed, or the list is now sorted differently); start again from the first page",
    )
}

#[derive(Debug, PartialEq, Eq)]
enum Cursor {
    After(Key),
    Before(Key),
}

fn encode_cursor(sort: &Sort, after: bool, key: &Key) -> String {
    let value = match &key.0 {
        KeyValue::Int(n) => format!("i{n}"),
        KeyValue::Text(t) => format!("t{t}"),
    };
    format!("{}.{}.{:x}.{value}", if after { "a" } else { "b" }, sort.param(), key.1)
}

fn decode_cursor(sort: &Sort, text: &str) -> Result<Option<Cursor>, AppError> {
    if text.is_empty() {
        return Ok(None);
    }
    let mut parts = text.splitn(4, '.');
    let (Some(dir), Some(s), Some(id), Some(value)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad_cursor());
    };
    if s != sort.param() || id.is_empty() || id.len() > 32 {
        return Err(bad_cursor());
    }
    let id = u128::from_str_radix(id, 16).map_err(|_| bad_cursor())?;
    let value = match (value.get(..1), value.get(1..)) {
        (Some("i"), Some(n)) => KeyValue::Int(n.parse().map_err(|_| bad_cursor())?),
        (Some("t"), Some(t)) if t.chars().count() <= 320 => KeyValue::Text(t.to_string()),
        _ => return Err(bad_cursor()),
    };
    match dir {
        "a" => Ok(Some(Cursor::After((value, id)))),
        "b" => Ok(Some(Cursor::Before((value, id)))),
        _ => Err(bad_cursor()),
    }
}

/// The page of `rows` (in any order) that `cursor` (`""` for the first) asks for, sorted by
/// `sort`.
pub fn window<T>(
    mut rows: Vec<(Key, T)>,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<T>, AppError> {
    let cursor = decode_cursor(&sort, cursor)?;
    // A cursor's value is of the kind the sorted column holds.
    if let (Some(Cursor::After((v, _)) | Cursor::Before((v, _))), Some(((first, _), _))) = (&cursor, rows.first()) {
        if std::mem::discriminant(v) != std::mem::discriminant(first) {
            return Err(bad_cursor());
        }
    }
    let desc = sort.desc;
    let order = move |a: &Key, b: &Key| if desc { b.cmp(a) } else { a.cmp(b) };
    rows.sort_by(|a, b| order(&a.0, &b.0));
    let (len, per) = (rows.len(), per_page.max(1) as usize);
    let (start, end) = match &cursor {
        None => (0, per.min(len)),
        Some(Cursor::After(k)) => {
            let start = rows.partition_point(|r| order(&r.0, k).is_le());
            (start, (start + per).min(len))
        }
        Some(Cursor::Before(k)) => {
            let end = rows.partition_point(|r| order(&r.0, k).is_lt());
            match end.checked_sub(per) {
                Some(start) => (start, end),
                None => (0, per.min(len)),
            }
        }
    };
    // Past the last row the page is empty: it has no first row to lead back from.
    let prev = rows.get(start).filter(|_| start > 0).map(|r| encode_cursor(&sort, false, &r.0));
    let next = (end < len && end > start).then(|| encode_cursor(&sort, true, &rows[end - 1].0));
    let items = rows.drain(start..end).map(|(_, t)| t).collect();
    Ok(Page {
        items,
        total: len as u64,
        offset: start as u64,
        prev,
        next,
        sort: sort.param(),
    })
}

impl<T> Page<T> {
    /// The same page with each row changed (a key loaded into its row, say).
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self.items.into_iter().map(f).collect::<Result<_, E>>()?,
            total: self.total,
            offset: self.offset,
            prev: self.prev,
            next: self.next,
            sort: self.sort,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u128) -> Vec<(Key, u128)> {
        (1..=n).map(|i| ((KeyValue::Int(i as i64 * 10), i), i)).collect()
    }

    const COLS: &[&str] = &["created", "name"];

    #[test]
    fn sorts_are_read_from_the_columns_only() {
        assert_eq!(Sort::parse("", COLS, "-created").unwrap(), Sort { column: "created", desc: true });
        assert_eq!(Sort::parse("name", COLS, "-created").unwrap(), Sort { column: "name", desc: false });
        let e = Sort::parse("password", COLS, "-created").unwrap_err();
        assert_eq!(e.field(), Some("Sort"));
        assert!(e.to_string().contains("created, name"), "{e}");
    }

    #[test]
    fn pages_follow_their_cursors_both_ways() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        let p1 = window(rows(45), sort, "", 20).unwrap();
        assert_eq!(p1.items.first(), Some(&45));
        assert_eq!((p1.total, p1.offset, p1.prev.is_none()), (45, 0, true));
        let p2 = window(rows(45), sort, p1.next.as_deref().unwrap(), 20).unwrap();
        assert_eq!((p2.items[0], p2.offset), (25, 20));
        let p3 = window(rows(45), sort, p2.next.as_deref().unwrap(), 20).unwrap();
        assert_eq!(p3.items, vec![5, 4, 3, 2, 1]);
        assert!(p3.next.is_none());
        let back = window(rows(45), sort, p3.prev.as_deref().unwrap(), 20).unwrap();
        assert_eq!(back.items, p2.items);
        let first = window(rows(45), sort, back.prev.as_deref().unwrap(), 20).unwrap();
        assert_eq!(first.items, p1.items);
    }

    #[test]
    fn a_row_added_before_the_cursor_does_not_shift_the_next_page() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        let p1 = window(rows(30), sort, "", 10).unwrap();
        let mut more = rows(30);
        more.push(((KeyValue::Int(1000), 99), 99));
        let p2 = window(more, sort, p1.next.as_deref().unwrap(), 10).unwrap();
        assert_eq!(p2.items[0], 20);
    }

    #[test]
    fn changed_cursors_are_refused_with_a_message() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        let good = window(rows(45), sort, "", 20).unwrap().next.unwrap();
        let other_sort = Sort::parse("name", COLS, "").unwrap();
        for bad in [
            "x".to_string(),
            "a.-created".into(),
            "z.-created.1.i5".into(),
            "a.-created.zz.i5".into(),
            "a.-created.1.iabc".into(),
            "a.-created.1.q5".into(),
            "b.-created.1.t".into(),
            format!("a.-created.{}.i5", "f".repeat(40)),
        ] {
            let e = window(rows(5), sort, &bad, 20).unwrap_err();
            assert_eq!(e.field(), Some("cursor"), "{bad}");
            assert_eq!(e.status(), 422, "{bad}");
            assert!(e.to_string().starts_with("cursor: this page link is not valid"), "{e}");
        }
        assert!(window(rows(5), other_sort, &good, 20).is_err());
    }

    #[test]
    fn a_cursor_at_the_last_row_gives_an_empty_page() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        // 40 rows: the second page ends exactly at the last row and has no next link.
        let p2 = window(rows(40), sort, &encode_cursor(&sort, true, &((KeyValue::Int(210), 21))), 20).unwrap();
        assert_eq!((p2.items.len(), p2.items[19], p2.next.is_none()), (20, 1, true));
        let last = encode_cursor(&sort, true, &(KeyValue::Int(10), 1));
        let empty = window(rows(40), sort, &last, 20).unwrap();
        assert!(empty.items.is_empty());
        assert_eq!((empty.total, empty.offset, empty.prev, empty.next), (40, 40, None, None));
        // The same when the list is sorted the other way.
        let asc = Sort::parse("created", COLS, "").unwrap();
        let last = encode_cursor(&asc, true, &(KeyValue::Int(400), 40));
        let empty = window(rows(40), asc, &last, 20).unwrap();
        assert_eq!((empty.items.len(), empty.offset), (0, 40));
    }

    #[test]
    fn a_cursor_past_the_last_row_gives_an_empty_page() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        // Rows that were there when the link was made are gone now.
        for key in [(KeyValue::Int(5), 0), (KeyValue::Int(-1), 7), (KeyValue::Int(i64::MIN), 0)] {
            let past = encode_cursor(&sort, true, &key);
            let page = window(rows(3), sort, &past, 20).unwrap();
            assert!(page.items.is_empty(), "{past}");
            assert_eq!((page.total, page.offset, page.prev, page.next), (3, 3, None, None), "{past}");
        }
        // A list that has become empty.
        let page = window(rows(0), sort, &encode_cursor(&sort, true, &(KeyValue::Int(10), 1)), 20).unwrap();
        assert_eq!((page.items.len(), page.total, page.offset), (0, 0, 0));
        // "Before" a row before the first one leads to the first page.
        let before = encode_cursor(&sort, false, &(KeyValue::Int(i64::MAX), u128::MAX));
        let first = window(rows(3), sort, &before, 20).unwrap();
        assert_eq!((first.items, first.offset, first.prev), (vec![3, 2, 1], 0, None));
    }

    #[test]
    fn a_malformed_cursor_names_the_cursor_field() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        for bad in ["a", "a.-created", "a.-created.1", "a.-created..i5", "a.-created.1.i", "a.-created.1.i9223372036854775808", "a.-created.1.tabc"] {
            let e = window(rows(3), sort, bad, 20).unwrap_err();
            assert_eq!((e.status(), e.field()), (422, Some("cursor")), "{bad}");
        }
    }
}
