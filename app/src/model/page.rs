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

/// One filter vocabulary for every list: a filter's values are lower-case words (`pending`,
/// `active`, `queued`) in the URL and the server functions; `""` or `all` means no filter; a word
/// is read whatever its case; anything else is refused naming the words.
pub trait FilterWord: Copy + PartialEq + Sized + 'static {
    /// The field a refusal names ("Status").
    const FIELD: &'static str;
    /// Every value with its word in a URL (`pending`), in menu order.
    const WORDS: &'static [(Self, &'static str)];
    /// The value as a menu shows it ("Pending").
    fn label(self) -> &'static str;

    /// Every value, in menu order.
    fn all() -> impl Iterator<Item = Self> {
        Self::WORDS.iter().map(|(v, _)| *v)
    }

    /// The value's word in a URL.
    fn word(self) -> &'static str {
        Self::WORDS.iter().find(|(v, _)| *v == self).map_or("", |(_, w)| w)
    }

    /// Reads a filter parameter.
    fn parse_filter(text: &str) -> Result<Option<Self>, AppError> {
        let t = text.trim();
        if t.is_empty() || t.eq_ignore_ascii_case("all") {
            return Ok(None);
        }
        Self::WORDS.iter().find(|(_, w)| w.eq_ignore_ascii_case(t)).map(|(v, _)| Some(*v)).ok_or_else(|| {
            let words: Vec<&str> = Self::WORDS.iter().map(|(_, w)| *w).collect();
            AppError::invalid(Self::FIELD, format!("must be one of {}", words.join(", ")))
        })
    }

    /// The choices of the filter's menu: `any` ("All statuses"), then every value.
    fn options(any: &'static str) -> Vec<(&'static str, &'static str)> {
        std::iter::once(("", any)).chain(Self::WORDS.iter().map(|(v, w)| (*w, v.label()))).collect()
    }
}

/// Which page of a list a request asks for: its `sort` and `cursor` query parameters, both empty
/// for the first page in the list's default order. List server functions take it flattened, so
/// on the wire it is those two plain parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
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

/// The part of a row its list is sorted by, before it is written as an index key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    Int(i64),
    Text(String),
}

/// A moment sorts by its microseconds since 1970.
impl From<chrono::DateTime<chrono::Utc>> for KeyValue {
    fn from(at: chrono::DateTime<chrono::Utc>) -> Self {
        KeyValue::Int(at.timestamp_micros())
    }
}

impl KeyValue {
    /// The value as index key bytes, whose byte order is the value's order: a number as 8
    /// big-endian bytes with the sign bit flipped, a text as its lower-case UTF-8 (code-point
    /// order, case ignored).
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            KeyValue::Int(n) => ((*n as u64) ^ (1 << 63)).to_be_bytes().to_vec(),
            KeyValue::Text(t) => t.to_lowercase().into_bytes(),
        }
    }
}

/// A row's place in its list: the sort key's bytes, then the row's id to break ties.
pub type Key = (Vec<u8>, u128);

/// The longest sort key a cursor may carry (an email address is at most 320 characters of up to
/// 4 bytes).
const KEY_MAX: usize = 1280;

/// The refusal of a page link (`cursor` parameter) that cannot be followed; every list uses it,
/// so the message and the field are the same everywhere.
pub fn bad_cursor() -> AppError {
    AppError::invalid(
        "cursor",
        "this page link is not valid (it was changed, or the list is now sorted differently); start again from the first page",
    )
}

/// A page link: the row a page starts after (`after`) or ends before, and the offset of the page
/// it leads to (for "21–40 of 57"). Every list writes and reads this one format:
/// `a|b . sort . offset . id (hex) . sort key (hex)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub after: bool,
    pub offset: u64,
    pub key: Key,
}

impl Cursor {
    pub fn encode(&self, sort: &Sort) -> String {
        format!(
            "{}.{}.{}.{:x}.{}",
            if self.after { "a" } else { "b" },
            sort.param(),
            self.offset,
            self.key.1,
            hex::encode(&self.key.0)
        )
    }

    /// Reads a `cursor` parameter (`""`: the first page) made for `sort`.
    pub fn decode(sort: &Sort, text: &str) -> Result<Option<Cursor>, AppError> {
        if text.is_empty() {
            return Ok(None);
        }
        let parts: Vec<&str> = text.split('.').collect();
        let [dir, s, offset, id, key] = parts.as_slice() else { return Err(bad_cursor()) };
        if *s != sort.param() || id.is_empty() || id.len() > 32 || key.len() > 2 * KEY_MAX {
            return Err(bad_cursor());
        }
        let after = match *dir {
            "a" => true,
            "b" => false,
            _ => return Err(bad_cursor()),
        };
        let offset = offset.parse::<u64>().map_err(|_| bad_cursor())?;
        let id = u128::from_str_radix(id, 16).map_err(|_| bad_cursor())?;
        let key = hex::decode(key).map_err(|_| bad_cursor())?;
        Ok(Some(Cursor { after, offset, key: (key, id) }))
    }
}

/// The page of `rows` (in any order) that `cursor` (`""` for the first) asks for, sorted by
/// `sort`: for a list read whole, with the same links as an index-read list.
pub fn window<T>(
    rows: Vec<(KeyValue, u128, T)>,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<T>, AppError> {
    window_keyed(rows.into_iter().map(|(v, id, t)| ((v.bytes(), id), t)).collect(), sort, cursor, per_page)
}

/// [`window`] over rows whose keys are already bytes (read from an index, say).
pub fn window_keyed<T>(
    mut rows: Vec<(Key, T)>,
    sort: Sort,
    cursor: &str,
    per_page: u32,
) -> Result<Page<T>, AppError> {
    let cursor = Cursor::decode(&sort, cursor)?;
    let desc = sort.desc;
    let order = move |a: &Key, b: &Key| if desc { b.cmp(a) } else { a.cmp(b) };
    rows.sort_by(|a, b| order(&a.0, &b.0));
    let (len, per) = (rows.len(), per_page.max(1) as usize);
    let (start, end) = match &cursor {
        None => (0, per.min(len)),
        Some(Cursor { after: true, key, .. }) => {
            let start = rows.partition_point(|r| order(&r.0, key).is_le());
            (start, (start + per).min(len))
        }
        Some(Cursor { after: false, key, .. }) => {
            let end = rows.partition_point(|r| order(&r.0, key).is_lt());
            match end.checked_sub(per) {
                Some(start) => (start, end),
                None => (0, per.min(len)),
            }
        }
    };
    // Past the last row the page is empty: it has no first row to lead back from.
    let prev = rows.get(start).filter(|_| start > 0).map(|r| {
        Cursor { after: false, offset: start.saturating_sub(per) as u64, key: r.0.clone() }.encode(&sort)
    });
    let next = (end < len && end > start)
        .then(|| Cursor { after: true, offset: end as u64, key: rows[end - 1].0.clone() }.encode(&sort));
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

    /// Every value has one word, distinct from the others', that reads back as the value; the
    /// menu lists them all after "any".
    fn words_hold<T: FilterWord + std::fmt::Debug>(every: &[T]) {
        assert_eq!(T::WORDS.len(), every.len(), "{}: a value without its word", T::FIELD);
        for v in every {
            assert!(!v.word().is_empty() && v.word() != "all", "{v:?}");
            assert_eq!(T::parse_filter(&v.word().to_uppercase()).unwrap(), Some(*v));
        }
        assert_eq!(T::options("Any").len(), every.len() + 1);
        assert_eq!(T::parse_filter("nope").unwrap_err().field(), Some(T::FIELD));
    }

    #[test]
    fn every_filter_value_has_one_word_that_reads_back() {
        use crate::model::{approvals, webhooks::DeliveryState, workspace::*};
        words_hold(&Role::ALL);
        words_hold(&ApplicationStatus::ALL);
        words_hold(&approvals::Category::ALL);
        words_hold(&approvals::Status::ALL);
        words_hold(&[MemberStatus::Active, MemberStatus::Inactive]);
        words_hold(&[MailState::Queued, MailState::Sent, MailState::Failed]);
        words_hold(&[DeliveryState::Queued, DeliveryState::Delivered, DeliveryState::Failed]);
    }

    fn rows(n: u128) -> Vec<(KeyValue, u128, u128)> {
        (1..=n).map(|i| (KeyValue::Int(i as i64 * 10), i, i)).collect()
    }

    fn cursor(sort: &Sort, after: bool, value: i64, id: u128) -> String {
        Cursor { after, offset: 0, key: (KeyValue::Int(value).bytes(), id) }.encode(sort)
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
    fn key_bytes_sort_as_their_values() {
        let mut ints = vec![i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let bytes: Vec<Vec<u8>> = ints.iter().map(|n| KeyValue::Int(*n).bytes()).collect();
        let mut sorted = bytes.clone();
        sorted.sort();
        assert_eq!(bytes, sorted);
        ints.reverse();
        assert_eq!(KeyValue::Text("Bob".into()).bytes(), b"bob".to_vec());
        assert!(KeyValue::Text("ann".into()).bytes() < KeyValue::Text("Anna".into()).bytes());
    }

    #[test]
    fn a_cursor_reads_back_as_written() {
        let sort = Sort::parse("-name", COLS, "").unwrap();
        let c = Cursor { after: true, offset: 40, key: (KeyValue::Text("a.b@example.com".into()).bytes(), 0xabc) };
        let text = c.encode(&sort);
        assert_eq!(Cursor::decode(&sort, &text).unwrap(), Some(c));
        assert_eq!(Cursor::decode(&sort, "").unwrap(), None);
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
        more.push((KeyValue::Int(1000), 99, 99));
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
            "z.-created.0.1.00".into(),
            "a.-created.0.zz.00".into(),
            "a.-created.x.1.00".into(),
            "a.-created.0.1.0g".into(),
            "a.-created.0.1.000".into(),
            "a.-created.0..00".into(),
            "a.-created.0.1.00.00".into(),
            format!("a.-created.0.{}.00", "f".repeat(40)),
            format!("a.-created.0.1.{}", "0".repeat(4000)),
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
        let p2 = window(rows(40), sort, &cursor(&sort, true, 210, 21), 20).unwrap();
        assert_eq!((p2.items.len(), p2.items[19], p2.next.is_none()), (20, 1, true));
        let empty = window(rows(40), sort, &cursor(&sort, true, 10, 1), 20).unwrap();
        assert!(empty.items.is_empty());
        assert_eq!((empty.total, empty.offset, empty.prev, empty.next), (40, 40, None, None));
        // The same when the list is sorted the other way.
        let asc = Sort::parse("created", COLS, "").unwrap();
        let empty = window(rows(40), asc, &cursor(&asc, true, 400, 40), 20).unwrap();
        assert_eq!((empty.items.len(), empty.offset), (0, 40));
    }

    #[test]
    fn a_cursor_past_the_last_row_gives_an_empty_page() {
        let sort = Sort::parse("-created", COLS, "").unwrap();
        // Rows that were there when the link was made are gone now.
        for (value, id) in [(5, 0), (-1, 7), (i64::MIN, 0)] {
            let past = cursor(&sort, true, value, id);
            let page = window(rows(3), sort, &past, 20).unwrap();
            assert!(page.items.is_empty(), "{past}");
            assert_eq!((page.total, page.offset, page.prev, page.next), (3, 3, None, None), "{past}");
        }
        // A list that has become empty.
        let page = window(rows(0), sort, &cursor(&sort, true, 10, 1), 20).unwrap();
        assert_eq!((page.items.len(), page.total, page.offset), (0, 0, 0));
        // "Before" a row before the first one leads to the first page.
        let before = cursor(&sort, false, i64::MAX, u128::MAX);
        let first = window(rows(3), sort, &before, 20).unwrap();
        assert_eq!((first.items, first.offset, first.prev), (vec![3, 2, 1], 0, None));
    }
}
