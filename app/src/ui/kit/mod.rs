//! The small UI kit every page uses: page header, titled panel, form field, alerts, form errors, confirmation
//! dialogs.

pub mod badge;
pub mod chart;
pub mod combobox;
pub mod dialog;
pub mod menu;
pub mod table;
pub mod toast;

pub use combobox::Combobox;
pub use menu::RowMenu;
pub use table::DataTable;
pub use toast::{toast_action, use_toasts, Notice, ToastRegion, Toasts};

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnUrlError;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

use crate::model::AppError;

/// A titled section of a page: its heading (an h2) names the section for screen readers; with
/// `PanelActions`, the buttons for the section (opening its dialogs) stand beside the heading.
#[component]
pub fn Panel(
    /// The heading's id, unique on the page.
    #[prop(into)]
    id: String,
    /// The heading.
    #[prop(into)]
    title: String,
    #[prop(optional)] panel_actions: Option<PanelActions>,
    children: Children,
) -> impl IntoView {
    let heading = view! { <h2 id=id.clone()>{title}</h2> };
    view! {
        <section class="panel" aria-labelledby=id>
            {match panel_actions {
                Some(actions) => view! { <div class="section-header">{heading}{(actions.children)()}</div> }.into_any(),
                None => heading.into_any(),
            }}
            {children()}
        </section>
    }
}

/// A disclosure: `summary` shown, the children revealed when it is opened (no script needed).
#[component]
pub fn Disclosure(
    #[prop(into)] summary: String,
    #[prop(optional)] class: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    view! {
        <details class=class>
            <summary>{summary}</summary>
            {children()}
        </details>
    }
}

/// What stands beside a `Panel`'s heading.
#[slot]
pub struct PanelActions {
    children: Children,
}

/// A page's list (its search, filters, table and pages) in a panel named for screen readers.
#[component]
pub fn ListPanel(
    /// What the list is, as a screen reader announces the region.
    label: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="panel" aria-label=label>
            {children()}
        </section>
    }
}

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

/// A labelled control — an input of any `kind`, a `"textarea"`, a `"select"` (with `options`) or
/// a `"file"` — with an optional hint and the error that names it.
#[component]
pub fn Field(
    /// The visible label; errors about this field carry the same name.
    label: &'static str,
    /// The form parameter name.
    name: &'static str,
    /// An input type, or "textarea" or "select".
    #[prop(default = "text")]
    kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] hint: Option<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] minlength: Option<usize>,
    /// An initial value (e.g. from the URL); for a select, the chosen option's value.
    #[prop(optional, into)]
    value: Option<Signal<String>>,
    /// Rows of a textarea.
    #[prop(optional)]
    rows: Option<u32>,
    /// A select's (value, text) options.
    #[prop(optional)]
    options: Vec<(String, String)>,
    /// What a file input accepts.
    #[prop(optional)]
    accept: Option<&'static str>,
    /// A textarea's element, for code that fills it (a chosen CSV file).
    #[prop(optional)]
    textarea_ref: Option<NodeRef<leptos::html::Textarea>>,
    /// Runs when a file is chosen.
    #[prop(optional)]
    on_change: Option<Callback<leptos::ev::Event>>,
    /// The control's id, when one page has two fields of the same name (default `field-{name}`).
    #[prop(optional, into)]
    id: Option<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    register_field(label);
    let id = id.unwrap_or_else(|| format!("field-{name}"));
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let mine = error_about(error, label);
    let has_hint = hint.is_some();
    let described = {
        let (hint_id, error_id) = (hint_id.clone(), error_id.clone());
        move || {
            let mut ids = Vec::new();
            if has_hint {
                ids.push(hint_id.clone());
            }
            if mine().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    let invalid = move || mine().is_some().then_some("true");
    let initial = move || value.map(|v| v.get());
    let control = match kind {
        "textarea" => {
            let node_ref = textarea_ref.unwrap_or_default();
            view! {
                <textarea id=id.clone() name=name rows=rows.unwrap_or(3) required=required maxlength=maxlength
                    node_ref=node_ref aria-invalid=invalid aria-describedby=described>{initial}</textarea>
            }
            .into_any()
        }
        "select" => view! {
            <select id=id.clone() name=name required=required aria-invalid=invalid aria-describedby=described>
                {options
                    .into_iter()
                    .map(|(v, text)| {
                        let selected = value.is_some_and(|s| s.get_untracked() == v);
                        view! { <option value=v selected=selected>{text}</option> }
                    })
                    .collect_view()}
            </select>
        }
        .into_any(),
        _ => view! {
            <input
                id=id.clone()
                // A file is read in the browser (forms here post URL-encoded), never posted.
                name=(kind != "file").then_some(name)
                type=kind
                autocomplete=autocomplete
                required=required
                maxlength=maxlength
                minlength=minlength
                accept=accept
                value=initial
                aria-invalid=invalid
                aria-describedby=described
                on:change=move |ev| {
                    if let Some(f) = on_change {
                        f.run(ev);
                    }
                }
            />
        }
        .into_any(),
    };
    view! {
        <div class="field" class:field-invalid=move || mine().is_some()>
            <label for=id>{label}</label>
            {control}
            <HintAndError hint hint_id error_id mine=Signal::derive(mine) />
        </div>
    }
}

/// A labelled group of checkboxes — several of a list chosen — sent as `{name}[0]`, `{name}[1]`, …
/// (a server function takes them as a `Vec`), with a hint, the error that names the group, and
/// what to say when there is nothing to choose.
#[component]
pub fn CheckGroup(
    /// The group's legend; errors about it carry the same name.
    label: &'static str,
    /// The form parameter's name, without the index.
    name: &'static str,
    /// (value, text, checked) of each box.
    options: Vec<(String, String, bool)>,
    #[prop(optional, into)] hint: Option<String>,
    /// Shown instead of the boxes when there are none.
    #[prop(optional, into)]
    empty: Option<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    register_field(label);
    let (hint_id, error_id) = (format!("group-{name}-hint"), format!("group-{name}-error"));
    let mine = error_about(error, label);
    let described = {
        let ids = [hint.as_ref().map(|_| hint_id.clone()), Some(error_id.clone())];
        ids.into_iter().flatten().collect::<Vec<_>>().join(" ")
    };
    let boxes = if options.is_empty() {
        empty.map(|e| view! { <p class="hint">{e}</p> }).into_any()
    } else {
        options
            .into_iter()
            .enumerate()
            .map(|(i, (value, text, checked))| {
                let id = format!("group-{name}-{i}");
                view! {
                    <div class="check">
                        <input type="checkbox" id=id.clone() name=format!("{name}[{i}]") value=value checked=checked />
                        <label for=id>{text}</label>
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <fieldset class="field" class:field-invalid=move || mine().is_some() aria-describedby=described>
            <legend>{label}</legend>
            {boxes}
            <HintAndError hint hint_id error_id mine=Signal::derive(mine) />
        </fieldset>
    }
}

/// The end of a field or group: its hint, if any, and the error that names it (announced).
#[component]
fn HintAndError(
    hint: Option<String>,
    hint_id: String,
    error_id: String,
    /// The form's error when it is about this field.
    mine: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        {hint.map(|h| view! { <p class="hint" id=hint_id>{h}</p> })}
        <p class="field-error" id=error_id role="alert">
            {move || mine.get().map(|e| e.to_string())}
        </p>
    }
}

/// The error of a form when it names the field `label`.
fn error_about(error: Signal<Option<AppError>>, label: &'static str) -> impl Fn() -> Option<AppError> + Copy {
    move || error.get().filter(|e| e.field() == Some(label))
}

/// "New password" and "Confirm new password", as every form that sets a password asks them.
#[component]
pub fn NewPasswordFields(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    use crate::model::account::{PASSWORD_MAX, PASSWORD_MIN};
    view! {
        <Field
            label="New password"
            name="new_password"
            kind="password"
            autocomplete="new-password"
            required=true
            minlength=PASSWORD_MIN
            maxlength=PASSWORD_MAX
            hint="8–128 characters, not a commonly used password."
            error
        />
        <Field label="Confirm new password" name="new_password_confirm" kind="password" autocomplete="new-password" required=true error />
    }
}

/// The labels of the `Field`s that follow a `FormError`, so it knows which errors they show.
#[derive(Clone, Copy)]
struct FieldRegistry(StoredValue<Vec<&'static str>>);

/// Tells the `FormError` above that this form shows errors about `label` itself (for a field
/// written by hand rather than with `Field`).
pub fn register_field(label: &'static str) {
    if let Some(FieldRegistry(labels)) = use_context::<FieldRegistry>() {
        labels.update_value(|l| l.push(label));
    }
}

/// The form's alert, announced to screen readers: every error that no field of the form shows —
/// one about the whole form, or one naming a field this form does not have (the last-admin rule
/// on a row's button, say). Put it first in its form: the `Field`s after it register with it.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let labels = StoredValue::new(Vec::<&'static str>::new());
    provide_context(FieldRegistry(labels));
    view! {
        <div class="form-error-slot" role="alert">
            {move || {
                error
                    .get()
                    .filter(|e| e.field().is_none_or(|f| !labels.with_value(|l| l.contains(&f))))
                    .map(|e| view! { <p class="alert alert-error">{e.to_string()}</p> })
            }}
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

/// How many times `action` has succeeded: lists depend on it, so a refusal (shown in the form or
/// dialog that asked) leaves the list — and the open dialog in it — as it was.
pub fn successes<S>(action: ServerAction<S>) -> Memo<usize>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Memo::new(move |prev: Option<&usize>| {
        let before = prev.copied().unwrap_or(0);
        action.version().track();
        if prev.is_some() && action.value().with_untracked(|v| matches!(v, Some(Ok(_)))) {
            before + 1
        } else {
            before
        }
    })
}

/// How many times any of several actions has succeeded (each counted by `successes`): what a page
/// whose lists any of them changes reloads on.
pub fn all_successes<const N: usize>(counts: [Memo<usize>; N]) -> impl Fn() -> usize + Copy + Send + Sync + 'static {
    move || counts.iter().map(|c| c.get()).sum()
}

/// The id in a page's address; one that can't be an id is the 404 of what it names.
pub fn parse_id(id: &str, missing: crate::model::Missing) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(id).map_err(|_| missing.into())
}

/// A server action a form posts to: the `ServerAction` of a server function that takes a
/// URL-encoded form and refuses with an [`AppError`]. What `ActionForm` asks of such a function
/// is written here once, for every component that takes an action.
pub trait FormAction: Copy + Send + Sync + 'static {
    /// The form that posts to the action, around `children`.
    fn form(self, children: Children) -> AnyView;
    /// Counts the action's answers (read to react to each).
    fn answers(self) -> RwSignal<usize>;
    /// Whether the last answer was a success (not tracked).
    fn last_succeeded(self) -> bool;
}

impl<S, OutputProtocol> FormAction for ServerAction<S>
where
    S: ServerFn<Error = AppError, Protocol = leptos::server_fn::Http<leptos::server_fn::codec::PostUrl, OutputProtocol>>
        + serde::de::DeserializeOwned
        + Clone
        + Send
        + Sync
        + 'static,
    <<S::Client as leptos::server_fn::client::Client<AppError>>::Request as leptos::server_fn::request::ClientReq<AppError>>::FormData:
        From<leptos::web_sys::FormData>,
    S::Client: leptos::server_fn::client::Client<AppError>,
    S::Output: Clone + Send + Sync + 'static,
    OutputProtocol: 'static,
{
    fn form(self, children: Children) -> AnyView {
        view! { <leptos::form::ActionForm action=self>{children()}</leptos::form::ActionForm> }.into_any()
    }

    fn answers(self) -> RwSignal<usize> {
        self.version()
    }

    fn last_succeeded(self) -> bool {
        self.value().with_untracked(|v| matches!(v, Some(Ok(_))))
    }
}

/// The form of `action` about one thing: the form's error first (when it shows one), then the
/// hidden `fields` (name, value) naming the thing, then the rest of the form (children) — for a
/// button in a table row, just the button.
#[component]
pub fn ServerForm(
    action: impl FormAction,
    #[prop(optional)] fields: Vec<(&'static str, String)>,
    #[prop(optional, into)] error: Option<Signal<Option<AppError>>>,
    children: Children,
) -> impl IntoView {
    action.form(Box::new(move || {
        view! {
            {error.map(|error| view! { <FormError error /> })}
            <HiddenFields fields />
            {children()}
        }
        .into_any()
    }))
}

/// Hidden inputs (name, value): what a form is about.
#[component]
fn HiddenFields(fields: Vec<(&'static str, String)>) -> impl IntoView {
    fields.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()
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

/// A query-string parameter of the current URL ("" when absent).
pub fn query_param(name: &'static str) -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.read().get(name).unwrap_or_default())
}

/// The list position in the URL query: `sort` and `cursor`, both "" when absent.
pub fn list_position() -> Memo<crate::model::page::Position> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        crate::model::page::Position { sort: q.get("sort").unwrap_or_default(), cursor: q.get("cursor").unwrap_or_default() }
    })
}

/// A route parameter (`:name`, `:id`).
pub fn route_param(name: &'static str) -> Memo<String> {
    let params = leptos_router::hooks::use_params_map();
    Memo::new(move |_| params.read().get(name).unwrap_or_default())
}

/// Time as people read it in a table.
pub fn fmt_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub use badge::{Badge, StatusBadge, Tone};

/// The search box and filters above a table: a GET form, so it works without JavaScript and the
/// URL can be shared.
#[component]
pub fn ListControls(
    /// Label of the search box.
    search_label: &'static str,
    /// (parameter, label, options as (value, text)) for each select filter.
    #[prop(optional)]
    filters: Vec<(
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    )>,
    /// (parameter, label) for extra text filters.
    #[prop(optional)]
    texts: Vec<(&'static str, &'static str)>,
) -> impl IntoView {
    let q = query_param("q");
    let sort = query_param("sort");
    view! {
        <form method="get" class="list-controls" role="search">
            {texts
                .into_iter()
                .map(|(param, label)| {
                    let current = query_param(param);
                    let id = format!("filter-{param}");
                    view! {
                        <div class="control">
                            <label for=id.clone()>{label}</label>
                            <input id=id name=param prop:value=move || current.get() value=current.get_untracked() />
                        </div>
                    }
                })
                .collect_view()}
            <div class="control">
                <label for="list-search">{search_label}</label>
                <input id="list-search" type="search" name="q" prop:value=move || q.get() value=q.get_untracked() />
            </div>
            {filters
                .into_iter()
                .map(|(param, label, options)| {
                    let current = query_param(param);
                    let id = format!("filter-{param}");
                    view! {
                        <div class="control">
                            <label for=id.clone()>{label}</label>
                            <select id=id name=param>
                                {options
                                    .into_iter()
                                    .map(|(value, text)| {
                                        view! {
                                            <option value=value selected=move || current.get() == value>
                                                {text}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        </div>
                    }
                })
                .collect_view()}
            // Filtering starts again from the first page, in the same order.
            {move || (!sort.get().is_empty()).then(|| view! { <input type="hidden" name="sort" value=sort.get() /> })}
            <button type="submit" class="button">"Apply"</button>
        </form>
    }
}

/// Percent-encodes a query value.
pub use crate::model::url_encode as urlencode;

/// An error's message, with the way on where there is one: setting up two factors, signing in
/// with the workspace's single sign-on, or signing in again for an action that needs a recent
/// sign-in (each comes back here afterwards).
#[component]
pub fn ErrorMessage(error: AppError) -> impl IntoView {
    let back = || urlencode(&dialog::here());
    let way_on = match &error {
        AppError::SecondFactorRequired(_) => Some(("/account#two-factor".to_string(), "Set up two-factor authentication")),
        AppError::SingleSignOnRequired(_) => Some((format!("/login?next={}", back()), "Sign in with single sign-on")),
        AppError::SignInAgain(_) => Some((format!("/login?again=1&next={}", back()), "Sign in again")),
        _ => None,
    };
    match way_on {
        Some((to, label)) => view! {
            <div class="alert alert-error">
                <p>{error.to_string()}</p>
                <p><a class="button" href=to>{label}</a></p>
            </div>
        }
        .into_any(),
        None => view! { <p class="alert alert-error">{error.to_string()}</p> }.into_any(),
    }
}

/// An error in place of a page's content. "Not signed in" sends the visitor to log in, and back
/// to this page afterwards.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    if error == AppError::Unauthenticated {
        return view! { <LogInFirst /> }.into_any();
    }
    view! { <div role="alert"><ErrorMessage error /></div> }.into_any()
}

/// An error in place of a whole page's content, also given as the status of the server's response.
#[component]
pub fn PageError(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(axum::http::StatusCode::from_u16(error.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR));
    }
    view! { <ErrorPanel error /> }
}

/// Sends a signed-out visitor of a page for signed-in people to `/login`, which returns here.
#[component]
pub fn LogInFirst() -> impl IntoView {
    let here = dialog::here();
    let to = format!("/login?next={}", urlencode(&here));
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(&to);
    #[cfg(not(feature = "ssr"))]
    {
        let navigate = leptos_router::hooks::use_navigate();
        let target = to.clone();
        Effect::new(move |_| navigate(&target, Default::default()));
    }
    view! { <p class="alert alert-info" role="status">"Please log in to see this page. " <a href=to>"Log in"</a></p> }
}

/// What `show` makes of `data` once it has loaded — the loading line until then, and the error
/// in its place if it failed (with `whole_page`, the error also gives the response its status).
#[component]
pub fn Loaded<T, F, V>(
    data: Resource<Result<T, AppError>>,
    show: F,
    #[prop(optional)] whole_page: bool,
) -> impl IntoView
where
    T: Clone + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=Loading>
            {move || {
                let show = show.clone();
                Suspend::new(async move {
                    match data.await {
                        Ok(value) => show(value).into_any(),
                        Err(e) if whole_page => view! { <PageError error=e /> }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// A loading line for Suspense fallbacks.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

/// A notice shown after a plain form post (the server redirects here with `param`) or after the
/// action succeeded in the browser.
pub fn done_notice<S>(action: ServerAction<S>, param: &'static str, message: &'static str) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let q = query_param(param);
    Signal::derive(move || {
        let done = match action.value().with(|v| v.as_ref().map(|r| r.is_ok())) {
            Some(ok) => ok,
            None => !q.get().is_empty(),
        };
        done.then(|| message.to_string())
    })
}

/// A notice shown when the URL carries `param` (set by the server's redirect after a change).
pub fn notice_from_query(param: &'static str, message: &'static str) -> Signal<Option<String>> {
    let p = query_param(param);
    Signal::derive(move || (!p.get().is_empty()).then(|| message.to_string()))
}
