//! A combobox (the ARIA 1.2 combobox + listbox pattern) that searches a fixed list of
//! (code, description) pairs by either. Typing filters the list; Down and Up move through the
//! options (announced through `aria-activedescendant`), Enter or a click chooses, Escape closes
//! the list (and, pressed again, clears the box). Without JavaScript it is a plain text input
//! that takes the code, which the server checks by the same rule.

use leptos::prelude::*;

use super::register_field;
use crate::model::AppError;

/// Options shown at once: enough to choose from, few enough to read.
const SHOWN: usize = 50;

#[component]
pub fn Combobox(
    label: &'static str,
    name: &'static str,
    hint: &'static str,
    /// The list's accessible name ("Merchant Category Codes").
    list_label: &'static str,
    /// The (code, description) pairs to choose from.
    options: &'static [(&'static str, &'static str)],
    /// The box's value at first (e.g. from the URL).
    #[prop(optional)]
    initial: String,
    /// The rule the value must meet, checked as the person types.
    check: fn(&str) -> Result<(), AppError>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    register_field(label);
    let id = format!("field-{name}");
    let list_id = format!("{id}-listbox");
    let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
    let value = RwSignal::new(initial);
    let touched = RwSignal::new(false);
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    let matches = Memo::new(move |_| {
        let q = value.get().trim().to_lowercase();
        options
            .iter()
            .enumerate()
            .filter(|(_, (code, d))| {
                q.is_empty()
                    || code.contains(&q)
                    || d.to_lowercase().contains(&q)
                    || format!("{code} — {}", d.to_lowercase()) == q
            })
            .map(|(i, _)| i)
            .take(SHOWN)
            .collect::<Vec<usize>>()
    });
    let message = move || {
        touched
            .get()
            .then(|| check(&value.get()).err())
            .flatten()
            .or_else(|| error.get().filter(|e| e.field() == Some(label)))
            .map(|e| e.to_string())
    };
    let option_id = {
        let list_id = list_id.clone();
        move |i: usize| format!("{list_id}-{i}")
    };
    let choose = move |i: usize| {
        let (code, d) = options[i];
        value.set(format!("{code} — {d}"));
        touched.set(true);
        open.set(false);
        active.set(None);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let shown = matches.get_untracked();
        let at = active.get_untracked().and_then(|a| shown.iter().position(|i| *i == a));
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                open.set(true);
                let next = at.map_or(0, |p| (p + 1).min(shown.len().saturating_sub(1)));
                active.set(shown.get(next).copied());
            }
            "ArrowUp" => {
                ev.prevent_default();
                open.set(true);
                let prev = at.map_or(shown.len().saturating_sub(1), |p| p.saturating_sub(1));
                active.set(shown.get(prev).copied());
            }
            "Enter" if open.get_untracked() && active.get_untracked().is_some() => {
                ev.prevent_default();
                if let Some(i) = active.get_untracked() {
                    choose(i);
                }
            }
            "Escape" => {
                if open.get_untracked() {
                    ev.prevent_default();
                    open.set(false);
                    active.set(None);
                } else if !value.get_untracked().is_empty() {
                    ev.prevent_default();
                    value.set(String::new());
                }
            }
            _ => {}
        }
    };
    let active_descendant = {
        let option_id = option_id.clone();
        move || open.get().then(|| active.get().map(&option_id)).flatten()
    };
    view! {
        <div class="field combobox" class:field-invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id.clone()
                name=name
                type="text"
                required
                autocomplete="off"
                role="combobox"
                aria-autocomplete="list"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-controls=list_id.clone()
                aria-activedescendant=active_descendant
                aria-describedby=format!("{hint_id} {error_id}")
                aria-invalid=move || message().is_some().then_some("true")
                prop:value=move || value.get()
                value=value.get_untracked()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    touched.set(true);
                    open.set(true);
                    active.set(None);
                }
                on:keydown=on_key
                on:blur=move |_| open.set(false)
            />
            <ul id=list_id.clone() role="listbox" aria-label=list_label class="combobox-list" hidden=move || !open.get()>
                {move || {
                    let option_id = option_id.clone();
                    open.get().then(|| {
                        let shown = matches.get();
                        if shown.is_empty() {
                            return view! { <li class="combobox-empty">"No code or description matches."</li> }.into_any();
                        }
                        shown
                            .into_iter()
                            .map(|i| {
                                let (code, d) = options[i];
                                view! {
                                    <li
                                        id=option_id(i)
                                        role="option"
                                        aria-selected=move || if active.get() == Some(i) { "true" } else { "false" }
                                        // Chosen before the box loses focus.
                                        on:mousedown=move |ev| {
                                            ev.prevent_default();
                                            choose(i);
                                        }
                                    >
                                        <span class="code">{code}</span>" "{d}
                                    </li>
                                }
                            })
                            .collect_view()
                            .into_any()
                    })
                }}
            </ul>
            <p class="hint" id=hint_id>{hint}</p>
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}
