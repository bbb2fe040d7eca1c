//! What waits on a member, for their workspace overview: in the mini programs they manage (as
//! the mini program's admin or a Workspace Admin), the candidates rolling out or paused, the
//! versions uploaded and not yet applied for, and the applications waiting for a reviewer.

use redb::ReadTransaction;
use uuid::Uuid;

use crate::model::approvals::ApplicationRow;
use crate::model::minis::VersionState;
use crate::model::policy::{mini_allows, MiniNeed};
use crate::model::workspace::{Few, NeedsYou, RolloutNote, Role, UnappliedNote};
use crate::model::AppError;
use crate::server::store::{approvals, apps as app_store, minis, releases};

/// What waits on `account`, of `role` in `workspace`; `None` when they manage no mini program.
pub fn needs_you(tx: &ReadTransaction, workspace: Uuid, role: Role, account: Uuid) -> Result<Option<NeedsYou>, AppError> {
    let mut managed = Vec::new();
    for mp in minis::of_workspace(tx, workspace)?.into_iter().filter(|m| !m.removed) {
        if mini_allows(role, minis::role(tx, mp.id, account)?, MiniNeed::Manage) {
            managed.push(mp);
        }
    }
    if managed.is_empty() {
        return Ok(None);
    }
    let apps: Vec<(Uuid, String)> = app_store::apps_of(tx, workspace)?.into_iter().map(|a| (a.id, a.name)).collect();
    let (mut rollouts, mut unapplied, mut waiting) = (Vec::new(), Vec::new(), Vec::new());
    for mp in &managed {
        for r in releases::of_mini_program(tx, mp.id)? {
            if let Some(c) = &r.candidate {
                let app = apps.iter().find(|(id, _)| *id == r.app).map(|(_, n)| n.clone()).unwrap_or_default();
                rollouts.push(RolloutNote { mini_program: mp.id, name: mp.name.clone(), app, candidate: c.view() });
            }
        }
        if let Some(v) = minis::versions(tx, mp.id)?.into_iter().next().filter(|v| v.state == VersionState::Uploaded) {
            unapplied.push(UnappliedNote { mini_program: mp.id, name: mp.name.clone(), version: v.version, uploaded: v.created });
        }
        for prefix in [format!("version:{}:", mp.id), format!("removal:{}", mp.id), format!("feature:{}:", mp.id)] {
            for id in approvals::pending_with_prefix(tx, &prefix)? {
                if let Some(a) = approvals::get(tx, id)? {
                    // Named as the mini program is named now, like the other lists.
                    waiting.push(ApplicationRow { mini_program: Some(mp.name.clone()), ..a.row() });
                }
            }
        }
    }
    rollouts.sort_by_key(|r| (r.candidate.paused.is_none(), r.name.to_lowercase(), r.app.to_lowercase()));
    unapplied.sort_by(|a, b| b.uploaded.cmp(&a.uploaded));
    waiting.sort_by_key(|w| w.created);
    Ok(Some(NeedsYou { rollouts: Few::of(rollouts), unapplied: Few::of(unapplied), waiting: Few::of(waiting) }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::approvals::{Category, Status};
    use crate::model::minis::MiniRole;
    use crate::server::store::approvals::Application;
    use crate::server::store::apps::App;
    use crate::server::store::minis::{MiniProgram, Version};
    use crate::server::store::releases::{fixtures::stable, Candidate, Pause, Shipped};
    use crate::server::store::Store;
    use chrono::{Duration, Utc};

    fn mini(workspace: Uuid, name: &str) -> MiniProgram {
        MiniProgram { id: Uuid::now_v7(), workspace, name: name.into(), description: String::new(), category: "Shopping".into(), has_icon: false, removed: false, created: Utc::now(), created_by: "ann".into(), features: vec![] }
    }

    fn publishing(workspace: Uuid, mp: &MiniProgram, version: &str) -> Application {
        Application {
            id: Uuid::now_v7(),
            workspace,
            workspace_name: "Acme".into(),
            category: Category::Publishing,
            status: Status::Pending,
            applicant: Uuid::now_v7(),
            applicant_name: "ann".into(),
            applicant_email: "ann@example.com".into(),
            mini_program: Some(mp.id),
            mini_program_name: Some(mp.name.clone()),
            version: Some(version.into()),
            apps: vec![],
            rollout: 1000,
            feature: None,
            note: String::new(),
            created: Utc::now() - Duration::hours(1),
            finished: None,
            decided_by: None,
            reason: None,
            history: vec![],
        }
    }

    #[test]
    fn a_manager_is_shown_rollouts_versions_not_applied_for_and_applications_waiting_and_no_one_else_is() {
        let store = Store::memory();
        let workspace = Uuid::now_v7();
        let (coupons, tickets, other) = (mini(workspace, "Coupons"), mini(workspace, "Tickets"), mini(workspace, "Other"));
        let app = App { id: Uuid::now_v7(), workspace, name: "Super".into(), ios_bundle_id: None, android_package: Some("com.acme".into()), created: Utc::now(), created_by: "ann".into(), test_devices: vec![] };
        let (mia, dev) = (Uuid::now_v7(), Uuid::now_v7());
        let application = publishing(workspace, &tickets, "2.0.0");
        let (c, t, o, a, ap) = (coupons.clone(), tickets.clone(), other.clone(), app.clone(), application.clone());
        store
            .write_blocking(move |tx| {
                for mp in [&c, &t, &o] {
                    minis::put(tx, mp)?;
                }
                app_store::insert_app(tx, &a)?;
                minis::assign(tx, workspace, c.id, mia, MiniRole::Admin)?;
                minis::assign(tx, workspace, t.id, mia, MiniRole::Admin)?;
                minis::assign(tx, workspace, c.id, dev, MiniRole::Developer)?;
                // Coupons: 1.1.0 paused at 10 %; 1.2.0 uploaded, not applied for.
                let mut r = stable(c.id, a.id, "1.0.0", &"ab".repeat(32), 1);
                let shipped = Shipped { version: "1.1.0".into(), sha256: "cd".repeat(32), size: 1, released: Utc::now(), application: Uuid::now_v7() };
                r.candidate = Some(Candidate { shipped, rollout: 100, seed: "00".repeat(16), paused: Some(Pause { at: Utc::now(), by: "health rule".into(), reason: "too many crashes".into() }) });
                releases::put(tx, &r)?;
                minis::put_version(tx, &Version::for_test(c.id, "1.2.0", VersionState::Uploaded))?;
                // Tickets: 2.0.0 applied for; Other: 3.0.0 uploaded, but Mia does not manage it.
                minis::put_version(tx, &Version::for_test(t.id, "2.0.0", VersionState::InReview))?;
                approvals::insert(tx, &ap)?;
                minis::put_version(tx, &Version::for_test(o.id, "3.0.0", VersionState::Uploaded))
            })
            .unwrap();
        let read = |role: Role, who: Uuid| store.read_blocking(move |tx| needs_you(tx, workspace, role, who)).unwrap();
        let n = read(Role::WorkspaceDeveloper, mia).expect("Mia manages two mini programs");
        assert_eq!(n.rollouts.total, 1);
        let r = &n.rollouts.shown[0];
        assert_eq!((r.name.as_str(), r.app.as_str(), r.candidate.version.as_str(), r.candidate.rollout), ("Coupons", "Super", "1.1.0", 100));
        assert_eq!(r.candidate.state(), "paused by health rule: too many crashes");
        assert_eq!(n.unapplied.shown.iter().map(|v| (v.name.as_str(), v.version.as_str())).collect::<Vec<_>>(), [("Coupons", "1.2.0")]);
        assert_eq!(n.waiting.shown.iter().map(|w| (w.id, w.category.label(), w.version.as_deref())).collect::<Vec<_>>(), [(application.id, "Mini Program Publishing", Some("2.0.0"))]);
        // A Workspace Admin manages every mini program; a developer none.
        let admin = read(Role::WorkspaceAdmin, Uuid::now_v7()).unwrap();
        assert_eq!(admin.unapplied.total, 2, "{admin:?}");
        assert_eq!(read(Role::WorkspaceDeveloper, dev), None);
        assert_eq!(read(Role::WorkspaceReviewer, Uuid::now_v7()), None);
    }

    #[test]
    fn only_the_first_few_are_shown_with_the_whole_count() {
        let few = Few::of((0..25).collect::<Vec<u32>>());
        assert_eq!((few.shown.len(), few.total, few.shown[9]), (Few::<u32>::SHOWN, 25, 9));
    }
}
