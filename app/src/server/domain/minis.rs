//! Mini programs: created by a Mini Program Admin (or a Workspace Admin), who becomes its admin;
//! members assigned to it as admin or developer; versions, listed newest first; a Workspace Admin
//! retires a version that was never released.

use uuid::Uuid;

use crate::model::{Missing, OrMissing};
use crate::model::page::Position;
use crate::model::minis::{
    BundleRoom,
    validate_category, validate_description, validate_mini_name, AssignmentView, MiniProgramView, MiniRole, VersionView,
    ICON_MAX_BYTES,
};
use crate::model::page::Page;
use crate::server::store::listing::Window;
use crate::model::workspace::Role;
use crate::model::AppError;
use crate::model::audit::AuditAction;
use crate::server::guard::{act, Authorized, MemberScope as Viewer, MiniNeed, MiniProgramAccess};
use crate::server::store::audit::{self, Actor};
use crate::server::store::minis::{self as store, MiniProgram};
use crate::server::store::{accounts, members};
use crate::server::Context;

/// An icon's sides, in pixels.
const ICON_MIN_PX: usize = 16;
const ICON_MAX_PX: usize = 1024;

/// Checks an icon by its content: PNG, JPEG or WebP, at most 256 KiB, 16–1024 pixels a side.
pub fn check_icon(bytes: &[u8]) -> Result<(), AppError> {
    const FIELD: &str = "Icon";
    if bytes.len() > ICON_MAX_BYTES {
        return Err(AppError::invalid(FIELD, format!("must be at most {} KiB (this one is {} KiB)", ICON_MAX_BYTES / 1024, bytes.len().div_ceil(1024))));
    }
    let kind = imagesize::image_type(bytes).map_err(|_| AppError::invalid(FIELD, "must be a PNG, JPEG or WebP image (this file is not an image)"))?;
    if !matches!(kind, imagesize::ImageType::Png | imagesize::ImageType::Jpeg | imagesize::ImageType::Webp) {
        return Err(AppError::invalid(FIELD, "must be a PNG, JPEG or WebP image"));
    }
    let size = imagesize::blob_size(bytes).map_err(|_| AppError::invalid(FIELD, "could not be read as an image"))?;
    if size.width < ICON_MIN_PX || size.height < ICON_MIN_PX || size.width > ICON_MAX_PX || size.height > ICON_MAX_PX {
        return Err(AppError::invalid(
            FIELD,
            format!("must be {ICON_MIN_PX}–{ICON_MAX_PX} pixels on each side (this one is {}×{})", size.width, size.height),
        ));
    }
    Ok(())
}

/// What the "Create mini program" form sends.
pub struct MiniForm {
    pub name: String,
    pub description: String,
    pub category: String,
}

/// Whether `m` may see mini program `mp`: Workspace Developers only those assigned to them.
fn may_see(tx: &redb::ReadTransaction, m: &Viewer, mp: Uuid) -> Result<bool, AppError> {
    Ok(crate::server::policy::mini_allows(m.role(), store::role(tx, mp, m.account())?, MiniNeed::See))
}

/// Mini program `id` of `m`'s workspace, if `m` may see it (else not found, saying nothing more).
pub(crate) fn visible(tx: &redb::ReadTransaction, m: &Viewer, id: Uuid) -> Result<MiniProgram, AppError> {
    Ok(MiniProgramAccess::check(tx, m, id, MiniNeed::See)?.into_mini_program())
}

/// A mini program's view for `m`.
fn view_of(tx: &redb::ReadTransaction, m: &Viewer, mp: MiniProgram) -> Result<MiniProgramView, AppError> {
    let my_role = store::role(tx, mp.id, m.account())?;
    let admin = m.role() == Role::WorkspaceAdmin;
    let mut members = Vec::new();
    for (account, role) in store::members(tx, mp.id)? {
        if let Some(a) = accounts::get(tx, account)? {
            members.push(AssignmentView { account, username: a.username, email: a.email, role });
        }
    }
    members.sort_by(|a, b| a.username.to_lowercase().cmp(&b.username.to_lowercase()));
    let latest = store::versions(tx, mp.id)?.first().map(|v| v.version.clone());
    Ok(MiniProgramView {
        id: mp.id,
        name: mp.name,
        description: mp.description,
        category: mp.category,
        has_icon: mp.has_icon,
        removed: mp.removed,
        created: mp.created,
        created_by: mp.created_by,
        my_role,
        can_manage: admin || my_role == Some(MiniRole::Admin),
        can_upload: admin || my_role.is_some(),
        members,
        latest,
        can_retire: admin,
        server: String::new(),
        bundles: None,
    })
}

/// Creates a mini program; its creator becomes its admin. Audited.
pub async fn create(cx: &Context, m: &Authorized<act::CreateMiniPrograms>, form: MiniForm, icon: Option<Vec<u8>>, actor: Actor) -> Result<Uuid, AppError> {
    let name = validate_mini_name(&form.name)?;
    let description = validate_description(&form.description)?;
    let category = validate_category(&form.category)?;
    if let Some(bytes) = &icon {
        check_icon(bytes)?;
    }
    let me = m.who().account().id;
    let mp = MiniProgram {
        id: Uuid::now_v7(),
        workspace: m.workspace().id,
        name,
        description,
        category,
        has_icon: icon.is_some(),
        removed: false,
        created: cx.clock.now(),
        created_by: m.who().account().username.clone(),
        features: Vec::new(),
    };
    m
        .write(cx, move |tx, s| {
            if store::names_taken(tx, s.workspace(), &mp.name)? {
                return Err(AppError::conflict("Mini Program Name", "is already the name of a mini program in this workspace"));
            }
            store::put(tx, &mp)?;
            if let Some(bytes) = &icon {
                store::put_icon(tx, mp.id, bytes)?;
            }
            store::assign(tx, s.workspace(), mp.id, me, MiniRole::Admin)?;
            audit::record(tx, &actor, s.audited(), AuditAction::MiniProgramCreated, &mp.name, &format!("category {}", mp.category))?;
            Ok(mp.id)
        })
        .await
}

/// The mini programs `m` may see, by name.
pub async fn list(cx: &Context, m: &Authorized<act::ViewMiniPrograms>) -> Result<Vec<MiniProgramView>, AppError> {
    let m = m.scope();
    cx
        .store
        .read(move |tx| {
            let mut out = Vec::new();
            for mp in store::of_workspace(tx, m.workspace())? {
                if may_see(tx, &m, mp.id)? {
                    out.push(view_of(tx, &m, mp)?);
                }
            }
            Ok(out)
        })
        .await
}

/// One mini program, if `m` may see it.
pub async fn get(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, id: Uuid) -> Result<MiniProgramView, AppError> {
    let m = m.scope();
    let server = cx.config.public_url.trim_end_matches('/').to_string();
    let quota = cx.config.workspace_bundle_bytes;
    let mut view = cx
        .store
        .read(move |tx| {
            let mp = visible(tx, &m, id)?;
            let held = store::bundle_bytes(tx, mp.workspace)?;
            Ok(MiniProgramView { bundles: Some(BundleRoom { held, quota }), ..view_of(tx, &m, mp)? })
        })
        .await?;
    view.server = server;
    Ok(view)
}

/// A page of a mini program's versions, newest first.
pub async fn versions(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, id: Uuid, at: Position) -> Result<Page<VersionView>, AppError> {
    let m = m.scope();
    let window = Window::at(store::VERSION_LIST, &at, crate::model::page::PER_PAGE)?;
    cx
        .store
        .read(move |tx| {
            visible(tx, &m, id)?;
            let mut page = store::versions_page(tx, id, &window)?.page;
            let releases = crate::server::store::releases::of_mini_program(tx, id)?;
            let apps = crate::server::store::apps::apps_of(tx, m.workspace())?;
            let name = |app: Uuid| apps.iter().find(|a| a.id == app).map_or_else(|| "an App".to_string(), |a| a.name.clone());
            for v in &mut page.items {
                for r in &releases {
                    if r.stable.as_ref().is_some_and(|s| s.version == v.version) {
                        v.released_to.push(format!("{} (stable)", name(r.app)));
                    }
                    if let Some(c) = r.candidate.as_ref().filter(|c| c.shipped.version == v.version) {
                        let state = if c.paused.is_some() { ", paused" } else { "" };
                        v.released_to.push(format!("{} (candidate, {}{state})", name(r.app), crate::model::approvals::rollout_label(c.rollout)));
                    }
                }
            }
            Ok(page)
        })
        .await
}

/// Retires a version of a mini program that was uploaded and never released (Uploaded, or
/// Rejected in review): it leaves every version list and no longer counts for "higher than every
/// earlier version", so a lower one can be uploaded; its record, its bundle and the audit log
/// keep it, and its number is not used again. Checked and done in one transaction, audited.
pub async fn retire_version(cx: &Context, admin: &Authorized<act::RetireVersions>, mp: Uuid, version: String, actor: Actor) -> Result<(), AppError> {
    admin
        .write(cx, move |tx, s| {
            let p = store::get(tx, s.workspace(), mp)?.or_missing(Missing::MiniProgram)?;
            let text = version.trim();
            let mut v = store::version(tx, mp, text)?
                .ok_or_else(|| AppError::NotFound(format!("{} has no version {text}.", p.name)))?;
            if v.is_retired() {
                return Err(AppError::conflict("Version", format!("{text} is already retired")));
            }
            if !v.state.retirable() {
                return Err(AppError::conflict(
                    "Version",
                    format!("{text} is {}; only a version that was never released — Uploaded or Rejected — can be retired", v.state.label()),
                ));
            }
            let was = v.state;
            v.state = crate::model::minis::VersionState::Retired;
            store::put_version(tx, &v)?;
            audit::record(
                tx,
                &actor,
                s.audited(),
                AuditAction::MiniProgramVersionRetired,
                &p.name,
                &format!("{} ({} bytes, sha256 {}) was {}; uploaded by {}", v.version, v.size, v.sha256, was.label(), v.uploader),
            )?;
            Ok(())
        })
        .await
}

/// The icon of a mini program `m` may see.
pub async fn icon(cx: &Context, m: &Authorized<act::ViewMiniPrograms>, id: Uuid) -> Result<Vec<u8>, AppError> {
    let m = m.scope();
    cx
        .store
        .read(move |tx| {
            visible(tx, &m, id)?;
            store::icon(tx, id)?.ok_or_else(|| AppError::NotFound("This mini program has no icon.".into()))
        })
        .await
}

/// Runs `change` on mini program `mp` in one write, once the member's standing is re-checked
/// and they manage it (its admin, or a Workspace Admin) — the mini-program-scoped guard.
async fn manage<T: Send + 'static>(
    cx: &Context,
    m: &Authorized<act::AssignMiniPrograms>,
    mp: Uuid,
    change: impl FnOnce(&redb::WriteTransaction, &Viewer, MiniProgram) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    m.write(cx, move |tx, m| {
        let p = MiniProgramAccess::check(tx, m, mp, MiniNeed::Manage)?.into_mini_program();
        change(tx, m, p)
    })
    .await
}

/// Changes a mini program's name, description, category and (when given) icon. Audited with
/// what changed.
pub async fn edit(cx: &Context, m: &Authorized<act::AssignMiniPrograms>, id: Uuid, form: MiniForm, icon: Option<Vec<u8>>, actor: Actor) -> Result<(), AppError> {
    let name = validate_mini_name(&form.name)?;
    let description = validate_description(&form.description)?;
    let category = validate_category(&form.category)?;
    if let Some(bytes) = &icon {
        check_icon(bytes)?;
    }
    manage(cx, m, id, move |tx, m, mut p| {
        if p.name.to_lowercase() != name.to_lowercase() && store::names_taken(tx, m.workspace(), &name)? {
            return Err(AppError::conflict("Mini Program Name", "is already the name of a mini program in this workspace"));
        }
        let mut changed = Vec::new();
        if p.name != name {
            changed.push(format!("name {} → {name}", p.name));
        }
        if p.description != description {
            changed.push("description".to_string());
        }
        if p.category != category {
            changed.push(format!("category {} → {category}", p.category));
        }
        if icon.is_some() {
            changed.push("icon".to_string());
        }
        if changed.is_empty() {
            return Err(AppError::invalid("Mini Program Name", "nothing was changed"));
        }
        (p.name, p.description, p.category) = (name, description, category);
        if let Some(bytes) = &icon {
            store::put_icon(tx, p.id, bytes)?;
            p.has_icon = true;
        }
        store::put(tx, &p)?;
        audit::record(tx, &actor, m.audited(), AuditAction::MiniProgramEdited, &p.name, &changed.join("; "))
    })
    .await?;
    Ok(())
}

/// Assigns an active member of the workspace to a mini program as admin or developer (or
/// changes their part). Audited.
pub async fn assign(cx: &Context, m: &Authorized<act::AssignMiniPrograms>, mp: Uuid, account: Uuid, role: MiniRole, actor: Actor) -> Result<(), AppError> {
    manage(cx, m, mp, move |tx, m, p| {
        let wid = m.workspace();
        let member = members::membership(tx, wid, account)?
            .filter(|x| x.active)
            .ok_or_else(|| AppError::invalid("Member", "must be an active member of this workspace"))?;
        let who = accounts::get(tx, member.account)?.ok_or(AppError::Internal)?;
        store::assign(tx, wid, mp, account, role)?;
        audit::record(tx, &actor, m.audited(), AuditAction::MiniProgramAssigned, &p.name, &format!("{} as {}", who.username, role.label()))
    })
    .await
    .map(|_| ())
}

/// Takes a member off a mini program. Audited.
pub async fn unassign(cx: &Context, m: &Authorized<act::AssignMiniPrograms>, mp: Uuid, account: Uuid, actor: Actor) -> Result<(), AppError> {
    manage(cx, m, mp, move |tx, m, p| {
        let wid = m.workspace();
        if !store::unassign(tx, wid, mp, account)? {
            return Err(AppError::NotFound("That member is not assigned to this mini program.".into()));
        }
        let who = accounts::get(tx, account)?.map(|a| a.username).unwrap_or_default();
        audit::record(tx, &actor, m.audited(), AuditAction::MiniProgramUnassigned, &p.name, &who)
    })
    .await
    .map(|_| ())
}

/// The workspace's active members who can be assigned to a mini program: those whose username
/// (or, for one who may view the members, email) contains `q`, the first
/// [`ASSIGNABLE_SHOWN`](crate::model::minis::ASSIGNABLE_SHOWN) by username, read from the members
/// list's index (a page's worth, whatever the workspace's size). Emails are shown, and searched,
/// only to those the policy lets view the members: a Mini Program Admin sees usernames.
pub async fn assignable(cx: &Context, m: &Authorized<act::AssignMiniPrograms>, q: String) -> Result<crate::model::minis::Assignables, AppError> {
    use crate::model::minis::{Assignable, Assignables, ASSIGNABLE_SHOWN};
    let wid = m.workspace().id;
    let by_email = crate::server::policy::allows(m.membership().role, crate::server::policy::WorkspaceAction::ViewMembers);
    let window = Window::parse(members::LIST, "username", "", ASSIGNABLE_SHOWN)?;
    cx.store
        .read(move |tx| {
            let page = members::list(tx, wid, &q, by_email, None, Some(true), &window, |m, a| {
                let label = if by_email { format!("{} ({}) — {}", a.username, a.email, m.role.label()) } else { format!("{} — {}", a.username, m.role.label()) };
                Ok(Assignable { account: a.id, label })
            })?
            .page;
            Ok(Assignables { more: page.next.is_some(), members: page.items, by_email })
        })
        .await
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use super::*;
    use crate::model::minis::VersionState;
    use crate::server::guard::{Member, SignedIn};
    use crate::server::domain::accounts::verified_account;
    use crate::server::store::minis::Version;
    use crate::server::store::members::Membership;
    use crate::server::store::workspaces::{self as ws, Workspace};
    use crate::server::store::Store;
    use crate::server::Config;

    fn nobody() -> Actor {
        Actor::named("test")
    }

    async fn member_of(state: &Context, workspace: &Workspace, name: &str, role: Role) -> Member {
        let account = verified_account(state, name).await;
        let membership = Membership { workspace: workspace.id, account: account.id, role, active: true, joined: Utc::now() };
        let m = membership.clone();
        state.store.write(move |tx| members::put_membership(tx, &m)).await.unwrap();
        let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(state.store.clone())), None);
        Member::for_tests(SignedIn::for_tests(account, session), workspace.clone(), membership)
    }

    /// A workspace with a mini program holding one version in each state.
    async fn world() -> (Context, Workspace, Uuid) {
        let state = Context::new(Store::memory(), Config::default());
        let workspace = crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active);
        let mp = Uuid::now_v7();
        let w = workspace.clone();
        state
            .store
            .write(move |tx| {
                ws::insert_workspace(tx, &w)?;
                store::put(tx, &MiniProgram { id: mp, workspace: w.id, name: "Coupons".into(), description: String::new(), category: "Shopping".into(), has_icon: false, removed: false, created: Utc::now(), created_by: "ann".into(), features: vec![] })?;
                for (i, state) in [VersionState::Released, VersionState::Superseded, VersionState::Approved, VersionState::InReview, VersionState::Removed, VersionState::Rejected, VersionState::Uploaded].into_iter().enumerate() {
                    store::put_version(tx, &Version { created: Utc::now() + chrono::Duration::seconds(i as i64), ..Version::for_test(mp, &format!("1.{i}.0"), state) })?;
                }
                Ok(())
            })
            .await
            .unwrap();
        (state, workspace, mp)
    }

    /// The request's guard was checked before a demotion, a block or a suspension committed: the
    /// write transaction that acts checks again, refuses, and changes nothing.
    #[tokio::test]
    async fn an_admin_guard_is_proved_again_in_the_write_that_acts() {
        let (state, workspace, mp) = world().await;
        let ann = member_of(&state, &workspace, "ann", Role::WorkspaceAdmin).await;
        let account = ann.who().account().id;
        let put = |role: Role, active: bool| {
            let m = Membership { workspace: workspace.id, account, role, active, joined: Utc::now() };
            let state = state.clone();
            async move { state.store.write(move |tx| members::put_membership(tx, &m)).await.unwrap() }
        };
        let admin = ann.authorize(act::RetireVersions).unwrap();
        put(Role::WorkspaceReviewer, true).await;
        assert_eq!(retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err().status(), 403, "demoted");
        put(Role::WorkspaceAdmin, false).await;
        assert_eq!(retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err().status(), 403, "blocked");
        put(Role::WorkspaceAdmin, true).await;
        let mut suspended = workspace.clone();
        suspended.status = crate::model::workspace::WorkspaceStatus::Suspended;
        state.store.write(move |tx| ws::update_workspace(tx, &suspended)).await.unwrap();
        assert_eq!(retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err().status(), 403, "suspended");
        let v = state.store.read(move |tx| store::version(tx, mp, "1.6.0")).await.unwrap().unwrap();
        assert_eq!(v.state, VersionState::Uploaded, "nothing changed");
    }

    #[tokio::test]
    async fn only_a_never_released_version_is_retired_and_then_leaves_the_lists() {
        let (state, workspace, mp) = world().await;
        let ann = member_of(&state, &workspace, "ann", Role::WorkspaceAdmin).await;
        let admin = ann.authorize(act::RetireVersions).unwrap();
        // Released, superseded, approved, in review, removed: refused, and nothing changes.
        for (v, state_label) in [("1.0.0", "Released"), ("1.1.0", "Superseded"), ("1.2.0", "Approved"), ("1.3.0", "In review"), ("1.4.0", "Removed")] {
            let e = retire_version(&state, &admin, mp, v.into(), nobody()).await.unwrap_err();
            assert_eq!((e.status(), e.field()), (409, Some("Version")), "{v}");
            assert!(e.to_string().contains(state_label), "{v}: {e}");
        }
        assert_eq!(retire_version(&state, &admin, mp, "9.9.9".into(), nobody()).await.unwrap_err().status(), 404);
        assert_eq!(retire_version(&state, &admin, Uuid::now_v7(), "1.6.0".into(), nobody()).await.unwrap_err().status(), 404);
        // Rejected and Uploaded: retired.
        let listed = |state: Context| async move { state.store.read(move |tx| store::versions(tx, mp)).await.unwrap() };
        assert_eq!(listed(state.clone()).await.len(), 7);
        retire_version(&state, &admin, mp, "1.5.0".into(), nobody()).await.unwrap();
        retire_version(&state, &admin, mp, " 1.6.0 ".into(), nobody()).await.unwrap();
        let left = listed(state.clone()).await;
        assert_eq!(left.len(), 5);
        assert!(left.iter().all(|v| v.version != "1.5.0" && v.version != "1.6.0"));
        assert_eq!(store::highest_live_version(&left), Some(semver::Version::new(1, 4, 0)));
        // Twice: refused.
        assert!(retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err().to_string().contains("already retired"));
        // The console's list and "latest" leave them out; the audit log keeps them.
        let ann = admin.also(act::ViewMiniPrograms).unwrap();
        let page = versions(&state, &ann, mp, Default::default()).await.unwrap();
        assert_eq!(page.items.len(), 5);
        assert_eq!(get(&state, &ann, mp).await.unwrap().latest.as_deref(), Some("1.4.0"));
        assert!(get(&state, &ann, mp).await.unwrap().can_retire);
        // The page says what the workspace's bundles take of its quota: retired ones still count
        // (each test version is 1 byte).
        let quota = state.config.workspace_bundle_bytes;
        assert_eq!(get(&state, &ann, mp).await.unwrap().bundles, Some(BundleRoom { held: 7, quota }));
        let wid = workspace.id;
        let log = state
            .store
            .read(move |tx| {
                use crate::server::store::audit;
                audit::list(tx, Some(wid), "mini_program.version_retired", "", &Window::first(audit::LIST, 50))
            })
            .await
            .unwrap();
        assert_eq!(log.items.len(), 2);
        assert!(log.items.iter().any(|e| e.details.starts_with("1.5.0") && e.details.contains("was Rejected")), "{:?}", log.items);
    }

    #[tokio::test]
    async fn a_blocked_or_demoted_admin_cannot_retire_with_a_guard_checked_before() {
        let (state, workspace, mp) = world().await;
        let ann = member_of(&state, &workspace, "ann", Role::WorkspaceAdmin).await;
        let admin = ann.authorize(act::RetireVersions).unwrap();
        // Blocked after the guard was made (a request in flight): the write re-checks.
        let (wid, aid) = (workspace.id, admin.who().account().id);
        state
            .store
            .write(move |tx| {
                let mut m = members::membership(tx, wid, aid)?.unwrap();
                m.active = false;
                members::put_membership(tx, &m)
            })
            .await
            .unwrap();
        let e = retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err();
        assert_eq!(e.status(), 403);
        assert!(e.to_string().contains("blocked"), "{e}");
        // Demoted to Mini Program Admin: refused by the policy table.
        state
            .store
            .write(move |tx| {
                let mut m = members::membership(tx, wid, aid)?.unwrap();
                (m.active, m.role) = (true, Role::MiniProgramAdmin);
                members::put_membership(tx, &m)
            })
            .await
            .unwrap();
        assert_eq!(retire_version(&state, &admin, mp, "1.6.0".into(), nobody()).await.unwrap_err().status(), 403);
        // Nor can a Mini Program Admin or a Developer get the guard at all.
        for (name, role) in [("mia", Role::MiniProgramAdmin), ("dev", Role::WorkspaceDeveloper)] {
            let m = member_of(&state, &workspace, name, role).await;
            assert_eq!(m.authorize(act::RetireVersions).err().map(|e| e.status()), Some(403));
        }
        assert_eq!(state.store.read(move |tx| store::versions(tx, mp)).await.unwrap().len(), 7, "nothing retired");
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn icons_are_checked_by_content_and_size() {
        assert!(check_icon(&png(128, 128)).is_ok());
        assert_eq!(check_icon(b"GIF89a not allowed").unwrap_err().field(), Some("Icon"));
        assert!(check_icon(b"hello, I am text").unwrap_err().to_string().contains("not an image"));
        assert!(check_icon(&png(8, 8)).unwrap_err().to_string().contains("8×8"));
        assert!(check_icon(&png(4096, 64)).is_err());
        let mut big = png(64, 64);
        big.resize(ICON_MAX_BYTES + 1, 0);
        assert!(check_icon(&big).unwrap_err().to_string().contains("256 KiB"));
    }

    /// The assign form offers at most a page of active members, by username; a search finds the
    /// others; blocked members are never offered.
    #[tokio::test]
    async fn the_assign_form_offers_a_page_of_active_members_and_finds_the_rest() {
        use crate::model::minis::ASSIGNABLE_SHOWN;
        let (state, workspace, _) = world().await;
        let ann = member_of(&state, &workspace, "ann", Role::WorkspaceAdmin).await;
        for i in 0..ASSIGNABLE_SHOWN + 5 {
            member_of(&state, &workspace, &format!("dev{i:03}"), Role::WorkspaceDeveloper).await;
        }
        let blocked = member_of(&state, &workspace, "dev-blocked", Role::WorkspaceDeveloper).await;
        let mut m = blocked.membership().clone();
        m.active = false;
        state.store.write(move |tx| members::put_membership(tx, &m)).await.unwrap();
        let admin = ann.authorize(act::AssignMiniPrograms).unwrap();

        let first = assignable(&state, &admin, String::new()).await.unwrap();
        assert_eq!(first.members.len(), ASSIGNABLE_SHOWN as usize);
        assert!(first.more, "more members than are offered");
        assert!(first.members[0].label.starts_with("ann ("), "by username: {}", first.members[0].label);
        assert!(first.members[1].label.starts_with("dev000 (") && first.members[1].label.ends_with("— Workspace Developer"));

        let found = assignable(&state, &admin, " DEV054 ".into()).await.unwrap();
        assert_eq!(found.members.iter().map(|a| a.label.split(' ').next().unwrap()).collect::<Vec<_>>(), ["dev054"]);
        assert!(!found.more);
        let by_email = assignable(&state, &admin, "dev05".into()).await.unwrap();
        assert_eq!(by_email.members.len(), 5);
        assert!(assignable(&state, &admin, "dev-blocked".into()).await.unwrap().members.is_empty(), "blocked: not offered");
        assert!(assignable(&state, &admin, "nobody-here".into()).await.unwrap().members.is_empty());
    }
}
