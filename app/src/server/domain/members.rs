//! Members: invitations (one or many), roles, block / unblock, removal and leaving.

use redb::ReadableTable;
use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::account::{email_key, validate_new_email};
use crate::model::workspace::{InviteRow, Role, INVITATION_DAYS, INVITE_BULK_MAX};
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Action, Authorized, SignedIn};
use crate::server::policy::{allows, WorkspaceAction};
use crate::server::store::audit::{self, Actor};
use crate::server::store::invitations::{self as inv, Invitation, InvitationState};
use crate::server::store::members::Membership;
use crate::server::store::workspaces as ws;
use crate::server::store::{accounts, admissions, members, outbox};
use crate::server::Context;
use crate::server::store::listing::Window;

const LAST_ADMIN: &str = "is the last active Workspace Admin of this workspace; make another member Workspace Admin first";

fn invitation_email(
    console: &str,
    workspace: &str,
    inviter: &str,
    role: Role,
    token: &str,
) -> (String, String) {
    (
        format!("You are invited to the MPDP workspace {workspace}"),
        format!(
            "Hello,\n\n{inviter} invited you to join the workspace {workspace} on MPDP as {}.\n\n\
             Accept the invitation: {console}/invitations/{token}\n\n\
             If you have no MPDP account yet, the link lets you sign up with this email address.\n\
             The invitation expires in {INVITATION_DAYS} days.\n",
            role.label()
        ),
    )
}

/// Splits a pasted list or CSV into addresses: one per line, or comma / semicolon separated; a
/// header row naming an "email" column is skipped. Refuses malformed CSV and more than 500.
pub fn parse_address_list(text: &str) -> Result<Vec<String>, AppError> {
    const FIELD: &str = "Email addresses";
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::invalid(
                FIELD,
                format!("the CSV could not be read at row {}: {e}", i + 1),
            )
        })?;
        // Split "a@x.com; b@x.com" cells too.
        let cells: Vec<String> = record
            .iter()
            .flat_map(|f| f.split(';'))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if i == 0
            && cells
                .iter()
                .any(|c| c.eq_ignore_ascii_case("email") || c.eq_ignore_ascii_case("e-mail"))
        {
            continue; // a header row
        }
        // In a row of several columns (email, name, …) the addresses are the cells with an @.
        if cells.len() > 1 && cells.iter().any(|c| c.contains('@')) {
            out.extend(cells.into_iter().filter(|c| c.contains('@')));
        } else {
            out.extend(cells);
        }
    }
    if out.is_empty() {
        return Err(AppError::invalid(FIELD, "list at least one email address"));
    }
    if out.len() > INVITE_BULK_MAX {
        return Err(AppError::invalid(
            FIELD,
            format!(
                "at most {INVITE_BULK_MAX} addresses at once (this list has {})",
                out.len()
            ),
        ));
    }
    Ok(out)
}

/// Invites every address; each gets its own result. One transaction; mail only for the invited.
pub async fn invite(
    cx: &Context,
    admin: &Authorized<act::InviteMembers>,
    addresses: Vec<String>,
    role: Role,
    actor: Actor,
) -> Result<Vec<InviteRow>, AppError> {
    let (inviter, inviter_id) = (admin.who().account().username.clone(), admin.who().account().id);
    let console = cx.config.public_url.trim_end_matches('/').to_string();
    let mails = cx.mails_per_target.clone();
    let rows = admin
        .write(cx, move |tx, s| {
            let now = crate::server::store::now();
            let mut seen = std::collections::HashSet::new();
            let mut rows = Vec::new();
            for raw in addresses {
                let outcome = match validate_new_email("Email", &raw) {
                    Err(AppError::Invalid { message, .. }) => format!("invalid address: {message}"),
                    Err(e) => return Err(e),
                    Ok(email) => {
                        let key = email_key(&email);
                        let existing = {
                            let t =
                                tx.open_table(crate::server::store::tables::ACCOUNTS_BY_EMAIL)?;
                            let id = t.get(key.as_str())?.map(|v| Uuid::from_u128(v.value()));
                            id
                        };
                        let member = match existing {
                            Some(a) => crate::server::store::members::membership(tx, s.workspace(), a)?.is_some(),
                            None => false,
                        };
                        if !seen.insert(key.clone()) {
                            "duplicate in the list".to_string()
                        } else if member {
                            "already a member".to_string()
                        } else if inv::live_for(tx, s.workspace(), &email, now)?.is_some() {
                            "already invited".to_string()
                        } else if mails.check_mailbox(&email).is_err() {
                            "not sent: this address was mailed too often in the last hour; invite it later".to_string()
                        } else {
                            let (token, hash) = inv::new_token();
                            let invitation = Invitation {
                                workspace: s.workspace(),
                                workspace_name: s.workspace_name().to_string(),
                                email: email.clone(),
                                role,
                                inviter: inviter.clone(),
                                inviter_id: Some(inviter_id),
                                created: now,
                                expires: now + chrono::Duration::days(INVITATION_DAYS),
                                state: InvitationState::Pending,
                            };
                            inv::put(tx, &hash, &invitation)?;
                            let (subject, body) =
                                invitation_email(&console, s.workspace_name(), &inviter, role, &token);
                            outbox::enqueue_with_secret(tx, vec![email.clone()], &subject, &body, Some(&token))?;
                            audit::record(
                                tx,
                                &actor,
                                s.audited(),
                                AuditAction::MemberInvited,
                                &email,
                                &format!("as {}", role.label()),
                            )?;
                            "invited".to_string()
                        }
                    }
                };
                rows.push(InviteRow {
                    email: raw.trim().to_string(),
                    outcome,
                });
            }
            Ok(rows)
        })
        .await?;
    Ok(rows)
}

/// Sends a pending invitation again, with a new link and a new expiry (the old link stops).
pub async fn resend(cx: &Context, admin: &Authorized<act::InviteMembers>, email: &str, actor: Actor) -> Result<(), AppError> {
    let inviter = admin.who().account().username.clone();
    let console = cx.config.public_url.trim_end_matches('/').to_string();
    let mails = cx.mails_per_target.clone();
    let email = email.to_string();
    admin
        .write(cx, move |tx, s| {
            let now = crate::server::store::now();
            let (_, mut invitation) = inv::pending_for(tx, s.workspace(), &email)?.ok_or_else(|| no_invitation(&email))?;
            mails.check_mailbox(&invitation.email)?;
            let (token, new_hash) = inv::new_token();
            invitation.created = now;
            invitation.expires = now + chrono::Duration::days(INVITATION_DAYS);
            inv::put(tx, &new_hash, &invitation)?;
            let (subject, body) = invitation_email(&console, s.workspace_name(), &inviter, invitation.role, &token);
            outbox::enqueue_with_secret(tx, vec![invitation.email.clone()], &subject, &body, Some(&token))?;
            audit::record(tx, &actor, s.audited(), AuditAction::MemberInvitationResent, &invitation.email, "")?;
            Ok(())
        })
        .await
}

fn no_invitation(email: &str) -> AppError {
    AppError::NotFound(format!("There is no pending invitation for {email}."))
}

pub async fn revoke(cx: &Context, admin: &Authorized<act::InviteMembers>, email: &str, actor: Actor) -> Result<(), AppError> {
    let email = email.to_string();
    admin
        .write(cx, move |tx, s| {
            let now = crate::server::store::now();
            let (hash, mut invitation) = inv::live_for(tx, s.workspace(), &email, now)?.ok_or_else(|| no_invitation(&email))?;
            invitation.state = InvitationState::Revoked;
            inv::update(tx, &hash, &invitation)?;
            audit::record(tx, &actor, s.audited(), AuditAction::MemberInvitationRevoked, &invitation.email, "")?;
            Ok(())
        })
        .await
}

/// Accepts an invitation in the caller's transaction: the account's email must match.
pub fn accept_in(
    tx: &redb::WriteTransaction,
    token: &str,
    account: &accounts::Account,
    actor: &Actor,
) -> Result<String, AppError> {
    let hash = inv::hash_token(token);
    let mut invitation = inv::by_token(tx, token)?.or_missing(Missing::Invitation)?;
    match invitation.state {
        InvitationState::Accepted => {
            return Err(AppError::conflict("Invitation", "has already been used"))
        }
        InvitationState::Revoked => {
            return Err(AppError::conflict(
                "Invitation",
                "has been withdrawn by the workspace; ask for a new one",
            ))
        }
        InvitationState::Pending if invitation.expired(crate::server::store::now()) => {
            return Err(AppError::conflict(
                "Invitation",
                "has expired; ask a Workspace Admin to send it again",
            ))
        }
        InvitationState::Pending => {}
    }
    if email_key(&invitation.email) != email_key(&account.email) {
        return Err(AppError::Forbidden(format!(
            "This invitation is for {}, but you are signed in as {}. Log in with that address, or sign up with it.",
            invitation.email, account.email
        )));
    }
    if !account.email_verified {
        return Err(AppError::Forbidden(format!(
            "Verify your email address {} first: open the link we sent you (you can ask for a new one on your account page), then accept the invitation.",
            account.email
        )));
    }
    let workspace = ws::get_workspace(tx, invitation.workspace)?
        .ok_or_else(|| AppError::NotFound("The workspace no longer exists.".into()))?;
    if workspace.status == crate::model::workspace::WorkspaceStatus::Suspended {
        return Err(AppError::Forbidden(format!(
            "The workspace {} is suspended: nobody can join it until the platform operator reactivates it.",
            workspace.name
        )));
    }
    if !inviter_may_still_invite(tx, &invitation)? {
        return Err(AppError::conflict(
            "Invitation",
            "was sent by someone who may no longer invite members to this workspace; ask a Workspace Admin to invite you again",
        ));
    }
    if crate::server::store::members::membership(tx, workspace.id, account.id)?.is_none() {
        crate::server::store::members::put_membership(
            tx,
            &Membership {
                workspace: workspace.id,
                account: account.id,
                role: invitation.role,
                active: true,
                joined: crate::server::store::now(),
            },
        )?;
    }
    invitation.state = InvitationState::Accepted;
    inv::update(tx, &hash, &invitation)?;
    audit::record(
        tx,
        actor,
        Some((workspace.id, &workspace.name)),
        AuditAction::MemberJoined,
        &account.email,
        &format!("as {} by invitation", invitation.role.label()),
    )?;
    Ok(workspace.name)
}

/// Whether the account that sent `invitation` is still an active member whose role may invite:
/// an invitation speaks for its sender, so a demoted, blocked or departed sender's invitation
/// lets nobody in, even one that was somehow not revoked with the change.
fn inviter_may_still_invite(tx: &redb::WriteTransaction, invitation: &Invitation) -> Result<bool, AppError> {
    let inviter = match invitation.inviter_id {
        Some(id) => Some(id),
        // Invitations written before the sender's id was kept name the sender by username.
        None => tx
            .open_table(crate::server::store::tables::ACCOUNTS_BY_USERNAME)?
            .get(crate::model::account::username_key(&invitation.inviter).as_str())?
            .map(|v| Uuid::from_u128(v.value())),
    };
    let Some(inviter) = inviter else { return Ok(false) };
    Ok(crate::server::store::members::membership(tx, invitation.workspace, inviter)?
        .is_some_and(|m| m.active && allows(m.role, WorkspaceAction::InviteMembers)))
}

pub async fn accept(
    cx: &Context,
    who: &SignedIn,
    token: String,
    actor: Actor,
) -> Result<String, AppError> {
    let account = who.account().clone();
    cx
        .store
        .write(move |tx| accept_in(tx, &token, &account, &actor))
        .await
}

/// Revokes the invitations `member` sent, pending in the workspace, since they may no longer
/// invite (`why`); with `to_them`, also the one still pending for their own address (they joined
/// by another way — a request, a group of the single sign-on provider, as a representative), so
/// that once they are removed or leave, its link cannot bring them back without an admin.
fn revoke_invitations(
    tx: &redb::WriteTransaction,
    actor: &Actor,
    workspace: (Uuid, &str),
    member: &accounts::Account,
    why: &str,
    to_them: bool,
) -> Result<(), AppError> {
    let mut revoked = Vec::new();
    for (hash, invitation) in inv::pending_sent_by(tx, workspace.0, member.id, &member.username)? {
        revoked.push((hash, invitation, format!("sent by {}, who {why}", member.username)));
    }
    if to_them {
        if let Some((hash, invitation)) = inv::pending_for(tx, workspace.0, &member.email)? {
            revoked.push((hash, invitation, format!("its addressee {why}")));
        }
    }
    for (hash, mut invitation, details) in revoked {
        invitation.state = InvitationState::Revoked;
        inv::update(tx, &hash, &invitation)?;
        audit::record(tx, actor, Some(workspace), AuditAction::MemberInvitationRevoked, &invitation.email, &details)?;
    }
    Ok(())
}

/// Withdraws an admission still waiting for its address to be verified.
pub async fn revoke_admission(cx: &Context, admin: &Authorized<act::InviteMembers>, email: &str, actor: Actor) -> Result<(), AppError> {
    let email = email.trim().to_string();
    admin
        .write(cx, move |tx, s| {
            if !admissions::revoke_admission(tx, s.workspace(), &email)? {
                return Err(AppError::NotFound(format!("There is no admission waiting for {email}.")));
            }
            audit::record(tx, &actor, s.audited(), AuditAction::MemberAdmissionRevoked, &email_key(&email), "")?;
            Ok(())
        })
        .await
}

/// Loads the target membership, refusing accounts that are not members.
fn target(
    tx: &redb::WriteTransaction,
    workspace: Uuid,
    account: Uuid,
) -> Result<(Membership, accounts::Account), AppError> {
    let m = crate::server::store::members::membership(tx, workspace, account)?.or_missing(Missing::Member)?;
    let a = accounts::get(tx, account)?.or_missing(Missing::Member)?;
    Ok((m, a))
}

/// Refuses a change that would leave the workspace without an active Workspace Admin.
fn keep_an_admin(tx: &redb::WriteTransaction, m: &Membership, a: &accounts::Account, field: &str) -> Result<(), AppError> {
    if is_last_admin(tx, m)? {
        return Err(AppError::conflict(field, format!("{} {LAST_ADMIN}", a.username)));
    }
    Ok(())
}

fn is_last_admin(tx: &redb::WriteTransaction, m: &Membership) -> Result<bool, AppError> {
    Ok(m.active && m.role == Role::WorkspaceAdmin && members::active_admins(tx, m.workspace)? <= 1)
}

/// What a change to another member is given: the write, the workspace (id, name), the target's
/// membership and account.
struct MemberChange<'t> {
    tx: &'t redb::WriteTransaction,
    workspace: (Uuid, &'t str),
    membership: Membership,
    account: accounts::Account,
}

/// Applies one change to another member in one write: the admin's standing re-checked, the
/// target loaded (404 when not a member), then `change`.
async fn change_member<A: Action>(
    cx: &Context,
    admin: &Authorized<A>,
    account: Uuid,
    change: impl FnOnce(MemberChange<'_>) -> Result<(), AppError> + Send + 'static,
) -> Result<(), AppError> {
    admin
        .write(cx, move |tx, s| {
            let (membership, account) = target(tx, s.workspace(), account)?;
            change(MemberChange { tx, workspace: (s.workspace(), s.workspace_name()), membership, account })
        })
        .await
}

pub async fn set_role(cx: &Context, admin: &Authorized<act::ChangeRoles>, account: Uuid, role: Role, actor: Actor) -> Result<(), AppError> {
    change_member(cx, admin, account, move |c| {
        let MemberChange { tx, workspace, membership: mut m, account: a } = c;
        if m.role == role {
            return Err(AppError::conflict("Role", format!("{} is already {}", a.username, role.label())));
        }
        if role != Role::WorkspaceAdmin {
            keep_an_admin(tx, &m, &a, "Role")?;
        }
        let from = m.role;
        m.role = role;
        members::put_membership(tx, &m)?;
        let change = format!("{} → {}", from.label(), role.label());
        audit::record(tx, &actor, Some(workspace), AuditAction::MemberRoleChanged, &a.email, &change)?;
        if allows(from, WorkspaceAction::InviteMembers) && !allows(role, WorkspaceAction::InviteMembers) {
            revoke_invitations(tx, &actor, workspace, &a, &format!("was made {}", role.label()), false)?;
        }
        Ok(())
    })
    .await
}

pub async fn set_blocked(cx: &Context, admin: &Authorized<act::BlockMembers>, account: Uuid, blocked: bool, actor: Actor) -> Result<(), AppError> {
    if blocked && account == admin.who().account().id {
        return Err(AppError::invalid("Member", "you can't block yourself"));
    }
    change_member(cx, admin, account, move |c| {
        let MemberChange { tx, workspace, membership: mut m, account: a } = c;
        if m.active != blocked {
            let now = if blocked { "blocked" } else { "active" };
            return Err(AppError::conflict("Status", format!("{} is already {now}", a.username)));
        }
        if blocked {
            keep_an_admin(tx, &m, &a, "Member")?;
        }
        m.active = !blocked;
        members::put_membership(tx, &m)?;
        let action = if blocked { AuditAction::MemberBlocked } else { AuditAction::MemberUnblocked };
        audit::record(tx, &actor, Some(workspace), action, &a.email, "")?;
        if blocked {
            revoke_invitations(tx, &actor, workspace, &a, "was blocked", false)?;
        }
        Ok(())
    })
    .await
}

pub async fn remove(cx: &Context, admin: &Authorized<act::RemoveMembers>, account: Uuid, actor: Actor) -> Result<(), AppError> {
    if account == admin.who().account().id {
        return Err(AppError::invalid("Member", "to remove yourself, use Leave workspace"));
    }
    change_member(cx, admin, account, move |c| {
        let MemberChange { tx, workspace, membership: m, account: a } = c;
        keep_an_admin(tx, &m, &a, "Member")?;
        members::remove(tx, workspace.0, a.id)?;
        audit::record(tx, &actor, Some(workspace), AuditAction::MemberRemoved, &a.email, &format!("was {}", m.role.label()))?;
        revoke_invitations(tx, &actor, workspace, &a, "was removed", true)?;
        Ok(())
    })
    .await
}

/// The members list: a page of the workspace's members, searched by `q`, filtered by role and
/// status.
#[allow(clippy::too_many_arguments)]
pub async fn list(
    cx: &Context,
    m: &Authorized<act::ViewMembers>,
    q: String,
    role: Option<Role>,
    active: Option<bool>,
    at: Position,
) -> Result<crate::model::page::Page<crate::model::workspace::MemberView>, AppError> {
    let id = m.workspace().id;
    let window = Window::at(members::LIST, &at, crate::model::workspace::PER_PAGE)?;
    cx.store
        .read(move |tx| members::list(tx, id, &q, true, role, active, &window, members::member_view(tx, id)).map(|listed| listed.page))
        .await
}

/// The workspace's pending invitations.
pub async fn invitations(cx: &Context, m: &Authorized<act::ViewMembers>) -> Result<Vec<crate::model::workspace::InvitationView>, AppError> {
    let (id, now) = (m.workspace().id, cx.clock.now());
    cx.store.read(move |tx| inv::pending(tx, id, now)).await
}

/// Admissions waiting for their address to be verified: (address, role, when added).
pub async fn admissions(cx: &Context, m: &Authorized<act::ViewMembers>) -> Result<Vec<crate::model::workspace::AdmissionView>, AppError> {
    let id = m.workspace().id;
    let rows = cx.store.read(move |tx| crate::server::store::admissions::pending_admissions(tx, id)).await?;
    Ok(rows.into_iter().map(|(email, role, added)| crate::model::workspace::AdmissionView { email, role, added }).collect())
}

/// The workspace home's counts: members, blocked members, open invitations, waiting admissions.
pub async fn counts(cx: &Context, m: &Authorized<act::ViewMembers>) -> Result<crate::model::workspace::MemberCounts, AppError> {
    let (id, now) = (m.workspace().id, cx.clock.now());
    cx.store
        .read(move |tx| {
            Ok(crate::model::workspace::MemberCounts {
                members: members::count(tx, id, None, None)?,
                blocked: members::count(tx, id, None, Some(false))?,
                invitations: inv::pending(tx, id, now)?.iter().filter(|i| !i.expired).count() as u64,
                waiting_admissions: crate::server::store::admissions::pending_admissions(tx, id)?.len() as u64,
            })
        })
        .await
}

/// What an invitation link shows: the workspace, the address, the role and whether it can still
/// be accepted. The token is the secret, so no sign-in is needed.
pub async fn invitation_details(cx: &Context, token: String) -> Result<crate::model::workspace::InvitationInfo, AppError> {
    let i = cx
        .store
        .read(move |tx| inv::by_token(tx, &token))
        .await?.or_missing(Missing::Invitation)?;
    let s = match i.state {
        InvitationState::Accepted => "accepted",
        InvitationState::Revoked => "revoked",
        InvitationState::Pending if i.expired(cx.clock.now()) => "expired",
        InvitationState::Pending => "pending",
    };
    Ok(crate::model::workspace::InvitationInfo {
        workspace: i.workspace_name,
        email: i.email,
        role: i.role,
        inviter: i.inviter,
        expires: i.expires,
        state: s.into(),
    })
}

pub async fn leave(cx: &Context, member: &Authorized<act::Leave>, actor: Actor) -> Result<(), AppError> {
    let me = member.who().account().id;
    change_member(cx, member, me, move |c| {
        let MemberChange { tx, workspace, membership: m, account: a } = c;
        if is_last_admin(tx, &m)? {
            let message = format!("you {}", LAST_ADMIN.replacen("is the", "are the", 1));
            return Err(AppError::conflict("Member", message));
        }
        members::remove(tx, workspace.0, me)?;
        audit::record(tx, &actor, Some(workspace), AuditAction::MemberLeft, &a.email, "")?;
        revoke_invitations(tx, &actor, workspace, &a, "left", true)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use super::*;
    use crate::server::store::Store;

    fn account(email: &str) -> accounts::Account {
        accounts::Account {
            id: Uuid::new_v4(),
            email: email.into(),
            username: "someone".into(),
            password_hash: "x".into(),
            is_operator: false,
            created: Utc::now(),
            session_epoch: 0,
            email_verified: true,
            second_factor: None,
            passkeys: 0,
        }
    }

    /// A store holding the workspace Acme.
    async fn acme() -> (Context, crate::server::store::workspaces::Workspace) {
        let cx = Context::new(Store::memory(), crate::server::Config::default());
        let w = crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active);
        let wc = w.clone();
        cx.store.write(move |tx| ws::insert_workspace(tx, &wc)).await.unwrap();
        (cx, w)
    }

    /// Someone invited who joined by another way (a request, a group, as a representative) and is
    /// then removed, or leaves, cannot come back through the invitation still addressed to them.
    #[tokio::test]
    async fn a_member_removed_or_gone_cannot_come_back_by_an_invitation_still_pending() {
        use crate::server::domain::accounts::verified_account;
        use crate::server::guard::{Member, SignedIn};
        let (cx, w) = acme().await;
        let session = || tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(cx.store.clone())), None);
        let join = |account: &accounts::Account, role| {
            let m = Membership { workspace: w.id, account: account.id, role, active: true, joined: Utc::now() };
            let put = m.clone();
            let store = cx.store.clone();
            async move {
                store.write(move |tx| members::put_membership(tx, &put)).await.unwrap();
                m
            }
        };
        let ann = verified_account(&cx, "ann").await;
        let admin = Member::for_tests(SignedIn::for_tests(ann.clone(), session()), w.clone(), join(&ann, Role::WorkspaceAdmin).await);
        for (name, leaves) in [("dev", false), ("eve", true)] {
            let someone = verified_account(&cx, name).await;
            let (token, hash) = inv::new_token();
            let invitation = Invitation {
                workspace: w.id,
                workspace_name: "Acme".into(),
                email: someone.email.clone(),
                role: Role::WorkspaceAdmin,
                inviter: "ann".into(),
                inviter_id: Some(ann.id),
                created: Utc::now(),
                expires: Utc::now() + chrono::Duration::days(7),
                state: InvitationState::Pending,
            };
            cx.store.write(move |tx| inv::put(tx, &hash, &invitation)).await.unwrap();
            let membership = join(&someone, Role::WorkspaceDeveloper).await;
            if leaves {
                let me = Member::for_tests(SignedIn::for_tests(someone.clone(), session()), w.clone(), membership);
                leave(&cx, &Authorized::for_tests(me), Actor::named(name)).await.unwrap();
            } else {
                remove(&cx, &Authorized::for_tests(admin.clone()), someone.id, Actor::named("ann")).await.unwrap();
            }
            let (t, a) = (token.clone(), someone.clone());
            let e = cx.store.write(move |tx| accept_in(tx, &t, &a, &Actor::named("x"))).await.unwrap_err();
            assert_eq!(e.status(), 409, "{name}: {e}");
            let id = someone.id;
            assert!(cx.store.read(move |tx| members::membership(tx, w.id, id)).await.unwrap().is_none(), "{name} stays out");
        }
    }

    /// Invite → revoke → invite, or resend, again and again: each mail counts against the
    /// mailbox's budget, whichever way its address is written.
    #[tokio::test]
    async fn invitations_to_one_mailbox_stop_at_its_mail_budget() {
        use crate::server::domain::accounts::verified_account;
        use crate::server::guard::{Member, SignedIn};
        let (cx, w) = acme().await;
        let ann = verified_account(&cx, "ann").await;
        let m = Membership { workspace: w.id, account: ann.id, role: Role::WorkspaceAdmin, active: true, joined: Utc::now() };
        let put = m.clone();
        cx.store.write(move |tx| members::put_membership(tx, &put)).await.unwrap();
        let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(cx.store.clone())), None);
        let admin = Member::for_tests(SignedIn::for_tests(ann, session), w.clone(), m);
        let acts = Authorized::for_tests(admin.clone());
        let invite_one = |email: &str| invite(&cx, &acts, vec![email.to_string()], Role::WorkspaceDeveloper, Actor::named("ann"));
        let outcome = |rows: Vec<InviteRow>| rows[0].outcome.clone();
        assert_eq!(outcome(invite_one("vic@example.com").await.unwrap()), "invited");
        for _ in 1..crate::server::config::MAILS_PER_TARGET_PER_HOUR {
            resend(&cx, &acts, "vic@example.com", Actor::named("ann")).await.unwrap();
        }
        let e = resend(&cx, &acts, "vic@example.com", Actor::named("ann")).await.unwrap_err();
        assert_eq!(e.status(), 429, "{e}");
        revoke(&cx, &acts, "vic@example.com", Actor::named("ann")).await.unwrap();
        let rows = invite_one("Vic+again@example.com").await.unwrap();
        assert!(outcome(rows).starts_with("not sent: this address was mailed too often"));
        assert_eq!(outcome(invite_one("someone.else@example.com").await.unwrap()), "invited");
        let mails = cx.store.read(|tx| outbox::list(tx, None, "vic", &Window::first(outbox::LIST, 50))).await.unwrap();
        assert_eq!(mails.total, u64::from(crate::server::config::MAILS_PER_TARGET_PER_HOUR));
    }

    #[test]
    fn an_expired_or_foreign_invitation_is_refused_and_changes_nothing() {
        let store = Store::memory();
        let workspace = Uuid::new_v4();
        let (token, hash) = inv::new_token();
        let invitation = Invitation {
            workspace,
            workspace_name: "Acme".into(),
            email: "dev@example.com".into(),
            role: Role::WorkspaceDeveloper,
            inviter: "ann".into(),
            inviter_id: None,
            created: Utc::now() - chrono::Duration::days(8),
            expires: Utc::now() - chrono::Duration::days(1),
            state: InvitationState::Pending,
        };
        store.write_blocking(|tx| inv::put(tx, &hash, &invitation)).unwrap();
        let actor = Actor::named("dev");
        let dev = account("dev@example.com");
        let e = store.write_blocking(|tx| accept_in(tx, &token, &dev, &actor)).unwrap_err();
        assert_eq!(e.status(), 409);
        assert!(e.to_string().contains("expired"), "{e}");
        let other = account("other@example.com");
        let mut fresh = invitation.clone();
        fresh.expires = Utc::now() + chrono::Duration::days(1);
        store.write_blocking(|tx| inv::update(tx, &hash, &fresh)).unwrap();
        assert_eq!(store.write_blocking(|tx| accept_in(tx, &token, &other, &actor)).unwrap_err().status(), 403);
        assert!(store.read_blocking(|tx| crate::server::store::members::membership(tx, workspace, other.id)).unwrap().is_none());
        assert_eq!(store.write_blocking(|tx| accept_in(tx, "not-a-token", &dev, &actor)).unwrap_err().status(), 404);
    }

    #[test]
    fn an_invitation_lets_nobody_in_once_its_sender_may_no_longer_invite() {
        let store = Store::memory();
        let workspace = crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active);
        let w = workspace.id;
        let bob = Uuid::new_v4();
        let membership = |role, active| Membership { workspace: w, account: bob, role, active, joined: Utc::now() };
        store.write_blocking(|tx| ws::insert_workspace(tx, &workspace)).unwrap();
        let (token, hash) = inv::new_token();
        let invitation = Invitation {
            workspace: w,
            workspace_name: "Acme".into(),
            email: "dev@example.com".into(),
            role: Role::WorkspaceDeveloper,
            inviter: "bob".into(),
            inviter_id: Some(bob),
            created: Utc::now(),
            expires: Utc::now() + chrono::Duration::days(1),
            state: InvitationState::Pending,
        };
        store.write_blocking(|tx| inv::put(tx, &hash, &invitation)).unwrap();
        let actor = Actor::named("dev");
        let dev = account("dev@example.com");
        // Bob demoted, blocked, or gone — with his invitation still pending — lets nobody in.
        for sender in [Some(membership(Role::WorkspaceDeveloper, true)), Some(membership(Role::WorkspaceAdmin, false)), None] {
            store
                .write_blocking(|tx| match &sender {
                    Some(m) => crate::server::store::members::put_membership(tx, m),
                    None => members::remove(tx, w, bob),
                })
                .unwrap();
            let e = store.write_blocking(|tx| accept_in(tx, &token, &dev, &actor)).unwrap_err();
            assert_eq!((e.status(), e.field()), (409, Some("Invitation")), "{sender:?}: {e}");
            assert!(e.to_string().contains("may no longer invite"), "{e}");
            assert!(store.read_blocking(|tx| crate::server::store::members::membership(tx, w, dev.id)).unwrap().is_none());
            let still = store.read_blocking(|tx| inv::by_token(tx, &token)).unwrap().unwrap();
            assert_eq!(still.state, InvitationState::Pending, "a refusal changes nothing");
        }
        // Bob an active Workspace Admin again: the invitation works.
        store.write_blocking(|tx| crate::server::store::members::put_membership(tx, &membership(Role::WorkspaceAdmin, true))).unwrap();
        assert_eq!(store.write_blocking(|tx| accept_in(tx, &token, &dev, &actor)).unwrap(), "Acme");
        assert!(store.read_blocking(|tx| crate::server::store::members::membership(tx, w, dev.id)).unwrap().is_some());
    }

    #[test]
    fn address_lists() {
        assert_eq!(
            parse_address_list("a@example.com\nb@example.com, c@example.com; d@example.com")
                .unwrap()
                .len(),
            4
        );
        assert_eq!(
            parse_address_list("email,name\na@example.com,Ann\nb@example.com,Bo").unwrap(),
            vec!["a@example.com", "b@example.com"]
        );
        assert_eq!(
            parse_address_list("bob-at-example.com").unwrap(),
            vec!["bob-at-example.com"],
            "kept, to be reported invalid"
        );
        assert_eq!(
            parse_address_list("  \n").unwrap_err().field(),
            Some("Email addresses")
        );
        let many: String = (0..501).map(|i| format!("u{i}@example.com\n")).collect();
        assert!(parse_address_list(&many)
            .unwrap_err()
            .to_string()
            .contains("at most 500"));
        let ok: String = (0..500).map(|i| format!("u{i}@example.com\n")).collect();
        assert_eq!(parse_address_list(&ok).unwrap().len(), 500);
    }
}
