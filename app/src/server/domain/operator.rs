//! What the platform operator reads: the overview's figures, every account, the outbox and the
//! platform's audit log.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::account::AccountView;
use crate::model::page::FilterWord;
use crate::server::store::listing::Window;
use crate::model::workspace::{ApplicationStatus, AuditEventView, OutboxView, OverviewFigures, Page, PublishingView, PER_PAGE};
use crate::model::AppError;
use crate::server::guard::Operator;
use crate::server::store::{self, accounts, audit, outbox, workspace_applications, workspaces as ws};
use crate::server::Context;

/// How many accounts, operators, sessions and pending applications the platform has, and how it
/// is set up.
pub async fn overview(cx: &Context, _op: &Operator) -> Result<OverviewFigures, AppError> {
    let target = cx.config.publish_target.clone();
    let (accounts, operators, pending_applications, unverified_accounts, publishing) = cx
        .store
        .read(move |tx| {
            let pending =
                workspace_applications::count_applications(tx, Some(ApplicationStatus::Pending))?;
            let publishing = match target {
                Some(target) => {
                    let s = store::publish::state(tx)?;
                    let objects = if s.target.as_deref() == Some(target.as_str()) { store::publish::objects(tx)?.len() as u64 } else { 0 };
                    Some(PublishingView {
                        target,
                        pending: s.pending(),
                        owed_since: s.owed_since,
                        published_at: s.published_at,
                        failures: s.failures,
                        last_error: s.last_error,
                        last_attempt: s.last_attempt,
                        objects,
                    })
                }
                None => None,
            };
            Ok((
                accounts::count(tx)?,
                accounts::count_operators(tx)?,
                pending,
                accounts::count_unverified(tx)?,
                publishing,
            ))
        })
        .await?;
    let sessions = store::sessions::RedbSessionStore::new(cx.store.clone())
        .count()
        .await?;
    Ok(OverviewFigures {
        accounts,
        operators,
        sessions,
        schema_version: store::SCHEMA_VERSION,
        pending_applications,
        smtp_configured: cx.config.smtp_configured,
        unverified_accounts,
        publishing,
    })
}

/// Every account, by username, searched by username or email.
pub async fn accounts(
    cx: &Context,
    _op: &Operator,
    q: String,
    at: Position,
) -> Result<Page<AccountView>, AppError> {
    let window = Window::at(accounts::LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| accounts::list(tx, &q, &window).map(|l| l.page))
        .await
}

/// The outbox: every email the platform has queued, filtered by delivery state ("" for all).
pub async fn outbox(
    cx: &Context,
    _op: &Operator,
    state: &str,
    q: String,
    at: Position,
) -> Result<Page<OutboxView>, AppError> {
    let filter = outbox::MailState::parse_filter(state)?;
    let window = Window::at(outbox::LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| outbox::list(tx, filter, &q, &window).map(|l| l.page))
        .await
}

/// One outbox message in full.
pub async fn outbox_message(cx: &Context, _op: &Operator, id: Uuid) -> Result<OutboxView, AppError> {
    cx.store
        .read(move |tx| outbox::get(tx, id))
        .await?
        .map(|m| m.view())
        .or_missing(Missing::Message)
}

/// The audit log of the whole platform, or of one workspace named by the operator.
pub async fn platform_audit(
    cx: &Context,
    _op: &Operator,
    workspace: String,
    action: String,
    q: String,
    at: Position,
) -> Result<Page<AuditEventView>, AppError> {
    let window = Window::at(audit::LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| {
            let scope = if workspace.trim().is_empty() {
                None
            } else {
                Some(
                    ws::workspace_by_name(tx, &workspace)?
                        .ok_or_else(|| {
                            AppError::invalid(
                                "Workspace",
                                format!("there is no workspace named {workspace}"),
                            )
                        })?
                        .id,
                )
            };
            audit::list(tx, scope, &action, &q, &window).map(|l| l.page)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::accounts::{signed_in, verified_account};
    use crate::server::store::Store;
    use crate::server::Config;

    #[tokio::test]
    async fn the_operator_reads_every_account_and_is_told_of_an_unknown_workspace_or_state() {
        let cx = Context::new(Store::memory(), Config::default());
        let mut account = verified_account(&cx, "operator").await;
        account.is_operator = true;
        let op = Operator::for_tests(signed_in(&cx, &account));

        assert_eq!(accounts(&cx, &op, String::new(), Default::default()).await.unwrap().items.len(), 1);

        let e = platform_audit(&cx, &op, "Nowhere".into(), String::new(), String::new(), Default::default())
            .await
            .unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Workspace")));
        let e = outbox(&cx, &op, "lost", String::new(), Default::default()).await.unwrap_err();
        assert_eq!(e.status(), 422);
    }
}
