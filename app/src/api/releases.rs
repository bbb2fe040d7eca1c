//! Release control: raising, pausing, resuming, completing and aborting a candidate's rollout on
//! one App, and rolling the stable back. Each returns a plain form post to the page that asked.

use leptos::prelude::*;
use uuid::Uuid;

use crate::model::AppError;

#[cfg(feature = "ssr")]
use crate::server::domain::releases::{self as domain, Control};
#[cfg(feature = "ssr")]
use crate::server::guard::act;

/// One change to the candidate of mini program `id` on `app`, which must still be `version` (the
/// candidate the page showed): otherwise it is refused (409, naming the Version) and nothing
/// changes.
#[cfg(feature = "ssr")]
async fn control(workspace: String, id: Uuid, app: Uuid, version: String, what: Control, back: Option<String>) -> Result<(), AppError> {
    let (state, m, actor) = super::acting(&workspace, act::ControlReleases).await?;
    domain::control(&state, &m, id, app, &version, what, actor).await?;
    super::return_to(back)
}

/// Raises the candidate `version`'s rollout to a larger share (`rollout`: a percentage, such as
/// 25 or 12.5).
#[server(prefix = "/api", endpoint = "raise-rollout")]
pub async fn raise_rollout(
    workspace: String,
    id: Uuid,
    app: Uuid,
    #[server(default)] version: String,
    #[server(default)] rollout: String,
    #[server(default)] back: Option<String>,
) -> Result<(), AppError> {
    if rollout.trim().is_empty() {
        return Err(AppError::invalid("Rollout", "is required: the percentage of installs to give the candidate"));
    }
    let to = crate::model::approvals::parse_rollout(&rollout)?;
    control(workspace, id, app, version, Control::Raise(to), back).await
}

/// Pauses the candidate `version`: no install gets it until it is resumed.
#[server(prefix = "/api", endpoint = "pause-rollout")]
pub async fn pause_rollout(workspace: String, id: Uuid, app: Uuid, #[server(default)] version: String, #[server(default)] back: Option<String>) -> Result<(), AppError> {
    control(workspace, id, app, version, Control::Pause, back).await
}

/// Resumes the paused candidate `version` at the share it had; the health rule judges what its
/// installs report from then on.
#[server(prefix = "/api", endpoint = "resume-rollout")]
pub async fn resume_rollout(workspace: String, id: Uuid, app: Uuid, #[server(default)] version: String, #[server(default)] back: Option<String>) -> Result<(), AppError> {
    control(workspace, id, app, version, Control::Resume, back).await
}

/// Completes the rollout of the candidate `version`: it becomes what every install gets.
#[server(prefix = "/api", endpoint = "complete-rollout")]
pub async fn complete_rollout(workspace: String, id: Uuid, app: Uuid, #[server(default)] version: String, #[server(default)] back: Option<String>) -> Result<(), AppError> {
    control(workspace, id, app, version, Control::Complete, back).await
}

/// Aborts the rollout of the candidate `version`: it is withdrawn and the stable stays.
#[server(prefix = "/api", endpoint = "abort-rollout")]
pub async fn abort_rollout(workspace: String, id: Uuid, app: Uuid, #[server(default)] version: String, #[server(default)] back: Option<String>) -> Result<(), AppError> {
    control(workspace, id, app, version, Control::Abort, back).await
}

/// Replaces the release's health rule: the failure rate (percent) and minimum launches at which
/// the fleet's reports stop a candidate, and whether they withdraw it rather than pause it.
#[server(prefix = "/api", endpoint = "set-health-rule")]
pub async fn set_health_rule(
    workspace: String,
    id: Uuid,
    app: Uuid,
    #[server(default)] threshold: String,
    #[server(default)] min_launches: String,
    #[server(default)] roll_back: Option<String>,
    #[server(default)] back: Option<String>,
) -> Result<(), AppError> {
    let rule = crate::model::approvals::HealthRule::parse(&threshold, &min_launches, roll_back.is_some())?;
    let (state, m, actor) = super::acting(&workspace, act::ControlReleases).await?;
    domain::set_health_rule(&state, &m, id, app, rule, actor).await?;
    super::return_to(back)
}

/// What the installs of mini program `id` on `app` reported per version and day, over the last
/// 14 days.
#[server(prefix = "/api", endpoint = "release-figures")]
pub async fn release_figures(workspace: String, id: Uuid, app: Uuid) -> Result<Vec<crate::model::approvals::DayFigures>, AppError> {
    let m = crate::server::guard::Member::require(&workspace).await?.authorize(act::ViewMiniPrograms)?;
    domain::daily_figures(&crate::server::Context::current()?, &m, id, app, crate::server::domain::approvals::FIGURE_DAYS).await
}

/// Makes `version`, released to `app` before, what every install gets again, at once.
#[server(prefix = "/api", endpoint = "rollback-release")]
pub async fn rollback_release(
    workspace: String,
    id: Uuid,
    app: Uuid,
    #[server(default)] version: String,
    #[server(default)] reason: String,
    #[server(default)] back: Option<String>,
) -> Result<(), AppError> {
    let (state, m, actor) = super::acting(&workspace, act::ControlReleases).await?;
    domain::rollback(&state, &m, id, app, version, reason, actor).await?;
    super::return_to(back)
}
