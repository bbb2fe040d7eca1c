//! Webhooks (`/w/{name}/webhooks`, Workspace Admins): the endpoints that hear the workspace's
//! events, and one endpoint (`/w/{name}/webhooks/{id}`): its events, its signing secret, a test
//! event, and its deliveries with every attempt and answer, re-sent on request.

use leptos::form::ActionForm;
use leptos::prelude::*;

use super::WorkspaceShell;
use crate::api::webhooks::{
    get_webhook, list_webhook_deliveries, list_webhooks, CreateWebhook, DeleteWebhook, ResendWebhookDelivery, RotateWebhookSecret,
    SendTestWebhook, UpdateWebhook,
};
use crate::model::page::FilterWord;
use crate::model::webhooks::{
    DeliveryState, DeliveryView, EndpointView, WebhookEvent, DESCRIPTION_FIELD, DESCRIPTION_MAX, EVENTS_FIELD, URL_FIELD, URL_MAX,
};
use crate::ui::kit::dialog::{Confirm, ConfirmDialog, FormDialog};
use crate::ui::kit::{
    action_error, all_successes, fmt_time, Disclosure, list_position, query_param, route_param, successes, toast_action, Badge, CheckGroup, DataTable,
    ErrorPanel, Field, FormError, ListControls, ListPanel, Loading, Panel, PanelActions, ServerForm, StatusBadge, Tone,
};

const URL_HINT: &str = "Where the events are posted, as JSON: an https:// address your receiver answers with a 2xx within 10 seconds.";

/// The events' boxes, ticked as `chosen` says.
fn event_options(chosen: &[WebhookEvent]) -> Vec<(String, String, bool)> {
    WebhookEvent::ALL
        .iter()
        .map(|e| (e.code().to_string(), format!("{} ({})", e.label(), e.code()), chosen.contains(e)))
        .collect()
}

fn enabled_badge(enabled: bool) -> Badge {
    if enabled {
        Badge::new("Enabled", Tone::Positive)
    } else {
        Badge::new("Disabled", Tone::Neutral)
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let name = route_param("name");
    let create = ServerAction::<CreateWebhook>::new();
    toast_action(create, |_| "Endpoint added.".into());
    let created = successes(create);
    let endpoints = Resource::new(move || (name.get(), created.get()), |(n, _)| list_webhooks(n));
    let error = action_error(create);
    view! {
        <WorkspaceShell active="webhooks" title="Webhooks">
            <Panel id="endpoints-title" title="Endpoints">
                <PanelActions slot>
                    <FormDialog title="Add endpoint" param="add">
                        <ActionForm action=create>
                            <FormError error />
                            <input type="hidden" name="workspace" value=move || name.get() />
                            <Field label=URL_FIELD name="url" kind="url" required=true maxlength=URL_MAX hint=URL_HINT error />
                            <Field label=DESCRIPTION_FIELD name="description" maxlength=DESCRIPTION_MAX hint="What receives them (optional)." error />
                            <CheckGroup label=EVENTS_FIELD name="events" options=event_options(&[]) hint="Tick at least one." error />
                            <button type="submit" class="button button-primary">"Add endpoint"</button>
                        </ActionForm>
                        {move || create.value().get().and_then(Result::ok).map(|made| {
                            let href = format!("/w/{}/webhooks/{}", name.get_untracked(), made.endpoint);
                            view! {
                                <p class="alert alert-success" role="status">"Endpoint added. Its signing secret is on its page."</p>
                                <p><a href=href>"Open the endpoint"</a></p>
                            }
                        })}
                    </FormDialog>
                </PanelActions>
                <p class="hint">"An endpoint is told of the workspace's events as they happen: each delivery is a signed POST (Standard Webhooks), retried with backoff until the receiver answers 2xx."</p>
                <DataTable
                    label="Endpoints"
                    columns=vec!["Endpoint URL", "Description", "Events", "Status", "Created"]
                    data=endpoints
                    empty="No endpoints yet. Add the first one."
                    row=move |e: EndpointView| {
                        let href = format!("/w/{}/webhooks/{}", name.get_untracked(), e.id);
                        view! {
                            <tr>
                                <td><a href=href class="mono">{e.url.clone()}</a></td>
                                <td>{e.description.clone()}</td>
                                <td><code>{e.events_text()}</code></td>
                                <td><StatusBadge status=enabled_badge(e.enabled) /></td>
                                <td class="nowrap">{fmt_time(&e.created)}</td>
                            </tr>
                        }.into_any()
                    }
                />
            </Panel>
        </WorkspaceShell>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let (name, id) = (route_param("name"), route_param("id"));
    let endpoint_id = Memo::new(move |_| id.get().parse::<uuid::Uuid>().ok());
    let update = ServerAction::<UpdateWebhook>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let test = ServerAction::<SendTestWebhook>::new();
    let resend = ServerAction::<ResendWebhookDelivery>::new();
    toast_action(update, |_| "Endpoint saved.".into());
    toast_action(rotate, |_| "Signing secret replaced.".into());
    toast_action(test, |_| "Test event queued.".into());
    toast_action(resend, |_| "Delivery queued again.".into());
    let changed = all_successes([successes(update), successes(rotate), successes(test), successes(resend)]);
    let endpoint = Resource::new(
        move || (name.get(), endpoint_id.get(), changed()),
        |(n, id, _)| async move {
            match id {
                Some(id) => get_webhook(n, id).await,
                None => Err(crate::model::Missing::WebhookEndpoint.into()),
            }
        },
    );
    let title = Resource::new(
        move || (name.get(), endpoint_id.get()),
        |(n, id)| async move {
            match id {
                Some(id) => get_webhook(n, id).await.map(|e| e.url).unwrap_or_else(|_| "Endpoint".into()),
                None => "Endpoint".into(),
            }
        },
    );
    // After a deletion in the browser, back to the list.
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            leptos_router::hooks::use_navigate()(&format!("/w/{}/webhooks", name.get_untracked()), Default::default());
        }
    });
    let (state, q, page) = (query_param("state"), query_param("q"), list_position());
    let deliveries = Resource::new(
        move || (name.get(), endpoint_id.get(), state.get(), q.get(), page.get(), changed()),
        |(n, id, s, q, p, _)| async move {
            match id {
                Some(id) => list_webhook_deliveries(n, id, s, q, p).await,
                None => Err(crate::model::Missing::WebhookEndpoint.into()),
            }
        },
    );
    let (update_error, rotate_error, delete_error, test_error, resend_error) =
        (action_error(update), action_error(rotate), action_error(delete), action_error(test), action_error(resend));
    view! {
        <WorkspaceShell active="webhooks" title="Webhooks" detail=title>
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    match endpoint.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(e) => {
                            let ws = name.get_untracked();
                            let fields = vec![("workspace", ws.clone()), ("id", e.id.to_string())];
                            let editing = e.clone();
                            view! {
                                <Panel id="endpoint-details" title="Details">
                                    <PanelActions slot>
                                        <EditEndpoint endpoint=editing.clone() ws=ws.clone() update error=update_error />
                                        {e.enabled.then(|| view! {
                                            <ServerForm action=test fields=fields.clone() error=test_error>
                                                <button type="submit" class="button">"Send test event"</button>
                                            </ServerForm>
                                        })}
                                        <ConfirmDialog action=rotate kind=Confirm::RotateWebhookSecret opener="Replace secret…" fields=fields.clone() error=rotate_error />
                                        <ConfirmDialog action=delete kind=Confirm::DeleteWebhook opener="Delete…" opener_label="Delete endpoint" fields=fields.clone() error=delete_error />
                                    </PanelActions>
                                    <dl class="facts">
                                        <dt>"Endpoint URL"</dt><dd><code class="wrap">{e.url.clone()}</code></dd>
                                        <dt>"Description"</dt><dd>{if e.description.is_empty() { "—".to_string() } else { e.description.clone() }}</dd>
                                        <dt>"Events"</dt><dd><code>{e.events_text()}</code></dd>
                                        <dt>"Status"</dt>
                                        <dd>
                                            <StatusBadge status=enabled_badge(e.enabled) />
                                            {(!e.enabled).then(|| view! {
                                                <p class="hint">"Nothing is sent to a disabled endpoint: deliveries that were waiting ended as failed, and can be re-sent once it is enabled again."</p>
                                            })}
                                        </dd>
                                        <dt>"Signing secret"</dt>
                                        <dd>
                                            {e.secret.clone().map(|secret| view! {
                                                <Disclosure summary="Show the signing secret" class="secret">
                                                    <code class="mono wrap">{secret}</code>
                                                </Disclosure>
                                            })}
                                            <p class="hint">"Each delivery carries webhook-id, webhook-timestamp and webhook-signature headers: v1, then the base64 HMAC-SHA256 of id.timestamp.body, keyed with the bytes after whsec_ (Standard Webhooks)."</p>
                                        </dd>
                                        <dt>"Created"</dt><dd>{format!("{} by {}", fmt_time(&e.created), e.created_by)}</dd>
                                    </dl>
                                </Panel>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            <ListPanel label="Deliveries">
                <h2 id="deliveries-title">"Deliveries"</h2>
                <ListControls search_label="Search event" filters=vec![("state", "State", DeliveryState::options("All states"))] />
                <DataTable
                    label="Deliveries"
                    columns=vec!["Created", "Event", "State", "Attempts", "Last answer", "Next attempt", "Actions"]
                    sortable=vec![("Created", "created")]
                    data=deliveries
                    empty="No deliveries match."
                    row=move |d: DeliveryView| delivery_row(d, name.get_untracked(), resend, resend_error)
                />
            </ListPanel>
        </WorkspaceShell>
    }
}

/// One delivery: its outcome so far, each attempt under a disclosure, and "Re-send".
fn delivery_row(d: DeliveryView, ws: String, resend: ServerAction<ResendWebhookDelivery>, error: Signal<Option<crate::model::AppError>>) -> AnyView {
    // The newest outcome, cut short: the attempts' list below has each in full.
    let last = d.attempts.last().map(|a| shorten(&a.summary(), 80)).unwrap_or_else(|| "—".into());
    let count = d.attempts.len();
    let label = format!("Re-send delivery {} of {}", d.event, fmt_time(&d.created));
    view! {
        <tr>
            <td class="nowrap">{fmt_time(&d.created)}</td>
            <td><code>{d.event.clone()}</code></td>
            <td><StatusBadge status=d.state /></td>
            <td>
                {if count == 0 {
                    view! { "0" }.into_any()
                } else {
                    view! {
                        <Disclosure summary=format!("{count} {}", if count == 1 { "attempt" } else { "attempts" })>
                            <ol class="attempts pre">
                                {d.attempts.iter().map(|a| view! {
                                    <li>
                                        <span class="nowrap">{fmt_time(&a.at)}</span>": "{a.summary()}{format!(" ({} ms)", a.millis)}
                                        {(!a.answer.is_empty()).then(|| view! { <pre class="answer">{a.answer.clone()}</pre> })}
                                    </li>
                                }).collect_view()}
                            </ol>
                            <p class="hint">"Body sent:"</p>
                            <pre class="answer">{d.payload.clone()}</pre>
                        </Disclosure>
                    }.into_any()
                }}
            </td>
            <td class="details">{last}</td>
            <td class="nowrap">{d.next_attempt.map(|t| fmt_time(&t)).unwrap_or_else(|| "—".into())}</td>
            <td class="row-actions">
                <ServerForm action=resend fields=vec![("workspace", ws), ("delivery", d.id.to_string())] error>
                    <button type="submit" class="button" aria-label=label>"Re-send"</button>
                </ServerForm>
            </td>
        </tr>
    }
    .into_any()
}

/// `text` cut to `max` characters, with an ellipsis when it was longer.
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// "Edit…": the endpoint's URL, description, events, and whether it is enabled.
#[component]
fn EditEndpoint(
    endpoint: EndpointView,
    ws: String,
    update: ServerAction<UpdateWebhook>,
    #[prop(into)] error: Signal<Option<crate::model::AppError>>,
) -> impl IntoView {
    let (url, description) = (endpoint.url.clone(), endpoint.description.clone());
    view! {
        <FormDialog title="Edit endpoint" param="edit">
            <ServerForm action=update fields=vec![("workspace", ws), ("id", endpoint.id.to_string())] error>
                <Field label=URL_FIELD name="url" kind="url" required=true maxlength=URL_MAX hint=URL_HINT value=Signal::stored(url) error />
                <Field label=DESCRIPTION_FIELD name="description" maxlength=DESCRIPTION_MAX value=Signal::stored(description) error />
                <CheckGroup label=EVENTS_FIELD name="events" options=event_options(&endpoint.events) error />
                <div class="checkbox">
                    <input type="checkbox" id="field-enabled" name="enabled" value="on" checked=endpoint.enabled />
                    <label for="field-enabled">"Enabled: deliver events to this endpoint"</label>
                </div>
                <button type="submit" class="button button-primary">"Save endpoint"</button>
            </ServerForm>
        </FormDialog>
    }
}
