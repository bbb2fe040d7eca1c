//! A row's actions, grouped behind one "Actions" button: a disclosure (`<details>`), so it works
//! without JavaScript and the keyboard opens it with Enter or Space. With JavaScript, Escape
//! closes it and puts focus back on its button, and opening one row's menu closes the others.

use leptos::prelude::*;

#[component]
pub fn RowMenu(
    /// The button's accessible name, naming the row ("Actions for bob").
    #[prop(into)]
    label: String,
    children: Children,
) -> impl IntoView {
    let details = NodeRef::<leptos::html::Details>::new();
    let summary = NodeRef::<leptos::html::Summary>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        // A dialog opened from the menu handles its own Escape.
        if ev.key() == "Escape" && !ev.default_prevented() {
            if let (Some(d), Some(s)) = (details.get(), summary.get()) {
                if d.open() {
                    d.set_open(false);
                    let _ = s.focus();
                }
            }
        }
    };
    let on_toggle = move |_| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(me) = details.get() else { return };
            if !me.open() {
                return;
            }
            if let Ok(all) = document().query_selector_all("details.row-menu[open]") {
                for i in 0..all.length() {
                    if let Some(other) = all.get(i).and_then(|n| n.dyn_into::<web_sys::HtmlDetailsElement>().ok()) {
                        if other != me {
                            other.set_open(false);
                        }
                    }
                }
            }
        }
    };
    view! {
        <details class="row-menu" node_ref=details on:keydown=on_key on:toggle=on_toggle>
            <summary class="button" role="button" node_ref=summary aria-label=label>"Actions"<span aria-hidden="true">" ▾"</span></summary>
            <div class="row-menu-items">{children()}</div>
        </details>
    }
}
