//! The data table every list uses: a named `<table>` with column headers — sortable ones as links
//! that carry `aria-sort` — one row per item from a server function, an empty state, a loading
//! state, the error in place of the rows (a signed-out visitor is sent to log in), and — for
//! paged lists — "21–40 of 57" with previous / next links. Sort and page live in the URL query
//! (`sort`, `cursor`) next to the filters, so a view can be linked, with or without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{de::DeserializeOwned, Serialize};

use super::{ErrorPanel, Loading};
use crate::model::page::Page;
use crate::model::AppError;

/// Where a page sits in its list.
#[derive(Clone)]
pub struct Paging {
    pub total: u64,
    pub offset: u64,
    pub prev: Option<String>,
    pub next: Option<String>,
    /// The sort in effect (`email`, `-created`).
    pub sort: String,
}

/// What a list server function returns: one page of a long list, or all of a short one.
pub trait Rows {
    type Item;
    fn into_rows(self) -> (Vec<Self::Item>, Option<Paging>);
}

impl<T> Rows for Vec<T> {
    type Item = T;
    fn into_rows(self) -> (Vec<T>, Option<Paging>) {
        (self, None)
    }
}

impl<T> Rows for Page<T> {
    type Item = T;
    fn into_rows(self) -> (Vec<T>, Option<Paging>) {
        let paging = Paging {
            total: self.total,
            offset: self.offset,
            prev: self.prev,
            next: self.next,
            sort: self.sort,
        };
        (self.items, Some(paging))
    }
}

/// The current URL query with `set` applied (a `None` value removes the parameter), as `?…`.
pub fn query_with(set: &[(&str, Option<&str>)]) -> String {
    let query = use_query_map();
    let q = query.read_untracked();
    let mut pairs: Vec<String> = q
        .clone()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("__") && !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| format!("{}={}", super::urlencode(&k), super::urlencode(&v)))
        .collect();
    for (k, v) in set {
        if let Some(v) = v {
            pairs.push(format!("{k}={}", super::urlencode(v)));
        }
    }
    if pairs.is_empty() {
        "?".into()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

fn header(label: &'static str, key: Option<&'static str>, sort: &str) -> AnyView {
    let Some(key) = key else {
        return view! { <th scope="col">{label}</th> }.into_any();
    };
    let (current, desc) = match sort.strip_prefix('-') {
        Some(c) => (c, true),
        None => (sort, false),
    };
    let (aria, next) = match (current == key, desc) {
        (true, false) => ("ascending", format!("-{key}")),
        (true, true) => ("descending", key.to_string()),
        (false, _) => ("none", key.to_string()),
    };
    let href = query_with(&[("sort", Some(&next)), ("cursor", None)]);
    let arrow = match aria {
        "ascending" => "▲",
        "descending" => "▼",
        _ => "↕",
    };
    let hint = if aria == "ascending" { "descending" } else { "ascending" };
    view! {
        <th scope="col" aria-sort=aria>
            <a class="sort" href=href title=format!("Sort by {label}, {hint}")>
                {label}<span class="sort-arrow" aria-hidden="true">{arrow}</span>
            </a>
        </th>
    }
    .into_any()
}

#[component]
pub fn DataTable<D, R>(
    /// The table's accessible name.
    label: &'static str,
    /// The column headers, in order.
    columns: Vec<&'static str>,
    /// The columns that can be sorted: (header, sort key the server knows).
    #[prop(optional)]
    sortable: Vec<(&'static str, &'static str)>,
    /// The list, as the server function returned it.
    data: Resource<Result<D, AppError>>,
    /// One `<tr>` per item (`.into_any()`).
    row: R,
    /// What an empty list says.
    empty: &'static str,
) -> impl IntoView
where
    D: Rows + Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Fn(D::Item) -> AnyView + Clone + Send + Sync + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let (columns, sortable, row) = (columns.clone(), sortable.clone(), row.clone());
                Suspend::new(async move {
                    match data.await {
                        Ok(d) => {
                            let (items, paging) = d.into_rows();
                            if items.is_empty() {
                                let first = paging
                                    .as_ref()
                                    .is_some_and(|p| p.offset > 0 || p.total > 0)
                                    .then(|| query_with(&[("cursor", None)]));
                                return view! {
                                    <p class="empty">
                                        {empty}
                                        {first.map(|href| view! { " " <a href=href>"Back to the first page"</a> })}
                                    </p>
                                }
                                .into_any();
                            }
                            let sort = paging.as_ref().map(|p| p.sort.clone()).unwrap_or_default();
                            let count = items.len() as u64;
                            view! {
                                <table class="table" aria-label=label>
                                    <thead>
                                        <tr>
                                            {columns
                                                .into_iter()
                                                .map(|c| {
                                                    let key = sortable.iter().find(|(l, _)| *l == c).map(|(_, k)| *k);
                                                    header(c, key, &sort)
                                                })
                                                .collect_view()}
                                        </tr>
                                    </thead>
                                    <tbody>{items.into_iter().map(row).collect_view()}</tbody>
                                </table>
                                {paging.map(|p| view! { <Pager paging=p count /> })}
                            }
                            .into_any()
                        }
                        Err(e) => {
                            #[cfg(feature = "ssr")]
                            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                                if let Ok(status) = axum::http::StatusCode::from_u16(e.status()) {
                                    r.set_status(status);
                                }
                            }
                            let reset = matches!(e.field(), Some("cursor" | "Sort"))
                                .then(|| query_with(&[("cursor", None), ("sort", None)]));
                            view! {
                                <ErrorPanel error=e />
                                {reset.map(|href| view! { <p><a href=href>"Show the list from the start"</a></p> })}
                            }
                            .into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}

/// "21–40 of 57" with previous / next links that keep the other query parameters.
#[component]
fn Pager(paging: Paging, count: u64) -> impl IntoView {
    let from = paging.offset + 1;
    let to = paging.offset + count;
    let prev = paging
        .prev
        .map(|c| query_with(&[("cursor", Some(&c))]));
    let next = paging
        .next
        .map(|c| query_with(&[("cursor", Some(&c))]));
    view! {
        <nav class="pager" aria-label="Pagination">
            <span class="pager-status">{format!("{from}–{to} of {}", paging.total)}</span>
            {prev.map(|href| view! { <a class="button" rel="prev" href=href>"Previous"</a> })}
            {next.map(|href| view! { <a class="button" rel="next" href=href>"Next"</a> })}
        </nav>
    }
}
