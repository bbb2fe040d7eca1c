//! The approvals use cases against an in-memory store.

use uuid::Uuid;

use crate::model::approvals::{Category, Status, FEATURES};
use crate::model::minis::VersionState;
use crate::model::page::PER_PAGE;
use crate::server::store::listing::Window;
use crate::model::workspace::{Role, WorkspaceStatus};
use crate::model::AppError;
use crate::server::guard::{act, Authorized, Member, SignedIn};
use crate::server::store::approvals::{self as store, Application, Query};
use crate::server::store::audit::Actor;
use crate::server::store::releases;
use crate::server::store::members::Membership;
use crate::server::store::workspaces as ws;
use crate::server::store::{apps as app_store, minis, notifications, outbox};
use crate::server::Context;

use chrono::Utc;
use super::*;
use crate::model::minis::MiniRole;
use crate::server::domain::accounts::verified_account;
use crate::server::store::minis::Version;
use crate::server::store::workspaces::Workspace;
use crate::server::store::Store;
use crate::server::Config;

fn nobody() -> Actor {
    Actor::named("test")
}

struct World {
    state: Context,
    workspace: Workspace,
    mp: Uuid,
    app: Uuid,
}

/// A member's guard for the action the use case needs, unchecked: the use case's own write
/// transaction must refuse what the policy does not allow.
fn acts<A: crate::server::guard::Action>(m: &Member) -> Authorized<A> {
    Authorized::for_tests(m.clone())
}

async fn member(w: &World, name: &str, role: Role) -> Member {
    let account = verified_account(&w.state, name).await;
    let membership = Membership { workspace: w.workspace.id, account: account.id, role, active: true, joined: Utc::now() };
    let m = membership.clone();
    w.state.store.write(move |tx| crate::server::store::members::put_membership(tx, &m)).await.unwrap();
    let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(w.state.store.clone())), None);
    Member::for_tests(SignedIn::for_tests(account, session), w.workspace.clone(), membership)
}

/// A workspace with one App and one mini program (owned by nobody yet).
async fn world() -> World {
    let state = Context::new(Store::memory(), Config::default());
    let workspace = crate::server::store::workspaces::fixtures::workspace("Acme", crate::model::workspace::WorkspaceStatus::Active);
    let (mp, app) = (Uuid::now_v7(), Uuid::now_v7());
    let w = workspace.clone();
    state
        .store
        .write(move |tx| {
            ws::insert_workspace(tx, &w)?;
            app_store::insert_app(tx, &app_store::App { id: app, workspace: w.id, name: "Wallet".into(), ios_bundle_id: Some("com.acme.wallet".into()), android_package: None, created: Utc::now(), created_by: "ann".into(), test_devices: vec![] })?;
            minis::put(tx, &minis::MiniProgram { id: mp, workspace: w.id, name: "Coupons".into(), description: String::new(), category: "Shopping".into(), has_icon: false, removed: false, created: Utc::now(), created_by: "ann".into(), features: vec![] })
        })
        .await
        .unwrap();
    World { state, workspace, mp, app }
}

async fn upload(w: &World, version: &str) {
    // Each upload a moment after the last, so the versions list has one order.
    let v = Version { size: 10, sha256: crate::server::keys::sha256_hex(version.as_bytes()), created: w.state.clock.now(), ..Version::for_test(w.mp, version, VersionState::Uploaded) };
    w.state.clock.advance(std::time::Duration::from_millis(1));
    w.state.store.write(move |tx| minis::put_version(tx, &v)).await.unwrap();
}

async fn state_of(w: &World, version: &str) -> VersionState {
    let (mp, v) = (w.mp, version.to_string());
    w.state.store.read(move |tx| minis::version(tx, mp, &v)).await.unwrap().unwrap().state
}

async fn released(w: &World) -> Vec<String> {
    let mp = w.mp;
    w.state.store.read(move |tx| releases::of_mini_program(tx, mp)).await.unwrap().into_iter().filter_map(|r| r.stable.map(|s| s.version)).collect()
}

#[tokio::test]
async fn publishing_moves_versions_through_their_states_and_refuses_every_other_step() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let mpa = member(&w, "mia", Role::MiniProgramAdmin).await;
    let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
    let dev = member(&w, "dev", Role::WorkspaceDeveloper).await;
    let (mp, app, s) = (w.mp, w.app, &w.state);
    let (mia, dev_id, wid) = (mpa.who().account().id, dev.who().account().id, w.workspace.id);
    s.store.write(move |tx| { minis::assign(tx, wid, mp, mia, MiniRole::Admin)?; minis::assign(tx, wid, mp, dev_id, MiniRole::Developer) }).await.unwrap();
    // Nothing to publish yet; nothing released to remove.
    assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.0.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 422);
    assert_eq!(apply_removal(s, &acts(&mpa), mp, "old".into(), nobody()).await.unwrap_err().status(), 409);
    upload(&w, "1.0.0").await;
    upload(&w, "1.1.0").await;
    // Only the newest, and only to this workspace's Apps; a developer may not apply.
    assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.0.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 409);
    assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![Uuid::now_v7()], String::new(), nobody()).await.unwrap_err().field(), Some("Apps"));
    assert_eq!(apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![], String::new(), nobody()).await.unwrap_err().field(), Some("Apps"));
    assert_eq!(apply_publishing(s, &acts(&dev), mp, "1.1.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 403);
    let first = apply_publishing(s, &acts(&mpa), mp, "1.1.0".into(), vec![app], "first".into(), nobody()).await.unwrap();
    assert_eq!(state_of(&w, "1.1.0").await, VersionState::InReview);
    // Once in review it can't be sent again.
    assert_eq!(apply_publishing(s, &acts(&admin), mp, "1.1.0".into(), vec![app], String::new(), nobody()).await.unwrap_err().status(), 409);
    // Two-person rule, and a reason for a rejection.
    assert_eq!(decide(s, &acts(&mpa), first, true, String::new(), nobody()).await.unwrap_err().status(), 403);
    assert_eq!(decide(s, &acts(&reviewer), first, false, "  ".into(), nobody()).await.unwrap_err().field(), Some("Reason"));
    decide(s, &acts(&reviewer), first, false, "Crashes on start".into(), nobody()).await.unwrap();
    assert_eq!(state_of(&w, "1.1.0").await, VersionState::Rejected);
    assert_eq!(decide(s, &acts(&admin), first, true, String::new(), nobody()).await.unwrap_err().status(), 409);
    assert_eq!(withdraw(s, &mpa.who(), first, nobody()).await.unwrap_err().status(), 409);
    // A new version, applied for and withdrawn: Uploaded again; withdrawn can't be decided.
    upload(&w, "1.2.0").await;
    let second = apply_publishing(s, &acts(&mpa), mp, "1.2.0".into(), vec![app], String::new(), nobody()).await.unwrap();
    assert_eq!(withdraw(s, &reviewer.who(), second, nobody()).await.unwrap_err().status(), 404, "only the applicant withdraws");
    withdraw(s, &mpa.who(), second, nobody()).await.unwrap();
    assert_eq!(state_of(&w, "1.2.0").await, VersionState::Uploaded);
    assert_eq!(decide(s, &acts(&reviewer), second, true, String::new(), nobody()).await.unwrap_err().status(), 409);
    // Applied again and approved: Released; the next release supersedes it.
    let third = apply_publishing(s, &acts(&mpa), mp, "1.2.0".into(), vec![app], String::new(), nobody()).await.unwrap();
    decide(s, &acts(&reviewer), third, true, String::new(), nobody()).await.unwrap();
    assert_eq!(state_of(&w, "1.2.0").await, VersionState::Released);
    assert_eq!(released(&w).await, vec!["1.2.0"]);
    upload(&w, "2.0.0").await;
    let fourth = apply_publishing(s, &acts(&admin), mp, "2.0.0".into(), vec![app], String::new(), nobody()).await.unwrap();
    assert_eq!(decide(s, &acts(&admin), fourth, true, String::new(), nobody()).await.unwrap_err().status(), 403, "a Workspace Admin does not decide their own");
    decide(s, &acts(&mpa), fourth, true, String::new(), nobody()).await.unwrap_err();
    decide(s, &acts(&reviewer), fourth, true, String::new(), nobody()).await.unwrap();
    assert_eq!((state_of(&w, "1.2.0").await, state_of(&w, "2.0.0").await), (VersionState::Superseded, VersionState::Released));
    // Removal: applied, approved → removed, off every App, nothing more can be applied for.
    let removal = apply_removal(s, &acts(&mpa), mp, "Campaign over".into(), nobody()).await.unwrap();
    let asked = apply_feature(s, &acts(&mpa), mp, "camera".into(), String::new(), nobody()).await.unwrap();
    assert_eq!(apply_removal(s, &acts(&admin), mp, "again".into(), nobody()).await.unwrap_err().status(), 409);
    decide(s, &acts(&admin), removal, true, String::new(), nobody()).await.unwrap();
    assert!(released(&w).await.is_empty());
    assert_eq!(state_of(&w, "2.0.0").await, VersionState::Removed);
    assert_eq!(apply_removal(s, &acts(&mpa), mp, "again".into(), nobody()).await.unwrap_err().status(), 409);
    assert_eq!(apply_feature(s, &acts(&mpa), mp, "camera".into(), String::new(), nobody()).await.unwrap_err().status(), 409);
    // What was still pending about it is closed, with the reason.
    let closed = s.store.read(move |tx| store::get(tx, asked)).await.unwrap().unwrap();
    assert_eq!(closed.status, Status::Rejected);
    assert!(closed.reason.unwrap().contains("was removed"));
    // The platform closed it, not the person who approved the removal.
    let window = Window::first(crate::server::store::audit::LIST, 100);
    let log = s.store.read(move |tx| crate::server::store::audit::list(tx, None, "approval.rejected", "", &window)).await.unwrap();
    let closers: Vec<&str> = log.items.iter().filter(|e| e.details.contains("was removed")).map(|e| e.actor.as_str()).collect();
    assert_eq!(closers, ["MPDP"], "{:?}", log.items);
    // The applicant was told of each decision.
    let mia_id = mpa.who().account().id;
    assert_eq!(s.store.read(move |tx| notifications::unread(tx, mia_id)).await.unwrap(), 4, "rejected, released, removed, closed");
}

#[tokio::test]
async fn features_and_member_requests_follow_their_rules() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
    let (mp, s) = (w.mp, &w.state);
    assert_eq!(apply_feature(s, &acts(&admin), mp, "teleport".into(), String::new(), nobody()).await.unwrap_err().field(), Some("Feature"));
    let f = apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap();
    assert_eq!(apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap_err().status(), 409);
    decide(s, &acts(&reviewer), f, true, String::new(), nobody()).await.unwrap();
    let features = s.store.read(move |tx| minis::by_id(tx, mp)).await.unwrap().unwrap().features;
    assert_eq!(features, vec!["location"]);
    assert_eq!(apply_feature(s, &acts(&admin), mp, "location".into(), String::new(), nobody()).await.unwrap_err().status(), 409);

    // A member request: the same answer for a name that does not exist; only an admin decides.
    let zed = verified_account(s, "zed").await;
    let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())), None);
    let zed = SignedIn::for_tests(zed, session);
    apply_join(s, &zed, "Nowhere".into(), String::new(), nobody()).await.unwrap();
    apply_join(s, &zed, "acme".into(), "I build the coupons".into(), nobody()).await.unwrap();
    apply_join(s, &zed, "Acme".into(), String::new(), nobody()).await.unwrap();
    let mine = mine(s, &zed, Default::default()).await.unwrap();
    assert_eq!(mine.total, 1, "one request, in the workspace that exists");
    let req = mine.items[0].id;
    assert_eq!(decide(s, &acts(&reviewer), req, true, String::new(), nobody()).await.unwrap_err().status(), 403);
    decide(s, &acts(&admin), req, true, String::new(), nobody()).await.unwrap();
    let (wid, zid) = (w.workspace.id, zed.account().id);
    let joined = s.store.read(move |tx| crate::server::store::members::membership(tx, wid, zid)).await.unwrap().unwrap();
    assert_eq!((joined.role, joined.active), (Role::WorkspaceDeveloper, true));
    // Now a member: asking again files nothing.
    apply_join(s, &zed, "Acme".into(), String::new(), nobody()).await.unwrap();
    assert_eq!(super::mine(s, &zed, Default::default()).await.unwrap().total, 1);
}

/// Apply → withdraw → apply, again and again: every application is filed, and shown to the
/// approvers in the console, but their mail stops at the hourly budget.
#[tokio::test]
async fn a_member_applying_and_withdrawing_in_a_loop_stops_mailing_the_approvers() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let mpa = member(&w, "mia", Role::MiniProgramAdmin).await;
    let (mp, wid, mia, s) = (w.mp, w.workspace.id, mpa.who().account().id, &w.state);
    s.store.write(move |tx| minis::assign(tx, wid, mp, mia, MiniRole::Admin)).await.unwrap();
    let ann_id = admin.who().account().id;
    let mails = || async move { s.store.read(|tx| outbox::list(tx, None, "New application in Acme", &Window::first(outbox::LIST, 100))).await.unwrap().total };
    let (mails_before, unread_before) = (mails().await, s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap());
    let rounds = MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR + 5;
    let mut per_application = 0;
    for round in 0..rounds {
        let id = apply_feature(s, &acts(&mpa), mp, "camera".into(), String::new(), nobody()).await.unwrap();
        if round == 0 {
            per_application = mails().await - mails_before;
        }
        withdraw(s, mpa.who(), id, nobody()).await.unwrap();
    }
    assert_eq!(mine(s, mpa.who(), Default::default()).await.unwrap().total, rounds as u64, "each one is filed");
    assert_eq!(s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap(), unread_before + rounds as u64, "and shown in the console");
    assert!(per_application >= 1, "each approver is mailed");
    assert_eq!(mails().await - mails_before, per_application * MAILED_APPLICATIONS_PER_APPLICANT_PER_HOUR as u64, "mail stops at the budget");
}

#[tokio::test]
async fn member_requests_are_capped_per_account_and_past_a_workspace_s_hourly_budget_go_unmailed() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let s = &w.state;
    let ann_id = admin.who().account().id;
    let signed_in = |name: &'static str| async move {
        let a = verified_account(s, name).await;
        let session = tower_sessions::Session::new(None, std::sync::Arc::new(crate::server::store::sessions::RedbSessionStore::new(s.store.clone())), None);
        SignedIn::for_tests(a, session)
    };
    let mails_to_ann = || async move {
        s.store
            .read(|tx| outbox::list(tx, None, "New application in Acme", &Window::first(outbox::LIST, 50)))
            .await
            .unwrap()
            .total
    };
    // Asks, then withdraws, again and again: each time the admins are mailed, up to the cap.
    let loop_until_refused = |who: SignedIn| async move {
        for _ in 0..MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY {
            apply_join(s, &who, "Acme".into(), String::new(), nobody()).await.unwrap();
            let id = mine(s, &who, Default::default()).await.unwrap().items[0].id;
            withdraw(s, &who, id, nobody()).await.unwrap();
        }
        who
    };
    let joe = loop_until_refused(signed_in("joe").await).await;
    assert_eq!(mails_to_ann().await, MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY as u64);
    let (filed, unread) = (mine(s, &joe, Default::default()).await.unwrap().total, s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap());
    // The next request is refused, whatever the name — and changes nothing.
    for name in ["Acme", "Nowhere"] {
        let e = apply_join(s, &joe, name.into(), String::new(), nobody()).await.unwrap_err();
        assert_eq!(e.status(), 429, "{name}: {e}");
        assert!(e.to_string().contains("at most 5 times a day"), "{e}");
        assert!(matches!(e, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs > 23 * 3600), "{e:?}");
    }
    assert_eq!(mine(s, &joe, Default::default()).await.unwrap().total, filed);
    assert_eq!(s.store.read(move |tx| notifications::unread(tx, ann_id)).await.unwrap(), unread);
    assert_eq!(mails_to_ann().await, MEMBER_REQUESTS_PER_ACCOUNT_PER_DAY as u64);

    // Past the workspace's hourly budget, a request is still filed and answered alike, and
    // ann sees it in the console — but no mail goes out.
    loop_until_refused(signed_in("kim").await).await;
    assert_eq!(mails_to_ann().await, MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR as u64);
    let lee = signed_in("lee").await;
    apply_join(s, &lee, "Acme".into(), String::new(), nobody()).await.unwrap();
    assert_eq!(mine(s, &lee, Default::default()).await.unwrap().total, 1);
    assert_eq!(mails_to_ann().await, MEMBER_REQUEST_MAILS_PER_WORKSPACE_PER_HOUR as u64);
    let texts: Vec<String> = open_notifications(s, admin.who()).await.unwrap().into_iter().map(|n| n.text).collect();
    assert!(texts[0].starts_with("lee applied"), "{texts:?}");
}

#[tokio::test]
async fn a_guard_checked_on_the_request_is_proved_again_in_the_transaction_that_acts() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let rex = member(&w, "rex", Role::WorkspaceReviewer).await;
    let s = &w.state;
    let (wid, rex_id) = (w.workspace.id, rex.who().account().id);
    // Both guards pass the request's check.
    let applicant = admin.clone().authorize(act::ApplyForMiniPrograms).unwrap();
    let decider = rex.clone().authorize(act::DecideApprovals).unwrap();
    let id = apply_feature(s, &applicant, w.mp, FEATURES[0].code.into(), String::new(), nobody()).await.unwrap();
    let set = |role: Role, active: bool| {
        let m = Membership { workspace: wid, account: rex_id, role, active, joined: Utc::now() };
        async move { s.store.write(move |tx| crate::server::store::members::put_membership(tx, &m)).await.unwrap() }
    };
    // Then, before the decision commits, the reviewer is demoted, or blocked, or the
    // workspace suspended: each refused in the write transaction, and nothing changes.
    set(Role::WorkspaceDeveloper, true).await;
    assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "demoted");
    set(Role::WorkspaceReviewer, false).await;
    assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "blocked");
    s.store.write(move |tx| crate::server::store::members::remove(tx, wid, rex_id)).await.unwrap();
    assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 404, "removed");
    set(Role::WorkspaceReviewer, true).await;
    let mut suspended = w.workspace.clone();
    suspended.status = WorkspaceStatus::Suspended;
    s.store.write(move |tx| ws::update_workspace(tx, &suspended)).await.unwrap();
    assert_eq!(decide(s, &decider, id, true, String::new(), nobody()).await.unwrap_err().status(), 403, "suspended");
    assert_eq!(apply_feature(s, &applicant, w.mp, FEATURES[1].code.into(), String::new(), nobody()).await.unwrap_err().status(), 403, "suspended");
    assert_eq!(s.store.read(move |tx| store::get(tx, id)).await.unwrap().unwrap().status, Status::Pending, "nothing decided");
    // Reactivated, the same guard acts.
    let active = w.workspace.clone();
    s.store.write(move |tx| ws::update_workspace(tx, &active)).await.unwrap();
    decide(s, &decider, id, true, String::new(), nobody()).await.unwrap();
}

#[tokio::test]
async fn of_two_concurrent_decisions_exactly_one_stands() {
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let rex = member(&w, "rex", Role::WorkspaceReviewer).await;
    let ray = member(&w, "ray", Role::WorkspaceReviewer).await;
    let s = &w.state;
    let (rex, ray) = (acts(&rex), acts(&ray));
    for (i, f) in FEATURES.iter().enumerate() {
        let id = apply_feature(s, &acts(&admin), w.mp, f.code.into(), String::new(), nobody()).await.unwrap();
        let (a, b) = tokio::join!(
            decide(s, &rex, id, true, String::new(), nobody()),
            decide(s, &ray, id, false, format!("no {i}"), nobody())
        );
        assert!(a.is_ok() != b.is_ok(), "exactly one of {a:?} / {b:?}");
        let loser = a.err().or(b.err()).unwrap();
        assert_eq!(loser.status(), 409);
        let stored = s.store.read(move |tx| store::get(tx, id)).await.unwrap().unwrap();
        let winner_approved = stored.status == Status::Approved;
        assert_eq!(stored.history.iter().filter(|h| h.what == "Approved" || h.what == "Rejected").count(), 1);
        let activated = s.store.read({ let mp = w.mp; move |tx| minis::by_id(tx, mp) }).await.unwrap().unwrap().features.contains(&f.code.to_string());
        assert_eq!(activated, winner_approved);
    }
}

/// 100 000 applications in one workspace, filed through the domain: the first page and a page
/// deep in the list are read from the index, not by scanning (counted in index entries read).
#[tokio::test]
async fn a_hundred_thousand_applications_are_paged_without_scanning() {
    const N: usize = 100_000;
    let w = world().await;
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    let template = new_application(&admin, Category::Feature, None, String::new());
    let url = w.state.config.public_url.clone();
    for batch in 0..(N / 5_000) {
        let (template, url) = (template.clone(), url.clone());
        w.state
            .store
            .write(move |tx| {
                for i in 0..5_000 {
                    let n = batch * 5_000 + i;
                    let a = Application {
                        id: Uuid::now_v7(),
                        created: template.created + chrono::Duration::milliseconds(n as i64),
                        mini_program: Some(Uuid::from_u128(n as u128)),
                        mini_program_name: Some(format!("Mini {n}")),
                        feature: Some("camera".into()),
                        ..template.clone()
                    };
                    file(tx, a, &nobody(), &url)?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }
    let wid = w.workspace.id;
    let page = |sort: &'static str, cursor: String, status: Option<Status>| {
        let s = w.state.clone();
        async move {
            s.store
                .read(move |tx| {
                    store::list(tx, &Query { workspace: wid, category: None, status, search: String::new(), by_email: true, window: Window::parse(store::LIST, sort, &cursor, PER_PAGE)? })
                })
                .await
                .unwrap()
        }
    };
    let first = page("", String::new(), None).await;
    assert_eq!((first.page.total, first.page.items.len()), (N as u64, 20));
    assert!(first.entries_read <= 21, "first page read {} index entries", first.entries_read);
    // Deep: follow "next" 2 000 times (40 000 rows in), each page as cheap as the first.
    let mut cursor = first.page.next.clone().unwrap();
    let mut max_read = 0;
    for _ in 0..2_000 {
        let p = page("", cursor.clone(), None).await;
        max_read = max_read.max(p.entries_read);
        cursor = p.page.next.clone().unwrap();
    }
    let deep = page("", cursor.clone(), None).await;
    assert_eq!(deep.page.offset, 40_020);
    assert!(max_read <= 21 && deep.entries_read <= 21, "a deep page read {max_read} index entries");
    // Back from there, and with a filter, the same.
    let back = page("", deep.page.prev.clone().unwrap(), None).await;
    assert_eq!(back.page.offset, 40_000);
    assert!(back.entries_read <= 21);
    let pending = page("created", String::new(), Some(Status::Pending)).await;
    assert_eq!(pending.page.total, N as u64);
    assert!(pending.entries_read <= 21);
}

/// A released mini program, for the release-control tests.
pub(crate) mod support {
    use super::*;
    use crate::server::policy::act::ControlReleases;

    /// A mini program with versions released to one App in turn, the last at `rollout`
    /// (per-mille); guards for its admin, an assigned developer and a Mini Program Admin of
    /// another mini program.
    pub(crate) struct ReleaseWorld {
        pub state: Context,
        pub mp: Uuid,
        pub app: Uuid,
        pub admin: Authorized<ControlReleases>,
        pub developer: Authorized<ControlReleases>,
        pub other_admin: Authorized<ControlReleases>,
    }

    impl ReleaseWorld {
        pub fn actor(&self) -> Actor {
            nobody()
        }

        pub async fn state_of(&self, version: &str) -> VersionState {
            let (mp, v) = (self.mp, version.to_string());
            self.state.store.read(move |tx| minis::version(tx, mp, &v)).await.unwrap().unwrap().state
        }

        pub async fn audit_actions(&self) -> Vec<String> {
            let window = Window::first(crate::server::store::audit::LIST, 100);
            let page = self.state.store.read(move |tx| crate::server::store::audit::list(tx, None, "", "", &window)).await.unwrap();
            page.items.iter().map(|e| e.action.clone()).collect()
        }
    }

    pub(crate) async fn release_world(versions: &[&str], rollout: u16) -> ReleaseWorld {
        let w = world().await;
        let mpa = member(&w, "mia", Role::MiniProgramAdmin).await;
        let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
        let dev = member(&w, "dev", Role::WorkspaceDeveloper).await;
        let other = member(&w, "oli", Role::MiniProgramAdmin).await;
        let (mp, wid, mia, dev_id) = (w.mp, w.workspace.id, mpa.who().account().id, dev.who().account().id);
        w.state.store.write(move |tx| { minis::assign(tx, wid, mp, mia, MiniRole::Admin)?; minis::assign(tx, wid, mp, dev_id, MiniRole::Developer) }).await.unwrap();
        for (i, v) in versions.iter().enumerate() {
            upload(&w, v).await;
            let share = if i + 1 == versions.len() { rollout } else { crate::model::approvals::FULL_ROLLOUT };
            let to = Publishing { version: v.to_string(), apps: vec![w.app], rollout: share, note: String::new() };
            let id = apply_publishing_to(&w.state, &acts(&mpa), w.mp, to, nobody()).await.unwrap();
            decide(&w.state, &acts(&reviewer), id, true, String::new(), nobody()).await.unwrap();
        }
        ReleaseWorld { mp: w.mp, app: w.app, admin: acts(&mpa), developer: acts(&dev), other_admin: acts(&other), state: w.state }
    }
}

/// The world with Mia, the mini program's admin, and Rex, a Workspace Reviewer.
async fn with_admin_and_reviewer() -> (World, Member, Member) {
    let w = world().await;
    let mpa = member(&w, "mia", Role::MiniProgramAdmin).await;
    let reviewer = member(&w, "rex", Role::WorkspaceReviewer).await;
    let (mp, mia, wid) = (w.mp, mpa.who().account().id, w.workspace.id);
    w.state.store.write(move |tx| minis::assign(tx, wid, mp, mia, MiniRole::Admin)).await.unwrap();
    (w, mpa, reviewer)
}

/// An App serves at most [`releases::MAX_ROLLING_PER_APP`] candidates at once: approving one more
/// at a share of installs is refused and changes nothing; a release to every install is not.
#[tokio::test]
async fn a_release_to_a_share_is_refused_while_its_app_serves_the_most_candidates() {
    let (w, mpa, reviewer) = with_admin_and_reviewer().await;
    let (mp, app, s) = (w.mp, w.app, &w.state);
    s.store.write(move |tx| releases::fixtures::fill_with_candidates(tx, app, releases::MAX_ROLLING_PER_APP)).await.unwrap();
    upload(&w, "1.0.0").await;
    let to = |rollout| Publishing { version: "1.0.0".into(), apps: vec![app], rollout, note: String::new() };
    let id = apply_publishing_to(s, &acts(&mpa), mp, to(100), nobody()).await.unwrap();
    let e = decide(s, &acts(&reviewer), id, true, String::new(), nobody()).await.unwrap_err();
    assert_eq!((e.status(), e.field()), (409, Some("Release")));
    assert!(e.to_string().contains("Wallet already rolls out 64 candidates"), "{e}");
    let a = s.store.read(move |tx| store::get(tx, id)).await.unwrap().unwrap();
    assert_eq!(a.status, Status::Pending, "the application waits for a decision");
    assert_eq!(state_of(&w, "1.0.0").await, VersionState::InReview);
    assert!(released(&w).await.is_empty() && s.store.read(move |tx| releases::get(tx, mp, app)).await.unwrap().is_none());
    // To every install, it is released.
    withdraw(s, &mpa.who(), id, nobody()).await.unwrap();
    let id = apply_publishing_to(s, &acts(&mpa), mp, to(crate::model::approvals::FULL_ROLLOUT), nobody()).await.unwrap();
    decide(s, &acts(&reviewer), id, true, String::new(), nobody()).await.unwrap();
    assert_eq!(released(&w).await, ["1.0.0"]);
}

/// Reading or withdrawing an application holds a member to what the workspace asks of every
/// member's session, as its pages do; and an application about the workspace's things is
/// withdrawn only by someone still a member.
#[tokio::test]
async fn reading_and_withdrawing_hold_a_member_to_the_workspace_rules() {
    let (w, mpa, reviewer) = with_admin_and_reviewer().await;
    let (mp, app, s) = (w.mp, w.app, &w.state);
    let (mia, wid) = (mpa.who().account().id, w.workspace.id);
    upload(&w, "1.0.0").await;
    let id = apply_publishing(s, &acts(&mpa), mp, "1.0.0".into(), vec![app], String::new(), nobody()).await.unwrap();
    get(s, reviewer.who(), "Acme".into(), id).await.unwrap();
    let require_two_factors = |on: bool| {
        s.store.write(move |tx| {
            let mut changed = ws::get_workspace(tx, wid)?.unwrap();
            changed.require_second_factor = on;
            ws::update_workspace(tx, &changed)
        })
    };
    // The workspace comes to require two factors, which neither has.
    require_two_factors(true).await.unwrap();
    assert_eq!(get(s, reviewer.who(), "Acme".into(), id).await.unwrap_err().code(), "second_factor_required");
    assert_eq!(withdraw(s, mpa.who(), id, nobody()).await.unwrap_err().code(), "second_factor_required");
    require_two_factors(false).await.unwrap();
    // Removed from the workspace, the applicant withdraws nothing: the version stays in review.
    s.store.write(move |tx| crate::server::store::members::remove(tx, wid, mia)).await.unwrap();
    assert_eq!(withdraw(s, mpa.who(), id, nobody()).await.unwrap_err().status(), 404);
    assert_eq!(state_of(&w, "1.0.0").await, VersionState::InReview);
    // Nor reads it any longer, nor is told who decided it and why.
    assert_eq!(get(s, mpa.who(), "Acme".into(), id).await.unwrap_err().status(), 404);
    let told = s.store.read(move |tx| notifications::unread(tx, mia)).await.unwrap();
    decide(s, &acts(&reviewer), id, false, "Not for the removed".into(), nobody()).await.unwrap();
    assert_eq!(s.store.read(move |tx| notifications::unread(tx, mia)).await.unwrap(), told);
    let mails = s.store.read(|tx| outbox::list(tx, None, "Your application was", &Window::first(outbox::LIST, 50))).await.unwrap();
    assert_eq!(mails.total, 0, "no mail to the removed applicant");
    // Nor lists it among their requests; their request to join again is listed, and once they
    // are a member again, so is what they filed before.
    assert_eq!(mine(s, mpa.who(), Default::default()).await.unwrap().total, 0);
    apply_join(s, mpa.who(), "Acme".into(), String::new(), nobody()).await.unwrap();
    let listed = mine(s, mpa.who(), Default::default()).await.unwrap();
    assert_eq!(listed.items.iter().map(|r| r.category).collect::<Vec<_>>(), [Category::MemberRequest]);
    let admin = member(&w, "ann", Role::WorkspaceAdmin).await;
    decide(s, &acts(&admin), listed.items[0].id, true, String::new(), nobody()).await.unwrap();
    let listed = mine(s, mpa.who(), Default::default()).await.unwrap();
    assert_eq!(listed.items.iter().map(|r| r.category).collect::<Vec<_>>(), [Category::MemberRequest, Category::Publishing]);
    assert_eq!(listed.items[1].id, id);
    get(s, mpa.who(), "Acme".into(), id).await.unwrap();
    // A migration lists them the same way.
    s.store.write(move |tx| crate::server::store::members::remove(tx, wid, mia)).await.unwrap();
    s.store.write(store::reindex).await.unwrap();
    assert_eq!(mine(s, mpa.who(), Default::default()).await.unwrap().items.iter().map(|r| r.category).collect::<Vec<_>>(), [Category::MemberRequest]);
}
