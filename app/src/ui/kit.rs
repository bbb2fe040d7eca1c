//! The small UI kit every page uses: page header, form field, alerts, form errors.

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnUrlError;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::model::AppError;

/// A page title with breadcrumbs above it.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    /// (label, link) pairs leading to this page.
    #[prop(optional)]
    crumbs: Vec<(&'static str, &'static str)>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="page-header">
            {(!crumbs.is_empty())
                .then(|| {
                    view! {
                        <nav aria-label="Breadcrumb" class="crumbs">
                            <ol>
                                {crumbs
                                    .into_iter()
                                    .map(|(label, href)| view! { <li><a href=href>{label}</a></li> })
                                    .collect_view()}
                                <li aria-current="page">{title.clone()}</li>
                            </ol>
                        </nav>
                    }
                })}
            <div class="page-header-row">
                <h1>{title}</h1>
                {children.map(|c| view! { <div class="page-actions">{c()}</div> })}
            </div>
        </header>
    }
}

/// A labelled input with an optional hint and the error that names it.
#[component]
pub fn Field(
    /// The visible label; errors about this field carry the same name.
    label: &'static str,
    /// The form parameter name.
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] minlength: Option<usize>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let mine = move || error.get().filter(|e| e.field() == Some(label));
    let described = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if mine().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field" class:field-invalid=move || mine().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                maxlength=maxlength
                minlength=minlength
                aria-invalid=move || mine().is_some().then_some("true")
                aria-describedby=described
            />
            {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
            <p class="field-error" id=error_id role="alert">
                {move || mine().map(|e| e.to_string())}
            </p>
        </div>
    }
}

/// An error for the whole form (one not about a single field), announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="form-error-slot" role="alert">
            {move || {
                error
                    .get()
                    .filter(|e| e.field().is_none())
                    .map(|e| view! { <p class="alert alert-error">{e.to_string()}</p> })
            }}
        </div>
    }
}

/// A success or information message.
#[component]
pub fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <div class="notice-slot" role="status">
            {move || message.get().map(|m| view! { <p class="alert alert-success">{m}</p> })}
        </div>
    }
}

/// The error of a form's server action: the last result of the action, or — after a plain form
/// post with JavaScript off — the error the server put in the URL it redirected back to.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let query = use_query_map();
    let from_url = Memo::new(move |_| {
        let q = query.read();
        (q.get("__path").as_deref() == Some(S::PATH))
            .then(|| q.get("__err"))
            .flatten()
            .map(|e| ServerFnUrlError::<AppError>::decode_err(&e))
    });
    Signal::derive(move || match action.value().get() {
        Some(Err(e)) => Some(e),
        Some(Ok(_)) => None,
        None => from_url.get(),
    })
}

/// A button that shows it is working while its action is pending.
#[component]
pub fn SubmitButton(label: &'static str, #[prop(into)] pending: Signal<bool>) -> impl IntoView {
    view! {
        <button type="submit" class="button button-primary" aria-busy=move || pending.get().then_some("true")>
            {label}
        </button>
    }
}
