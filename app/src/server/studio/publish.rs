//! `POST /api/studio/v1/mini-programs/{id}/publishing`: applying for publishing review from CI
//! (`mpdp studio publish`). No key signs it — applying is a person's act, as in the console — so
//! a personal access token with the `publish` scope is required, and its person must be a member
//! who may apply for the mini program (its admin, or a Workspace Admin), checked by the same
//! guard and use case as the console's "Apply for publishing review".

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::account::TokenScope;
use crate::server::domain::approvals::{apply_publishing_after, Publishing};
use crate::server::guard::{act, Member, SignedIn};
use crate::server::http_error::ApiError;
use crate::server::store::audit::Actor;

use super::person::{authorization, holder, presented, used};
use super::Studio;

/// The largest body read.
const BODY_LIMIT: usize = 64 * 1024;

/// What the request asks for.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PublishRequest {
    /// The version: the newest one uploaded, not yet applied for.
    pub version: String,
    /// The Apps to release it to, once approved.
    pub apps: Vec<Uuid>,
    /// The share of installs it goes to at first, in percent (default 100).
    #[serde(default)]
    pub rollout_percent: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// The answer: the application filed, and where reviewers find it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Applied {
    pub application: Uuid,
    pub console_url: String,
}

#[utoipa::path(
    post,
    path = "/api/studio/v1/mini-programs/{id}/publishing",
    tag = "studio",
    operation_id = "apply_for_publishing",
    summary = "Apply for publishing review",
    description = "As \"Apply for publishing review\" in the console: the newest Uploaded version, to be released to these Apps once another person approves. \
                   A personal access token with the `publish` scope; its person must be the mini program's admin or a Workspace Admin.",
    params(("id" = uuid::Uuid, Path, description = "The mini program's id.")),
    request_body(content = PublishRequest, content_type = "application/json", description = "At most 64 KiB."),
    responses(
        (status = 201, description = "Filed: the application and its page in the console.", body = Applied),
        (status = 400, description = "`token_malformed`, `body_malformed`.", body = crate::server::schemas::ApiErrorBody),
        (status = 401, description = "`token_missing`, `token_invalid`.", body = crate::server::schemas::ApiErrorBody),
        (status = 403, description = "`token_scope`, `token_single_sign_on`, `forbidden`, `second_factor_required`.", body = crate::server::schemas::ApiErrorBody),
        (status = 404, description = "`not_found`.", body = crate::server::schemas::ApiErrorBody),
        (status = 409, description = "`conflict` (`field: \"Version\"`): not the newest version, or not Uploaded.", body = crate::server::schemas::ApiErrorBody),
        (status = 413, description = "`body_too_large`.", body = crate::server::schemas::ApiErrorBody),
        (status = 422, description = "`invalid`, with `field`: `Version`, `Apps` or `Rollout`.", body = crate::server::schemas::ApiErrorBody),
        (status = 429, description = "`rate_limited`: the token's person is past their hourly budget of changes; `Retry-After` says when to try again.", body = crate::server::schemas::ApiErrorBody),
        crate::server::schemas::InternalError,
    ),
    security(("personalToken" = []))
)]
pub(super) async fn publish(
    State(state): State<Studio>,
    UrlPath(id): UrlPath<String>,
    client: Option<axum::Extension<crate::server::auth::client::ClientAddr>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let client = client.map(|c| c.0 .0);
    let result: Result<Applied, ApiError> = async {
        let token = presented(authorization(&headers))?.ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "token_missing", "Applying for review needs a personal access token with the publish scope (Authorization: Bearer mppat_…).")
        })?;
        let now = state.clock.now();
        let t = token.clone();
        let (account, record) = state.store.read(move |tx| holder(tx, &t, TokenScope::Publish, now)).await??;
        let mp = Uuid::parse_str(&id).map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", "There is no such mini program in the token's workspace."))?;
        // Read only once the token holds, and never more than the limit (this router sets none).
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", format!("The body may be at most {BODY_LIMIT} bytes.")))?;
        let request: PublishRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "body_malformed", format!("The body must be JSON {{\"version\", \"apps\", \"rollout_percent\"?, \"note\"?}}: {e}.")))?;
        let rollout = crate::model::approvals::parse_rollout(request.rollout_percent.as_deref().unwrap_or(""))?;
        let actor = Actor { id: Some(account.id), name: account.username.clone(), client: client.map(|c| c.to_string()) };
        let who = SignedIn::by_token(&state, account);
        let member = Member::check(&state, who, &record.workspace_name).await?.authorize(act::ApplyForMiniPrograms)?;
        // An application is the person's own change, counted as in the console.
        state.count_change(member.who().account().id)?;
        let to = Publishing { version: request.version, apps: request.apps, rollout, note: request.note };
        // The token is checked again where the application is filed: one revoked meanwhile (while
        // the body was read) files nothing.
        let t = token.clone();
        let application = apply_publishing_after(&state, &member, mp, to, actor, move |tx| match holder(tx, &t, TokenScope::Publish, now)? {
            Ok((_, held)) => used(tx, &t, held, now).map(Ok),
            Err(refused) => Ok(Err(refused)),
        })
        .await??;
        Ok(Applied {
            application,
            console_url: format!("{}/w/{}/approvals/{application}", state.config.public_url.trim_end_matches('/'), member.workspace().name),
        })
    }
    .await;
    match result {
        Ok(applied) => (StatusCode::CREATED, Json(applied)).into_response(),
        Err(e) => e.into_response(),
    }
}
