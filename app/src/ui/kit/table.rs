//! The data table every list uses: a named `<table>` with column headers, one row per item from a
//! server function, an empty state, a loading state, the error in place of the rows (a signed-out
//! visitor is sent to log in), and — for paged lists — "Page 2 of 7" with previous / next links
//! that keep the rest of the URL query (so a view can be linked, with or without JavaScript).

use leptos::prelude::*;
use serde::{de::DeserializeOwned, Serialize};

use super::{ErrorPanel, Loading, Pager};
use crate::model::workspace::Page;
use crate::model::AppError;

/// What a list server function returns: one page of a long list, or all of a short one.
pub trait Rows {
    type Item;
    /// The items, and for a page: (page, pages, total).
    fn into_rows(self) -> (Vec<Self::Item>, Option<(u32, u32, u64)>);
}

impl<T> Rows for Vec<T> {
    type Item = T;
    fn into_rows(self) -> (Vec<T>, Option<(u32, u32, u64)>) {
        (self, None)
    }
}

impl<T> Rows for Page<T> {
    type Item = T;
    fn into_rows(self) -> (Vec<T>, Option<(u32, u32, u64)>) {
        let pages = self.pages();
        let (page, total) = (self.page, self.total);
        (self.items, Some((page, pages, total)))
    }
}

#[component]
pub fn DataTable<D, R>(
    /// The table's accessible name.
    label: &'static str,
    /// The column headers, in order.
    columns: Vec<&'static str>,
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
                let (columns, row) = (columns.clone(), row.clone());
                Suspend::new(async move {
                    match data.await {
                        Ok(d) => {
                            let (items, paging) = d.into_rows();
                            if items.is_empty() {
                                return view! { <p class="empty">{empty}</p> }.into_any();
                            }
                            view! {
                                <table class="table" aria-label=label>
                                    <thead>
                                        <tr>{columns.into_iter().map(|c| view! { <th scope="col">{c}</th> }).collect_view()}</tr>
                                    </thead>
                                    <tbody>{items.into_iter().map(row).collect_view()}</tbody>
                                </table>
                                {paging.map(|(page, pages, total)| view! { <Pager page pages total /> })}
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
                            view! { <ErrorPanel error=e /> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
