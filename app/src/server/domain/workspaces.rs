//! Workspace applications, their generation or rejection by the operator, Workspace – General,
//! change requests, suspension.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::account::email_key;
use crate::model::workspace::*;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Action, Authorized, Operator, SignedIn};
use crate::server::store::audit::{self, Actor};
use crate::server::store::admissions;
use crate::server::store::change_requests::{self, ChangeRequest};
use crate::server::store::workspace_applications::{self, WorkspaceApplication};
use crate::server::store::workspaces::{self as ws, Workspace};
use crate::server::store::{accounts, outbox};
use crate::server::Context;
use crate::server::store::listing::Window;

pub fn actor(who: &SignedIn, client: Option<std::net::IpAddr>) -> Actor {
    Actor {
        id: Some(who.account().id),
        name: who.account().username.clone(),
        client: client.map(|c| c.to_string()),
    }
}

/// What a person fills in to apply for a workspace.
pub struct ApplicationForm {
    pub name: String,
    pub mcc: String,
    pub address: String,
    pub representatives: Vec<RepresentativeRow>,
}

/// The workspace's name and its registered information, checked.
pub fn check_application(form: &ApplicationForm) -> Result<(String, RegisteredInfo), AppError> {
    Ok((validate_workspace_name(&form.name)?, RegisteredInfo::check(&form.mcc, &form.address, &form.representatives)?))
}

/// Applies for a workspace: only with a verified email address, at most
/// `PENDING_APPLICATIONS_MAX` pending at a time. The name is refused when a workspace has it, or
/// the applicant already asked for it; another account's pending application for it is not
/// revealed (see `store::workspace_applications::insert_application`).
pub async fn apply(
    cx: &Context,
    who: &SignedIn,
    form: ApplicationForm,
    actor: Actor,
) -> Result<ApplicationView, AppError> {
    if !who.account().email_verified {
        return Err(AppError::Forbidden(format!(
            "Verify your email address {} first: open the link we sent you (you can ask for a new one on your account page), then apply.",
            who.account().email
        )));
    }
    let (name, info) = check_application(&form)?;
    let application = WorkspaceApplication {
        id: Uuid::now_v7(),
        applicant: who.account().id,
        applicant_name: who.account().username.clone(),
        name,
        info,
        status: ApplicationStatus::Pending,
        reason: None,
        created: cx.clock.now(),
        decided: None,
        workspace_id: None,
    };
    let stored = application.clone();
    cx
        .store
        .write(move |tx| {
            workspace_applications::insert_application(tx, &stored)?;
            audit::record(
                tx,
                &actor,
                None,
                AuditAction::WorkspaceApplicationSubmitted,
                &stored.name,
                &format!("application {}", stored.id),
            )?;
            Ok(())
        })
        .await?;
    Ok(application.view())
}

pub async fn withdraw(
    cx: &Context,
    who: &SignedIn,
    id: Uuid,
    actor: Actor,
) -> Result<(), AppError> {
    let applicant = who.account().id;
    cx
        .store
        .write(move |tx| {
            let mut a = workspace_applications::get_application(tx, id)?
                .filter(|a| a.applicant == applicant)
                .ok_or_else(|| AppError::NotFound("No such application of yours.".into()))?;
            if a.status != ApplicationStatus::Pending {
                return Err(AppError::conflict(
                    "Application",
                    format!(
                        "is already {} and can no longer be withdrawn",
                        a.status.label()
                    ),
                ));
            }
            a.status = ApplicationStatus::Withdrawn;
            a.decided = Some(crate::server::store::now());
            workspace_applications::decide_application(tx, &a)?;
            workspace_applications::forget_withdrawn(tx, applicant)?;
            audit::record(
                tx,
                &actor,
                None,
                AuditAction::WorkspaceApplicationWithdrawn,
                &a.name,
                &format!("application {}", a.id),
            )?;
            Ok(())
        })
        .await
}

/// Generates the workspace of a pending application: Active, every representative a Workspace
/// Admin (or admitted on sign-up), each told by email. One transaction.
pub async fn generate(
    cx: &Context,
    _op: &Operator,
    id: Uuid,
    actor: Actor,
) -> Result<Workspace, AppError> {
    let console = cx.config.public_url.trim_end_matches('/').to_string();
    let workspace = cx
        .store
        .write(move |tx| {
            let mut a = workspace_applications::get_application(tx, id)?.or_missing(Missing::Application)?;
            if a.status != ApplicationStatus::Pending {
                return Err(AppError::conflict(
                    "Application",
                    format!("has already been decided ({})", a.status.label()),
                ));
            }
            let workspace = Workspace {
                id: Uuid::now_v7(),
                name: a.name.clone(),
                info: a.info.clone(),
                status: WorkspaceStatus::Active,
                status_reason: None,
                created: crate::server::store::now(),
                application: a.id,
                require_second_factor: false,
                single_sign_on: None,
            };
            a.status = ApplicationStatus::Generated;
            a.decided = Some(workspace.created);
            a.workspace_id = Some(workspace.id);
            workspace_applications::decide_application(tx, &a)?;
            ws::insert_workspace(tx, &workspace)?;
            crate::server::store::apps::ensure_platform_key(tx, workspace.id)?;
            for rep in &workspace.info.representatives {
                admit_representative(tx, &console, &workspace, rep, true)?;
            }
            audit::record(
                tx,
                &actor,
                Some((workspace.id, &workspace.name)),
                AuditAction::WorkspaceGenerated,
                &workspace.name,
                &format!(
                    "from application {}; admins: {}",
                    a.id,
                    workspace
                        .info
                        .representatives
                        .iter()
                        .map(|r| r.email.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )?;
            Ok(workspace)
        })
        .await?;
    Ok(workspace)
}

/// Admits a representative of `w` as its Workspace Admin (at once if their address is a verified
/// account's, else when it becomes one) and mails them the workspace's particulars: as its
/// generation (`generated`), or as their being named on an existing workspace.
fn admit_representative(
    tx: &redb::WriteTransaction,
    console: &str,
    w: &Workspace,
    rep: &Representative,
    generated: bool,
) -> Result<(), AppError> {
    let has_account = admissions::admit(tx, w.id, &rep.email, Role::WorkspaceAdmin)?.is_some();
    let (subject, news) = if generated {
        (format!("Your MPDP workspace {} is ready", w.name), format!("The workspace {} has been generated on MPDP", w.name))
    } else {
        (format!("You are a Workspace Admin of {} on MPDP", w.name), format!("You have been named a representative of the workspace {} on MPDP", w.name))
    };
    let mut body = format!(
        "Hello {},\n\n{news}, with you as a Workspace Admin.\n\n\
         Workspace ID: {}\nWorkspace Name: {}\nConsole: {console}/w/{}/general\n",
        rep.name, w.id, w.name, w.name
    );
    if !has_account {
        body.push_str(&format!(
            "\nYou join the workspace as its Workspace Admin once {} is a verified address on MPDP: \
             sign up at {console}/sign-up with it and open the link we send you. If you already \
             have an account with this address, verify it from your account page.\n",
            rep.email
        ));
    }
    outbox::enqueue(tx, vec![rep.email.clone()], &subject, &body)?;
    Ok(())
}

pub async fn reject(
    cx: &Context,
    _op: &Operator,
    id: Uuid,
    reason: &str,
    actor: Actor,
) -> Result<(), AppError> {
    let reason = validate_reason("Reason", reason)?;
    cx
        .store
        .write(move |tx| {
            let mut a = workspace_applications::get_application(tx, id)?.or_missing(Missing::Application)?;
            if a.status != ApplicationStatus::Pending {
                return Err(AppError::conflict("Application", format!("has already been decided ({})", a.status.label())));
            }
            a.status = ApplicationStatus::Rejected;
            a.reason = Some(reason.clone());
            a.decided = Some(crate::server::store::now());
            workspace_applications::decide_application(tx, &a)?;
            let applicant = accounts::get(tx, a.applicant)?;
            if let Some(applicant) = applicant {
                let body = format!(
                    "Hello {},\n\nYour application for the workspace {} was rejected by the platform operator.\n\nReason: {}\n\n\
                     You may apply again with the necessary changes.\n",
                    applicant.username, a.name, reason
                );
                outbox::enqueue(tx, vec![applicant.email], &format!("Your workspace application {} was rejected", a.name), &body)?;
            }
            audit::record(tx, &actor, None, AuditAction::WorkspaceApplicationRejected, &a.name, &format!("reason: {reason}"))?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// A Workspace Admin asks the operator to change the registered information.
pub async fn request_change(
    cx: &Context,
    admin: &Authorized<act::RequestInfoChange>,
    what: &str,
    why: &str,
    actor: Actor,
) -> Result<(), AppError> {
    let what = validate_reason("What to change", what)?;
    let why = validate_reason("Why", why)?;
    let request = ChangeRequest {
        id: Uuid::now_v7(),
        workspace: admin.workspace().id,
        workspace_name: admin.workspace().name.clone(),
        requester: admin.who().account().id,
        requester_name: admin.who().account().username.clone(),
        what,
        why,
        created: cx.clock.now(),
    };
    admin
        .write(cx, move |tx, _| {
            change_requests::insert_change_request(tx, &request)?;
            audit::record(
                tx,
                &actor,
                Some((request.workspace, &request.workspace_name)),
                AuditAction::WorkspaceChangeRequested,
                &request.workspace_name,
                &format!("what: {}; why: {}", request.what, request.why),
            )?;
            Ok(())
        })
        .await
}

/// A Workspace Admin requires two factors of every member, or stops requiring them. Requiring
/// them is refused to an admin without a second factor (it would shut them out too).
pub async fn set_sign_in_policy(
    cx: &Context,
    admin: &Authorized<act::SetSignInPolicy>,
    require_second_factor: bool,
    actor: Actor,
) -> Result<(), AppError> {
    if require_second_factor && !admin.who().account().has_second_factor() {
        return Err(AppError::conflict(
            "Two-factor authentication",
            "must be on for your own account before you require it of every member",
        ));
    }
    change_setting(cx, admin, actor, move |_, w| {
        if w.require_second_factor == require_second_factor {
            return Ok(None);
        }
        w.require_second_factor = require_second_factor;
        let details = if require_second_factor {
            "two-factor authentication required of every member"
        } else {
            "two-factor authentication no longer required"
        };
        Ok(Some((AuditAction::WorkspaceSignInPolicyChanged, details.to_string())))
    })
    .await
}

/// Changes a setting of the admin's workspace in one write: `change` edits the record and says
/// what the audit log records, or `None` when nothing changed (then nothing is written).
async fn change_setting<A: Action>(
    cx: &Context,
    admin: &Authorized<A>,
    actor: Actor,
    change: impl FnOnce(&redb::WriteTransaction, &mut Workspace) -> Result<Option<(AuditAction, String)>, AppError> + Send + 'static,
) -> Result<(), AppError> {
    admin
        .write(cx, move |tx, scope| {
            let mut w = ws::get_workspace(tx, scope.workspace())?.or_missing(Missing::Workspace)?;
            let Some((action, details)) = change(tx, &mut w)? else { return Ok(()) };
            ws::update_workspace(tx, &w)?;
            audit::record(tx, &actor, scope.audited(), action, &w.name, &details)?;
            Ok(())
        })
        .await
}

/// A Workspace Admin sets the workspace's single sign-on: its provider (blank for none), whether
/// members must sign in with it, and which of the provider's groups make members in which role.
/// Requiring it is refused to an admin whose own session was not signed in with that provider
/// (it would shut them out at once), and so are group roles: they make members of whoever signs
/// in with the provider, so only an admin who is one of the provider's people may map them (a
/// provider is the operator's, shared by every workspace).
pub async fn set_single_sign_on(
    cx: &Context,
    admin: &Authorized<act::SetSignInPolicy>,
    provider: &str,
    required: bool,
    groups: &str,
    actor: Actor,
) -> Result<(), AppError> {
    use crate::server::store::sso;
    let provider = provider.trim().to_string();
    let groups = crate::model::workspace::parse_group_roles(groups)?;
    if provider.is_empty() && (required || !groups.is_empty()) {
        return Err(AppError::invalid("Provider", "is required to require single sign-on or map groups"));
    }
    let mine = admin.who().session().get::<String>(crate::server::store::sessions::SSO_KEY).await.ok().flatten();
    let signed_in_with_it = mine.as_deref() == Some(provider.as_str());
    let first = "needs your own session to be signed in with that provider first: sign in with it, then come back";
    if required && !signed_in_with_it {
        return Err(AppError::conflict("Require single sign-on", first));
    }
    if !groups.is_empty() && !signed_in_with_it {
        return Err(AppError::conflict("Group roles", first));
    }
    change_setting(cx, admin, actor, move |tx, w| {
        let label = if provider.is_empty() {
            None
        } else {
            Some(sso::get(tx, &provider)?.ok_or_else(|| AppError::invalid("Provider", "is not a single sign-on provider of this server"))?.label)
        };
        let next = label.as_ref().map(|_| crate::model::workspace::WorkspaceSso { provider: provider.clone(), required, groups: groups.clone() });
        if w.single_sign_on == next {
            return Ok(None);
        }
        let from = w.single_sign_on.as_ref().map(|s| s.provider.clone());
        sso::set_workspace(tx, w.id, from.as_deref(), next.as_ref().map(|s| s.provider.as_str()))?;
        w.single_sign_on = next;
        let details = match &label {
            None => "no single sign-on".to_string(),
            Some(l) => format!(
                "{l}{}; {} group role(s)",
                if required { ", required of every member" } else { ", optional" },
                groups.len()
            ),
        };
        Ok(Some((AuditAction::WorkspaceSingleSignOnChanged, details)))
    })
    .await
}

/// The operator edits a workspace's registered information (never its name). New
/// representatives become Workspace Admins like the first ones.
pub async fn edit_info(
    cx: &Context,
    _op: &Operator,
    id: Uuid,
    mcc: &str,
    address: &str,
    representatives: &str,
    actor: Actor,
) -> Result<Workspace, AppError> {
    // Field by field in the form's order, so the first refusal names the first bad field.
    let (mcc, address) = (validate_mcc(mcc)?, validate_address(address)?);
    let info = RegisteredInfo { mcc, address, representatives: parse_representatives(representatives)? };
    let console = cx.config.public_url.trim_end_matches('/').to_string();
    let w = cx
        .store
        .write(move |tx| {
            let mut w = ws::get_workspace(tx, id)?.or_missing(Missing::Workspace)?;
            let changes = info.changes_from(&w.info);
            if changes.is_empty() {
                return Err(AppError::invalid(
                    "Registered information",
                    "is unchanged; edit a field first",
                ));
            }
            let listed = |reps: &[Representative], r: &Representative| reps.iter().any(|o| email_key(&o.email) == email_key(&r.email));
            let added: Vec<Representative> = info.representatives.iter().filter(|r| !listed(&w.info.representatives, r)).cloned().collect();
            let removed: Vec<Representative> = w.info.representatives.iter().filter(|o| !listed(&info.representatives, o)).cloned().collect();
            w.info = info;
            ws::update_workspace(tx, &w)?;
            for rep in &added {
                admit_representative(tx, &console, &w, rep, false)?;
            }
            // A representative taken off the list must not be admitted later by the admission
            // that was waiting for them (a membership they already have stays, for the admins
            // to manage on the Members page).
            for rep in &removed {
                if admissions::revoke_admission(tx, w.id, &rep.email)? {
                    audit::record(tx, &actor, Some((w.id, &w.name)), AuditAction::MemberAdmissionRevoked, &email_key(&rep.email), "no longer a representative")?;
                }
            }
            audit::record(
                tx,
                &actor,
                Some((w.id, &w.name)),
                AuditAction::WorkspaceInfoEdited,
                &w.name,
                &changes.join("; "),
            )?;
            Ok(w)
        })
        .await?;
    Ok(w)
}

pub async fn set_status(
    cx: &Context,
    _op: &Operator,
    id: Uuid,
    suspend: bool,
    reason: &str,
    actor: Actor,
) -> Result<Workspace, AppError> {
    let reason = validate_reason("Reason", reason)?;
    let w = cx
        .store
        .write(move |tx| {
            let mut w = ws::get_workspace(tx, id)?.or_missing(Missing::Workspace)?;
            let (target, action) = if suspend {
                (WorkspaceStatus::Suspended, AuditAction::WorkspaceSuspended)
            } else {
                (WorkspaceStatus::Active, AuditAction::WorkspaceReactivated)
            };
            if w.status == target {
                return Err(AppError::conflict(
                    "Status",
                    format!("the workspace is already {}", target.label()),
                ));
            }
            w.status = target;
            w.status_reason = Some(reason.clone());
            ws::update_workspace(tx, &w)?;
            audit::record(
                tx,
                &actor,
                Some((w.id, &w.name)),
                action,
                &w.name,
                &format!("reason: {reason}"),
            )?;
            if !suspend {
                // Admissions that waited only because the workspace was suspended happen now.
                for (email, role, _) in admissions::pending_admissions_of(tx, w.id)? {
                    if admissions::admit(tx, w.id, &email, role)?.is_some() {
                        admissions::revoke_admission(tx, w.id, &email)?;
                        audit::record(tx, &actor, Some((w.id, &w.name)), AuditAction::MemberAdmitted, &email, &format!("as {} on reactivation", role.label()))?;
                    }
                }
            }
            Ok(w)
        })
        .await?;
    Ok(w)
}

/// The General page's view of a member's workspace.
pub fn general(member: &Authorized<act::ViewGeneral>) -> (WorkspaceView, Role) {
    (member.workspace().view(), member.membership().role)
}

/// A page of the workspace's audit log, filtered by action and searched by `q`.
pub async fn audit_log(
    cx: &Context,
    m: &Authorized<act::ViewAudit>,
    action: String,
    q: String,
    at: Position,
) -> Result<crate::model::page::Page<crate::model::workspace::AuditEventView>, AppError> {
    let id = m.workspace().id;
    let window = Window::at(audit::LIST, &at, PER_PAGE)?;
    cx.store.read(move |tx| audit::list(tx, Some(id), &action, &q, &window).map(|l| l.page)).await
}

/// A workspace's home: what any member sees, with the member counts for those who manage
/// members and the pending applications for those who decide them.
pub async fn workspace_home(cx: &Context, m: &Authorized<act::ViewWorkspace>) -> Result<WorkspaceHomeView, AppError> {
    let members = match m.also(act::ViewMembers) {
        Ok(admin) => Some(super::members::counts(cx, &admin).await?),
        Err(_) => None,
    };
    let (assignment, needs_you) = {
        let (id, me, role) = (m.workspace().id, m.who().account().id, m.membership().role);
        cx.store
            .read(move |tx| Ok((crate::server::store::minis::assignment_text(tx, id, me)?, super::overview::needs_you(tx, id, role, me)?)))
            .await?
    };
    let pending_approvals = match m.also(act::ViewApprovals) {
        Ok(approver) => Some(super::approvals::pending_count(cx, &approver).await?),
        Err(_) => None,
    };
    Ok(WorkspaceHomeView {
        pending_approvals,
        name: m.workspace().name.clone(),
        status: m.workspace().status,
        role: m.membership().role,
        assignment,
        joined: m.membership().joined,
        members,
        needs_you,
    })
}

/// The signed-in person's home: their workspaces, applications and waiting invitations.
pub async fn home_summary(cx: &Context, who: &SignedIn) -> Result<HomeSummary, AppError> {
    let (id, email, verified) = (who.account().id, who.account().email.clone(), who.account().email_verified);
    let now = cx.clock.now();
    cx.store
        .read(move |tx| {
            // An unproven address shows no invitations: they could not be accepted anyway.
            let invitations = if verified {
                crate::server::store::invitations::pending_for_email(tx, &email, now)?
                    .into_iter()
                    .map(|i| MyInvitation {
                        workspace: i.workspace_name,
                        role: i.role,
                        inviter: i.inviter,
                        expires: i.expires,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(HomeSummary {
                workspaces: ws::workspaces_of(tx, id)?,
                applications: workspace_applications::applications_of(tx, id)?
                    .iter()
                    .map(|a| a.view())
                    .collect(),
                invitations,
            })
        })
        .await
}

/// The signed-in person's workspace applications, newest first.
pub async fn my_applications(cx: &Context, who: &SignedIn) -> Result<Vec<ApplicationView>, AppError> {
    let id = who.account().id;
    let apps = cx
        .store
        .read(move |tx| workspace_applications::applications_of(tx, id))
        .await?;
    Ok(apps.iter().map(|a| a.view()).collect())
}

/// The workspaces the signed-in person belongs to.
pub async fn my_workspaces(cx: &Context, who: &SignedIn) -> Result<Vec<MyWorkspace>, AppError> {
    let id = who.account().id;
    cx.store.read(move |tx| ws::workspaces_of(tx, id)).await
}

/// One application in full: for the operator, or for its applicant; anyone else is told there is
/// no such application.
pub async fn application(cx: &Context, who: &SignedIn, id: Uuid) -> Result<ApplicationView, AppError> {
    let a = cx
        .store
        .read(move |tx| workspace_applications::get_application(tx, id))
        .await?;
    match a {
        Some(a) if who.account().is_operator || a.applicant == who.account().id => Ok(a.view()),
        _ => Err(Missing::Application.into()),
    }
}

/// The operator's queue of workspace applications: filtered by status ("" for all), searched by
/// name.
pub async fn applications(
    cx: &Context,
    _op: &Operator,
    status: &str,
    q: String,
    at: Position,
) -> Result<crate::model::page::Page<ApplicationView>, AppError> {
    let status = <ApplicationStatus as crate::model::page::FilterWord>::parse_filter(status)?;
    let window = Window::at(workspace_applications::APPLICATION_LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| workspace_applications::list_applications(tx, status, &q, &window).map(|l| l.page))
        .await
}

/// Every workspace, for the operator, searched by name.
pub async fn workspaces(
    cx: &Context,
    _op: &Operator,
    q: String,
    at: Position,
) -> Result<crate::model::page::Page<WorkspaceView>, AppError> {
    let window = Window::at(ws::WORKSPACE_LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| ws::list_workspaces(tx, &q, &window).map(|l| l.page))
        .await
}

/// One workspace, for the operator.
pub async fn workspace(cx: &Context, _op: &Operator, id: Uuid) -> Result<WorkspaceView, AppError> {
    cx.store
        .read(move |tx| ws::get_workspace(tx, id))
        .await?
        .map(|w| w.view())
        .or_missing(Missing::Workspace)
}

/// The Workspace Admins' change requests, for the operator, newest first.
pub async fn change_requests(
    cx: &Context,
    _op: &Operator,
    at: Position,
) -> Result<crate::model::page::Page<ChangeRequestView>, AppError> {
    let window = Window::at(change_requests::CHANGE_REQUEST_LIST, &at, PER_PAGE)?;
    cx.store
        .read(move |tx| change_requests::list_change_requests(tx, &window).map(|l| l.page))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::accounts::{signed_in, unverified_account, verified_account};
    use crate::server::store::Store;
    use crate::server::Config;

    async fn person(state: &Context, name: &str) -> SignedIn {
        signed_in(state, &verified_account(state, name).await)
    }

    fn form(name: &str, reps: &str) -> ApplicationForm {
        ApplicationForm {
            name: name.into(),
            mcc: "5812".into(),
            address: "1 Harbour Road".into(),
            representatives: representative_lines(reps).unwrap(),
        }
    }

    fn nobody() -> Actor {
        Actor::named("test")
    }

    #[tokio::test]
    async fn an_application_is_read_by_its_applicant_and_the_operator_only() {
        let state = Context::new(Store::memory(), Config::default());
        let ann = person(&state, "ann").await;
        let bob = person(&state, "bob").await;
        let op = person(&state, "operator").await;
        let mut account = op.account().clone();
        account.is_operator = true;
        let op = Operator::for_tests(SignedIn::for_tests(account, op.session().clone()));
        let app = apply(&state, &ann, form("Acme", "Ann <ann@example.com>"), nobody()).await.unwrap();

        assert_eq!(application(&state, &ann, app.id).await.unwrap().id, app.id);
        assert_eq!(application(&state, op.signed_in(), app.id).await.unwrap().id, app.id);
        assert_eq!(application(&state, &bob, app.id).await.unwrap_err().status(), 404);

        let queue = applications(&state, &op, "pending", String::new(), Default::default()).await.unwrap();
        assert_eq!(queue.items.len(), 1);
        let e = applications(&state, &op, "lost", String::new(), Default::default()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (422, Some("Status")));

        assert_eq!(my_applications(&state, &ann).await.unwrap().len(), 1);
        assert!(my_applications(&state, &bob).await.unwrap().is_empty());
        let home = home_summary(&state, &ann).await.unwrap();
        assert_eq!((home.applications.len(), home.workspaces.len()), (1, 0));
    }

    #[tokio::test]
    async fn generate_makes_representatives_admins_and_queues_their_mail() {
        let state = Context::new(Store::memory(), Config::default());
        let ann = person(&state, "ann").await;
        let op = person(&state, "operator").await;
        let mut account = op.account().clone();
        account.is_operator = true;
        let op = Operator::for_tests(SignedIn::for_tests(account, op.session().clone()));
        let app = apply(
            &state,
            &ann,
            form("Acme", "Ann <ann@example.com>\nZed <zed@example.com>"),
            nobody(),
        )
        .await
        .unwrap();

        let e = apply(
            &state,
            &ann,
            form("ACME", "Ann <ann@example.com>"),
            nobody(),
        )
        .await
        .unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace Name")));

        let w = generate(&state, &op, app.id, nobody()).await.unwrap();
        assert_eq!(w.status, WorkspaceStatus::Active);
        let again = generate(&state, &op, app.id, nobody()).await.unwrap_err();
        assert_eq!(again.status(), 409);
        assert_eq!(
            reject(&state, &op, app.id, "late", nobody())
                .await
                .unwrap_err()
                .status(),
            409
        );

        let mine = state
            .store
            .read(move |tx| ws::workspaces_of(tx, ann.account().id))
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].role, Role::WorkspaceAdmin);

        // zed has no account yet: admitted once the address is verified.
        let zed = person(&state, "zed").await;
        let theirs = state
            .store
            .read(move |tx| ws::workspaces_of(tx, zed.account().id))
            .await
            .unwrap();
        assert_eq!(
            theirs.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(),
            vec!["Acme"]
        );

        let mail = state
            .store
            .read(|tx| outbox::list(tx, None, "is ready", &Window::first(outbox::LIST, 10)))
            .await
            .unwrap();
        assert_eq!(mail.total, 2);
        assert!(mail
            .items
            .iter()
            .any(|m| m.to == vec!["zed@example.com".to_string()] && m.body.contains("/sign-up")));
        assert!(mail
            .items
            .iter()
            .all(|m| m.body.contains(&w.id.to_string())));
    }

    #[tokio::test]
    async fn a_suspended_workspace_admits_nobody_until_it_is_reactivated() {
        let state = Context::new(Store::memory(), Config::default());
        let ann = person(&state, "ann").await;
        let op = Operator::for_tests(person(&state, "operator").await);
        let app = apply(&state, &ann, form("Acme", "Ann <ann@example.com>\nZed <zed@example.com>"), nobody())
            .await
            .unwrap();
        let w = generate(&state, &op, app.id, nobody()).await.unwrap();
        set_status(&state, &op, w.id, true, "unpaid invoice", nobody()).await.unwrap();
        // zed proves the address while the workspace is suspended: not admitted yet.
        let zed = person(&state, "zed").await;
        let zid = zed.account().id;
        let wid = w.id;
        assert!(state.store.read(move |tx| crate::server::store::members::membership(tx, wid, zid)).await.unwrap().is_none());
        set_status(&state, &op, w.id, false, "paid", nobody()).await.unwrap();
        let m = state.store.read(move |tx| crate::server::store::members::membership(tx, wid, zid)).await.unwrap();
        assert_eq!(m.map(|m| m.role), Some(Role::WorkspaceAdmin));
        assert!(state.store.read(move |tx| admissions::pending_admissions(tx, wid)).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn applying_needs_a_verified_address_and_another_account_s_pending_name_looks_free() {
        let state = Context::new(Store::memory(), Config::default());
        let pending = |state: &Context| {
            let state = state.clone();
            async move {
                state
                    .store
                    .read(|tx| workspace_applications::list_applications(tx, Some(ApplicationStatus::Pending), "", &Window::first(workspace_applications::APPLICATION_LIST, 10)))
                    .await
                    .unwrap()
                    .total
            }
        };
        // Unverified: refused, nothing stored.
        let cat = signed_in(&state, &unverified_account(&state, "cat").await);
        let e = apply(&state, &cat, form("Acme", "Cat <cat@example.com>"), nobody()).await.unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(e.to_string().contains("Verify your email address cat@example.com"), "{e}");
        assert_eq!(pending(&state).await, 0);

        // Ann's pending "Acme" does not keep bob from asking for it: his answer is a free name's.
        let ann = person(&state, "ann").await;
        let bob = person(&state, "bob").await;
        let op = Operator::for_tests(person(&state, "operator").await);
        let a = apply(&state, &ann, form("Acme", "Ann <ann@example.com>"), nobody()).await.unwrap();
        let b = apply(&state, &bob, form("ACME", "Bob <bob@example.com>"), nobody()).await.unwrap();
        assert_eq!(pending(&state).await, 2);
        // The operator generates one; the other can no longer be, and stays as it was.
        generate(&state, &op, a.id, nobody()).await.unwrap();
        let e = generate(&state, &op, b.id, nobody()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace Name")));
        assert_eq!(pending(&state).await, 1);
        // Now that a workspace has the name, it is refused to everyone.
        let cy = person(&state, "cyd").await;
        let e = apply(&state, &cy, form("acme", "Cyd <cyd@example.com>"), nobody()).await.unwrap_err();
        assert_eq!((e.status(), e.field()), (409, Some("Workspace Name")));
        assert!(e.to_string().contains("is already the name of a workspace"), "{e}");
        reject(&state, &op, b.id, "The name went to another applicant", nobody()).await.unwrap();
        assert_eq!(pending(&state).await, 0);
    }

    #[tokio::test]
    async fn reject_needs_a_reason_and_withdraw_only_while_pending() {
        let state = Context::new(Store::memory(), Config::default());
        let ann = person(&state, "ann").await;
        let op = Operator::for_tests(person(&state, "operator").await);
        let acme = || form("Acme", "Ann <ann@example.com>");
        let a = apply(&state, &ann, acme(), nobody()).await.unwrap();
        let e = reject(&state, &op, a.id, "  ", nobody()).await.unwrap_err();
        assert_eq!(e.field(), Some("Reason"));
        reject(&state, &op, a.id, "Incomplete address", nobody()).await.unwrap();
        let e = withdraw(&state, &ann, a.id, nobody()).await.unwrap_err();
        assert_eq!(e.status(), 409);
        let b = apply(&state, &ann, acme(), nobody()).await.unwrap();
        let bob = person(&state, "bob").await;
        let e = withdraw(&state, &bob, b.id, nobody()).await.unwrap_err();
        assert_eq!(e.status(), 404, "not bob's");
        withdraw(&state, &ann, b.id, nobody()).await.unwrap();
        let events = state
            .store
            .read(|tx| audit::list(tx, None, "", "", &Window::first(audit::LIST, 50)))
            .await
            .unwrap();
        let actions: Vec<_> = events.items.iter().map(|e| e.action.as_str()).collect();
        assert!(actions.contains(&"workspace_application.rejected"));
        assert!(actions.contains(&"workspace_application.withdrawn"));
        // Applying and withdrawing in a loop keeps only the newest withdrawn applications.
        for _ in 0..workspace_applications::KEPT_WITHDRAWN + 2 {
            let c = apply(&state, &ann, acme(), nobody()).await.unwrap();
            withdraw(&state, &ann, c.id, nobody()).await.unwrap();
        }
        let mine = my_applications(&state, &ann).await.unwrap();
        let withdrawn = mine.iter().filter(|a| a.status == ApplicationStatus::Withdrawn).count();
        assert_eq!((mine.len(), withdrawn), (workspace_applications::KEPT_WITHDRAWN + 1, workspace_applications::KEPT_WITHDRAWN));
        assert!(mine.iter().any(|x| x.id == a.id), "the rejected one is kept");
        assert!(!mine.iter().any(|x| x.id == b.id), "the oldest withdrawn one went");
    }
}
