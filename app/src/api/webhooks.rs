//! Webhooks (Workspace Admins only): endpoints, their signing secrets, and their deliveries.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::page::Position;
use crate::model::webhooks::{DeliveryView, EndpointView, NewSecret};
use crate::model::workspace::Page;
use crate::model::AppError;

#[cfg(feature = "ssr")]
use super::acting;
#[cfg(feature = "ssr")]
use crate::server::{
    domain::webhooks as domain,
    guard::{act, Member},
    Context,
};

/// The workspace's webhook endpoints, oldest first, without their signing secrets.
#[server(prefix = "/api", endpoint = "list-webhooks")]
pub async fn list_webhooks(workspace: String) -> Result<Vec<EndpointView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewWebhooks)?;
    domain::list(&Context::current()?, &m).await
}

/// One webhook endpoint, with its signing secret (Workspace Admins only).
#[server(prefix = "/api", endpoint = "get-webhook")]
pub async fn get_webhook(workspace: String, id: Uuid) -> Result<EndpointView, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewWebhooks)?;
    domain::view(&Context::current()?, &m, id).await
}

/// Adds an endpoint for the events ticked (`events[0]`, `events[1]` … in a form). A browser
/// without JavaScript goes on to the endpoint's page.
#[server(prefix = "/api", endpoint = "create-webhook")]
pub async fn create_webhook(
    workspace: String,
    url: String,
    #[server(default)] description: String,
    #[server(default)] events: Vec<String>,
) -> Result<NewSecret, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    let made = domain::create(&state, &admin, domain::EndpointForm { url, description, events }, actor).await?;
    if super::apps::plain_form_post().await {
        leptos_axum::redirect(&format!("/w/{}/webhooks/{}", admin.workspace().name, made.endpoint));
    }
    Ok(made)
}

/// Changes an endpoint: its URL, description, events, and whether deliveries are made to it.
#[server(prefix = "/api", endpoint = "update-webhook")]
pub async fn update_webhook(
    workspace: String,
    id: Uuid,
    url: String,
    #[server(default)] description: String,
    #[server(default)] events: Vec<String>,
    /// "on" (a ticked checkbox) to deliver to it; absent to pause it.
    #[server(default)]
    enabled: Option<String>,
) -> Result<EndpointView, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    let form = domain::EndpointForm { url, description, events };
    domain::update(&state, &admin, id, form, enabled.is_some(), actor).await
}

/// Replaces an endpoint's signing secret at once.
#[server(prefix = "/api", endpoint = "rotate-webhook-secret")]
pub async fn rotate_webhook_secret(
    workspace: String,
    id: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    #[server(default)]
    back: Option<String>,
) -> Result<NewSecret, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    let made = domain::rotate_secret(&state, &admin, id, actor).await?;
    super::return_to(back)?;
    Ok(made)
}

/// Deletes an endpoint and every delivery to it.
#[server(prefix = "/api", endpoint = "delete-webhook")]
pub async fn delete_webhook(
    workspace: String,
    id: Uuid,
    /// The page to return to after a plain form post from the confirmation page.
    #[server(default)]
    back: Option<String>,
) -> Result<(), AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    domain::delete(&state, &admin, id, actor).await?;
    if back.is_some() {
        leptos_axum::redirect(&format!("/w/{}/webhooks", admin.workspace().name));
    }
    Ok(())
}

/// Queues a `webhook.test` event for the endpoint.
#[server(prefix = "/api", endpoint = "send-test-webhook")]
pub async fn send_test_webhook(workspace: String, id: Uuid) -> Result<Uuid, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    domain::send_test(&state, &admin, id, actor).await
}

/// A page of an endpoint's deliveries, filtered by state (`queued`, `delivered`, `failed`) and
/// by a search of the event's type.
#[server(prefix = "/api", endpoint = "list-webhook-deliveries")]
pub async fn list_webhook_deliveries(
    workspace: String,
    id: Uuid,
    #[server(default)] state: String,
    #[server(default)] q: String,
    #[server(flatten)] at: Position,
) -> Result<Page<DeliveryView>, AppError> {
    let m = Member::require(&workspace).await?.authorize(act::ViewWebhooks)?;
    domain::deliveries(&Context::current()?, &m, id, &state, q, at).await
}

/// Queues a delivery again, due now (the record of its earlier attempts stays).
#[server(prefix = "/api", endpoint = "resend-webhook-delivery")]
pub async fn resend_webhook_delivery(workspace: String, delivery: Uuid) -> Result<DeliveryView, AppError> {
    let (state, admin, actor) = acting(&workspace, act::ManageWebhooks).await?;
    domain::resend(&state, &admin, delivery, actor).await
}
