//! `/workspaces/apply`: the application form. The rules are the shared ones from `model`, run
//! here as you type and again on the server.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::workspaces::ApplyForWorkspace;
use crate::model::mcc::MCC_LIST;
use crate::model::workspace::{
    parse_representatives, validate_address, validate_mcc, validate_workspace_name, ADDRESS_MAX,
    NAME_MAX,
};
use crate::model::AppError;
use crate::ui::kit::{action_error, FormError, PageHeader, SubmitButton};

/// A field whose value is checked in the browser by the shared rule while the person types.
#[component]
fn CheckedField(
    label: &'static str,
    name: &'static str,
    hint: &'static str,
    #[prop(optional)] multiline: bool,
    #[prop(optional)] datalist: Option<&'static str>,
    #[prop(optional)] maxlength: Option<usize>,
    check: fn(&str) -> Result<(), AppError>,
    #[prop(into)] server_error: Signal<Option<AppError>>,
) -> impl IntoView {
    crate::ui::kit::register_field(label);
    let (value, set_value) = signal(String::new());
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
                view! { <textarea id=id.clone() name=name rows="4" required maxlength=maxlength aria-describedby=describedby.clone() aria-invalid=move || message().is_some().then_some("true") on:input=on_input></textarea> }.into_any()
            } else {
                view! { <input id=id.clone() name=name type="text" required list=datalist maxlength=maxlength aria-describedby=describedby.clone() aria-invalid=move || message().is_some().then_some("true") on:input=on_input /> }.into_any()
            }}
            <p class="hint" id=hint_id>{hint}</p>
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}

#[component]
pub fn ApplyPage() -> impl IntoView {
    let action = ServerAction::<ApplyForWorkspace>::new();
    let error = action_error(action);
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
                    hint="Letters A–Z and a–z and digits 0–9 only, no spaces, 3–32 characters. It can't be changed after the workspace is generated, and it is used in the console's addresses (/w/name/…)."
                    check=|v| validate_workspace_name(v).map(|_| ())
                    server_error=error
                />
                <CheckedField
                    label="Scope of Business"
                    name="mcc"
                    datalist="mcc-options"
                    hint="One Merchant Category Code (ISO 18245). Type a code or words such as \"restaurant\" and choose from the list."
                    check=|v| validate_mcc(v).map(|_| ())
                    server_error=error
                />
                <datalist id="mcc-options">
                    {MCC_LIST.iter().map(|(code, d)| view! { <option value=format!("{code} — {d}")></option> }).collect_view()}
                </datalist>
                <CheckedField
                    label="Business Address"
                    name="address"
                    multiline=true
                    maxlength=ADDRESS_MAX
                    hint="The registered address of the business."
                    check=|v| validate_address(v).map(|_| ())
                    server_error=error
                />
                <CheckedField
                    label="Business Representatives"
                    name="representatives"
                    multiline=true
                    hint="One per line, as: Jane Doe <jane@example.com>. Each becomes a Workspace Admin; emails must be distinct."
                    check=|v| parse_representatives(v).map(|_| ())
                    server_error=error
                />
                <SubmitButton label="Submit application" pending=action.pending() />
            </ActionForm>
        </section>
    }
}
