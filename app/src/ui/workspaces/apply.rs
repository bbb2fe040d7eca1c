//! `/workspaces/apply`: the application form. The rules are the shared ones from `model`, run
//! here as you type and again on the server.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::workspaces::ApplyForWorkspace;
use leptos_router::hooks::use_query_map;

use crate::model::mcc::MCC_LIST;
use crate::model::workspace::{
    check_representatives, validate_address, validate_mcc, validate_workspace_name,
    RepresentativeRow, ADDRESS_MAX, MAX_REPRESENTATIVES, NAME_MAX, PERSON_NAME_MAX,
};
use crate::model::AppError;
use crate::ui::kit::{action_error, Combobox, FormError, PageHeader, SubmitButton};

/// A field whose value is checked in the browser by the shared rule while the person types.
#[component]
fn CheckedField(
    label: &'static str,
    name: &'static str,
    hint: &'static str,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] maxlength: Option<usize>,
    /// The value at first (from the URL, after adding or removing a representative without
    /// JavaScript).
    #[prop(optional)]
    initial: String,
    check: fn(&str) -> Result<(), AppError>,
    #[prop(into)] server_error: Signal<Option<AppError>>,
) -> impl IntoView {
    crate::ui::kit::register_field(label);
    let (value, set_value) = signal(initial.clone());
    let (touched, set_touched) = signal(false);
    let local = move || {
        if touched.get() {
            check(&value.get()).err()
        } else {
            None
        }
    };
    let message = move || {
        local()
            .or_else(|| server_error.get().filter(|e| e.field() == Some(label)))
            .map(|e| e.to_string())
    };
    let id = format!("field-{name}");
    let (hint_id, error_id) = (format!("{id}-hint"), format!("{id}-error"));
    let describedby = format!("{hint_id} {error_id}");
    let on_input = move |ev| {
        set_value.set(event_target_value(&ev));
        set_touched.set(true);
    };
    view! {
        <div class="field" class:field-invalid=move || message().is_some()>
            <label for=id.clone()>{label}</label>
            {if multiline {
                view! { <textarea id=id.clone() name=name rows="4" required maxlength=maxlength aria-describedby=describedby.clone() aria-invalid=move || message().is_some().then_some("true") on:input=on_input>{initial}</textarea> }.into_any()
            } else {
                view! { <input id=id.clone() name=name type="text" required maxlength=maxlength value=initial aria-describedby=describedby.clone() aria-invalid=move || message().is_some().then_some("true") on:input=on_input /> }.into_any()
            }}
            <p class="hint" id=hint_id>{hint}</p>
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// What the form held when it came back by GET (adding or removing a row without JavaScript).
struct Returned {
    name: String,
    mcc: String,
    address: String,
    reps: Vec<RepresentativeRow>,
}

fn returned() -> Returned {
    let query = use_query_map();
    let q = query.read_untracked();
    let mut reps: Vec<RepresentativeRow> = (0..MAX_REPRESENTATIVES)
        .map(|i| RepresentativeRow {
            name: q.get(&format!("rep[{i}][name]")).unwrap_or_default(),
            email: q.get(&format!("rep[{i}][email]")).unwrap_or_default(),
        })
        .collect();
    let last = reps.iter().rposition(|r| !r.name.is_empty() || !r.email.is_empty());
    reps.truncate(last.map_or(0, |l| l + 1));
    if let Some(drop) = q.get("drop").and_then(|d| d.parse::<usize>().ok()) {
        if drop < reps.len() {
            reps.remove(drop);
        }
    }
    if q.get("add").is_some() && reps.len() < MAX_REPRESENTATIVES {
        reps.push(RepresentativeRow::default());
    }
    if reps.is_empty() {
        reps.push(RepresentativeRow::default());
    }
    Returned {
        name: q.get("name").unwrap_or_default(),
        mcc: q.get("mcc").unwrap_or_default(),
        address: q.get("address").unwrap_or_default(),
        reps,
    }
}

/// Business Representatives as rows of name and email, with "Add another representative" and a
/// remove button per row. Both buttons work without JavaScript: they send the form back to this
/// page by GET, which draws it again with a row more or less.
#[component]
fn RepresentativeRows(initial: Vec<RepresentativeRow>, #[prop(into)] server_error: Signal<Option<AppError>>) -> impl IntoView {
    const LABEL: &str = "Business Representatives";
    crate::ui::kit::register_field(LABEL);
    let next_key = StoredValue::new(initial.len());
    let rows = RwSignal::new(
        initial
            .into_iter()
            .enumerate()
            .map(|(k, r)| (k, RwSignal::new(r.name), RwSignal::new(r.email)))
            .collect::<Vec<_>>(),
    );
    let touched = RwSignal::new(false);
    let message = move || {
        let local = touched
            .get()
            .then(|| {
                let list: Vec<RepresentativeRow> = rows
                    .get()
                    .iter()
                    .map(|(_, n, e)| RepresentativeRow { name: n.get(), email: e.get() })
                    .collect();
                check_representatives(&list).err()
            })
            .flatten();
        local
            .or_else(|| server_error.get().filter(|e| e.field() == Some(LABEL)))
            .map(|e| e.to_string())
    };
    let add = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if rows.with_untracked(|r| r.len()) < MAX_REPRESENTATIVES {
            let k = next_key.get_value();
            next_key.set_value(k + 1);
            rows.update(|r| r.push((k, RwSignal::new(String::new()), RwSignal::new(String::new()))));
        }
    };
    view! {
        <fieldset class="rep-rows" aria-describedby="reps-hint reps-error">
            <legend>{LABEL}</legend>
            <p class="hint" id="reps-hint">"Each becomes a Workspace Admin when the workspace is generated; emails must be distinct. Empty rows are ignored."</p>
            <For
                each=move || rows.get().into_iter().enumerate()
                key=|(i, (k, _, _))| (*i, *k)
                children=move |(i, (k, name, email))| {
                    let n = i + 1;
                    let (name_id, email_id) = (format!("rep-{i}-name"), format!("rep-{i}-email"));
                    view! {
                        <div class="rep-row">
                            <div>
                                <label for=name_id.clone()>{format!("Name of representative {n}")}</label>
                                <input id=name_id type="text" name=format!("rep[{i}][name]") maxlength=PERSON_NAME_MAX required=i == 0
                                    autocomplete="name" prop:value=move || name.get() value=name.get_untracked()
                                    on:input=move |ev| { name.set(event_target_value(&ev)); touched.set(true); } />
                            </div>
                            <div>
                                <label for=email_id.clone()>{format!("Email of representative {n}")}</label>
                                <input id=email_id type="email" name=format!("rep[{i}][email]") required=i == 0
                                    autocomplete="email" prop:value=move || email.get() value=email.get_untracked()
                                    on:input=move |ev| { email.set(event_target_value(&ev)); touched.set(true); } />
                            </div>
                            <button type="submit" class="button" formmethod="get" formaction="/workspaces/apply" formnovalidate name="drop" value=i.to_string()
                                aria-label=format!("Remove representative {n}")
                                disabled=move || rows.with(|r| r.len() == 1)
                                on:click=move |ev| {
                                    ev.prevent_default();
                                    rows.update(|r| r.retain(|(key, _, _)| *key != k));
                                    touched.set(true);
                                }>"Remove"</button>
                        </div>
                    }
                }
            />
            <button type="submit" class="button" formmethod="get" formaction="/workspaces/apply" formnovalidate name="add" value="1"
                disabled=move || rows.with(|r| r.len() >= MAX_REPRESENTATIVES) on:click=add>
                "Add another representative"
            </button>
            <p class="field-error" id="reps-error" role="alert">{message}</p>
        </fieldset>
    }
}

#[component]
pub fn ApplyPage() -> impl IntoView {
    let action = ServerAction::<ApplyForWorkspace>::new();
    let error = action_error(action);
    let back = returned();
    view! {
        <Title text="Apply for a workspace" />
        <PageHeader title="Apply for a workspace" crumbs=vec![("Home", "/"), ("Workspaces", "/workspaces")] />
        <section class="panel form-panel">
            <p>"The platform operator reviews each application. When it is generated, every Business Representative becomes a Workspace Admin and receives an email with the workspace's ID and console address."</p>
            <ActionForm action>
                <FormError error />
                <CheckedField
                    label="Workspace Name"
                    name="name"
                    maxlength=NAME_MAX
                    initial=back.name
                    hint="Letters A–Z and a–z and digits 0–9 only, no spaces, 3–32 characters. It can't be changed after the workspace is generated, and it is used in the console's addresses (/w/name/…)."
                    check=|v| validate_workspace_name(v).map(|_| ())
                    server_error=error
                />
                <Combobox
                    label="Scope of Business"
                    name="mcc"
                    options=MCC_LIST
                    list_label="Merchant Category Codes"
                    initial=back.mcc
                    hint="One Merchant Category Code (ISO 18245). Type a code or words such as \"restaurant\" and choose from the list."
                    check=|v| validate_mcc(v).map(|_| ())
                    error
                />
                <CheckedField
                    label="Business Address"
                    name="address"
                    multiline=true
                    maxlength=ADDRESS_MAX
                    initial=back.address
                    hint="The registered address of the business."
                    check=|v| validate_address(v).map(|_| ())
                    server_error=error
                />
                <RepresentativeRows initial=back.reps server_error=error />
                <SubmitButton label="Submit application" pending=action.pending() />
            </ActionForm>
        </section>
    }
}
